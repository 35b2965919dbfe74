#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# extract-vmlinux.sh KVER OUT
#
# Writes to OUT the ELF vmlinux (with .BTF) of the Debian kernel KVER, the
# base BTF the module's BTF is generated against.  Source, first found:
#   $VMLINUZ                      (if set)
#   /boot/vmlinuz-KVER or /usr/lib/modules/KVER/vmlinuz (installed, DKMS)
#   the linux-image-KVER (or linux-binary-KVER) package, downloaded with
#                                 apt-get into $DEBDIR
#                                 (default: <repo>/build/debs)
# The vmlinuz payload is an xz- (FD 37 7A 58 5A 00) or zstd-compressed
# (28 B5 2F FD) ELF.
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

for f in /boot/vmlinuz-$KVER /usr/lib/modules/$KVER/vmlinuz; do
	[ -n "$src" ] || [ ! -r "$f" ] || src=$f
done
# fetch PKG: the newest PKG_*.deb in $DEBDIR, downloaded if missing.
fetch() {
	deb=$(ls "$DEBDIR"/"$1"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	[ -z "$deb" ] || return 0
	mkdir -p "$DEBDIR"
	for try in 1 2; do
		(cd "$DEBDIR" && apt-get download -qq "$1" 2>&1 |
			grep -v '^W: Download is performed unsandboxed' >&2) || true
		deb=$(ls "$DEBDIR"/"$1"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
		# No package lists yet (fresh container): update once, as root.
		[ -z "$deb" ] && [ "$try" = 1 ] && [ "$(id -u)" = 0 ] || break
		apt-get update -qq >/dev/null 2>&1 || true
	done
	[ -n "$deb" ] || die "cannot download $1 (apt-get update? deb-src/security sources?)"
}

# The image is boot/vmlinuz-KVER in linux-image-KVER, or (Debian 14 on,
# where that is a metapackage) usr/lib/modules/KVER/vmlinuz in
# linux-binary-KVER.
if [ -z "$src" ]; then
	for pkg in linux-image-$KVER linux-binary-$KVER; do
		fetch "$pkg"
		f=$(dpkg-deb -c "$deb" | awk -v a="./boot/vmlinuz-$KVER" \
			-v b="./usr/lib/modules/$KVER/vmlinuz" '$NF == a || $NF == b { print $NF; exit }')
		if [ -n "$f" ]; then
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "$f"
			src=$tmp/$f
			from=$deb
			break
		fi
		grep -q "linux-binary-$KVER" <<-EOF || break
		$(dpkg-deb -f "$deb" Depends)
		EOF
	done
	[ -n "$src" ] || die "no vmlinuz-$KVER in $deb"
fi

# The payload is the first xz (Debian 12) or zstd (Debian 13 on) stream
# that decompresses to an ELF file.
for fmt in xz zstd; do
	case $fmt in
	xz) magic='\xfd7zXZ\x00' ;;
	zstd) magic='\x28\xb5\x2f\xfd' ;;
	esac
	command -v $fmt >/dev/null 2>&1 || continue
	for off in $(LC_ALL=C grep -obUaP "$magic" "$src" | head -n 4 | cut -d: -f1); do
		tail -c +$((off + 1)) "$src" | $fmt -dc -q > "$tmp/vmlinux" 2>/dev/null || true
		[ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" != "177ELF" ] || break 2
	done
done
[ -s "$tmp/vmlinux" ] || die "no xz or zstd payload in $src (xz-utils, zstd installed?)"

# The decompressors complain about the bytes after the stream; judge the
# result.
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
