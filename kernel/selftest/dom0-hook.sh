#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dom0 hook for tests/e2e/run.sh (see kernel/Makefile, target e2e): checks
# that the patched xen-blkback is loaded with BTF, paces the guest's requests
# with pace.bpf.c and checks the counters and the guest's request rate.
set -u
INTERVAL_NS=50000000
say() { echo "@E2E hook kernel-selftest $*"; }

case "$1" in
boot)
	n=$(bpftool btf dump file /sys/kernel/btf/xen_blkback 2>/dev/null |
	    grep -cE "FUNC '(xen_blkif_bpf_admit|bpf_xen_blkif_defer)'|TYPEDEF 'btf_trace_xen_blkif_dispatch'")
	say "module taint=$(cat /sys/module/xen_blkback/taint) btf_items=$n"
	[ "$n" -eq 3 ]
	;;
created)
	/usr/local/bin/pace $INTERVAL_NS /usr/local/lib/fmodret.bpf.o > /run/pace.log 2>&1 &
	echo $! > /run/pace.pid
	for _ in $(seq 150); do
		grep -q "^PACE \(attached\|failed\)" /run/pace.log && break
		sleep 0.2
	done
	while read -r l; do say "$l"; done < /run/pace.log
	grep -q "^PACE attached" /run/pace.log
	;;
running) ;;
done)
	pid=$(cat /run/pace.pid)
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	line=$(grep "^PACE interval_ns=" /run/pace.log) || { say "FAIL no counters"; exit 1; }
	say "$line"
	rc=0
	eval "$(echo "${line#PACE }" | tr ' ' '\n' | grep -v '^ops=' | sed 's/^/p_/')"
	chk() { if eval "$1"; then say "ok $2"; else say "FAIL $2"; rc=1; fi; }
	chk '[ "$p_deferred" -gt 0 ]' "requests were deferred ($p_deferred)"
	chk '[ "$p_ret_pos" -eq "$p_deferred" ]' "every kfunc deferral made the hook return > 0"
	chk '[ "$p_hook_calls" -eq $((p_admitted + p_deferred)) ]' "hook calls = admitted + deferred"
	chk '[ "$p_dispatched" -eq "$p_admitted" ]' "every admitted request was dispatched"
	chk '[ "$p_deferred" -le $((p_admitted + 8)) ]' "one sleep per deferral (deferred <= admitted)"
	chk '[ "$p_ret_us_max" -le $((INTERVAL_NS / 1000)) ]' "deferral never longer than the interval"
	chk '[ "$p_domid_mismatch" -eq 0 ]' "tracepoint domid = ring->blkif->domid"
	max=$((1000000000 / INTERVAL_NS))
	while read -r l; do
		iops=$(echo "$l" | sed -n 's/.* iops=\([0-9.]*\).*/\1/p')
		errs=$(echo "$l" | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
		name=$(echo "$l" | sed -n 's/.* name=\([^ ]*\).*/\1/p')
		chk 'awk -v i="$iops" -v m="$max" "BEGIN { exit !(i <= m * 1.05) }"' \
			"$name iops=$iops <= $max"
		chk '[ "$errs" = 0 ]' "$name errors=$errs"
	done < <(grep '^LOADGEN' "$E2E_RESULTS")
	grep -q "^FMODRET load=0" /run/pace.log &&
		say "note fmod_ret on the hook is allowed on this kernel"
	exit $rc
	;;
esac
exit 0
