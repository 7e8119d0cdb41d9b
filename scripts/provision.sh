#!/usr/bin/env bash
# Prepares a fresh machine to run the nsverify suite as root: the packages the
# suite and a person debugging it use, Go at the version go.mod names (from the
# official tarball), and user namespaces turned on. The Vagrantfile and the
# container job of CI run it; a laptop needs only Go (see docs/running.md).
#
#   sudo scripts/provision.sh [--replace-go] [--dry-run]
#
#   --replace-go  replace a Go already in /usr/local/go that is not the
#                 version wanted; without it such a Go is left as it is
#   --dry-run     say what would be done, and do nothing (needs no root)
#   -h, --help    print this and do nothing
#
# It is safe to run again: whatever is already right is left alone. It never
# loosens a restriction that the suite is meant to observe (the AppArmor
# restriction on unprivileged user namespaces, say); it only turns on what the
# root suite needs and what CentOS 7 ships turned off. It never installs the
# distribution's runc or crun over one that another package owns (Docker's
# containerd.io ships its own runc) or that was installed by hand.
#
# Go's tarball is checked against the SHA-256 pinned in scripts/go.sha256,
# never against a sum fetched from the server that serves the tarball; a
# version without a pinned sum is not installed.
#
# Environment: GO_VERSION (e.g. 1.26.8) overrides the version read from go.mod.
#
# When the kernel needs a boot argument to allow user namespaces, the script
# adds it with grubby and says that a reboot is needed; the Vagrantfile reboots
# CentOS 7 after provisioning for this reason.
#
# Exit status: 0 done, 1 a step failed, 2 bad usage (nothing was changed).
#
# Written for bash 4.2, the bash of CentOS 7.
set -euo pipefail

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

log() { printf 'provision: %s\n' "$*"; }
die() {
	printf 'provision: %s\n' "$*" >&2
	exit 1
}

# Options first: --help and a mistake change nothing, whoever runs them.
replace_go=0
dry_run=0
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--replace-go) replace_go=1 ;;
	--dry-run) dry_run=1 ;;
	*)
		printf 'provision: unknown option %s; nothing was changed\n\n' "$1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
sums=$root/scripts/go.sha256

