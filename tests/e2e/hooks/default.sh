#!/bin/bash
# Default dom0 hook: reports which xen-blkback is loaded and the guest's vbd
# backends.  Called by /init as "hook PHASE" (see dom0-init.sh for the env).
case "$1" in
boot)
	m=/sys/module/xen_blkback
	echo "@E2E hook blkback srcversion=$(cat $m/srcversion 2>/dev/null || echo none)" \
		"taint=$(cat $m/taint 2>/dev/null)"
	;;
created)
	for p in $E2E_VBD_PATHS; do
		echo "@E2E hook vbd path=$p params=$(xenstore-read "$p/params")" \
			"dev=$(xenstore-read "$p/dev")" \
			"physical-device=$(xenstore-read "$p/physical-device" 2>/dev/null)"
	done
	;;
running) ;;
done)
	# the ring threads are gone by now; nothing to check for the stock module
	;;
esac
exit 0
