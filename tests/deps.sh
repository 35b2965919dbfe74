#!/bin/sh
# Install the Debian 12 packages that building and testing blkqos need.
# Fast no-op when they are all present; run as root.  (debootstrap and zstd:
# DIST=debian13 builds the module in a trixie chroot and boots its zstd
# vmlinuz; tests/e2e/dist.sh.  prometheus: its promtool checks the metrics;
# gnuplot-nox: make demo's plot.)
#
# The kernel packages are not pinned: kernel/resolve-kernel.sh names the ABI
# the distribution's metapackages point at today (KVER=... pins one), and the
# headers and driver source are installed at exactly that version.  The apt
# lists are refreshed when they are a day old, so that a fresh machine and a
# long-lived one resolve the same ABI.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
LISTS=/var/lib/apt/lists

die() { echo "blkqos: $*" >&2; exit 1; }

if [ "$(id -u)" = 0 ] &&
	! find "$LISTS" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | grep -q .; then
	echo "blkqos: apt-get update (the package lists are missing or a day old)"
	apt-get update -q >/dev/null ||
		echo "blkqos: warning: apt-get update failed; resolving from the lists there are" >&2
fi
eval "$("$HERE/../kernel/resolve-kernel.sh" --say)"

# The kernel's own packages, which must be exactly $KVERSION.
KPKGS="linux-headers-$KVER $SRC_PKG"
PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
libxen-dev xenstore-utils xen-utils-$XENVER libcmocka-dev python3 jq \
pahole bc flex bison libssl-dev \
kmod cpio xz-utils libclang-rt-14-dev build-essential patch binutils perl \
qemu-system-x86 gawk dpkg debootstrap zstd \
debhelper dh-dkms dkms lintian fakeroot dpkg-dev man-db bsdextrautils systemd strace \
prometheus gnuplot-nox"

installed() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
		sed -n 's/^install ok installed //p'
}

missing=""
for p in $PKGS; do
	[ -n "$(installed "$p")" ] || missing="$missing $p"
done
for p in $KPKGS; do
	[ "$(installed "$p")" = "$KVERSION" ] || missing="$missing $p=$KVERSION"
done
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root to install them)"
echo "blkqos: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null ||
	die "apt-get install failed for:$missing"
