#!/bin/bash
# tests/e2e/e2e.sh [SCENARIO...] - blkqos end to end on an emulated Xen host.
#
# Builds the loader and the patched xen-blkback, then for each scenario boots
# Xen + dom0 (patched module, blkqos, bpftool) + a PV guest with
# tests/e2e/run.sh and checks the guest-measured rates with check.py.
# Default scenarios: limits burst domain live lifecycle.
# Prints "E2E <case> configured=.. achieved=.. unit=.. error_pct=.. PASS|FAIL"
# lines and keeps them in build/e2e/accuracy.txt. Exit 0 if all passed.
set -uo pipefail
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
cd "$TOP"
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(limits burst domain live lifecycle)

echo "e2e: building blkqos and the patched xen-blkback"
make -s blkqos || exit 2
make -s -C kernel || exit 2
make -s -C kernel check > /dev/null || { echo "e2e: module check failed" >&2; exit 2; }

export E2E_BLKBACK_KO=$TOP/kernel/build/xen-blkback.ko
export E2E_DOM0_EXTRA="$TOP/blkqos:/usr/sbin/blkqos /usr/sbin/bpftool:/usr/sbin/bpftool"
acc=$TOP/build/e2e/accuracy.txt
mkdir -p "$TOP/build/e2e"
: > "$acc.new"
rc=0
for s in "${scenarios[@]}"; do
	f=$s
	[ -f "$f" ] || f=$E2E_DIR/scenarios/$s.sh
	[ -f "$f" ] || { echo "e2e: no scenario $s" >&2; rc=2; continue; }
	name=$(basename "$f" .sh)
	out=$TOP/build/e2e/out/$name
	echo "e2e: scenario $name"
	E2E_OUT=$out "$E2E_DIR/run.sh" "$f"
	run_rc=$?
	(. "$f"; printf '%s\n' "${EXPECT:-}") > "$out/expect.txt"
	if [ -s "$out/results.txt" ]; then
		python3 "$E2E_DIR/check.py" "$out/results.txt" "$out/expect.txt" "$name" | tee -a "$acc.new"
		[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	else
		echo "E2E $name/run configured=- achieved=- unit=run error_pct=n/a FAIL  # no results" | tee -a "$acc.new"
		rc=1
	fi
	if [ $run_rc -ne 0 ]; then
		echo "E2E $name/run configured=- achieved=- unit=run error_pct=n/a FAIL  # run.sh exit $run_rc (see $out/serial.log)" | tee -a "$acc.new"
		rc=1
	fi
done
mv "$acc.new" "$acc"
echo "e2e: $(grep -c ' PASS' "$acc") passed, $(grep -c ' FAIL' "$acc") failed (table in $acc)"
exit $rc
