#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Integration tests of stock mode (xen-blkback without the BPF hook): the
# real ./blkqos run --mode stock against the test xenstored, the host's real
# cgroup block throttle (v2 io.max, or v1 blkio where the io controller is
# bound there, as on this CI machine) and the real BPF accounting program on
# block_bio_queue. There are no blkback kthreads without Xen: stand-in ring
# threads (tests/bin/ring_stub, a process named "<domid>.<dev>-<ring>")
# submit O_DIRECT I/O to a loop device, and BLKQOS_TEST_RING_ANY_TASK lets the
# loader's test build (tests/bin/blkqos-test) move user processes.
#
# usage: tests/loader/test_stock.sh [-v]     (root; bpffs; BPF; losetup)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed"; exit 1 if anything failed, 77 if it cannot run here.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
# The test build (make tests/bin/blkqos-test): the production ./blkqos
# never takes a user process for a ring thread (checked first).
BLKQOS=${BLKQOS:-$top/tests/bin/blkqos-test}
PROD=${BLKQOS_PROD:-$top/blkqos}
STUB=$top/tests/bin/ring_stub
XVDA=51712 XVDB=51728 XVDC=51744

. "$top/tests/loader/lib.sh"

require bpftool:bpftool jq:jq python3:python3 losetup:mount xenstore-write:xenstore-utils \
	xenstore-rm:xenstore-utils
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF, cgroups)"; exit 77; }
[ -x "$BLKQOS" ] || { echo "not ok - $BLKQOS is built (make tests/bin/blkqos-test)"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$STUB" ] || { echo "not ok - $STUB is built (make $STUB)"; echo "0 passed, 1 failed"; exit 1; }
# The hierarchy stock mode will use: cgroup v2 with io, else v1 blkio.
CG=""
c2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$c2" ] && grep -qw io "$c2/cgroup.controllers" 2>/dev/null; then
	CG=$c2 CGV=2
else
	c1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)blkio(,|$)/ { print $5; exit }' /proc/self/mountinfo)
	[ -n "$c1" ] && CG=$c1 CGV=1
fi
[ -n "$CG" ] || { echo "SKIP: no cgroup block throttle here (no v2 io, no v1 blkio)"; exit 77; }
SLICE=$CG/blkqos.slice

loader_test_begin stock 100 /dev/shm
LOOP=""
declare -A STUB_PID STUB_IN STUB_OUT

# stub_start NAME: a stand-in ring thread named NAME on the loop device
stub_start() {
	rm -f "$work/$1.in"
	mkfifo "$work/$1.in"
	"$STUB" "$1" "$LOOP" <"$work/$1.in" >"$work/$1.out" 2>&1 &
	STUB_PID[$1]=$!
	exec {fd}>"$work/$1.in"
	STUB_IN[$1]=$fd
}
# stub_io NAME read|write N: run N requests, wait (up to 30 s) for the answer
stub_io() {
	local before i=0
	before=$(wc -l <"$work/$1.out")
	echo "$2 $3" >&"${STUB_IN[$1]}"
	until [ "$(wc -l <"$work/$1.out")" -gt "$before" ]; do
		i=$((i + 1)); [ $i -ge 1500 ] && break; sleep 0.02
	done
	tail -n 1 "$work/$1.out"
}
stub_stop() {
	local fd=${STUB_IN[$1]:-}
	[ -n "$fd" ] || return 0
	echo exit >&"$fd"
	exec {fd}>&-
	wait "${STUB_PID[$1]}" 2>/dev/null
	unset "STUB_IN[$1]"
}
# stubs and the loop device go after the loader, before the unload
cleanup_extra() {
	for n in "${!STUB_IN[@]}"; do stub_stop "$n"; done
	[ -n "$LOOP" ] && losetup -d "$LOOP"
}

# ---- a backing device, the test xenstored, a guest with one VBD --------------
truncate -s 16M "$work/disk" && LOOP=$(losetup -f --show "$work/disk") ||
	{ echo "SKIP: cannot set up a loop device"; exit 77; }
