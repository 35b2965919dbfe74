# blkqos: teardown while requests are parked loses nothing and leaks
# nothing. Two disks at iops=10 with 16 requests in flight each: most of
# them are parked in blkback at any moment (1.6 s deep).
# - xl block-detach of one of them: the backend goes promptly, its ring
#   thread dispatches what was parked before it exits (the guest's I/O to a
#   disk detached under it fails, as with any backend: ERRORS_EXPECTED; its
#   loadgen must still finish, not hang);
# - the loader stopped and `blkqos unload` on the other: the programs are
#   detached with requests parked; each is admitted at its next offer (at
#   most a second later) and the guest's rate rises to the unlimited one
#   with no I/O error;
# - dom0's kernel log has no warning, oops or leak (checked by the hook at
#   done for every scenario); xl destroy of a guest with parked requests is
#   in the lifecycle scenario.
DISKS="xvda:64M xvdb:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
ERRORS_EXPECTED="detach-parked"
LIMITS='
xvda iops=10
xvdb iops=10
'
WORKLOAD='
loadgen --name unload-parked --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 30 &
loadgen --name detach-parked --dev /dev/xvdb --rw randread --bs 4k --qd 16 --seconds 30 &
wait
'
LIVE='
wait_loadgen unload-parked
sleep 6
detach_check detach-parked xvdb
pid=$(cat /run/blkqos.pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
mark unload unload-parked
blkqos unload >> /run/blkqos-unload.log 2>&1
rc=$?
check unload-parked "[ $rc = 0 ] && [ ! -e /sys/fs/bpf/blkqos ]" "blkqos unload with requests parked: rc=$rc"
for _ in $(seq 100); do ring_pid xvdb > /dev/null || break; sleep 0.1; done
check detach-ring-gone "! ring_pid xvdb > /dev/null" "the detached disk ring thread has exited"
detach_gone_check detach-backend-gone
'
# qdisk mode: the same detach with requests queued in QEMU's throttle, and
# the throttle lifted over QMP (in place of blkqos unload) with requests held
QDISK_LIVE='
wait_loadgen unload-parked
sleep 6
detach_check detach-parked xvdb
mark unload unload-parked
qdisk_set xvda
check unload-parked "[ $? = 0 ]" "QEMU throttle of xvda lifted with requests held"
detach_gone_check detach-backend-gone
'
EXPECT='
limited-before window_iops unload-parked 2000 unload 10
bpf,qdisk:unlimited-after min_window_iops unload-parked unload+3000 unload+8000 50
'
STOCK_IOMAX='
xvda riops=10 wiops=10
xvdb riops=10 wiops=10
'
STOCK_UNENFORCED='
xvda iops=10
xvdb iops=10
'