# Directories to remove on the way out, whatever the way; the exit status
# stays the script's.
cleanup=()
remove_cleanup() {
	local status=$?
	[ ${#cleanup[@]} -eq 0 ] || rm -rf "${cleanup[@]}"
	exit "$status"
}
trap remove_cleanup EXIT
goroot=/usr/local/go

if [ "$dry_run" -eq 1 ]; then
	log "dry run: nothing will be changed"
else
	[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0): it installs packages and writes /etc/sysctl.d; --dry-run shows what it would do"
fi

# would says what a dry run would do and returns 0, so that a step can end
# with `would ... && return`; otherwise it returns 1 and the step goes on.
would() {
	[ "$dry_run" -eq 1 ] || return 1
	log "would $*"
}

# go_version prints the Go version to install: GO_VERSION, else the toolchain
# line of go.mod, else its go line (a "go 1.26" line means go1.26.0).
go_version() {
	local v=${GO_VERSION:-}
	if [ -z "$v" ]; then
		v=$(awk '$1 == "toolchain" { sub(/^go/, "", $2); print $2; exit }' "$root/go.mod")
	fi
	if [ -z "$v" ]; then
		v=$(awk '$1 == "go" { print $2; exit }' "$root/go.mod")
	fi
	[ -n "$v" ] || die "no go line in $root/go.mod; set GO_VERSION"
	v=${v#go}
	case $v in
	*.*.*) ;;
	*.*) v=$v.0 ;;
	esac
	echo "$v"
}

# pinned_sum prints the SHA-256 that scripts/go.sha256 pins for tarball.
pinned_sum() {
	awk -v f="$1" '$1 !~ /^#/ && $2 == f { print $1; exit }' "$sums"
}

# owner_of prints the package that owns the file at path, or nothing when
# no package does (or there is no package manager to ask). A merged /usr
# may list the file under /bin or /sbin rather than /usr/bin or /usr/sbin.
owner_of() {
	local path=$1 real candidate owner
	real=$(readlink -f "$path")
	for candidate in "$path" "$real" "${path#/usr}" "${real#/usr}"; do
		owner=
		if command -v dpkg-query >/dev/null; then
			# "runc: /usr/sbin/runc"; several owners are listed "a, b: path".
			owner=$(dpkg-query -S "$candidate" 2>/dev/null |
				awk -F': ' -v p="$candidate" '$2 == p && $1 !~ /^diversion / { split($1, o, ", "); sub(/:.*/, "", o[1]); print o[1]; exit }') || true
		elif command -v rpm >/dev/null; then
			owner=$(rpm -qf --qf '%{NAME}\n' "$candidate" 2>/dev/null | head -n 1) || true
		fi
		if [ -n "$owner" ]; then
			echo "$owner"
			return
		fi
	done
}

# choose_runtimes sets runtimes to those of the OCI runtimes named as
# arguments that the distribution's package may be installed for: those not
# on the machine yet. One already there stays: from its own package it
# needs nothing; from another package (a container engine's) or from no
# package its owner decides about it, and installing the distribution's
# would replace it or remove that engine.
runtimes=()
choose_runtimes() {
	local r path owner
	runtimes=()
	for r in "$@"; do
		path=$(command -v "$r" || true)
		if [ -z "$path" ]; then
			runtimes+=("$r")
			continue
		fi
		owner=$(owner_of "$path")
		case $owner in
		"$r") log "$r: already installed ($path, package $r)" ;;
		"") log "$r: $path belongs to no package (installed by hand?): leaving it, and not installing the distribution's $r" ;;
		*) log "$r: $path belongs to package $owner, a container engine's: leaving it, and not installing the distribution's $r over it" ;;
		esac
	done
}

# CentOS 7 is end-of-life: mirror.centos.org and the mirror list are gone,
# and its packages live on in the vault. 7.9.2009 is the last release; a box
# of an earlier 7.x updates to it, which is what the mirrors served last.
# The URLs are http because the CA bundle of an old box may predate the
# vault's certificate authority; yum checks the packages' signatures anyway.
centos7_vault() {
	local f changed=0
	for f in /etc/yum.repos.d/CentOS-*.repo; do
		[ -e "$f" ] || continue
		grep -q 'mirror\.centos\.org\|mirrorlist\.centos\.org' "$f" || continue
		would "point $f at vault.centos.org" && continue
		# shellcheck disable=SC2016 # $releasever is yum's, not the shell's
		sed -i -E \
			-e 's|^mirrorlist=|#mirrorlist=|' \
			-e 's|^#?baseurl=http://mirror\.centos\.org/centos/\$releasever/|baseurl=http://vault.centos.org/7.9.2009/|' \
			-e 's|^#?baseurl=http://mirror\.centos\.org/|baseurl=http://vault.centos.org/|' \
			"$f"
		changed=1
	done
	if [ "$changed" -eq 1 ]; then
		log "pointed the CentOS 7 repositories at vault.centos.org"
		yum clean all -q
	fi
}

# install_runtimes installs each runtime named, on its own, with the
# command in runtime_install: a runtime that cannot be installed (a conflict
# the check above did not see, a package the distribution lacks) leaves its
# launcher's rows n/a, and the rest of the machine is still provisioned.
runtime_install=()
install_runtimes() {
	local r
	for r in "$@"; do
		would "install $r: ${runtime_install[*]} $r" && continue
		if "${runtime_install[@]}" "$r"; then
			log "$r: installed"
		else
			log "$r: not installed (${runtime_install[*]} $r failed, above); the suite's $r rows will say it is not on PATH"
		fi
	done
}

