#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The loader under a service manager: the notify protocol (Type=notify) and
# log lines for the journal. The real ./blkqos run --no-attach against the
# test xenstored; tests/loader/notify_listen.py is the manager's end of
# $NOTIFY_SOCKET (the protocol is one datagram; no systemd runs here).
#
# usage: tests/loader/test_notify.sh [-v]     (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed"; exit 1 if anything failed, 77 if it cannot run here.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

. "$top/tests/loader/lib.sh"

require bpftool:bpftool jq:jq python3:python3 xenstore-write:xenstore-utils stat:coreutils
loader_test_begin notify 90

LPY=""
cleanup_extra() { [ -n "$LPY" ] && kill "$LPY" 2>/dev/null; unset NOTIFY_SOCKET; }

# listen ADDR NAME [CHECK]: the manager's socket, its lines in $work/NAME.out
listen() {
	rm -f "$work/$2.out" "$work/$2.out.bound"
	python3 "$top/tests/loader/notify_listen.py" "$1" "$work/$2.out" \
		${3:+--check "$3"} --timeout 60 2>>"$work/listen.log" &
	LPY=$!
	local i=0
	until [ -e "$work/$2.out.bound" ]; do
		i=$((i + 1)); [ $i -ge 250 ] && { echo "# listener did not start"; cat "$work/listen.log"; break; }
		sleep 0.02
	done
}
# got NAME PATTERN: lines of NAME.out matching PATTERN (extended regex), counted
got() { grep -cE -- "$2" "$work/$1.out" 2>/dev/null; }
wait_got() { # NAME PATTERN: up to 2 s for a line
	local i=0
	until [ "$(got "$1" "$2")" -gt 0 ]; do i=$((i + 1)); [ $i -ge 100 ] && return 1; sleep 0.02; done
}
# VBDs in the maps with their iops limit of 500 (all the store has)
in_force() {
	bpftool map dump pinned $PIN/vbds -j 2>/dev/null |
		jq '[.[].formatted | select(.value.limits.iops.rate == 500)] | length'
}

start_xenstored
# 200 VBDs with limits before the loader starts: the first sync has work to
# do, and READY=1 must come after all of it.
args=()
for d in $(seq 11 30); do
	args+=("/local/domain/$d/name" "vm$d")
	for i in $(seq 0 9); do
		dv=$((51712 + 16 * i))
		args+=("$V/$d/$dv/params" "/dev/vg/$d-$i" "$V/$d/$dv/state" 4 "$V/$d/$dv/qos/iops" 500)
	done
done
xenstore-write "${args[@]}"
for d in $(seq 11 30); do xsctl introduce-domain "$d"; done
LOADER_ARGS=(--no-attach)

# ---- READY=1 after the first full sync, from the loader itself ----------------
listen "$work/notify.sock" ready "bpftool map dump pinned $PIN/vbds -j |
	jq '[.[].formatted | select(.value.limits.iops.rate == 500)] | length'"
export NOTIFY_SOCKET=$work/notify.sock
if start_loader; then ok "blkqos run starts with NOTIFY_SOCKET set"
else notok "blkqos run starts with NOTIFY_SOCKET set" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
wait_got ready 'at-ready:'
check_eq "one READY=1 datagram" 1 "$(got ready 'READY=1')"
check_eq "READY=1 comes from the loader's pid (what systemd checks)" "pid=$LPID" \
	"$(grep -m1 'READY=1' "$work/ready.out" | cut -d' ' -f1)"
check_eq "READY=1 is the first thing said" 1 "$(head -1 "$work/ready.out" | grep -c 'READY=1')"
check_eq "when READY=1 arrives all 200 VBDs' limits are in the maps" "at-ready: 200" \
	"$(grep -m1 '^at-ready:' "$work/ready.out")"
check_eq "STATUS= names the mode and the sync" 1 \
	"$(got ready 'STATUS=mode: maps only \(not attached\); [0-9]+ VBDs and domains synced, 0 problems')"
