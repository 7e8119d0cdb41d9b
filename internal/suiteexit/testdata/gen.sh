#!/usr/bin/env bash
# Regenerates the real reports in this directory: short runs of the suite
# (a part of the matrix each) on this machine, as root, scrubbed of what
# describes the machine and gzipped (zcat to read). Another run of the suite
# beside these disturbs both, so take the lock the others take:
#
#   flock /tmp/nsverify-suite.lock internal/suiteexit/testdata/gen.sh
#
#   missing-launcher  a launcher that is not installed: every set n/a
#   mixed             the built-in launcher and one not installed, on the
#                     sets of uts, ipc and pid
#   lying             unshare wrapped to drop --net, on the sets with net
#                     and without user, mnt, cgroup and time: each fails
#   timeout           the matrix stopped by ginkgo's --timeout: the spec
#                     then running says "A suite timeout occurred"
#
# Every run but the first two ends in failure by design: its exit status is
# ignored, and the report checked for instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# run NAME [VAR=value...] -- GINKGO_FLAGS...
run() {
	local name=$1 vars=()
	shift
	while [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	env ${vars[@]+"${vars[@]}"} go tool ginkgo -p --no-color --succinct \
		--json-report=report.json --output-dir="$tmp/$name" "$@" ./suite >"$tmp/$name.log" 2>&1 || true
	test -s "$tmp/$name/report.json" || {
		echo "gen: $name wrote no report:" >&2
		tail -20 "$tmp/$name.log" >&2
		exit 1
	}
	go run ./suite/matrixreport/testdata/scrub.go <"$tmp/$name/report.json" | gzip -9n >"$here/$name.json.gz"
}

# A path that holds nothing: the launcher's --version cannot run.
missing=/nonexistent/crun

run missing-launcher NSVERIFY_LAUNCHER=crun=$missing -- --label-filter=matrix
run mixed NSVERIFY_LAUNCHER=go,crun=$missing -- \
	--label-filter='matrix && ns:uts && ns:ipc && ns:pid'

# unshare less --net, as the suite's own liar is written: the child shares
# the host's network namespace, and only looks at it.
real=$(command -v unshare)
cat >"$tmp/unshare" <<SH
#!/bin/sh
for a do
	shift
	[ "\$a" = --net ] || set -- "\$@" "\$a"
done
exec $real "\$@"
SH
chmod 755 "$tmp/unshare"
run lying NSVERIFY_LAUNCHER=unshare="$tmp/unshare" -- \
	--label-filter='matrix && ns:net && !ns:user && !ns:mnt && !ns:cgroup && !ns:time'

# Short enough to stop the matrix, which takes some seconds more here.
run timeout -- --label-filter=matrix --timeout=3s
grep -q '"Suite Timeout Elapsed"' < <(zcat "$here/timeout.json.gz") || {
	echo "gen: the timeout run was not stopped by its timeout; shorten it" >&2
	exit 1
}
