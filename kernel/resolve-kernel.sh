#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# resolve-kernel.sh [--make | --sh | --say]
#
# Which Debian kernel and Xen blkqos builds for and boots, resolved now from
# the distribution's metapackages in the apt lists, so that no ABI is pinned
# in the tree:
#   KVER      ABI of linux-headers-amd64's dependency  (e.g. 6.1.0-57-amd64)
#   KVERSION  version of linux-headers-$KVER            (e.g. 6.1.192-3)
#   SRC_PKG   linux-source's dependency                 (e.g. linux-source-6.1)
#   XENVER    Xen of xen-system-amd64's hypervisor      (e.g. 4.17)
# KVER=... and XENVER=... in the environment pin them to reproduce a run.
#
# The driver source must be the headers' exact version, and the kernel image
# the e2e boots must be too: a mismatch (the archive between two uploads, or a
# pinned ABI whose source has left it) is an error that says which.
#
#   --sh    KVER=... lines for eval (default)
#   --make  the same as make assignments
#   --say   one line for a person, on stderr, then the --sh lines
set -eu

die() { echo "resolve-kernel: $*" >&2; exit 1; }

# Two apt-cache calls in all (each loads the whole cache): the metapackages'
# dependencies, then the candidates of what they name.
META=$(apt-cache depends --important linux-headers-amd64 linux-source \
	xen-system-amd64 2>/dev/null) || true

# meta_dep PACKAGE PATTERN: the dependency of PACKAGE matching PATTERN
meta_dep() {
	printf '%s\n' "$META" | awk -v pkg="$1" -v pat="$2" '
		/^[^ ]/ { cur = $1 }
		cur == pkg && $1 == "Depends:" && $2 ~ pat { print $2; exit }'
}

hdr=$(meta_dep linux-headers-amd64 '^linux-headers-')
[ -n "$hdr" ] ||
	die "no linux-headers-amd64 in the apt lists: run 'apt-get update' (make deps does)"
if [ -z "${KVER:-}" ]; then
	KVER=${hdr#linux-headers-}
fi
SRC_PKG=$(meta_dep linux-source '^linux-source-[0-9]')
[ -n "$SRC_PKG" ] || die "linux-source depends on no linux-source-<series>"
if [ -z "${XENVER:-}" ]; then
	hv=$(meta_dep xen-system-amd64 '^xen-hypervisor-[0-9.]+-amd64$')
	[ -n "$hv" ] || die "xen-system-amd64 depends on no xen-hypervisor-<version>-amd64"
	XENVER=${hv#xen-hypervisor-}
	XENVER=${XENVER%-amd64}
fi

POLICY=$(apt-cache policy "linux-headers-$KVER" "linux-image-$KVER" "$SRC_PKG" \
	"xen-hypervisor-$XENVER-amd64" 2>/dev/null) || true

# candidate PACKAGE: its candidate version, or nothing
candidate() {
	printf '%s\n' "$POLICY" | awk -v pkg="$1:" '
		/^[^ ]/ { cur = $1 }
		cur == pkg && $1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

KVERSION=$(candidate "linux-headers-$KVER")
[ -n "$KVERSION" ] ||
	die "KVER=$KVER: no linux-headers-$KVER in the apt lists (left the archive? unset KVER)"
src_version=$(candidate "$SRC_PKG")
[ "$src_version" = "$KVERSION" ] ||
	die "$SRC_PKG is ${src_version:-absent} but linux-headers-$KVER is $KVERSION: the driver source would not match the kernel (the archive is between uploads, or KVER=$KVER has left it); retry after 'apt-get update' or pin another KVER"
img_version=$(candidate "linux-image-$KVER")
[ "$img_version" = "$KVERSION" ] ||
	die "linux-image-$KVER is ${img_version:-absent} but linux-headers-$KVER is $KVERSION"
xen_version=$(candidate "xen-hypervisor-$XENVER-amd64")
[ -n "$xen_version" ] ||
	die "XENVER=$XENVER: no xen-hypervisor-$XENVER-amd64 in the apt lists"

case "${1:---sh}" in
--make) fmt='%s := %s\n' ;;
--sh) fmt='%s=%s\n' ;;
--say)
	echo "blkqos: kernel $KVER $KVERSION with $SRC_PKG, Xen $XENVER $xen_version (pin: KVER=, XENVER=)" >&2
	fmt='%s=%s\n'
	;;
*) die "usage: $0 [--make | --sh | --say]" ;;
esac
printf "$fmt" KVER "$KVER" KVERSION "$KVERSION" SRC_PKG "$SRC_PKG" XENVER "$XENVER"
