# blkqos: a domain limit shared fairly. Phase 1: domain iops=90 over three
# disks, one of them (xvda) also limited alone to 20, below its equal share:
# it gets its 20 and the other two split the rest, 35 each. Phase 2: domain
# iops=60 over two disks driven at queue depths 1 and 16: both are
# backlogged, so they split it evenly (30 each), the deep queue does not
# crowd out the shallow one.
# The loadgens print no samples: at 10 a second each, the guest's console
# reached dom0 over 6 s late, and the change to 60 came after phase 2 had
# begun (at 90). The guest waits 10 s between the phases for the change.
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
loadgen --name own-limit --dev /dev/xvda --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 --interval-ms 0 &
loadgen --name share-b --dev /dev/xvdb --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 --interval-ms 0 &
loadgen --name share-c --dev /dev/xvdc --rw randread --bs 4k --qd 8 --ramp 1 --seconds 12 --interval-ms 0 &
wait
sleep 10
loadgen --name qd1 --dev /dev/xvdd --rw randread --bs 4k --qd 1 --ramp 1 --seconds 12 --interval-ms 0 &
loadgen --name qd16 --dev /dev/xvde --rw randread --bs 4k --qd 16 --ramp 1 --seconds 12 --interval-ms 0 &
wait
'
LIVE='
wait_result "^LOADGEN name=share-c "
wait_result "^LOADGEN name=own-limit "
out=$(blkqos set "$E2E_DOMID" iops=60 --wait 2>&1 | tail -n 1)
say "phase2-set $out"
check phase2-set-first "! grep -qx \"GUEST-LOADGEN-START name=qd1\" \"\$E2E_RESULTS\"" "iops=60 in force before phase 2 started (as far as the console shows)"
'
# qdisk mode: a disk is in one throttle group, and a group has one set of
# limits: xvda's own limit goes (reported), the three share the domain's
QDISK_UNENFORCED='
xvda iops=20
'
QDISK_LIVE='
wait_result "^LOADGEN name=share-c "
wait_result "^LOADGEN name=own-limit "
qdisk_set domain iops=60
'
EXPECT='
bpf:own-limit iops own-limit 20 2
bpf:share-b iops share-b 35 5
bpf:share-c iops share-c 35 5
bpf,qdisk:qd1 iops qd1 30 5
bpf,qdisk:qd16 iops qd16 30 5
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
