#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark of stock mode's BPF accounting (blkqos_stock_account on
# tp_btf/block_bio_queue). It runs for every bio the host submits, so two
# figures: a bio of a VBD's group (lookup hit, counted) and any other bio
# (lookup miss). From the kernel's own BPF run-time statistics
# (kernel.bpf_stats_enabled: run_time_ns / run_cnt), over N 4 KiB O_DIRECT
# reads on a loop device, from a stand-in ring thread and from dd outside.
# Prints "BENCH name value unit" lines; other lines start with "#".
# usage: tests/loader/bench_stock.sh [N]    (root; bpffs; losetup; no Xen)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
BLKQOS=$top/tests/bin/blkqos-test	# the test build: honours BLKQOS_TEST_RING_ANY_TASK
STUB=$top/tests/bin/ring_stub
N=${1:-20000}
PASSED=0 FAILED=0
. "$top/tests/loader/lib.sh"

[ "$(id -u)" = 0 ] || { echo "# SKIP: needs root (BPF)"; exit 77; }
for f in "$BLKQOS" "$STUB"; do [ -x "$f" ] || { echo "# $f not built"; exit 1; }; done
take_loader_lock

work=$(mktemp -d /dev/shm/stock-bench.XXXXXX) || exit 1
LOG=$work/loader.log
: >"$LOG"
SPID="" LPID="" LWRAP="" LOOP="" STUBFD=""
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -n "$STUBFD" ] && { echo exit >&"$STUBFD"; exec {STUBFD}>&-; wait "$STUB_PID" 2>/dev/null; }
	stop_loader
	"$BLKQOS" unload >/dev/null 2>&1
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
"$BLKQOS" unload >/dev/null 2>&1

truncate -s 16M "$work/disk" && LOOP=$(losetup -f --show "$work/disk") ||
	{ echo "# SKIP: no loop device"; exit 77; }
HEXDEV=$(printf '%x:%x' $(lsblk -dno MAJ:MIN "$LOOP" | tr ':' ' '))
start_xenstored
newdom $GUEST vm7
xenstore-write $V/$GUEST/51712/dev xvda $V/$GUEST/51712/physical-device "$HEXDEV" \
	$V/$GUEST/51712/state 4
mkfifo "$work/stub.in"
"$STUB" $GUEST.xvda-0 "$LOOP" <"$work/stub.in" >"$work/stub.out" 2>&1 &
STUB_PID=$!
exec {STUBFD}>"$work/stub.in"
LOADER_ARGS=(--mode stock)
BLKQOS_TEST_RING_ANY_TASK=1 start_loader || { echo "# loader did not start"; cat "$LOG"; exit 1; }
prog=$(bpftool link show pinned $PIN/link_stock_account -j | jq -r .prog_id)
sysctl -qw kernel.bpf_stats_enabled=1
runstats() { bpftool prog show id "$prog" -j | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"'; }
per_run() { # BEFORE AFTER -> "runs ns_per_run"
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[1] - x[1];
		printf "%d %.1f", n, n ? (y[2] - x[2]) / n : 0 }'
}
b=$(runstats)
echo "read $N" >&"$STUBFD"
until [ -s "$work/stub.out" ]; do sleep 0.05; done
r=$(per_run "$b" "$(runstats)")
echo "# $(cat "$work/stub.out"); program runs: ${r% *}"
echo "BENCH stock_account_vbd_bio ${r#* } ns/bio"
b=$(runstats)
for _ in $(seq $(((N + 4095) / 4096))); do	# the device holds 4096 blocks
	dd if="$LOOP" of=/dev/null bs=4k count=4096 iflag=direct status=none
done
r=$(per_run "$b" "$(runstats)")
echo "# dd outside any VBD group: program runs: ${r% *}"
echo "BENCH stock_account_other_bio ${r#* } ns/bio"
