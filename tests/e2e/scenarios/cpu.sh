# blkqos: what throttling costs the ring thread, like for like. xvda is
# throttled to 30 IOPS with 16 requests in flight (most of them parked);
# xvdb is unlimited and the guest itself issues 30 reads/s on it at QD1
# (loadgen --rate). The hook reports each ring thread's CPU and wake-ups
# (voluntary context switches) per request over its life; the throttled one
# must stay under 10 % of a CPU (EXPECT). The figure to compare is the ratio of
# the two us_per_request (the parking issue's target: at most 1.2x).
DISKS="xvda:64M xvdb:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=30
'
WORKLOAD='
loadgen --name throttled-qd16 --dev /dev/xvda --rw randread --bs 4k --qd 16 --ramp 1 --seconds 20 &
loadgen --name guest-rate30 --dev /dev/xvdb --rw randread --bs 4k --qd 1 --rate 30 --ramp 1 --seconds 20 &
wait
'
CPU_DEVS="xvda:30 xvdb"
EXPECT='
bpf,stock:ring-cpu-xvda cpu_pct xvda 10
throttled-qd16 iops throttled-qd16 30
guest-rate30 iops guest-rate30 30
'
STOCK_IOMAX='
xvda riops=30 wiops=30
'
STOCK_UNENFORCED='
xvda iops=30
'