check_eq "no STOPPING=1 while it runs" 0 "$(got ready 'STOPPING=1')"
check_eq "the loader goes on after the manager's check" yes "$(alive)"

# ---- STOPPING=1 on SIGTERM; the limits stay --------------------------------
stop_loader TERM
wait_got ready 'STOPPING=1'
check_eq "SIGTERM: STOPPING=1 from the loader's pid" 1 "$(got ready '^pid=[0-9]+ STOPPING=1$')"
check_eq "stopping leaves the pinned maps and their limits" 200 "$(in_force)"
wait "$LPY" 2>/dev/null; LPY=""

# ---- an abstract socket name (@...) ----------------------------------------
listen "@blkqos-test-notify-$$" abstract
export NOTIFY_SOCKET=@blkqos-test-notify-$$
if start_loader; then ok "blkqos run starts with an abstract NOTIFY_SOCKET"
else notok "blkqos run starts with an abstract NOTIFY_SOCKET" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
wait_got abstract 'READY=1'
check_eq "READY=1 on the abstract socket" 1 "$(got abstract "^pid=$LPID READY=1")"
stop_loader TERM
wait_got abstract 'STOPPING=1'
check_eq "STOPPING=1 on the abstract socket" 1 "$(got abstract 'STOPPING=1')"
wait "$LPY" 2>/dev/null; LPY=""

# ---- a socket nobody listens on: said once, the loader carries on -----------
export NOTIFY_SOCKET=$work/nobody.sock
if start_loader; then ok "NOTIFY_SOCKET with no listener: the loader still starts"
else notok "NOTIFY_SOCKET with no listener: the loader still starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
wait_log "cannot tell the service manager" && ok "... and says it could not tell the manager" ||
	notok "... and says it could not tell the manager" "a warning" "$(since | tail -2 | tr '\n' ' ')"
check_eq "... and keeps following xenstore" yes "$(alive)"
stop_loader TERM
unset NOTIFY_SOCKET

# ---- journal priorities only when stderr is the journal's stream -------------
# systemd names its stream in JOURNAL_STREAM=<dev>:<ino>; a file stands in.
jlog=$work/journal.txt
: >"$jlog"
jstream=$(stat -c '%d:%i' "$jlog")
NOTIFY_SOCKET=$work/nobody.sock JOURNAL_STREAM=$jstream BLKQOS_LOCK=$work/blkqos.lock \
	"$BLKQOS" run --no-attach --once 2>>"$jlog"
NOTIFY_SOCKET=$work/nobody.sock JOURNAL_STREAM=$jstream BLKQOS_LOCK=$work/blkqos.lock \
	"$BLKQOS" run --no-attach --rules "$work/no-such-rules" 2>>"$jlog"
check_eq "journal: info lines start with <6>" 1 "$(grep -c '^<6>synced: ' "$jlog")"
check_eq "journal: errors start with <3>" 1 "$(grep -c '^<3>error: --rules ' "$jlog")"
check_eq "journal: no 'blkqos: ' of our own (the journal names us)" 0 "$(grep -c 'blkqos: ' "$jlog")"
check_eq "journal: every line has a priority" 0 "$(grep -vcE '^<[0-7]>' "$jlog")"
check_eq "journal: no escape sequences" 0 "$(grep -c $'\e' "$jlog")"
check_eq "journal: no timestamps of our own" 0 "$(grep -cE '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$jlog")"
# a wrapper that sends stderr elsewhere: plain lines again
other=$work/other.txt
JOURNAL_STREAM=$jstream BLKQOS_LOCK=$work/blkqos.lock "$BLKQOS" run --no-attach --once 2>"$other"
check_eq "JOURNAL_STREAM of another stream: plain 'blkqos: ' lines" 0 "$(grep -vc '^blkqos: ' "$other")"
JOURNAL_STREAM=garbage BLKQOS_LOCK=$work/blkqos.lock "$BLKQOS" run --no-attach --once 2>"$other"
check_eq "JOURNAL_STREAM garbage: plain lines" 0 "$(grep -vc '^blkqos: ' "$other")"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
