#!/bin/bash
# tests/e2e/e2e.sh [[MODE:]SCENARIO...] - blkqos end to end on an emulated Xen host.
#
# For each scenario and mode, boots Xen + dom0 (blkqos, bpftool) + a PV guest
# with tests/e2e/run.sh and checks the guest-measured rates with check.py.
# Modes (E2E_MODES, default "bpf"; or per scenario as MODE:SCENARIO):
#   bpf    the patched xen-blkback (built here, E2E_BLKBACK_KO): limits
#          enforced by BPF in the ring thread
#   stock  Debian's own xen-blkback from the linux-image package: blkqos run
#          finds no hook and enforces the limits through cgroup io.max on
#          the ring threads
#   qdisk  no blkqos: the guest's disks on Xen's qdisk backend (Debian's
#          qemu-system-xen, which libxl starts for the guest) with QEMU's
#          block throttle set over QMP: what an operator would pick
#          instead (tests/e2e/qdisk.sh)
# A plain SCENARIO runs in every mode of E2E_MODES, the modes one after the
# other (similar host load for the pair); MODE:SCENARIO in that mode only.
# Default scenarios: limits direction burst domain live lifecycle teardown
# fairness cpu reconnect migrate. multiqueue is opt-in: its 2-vCPU guest corrupts dom0's user
# memory in this QEMU emulation (stock xen-blkback too; see the scenario).
# DIST=debian12 (default) or debian13 picks the Debian release booted, its
# Xen, dom0 kernel and the patched module for that kernel (dist.sh); the
# outputs of debian13 are under build/e2e/debian13/ instead of build/e2e/.
# Outputs in build/e2e/out/<mode>/<scenario>/. Prints
# "E2E <mode>:<scenario>/<case> configured=.. achieved=.. unit=.. error_pct=..
# [lat_us=p50/p99/max] PASS|FAIL" lines and keeps them in
# build/e2e/accuracy.txt; build/e2e/table.md puts the modes side by side
# (tests/e2e/table.py), printed at the end when more than one mode ran.
# Exit 0 if all passed, 1 if a case failed, 2 on a harness error.
set -uo pipefail
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
cd "$TOP"
. "$E2E_DIR/dist.sh"
export DIST
modes=${E2E_MODES:-bpf}
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(limits direction burst domain live lifecycle teardown fairness cpu reconnect migrate)

valid_mode() {
	case "$1" in
	bpf | stock | qdisk) return 0 ;;
	*) echo "e2e: unknown mode '$1' (modes: bpf stock qdisk)" >&2; return 1 ;;
	esac
}
for m in $modes; do valid_mode "$m" || exit 2; done
[ -n "${modes// /}" ] || { echo "e2e: E2E_MODES is empty (modes: bpf stock qdisk)" >&2; exit 2; }
runs=()	# "mode scenario"
for a in "${args[@]}"; do
	case "$a" in
	bpf:* | stock:* | qdisk:*) runs+=("${a%%:*} ${a#*:}") ;;
	*)
		if [ ! -f "$a" ] && [ "${a#*:}" != "$a" ]; then
			valid_mode "${a%%:*}"
			exit 2
		fi
		for m in $modes; do runs+=("$m $a"); done
		;;
	esac
done

need_ko=0
for r in "${runs[@]}"; do [ "${r%% *}" = bpf ] && need_ko=1; done
make -s blkqos || exit 2
if [ $need_ko = 1 ]; then
	echo "e2e: building the patched xen-blkback ($DIST)"
	# a first build (for another release: debootstrap, its deps) is minutes
	# of CPU: under the lock of the emulated runs, as run.sh takes it; a
	# module newer than its sources is a no-op make, not worth a place in
	# the queue
	lock=()
	if [ "${E2E_LOCK:-1}" = 1 ] && { [ ! -f "$E2E_KO" ] ||
		[ -n "$(find kernel/patches kernel/Makefile kernel/*.sh -newer "$E2E_KO" | head -n 1)" ]; }; then
		lock=(flock "${E2E_LOCK_FILE:-/run/lock/blkqos-e2e.lock}")
	fi
	"${lock[@]}" make -s -C kernel DIST="$DIST" || exit 2
	"${lock[@]}" make -s -C kernel DIST="$DIST" check > /dev/null ||
		{ echo "e2e: module check failed" >&2; exit 2; }
fi

