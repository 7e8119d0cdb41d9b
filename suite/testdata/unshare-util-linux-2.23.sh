#!/bin/sh
# unshare from util-linux 2.23.2, with the options CentOS 7's lists, on a
# machine whose own unshare is newer: it refuses every option 2.23 does
# not know, in 2.23's words, and runs the real unshare (@REAL_UNSHARE@,
# put there when the spec installs this file) with the rest. So a
# launcher that assumed --map-user, --map-users, --kill-child, --cgroup
# or --time fails here as it would on CentOS 7.
real='@REAL_UNSHARE@'
prog=unshare

usage() {
	cat <<'HELP'

Usage:
 unshare [options] <program> [<argument>...]

Run a program with some namespaces unshared from the parent.

Options:
 -m, --mount               unshare mounts namespace
 -u, --uts                 unshare UTS namespace (hostname etc)
 -i, --ipc                 unshare System V IPC namespace
 -n, --net                 unshare network namespace
 -p, --pid                 unshare pid namespace
 -U, --user                unshare user namespace
 -f, --fork                fork before launching <program>
     --mount-proc[=<dir>]  mount proc filesystem first (implies --mount)
 -r, --map-root-user       map current user to root (implies --user)
     --propagation <slave|shared|private|unchanged>
                           modify mount propagation in mount namespace
 -s, --setgroups allow|deny  control the setgroups syscall in user namespaces

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see unshare(1).
HELP
}

refuse() {
	echo "$prog: $1" >&2
	echo "Try '$prog --help' for more information." >&2
	exit 1
}

# Options end at the first word that is not one, as getopt_long with a
# leading "+" has them: that word is the program.
skip=0
for a do
	if [ "$skip" = 1 ]; then
		skip=0
		continue
	fi
	case "$a" in
	--) break ;;
	-h | --help) usage; exit 0 ;;
	-V | --version) echo "unshare from util-linux 2.23.2"; exit 0 ;;
	--mount | --uts | --ipc | --net | --pid | --user | --fork | --map-root-user) ;;
	--mount-proc | --mount-proc=* | --propagation=* | --setgroups=*) ;;
	--propagation | --setgroups) skip=1 ;;
	--*) refuse "unrecognized option '${a%%=*}'" ;;
	-s) skip=1 ;;
	-*)
		flags=${a#-}
		while [ -n "$flags" ]; do
			rest=${flags#?}
			c=${flags%"$rest"}
			case "$c" in
			m | u | i | n | p | U | f | r) ;;
			s) [ -n "$rest" ] || skip=1; break ;;
			*) refuse "invalid option -- '$c'" ;;
			esac
			flags=$rest
		done
		;;
	*) break ;;
	esac
done
exec "$real" "$@"
