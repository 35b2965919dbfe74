#!/bin/sh
# Install the Debian 12 packages that building and testing blkqos need.
# Fast no-op when they are all present; run as root.
set -e
PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
libxen-dev xenstore-utils libcmocka-dev python3 \
linux-source-6.1 linux-headers-6.1.0-56-amd64 pahole bc flex bison libssl-dev \
kmod cpio xz-utils libclang-rt-14-dev build-essential patch binutils perl \
qemu-system-x86 gawk dpkg"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "blkqos: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "blkqos: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
