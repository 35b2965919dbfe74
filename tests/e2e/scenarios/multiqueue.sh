# blkqos: a VBD with two rings (dom0 and guest with 2 vCPUs: blkback offers
# multi-queue-max-queues=2, blkfront connects multi-queue-num-queues=2, one
# ring per guest vCPU). A loadgen pinned to each guest vCPU drives each ring.
# Phase 1: a VBD limit (xvda iops=60) holds over both rings together.
# Phase 2: a domain limit (iops=80, xvda's own limit lifted) holds over two
# disks of two rings each (bpf mode only: stock mode cannot place it, and
# says so). Both rings of a disk must have done work.
DOM0_VCPUS=2
GUEST_VCPUS=2
DISKS="xvda:64M xvdb:64M"
GUEST_TIMEOUT=400
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=60
'
WORKLOAD='
taskset 1 loadgen --name vbd-cpu0 --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
taskset 2 loadgen --name vbd-cpu1 --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
wait
sleep 6
taskset 1 loadgen --name dom-a0 --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
taskset 2 loadgen --name dom-a1 --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
taskset 1 loadgen --name dom-b0 --dev /dev/xvdb --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
taskset 2 loadgen --name dom-b1 --dev /dev/xvdb --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
wait
'
LIVE='
for dev in xvda xvdb; do
	devid=$(dev_devid $dev)
	n=$(xenstore-read /local/domain/$E2E_DOMID/device/vbd/$devid/multi-queue-num-queues 2>/dev/null)
	check "rings-$dev" "[ \"$n\" = 2 ]" "$dev: frontend multi-queue-num-queues=${n:-absent} (want 2)"
done
wait_result "^LOADGEN name=vbd-cpu1 "
wait_result "^LOADGEN name=vbd-cpu0 "
for r in 0 1; do
	t=$(ring_ticks xvda $r)
	check "ring-$r-used" "[ ${t:-0} -gt 0 ]" "ring thread $E2E_DOMID.xvda-$r: ${t:-no} CPU ticks in phase 1"
done
blkqos set "$E2E_DOMID" xvda iops=max > /dev/null 2>&1
out=$(blkqos set "$E2E_DOMID" iops=80 --wait 2>&1 | tail -n 1)
say "phase2-set $out"
'
EXPECT='
bpf:vbd-two-rings sum_iops vbd-cpu0,vbd-cpu1 60 2
stock:vbd-two-rings sum_iops vbd-cpu0,vbd-cpu1 60
bpf:domain-four-rings sum_iops dom-a0,dom-a1,dom-b0,dom-b1 80 2
'
STOCK_IOMAX='
xvda riops=60 wiops=60
'
# stock mode: a domain limit over two disks is not enforced there (two
# backing devices), and must be reported for both
STOCK_UNENFORCED='
xvda iops=60 domain limits across 2 VBDs
xvdb domain limits across 2 VBDs
'