MAJMIN=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
MAJ=${MAJMIN%:*} MIN=${MAJMIN#*:}
HEXDEV=$(printf '%x:%x' "$MAJ" "$MIN")
echo "# $LOOP = $MAJMIN, cgroup v$CGV at $CG"
start_xenstored
newdom $GUEST vm7
# vbd DEVID NAME STATE [KEY VALUE...]: a backend dir as libxl and the hotplug script write it
vbd() {
	local d=$1 name=$2 state=$3
	shift 3
	xenstore-write $V/$GUEST/$d/dev "$name" $V/$GUEST/$d/params "$LOOP" \
		$V/$GUEST/$d/frontend /local/domain/$GUEST/device/vbd/$d \
		$V/$GUEST/$d/physical-device "$HEXDEV" "$@" $V/$GUEST/$d/state "$state"
}
# limits DIR: the throttle's limits for the loop device, "riops wiops rbps wbps" (0 = none)
limits() {
	if [ "$CGV" = 2 ]; then
		awk -v d="$MAJMIN" '$1 == d { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] == "max" ? 0 : kv[2] }
			print v["riops"] + 0, v["wiops"] + 0, v["rbps"] + 0, v["wbps"] + 0; f = 1 }
			END { if (!f) print "0 0 0 0" }' "$1/io.max" 2>/dev/null || echo absent
	else
		local f out=""
		for f in read_iops write_iops read_bps write_bps; do
			[ -e "$1/blkio.throttle.${f}_device" ] || { echo absent; return; }
			out="$out $(awk -v d="$MAJMIN" '$1 == d { print $2; f = 1 } END { if (!f) print 0 }' "$1/blkio.throttle.${f}_device")"
		done
		echo "${out# }"
	fi
}
is_dir() { if [ -d "$1" ]; then echo yes; else echo no; fi; }
group_of() { awk -F: '$2 ~ /(^|,)(blkio|io)(,|$)/ || $2 == "" { print $3; exit }' "/proc/$1/cgroup" 2>/dev/null; }
in_group() { # PID GROUPDIR: yes/no
	if grep -qx "$1" "$2/cgroup.procs" 2>/dev/null; then echo yes; else echo no; fi
}
sfield() { # DEVID JQ-PATH on the stats of that VBD
	"$BLKQOS" stats --json 2>/dev/null | jq -r --argjson v "$1" \
		"[.vbds[] | select(.domid == $GUEST and .devid == \$v)] | if length == 0 then \"absent\" else (.[0]$2) end"
}

vbd $XVDA xvda 4 $V/$GUEST/$XVDA/qos/read-iops 50 $V/$GUEST/$XVDA/qos/write-bps 2M
stub_start $GUEST.xvda-0
LOADER_ARGS=(--mode stock)
export BLKQOS_TEST_RING_ANY_TASK=1
G=$SLICE/dom-$GUEST/vbd-$GUEST-$XVDA

# ---- the production binary takes kernel threads only, whatever the environment ----
if [ -x "$PROD" ] && [ "$PROD" != "$BLKQOS" ]; then
	TEST_BIN=$BLKQOS BLKQOS=$PROD
	if start_loader; then ok "production blkqos run --mode stock starts"
	else notok "production blkqos run --mode stock starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
	poll_eq "production binary: the VBD's group has its limits" "50 0 0 2000000" limits "$G"
	check_eq "production binary: BLKQOS_TEST_RING_ANY_TASK does not make it take a user process" \
		no "$(in_group "${STUB_PID[$GUEST.xvda-0]}" "$G")"
	check_eq "production binary: the stand-in writes 3 x 4 KiB from outside the group" "done 3" \
		"$(stub_io $GUEST.xvda-0 write 3)"
	check_eq "production binary: a user process named like a ring thread is not counted as one" \
		"0 0" "$(sfield $XVDA '| "\(.write.ops) \(.unthrottled.ops)"')"
	if since | grep -q "BLKQOS_TEST_RING_ANY_TASK.*ignored"; then ok "production binary: says it ignores BLKQOS_TEST_RING_ANY_TASK"
	else notok "production binary: says it ignores BLKQOS_TEST_RING_ANY_TASK" "'BLKQOS_TEST_RING_ANY_TASK ... ignored'" "$(since | head -3 | tr '\n' ' ')"; fi
	stop_loader TERM
	"$BLKQOS" unload >/dev/null 2>&1
	BLKQOS=$TEST_BIN