install_packages() {
	local base
	# shellcheck disable=SC1091 # present on every distribution this supports
	. /etc/os-release
	case "${ID:-}:${VERSION_ID%%.*}" in
	centos:7)
		centos7_vault
		base=(curl tar gzip iproute procps-ng util-linux coreutils bubblewrap)
		# crun is not in CentOS 7's repositories: its rows say it is not on PATH.
		choose_runtimes runc
		would "install with yum: ${base[*]}" || yum -y -q install "${base[@]}"
		# yum stops at a conflict rather than remove what conflicts.
		runtime_install=(yum -y -q install)
		;;
	centos:* | rhel:* | rocky:* | almalinux:* | ol:* | fedora:*)
		base=(tar gzip iproute procps-ng util-linux coreutils bubblewrap)
		# curl-minimal, already installed, conflicts with curl.
		command -v curl >/dev/null || base=(curl "${base[@]}")
		choose_runtimes runc crun
		would "install with dnf: ${base[*]}" || dnf -y -q install "${base[@]}"
		# Without --allowerasing dnf stops at a conflict rather than
		# remove what conflicts.
		runtime_install=(dnf -y -q install)
		;;
	debian:* | ubuntu:*)
		base=(ca-certificates curl tar gzip iproute2 procps util-linux coreutils bubblewrap)
		choose_runtimes runc crun
		if ! would "install with apt-get: ${base[*]}"; then
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -qq
			apt-get install -y -qq --no-install-recommends "${base[@]}"
		fi
		# --no-remove: apt-get gives up rather than remove a package that
		# conflicts with the runtime (containerd.io with runc).
		runtime_install=(apt-get install -y -qq --no-install-recommends --no-remove)
		;;
	*)
		log "unknown distribution ${ID:-?} ${VERSION_ID:-?}: installing no packages; the suite needs curl, tar, ip, ps and sleep"
		;;
	esac
	install_runtimes ${runtimes[@]+"${runtimes[@]}"}
}

# go_plan decides, before anything is changed, what becomes of Go: it sets
# go_action to keep (the version wanted is there), leave (another Go is
# there, and --replace-go was not given), install or replace, and for the
# last two the tarball and its pinned sum, or dies.
go_action=
go_wanted=
tarball=
sum=
go_plan() {
	local found arch
	go_wanted=go$(go_version)
	if [ -e "$goroot" ]; then
		# GOTOOLCHAIN=local: that Go's own version, never one it would
		# switch to for the go.mod of the current directory.
		found=$(GOTOOLCHAIN=local "$goroot/bin/go" version 2>/dev/null | awk '{ print $3 }') || true
		if [ "$found" = "$go_wanted" ]; then
			go_action=keep
			return
		fi
		if [ "$replace_go" -eq 0 ]; then
			go_action=leave
			log "found ${found:-something that is not a working Go} in $goroot, not $go_wanted: leaving it (--replace-go replaces it)"
			if [ -n "$found" ] && [ "$(printf '%s\n%s\n' "${found#go}" "${go_wanted#go}" | sort -V | head -n 1)" != "${go_wanted#go}" ]; then
				log "warning: go.mod asks for $go_wanted or newer; $found would have to download that toolchain to build the suite"
			fi
			return
		fi
		go_action=replace
	else
		go_action=install
	fi
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) die "no Go tarball for $(uname -m); install $go_wanted by hand" ;;
	esac
	tarball=$go_wanted.linux-$arch.tar.gz
	sum=$(pinned_sum "$tarball")
	[ -n "$sum" ] || die "no SHA-256 for $tarball in $sums: add the one published on https://go.dev/dl/ (checked against a second source), or set GO_VERSION to a version listed there; nothing was changed"
}

install_go() {
	local tmp new
	case $go_action in
	keep) log "$go_wanted is already in $goroot" ;;
	leave) ;;
	install | replace)
		if would "download $tarball, check it against $sum (scripts/go.sha256) and $go_action $goroot with it"; then
			return
		fi
		tmp=$(mktemp -d)
		cleanup+=("$tmp")
		log "downloading $tarball"
		curl -fsSL --retry 3 -o "$tmp/$tarball" "https://dl.google.com/go/$tarball"
		echo "$sum  $tmp/$tarball" | sha256sum -c --quiet - || die "checksum mismatch for $tarball: it is not the tarball whose SHA-256 scripts/go.sha256 pins; $goroot was left as it was"
		# Unpacked beside the old one and checked before it goes, so that
		# a failure leaves the old one in place.
		new=$(mktemp -d /usr/local/.nsverify-go.XXXXXX)
		cleanup+=("$new")
		tar -C "$new" -xzf "$tmp/$tarball"
		GOTOOLCHAIN=local "$new/go/bin/go" version | grep -qw "$go_wanted" || die "the tarball's go does not say $go_wanted; $goroot was left as it was"
		rm -rf "$goroot"
		mv "$new/go" "$goroot"
		log "$go_wanted is now in $goroot"
		;;
	esac
	[ -x "$goroot/bin/go" ] || return 0
	would "write /etc/profile.d/nsverify-go.sh, which puts $goroot/bin on the PATH of login shells" && return
	# A login shell (sudo -i, vagrant ssh) finds go through this; sudo alone
	# resets PATH, which is why the docs say sudo -E env PATH="$PATH".
	cat >/etc/profile.d/nsverify-go.sh <<'EOF'
