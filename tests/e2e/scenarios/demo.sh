# make demo: one guest, one disk, 4 KiB random reads at QD16: unlimited,
# then limited to 100 IOPS, then raised live to 200 IOPS while I/O runs.
# dom0 follows the phases by the disk's request count (the pauses between
# them), not by the guest's console, which lags behind a phase's results.
# The live phase runs 24 s: the change comes 6 s in, and blkqos set itself
# (a process start, xenstore, the wait) took 2.5 s in this emulated dom0 on
# one day and 6.2 s on another, so a 16 s phase left the new rate too
# little time to be measured.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
SHOW_DUMP=1
WORKLOAD='
loadgen --name 1-unlimited --dev /dev/xvda --rw randread --bs 4k --qd 16 --ramp 1 --seconds 8
sleep 5
loadgen --name 2-limited-100 --dev /dev/xvda --rw randread --bs 4k --qd 16 --ramp 1 --seconds 8
sleep 3
loadgen --name 3-live-change --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 24
'
LIVE='
follow() { "$@" || check follow-phases false "dom0 lost the phases at: $*"; }
follow wait_io_count xvda 1000
follow wait_io_pause xvda 1000
echo "@E2E hook demo set iops=100: $(blkqos set "$E2E_DOMID" xvda iops=100 --wait | tail -n 1)"
follow wait_io_start xvda 2-limited-100
follow wait_io_pause xvda 1000
follow wait_io_start xvda 3-live-change
sleep 6
mark change 3-live-change
echo "@E2E hook demo set iops=200: $(blkqos set "$E2E_DOMID" xvda iops=200 --wait | tail -n 1)"
mark changed 3-live-change
sleep 2
show_now
'
EXPECT='
limited-100 iops 2-limited-100 100
live-before-change window_iops 3-live-change 1000 change 100
live-after-change window_iops 3-live-change cross:change:100:200+1000 24000 200
wait-histogram fact_diff wait-hist held deferrals 0 16
'
