#!/bin/bash
# Demo/self-test dom0 hook: shows each phase of the hook interface.
#  boot:    checks extra dom0 files (bpftool, if added with E2E_DOM0_EXTRA)
#  created: writes a per-vbd xenstore key before the guest runs (where the
#           loader and the limits will go)
#  running: changes the key while the workload runs (a "live change")
#  done:    reads the guest's LOADGEN lines from $E2E_RESULTS and checks them
set -u
case "$1" in
boot)
	ko=$(grep xen-blkback.ko /lib/modules/load-order)
	echo "@E2E hook blkback sha256=$(sha256sum "$ko" | cut -c1-16)" \
		"taint=$(cat /sys/module/xen_blkback/taint 2>/dev/null)"
	if command -v bpftool >/dev/null; then
		echo "@E2E hook bpftool $(bpftool version 2>&1 | head -n 1)"
	fi
	;;
created)
	for p in $E2E_VBD_PATHS; do
		xenstore-write "$p/e2e-demo-limit" 100 || exit 1
		echo "@E2E hook set path=$p e2e-demo-limit=$(xenstore-read "$p/e2e-demo-limit")"
	done
	;;
running)
	# align with the workload: wait until the guest says it starts (console lag ~1 s)
	until grep -q '^GUEST-WORKLOAD-START' "$E2E_RESULTS"; do sleep 0.2; done
	sleep "${DEMO_CHANGE_AFTER:-4}"
	for p in $E2E_VBD_PATHS; do
		xenstore-write "$p/e2e-demo-limit" 200
		echo "@E2E hook live-change path=$p e2e-demo-limit=200 uptime=$(cut -d' ' -f1 /proc/uptime)"
	done
	;;
done)
	n=$(grep -c '^LOADGEN' "$E2E_RESULTS")
	bad=$(grep '^LOADGEN' "$E2E_RESULTS" | grep -vc ' errors=0 ')
	echo "@E2E hook check loadgen_lines=$n with_errors=$bad"
	[ "$n" -ge 1 ] && [ "$bad" -eq 0 ]
	;;
esac