# Go for nsverify, from scripts/provision.sh.
case ":$PATH:" in
*:/usr/local/go/bin:*) ;;
*) PATH=/usr/local/go/bin:$PATH ;;
esac
export PATH
EOF
	GOTOOLCHAIN=local "$goroot/bin/go" version
}

# enable_userns turns user namespaces on where the distribution ships them
# off. CentOS 7 (3.10.0-693 and later) has them, but with
# user.max_user_namespaces = 0 creating one fails with EINVAL ("fork/exec:
# invalid argument"); earlier 7.x kernels also want a boot argument.
reboot_needed=0
enable_userns() {
	local max=/proc/sys/user/max_user_namespaces param=/sys/module/user_namespace/parameters/enable
	if [ -r "$max" ]; then
		if [ "$(cat "$max")" -eq 0 ]; then
			if ! would "set user.max_user_namespaces = 28633 in /etc/sysctl.d/90-nsverify-userns.conf (it is 0)"; then
				# The value Red Hat documents for RHEL 7.
				echo "user.max_user_namespaces = 28633" >/etc/sysctl.d/90-nsverify-userns.conf
				sysctl -q -p /etc/sysctl.d/90-nsverify-userns.conf
				log "user.max_user_namespaces was 0; set to 28633 in /etc/sysctl.d/90-nsverify-userns.conf"
			fi
		else
			log "user.max_user_namespaces = $(cat "$max")"
		fi
	else
		log "this kernel has no user.max_user_namespaces; the suite's preflight says whether user namespaces work"
	fi
	if [ -r "$param" ] && [ "$(cat "$param")" != Y ]; then
		if ! command -v grubby >/dev/null; then
			log "user namespaces are off ($param is $(cat "$param")) and grubby is missing: add user_namespace.enable=1 to the kernel command line"
		elif ! would "add user_namespace.enable=1 to the kernel command line with grubby (a reboot follows)"; then
			grubby --update-kernel=ALL --args=user_namespace.enable=1
			reboot_needed=1
			log "added user_namespace.enable=1 to the kernel command line"
		fi
	fi
}

go_plan
install_packages
install_go
enable_userns
if [ "$dry_run" -eq 1 ]; then
	log "dry run: nothing was changed"
	exit 0
fi
log "kernel $(uname -r); the suite runs with: sudo -i $root/scripts/run-suite.sh"
if [ "$reboot_needed" -eq 1 ]; then
	touch /run/nsverify-reboot-required
	log "reboot required for the kernel command line to take effect (vagrant reload, or reboot)"
fi
