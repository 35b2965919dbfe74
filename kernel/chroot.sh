#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# chroot.sh DIST [COMMAND [ARG...]]
#
# Runs COMMAND (default: a shell) as root inside a chroot of the Debian
# release DIST names, with this repository bind-mounted at its own path, so
# that the kernel module is built with that release's compiler, headers and
# tools, not by mixing suites on the host.  The chroot is made on first use
# with debootstrap --variant=minbase from the mirror the host's apt uses,
# and cached under <repo>/build/chroots/DIST (its .debs under
# <repo>/build/chroots/cache/SUITE).  Mounts live in a private mount namespace and
# vanish with the command.
#
#   DIST        debian12 (bookworm), debian13 (trixie), unstable (sid)
#   MIRROR=     the mirror (default: the host apt source serving Debian)
#   CHROOT_DIR= where the chroots live (default <repo>/build/chroots)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DISTS="debian12 debian13 unstable"

die() { echo "chroot: $*" >&2; exit 1; }

suite_of() {
	case "$1" in
	debian12) echo bookworm ;;
	debian13) echo trixie ;;
	unstable) echo sid ;;
	*) return 1 ;;
	esac
}

DIST=${1:-}
SUITE=$(suite_of "$DIST") ||
	die "unknown DIST '${DIST}': valid are $DISTS"
shift
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"

# The mirror apt already uses for Debian (not its security archive).
if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^deb / { print $2 } /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
		grep -E '/debian/?$' | head -n 1) || true
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

SECURITY=${SECURITY:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources 2>/dev/null |
	awk '/^deb / { print $2 } /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
	grep -E '/debian-security/?$' | head -n 1)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

CHROOT_DIR=${CHROOT_DIR:-$TOP/build/chroots}
CH=$CHROOT_DIR/$DIST
CACHE=$CHROOT_DIR/cache/$SUITE

# What the kernel Makefile needs besides the kernel packages, which
# "make -C kernel deps" resolves and installs inside the chroot.
PKGS=build-essential,pahole,bpftool,libelf-dev,zlib1g-dev,pkg-config,python3,perl,xz-utils,zstd,patch,kmod,binutils,ca-certificates,git,bc,flex,bison,libssl-dev,rsync,cpio

# sources ROOT: the release's suites, as the host has its own: the release,
# and for a stable release its -updates and -security (where the kernel
# updates are).
sources() {
	{
		echo "deb $MIRROR $SUITE main"
		if [ "$SUITE" != sid ]; then
			echo "deb $MIRROR $SUITE-updates main"
			echo "deb $SECURITY $SUITE-security main"
		fi
	} > "$1/etc/apt/sources.list.new"
	if cmp -s "$1/etc/apt/sources.list.new" "$1/etc/apt/sources.list"; then
		rm -f "$1/etc/apt/sources.list.new"
		return 1
	fi
	mv "$1/etc/apt/sources.list.new" "$1/etc/apt/sources.list"
}

make_chroot() {
	tmp=$CH.new
	rm -rf "$tmp"
	mkdir -p "$CACHE"
	echo "chroot: debootstrap $SUITE into $CH from $MIRROR (first use: a few minutes)" >&2
	debootstrap --variant=minbase --cache-dir="$CACHE" --include="$PKGS" \
		"$SUITE" "$tmp" "$MIRROR" >"$CHROOT_DIR/$DIST.debootstrap.log" 2>&1 || {
		tail -n 20 "$CHROOT_DIR/$DIST.debootstrap.log" >&2
		die "debootstrap $SUITE failed (log: $CHROOT_DIR/$DIST.debootstrap.log)"
	}
	sources "$tmp" || true
	# A snapshot mirror serves sid and testing past their Release files'
	# Valid-Until; the signatures are still checked.
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\nAcquire::Check-Valid-Until "false";\n' \
		> "$tmp/etc/apt/apt.conf.d/90blkqos"
	cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
	chroot "$tmp" apt-get update -q >/dev/null ||
		die "apt-get update failed in the $SUITE chroot"
	touch "$tmp/.blkqos-chroot"
	mv "$tmp" "$CH"
}

mkdir -p "$CHROOT_DIR"
(
	flock 9
	[ -f "$CH/.blkqos-chroot" ] || make_chroot
) 9>"$CHROOT_DIR/$DIST.lock"

# New sources, or lists older than a day: refresh, so the metapackages are
# current.
if sources "$CH" || [ -z "$(find "$CH/var/lib/apt/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
	cp /etc/resolv.conf "$CH/etc/resolv.conf" 2>/dev/null || true
	chroot "$CH" apt-get update -q >/dev/null || echo "chroot: apt-get update failed, using old lists" >&2
fi

[ $# -gt 0 ] || set -- /bin/bash
export CH TOP
# The mounts stay in a namespace of their own: the mount that holds the
# chroot is made private there. Not "/" itself, which is no mount point
# when this runs inside a chroot (tests/fresh-machine.sh: unshare's
# --propagation private fails there with EINVAL).
exec unshare -m --propagation unchanged sh -c '
	set -e
	mount --make-rprivate "$(findmnt -n -o TARGET -T "$CH")"
	mkdir -p "$CH$TOP" "$CH/proc" "$CH/dev" "$CH/sys"
	mount --bind "$TOP" "$CH$TOP"
	mount -t proc proc "$CH/proc"
	mount --rbind /dev "$CH/dev"
	mount -t sysfs sysfs "$CH/sys"
	exec chroot "$CH" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" BLKQOS_IN_CHROOT=1 "$@"
' chroot-run "$@"
