#!/bin/bash
# Default dom0 hook: reports which xen-blkback is loaded and the guest's vbd
# backends.  Called by /init as "hook PHASE" (see dom0-init.sh for the env).
case "$1" in
boot)
	ko=$(grep xen-blkback.ko /lib/modules/load-order)
	echo "@E2E hook blkback sha256=$(sha256sum "$ko" | cut -c1-16)" \
		"taint=$(cat /sys/module/xen_blkback/taint 2>/dev/null)"
	;;
created)
	for p in $E2E_VBD_PATHS; do
		echo "@E2E hook vbd path=$p params=$(xenstore-read "$p/params")" \
			"dev=$(xenstore-read "$p/dev")" \
			"physical-device=$(xenstore-read "$p/physical-device" 2>/dev/null)"
	done
	;;
running) ;;
done) ;;
esac
exit 0
