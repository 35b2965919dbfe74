#!/bin/bash
# Quick host-side checks of loadgen on a file (no emulation): output format,
# every --rw mode, samples, verify and corruption detection.
set -uo pipefail
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
W=$TOP/build/e2e/loadgen-test
rm -rf "$W"
mkdir -p "$W"
gcc -static -O2 -Wall -Wextra -Werror -o "$W/loadgen" "$E2E_DIR/loadgen.c" || exit 1
LG=$W/loadgen
IMG=$W/disk.img
truncate -s 16M "$IMG"
pass=0
fail=0
check() {
	local name=$1
	shift
	if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -n 1; }

for rw in read write randread randwrite mixed; do
	out=$("$LG" --name t-$rw --dev "$IMG" --rw $rw --bs 4k --qd 4 --seconds 0.3 --interval-ms 100)
	rc=$?
	line=$(grep '^LOADGEN ' <<< "$out")
	check "$rw: exit 0" [ $rc = 0 ]
	check "$rw: one LOADGEN line" [ "$(grep -c '^LOADGEN ' <<< "$out")" = 1 ]
	check "$rw: ops > 0, errors=0" [ "$(field ops <<< "$line")" -gt 0 -a "$(field errors <<< "$line")" = 0 ]
	check "$rw: samples" [ "$(grep -c "^SAMPLE name=t-$rw t_ms=" <<< "$out")" -ge 2 ]
	for k in name ops bytes seconds iops bps errors lat_max_us lat_p99_us; do
		[ -n "$(field $k <<< "$line")" ] || { check "$rw: field $k" false; }
	done
done
out=$("$LG" --dev "$IMG" --rw mixed --mix 100 --seconds 0.2 --no-samples)
check "mix 100 = reads only" [ "$(field writes <<< "$out")" = 0 ]
out=$("$LG" --dev "$IMG" --rw randwrite --bs 64k --qd 8 --ramp 0.2 --seconds 0.3 --no-samples)
check "64k qd8 ramp: bytes = ops*bs" [ "$(field bytes <<< "$out")" = $(( $(field ops <<< "$out") * 65536 )) ]
check "no SAMPLE with --no-samples" [ "$(grep -c '^SAMPLE' <<< "$out")" = 0 ]

out=$("$LG" --name v --dev "$IMG" --verify --bs 16k --qd 8 --size 4M --no-samples)
check "verify both: clean" [ $? = 0 -a "$(field mismatches <<< "$out")" = 0 -a "$(field blocks <<< "$out")" = 256 ]
"$LG" --dev "$IMG" --verify-phase write --bs 16k --size 4M --seed 7 --no-samples > /dev/null
printf 'X' | dd of="$IMG" bs=1 seek=$((16384 * 5 + 4000)) conv=notrunc 2>/dev/null
out=$("$LG" --dev "$IMG" --verify-phase read --bs 16k --size 4M --seed 7 --no-samples)
rc=$?
check "verify read: corruption found, exit 1" [ $rc = 1 -a "$(field mismatches <<< "$out")" = 1 ]
check "verify read: VERIFYBAD block=5" grep -q '^VERIFYBAD name=run block=5 reason=checksum' <<< "$out"
out=$("$LG" --dev "$IMG" --verify-phase read --bs 16k --size 4M --seed 8 --no-samples)
check "verify read: wrong seed detected" [ "$(field mismatches <<< "$out")" = 256 ]
"$LG" --dev "$IMG" --bs 1000 > /dev/null 2>&1
check "bad --bs rejected (exit 2)" [ $? = 2 ]
"$LG" --dev "$W/nonexistent" > /dev/null 2>&1
check "missing device: exit 1" [ $? = 1 ]

# --rate and --sync are accepted and the writes still land (their pacing and
# FUA are measured end to end, not here: no wall-clock checks on the host)
out=$("$LG" --name t-rate --dev "$IMG" --rw randwrite --qd 1 --rate 1000 --sync --seconds 0.2)
check "--rate --sync: exit 0, writes, errors=0" \
	[ $? = 0 -a "$(field writes <<< "$out")" -gt 0 -a "$(field errors <<< "$out")" = 0 ]
check "--rate -1 is refused" [ "$("$LG" --dev "$IMG" --rate -1 >/dev/null 2>&1; echo $?)" = 2 ]
rm -rf "$W"
echo "loadgen-test: $pass passed, $fail failed"
[ $fail = 0 ]
