#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The loader fails closed (issue 13): a xenstore error is neither "absent" nor
# "gone", domain death is decided only from what xenstore says positively (a
# driver domain may not ask), the loader outlives a xenstored restart,
# permissions are read as xenstored reads them, and one loader runs per host.
# The real ./blkqos (run --no-attach) against the test xenstored, whose fault
# injection (/tool/xenstored-test/fail) makes chosen requests answer errors.
#
# usage: tests/loader/test_failclosed.sh [-v]   (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed" at the end; exit 1 if anything failed, 77 if it
# cannot run here. -v: also print the loader's log at the end.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
DRV=3			# the driver domain
B=/local/domain/$DRV/backend/vbd
STUB=9			# a device-model stub domain of $GUEST

. "$top/tests/loader/lib.sh"

require bpftool:bpftool jq:jq python3:python3 xenstore-write:xenstore-utils \
	xenstore-read:xenstore-utils xenstore-chmod:xenstore-utils xenstore-rm:xenstore-utils
loader_test_begin failclosed 150

# The store survives a restart (--state); the driver domain and the stub
# domain have sockets of their own.
XS_ARGS=(--state "$work/xs.state" --guest-socket "$work/socket.dom$DRV:$DRV"
	 --guest-socket "$work/socket.dom$STUB:$STUB")
start_xenstored
LOADER_ARGS=(--no-attach)

# ---- helpers -------------------------------------------------------------------------
vbd_rate() { # DOMID DEVID LIMIT [limits|dom_limits]: rate in the vbds map, or "absent"
	bpftool map dump pinned $PIN/vbds -j | jq -r --argjson d "$1" --argjson v "$2" \
		--arg l "$(echo "$3" | tr - _)" --arg s "${4:-limits}" \
		'[.[].formatted | select(.key.domid == $d and .key.devid == $v)] |
		 if length == 0 then "absent" else .[0].value[$s][$l].rate end'
}
dom_rate() { # DOMID LIMIT: the doms map entry's rate, or "absent"
	bpftool map dump pinned $PIN/doms -j | jq -r --argjson d "$1" --arg l "$2" \
		'[.[].formatted | select(.key == $d)] | if length == 0 then "absent" else .[0].value.limits[$l].rate end'
}
# The loader handles events in order: once a later change is in force, it
# has finished with the earlier one.
NB=0
barrier() {
	NB=$((NB + 1))
	xenstore-write $V/6/51712/qos/iops $((100 + NB))
	wait_eq 5 $((100 + NB)) vbd_rate 6 51712 iops || echo "# barrier $NB not reached"
}
# fault_hit NAME: the fault was used up (the loader made the request), then barrier
fault_hit() {
	if wait_eq 5 0 faults_left; then ok "$1: the loader hit the injected fault"
	else notok "$1: the loader hit the injected fault" "0 faults left" "$(faults_left)"; fi
	xsctl fail-clear ""
	barrier
}
xs_val() { xenstore-read "$1" 2>/dev/null || echo absent; }

# ---- setup ------------------------------------------------------------------------------
newdom 5 vm5
newdom 6 vm6
xenstore-write $V/5/51712/params /dev/vg/vm5 $V/5/51712/qos/iops 500 $V/5/qos/iops 2000
xenstore-write $V/6/51712/params /dev/vg/vm6 $V/6/51712/qos/iops 100
if start_loader; then ok "loader starts"
else notok "loader starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
check_eq "setup: VBD limit in force" 500 "$(vbd_rate 5 51712 iops)"
check_eq "setup: domain limit in force" 2000 "$(dom_rate 5 iops)"

# ---- 1. a failed read is not "absent" and not "gone" ---------------------------------------
P=$V/5/51712/qos/iops
mark
fault GET_PERMS 1 EACCES $P
xenstore-write $P 600
fault_hit "GET_PERMS of a changed key fails"
check_eq "GET_PERMS of a changed key fails: the last good setting stays" 500 "$(vbd_rate 5 51712 iops)"
if since | grep -qF "$P: "; then ok "GET_PERMS fails: the log names the key"
else notok "GET_PERMS fails: the log names the key" "a line naming $P" "$(since | tail -2 | tr '\n' ' ')"; fi
xenstore-write $P 650
poll_eq "after the fault: a change applies" 650 vbd_rate 5 51712 iops

fault READ 1 EIO $P
xenstore-write $P 700
fault_hit "READ of a changed key fails"
check_eq "READ of a changed key fails: the last good setting stays" 650 "$(vbd_rate 5 51712 iops)"

fault GET_PERMS 1 EACCES $V/5/51712/qos
xenstore-write $V/5/51712/qos ""		# an event on qos/: the VBD is read again
fault_hit "GET_PERMS of the qos directory fails"
check_eq "GET_PERMS of the qos directory fails: the last good setting stays" 650 "$(vbd_rate 5 51712 iops)"

