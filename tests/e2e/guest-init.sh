#!/bin/sh
# /init of the PV guest (busybox sh).  Loads xen-blkfront, waits for the
# disks, runs /workload.sh (from the scenario) and powers off.
# Lines starting with LOADGEN / SAMPLE / VERIFYBAD / RESUME / GUEST- are machine-readable;
# dom0 forwards them to its serial console with the "@E2E guest " prefix.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

up() { cut -d' ' -f1 /proc/uptime; }

echo "GUEST-BOOT uptime=$(up)"
while read -r m; do
	insmod "$m" || echo "GUEST-ERROR insmod $m failed"
done < /lib/modules/load-order

# wait for every xvd* disk that xenstore announces (up to 30 s)
n=0
while [ $n -lt 300 ]; do
	want=0
	have=0
	for d in /sys/bus/xen/devices/vbd-*; do
		[ -e "$d" ] || continue
		want=$((want + 1))
	done
	for b in /sys/block/xvd*; do
		[ -e "$b" ] || continue
		have=$((have + 1))
	done
	[ $want -gt 0 ] && [ $have -ge $want ] && break
	sleep 0.1
	n=$((n + 1))
done
disks=$(cd /sys/block && echo xvd*)
sizes=""
for d in $disks; do
	[ -b "/dev/$d" ] || mknod "/dev/$d" b $(tr ':' ' ' < "/sys/block/$d/dev")
	sizes="$sizes $d=$(($(cat /sys/block/$d/size) * 512))"
done
echo "GUEST-DISKS uptime=$(up)${sizes}"

rc=0
if [ -n "$disks" ] && [ "$disks" != "xvd*" ]; then
	echo "GUEST-WORKLOAD-START uptime=$(up)"
	sh -e /workload.sh
	rc=$?
else
	echo "GUEST-ERROR no xvd disks"
	rc=1
fi
echo "GUEST-DONE rc=$rc uptime=$(up)"
sync
# give the console a moment to drain to xenconsoled
sleep 1
poweroff -f