else
	notok "the production and the test build are both here" "$PROD and another BLKQOS" "BLKQOS=$BLKQOS"
fi
if start_loader; then ok "blkqos run --mode stock starts and follows xenstore"
else notok "blkqos run --mode stock starts and follows xenstore" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
if grep -q "^mode: stock" "$LOG" || grep -q "mode: stock" "$LOG"; then ok "the log says stock mode in one line"
else notok "the log says stock mode" "'mode: stock'" "$(head -3 "$LOG" | tr '\n' ' ')"; fi
check_eq "the VBD's group exists" yes "$([ -d "$G" ] && echo yes || echo no)"
check_eq "its limits: read-iops=50 write-bps=2M" "50 0 0 2000000" "$(limits "$G")"
check_eq "the ring thread ${GUEST}.xvda-0 is in it" yes "$(in_group "${STUB_PID[$GUEST.xvda-0]}" "$G")"
check_eq "/proc/PID/cgroup agrees" "/blkqos.slice/dom-$GUEST/vbd-$GUEST-$XVDA" "$(group_of "${STUB_PID[$GUEST.xvda-0]}")"
cgid=$(stat -c %i "$G")
check_eq "stock_groups maps the group's cgroup id to the VBD's slot and device" \
	"$(bpftool map dump pinned $PIN/vbds -j | jq -r --argjson v $XVDA '.[].formatted | select(.key.devid == $v) | .value.slot') $((MAJ << 20 | MIN))" \
	"$(bpftool map dump pinned $PIN/stock_groups -j | jq -r --argjson k "$cgid" '.[].formatted | select(.key == $k) | "\(.value.slot) \(.value.dev)"')"
check_eq "the accounting program is attached and pinned" yes "$([ -e $PIN/link_stock_account ] && echo yes || echo no)"
check_eq "the ring-birth programs are attached and pinned" "yes yes" \
	"$([ -e $PIN/link_stock_ring_new ] && echo yes || echo no) $([ -e $PIN/link_stock_ring_rename ] && echo yes || echo no)"
check_eq "no admission program is pinned in stock mode" no "$([ -e $PIN/link_admit ] && echo yes || echo no)"

# ---- accounting: every bio of the group, counted exactly ----------------------
check_eq "stand-in ring thread writes 16 x 4 KiB" "done 16" "$(stub_io $GUEST.xvda-0 write 16)"
check_eq "stats: 16 writes" 16 "$(sfield $XVDA .write.ops)"
check_eq "stats: 65536 bytes written" 65536 "$(sfield $XVDA .write.bytes)"
check_eq "stand-in reads 20 x 4 KiB" "done 20" "$(stub_io $GUEST.xvda-0 read 20)"
check_eq "stats: 20 reads, 81920 bytes" "20 81920" "$(sfield $XVDA '| "\(.read.ops) \(.read.bytes)"')"
# I/O from outside the group is not the VBD's
dd if="$LOOP" of=/dev/null bs=4k count=8 iflag=direct status=none
check_eq "I/O from another cgroup is not counted" 20 "$(sfield $XVDA .read.ops)"
# over the limit: the throttle holds bios; they reach the queue from its workqueue
before=$(sfield $XVDA .deferrals)
check_eq "stand-in reads 120 more at read-iops=50 (throttled)" "done 120" "$(stub_io $GUEST.xvda-0 read 120)"
check_eq "stats: 140 reads, none lost" 140 "$(sfield $XVDA .read.ops)"
d=$(sfield $XVDA .deferrals)
if [ "$d" -gt "$before" ] 2>/dev/null; then ok "stats: the throttle's held bios count as deferrals ($before -> $d)"
else notok "stats: held bios count as deferrals" "more than $before" "$d"; fi
check_eq "stats --json says stock mode" stock "$("$BLKQOS" stats --json | jq -r .mode)"
if "$BLKQOS" stats $GUEST/xvda | grep -q "throttled $d bios"; then ok "stats (text) names the throttled bios"
else notok "stats (text) names the throttled bios" "'throttled $d bios'" "$("$BLKQOS" stats $GUEST/xvda | tail -1)"; fi

