# blkqos: burst and peak rate. After idle the bucket is full: 200 ops pass at
# the 300/s peak rate, then the sustained 40/s holds.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=40 iops-burst=200 iops-peak=300
'
WORKLOAD='
sleep 2
loadgen --name burst --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 12
'
# 200 burst + 40/s refill at 300/s: spent after about 0.77 s.
EXPECT='
burst-peak-rate window_iops burst 100 600 300 10
burst-sustained window_iops burst 3000 12000 40
burst-total-first-2s window_ops burst 0 2000 250 10
'
