#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# gen-vmlinux-h.sh OUT [MODULE_BTF BASE_BTF]
# gen-vmlinux-h.sh --running OUT
#
# Writes OUT, a vmlinux.h with the base kernel's types plus the patched
# xen-blkback's types (struct xen_blkif_ring, struct xen_blkif,
# struct blkif_request, the tracepoint's types, ...).
#
#   default    kernel/build/xen-blkback.ko on the base BTF of the target kernel
#              (built with make -C kernel if missing; KVER as in the Makefile)
#   --running  the running dom0: /sys/kernel/btf/xen_blkback on
#              /sys/kernel/btf/vmlinux (the patched module must be loaded)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BPFTOOL=${BPFTOOL:-bpftool}
[ -n "${KVER:-}" ] || eval "$("$HERE/resolve-kernel.sh")"

die() { echo "gen-vmlinux-h: $*" >&2; exit 1; }

if [ "${1:-}" = "--running" ]; then
	OUT=${2:?usage: $0 --running OUT}
	MOD=/sys/kernel/btf/xen_blkback
	BASE=/sys/kernel/btf/vmlinux
	[ -r "$MOD" ] || die "$MOD missing: is xen-blkback loaded (with BTF)?"
else
	OUT=${1:?usage: $0 OUT [MODULE_BTF BASE_BTF] | --running OUT}
	MOD=${2:-$HERE/build/xen-blkback.ko}
	BASE=${3:-$HERE/build/vmlinux-$KVER}
	if [ $# -lt 2 ]; then
		make -s -C "$HERE" KVER="$KVER" all >&2 ||
			die "building the module failed"
	fi
fi
[ -r "$MOD" ] || die "$MOD not readable"
[ -r "$BASE" ] || die "$BASE not readable"

tmp=$OUT.tmp.$$
trap 'rm -f "$tmp"' EXIT
# With a base, "format c" dumps the base types and the module's.
"$BPFTOOL" btf dump file "$MOD" --base-btf "$BASE" format c > "$tmp" ||
	die "bpftool btf dump failed"

for t in xen_blkif_ring xen_blkif blkif_request task_struct \
	 trace_event_raw_xen_blkif_dispatch; do
	grep -q "^struct $t {" "$tmp" || die "struct $t missing from the dump"
done
grep -q "atomic64_t defer_until;" "$tmp" ||
	die "struct xen_blkif_ring has no defer_until: not the patched module"
mv "$tmp" "$OUT"
