# blkqos: IOPS (4 KiB random reads at QD1 and QD16), bandwidth (64 KiB
# writes), separate read and write limits at once, and iops-size, each on its
# own disk of one guest; the limits are set well below the unlimited baseline
# (see baseline.sh). Ends with a write/read-back check through a limited disk.
# The unlimited disk's QD16 run must reach 3x the 30 IOPS of the QD16 case
# in every mode (qdisk mode: QEMU's own rate; it has no stats_ops).
# Stock mode (io.max): the same limits, but iops-size is not enforced (the
# 16 KiB reads see plain iops=120) and a total iops/bps applies per direction:
# the loader must say so.
DISKS="xvda:128M xvdb:128M xvdc:64M xvdd:64M xvde:64M"
GUEST_TIMEOUT=400
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=30
xvdb bps=4M
xvdc read-iops=60 write-iops=30
xvdd iops=120 iops-size=4096
'
WORKLOAD='
loadgen --name iops30-qd1 --dev /dev/xvda --rw randread --bs 4k --qd 1 --ramp 1 --seconds 10
loadgen --name bps4M-64k-write --dev /dev/xvdb --rw write --bs 64k --qd 4 --ramp 1 --seconds 10
loadgen --name rw-split-read --dev /dev/xvdc --rw randread --bs 4k --qd 4 --ramp 1 --seconds 10 &
loadgen --name rw-split-write --dev /dev/xvdc --rw randwrite --bs 4k --qd 4 --ramp 1 --seconds 10 &
wait
loadgen --name iops-size-16k --dev /dev/xvdd --rw randread --bs 16k --qd 4 --ramp 1 --seconds 10
loadgen --name verify-limited --dev /dev/xvdb --verify --bs 64k --qd 4 --size 8M --no-samples
'
# The QD16 case runs last on xvda, with the ring thread CPU sampled meanwhile,
# after the same load on an unlimited disk for comparison (the like-for-like
# baseline, a disk the guest drives at the throttled rate itself, is in
# lifecycle: a sixth disk here made stock mode's ring-thread discovery at
# connect slower than its 2 s bound in the emulated dom0).
WORKLOAD="$WORKLOAD
loadgen --name unlimited-qd16 --dev /dev/xvde --rw randread --bs 4k --qd 16 --seconds 9
loadgen --name iops30-qd16 --dev /dev/xvda --rw randread --bs 4k --qd 16 --ramp 1 --seconds 14
"
CPU_DEVS="xvda:30 xvde"	# xvda throttled (QD1 and QD16 runs), xvde unlimited
EXPECT='
bpf,stock:ring-cpu-xvda cpu_pct xvda 10
iops-4k-qd1 iops iops30-qd1 30
iops-4k-qd16 iops iops30-qd16 30
bps-64k-write bps bps4M-64k-write 4000000
bpf:rw-split-write write_iops rw-split-write 30 2
bpf:rw-split-read read_iops rw-split-read 60 2
stock,qdisk:rw-split-write write_iops rw-split-write 30
stock,qdisk:rw-split-read read_iops rw-split-read 60
verify-limited verify verify-limited
bpf,qdisk:iops-size-16k iops iops-size-16k 30
stock:iops-size-16k-plain-iops iops iops-size-16k 120
unlimited-qd16 min_iops unlimited-qd16 90
bpf,stock:stats-xvda stats_ops 51712 iops30-qd1,iops30-qd16
'
# stock mode: what io.max must hold, and what the loader must report
STOCK_IOMAX='
xvda riops=30 wiops=30
xvdb rbps=4000000 wbps=4000000
xvdc riops=60 wiops=30
xvdd riops=120 wiops=120
'
STOCK_UNENFORCED='
xvda iops=30
xvdb bps=4000000
xvdd iops-size=4096
'
