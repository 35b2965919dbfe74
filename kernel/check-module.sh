#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# check-module.sh KO BASE_BTF     verify a built xen-blkback.ko
# check-module.sh --btf-ids KO    only verify that the kfunc set is resolved
#
# Environment: VERMAGIC (expected vermagic; empty skips the check),
# BPFTOOL, SIGNED=1 (require a module signature).
set -eu

BPFTOOL=${BPFTOOL:-bpftool}
SET=xen_blkif_kfunc_ids
KFUNC=bpf_xen_blkif_defer
fail=0

die() { echo "check-module: FAIL: $*" >&2; exit 1; }
bad() { echo "check-module: FAIL: $*" >&2; fail=1; }
ok() { [ -n "${QUIET:-}" ] || echo "check-module: ok: $*"; }

# Print the ids of the BTF_SET8 $SET in .BTF_ids of $1, one per line.
# Layout: u32 cnt, u32 flags, then cnt pairs of u32 id, u32 flags.
set8_ids() {
	off=$(nm "$1" | awk -v s="__BTF_ID__set8__$SET" '$3 == s { print $1 }')
	[ -n "$off" ] || die "$1: no symbol __BTF_ID__set8__$SET"
	sec=$(mktemp)
	objcopy -O binary --only-section=.BTF_ids "$1" "$sec"
	words=$(od -An -tu4 -v -j $((0x$off)) "$sec" | tr -s ' \n' '  ')
	rm -f "$sec"
	set -- $words
	[ $# -ge 2 ] || die ".BTF_ids too short"
	cnt=$1
	shift 2
	[ "$cnt" -ge 1 ] || die "kfunc set $SET is empty in .BTF_ids (resolve_btfids not run?)"
	i=0
	while [ $i -lt "$cnt" ]; do
		[ $# -ge 2 ] || die ".BTF_ids truncated"
		echo "$1"
		shift 2
		i=$((i + 1))
	done
}

if [ "${1:-}" = "--btf-ids" ]; then
	KO=${2:?usage: $0 --btf-ids KO}
	ids=$(set8_ids "$KO") || exit 1
	for id in $ids; do
		[ "$id" -ne 0 ] || die "$KO: unresolved (zero) BTF id in kfunc set $SET"
	done
	exit 0
fi

KO=${1:?usage: $0 KO BASE_BTF}
BASE=${2:?usage: $0 KO BASE_BTF}
[ -f "$KO" ] || die "$KO does not exist"
[ -r "$BASE" ] || die "base BTF $BASE not readable"

# Sections.
for s in .BTF .BTF_ids; do
	size=$(readelf -S -W "$KO" | awk -v s="$s" '$2 == s { print $6; exit }
		$3 == s { print $7; exit }')
	[ -n "$size" ] || { bad "no $s section"; continue; }
	[ $((0x$size)) -gt 0 ] || { bad "$s is empty"; continue; }
	ok "$s: $((0x$size)) bytes"
done

# BTF: the hook, the kfunc, the tracepoint and the new ring field.
btf=$(mktemp)
trap 'rm -f "$btf"' EXIT
"$BPFTOOL" btf dump file "$KO" --base-btf "$BASE" > "$btf" ||
	die "bpftool cannot read the BTF of $KO with base $BASE"
for want in "FUNC 'xen_blkif_bpf_admit'" "FUNC '$KFUNC'" \
	    "TYPEDEF 'btf_trace_xen_blkif_dispatch'" \
	    "STRUCT 'trace_event_raw_xen_blkif_dispatch'" \
	    "STRUCT 'xen_blkif_ring'" "STRUCT 'xen_blkif'" \
	    "'defer_until' type_id=" "'parked' type_id=" "'parked_at' type_id="; do
	if grep -q "$want" "$btf"; then ok "BTF has $want"; else bad "BTF lacks $want"; fi
done

# Split BTF must start right after the base's last type.
first=$(sed -n '1s/^\[\([0-9]*\)\].*/\1/p' "$btf")
last=$("$BPFTOOL" btf dump file "$BASE" | sed -n 's/^\[\([0-9]*\)\].*/\1/p' | tail -n 1)
if [ "$first" = $((last + 1)) ]; then
	ok "module BTF starts at id $first, after base BTF"
else
	bad "module BTF starts at id $first, base ends at $last: wrong base?"
fi

# .BTF_ids: the kfunc set holds the BTF id of the kfunc.
kid=$(sed -n "s/^\[\([0-9]*\)\] FUNC '$KFUNC'.*/\1/p" "$btf")
ids=$(set8_ids "$KO") || exit 1
if [ -n "$kid" ] && [ "$ids" = "$kid" ]; then
	ok "kfunc set $SET = { $ids } ($KFUNC)"
else
	bad "kfunc set $SET = { $ids }, expected { $kid }"
fi

# The hook is an ordinary, ftrace-able function.
if nm "$KO" | grep -q ' T xen_blkif_bpf_admit$'; then
	ok "xen_blkif_bpf_admit is a global text symbol"
else
	bad "xen_blkif_bpf_admit is not a global text symbol"
fi
# (Not --disassemble=SYM: binutils 2.44 prints other functions' relocations.)
if objdump -dr "$KO" |
	awk '/<xen_blkif_bpf_admit>:$/ { n = 4 } n && n-- && /__fentry__/ { f = 1 }
	     END { exit !f }'; then
	ok "xen_blkif_bpf_admit calls __fentry__"
else
	bad "xen_blkif_bpf_admit has no __fentry__ call (not ftrace-able)"
fi

# vermagic.
vm=$(modinfo -F vermagic "$KO" | sed 's/ *$//')
if [ -z "${VERMAGIC:-}" ]; then
	ok "vermagic '$vm' (not checked)"
elif [ "$vm" = "$(echo "$VERMAGIC" | sed 's/ *$//')" ]; then
	ok "vermagic '$vm'"
else
	bad "vermagic '$vm', expected '$VERMAGIC'"
fi

if [ -n "${SIGNED:-}" ]; then
	signer=$(modinfo -F signer "$KO")
	if [ -n "$signer" ]; then ok "signed by '$signer'"; else bad "module not signed"; fi
fi

[ $fail -eq 0 ] || die "$KO failed the checks above"
echo "check-module: $KO passed"
