# blkqos: live changes while I/O runs, with blkqos set and with a raw
# xenstore-write; each must be in force within 100 ms (measured in dom0 from
# the write to the map) without refilling or emptying the bucket.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=30 iops-burst=60
'
WORKLOAD='
loadgen --name live --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 26
'
LIVE='
wait_loadgen live
sleep 7
mark live1 live
blkqos set "$E2E_DOMID" xvda iops=90 > /dev/null
ms=$(wait_limit xvda iops 90)
check live-set-in-force "[ -n \"$ms\" ] && [ $ms -le 100 ]" "blkqos set iops=90 in force after ${ms:-never} ms"
sleep 8
mark live2 live
xenstore-write "/local/domain/0/backend/vbd/$E2E_DOMID/51712/qos/iops" 60
ms=$(wait_limit xvda iops 60)
check live-write-in-force "[ -n \"$ms\" ] && [ $ms -le 100 ]" "xenstore-write iops=60 in force after ${ms:-never} ms"
'
# Windows start 2.5 s after the recorded change (console lag) and end where
# the next change was recorded.
EXPECT='
live-before window_iops live 1000 live1 30
live-after-set window_iops live live1+2500 live2 90
live-after-write window_iops live live2+2500 26000 60
live-no-refill max_sample live live1 live1+2500 14
'