# ---- live changes, reports, bad input -------------------------------------------
mark
xenstore-write $V/$GUEST/$XVDA/qos/read-iops 80
poll_eq "live change: read-iops 50 -> 80 rewrites the throttle" "80 0 0 2000000" limits "$G"
mark
xenstore-write $V/$GUEST/$XVDA/qos/read-iops-burst 400 $V/$GUEST/$XVDA/qos/iops-size 8K
if wait_log "not enforced in stock mode: read-iops-burst=400"; then ok "a burst is reported as not enforced, naming the key"
else notok "a burst is reported as not enforced" "'not enforced in stock mode: read-iops-burst=400'" "$(since | tr '\n' ' ')"; fi
if since | grep -q "iops-size=8000"; then ok "iops-size is reported as not enforced"
else notok "iops-size is reported as not enforced" "iops-size=8000 in the report" "$(since | tr '\n' ' ')"; fi
check_eq "the throttle keeps what it can do" "80 0 0 2000000" "$(limits "$G")"
mark
xenstore-write $V/$GUEST/$XVDA/qos/iops 30
if wait_log "iops=30 applies per direction"; then ok "a total iops is reported as applied per direction"
else notok "a total iops is reported as applied per direction" "'iops=30 applies per direction'" "$(since | tr '\n' ' ')"; fi
poll_eq "total iops=30 with read-iops=80: 30 both ways" "30 30 0 2000000" limits "$G"
xenstore-rm $V/$GUEST/$XVDA/qos/iops
poll_eq "total iops removed" "80 0 0 2000000" limits "$G"
mark
xenstore-write $V/$GUEST/$XVDA/qos/read-iops lots
if wait_log "qos/read-iops: \"lots\""; then ok "a bad value is refused with path and value"
else notok "a bad value is refused with path and value" "'qos/read-iops: \"lots\"'" "$(since | tr '\n' ' ')"; fi
sleep 0.2
check_eq "... and the last good limit stays in the throttle" "80 0 0 2000000" "$(limits "$G")"
xenstore-write $V/$GUEST/$XVDA/qos/read-iops 80

# A second VBD with a broken physical-device: no group, one line naming it.
mark
vbd $XVDB xvdb 4 $V/$GUEST/$XVDB/qos/iops 10
xenstore-write $V/$GUEST/$XVDB/physical-device "zz:top"
if wait_log "physical-device: \"zz:top\""; then ok "a bad physical-device is named with its value"
else notok "a bad physical-device is named" "'physical-device: \"zz:top\"'" "$(since | tr '\n' ' ')"; fi
check_eq "the loader lives on" yes "$(alive)"

# ---- domain limits: folded into a lone VBD, or on the domain's group ---------------
# Domain 7 has xvda and xvdb (xvdb's device is bad: not on one disk as far as
# the loader knows). Make xvdb valid: both on the loop device.
mark
xenstore-write $V/$GUEST/$XVDB/physical-device "$HEXDEV"
xenstore-write $V/$GUEST/qos/write-iops 60
if [ "$CGV" = 2 ]; then
	poll_eq "v2: a domain limit over two VBDs on one disk goes on the domain's group" \
		"0 60 0 0" limits "$SLICE/dom-$GUEST"
