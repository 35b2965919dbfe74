# blkqos: one domain limit shared by two disks of the same guest.
# Stock mode: io.max limits one device per group, so a domain limit across
# two VBDs is not enforced there; the loader must report it for both.
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
bpf,qdisk:domain-shared sum_iops dom-a,dom-b 60
'
STOCK_UNENFORCED='
xvda domain limits across 2 VBDs
xvdb domain limits across 2 VBDs
'
