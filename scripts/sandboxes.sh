#!/usr/bin/env bash
# sandboxes.sh — what each sandbox installed here gives by default, as the
# host reads it: runs `nsverify check` on the probe started by each sandbox
# the way its users start it, in its defaults (nothing beyond what makes the
# probe and the hello socket visible inside), and where it has them, with
# its usual hardening options.
#
# usage: scripts/sandboxes.sh [OUTDIR]
#
# For each sandbox it writes OUTDIR/NAME.txt (the table) and NAME.json
# (nsverify check --json), and prints one line per sandbox: its exit code
# (0 no escape seen, 1 a verdict differs, 2 could not run it, 3 nothing
# read) and the kinds the host read as the sandbox's own. A sandbox that is
# not installed, or cannot start here (no systemd as PID 1, no daemon), is
# listed as such, with its own message in NAME.err. Run it as root; podman
# and firejail also run as an ordinary user.
#
# Docker's daemon is started (and stopped again) when it is installed and
# not running. Images are made without a registry: an empty root file
# system imported as nsverify-empty, removed at the end.
#
# Exit status: 0 when every sandbox that ran was judged (whatever its
# verdict), 2 when nsverify could not be built.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/sandboxes}
mkdir -p "$out"
work=$(mktemp -d)
started_docker=0
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if command -v docker >/dev/null && docker image inspect nsverify-empty >/dev/null 2>&1; then
		docker image rm -f nsverify-empty >/dev/null 2>&1
	fi
	if command -v podman >/dev/null && podman image exists localhost/nsverify-empty 2>/dev/null; then
		podman image rm -f localhost/nsverify-empty >/dev/null 2>&1
	fi
	if [ "$started_docker" = 1 ]; then
		systemctl stop docker.service docker.socket containerd.service >/dev/null 2>&1
	fi
	rm -rf "$work"
}
trap cleanup EXIT

cd "$repo" || exit 2
if ! CGO_ENABLED=0 go build -o "$work/nsverify" ./cmd/nsverify; then
	echo "sandboxes: could not build cmd/nsverify" >&2
	exit 2
fi
# The probe must be reachable by every uid a sandbox runs it as.
chmod 755 "$work"
nsv=$work/nsverify
tar -C "$work" -cf "$work/empty.tar" --files-from /dev/null

# check NAME ARGS…: one sandbox, one line.
check() {
	local name=$1
	shift
	"$nsv" check --timeout 120s --json -- "$@" >"$out/$name.json" 2>"$out/$name.err"
	local rc=$?
	"$nsv" check --timeout 120s -- "$@" >"$out/$name.txt" 2>>"$out/$name.err"
	local own
	own=$(awk '/^  (uts|ipc|pid|mnt|user|net|cgroup|time) / && $3 == "own" { print $1 }' "$out/$name.txt" | paste -sd+ -)
	printf '%-28s exit %d  own: %s\n' "$name" "$rc" "${own:-none}"
	[ "$rc" -ne 2 ] || sed 's/^/    /' "$out/$name.err" | tail -5
}

missing() { printf '%-28s not installed (%s)\n' "$1" "$2"; }

echo "sandboxes: $(uname -r), as uid $(id -u); reports in $out"
# The versions the verdicts belong to.
for tool in unshare bwrap firejail systemctl docker podman; do
	command -v "$tool" >/dev/null && printf '  %s\n' "$("$tool" --version 2>/dev/null | head -1)"
done
check unshare-uipmn unshare -uipmn --fork '{probe}' '{args}'

if command -v bwrap >/dev/null; then
	check bwrap-unshare-all bwrap --unshare-all --die-with-parent --ro-bind / / --dev /dev --proc /proc '{probe}' '{args}'
else missing bwrap bubblewrap; fi

if command -v firejail >/dev/null; then
	check firejail-default-profile firejail --quiet '{probe}' '{args}'
	check firejail firejail --quiet --noprofile '{probe}' '{args}'
	check firejail-net-none firejail --quiet --noprofile --net=none '{probe}' '{args}'
else missing firejail firejail; fi

if command -v systemd-run >/dev/null; then
	if [ -d /run/systemd/system ]; then
		check systemd-run systemd-run --quiet --wait --pipe --collect '{probe}' '{args}'
		check systemd-run-private systemd-run --quiet --wait --pipe --collect \
			-p PrivateNetwork=yes -p PrivateIPC=yes -p ProtectHostname=yes -p PrivateUsers=yes \
			-p PrivateMounts=yes -p PrivateTmp=yes -p BindReadOnlyPaths='{probe}' -p BindPaths='{hello}' \
			'{probe}' '{args}'
	else printf '%-28s cannot run here: systemd is not PID 1\n' systemd-run; fi
else missing systemd-run systemd; fi

if command -v systemd-nspawn >/dev/null; then
	# nspawn wants something that looks like an OS tree.
	tree=$work/nspawn-tree
	mkdir -p "$tree/usr/lib" "$tree/etc" "$tree/proc" "$tree/sys" "$tree/dev"
	printf 'ID=nsverify\nNAME=nsverify\n' >"$tree/usr/lib/os-release"
	cp "$tree/usr/lib/os-release" "$tree/etc/os-release"
	check systemd-nspawn systemd-nspawn --quiet --register=no -D "$tree" \
		--bind-ro='{probe}' --bind='{hello}' '{probe}' '{args}'
else missing systemd-nspawn systemd-container; fi

if command -v docker >/dev/null; then
	if ! docker info >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl start docker.service >/dev/null 2>&1 && started_docker=1
	fi
	if docker info >/dev/null 2>&1; then
		docker import "$work/empty.tar" nsverify-empty >/dev/null
		check docker docker run --rm -v '{probe}':'{probe}':ro -v '{hello}':'{hello}' nsverify-empty '{probe}' '{args}'
		check docker-network-none docker run --rm --network none -v '{probe}':'{probe}':ro -v '{hello}':'{hello}' nsverify-empty '{probe}' '{args}'
	else printf '%-28s cannot run here: no docker daemon\n' docker; fi
else missing docker docker.io; fi

if command -v podman >/dev/null; then
	podman import "$work/empty.tar" nsverify-empty >/dev/null 2>"$out/podman-import.err"
	check podman podman run --rm -v '{probe}':'{probe}':ro -v '{hello}':'{hello}' localhost/nsverify-empty '{probe}' '{args}'
else missing podman podman; fi
exit 0
