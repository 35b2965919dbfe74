# blkqos: a disk that reconnects again and again stays at its limit. Each
# reconnect gives blkback a new ring thread, and in stock mode that thread
# runs unthrottled until the loader has found it and moved it into the
# VBD's group; the guest fills its queue (QD16) the moment the disk is back,
# so what a reconnect lets through shows in the rate.
#
# How the disk reconnects: the 6.1 guest cannot do it by itself. Unbinding
# xen-blkfront (/sys/bus/xen/drivers/vbd/unbind) closes the frontend for
# good: blkfront has no allow_rebind, so xenbus_dev_remove() writes Closed,
# and a bind afterwards finds the backend Closed and stays Closed (only a
# new xenbus device or a resume starts over from Initialising). So dom0
# detaches and attaches the disk (xl block-detach / block-attach, the
# toolstack's reconnect: a new backend dir, the same devid, blkback's new
# ring thread), and the guest waits for the disk to go and come back
# between short loadgen runs, then fills the queue at once. The limit is a
# rule for the guest's name (RULES): a detach removes the backend dir and
# the qos keys `blkqos set` wrote there, and the loader writes the rule's
# keys again when the VBD appears, as on a production host.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
RULES='
e2eguest xvda iops=40
'
WORKLOAD='
back() { [ -e /sys/block/xvda/size ] && [ "$(cat /sys/block/xvda/size)" -gt 0 ]; }
run() { loadgen --name "$1" --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 5; }
run r1
for i in 2 3 4 5 6; do
	echo "GUEST-RECONNECT-WAIT i=$i"
	n=0
	while [ -e /sys/block/xvda ]; do
		n=$((n + 1)); [ $n -lt 1200 ] || { echo "GUEST-ERROR xvda not detached"; exit 1; }
		sleep 0.05
	done
	n=0
	until back; do
		n=$((n + 1)); [ $n -lt 6000 ] || { echo "GUEST-ERROR xvda not back"; exit 1; }
		sleep 0.01
	done
	[ -b /dev/xvda ] || mknod /dev/xvda b $(tr ":" " " < /sys/block/xvda/dev)
	run r$i
done
'
# dom0: detach and attach xvda each time the guest waits for it; before each
# detach, say what the connection now ending let through unthrottled
# (stock mode: blkqos stats counts it per VBD, and a VBD's counters go with
# its backend).
LIVE='
loop=${E2E_DISK_DEVS#*xvda=}
loop=${loop%% *}
devid=$(dev_devid xvda)
for i in 2 3 4 5 6; do
	wait_result "^GUEST-RECONNECT-WAIT i=$i\$" || { check "reconnect-$i" false "the guest never waited for reconnect $i"; break; }
	u=$(json_field "$(vbd_json xvda)" unthrottled)
	say "reconnect i=$i connection_before_unthrottled_ops=${u:-n/a}"
	t0=$(now_ms)
	xl block-detach "$E2E_DOMID" "$devid" > /run/detach.out 2>&1
	rc=$?
	t1=$(now_ms)
	xl block-attach "$E2E_DOMID" "vdev=xvda,access=rw,backendtype=phy,script=block-e2e,target=$loop" > /run/attach.out 2>&1
	rc2=$?
	t2=$(now_ms)
	check "reconnect-$i" "[ $rc = 0 ] && [ $rc2 = 0 ]" \
		"xl block-detach rc=$rc in $((t1 - t0)) ms, block-attach rc=$rc2 in $((t2 - t1)) ms $(cat /run/detach.out /run/attach.out | tr "\n" " ")"
done
'
# The last connection's counters, from the running phase's last snapshot.
AFTER='
u=$(json_field "$(sed "s/},{\"domid\"/}\n{\"domid\"/g" /run/stats.last 2>/dev/null | grep "\"dev\":\"xvda\"")" unthrottled)
say "reconnect last_connection_unthrottled_ops=${u:-n/a}"
'
# r1 runs on the disk as the guest booted with it; r2..r6 each right after a
# reconnect, 25 s in all at 40/s: 1000 ops.
# bpf: within 5 %, as every rate case: the hook admits from a ring's first
# request, and each run starts with a full bucket (rate/10: 4 ops, 0.4 % of
# the 1000).
# stock: within 10 %. io.max alone holds the 5 % of the other stock cases
# (limits: iops-4k-qd16); the other 5 % (50 ops over 5 reconnects, 10
# each) is all a reconnect may let through: at this emulated disk's
# unlimited rate (1,660-2,350 IOPS at QD16, tests/e2e/README.md) that is
# about 5 ms of the new thread running unthrottled under a full queue, so
# the case passes only when the loader has moved the thread before the
# guest has its disk back. Looser would hide what this scenario is for: a
# guest reconnecting every few seconds would own a limit X % higher.
EXPECT='
first-connect iops r1 40
bpf:reconnect-mean mean_iops r2,r3,r4,r5,r6 40
stock:reconnect-mean mean_iops r2,r3,r4,r5,r6 40 10
'
STOCK_IOMAX='
xvda riops=40 wiops=40
'
STOCK_UNENFORCED='
xvda iops=40
'