fault DIRECTORY 1 EIO $V/5/51712/qos
xenstore-write $V/5/51712/qos ""
fault_hit "listing the qos directory fails"
check_eq "listing the qos directory fails: the last good setting stays" 650 "$(vbd_rate 5 51712 iops)"

fault DIRECTORY 1 EIO $V/5/51712
xenstore-write $V/5/51712 ""			# an event on the VBD directory
fault_hit "listing the VBD directory fails"
check_eq "listing the VBD directory fails: the VBD stays in the map" 650 "$(vbd_rate 5 51712 iops)"

fault DIRECTORY 1 EIO $V/5
xenstore-write $V/5 ""				# an event on the domain directory
fault_hit "listing the domain directory fails"
check_eq "listing the domain directory fails: its VBD stays in the map" 650 "$(vbd_rate 5 51712 iops)"
check_eq "listing the domain directory fails: the domain limit stays" 2000 "$(dom_rate 5 iops)"

fault IS_DOMAIN_INTRODUCED 1 EIO 5
xsctl fire @releaseDomain
fault_hit "IS_DOMAIN_INTRODUCED fails after @releaseDomain"
check_eq "IS_DOMAIN_INTRODUCED fails: the domain's qos node stays in xenstore" 2000 "$(xs_val $V/5/qos/iops)"
check_eq "IS_DOMAIN_INTRODUCED fails: the domain limit stays in the map" 2000 "$(dom_rate 5 iops)"

xenstore-write $P 900
poll_eq "after all faults: a change applies" 900 vbd_rate 5 51712 iops
check_eq "after all faults: loader running" yes "$(alive)"

# ---- 4. permissions as xenstored reads them -------------------------------------------------
G=$V/$GUEST
newdom $GUEST vm7
xenstore-write $G/51712/params /dev/vg/vm7 $G/51712/qos/iops 400 $G/51728/params /dev/vg/vm7b \
	$G/51728/qos/iops 400 $G/51744/params /dev/vg/vm7c $G/51744/qos/iops 400
xenstore-chmod -r $G n0 r$GUEST
for d in 51712 51728 51744; do wait_eq 5 400 vbd_rate $GUEST $d iops; done
check_eq "perms: dom0-owned keys of guest $GUEST in force" "400 400 400" \
	"$(vbd_rate $GUEST 51712 iops) $(vbd_rate $GUEST 51728 iops) $(vbd_rate $GUEST 51744 iops)"

mark
xenstore-chmod $G/51712/qos/iops n0 w$GUEST r$GUEST	# the first entry for the guest wins: w
gxs xenstore-write $G/51712/qos/iops 99999
if [ "$(xs_val $G/51712/qos/iops)" = 99999 ]; then ok "perms n0 w$GUEST r$GUEST: the guest can write (test setup)"
else notok "perms n0 w$GUEST r$GUEST: the guest can write (test setup)" 99999 "$(xs_val $G/51712/qos/iops)"; fi
barrier
check_eq "perms n0 w$GUEST r$GUEST: the guest's value is not in force" 400 "$(vbd_rate $GUEST 51712 iops)"
if since | grep -qF "$G/51712/qos/iops: ignored: domain $GUEST can write it"; then ok "perms n0 w$GUEST r$GUEST: warning names the key"
else notok "perms n0 w$GUEST r$GUEST: warning names the key" "'$G/51712/qos/iops: ignored...'" "$(since | tail -2 | tr '\n' ' ')"; fi

newdom $STUB vm7-dm
xenstore-write /local/domain/$STUB/target $GUEST	# as libxl writes it for a stub domain
xenstore-chmod $G/51728/qos/iops n0 b$STUB r$GUEST	# the stub domain's own entry comes first
if XENSTORED_PATH=$work/socket.dom$STUB xenstore-write $G/51728/qos/iops 88888; then
	ok "perms n0 b$STUB r$GUEST: the stub domain can write (test setup)"
else notok "perms n0 b$STUB r$GUEST: the stub domain can write (test setup)" "write ok" refused; fi
barrier
check_eq "perms n0 b$STUB r$GUEST: the stub domain's value is not in force" 400 "$(vbd_rate $GUEST 51728 iops)"

xenstore-chmod $G/51744/qos/iops n0 r$GUEST b$STUB	# the guest's entry comes first: read only
xenstore-write $G/51744/qos/iops 555
poll_eq "perms n0 r$GUEST b$STUB: read-only for the stub domain, the value is in force" 555 vbd_rate $GUEST 51744 iops

