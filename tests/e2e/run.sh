#!/bin/bash
# tests/e2e/run.sh [SCENARIO] - boot Debian's Xen + a Debian dom0 under QEMU
# (software emulation), run a PV guest whose disks go through xen-blkback,
# and print the guest's machine-readable results.
#
# SCENARIO: a file, or a name under tests/e2e/scenarios/ (default: smoke).
# Environment (all optional):
#   DIST=debian12|debian13  the Debian release booted (default debian12; dist.sh)
#   E2E_TIMEOUT=SECONDS     bound on the whole QEMU run (default 480)
#   E2E_OUT=DIR             output dir (default build/e2e/out/<scenario>,
#                           build/e2e/<dist>/out/<scenario> for another DIST)
#   E2E_BLKBACK_KO=path     replace dom0's xen-blkback.ko
#   E2E_DOM0_EXTRA="host:guest ..."   extra files in dom0 (ELF libs added)
#   E2E_DOM0_SCRIPT=path    dom0 hook (see dom0-init.sh for phases and env)
#   E2E_DOM0_APPEND="..."   extra dom0 kernel args (no commas), e.g. "loglevel=7"
#   E2E_XEN_APPEND="..."    extra Xen args
#   E2E_VERBOSE=1           echo every serial line, not only progress
#   E2E_QEMU_NICE=N         run QEMU under nice -n N (default 0; <0 favours the
#                           run over other work on the machine: measurements only)
#   E2E_QEMU_ACCEL=...      QEMU -accel value (default tcg,thread=single: one host
#                           thread for both vCPUs; 5-10x the I/O rate of MTTCG here)
#   E2E_QEMU_CPU=...        QEMU -cpu value (default max,-smap; plain max crashes dom0)
#   E2E_LOCK=0              do not wait for other e2e runs (E2E_LOCK_FILE,
#                           default /run/lock/blkqos-e2e.lock)
# Exit: 0 pass, 1 fail (guest/hook/verdict), 2 harness error, 124 timeout.
# Outputs: $E2E_OUT/serial.log (full serial console), $E2E_OUT/results.txt
# (the "@E2E" lines without the prefix), dom0.cpio, guest.cpio.
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
. "$E2E_DIR/dist.sh"
B=$E2E_B

scen=${1:-smoke}
if [ ! -f "$scen" ]; then
	if [ -f "$E2E_DIR/scenarios/$scen.sh" ]; then
		scen=$E2E_DIR/scenarios/$scen.sh
	else
		echo "e2e: no scenario '$scen'" >&2
		exit 2
	fi
fi
sname=$(basename "$scen" .sh)
OUT=${E2E_OUT:-$B/out/$sname}
TIMEOUT=${E2E_TIMEOUT:-480}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
case "$B$OUT" in
*,* | *\ *) echo "e2e: paths must not contain commas or spaces: $B $OUT" >&2; exit 2 ;;
esac

T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%6.1fs", b - a}'; }
say() { echo "[$(el)] $*"; }

qemu_pid=""
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'echo "e2e: interrupted"; exit 130' INT TERM

say "scenario $sname ($scen), $DIST"
# one emulated run at a time on this machine, whichever checkout or chroot it
# comes from: parallel runs share 2 cores, which would ruin both runs' timings
LOCK=${E2E_LOCK_FILE:-/run/lock/blkqos-e2e.lock}
if [ "${E2E_LOCK:-1}" = 1 ]; then
	mkdir -p "$(dirname "$LOCK")"
	exec 9>"$LOCK"
	if ! flock -n 9; then
		say "waiting for another e2e run to finish (lock $LOCK)"
		flock 9
		say "got the lock; times below count from here"
		T0=$(date +%s.%N)
	fi
