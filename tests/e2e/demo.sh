#!/bin/bash
# make demo: blkqos on an emulated Xen host (Debian's Xen + Debian dom0 with
# the patched xen-blkback + a PV guest, all under QEMU). The guest reads its
# disk unlimited, then limited to 100 IOPS, then the limit is raised live to
# 200 IOPS; the table at the end puts the guest's measured rates beside the
# limits, followed by `blkqos stats --histogram`, a `bpftool map dump` and
# some of `blkqos stats --format prometheus` from dom0; build/demo/demo.svg
# draws it (tests/e2e/plot_demo.py).
set -uo pipefail
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
. "$E2E_DIR/dist.sh"	# DIST=debian13: Debian 13's Xen and kernel
export DIST
echo "blkqos demo: booting Xen, dom0 and a guest under QEMU (software emulation:"
echo "a few minutes on 2 cores). Progress lines follow."
"$E2E_DIR/e2e.sh" bpf:demo
rc=$?
out=$E2E_B/out/bpf/demo
echo
echo "== what dom0 showed at the end (blkqos stats --histogram; bpftool map dump pinned /sys/fs/bpf/blkqos/vbd_stats; blkqos stats --format prometheus)"
sed -n 's/^hook show-stats //p' "$out/results.txt"
echo "--"
sed -n 's/^hook show-dump //p' "$out/results.txt" | head -n 30
echo "--"
sed -n 's/^hook show-prom //p' "$out/results.txt"
echo
echo "== summary (rates measured inside the guest)"
printf '%-16s %-22s %s\n' "phase" "limit" "achieved"
awk '
/^guest LOADGEN/ { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	lim = v["name"] ~ /unlimited/ ? "none" : v["name"] ~ /100/ ? "iops=100" : "iops=100 -> 200 live"
	printf "%-16s %-22s %s IOPS (%s ops in %s s, errors %s)\n", v["name"], lim, v["iops"], v["ops"], v["seconds"], v["errors"] }
' "$out/results.txt"
grep '^E2E bpf:demo/' "$E2E_B/accuracy.txt" | sed 's/^/  /'
echo
# the picture: rate over time, the limit, the live change, the wait-time histogram
"$E2E_DIR/plot_demo.py" "$out/results.txt" "$TOP/build/demo" || rc=1
exit $rc