else
	if wait_log "domain limits across 2 VBDs (need cgroup v2 and one backing device)"; then
		ok "v1: a domain limit over two VBDs is reported as not enforced"
	else notok "v1: a domain limit over two VBDs is reported" "'domain limits across 2 VBDs'" "$(since | tr '\n' ' ')"; fi
fi
check_eq "the VBD keeps its own limits" "80 0 0 2000000" "$(limits "$G")"
xenstore-rm $V/$GUEST/qos

# ---- ring threads started after Connected (blkback's order) are found ----------
mark
vbd $XVDC xvdc 4 $V/$GUEST/$XVDC/qos/write-iops 40
sleep 0.05
stub_start $GUEST.xvdc-0
GC=$SLICE/dom-$GUEST/vbd-$GUEST-$XVDC
poll_eq "a ring thread that appears after Connected is moved in" yes \
	in_group "${STUB_PID[$GUEST.xvdc-0]}" "$GC"
check_eq "its limits" "0 40 0 0" "$(limits "$GC")"
# a reconnect: state goes down and back up with a new thread
stub_stop $GUEST.xvdc-0
xenstore-write $V/$GUEST/$XVDC/state 6
stub_start $GUEST.xvdc-1
xenstore-write $V/$GUEST/$XVDC/state 4
poll_eq "after a reconnect the new ring thread is moved in" yes in_group "${STUB_PID[$GUEST.xvdc-1]}" "$GC"

# ---- a ring thread goes in at its birth, before any look ---------------------------
# BPF sees the thread named (task_rename here: the stand-in's prctl) and the
# loader moves it at once. The second thread has no backend event at all, so
# no look is due: only its birth can move it (a thread blkback starts while
# the loader's looks are done, or before they come round).
XVDF=51792
GF=$SLICE/dom-$GUEST/vbd-$GUEST-$XVDF
vbd $XVDF xvdf 4 $V/$GUEST/$XVDF/qos/write-iops 47
poll_eq "birth: the VBD's group has its limits" "0 47 0 0" limits "$GF"
stub_start $GUEST.xvdf-0
poll_eq "birth: its first ring thread is moved in" yes in_group "${STUB_PID[$GUEST.xvdf-0]}" "$GF"
stub_stop $GUEST.xvdf-0
mark
stub_start $GUEST.xvdf-0
poll_eq "birth: a new ring thread with no backend event (no look due) is moved in" yes \
	in_group "${STUB_PID[$GUEST.xvdf-0]}" "$GF"
if wait_log "vbd $GUEST/$XVDF: ring thread $GUEST.xvdf-0 (pid ${STUB_PID[$GUEST.xvdf-0]}) in its group at its birth"; then
	ok "birth: the log says it went in at its birth"
else notok "birth: the log says it went in at its birth" "'ring thread $GUEST.xvdf-0 (pid ${STUB_PID[$GUEST.xvdf-0]}) in its group at its birth'" "$(since | tail -2 | tr '\n' ' ')"; fi
stub_stop $GUEST.xvdf-0
# a task named like a ring thread of a VBD the loader does not know stays out
stub_start $GUEST.xvdz-0
sleep 0.3
check_eq "birth: a task named for an unknown VBD stays where it is" "$(group_of $$)" \
	"$(group_of "${STUB_PID[$GUEST.xvdz-0]}")"
stub_stop $GUEST.xvdz-0
xenstore-rm $V/$GUEST/$XVDF
poll_eq "birth: unplug removes the group" no is_dir "$GF"

