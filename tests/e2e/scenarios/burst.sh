# blkqos: burst and peak rate. After idle the bucket is full: its 150 ops
# pass at the 150/s peak rate (below what the emulated guest can do, about
# 230-600 IOPS at QD16 depending on host load), then the sustained 40/s holds.
# Stock mode (io.max) has no burst or peak: only the sustained rate is
# checked, and the loader must report burst and peak as not enforced.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=40 iops-burst=150 iops-peak=150
'
WORKLOAD='
sleep 2
loadgen --name burst --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 12
'
# 150 burst + 40/s refill spent at 150/s: about 1.36 s at the peak rate,
# 150 + 40 * 3 = 270 ops in the first 3 s.
EXPECT='
bpf,qdisk:burst-peak-rate window_iops burst 0 1000 150 10
burst-sustained window_iops burst 3000 12000 40
bpf,qdisk:burst-total-first-3s window_ops burst 0 3000 270
'
STOCK_IOMAX='
xvda riops=40 wiops=40
'
STOCK_UNENFORCED='
xvda iops-burst=150 iops-peak=150 iops=40
'