fi
"$E2E_DIR/build.sh" prepare || { echo "e2e: build failed" >&2; exit 2; }
"$E2E_DIR/build.sh" initramfs "$scen" "$OUT" || { echo "e2e: initramfs failed" >&2; exit 2; }
build_s=$(el); build_s=${build_s// /}; build_s=${build_s%s}
say "built: dom0.cpio $(( $(stat -c %s "$OUT/dom0.cpio") / 1048576 )) MiB, guest.cpio $(( $(stat -c %s "$OUT/guest.cpio") / 1024 )) KiB"

LOG=$OUT/serial.log
: > "$LOG"
# dom0's vCPUs (the scenario's DOM0_VCPUS, default 1): with 2, blkback offers
# multi-queue-max-queues=2 and a 2-vCPU guest connects 2 rings per disk
DOM0_VCPUS=$(DOM0_VCPUS=1; . "$scen" >/dev/null 2>&1; echo "$DOM0_VCPUS")
XEN_APPEND="dom0_mem=1024M,max:1024M dom0_max_vcpus=$DOM0_VCPUS console=com1 com1=115200,8n1"
XEN_APPEND="$XEN_APPEND loglvl=all guest_loglvl=all noreboot dom0=pv bootscrub=0 ${E2E_XEN_APPEND:-}"
DOM0_APPEND="console=hvc0 earlyprintk=xen rdinit=/init quiet ${E2E_DOM0_APPEND:-}"
case "$DOM0_APPEND" in *,*) echo "e2e: E2E_DOM0_APPEND must not contain commas" >&2; exit 2 ;; esac

# --pdeathsig: QEMU dies with this script even if it is SIGKILLed (no trap then)
setpriv --pdeathsig KILL nice -n "${E2E_QEMU_NICE:-0}" qemu-system-x86_64 -machine pc -smp 2 -m 3072 \
	-accel "${E2E_QEMU_ACCEL:-tcg,thread=single}" -cpu "${E2E_QEMU_CPU:-max,-smap}" \
	-display none -vga none -net none -monitor none -no-reboot \
	-serial "file:$LOG" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$B/xen" -append "$XEN_APPEND" \
	-initrd "$B/vmlinux.gz $DOM0_APPEND,$OUT/dom0.cpio" \
	</dev/null >"$OUT/qemu.out" 2>&1 &
qemu_pid=$!
say "qemu started (pid $qemu_pid), timeout ${TIMEOUT}s, serial log $LOG"

# progress: print interesting serial lines as they arrive
seen=0
show_new() {
	local n
	n=$(wc -l < "$LOG")
	[ "$n" -gt "$seen" ] || return 0
	sed -n "$((seen + 1)),${n}p" "$LOG" | tr -d '\r' | while IFS= read -r l; do
		if [ "${E2E_VERBOSE:-0}" = 1 ]; then
			echo "[$(el)] | $l"
			continue
		fi
		case "$l" in
		*"Xen version"*) say "xen: ${l#*) }" ;;
		*"*** LOADING DOMAIN 0 ***"*) say "xen: loading dom0" ;;
		*"Freed"*"init memory"*) say "xen: dom0 kernel started" ;;
		"@E2E step "*) say "dom0: ${l#@E2E step }" ;;
		"@E2E guest SAMPLE"*) ;;
		"@E2E guest "*) say "guest: ${l#@E2E guest }" ;;
		"@E2E hook "*) say "hook: ${l#@E2E hook }" ;;
		"@E2E dom0 "*) say "dom0: ${l#@E2E dom0 }" ;;
		*"Kernel panic"* | *"BUG:"* | *"Panic on CPU"* | *"FATAL"*) say "!! $l" ;;
		esac
	done
	seen=$n
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
qemu_cpu=0
clk=$(getconf CLK_TCK)
deadline=$(( $(date +%s) + TIMEOUT ))
timed_out=0
panic_at=""
while kill -0 "$qemu_pid" 2>/dev/null; do
	show_new
	# QEMU's CPU time (utime + stime), sampled until it exits
	qemu_cpu=$(awk -v c="$clk" '{sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / c}' \
		"/proc/$qemu_pid/stat" 2>/dev/null || echo "$qemu_cpu")
	if [ "$(date +%s)" -ge "$deadline" ]; then
		timed_out=1
		break
	fi
	# a dom0 or Xen panic never ends QEMU by itself (noreboot): stop early
	if [ -z "$panic_at" ] && grep -aE 'Kernel panic - not syncing|Panic on CPU|Attempted to kill init' "$LOG" |
		grep -qv '^guest|'; then
		panic_at=$(date +%s)
		say "panic seen on the serial console, stopping in 3 s"
	fi
	if [ -n "$panic_at" ] && [ "$(date +%s)" -ge $((panic_at + 3)) ]; then
		timed_out=2
		break
	fi
	sleep 0.5
