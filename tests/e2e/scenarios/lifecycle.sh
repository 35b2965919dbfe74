# blkqos: a throttled ring thread costs next to no CPU; kill -9 of the loader
# keeps the limit; a restarted loader resumes with its counters; destroying a
# throttled guest completes promptly and leaves no map entry behind.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
EXPECT_DESTROY=1
LIMITS='
xvda iops=40
'
WORKLOAD='
loadgen --name throttled --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 120
'
CPU_SAMPLE="throttled 6 xvda"
LIVE='
wait_loadgen throttled
sleep 10
before=$(vbd_json xvda)
mark kill9 throttled
kill -9 "$(cat /run/blkqos.pid)"
sleep 0.5
check loader-killed "! kill -0 $(cat /run/blkqos.pid) 2>/dev/null" "kill -9 of the loader"
sleep 8
mark restart throttled
start_loader
check loader-reuses "grep -q \"already attached, reused\" $LOG" "restart reuses the pinned programs and maps"
after=$(vbd_json xvda)
r0=$(json_field "$before" read) r1=$(json_field "$after" read)
check counters-kept "[ ${r1:-0} -ge ${r0:-1} ]" "read ops before kill ${r0:-?}, after restart ${r1:-?}"
sleep 5
mark destroy throttled
t0=$(now_ms)
xl destroy "$E2E_DOMID"
t1=$(now_ms)
check destroy-prompt "[ $((t1 - t0)) -lt 5000 ]" "xl destroy of the throttled guest took $((t1 - t0)) ms"
touch /run/e2e-expect-destroy
gone=no
for _ in $(seq 50); do
	blkqos stats --json | grep -q "\"domid\":$E2E_DOMID," || { gone=yes; break; }
	sleep 0.1
done
check map-cleaned "[ $gone = yes ]" "no map entry for domain $E2E_DOMID after destroy"
'
EXPECT='
held-before-kill window_iops throttled 2000 kill9 40
held-while-loader-dead window_iops throttled kill9+2500 restart 40
held-after-restart window_iops throttled restart+2500 destroy 40 10
'
