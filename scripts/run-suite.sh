#!/usr/bin/env bash
# Runs the nsverify suite with its reports and makes the combination matrix
# from them. Shared by the Vagrantfile, CI and people.
#
#   scripts/run-suite.sh [-n NAME] [-o DIR] [-k] [-- GINKGO_FLAGS...]
#
#   -n NAME  names the machine in the matrix (default: the short hostname)
#   -o DIR   where the reports go (default: reports/NAME)
#   -k       keep going: exit 0 once the report is written, even if specs
#            failed, so that Vagrant goes on to the next machine
#   GINKGO_FLAGS are added to the ginkgo command, e.g. --label-filter=ns:net
#
# The suite runs as whoever runs this script: as root for the whole suite,
#
#   sudo -E env PATH="$PATH" scripts/run-suite.sh      (sudo resets PATH)
#   sudo -i /path/to/nsverify/scripts/run-suite.sh     (a login shell finds Go
#                                                      through /etc/profile.d)
#
# and as yourself for what runs rootless. DIR then holds:
#
#   report.json      Ginkgo's JSON report: every spec, with its report entries
#   report.xml       the same as JUnit
#   ginkgo.log       the console output
#   environment.txt  kernel, distribution, user namespace settings
#   matrix.md        the matrix table (nsreport matrix) of the built-in
#                    launcher
#   matrix.json      the matrix as JSON, for nsreport combine
#   matrix-L.md, matrix-L.json
#                    the same for each other launcher L that ran
#                    (NSVERIFY_LAUNCHER=go,unshare,bwrap,runc,crun or all)
#   launchers.md     the launchers side by side, when more than one ran
#
# Exit status, decided from report.json (internal/suiteexit), the same codes
# as every nsverify command:
#
#   0  verified: no spec failed, and the matrix verified at least one set
#   1  a verdict differs: a spec failed, or the host was not left as it was
#   2  could not run or verify: bad options, Go missing, the suite did not
#      build or start, no report, an interrupt or the timeout, or the
#      matrix tables could not be made
#   3  nothing verified: the suite ran, but every matrix set of every
#      launcher asked for was skipped or n/a (a launcher that is not
#      installed, a machine that cannot create the kinds); with the matrix
#      filtered out, no spec passed
#
# A line "run-suite: exit N (meaning): why" says which. With -k it exits 0
# instead, once the report is written and judged; still 2 without a report.
#
# Written for bash 4.2, the bash of CentOS 7.
set -euo pipefail

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit "$1"
}

name=
out=
keep_going=0
while getopts ":n:o:kh" opt; do
	case $opt in
	n) name=$OPTARG ;;
	o) out=$OPTARG ;;
	k) keep_going=1 ;;
	h) usage 0 ;;
	:)
		echo "run-suite: -$OPTARG needs a value" >&2
		usage 2
		;;
	*)
		echo "run-suite: unknown option -$OPTARG" >&2
		usage 2
		;;
	esac
done
# getopts stops at the first word that is not an option, and takes a "--"
# with it: what follows a "--" is ginkgo's, anything else is a mistake.
dashdash=0
if [ "$OPTIND" -gt 1 ]; then
	last=$((OPTIND - 1))
	[ "${!last}" != "--" ] || dashdash=1
fi
shift $((OPTIND - 1))
if [ "$dashdash" -eq 0 ] && [ $# -gt 0 ]; then
	if [ "$1" != "--" ]; then
		echo "run-suite: unexpected argument '$1': ginkgo's flags go after --" >&2
		usage 2
	fi
	shift
fi
ginkgo_flags=("$@")

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
[ -n "$name" ] || name=$(hostname -s 2>/dev/null || hostname)
[ -n "$out" ] || out=reports/$name
mkdir -p "$out"
out=$(cd "$out" && pwd)

# A login shell has Go on PATH through /etc/profile.d; a plain sudo may not.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null || {
	echo "run-suite: go is not on PATH: run scripts/provision.sh, or pass your PATH through sudo (sudo -E env PATH=\"\$PATH\" $0)" >&2
	exit 2
}

# What decides the exit code, built before the suite so that a run whose
# result could not be judged is never started.
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
if ! go build -o "$tools/suiteexit" ./internal/suiteexit/cmd/suiteexit; then
	echo "run-suite: could not build internal/suiteexit/cmd/suiteexit, which judges the report; nothing was run" >&2
	exit 2
