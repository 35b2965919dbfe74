# blkqos: a domain limit shared fairly. Phase 1: domain iops=90 over three
# disks, one of them (xvda) also limited alone to 20, below its equal share:
# it gets its 20 and the other two split the rest, 35 each. Phase 2: domain
# iops=60 over two disks driven at queue depths 1 and 16: both are
# backlogged, so they split it evenly (30 each), the deep queue does not
# crowd out the shallow one.
# Stock mode: io.max cannot place a domain limit over several backing
# devices, and must say so.
DISKS="xvda:64M xvdb:64M xvdc:64M xvdd:64M xvde:64M"
GUEST_TIMEOUT=400
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
domain iops=90
xvda iops=20
'
WORKLOAD='
loadgen --name own-limit --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 &
loadgen --name share-b --dev /dev/xvdb --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 &
loadgen --name share-c --dev /dev/xvdc --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 &
wait
sleep 6
loadgen --name qd1 --dev /dev/xvdd --rw randread --bs 4k --qd 1 --ramp 1 --seconds 12 &
loadgen --name qd16 --dev /dev/xvde --rw randread --bs 4k --qd 16 --ramp 1 --seconds 12 &
wait
'
LIVE='
wait_result "^LOADGEN name=share-c "
wait_result "^LOADGEN name=own-limit "
out=$(blkqos set "$E2E_DOMID" iops=60 --wait 2>&1 | tail -n 1)
say "phase2-set $out"
'
EXPECT='
bpf:own-limit iops own-limit 20 2
bpf:share-b iops share-b 35 5
bpf:share-c iops share-c 35 5
bpf:qd1 iops qd1 30 5
bpf:qd16 iops qd16 30 5
'
STOCK_UNENFORCED='
xvda domain limits across 5 VBDs
xvdb domain limits across 5 VBDs
xvdc domain limits across 5 VBDs
xvdd domain limits across 5 VBDs
xvde domain limits across 5 VBDs
'
STOCK_IOMAX='
xvda riops=20 wiops=20
'
