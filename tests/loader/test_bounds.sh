#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Integration tests of the loader's bounds (issue 13): more keys, VBDs and
# domains than a fixed array would hold are all taken, nothing dropped in
# silence; two VBDs of a domain whose device ids fold to one 16-bit handle
# are refused, naming both, and never share or delete each other's entry.
# The real ./blkqos run --no-attach against the test xenstored.
#
# usage: tests/loader/test_bounds.sh [-v]     (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed"; exit 1 if anything failed, 77 if it cannot run here.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

. "$top/tests/loader/lib.sh"

require bpftool:bpftool jq:jq python3:python3 xenstore-write:xenstore-utils \
	xenstore-rm:xenstore-utils
loader_test_begin bounds 400

start_xenstored
LOADER_ARGS=(--no-attach)

# rate DOMID DEVID LIMIT: the VBD's limit in the maps, 0 = unlimited, "absent"
rate() {
	bpftool map dump pinned $PIN/vbds -j | jq -r --argjson d "$1" --argjson v "$2" \
		--arg l "$(echo "$3" | tr - _)" \
		'[.[].formatted | select(.key.domid == $d and .key.devid == $v)] |
		 if length == 0 then "absent" else .[0].value.limits[$l].rate end'
}
nvbds() { # DOMID: the domain's entries in the vbds map
	bpftool map dump pinned $PIN/vbds -j | jq --argjson d "$1" '[.[].formatted | select(.key.domid == $d)] | length'
}
ndoms() { # FIRST LAST: domains of that range in the doms map
	bpftool map dump pinned $PIN/doms -j | jq --argjson a "$1" --argjson b "$2" \
		'[.[].formatted | select(.key >= $a and .key <= $b)] | length'
}

# ---- more keys than 64 ------------------------------------------------------------
# 70 keys the loader does not know come first under qos/, then the limit.
newdom 5 vm5
args=()
for i in $(seq -w 0 69); do args+=("$V/5/51712/qos/aa$i" 1); done
xenstore-write $V/5/51712/params /dev/vg/vm5 "${args[@]}"
xenstore-write $V/5/51712/qos/iops 300
if start_loader; then ok "blkqos run starts"; else notok "blkqos run starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
check_eq "71 keys under qos/: the 71st (iops=300) is in force" 300 "$(rate 5 51712 iops)"
check_eq "each unknown key is reported" 70 "$(grep -c "$V/5/51712/qos/aa[0-9]*: \"1\": unknown key" "$LOG")"
xenstore-write $V/5/51712/qos/write-iops 77
poll_eq "a 72nd key written while running is in force" 77 rate 5 51712 write-iops
xenstore-write $V/5/51712/qos/iops 310
poll_eq "a change of the 71st key is in force" 310 rate 5 51712 iops

# ---- more VBDs per domain than 256 --------------------------------------------------
newdom 20 vm20
args=()
for i in $(seq 1 300); do args+=("$V/20/$i/params" "/dev/vg/d$i"); done
xenstore-write "${args[@]}"
args=()
for i in $(seq 1 300); do args+=("$V/20/$i/qos/iops" "$((100 + i))"); done
xenstore-write "${args[@]}"
wait_eq 60 300 nvbds 20
check_eq "300 VBDs of one domain are in the maps" 300 "$(nvbds 20)"
check_eq "... the 300th with its own limit" 400 "$(rate 20 300 iops)"
xenstore-rm $V/20
wait_eq 30 0 nvbds 20
check_eq "the domain's directory removed: all 300 entries go" 0 "$(nvbds 20)"
check_eq "the loader lives on" yes "$(alive)"

# ---- more domains dying at once than 256 ----------------------------------------------
args=()
for d in $(seq 100 399); do args+=("/local/domain/$d/name" "vm$d" "$V/$d/51712/params" "/dev/vg/$d"); done
xenstore-write "${args[@]}"
for d in $(seq 100 399); do xsctl introduce-domain $d; done
wait_eq 60 300 ndoms 100 399
check_eq "300 domains in the maps" 300 "$(ndoms 100 399)"
stop_loader
for d in $(seq 100 399); do xenstore-rm $V/$d; xsctl release-domain-keep $d; done
LOADER_ARGS=(--no-attach)
if start_loader; then ok "blkqos run starts again"; else notok "blkqos run starts again" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
wait_eq 30 0 ndoms 100 399
check_eq "300 domains dead while the loader was stopped: all forgotten" 0 "$(ndoms 100 399)"