# ---- the number of rings is the backend's, not what the guest writes ----------------
# blkback offers 3 rings (its multi-queue-max-queues); the guest connected
# with 3 and then rewrote its multi-queue-num-queues to 1. The threads of
# rings 1 and 2 start after the loader found ring 0's.
XVDD=51760
GD=$SLICE/dom-$GUEST/vbd-$GUEST-$XVDD
mark
stub_start $GUEST.xvdd-0
xenstore-write /local/domain/$GUEST/device/vbd/$XVDD/multi-queue-num-queues 1
vbd $XVDD xvdd 4 $V/$GUEST/$XVDD/multi-queue-max-queues 3 $V/$GUEST/$XVDD/qos/write-iops 45
poll_eq "multi-queue: ring 0's thread is moved in" yes in_group "${STUB_PID[$GUEST.xvdd-0]}" "$GD"
stub_start $GUEST.xvdd-1
stub_start $GUEST.xvdd-2
poll_eq "multi-queue: ring 1's thread, started later, is moved in (the guest's 1 is not believed)" \
	yes in_group "${STUB_PID[$GUEST.xvdd-1]}" "$GD"
poll_eq "multi-queue: ring 2's thread too" yes in_group "${STUB_PID[$GUEST.xvdd-2]}" "$GD"
if wait_log "vbd $GUEST/$XVDD: 3 ring threads in its group"; then ok "multi-queue: the log says 3 ring threads"
else notok "multi-queue: the log says 3 ring threads" "'vbd $GUEST/$XVDD: 3 ring threads in its group'" "$(since | grep $XVDD | tail -2 | tr '\n' ' ')"; fi
for r in 0 1 2; do stub_stop $GUEST.xvdd-$r; done
xenstore-rm $V/$GUEST/$XVDD
poll_eq "multi-queue: unplug removes the group" no is_dir "$GD"

# ---- more ring threads than a fixed array of 64 would hold ---------------------------
XVDE=51776
GE=$SLICE/dom-$GUEST/vbd-$GUEST-$XVDE
for r in $(seq 0 64); do stub_start $GUEST.xvde-$r; done
vbd $XVDE xvde 4 $V/$GUEST/$XVDE/multi-queue-max-queues 65 $V/$GUEST/$XVDE/qos/write-iops 46
inside() { local r n=0; for r in $(seq 0 64); do [ "$(in_group "${STUB_PID[$GUEST.xvde-$r]}" "$GE")" = yes ] && n=$((n + 1)); done; echo $n; }
poll_eq "65 rings: all 65 ring threads are moved in" 65 inside
for r in $(seq 0 64); do stub_stop $GUEST.xvde-$r; done
xenstore-rm $V/$GUEST/$XVDE
poll_eq "65 rings: unplug removes the group" no is_dir "$GE"

# ---- unthrottled: a ring thread's bios before it is in its group ----------------
# The backend is not Connected yet, so the loader has made and registered the
# group but not moved the thread: its bios pass the throttle unseen and count
# as the VBD's, as unthrottled; once it is in, they are the group's. A domain
# of its own: stock_devs tells VBDs by backing device and domain, and every
# VBD of domain 7 here is on the one loop device.
newdom 8 vm8
G8=$SLICE/dom-8/vbd-8-$XVDA
stub_start 8.xvda-0
GUEST=8 vbd $XVDA xvda 2 $V/8/$XVDA/qos/read-iops 1000
s8() { GUEST=8 sfield $XVDA "$1"; }
poll_eq "unthrottled: the group of a VBD in InitWait has its limits" "1000 0 0 0" limits "$G8"
check_eq "unthrottled: its ring thread is not moved before Connected" no \
	"$(in_group "${STUB_PID[8.xvda-0]}" "$G8")"
check_eq "unthrottled: the stand-in reads 12 x 4 KiB from outside the group" "done 12" \
	"$(stub_io 8.xvda-0 read 12)"
check_eq "unthrottled: stats count 12 reads, all 12 unthrottled (49152 bytes)" "12 12 49152" \
	"$(s8 '| "\(.read.ops) \(.unthrottled.ops) \(.unthrottled.bytes)"')"
if "$BLKQOS" stats 8/xvda | grep -q "unthrottled 12 bios 49152 bytes"; then
	ok "unthrottled: stats (text) names them"
else notok "unthrottled: stats (text) names them" "'unthrottled 12 bios 49152 bytes'" \
	"$("$BLKQOS" stats 8/xvda | tail -1)"; fi