acc=$E2E_B/accuracy.txt
mkdir -p "$E2E_B"
: > "$acc.new"
rc=0
failed() { [ $rc = 2 ] || rc=$1; }	# a harness error (2) wins over a failure (1)
ran_modes=""
for r in "${runs[@]}"; do
	mode=${r%% *} s=${r#* }
	f=$s
	[ -f "$f" ] || f=$E2E_DIR/scenarios/$s.sh
	if [ ! -f "$f" ]; then
		echo "e2e: no scenario '$s' (neither a file nor $E2E_DIR/scenarios/$s.sh)" >&2
		failed 2
		continue
	fi
	name=$(basename "$f" .sh)
	out=$E2E_B/out/$mode/$name
	mkdir -p "$out"
	# the hook reads the mode it is to check from this file in dom0
	echo "$mode" > "$out/mode"
	extra="$TOP/blkqos:/usr/sbin/blkqos /usr/sbin/bpftool:/usr/sbin/bpftool $out/mode:/etc/blkqos-e2e-mode"
	# qdisk: dom0-init gives the disks to QEMU; the hook's phases and jq
	# (for QMP's replies) come along
	if [ "$mode" = qdisk ]; then echo qdisk; else echo phy; fi > "$out/disk-backend"
	extra="$extra $out/disk-backend:/etc/e2e-disk-backend"
	[ "$mode" != qdisk ] || extra="$extra $E2E_DIR/qdisk.sh:/e2e/qdisk.sh $(command -v jq):/usr/bin/jq"
	case " $ran_modes " in *" $mode "*) ;; *) ran_modes="$ran_modes $mode" ;; esac
	echo "e2e: scenario $name, mode $mode, $DIST"
	if [ "$mode" = bpf ]; then
		E2E_BLKBACK_KO=$E2E_KO E2E_DOM0_EXTRA=$extra E2E_OUT=$out \
			"$E2E_DIR/run.sh" "$f"
	elif [ "$mode" = qdisk ]; then
		env -u E2E_BLKBACK_KO E2E_QDISK=1 E2E_DOM0_EXTRA="$extra" E2E_OUT="$out" "$E2E_DIR/run.sh" "$f"
	else
		# Debian's module from the linux-image package, as on any stock dom0
		env -u E2E_BLKBACK_KO E2E_DOM0_EXTRA="$extra" E2E_OUT="$out" "$E2E_DIR/run.sh" "$f"
	fi
	run_rc=$?
	(. "$f"; printf '%s\n' "${EXPECT:-}") > "$out/expect.txt"
	if [ -s "$out/results.txt" ]; then
		python3 "$E2E_DIR/check.py" "$out/results.txt" "$out/expect.txt" "$name" "$mode" | tee -a "$acc.new"
		[ "${PIPESTATUS[0]}" -eq 0 ] || failed 1
	else
		echo "E2E $mode:$name/run configured=- achieved=- unit=run error_pct=n/a FAIL  # no results" | tee -a "$acc.new"
		failed 1
	fi
	if [ $run_rc -ne 0 ]; then
		echo "E2E $mode:$name/run configured=- achieved=- unit=run error_pct=n/a FAIL  # run.sh exit $run_rc (see $out/serial.log)" | tee -a "$acc.new"
		failed 1
	fi
done
mv "$acc.new" "$acc"
# where and when, for tests/e2e/results.sh (make results)
{
	echo "command: E2E_MODES=\"$modes\" DIST=$DIST tests/e2e/e2e.sh ${args[*]}"
	echo "commit: $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "ended: $(date -u '+%Y-%m-%d %H:%M UTC'), host load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "cases: $(grep -c ' PASS' "$acc") passed, $(grep -c ' FAIL' "$acc") failed"
} > "${acc%.txt}.info"
ran_modes=${ran_modes# }
if python3 "$E2E_DIR/table.py" "$acc" --modes "${ran_modes// /,}" > "$E2E_B/table.md.new"; then
	mv "$E2E_B/table.md.new" "$E2E_B/table.md"
	if [ "${ran_modes// /}" != "$ran_modes" ]; then
		echo
		echo "e2e: modes side by side (${E2E_B#$TOP/}/table.md)"
		cat "$E2E_B/table.md"
		echo
	fi
else
	rm -f "$E2E_B/table.md.new"
fi
echo "e2e: $(grep -c ' PASS' "$acc") passed, $(grep -c ' FAIL' "$acc") failed (lines in $acc)"
exit $rc
