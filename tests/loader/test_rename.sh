#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Integration tests of rules that follow a domain by name while its name
# changes (issue 13): xl rename, xl migrate (the incoming domain is
# "<name>--incoming" until its disks exist, then renamed), xl save/restore
# (a new domid with the same name). The real ./blkqos run --no-attach
# --rules against the test xenstored, which gets the writes xl would make.
#
# usage: tests/loader/test_rename.sh [-v]     (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed"; exit 1 if anything failed, 77 if it cannot run here.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

. "$top/tests/loader/lib.sh"

require bpftool:bpftool jq:jq python3:python3 xenstore-write:xenstore-utils \
	xenstore-rm:xenstore-utils xenstore-chmod:xenstore-utils
loader_test_begin rename 100

# rate DOMID DEVID LIMIT: the VBD's limit in the maps, 0 = unlimited, "absent"
rate() {
	bpftool map dump pinned $PIN/vbds -j | jq -r --argjson d "$1" --argjson v "$2" \
		--arg l "$(echo "$3" | tr - _)" \
		'[.[].formatted | select(.key.domid == $d and .key.devid == $v)] |
		 if length == 0 then "absent" else .[0].value.limits[$l].rate end'
}
iops_size() { # DOMID DEVID: the VBD's iops-size in the maps
	bpftool map dump pinned $PIN/vbds -j | jq -r --argjson d "$1" --argjson v "$2" \
		'[.[].formatted | select(.key.domid == $d and .key.devid == $v)] | .[0].value.limits.iops_size'
}
dom_rate() { # DOMID LIMIT: the domain's limit in the doms map
	bpftool map dump pinned $PIN/doms -j | jq -r --argjson d "$1" --arg l "$(echo "$2" | tr - _)" \
		'[.[].formatted | select(.key == $d)] | if length == 0 then "absent" else .[0].value.limits[$l].rate end'
}

cat >"$work/rules" <<'EOF'
web01 xvda iops=500
web01 domain bps=30M
web02 xvda iops=300
web03 xvda iops=200 iops-size=16384
EOF
XS_ARGS=(--state "$work/xs.state")	# the store survives a restart
start_xenstored
LOADER_ARGS=(--no-attach --rules "$work/rules")
if start_loader; then ok "blkqos run --rules starts"; else notok "blkqos run --rules starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi

# ---- xl rename: a rule applies whenever the domain carries its name ----------------
newdom 11 plain
xenstore-write $V/11/51712/params /dev/vg/a $V/11/51712/state 4
poll_eq "domain 11 'plain' has no rule: unlimited" 0 rate 11 51712 iops
xenstore-write /local/domain/11/name web01
poll_eq "renamed 'plain' -> 'web01': web01's VBD rule is in force" 500 rate 11 51712 iops
poll_eq "... and web01's domain rule" 30000000 dom_rate 11 bps
mark
xenstore-write /local/domain/11/name web02
poll_eq "renamed 'web01' -> 'web02': web02's rule is in force" 300 rate 11 51712 iops
# A key the new name's rule leaves out goes: web03's iops-size does not stay
# with web02's rule.
xenstore-write /local/domain/11/name web03
poll_eq "renamed 'web02' -> 'web03': web03's rule is in force" 200 rate 11 51712 iops
check_eq "... with its iops-size" 16384 "$(iops_size 11 51712)"
xenstore-write /local/domain/11/name web02
poll_eq "renamed 'web03' -> 'web02': web02's rule again" 300 rate 11 51712 iops
check_eq "... without web03's iops-size in the maps" 0 "$(iops_size 11 51712)"
check_eq "... nor in xenstore" absent "$(xenstore-read $V/11/51712/qos/iops-size 2>/dev/null || echo absent)"
# A rule is written in one transaction: a conflict at the commit is tried
# again at once; a failed write lands nothing of the rule, the limits in
# force stay, and the loader tries again a second later.
fault TRANSACTION_END 1 EAGAIN
xenstore-write /local/domain/11/name web03
poll_eq "a conflict at the rule's commit is retried: web03's rule lands" 200 rate 11 51712 iops
check_eq "... the conflict was injected and met" 0 "$(faults_left)"
mark
fault WRITE 1 EIO $V/11/51712/qos
xenstore-write /local/domain/11/name web02
if wait_log "1 of its 1 rules not written"; then ok "a failed write of web02's rule is said in the log"
else notok "a failed write of web02's rule is said in the log" "'1 of its 1 rules not written'" "$(since | tail -2 | tr '\n' ' ')"; fi
check_eq "... nothing of it landed in xenstore" 200 "$(xenstore-read $V/11/51712/qos/iops)"
check_eq "... the limits in force stay" 200 "$(rate 11 51712 iops)"
check_eq "... the failure was injected and met" 0 "$(faults_left)"
poll_eq "... and it is written a second later" 300 rate 11 51712 iops
mark
xenstore-write /local/domain/11/name nameless
if wait_log "nameless"; then ok "renamed to a name without a rule: said in the log"
else notok "renamed to a name without a rule: said in the log" "a line naming 'nameless'" "$(since | tail -2 | tr '\n' ' ')"; fi
check_eq "... the limits in force stay" 300 "$(rate 11 51712 iops)"
# A name node the guest can write is not the operator's word.
mark
xenstore-chmod /local/domain/11/name n0 b11
xenstore-write /local/domain/11/name web01
if wait_log "/local/domain/11/name: ignored"; then ok "a guest-writable name is ignored, naming the path"
else notok "a guest-writable name is ignored, naming the path" "'/local/domain/11/name: ignored'" "$(since | tail -2 | tr '\n' ' ')"; fi
check_eq "... the limits in force stay" 300 "$(rate 11 51712 iops)"

