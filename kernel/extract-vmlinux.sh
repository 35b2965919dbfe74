#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# extract-vmlinux.sh KVER OUT
#
# Writes to OUT the ELF vmlinux (with .BTF) of the Debian kernel KVER, the
# base BTF the module's BTF is generated against.  Source, first found:
#   $VMLINUZ                      (if set)
#   /boot/vmlinuz-KVER            (an installed kernel, e.g. for DKMS)
#   the linux-image-KVER package, downloaded with apt-get into $DEBDIR
#                                 (default: <repo>/build/debs)
# The vmlinuz payload is an xz-compressed ELF: it starts at the xz magic
# FD 37 7A 58 5A 00.
set -eu

KVER=${1:?usage: $0 KVER OUT}
OUT=${2:?usage: $0 KVER OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
DEBDIR=${DEBDIR:-$HERE/../build/debs}

die() { echo "extract-vmlinux: $*" >&2; exit 1; }

src=${VMLINUZ:-}
from=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$src" ] && [ -r "/boot/vmlinuz-$KVER" ]; then
	src=/boot/vmlinuz-$KVER
fi
if [ -z "$src" ]; then
	pkg=linux-image-$KVER
	deb=$(ls "$DEBDIR"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		mkdir -p "$DEBDIR"
		for try in 1 2; do
			(cd "$DEBDIR" && apt-get download -qq "$pkg" 2>&1 |
				grep -v '^W: Download is performed unsandboxed' >&2) || true
			deb=$(ls "$DEBDIR"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
			# No package lists yet (fresh container): update once, as root.
			[ -z "$deb" ] && [ "$try" = 1 ] && [ "$(id -u)" = 0 ] || break
			apt-get update -qq >/dev/null 2>&1 || true
		done
		[ -n "$deb" ] || die "cannot download $pkg (apt-get update? deb-src/security sources?)"
	fi
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./boot/vmlinuz-$KVER" ||
		die "no boot/vmlinuz-$KVER in $deb"
	src=$tmp/boot/vmlinuz-$KVER
	from=$deb
fi

# Byte offset of the first xz stream header.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$src" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "no xz payload in $src"
tail -c +$((off + 1)) "$src" | xz -dc -q > "$tmp/vmlinux" 2>/dev/null || true

# xz complains about the trailing bytes after the stream; judge the result.
[ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = "177ELF" ] ||
	die "decompressed payload of $src is not an ELF file"
readelf -S -W "$tmp/vmlinux" | grep -q ' \.BTF ' ||
	die "vmlinux from $src has no .BTF section"
grep -aq "Linux version $KVER " "$tmp/vmlinux" ||
	die "vmlinux from $src is not kernel $KVER"

mkdir -p "$(dirname "$OUT")"
mv "$tmp/vmlinux" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "extract-vmlinux: $OUT from ${from:-$src}"