dd if="$LOOP" of=/dev/null bs=4k count=8 iflag=direct status=none
check_eq "unthrottled: a process not named like a ring thread is not the VBD's" "12 12" \
	"$(s8 '| "\(.read.ops) \(.unthrottled.ops)"')"
xenstore-write $V/8/$XVDA/state 4
poll_eq "unthrottled: at Connected the thread is moved in" yes in_group "${STUB_PID[8.xvda-0]}" "$G8"
check_eq "unthrottled: the stand-in reads 5 more" "done 5" "$(stub_io 8.xvda-0 read 5)"
check_eq "unthrottled: 17 reads, still 12 unthrottled" "17 12" "$(s8 '| "\(.read.ops) \(.unthrottled.ops)"')"
stub_stop 8.xvda-0
xenstore-rm $V/8/$XVDA
poll_eq "unthrottled: unplug removes the group" no is_dir "$G8"
check_eq "unthrottled: ... and the domain's stock_devs entry" 0 \
	"$(bpftool map dump pinned $PIN/stock_devs -j | jq '[.[].formatted | select(.key.domid == 8)] | length')"

# ---- a connect storm: one /proc scan per loop pass, not one per event -------------
# NS VBDs reach Connected while the loader is stopped, so that their events
# come in together: each VBD needs a look for its ring thread, and the looks
# of a loop pass share one scan of /proc (slow in a dom0 with many tasks),
# whatever the number of events; -v logs what each pass cost.
stop_loader TERM
if start_loader -v; then ok "storm: the loader starts again, with -v"
else notok "storm: the loader starts again" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
NS=16
storm_devids=""
for i in $(seq 5 $((5 + NS - 1))); do	# xvdf, xvdg, ...: devid 51712 + 16 * index
	d=$((51712 + 16 * i)) abc=abcdefghijklmnopqrstuvwxyz
	name=xvd${abc:i:1}
	storm_devids="$storm_devids $d:$name"
	stub_start $GUEST.$name-0