done
if [ $timed_out != 0 ]; then
	cleanup
	[ $timed_out = 1 ] && qemu_rc=124 || qemu_rc=125
else
	wait "$qemu_pid"
	qemu_rc=$?
fi
qemu_pid=""
show_new

tr -d '\r' < "$LOG" | sed -n 's/^@E2E //p' > "$OUT/results.txt"
wall=$(el)
wall=${wall// /}
wall=${wall%s}

verdict=$(sed -n 's/^dom0 result=\([a-z]*\).*/\1/p' "$OUT/results.txt" | tail -n 1)
echo
echo "---- results ($OUT/results.txt)"
grep -E '^guest (LOADGEN|VERIFYBAD|GUEST-DONE)' "$OUT/results.txt" | sed 's/^guest //'
grep -E '^dom0 result' "$OUT/results.txt"

rc=2
case "$qemu_rc" in
67) result=pass; rc=0 ;;
69) result=fail; rc=1 ;;
124) result=timeout; rc=124 ;;
125) result=panic; rc=1 ;;
*) result=error; rc=2 ;;
esac
if [ $rc != 0 ]; then
	echo "---- last 60 lines of $LOG"
	tail -n 60 "$LOG" | tr -d '\r'
	[ -s "$OUT/qemu.out" ] && { echo "---- qemu output"; cat "$OUT/qemu.out"; }
fi
# phase times from the in-VM clocks (dom0 uptime for dom0 steps, guest uptime
# for guest steps); host arrival times of console lines can lag
timing=$(awk '
	function up(s) { if (match(s, /uptime=[0-9.]+/)) return substr(s, RSTART + 7, RLENGTH - 7) + 0; return "" }
	function d(a, b) { return (a == "" || b == "") ? "na" : sprintf("%.1f", b - a) }
	/^step dom0-init /      { d_init = up($0) }
	/^step xenstored-up /   { d_xs = up($0) }
	/^step xl-create /      { d_xl = up($0) }
	/^step unpaused /       { d_unp = up($0) }
	/^step guest-gone /     { d_gone = up($0) }
	/^dom0 result=/         { d_end = up($0) }
	/^guest GUEST-BOOT /    { g_boot = up($0) }
	/^guest GUEST-WORKLOAD-START / { g_ws = up($0) }
	/^guest GUEST-DONE /    { g_done = up($0) }
	END {
		printf "dom0_kernel_s=%s toolstack_s=%s create_s=%s", d(0, d_init), d(d_init, d_xs), d(d_xl, d_unp)
		printf " guest_boot_s=%s workload_s=%s", d(0, g_ws), d(g_ws, g_done)
		printf " guest_total_s=%s teardown_s=%s dom0_total_s=%s", d(d_unp, d_gone), d(d_gone, d_end), d(0, d_end)
	}' "$OUT/results.txt")
load_end=$(cut -d' ' -f1 /proc/loadavg)
echo "E2E-TIMING scenario=$sname build_s=$build_s $timing wall_s=$wall qemu_cpu_s=$qemu_cpu host_load1=$load_start/$load_end"
echo "E2E scenario=$sname result=$result dom0_verdict=${verdict:-none} qemu_exit=$qemu_rc wall_s=$wall"
exit $rc
