#!/usr/bin/env bash
# Prepares a fresh machine to run the nsverify suite as root: the packages the
# suite and a person debugging it use, Go at the version go.mod names (from the
# official tarball), and user namespaces turned on. The Vagrantfile and the
# container job of CI run it; a laptop needs only Go (see docs/running.md).
#
#   sudo scripts/provision.sh
#
# It is safe to run again: whatever is already right is left alone. It never
# loosens a restriction that the suite is meant to observe (the AppArmor
# restriction on unprivileged user namespaces, say); it only turns on what the
# root suite needs and what CentOS 7 ships turned off.
#
# Environment: GO_VERSION (e.g. 1.26.8) overrides the version read from go.mod.
#
# When the kernel needs a boot argument to allow user namespaces, the script
# adds it with grubby and says that a reboot is needed; the Vagrantfile reboots
# CentOS 7 after provisioning for this reason.
#
# Written for bash 4.2, the bash of CentOS 7.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

log() { printf 'provision: %s\n' "$*"; }
die() {
	printf 'provision: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0): it installs packages and writes /etc/sysctl.d"

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

install_packages() {
	# shellcheck disable=SC1091 # present on every distribution this supports
	. /etc/os-release
	case "${ID:-}:${VERSION_ID%%.*}" in
	centos:7)
		centos7_vault
		yum -y -q install curl tar gzip iproute procps-ng util-linux coreutils bubblewrap runc
		# crun is not in CentOS 7's repositories: its rows say it is not on PATH.
		;;
	centos:* | rhel:* | rocky:* | almalinux:* | ol:* | fedora:*)
		# curl-minimal, already installed, conflicts with curl.
		command -v curl >/dev/null || dnf -y -q install curl
		dnf -y -q install tar gzip iproute procps-ng util-linux coreutils bubblewrap runc crun
		;;
	debian:* | ubuntu:*)
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends ca-certificates curl tar gzip iproute2 procps util-linux coreutils bubblewrap runc crun
		;;
	*)
		log "unknown distribution ${ID:-?} ${VERSION_ID:-?}: installing no packages; the suite needs curl, tar, ip, ps and sleep"
		;;
	esac
}

install_go() {
	local version arch tarball tmp sum
	version=go$(go_version)
	if /usr/local/go/bin/go version 2>/dev/null | grep -qw "$version"; then
		log "$version is already in /usr/local/go"
	else
		case $(uname -m) in
		x86_64) arch=amd64 ;;
		aarch64) arch=arm64 ;;
		*) die "no Go tarball for $(uname -m); install $version by hand" ;;
		esac
		tarball=$version.linux-$arch.tar.gz
		tmp=$(mktemp -d)
		log "downloading $tarball"
		curl -fsSL --retry 3 -o "$tmp/$tarball" "https://dl.google.com/go/$tarball"
		sum=$(curl -fsSL --retry 3 "https://dl.google.com/go/$tarball.sha256")
		echo "$sum  $tmp/$tarball" | sha256sum -c --quiet - || die "checksum mismatch for $tarball"
		rm -rf /usr/local/go
		tar -C /usr/local -xzf "$tmp/$tarball"
		rm -rf "$tmp"
	fi
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
	/usr/local/go/bin/go version
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
			# The value Red Hat documents for RHEL 7.
			echo "user.max_user_namespaces = 28633" >/etc/sysctl.d/90-nsverify-userns.conf
			sysctl -q -p /etc/sysctl.d/90-nsverify-userns.conf
			log "user.max_user_namespaces was 0; set to 28633 in /etc/sysctl.d/90-nsverify-userns.conf"
		else
			log "user.max_user_namespaces = $(cat "$max")"
		fi
	else
		log "this kernel has no user.max_user_namespaces; the suite's preflight says whether user namespaces work"
	fi
	if [ -r "$param" ] && [ "$(cat "$param")" != Y ]; then
		if command -v grubby >/dev/null; then
			grubby --update-kernel=ALL --args=user_namespace.enable=1
			reboot_needed=1
			log "added user_namespace.enable=1 to the kernel command line"
		else
			log "user namespaces are off ($param is $(cat "$param")) and grubby is missing: add user_namespace.enable=1 to the kernel command line"
		fi
	fi
}

install_packages
install_go
enable_userns
log "kernel $(uname -r); the suite runs with: sudo -i $root/scripts/run-suite.sh"
if [ "$reboot_needed" -eq 1 ]; then
	touch /run/nsverify-reboot-required
	log "reboot required for the kernel command line to take effect (vagrant reload, or reboot)"
fi