# ---- a new VBD whose rule cannot be written gets it a second later ------------------
newdom 13 web02
fault WRITE 1 EIO $V/13/51712/qos
xenstore-write $V/13/51712/params /dev/vg/c $V/13/51712/state 4
wait_eq 5 0 faults_left
check_eq "a new VBD's rule write fails: the fault was met" 0 "$(faults_left)"
poll_eq "... web02's rule is written a second later" 300 rate 13 51712 iops
xenstore-rm $V/13
xsctl release-domain 13
poll_eq "... and domain 13 goes" absent rate 13 51712 iops

# ---- xl migrate: <name>--incoming gets <name>'s rule as soon as its disks exist ------
newdom 12 web01--incoming
xenstore-write $V/12/51712/params /dev/vg/b $V/12/51712/state 2
poll_eq "incoming 'web01--incoming': web01's rule as soon as its VBD exists" 500 rate 12 51712 iops
check_eq "... and web01's domain rule" 30000000 "$(dom_rate 12 bps)"
xenstore-write $V/12/51712/state 4
xenstore-write /local/domain/12/name web01
sleep 0.3
check_eq "renamed to 'web01' after the migration: still web01's rule" 500 "$(rate 12 51712 iops)"
# the source on the same host goes away as <name>--migratedaway
xenstore-write /local/domain/11/name web01--migratedaway
xenstore-rm $V/11
xsctl release-domain 11
poll_eq "the source is gone" absent rate 11 51712 iops
check_eq "the target keeps its limits" 500 "$(rate 12 51712 iops)"

# ---- xl save / xl restore: a new domid, the same name ------------------------------
xenstore-rm $V/12
xsctl release-domain 12
poll_eq "saved: domain 12 is gone" absent rate 12 51712 iops
newdom 13 web01
xenstore-write $V/13/51712/params /dev/vg/b $V/13/51712/state 2
poll_eq "restored as domain 13 'web01': web01's rule" 500 rate 13 51712 iops
# the name appears after the disks (a toolstack writing in another order)
xenstore-write $V/14/51712/params /dev/vg/c $V/14/51712/state 2
poll_eq "domain 14 without a name yet: unlimited" 0 rate 14 51712 iops
newdom 14 web02
poll_eq "... its name appears: web02's rule" 300 rate 14 51712 iops

# ---- xenstored restarts: the name watches are set again ------------------------------
mark
stop_xenstored
start_xenstored
i=0
until since | grep -q "xenstore: reconnected"; do i=$((i + 1)); [ $i -ge 1000 ] && break; sleep 0.02; done
if since | grep -q "xenstore: reconnected"; then ok "xenstored restarted: the loader reconnects"
else notok "xenstored restarted: the loader reconnects" "'xenstore: reconnected'" "$(since | tail -3 | tr '\n' ' ')"; fi
xenstore-write /local/domain/13/name web02
poll_eq "after the reconnect a rename still brings the new name's rule" 300 rate 13 51712 iops

check_eq "the loader lives on" yes "$(alive)"
warn=$(grep -c "warning\|error" "$LOG")
echo "# loader log: $(wc -l <"$LOG") lines, $warn warnings/errors (all from the cases above)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