# ---- blkqos set with many arguments ----------------------------------------------------
args=()
for i in $(seq 1 64); do args+=(iops=5); done
out=$("$BLKQOS" set 5 xvda "${args[@]}" nosuchkey=1 2>&1); rc=$?
check_eq "set with 65 pairs: exit 2" 2 "$rc"
if echo "$out" | grep -q 'unknown key "nosuchkey"'; then ok "set with 65 pairs: the 65th is checked too"
else notok "set with 65 pairs: the 65th is checked too" "'unknown key \"nosuchkey\"'" "$(echo "$out" | tail -1)"; fi
out=$("$BLKQOS" set 5 xvda iops=5 read-iops=7 iops=6 2>&1); rc=$?
check_eq "set with a key given twice: exit 2" 2 "$rc"
check_eq "... named, once" "blkqos: error: iops given twice" "$(echo "$out" | grep 'given twice')"
args=()
for i in $(seq 1 70); do args+=(--wait); done
check_rc "set with 70 --wait and one pair: exit 0" 0 "$BLKQOS" set 5 xvda "${args[@]}" read-iops=9
check_eq "... and it is in force" 9 "$(rate 5 51712 read-iops)"

# ---- two VBDs whose device ids fold to one 16-bit handle -------------------------------
# blkback keeps the handle in 16 bits: 51712 and 51712 + 65536 = 117248 are
# the same handle. The first keeps its entry; the second gets none.
newdom 30 vm30
xenstore-write $V/30/51712/params /dev/vg/a $V/30/51712/qos/iops 100
poll_eq "domain 30 xvda (51712): iops=100" 100 rate 30 51712 iops
mark
xenstore-write $V/30/117248/params /dev/vg/b $V/30/117248/qos/iops 999
if wait_log "117248" && since | grep "117248" | grep -q "51712"; then
	ok "a VBD folding onto another's handle is refused, naming both"
else notok "a VBD folding onto another's handle is refused, naming both" "a line with 117248 and 51712" "$(since | tail -2 | tr '\n' ' ')"; fi
check_eq "... it is reported in one line" 1 "$(since | grep -c "117248.*51712\|51712.*117248")"
sleep 0.3
check_eq "... the first keeps its limit" 100 "$(rate 30 51712 iops)"
check_eq "... no second entry" 1 "$(nvbds 30)"
xenstore-write $V/30/117248/qos/iops 998
sleep 0.3
check_eq "a change of the refused VBD's key changes nothing" 100 "$(rate 30 51712 iops)"
xenstore-rm $V/30/117248
sleep 0.3
check_eq "the refused VBD goes: the first keeps its entry" 100 "$(rate 30 51712 iops)"
mark
xenstore-write $V/30/117248/params /dev/vg/b $V/30/117248/qos/iops 999
wait_log "117248"
xenstore-rm $V/30/51712
poll_eq "the first goes: the second is registered with its limit" 999 rate 30 51712 iops
check_eq "... one entry" 1 "$(nvbds 30)"
xenstore-write $V/30/51712/params /dev/vg/a $V/30/51712/qos/iops 100
sleep 0.3
check_eq "the old first comes back: refused while the second holds the handle" 999 "$(rate 30 51712 iops)"
check_eq "the loader lives on" yes "$(alive)"
# A restart sees both at once: the one that holds the entry keeps it.
stop_loader
mark
if start_loader; then ok "blkqos run starts again"; else notok "blkqos run starts again" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
check_eq "after a restart the holder (117248) keeps the handle" 999 "$(rate 30 51712 iops)"
if since | grep "refused" | grep -q "51712 and 117248"; then ok "after a restart the other (51712) is the one refused"
else notok "after a restart the other (51712) is the one refused" "'devids 51712 and 117248'" "$(since | grep refused | tail -1)"; fi
xenstore-rm $V/30/117248
poll_eq "the holder goes: 51712 takes the handle with its limit" 100 rate 30 51712 iops
stop_loader
mark
if start_loader; then ok "blkqos run starts a third time"; else notok "blkqos run starts a third time" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
check_eq "a lone VBD is in force after a restart" 100 "$(rate 30 51712 iops)"
check_eq "the loader lives on" yes "$(alive)"

warn=$(grep -c "warning\|error" "$LOG")
echo "# loader log: $(wc -l <"$LOG") lines, $warn warnings/errors (all from the cases above)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
