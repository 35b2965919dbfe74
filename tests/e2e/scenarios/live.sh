# blkqos: live changes while I/O runs, with blkqos set and with a raw
# xenstore-write; each must be in force within 100 ms (measured in dom0 from
# the write to the map: by blkqos set itself; from the watch event of the raw
# write) without refilling or emptying the bucket.
# Stock mode: the same changes go to io.max (checked in force there within
# 100 ms too); iops-burst is not enforced and must be reported.
DISKS="xvda:64M"
GUEST_TIMEOUT=300
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda iops=30 iops-burst=60
'
WORKLOAD='
loadgen --name live --dev /dev/xvda --rw randread --bs 4k --qd 16 --seconds 30
'
LIVE='
wait_loadgen live
sleep 7
mark live1 live
[ "$E2E_MODE" = stock ] && iomax_watch xvda "riops=90 wiops=90" /run/iomax.set
out=$(blkqos set "$E2E_DOMID" xvda iops=90 --wait | tail -n 1)
ms=$(echo "$out" | sed -n "s/in force after \([0-9.]*\) ms.*/\1/p")
check live-set-in-force "awk -v m=${ms:-9999} \"BEGIN{exit !(m <= 100)}\"" "blkqos set iops=90: ${out:-not in force}"
t_map=$(echo "$out" | sed -n "s/.*realtime_ns=\([0-9]*\)[0-9][0-9][0-9].*/\1/p")
[ "$E2E_MODE" = stock ] && iomax_check live-set-iomax /run/iomax.set "${t_map:-0}" "blkqos set saw it in force (in the map)"
sleep 8
mark live2 live
# A raw xenstore-write, timed from the moment xenstored delivers its watch
# event (to a watcher started beforehand, as the loader gets its own) to the
# map update seen by a waiter started beforehand (both on the realtime
# clock): how fast the loader reacts to the write. Not from the start of the
# xenstore-write process, which alone takes 80-670 ms in this emulated dom0.
key=/local/domain/0/backend/vbd/$E2E_DOMID/51712/qos/iops
blkqos wait "$E2E_DOMID" xvda iops=60 > /run/wait.out &
waiter=$!
# line 1: the event every new watch gets at once; line 2: the write
( xenstore-watch -n 2 "$key" | while read -r l; do echo "${EPOCHREALTIME/./} $l"; done > /run/watch.out ) &
watcher=$!
for _ in $(seq 100); do grep -q waiting /run/wait.out && [ -s /run/watch.out ] && break; sleep 0.05; done
[ "$E2E_MODE" = stock ] && iomax_watch xvda "riops=60 wiops=60" /run/iomax.write
xenstore-write "$key" 60
wait $waiter
for _ in $(seq 50); do [ "$(wc -l < /run/watch.out)" -ge 2 ] && break; sleep 0.1; done
kill $watcher 2>/dev/null
t_event=$(sed -n "2s/ .*//p" /run/watch.out)
t_seen=$(sed -n "s/.*realtime_ns=\([0-9]*\).*/\1/p" /run/wait.out)
ms=$(awk -v a="${t_event:-0}" -v b="${t_seen:-0}" "BEGIN{printf \"%.1f\", (b / 1e3 - a) / 1e3}")
check live-write-in-force "[ -n \"$t_seen\" ] && [ -n \"$t_event\" ] && awk -v m=$ms \"BEGIN{exit !(m <= 100)}\"" "xenstore-write iops=60 in force $ms ms after its watch event"
[ "$E2E_MODE" = stock ] && iomax_check live-write-iomax /run/iomax.write "${t_event:-0}" "the watch event of the xenstore-write"
'
# A mark is a lower bound of the change in guest time (dom0 sees the
# guest's lines late); the window after a change starts 1 s after the first
# sample that shows it, and ends at the next change's mark.
STOCK_IOMAX='
xvda riops=30 wiops=30
'
STOCK_UNENFORCED='
xvda iops-burst=60
'
# qdisk mode: the same changes through QMP (block_set_io_throttle, which
# replaces every limit of the disk at once); QEMU has no burst without a
# peak rate (reported)
QDISK_UNENFORCED='
xvda iops-burst=60
'
QDISK_LIVE='
wait_loadgen live
sleep 7
mark live1 live
qdisk_set xvda iops=90 iops-burst=60
sleep 8
mark live2 live
qdisk_set xvda iops=60 iops-burst=60
'
EXPECT='
live-before window_iops live 1000 live1 30
live-after-set window_iops live cross:live1:30:90+1000 live2 90
live-after-write window_iops live cross:live2:90:60+1000 30000 60
live-no-refill max_sample live live1 cross:live1:30:90+2000 14
'
