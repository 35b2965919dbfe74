#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# blkqos.service's SystemCallFilter= lets 'blkqos run' do its work: every
# system call the loader makes, traced (strace -f) through a run in stock
# mode (load, pin, attach, cgroup setup) against the test xenstored, with a
# VBD and its limits, the notify socket, a xenstored restart and SIGTERM,
# must be in the unit's filter as systemd expands it (systemd-analyze
# syscall-filter). systemd refuses anything else with EPERM: a call missing
# here would be a loader that fails in production only.
#
# usage: tests/pkg/test_syscalls.sh [-v]   (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
BLKQOS=${BLKQOS:-$top/blkqos}
UNIT=${UNIT:-$top/systemd/blkqos.service}
PIN=/sys/fs/bpf/blkqos
V=/local/domain/0/backend/vbd
GUEST=7
verbose=0
[ "${1:-}" = "-v" ] && verbose=1

. "$top/tests/loader/lib.sh"

require strace:strace systemd-analyze:systemd python3:python3 xenstore-write:xenstore-utils
loader_test_begin syscalls 90
TPID=""
cleanup_extra() { [ -n "$TPID" ] && kill "$TPID" 2>/dev/null; }

# The unit's filter, expanded: @groups recursively, names as they are.
expand() { # GROUP...
	local g line
	for g in "$@"; do
		systemd-analyze syscall-filter "$g" 2>/dev/null | tail -n +2 |
			while read -r line; do
				case $line in
				'#'*|'') ;;
				@*) expand "$line" ;;
				*) echo "$line" ;;
				esac
			done
	done
}
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
check_ne "the unit has a SystemCallFilter=" "" "$filter"
# shellcheck disable=SC2086
allowed=$(expand $(echo "$filter" | tr ' ' '\n' | grep '^@'); echo "$filter" | tr ' ' '\n' | grep -v '^@')
allowed=$(echo "$allowed" | sort -u)
check_ne "systemd-analyze expands it" "" "$(echo "$allowed" | grep -x openat)"

start_xenstored
newdom 5 web01
xenstore-write $V/5/51712/params /dev/vg/a $V/5/51712/state 4 $V/5/51712/qos/iops 300 \
	$V/5/qos/bps 10M
echo "web01 xvdb iops=100" >"$work/rules"
python3 "$top/tests/loader/notify_listen.py" "$work/notify.sock" "$work/notify.out" \
	--timeout 60 2>/dev/null &
TPID=$!
until [ -e "$work/notify.out.bound" ]; do sleep 0.02; done

# the service's command, under strace, with the metrics' file and listener
# (an operator's drop-in adds them) and a scrape
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mark
NOTIFY_SOCKET=$work/notify.sock BLKQOS_LOCK=$work/blkqos.lock \
	strace -f -qq -o "$work/trace" "$BLKQOS" run --mode stock --rules "$work/rules" \
	--metrics-file "$work/blkqos.prom" --metrics-interval 0.2 --metrics-listen "127.0.0.1:$PORT" \
	>>"$LOG" 2>&1 &
SPID_TRACE=$!
# strace makes the start slow (libbpf's BTF reads): up to 30 s, not 2
wait_long() { local i=0; until since | grep -qF -- "$1"; do
	i=$((i + 1)); [ $i -ge 1500 ] && return 1; sleep 0.02; done; }
if wait_long "following xenstore"; then ok "blkqos run --mode stock runs under strace"
else notok "blkqos run --mode stock runs under strace" "'following xenstore'" "$(since | tail -2 | tr '\n' ' ')"; fi
lp=$(pgrep -P "$SPID_TRACE" -x blkqos)
python3 "$top/tests/loader/http_probe.py" "$PORT" body /metrics >"$work/scrape.prom" &&
	grep -q '^blkqos_mode_info{mode="stock"} 1$' "$work/scrape.prom" && ok "... serving a scrape" ||
	notok "... serving a scrape" "blkqos_mode_info{mode=\"stock\"} 1" "$(head -c 200 "$work/scrape.prom")"
sleep 0.5
[ -s "$work/blkqos.prom" ] && ok "... writing the metrics file" ||
	notok "... writing the metrics file" "$work/blkqos.prom" "absent"
xenstore-write $V/5/51712/qos/iops 200 $V/5/51728/params /dev/vg/b $V/5/51728/state 4
sleep 0.3
stop_xenstored
start_xenstored
wait_long "reconnected" && ok "... through a xenstored restart" ||
	notok "... through a xenstored restart" "'reconnected'" "$(since | tail -2 | tr '\n' ' ')"
kill -TERM "$lp" 2>/dev/null
wait "$SPID_TRACE"
check_eq "... and SIGTERM" 0 "$?"
grep -q 'READY=1' "$work/notify.out" && ok "... having sent READY=1" ||
	notok "... having sent READY=1" READY=1 "$(cat "$work/notify.out")"

used=$(sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' "$work/trace" | sort -u)
check_ne "strace saw the loader's calls" "" "$(echo "$used" | grep -x bpf)"
echo "# $(echo "$used" | wc -l) distinct system calls: $(echo "$used" | tr '\n' ' ')"
missing=$(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ' | sed 's/ $//')
check_eq "every one of them is in the unit's SystemCallFilter=" "" "$missing"
check_eq "and mount(2) is not (the unit refuses it on purpose)" "" "$(echo "$allowed" | grep -x mount)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
