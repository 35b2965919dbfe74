# blkqos: one domain limit shared by two disks of the same guest.
DISKS="xvda:64M xvdb:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
domain iops=60
'
WORKLOAD='
loadgen --name dom-a --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
loadgen --name dom-b --dev /dev/xvdb --rw randread --bs 4k --qd 8 --ramp 1 --seconds 10 &
wait
'
EXPECT='
domain-shared sum_iops dom-a,dom-b 60
'