# ---- 5. one loader per host ----------------------------------------------------------------
out=$("$BLKQOS" run --no-attach --once 2>&1); rc=$?
check_eq "a second blkqos run refuses to start: exit 1" 1 "$rc"
case "$out" in
*"pid $LPID"*) ok "a second blkqos run names the running one's pid" ;;
*) notok "a second blkqos run names the running one's pid" "'pid $LPID'" "'$(echo "$out" | head -2 | tr '\n' ' ')'" ;;
esac
check_eq "the running loader is untouched" yes "$(alive)"
if "$BLKQOS" run --help | grep -q /run/blkqos.lock; then ok "run --help names the lock file"
else notok "run --help names the lock file" /run/blkqos.lock "$("$BLKQOS" run --help | grep -i lock)"; fi
stop_loader KILL
check_rc "after kill -9 of the loader: the stale lock does not stop a new one" 0 "$BLKQOS" run --no-attach --once

# ---- 3. xenstored restarts under a running loader --------------------------------------------
if start_loader; then ok "loader starts again"
else notok "loader starts again" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
mark
limits_now() { # the limits and slots of every VBD and domain in the maps
	bpftool map dump pinned $PIN/vbds -j | jq -c '[.[].formatted] | sort_by(.key.domid, .key.devid)'
	bpftool map dump pinned $PIN/doms -j | jq -c '[.[].formatted] | sort_by(.key)'
}
check_eq "before the restart: limits in force" "900 2000" "$(vbd_rate 5 51712 iops) $(dom_rate 5 iops)"
before=$(limits_now)
stop_xenstored				# its store is saved (--state)
wait_log "xenstore"			# the loader noticed (or 2 s)
changed=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(limits_now)" = "$before" ] || changed=$((changed + 1))
	sleep 0.1
done
check_eq "xenstored down: the maps are unchanged (10 looks in 1 s)" 0 "$changed"
check_eq "xenstored down: the loader is still running" yes "$(alive)"
start_xenstored
i=0
until since | grep -q "xenstore: reconnected"; do
	i=$((i + 1)); [ $i -ge 1000 ] && break; sleep 0.02
done
if since | grep -q "xenstore: reconnected"; then ok "xenstored back: the loader reconnects"
else notok "xenstored back: the loader reconnects" "'xenstore: reconnected'" "$(since | tail -3 | tr '\n' ' ')"; fi
xenstore-write $P 950
poll_eq "xenstored back: a change is applied (watches re-registered)" 950 vbd_rate 5 51712 iops
check_eq "xenstored back: the domain limit is still in force" 2000 "$(dom_rate 5 iops)"
check_eq "xenstored back: the other domain's VBD is still in force" $((100 + NB)) "$(vbd_rate 6 51712 iops)"
stop_loader
"$BLKQOS" unload >/dev/null 2>&1

# ---- 2. a driver domain: IS_DOMAIN_INTRODUCED is refused there --------------------------------
xenstore-write /local/domain/$DRV/name drv /local/domain/$DRV/domid $DRV
xenstore-chmod -r /local/domain/$DRV n0 r$DRV
newdom 8 vm8
xenstore-write $B/8/51712/params /dev/vg/vm8 $B/8/51712/qos/iops 300 $B/8/qos/iops 1000
xenstore-chmod -r /local/domain/$DRV/backend n$DRV
xenstore-chmod -r $B/8 n$DRV r8		# the backend owns it, the guest reads
XENSTORED_PATH=$work/socket.dom$DRV start_loader || notok "driver-domain loader starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"
if since | grep -q "backend domain $DRV"; then ok "driver-domain loader: backend domain $DRV"
else notok "driver-domain loader: backend domain $DRV" "'backend domain $DRV'" "$(since | head -2 | tr '\n' ' ')"; fi
check_eq "driver domain: the VBD limit is in force" 300 "$(vbd_rate 8 51712 iops)"
check_eq "driver domain: the domain limit is in force after start (not reaped)" 1000 "$(dom_rate 8 iops)"
check_eq "driver domain: the operator's domain qos node is still in xenstore" 1000 "$(xs_val $B/8/qos/iops)"
xsctl release-domain-keep 8			# dom0 hears of it; the driver domain does not
xenstore-rm $B/8/51712				# the toolstack removes the backend
poll_eq "driver domain: VBD removed by the toolstack leaves the map" absent vbd_rate 8 51712 iops
poll_eq "driver domain: a domain without VBDs leaves the map" absent dom_rate 8 iops
check_eq "driver domain: the qos node stays (death cannot be told from detaching every disk)" 1000 "$(xs_val $B/8/qos/iops)"
xenstore-write $B/8/51712/params /dev/vg/vm8
xenstore-chmod -r $B/8/51712 n$DRV r8
poll_eq "driver domain: a VBD back under the domain gets the domain limit" 1000 vbd_rate 8 51712 iops dom_limits
check_eq "driver domain: loader running" yes "$(alive)"
stop_loader

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
