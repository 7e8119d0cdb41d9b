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
# Exit status: ginkgo's (0 when every spec passed or was skipped), or 0 with
# -k once report.json exists; 1 when the suite did not run at all.
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
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
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
	exit 1
}

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
	exit 1
fi
launchers=$(go run ./suite/cmd/nsreport launchers -in "$out/report.json")
for launcher in $launchers; do
	suffix=
	[ "$launcher" = go ] || suffix=-$launcher
	go run ./suite/cmd/nsreport matrix -in "$out/report.json" -name "$name" -launcher "$launcher" \
		-md "$out/matrix$suffix.md" -json "$out/matrix$suffix.json"
done
if [ "$(echo "$launchers" | wc -w)" -gt 1 ]; then
	go run ./suite/cmd/nsreport combine -md "$out/launchers.md" "$out"/matrix*.json
fi

# Let whoever ran sudo read and remove the reports.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ]; then
	chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out"
fi

echo
for md in "$out"/matrix*.md; do
	grep -E '^(## |- )' "$md" || true
done
echo "run-suite: reports in $out (ginkgo exited with $status)"
if [ "$keep_going" -eq 1 ]; then
	exit 0
fi
exit "$status"