fi

# What explains most differences between machines, kept next to the reports.
sysctl_value() { cat "/proc/sys/$1" 2>/dev/null || echo "absent"; }
{
	echo "date:        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine:     $name"
	echo "kernel:      $(uname -srvm)"
	# shellcheck disable=SC1091
	echo "system:      $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")"
	echo "user:        $(id)"
	echo "go:          $(go version)"
	echo "namespaces:  $(cd /proc/self/ns && echo *)"
	echo "cgroup fs:   $(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)"
	echo "container:   $([ -e /.dockerenv ] || [ -e /run/.containerenv ] && echo yes || echo no)"
	echo "user.max_user_namespaces:                 $(sysctl_value user/max_user_namespaces)"
	echo "kernel.unprivileged_userns_clone:         $(sysctl_value kernel/unprivileged_userns_clone)"
	echo "kernel.apparmor_restrict_unprivileged_userns: $(sysctl_value kernel/apparmor_restrict_unprivileged_userns)"
	echo "user_namespace.enable:                    $(cat /sys/module/user_namespace/parameters/enable 2>/dev/null || echo absent)"
} | tee "$out/environment.txt"

color=()
[ -t 1 ] || color=(--no-color)
cmd=(go tool ginkgo -p --timeout=60m --poll-progress-after=5m
	--json-report=report.json --junit-report=report.xml --output-dir="$out"
	${color[@]+"${color[@]}"} ${ginkgo_flags[@]+"${ginkgo_flags[@]}"} ./suite)
echo "run-suite: ${cmd[*]}"
set +e
"${cmd[@]}" 2>&1 | tee "$out/ginkgo.log"
status=${PIPESTATUS[0]}
set -e

if [ ! -s "$out/report.json" ]; then
	echo "run-suite: ginkgo exited with $status and wrote no report; see $out/ginkgo.log" >&2
	echo "run-suite: exit 2 (could not run): no report" >&2
	exit 2
fi
set +e
verdict=$("$tools/suiteexit" -in "$out/report.json" -status "$status" 2>&1)
code=$?
set -e
case $code in
0 | 1 | 2 | 3) ;;
*)
	echo "run-suite: judging the report failed with status $code: $verdict" >&2
	code=2
	;;
esac

# The matrix tables, from a report that holds any spec at all (one of a
# suite that never started holds none, and was judged above).
tables_failed=0
launchers=
if grep -q '"LeafNodeType"' "$out/report.json"; then
	launchers=$(go run ./suite/cmd/nsreport launchers -in "$out/report.json") || tables_failed=1
fi
for launcher in $launchers; do
	suffix=
	[ "$launcher" = go ] || suffix=-$launcher
	go run ./suite/cmd/nsreport matrix -in "$out/report.json" -name "$name" -launcher "$launcher" \
		-md "$out/matrix$suffix.md" -json "$out/matrix$suffix.json" || tables_failed=1
done
if [ "$(echo "$launchers" | wc -w)" -gt 1 ]; then
	go run ./suite/cmd/nsreport combine -md "$out/launchers.md" "$out"/matrix*.json || tables_failed=1
fi

# Let whoever ran sudo read and remove the reports.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ]; then
	chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out"
fi

echo
for md in "$out"/matrix*.md; do
	[ -e "$md" ] || continue
	grep -E '^(## |- )' "$md" || true
done
echo "run-suite: reports in $out (ginkgo exited with $status)"
printf '%s\n' "$verdict" | sed 's/^/run-suite: /'
if [ "$code" -eq 2 ]; then
	# The suite's own reason for not running, if it gave one (a wrong
	# NSVERIFY_LAUNCHER, say), is in the log rather than in the report.
	grep -h 'nothing was run' "$out/ginkgo.log" 2>/dev/null | sort -u | sed 's/^[[:space:]]*/run-suite: /' || true
fi
if [ "$tables_failed" -eq 1 ] && [ "$code" -ne 1 ] && [ "$code" -ne 2 ]; then
	code=2
	echo "run-suite: exit 2 (could not run or could not verify): the matrix tables could not be made from the report (see above)"
fi
if [ "$keep_going" -eq 1 ] && [ "$code" -ne 0 ]; then
	echo "run-suite: -k: exiting 0 instead of $code"
	exit 0
fi
exit "$code"