done
mark
kill -STOP "$LPID"
for dn in $storm_devids; do vbd ${dn%:*} ${dn#*:} 4 $V/$GUEST/${dn%:*}/qos/write-iops 47; done
kill -CONT "$LPID"
storm_inside() {
	local dn n=0
	for dn in $storm_devids; do
		[ "$(in_group "${STUB_PID[$GUEST.${dn#*:}-0]}" "$SLICE/dom-$GUEST/vbd-$GUEST-${dn%:*}")" = yes ] && n=$((n + 1))
	done
	echo $n
}
wait_eq 10 $NS storm_inside
check_eq "storm: all $NS ring threads are moved in" $NS "$(storm_inside)"
# "loop pass P: E xenstore events, S /proc scans", one line per pass that did anything
read -r passes events scans most <<<"$(since | sed -n 's/.*loop pass [0-9]*: \([0-9]*\) xenstore events, \([0-9]*\) \/proc scans.*/\1 \2/p' |
	awk '{ p++; e += $1; s += $2; if ($2 > m) m = $2 } END { print p + 0, e + 0, s + 0, m + 0 }')"
echo "# storm: $NS VBDs, $events xenstore events in $passes passes, $scans /proc scans (at most $most in a pass)"
if [ "$events" -ge "$NS" ] && [ "$most" -le 1 ]; then ok "storm: at most one /proc scan per loop pass ($most), over $events events"
else notok "storm: at most one /proc scan per loop pass" "at most 1 per pass, over $NS or more events" \
	"$most in one pass, $scans in $passes passes, $events events"; fi
for dn in $storm_devids; do stub_stop $GUEST.${dn#*:}-0; xenstore-rm $V/$GUEST/${dn%:*}; done
storm_groups() { local dn n=0; for dn in $storm_devids; do [ -d "$SLICE/dom-$GUEST/vbd-$GUEST-${dn%:*}" ] && n=$((n + 1)); done; echo $n; }
poll_eq "storm: unplug removes their groups" 0 storm_groups

# ---- the loader dies: the throttle stays; a restart carries on -------------------
stop_loader KILL
check_eq "after kill -9: the limit stays in the throttle" "80 0 0 2000000" "$(limits "$G")"
check_eq "after kill -9: the thread stays in its group" yes "$(in_group "${STUB_PID[$GUEST.xvda-0]}" "$G")"
check_eq "after kill -9: accounting goes on" "done 4" "$(stub_io $GUEST.xvda-0 write 4)"
check_eq "stats: 20 writes" 20 "$(sfield $XVDA .write.ops)"
LOADER_ARGS=()
if start_loader; then ok "restart (mode auto) reuses the pinned stock mode"; else notok "restart" "following xenstore" "$(tail -2 "$LOG" | tr '\n' ' ')"; fi
if since | grep -q "mode: stock.*already attached, reused"; then ok "restart says stock mode, reused"
else notok "restart says stock mode, reused" "'mode: stock ... reused'" "$(since | head -3 | tr '\n' ' ')"; fi
xenstore-write $V/$GUEST/$XVDA/qos/write-bps 4M
poll_eq "after restart: live changes reach the throttle" "80 0 0 4000000" limits "$G"

# ---- unplug, domain death, unload: nothing left behind -----------------------------
xenstore-rm $V/$GUEST/$XVDC
poll_eq "unplug: the VBD's group is removed" no is_dir "$GC"
check_eq "unplug: its ring thread is back in the root group" / "$(group_of "${STUB_PID[$GUEST.xvdc-1]}")"
check_eq "unplug: the other VBD's group stays" yes "$(is_dir "$G")"
gone_cgid=$cgid
xsctl release-domain $GUEST
poll_eq "domain death: every group of the domain is removed" no is_dir "$G"
check_eq "domain death: the thread is back in the root group" / "$(group_of "${STUB_PID[$GUEST.xvda-0]}")"
check_eq "domain death: stock_groups is empty" 0 "$(bpftool map dump pinned $PIN/stock_groups -j | jq length)"
check_eq "domain death: its I/O is no longer counted" "done 4" "$(stub_io $GUEST.xvda-0 write 4)"

# A new domain, then unload with the loader stopped: groups, pins and programs go.
newdom 9 vm9
GUEST=9 vbd $XVDA xvda 4 $V/9/$XVDA/qos/read-iops 70 2>/dev/null
xenstore-write $V/9/$XVDA/dev xvda $V/9/$XVDA/physical-device "$HEXDEV" $V/9/$XVDA/state 4 \
	$V/9/$XVDA/qos/read-iops 70
stub_start 9.xvda-0
G9=$SLICE/dom-9/vbd-9-$XVDA
poll_eq "a new domain's VBD gets its group and thread" yes in_group "${STUB_PID[9.xvda-0]}" "$G9"
stop_loader TERM
check_rc "blkqos unload exits 0" 0 "$BLKQOS" unload
check_eq "after unload: the slice is gone" no "$(is_dir "$SLICE")"
check_eq "after unload: the thread is back in the root group" / "$(group_of "${STUB_PID[9.xvda-0]}")"
check_eq "after unload: $PIN is gone" no "$(is_dir $PIN)"
# the kernel frees a program after its last reference goes, not at once
stock_progs() {
	bpftool prog list -j | jq -r '.[] | select(.name == "blkqos_stock_a" or .name == "blkqos_stock_account") | .id' | tr '\n' ' '
}
wait_eq 2 "" stock_progs
left=$(stock_progs)
if [ -z "$left" ]; then ok "after unload: no accounting program is loaded"
elif pgrep -x blkqos >/dev/null; then echo "# programs $left belong to another blkqos process"
else notok "after unload: no accounting program is loaded" "none" "$left"; fi
check_rc "unload again: exits 0" 0 "$BLKQOS" unload

warn=$(grep -c "warning\|error" "$LOG")
echo "# loader log: $(wc -l <"$LOG") lines, $warn warnings/errors (all from the cases above)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
