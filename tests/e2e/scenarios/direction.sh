# blkqos: each direction gets its own limit under mixed load. A request over
# its limit is parked on its own (bpf mode) or queued per direction by the
# block throttle (stock mode); neither may hold up the other direction.
# xvda: a read-IOPS and a write-bandwidth limit; xvdb: read-iops and
# write-iops at once. Reads and writes use separate halves of each disk, so
# that no read waits behind a write of the same sectors (the ordering rule).
# QD16: a queue that stays full rides out the emulated guest's stalls (a
# bucket with no request waiting caps at its burst, a tenth of a second).
# xvdc: O_DSYNC writes, which blkfront sends as flush (or barrier) requests
# carrying their data, under a write-bps limit: the data is charged. Its
# four writes complete together (a flush waits for the writes before it),
# so a window's edge may hold four more or fewer: 2.6 % of 10 s at 1 MB/s
# (+2.24 % and -2.35 % seen), 0.9 % of the 30 s it runs.
# Then a write/read-back check on xvdb while reads and writes of other
# blocks overtake the parked ones: no mismatch.
DISKS="xvda:128M xvdb:128M xvdc:64M"
GUEST_TIMEOUT=400
DOM0_SCRIPT=../blkqos-hook.sh
LIMITS='
xvda read-iops=60 write-bps=1000000
xvdb read-iops=60 write-iops=30
xvdc write-bps=1000000
'
WORKLOAD='
loadgen --name bw-read --dev /dev/xvda --rw randread --bs 4k --qd 16 --size 64M --ramp 1 --seconds 10 &
loadgen --name bw-write --dev /dev/xvda --rw write --bs 64k --qd 16 --offset 64M --ramp 1 --seconds 10 &
wait
loadgen --name io-read --dev /dev/xvdb --rw randread --bs 4k --qd 16 --size 64M --ramp 1 --seconds 10 &
loadgen --name io-write --dev /dev/xvdb --rw randwrite --bs 4k --qd 16 --offset 64M --size 32M --ramp 1 --seconds 10 &
wait
loadgen --name fua-write --dev /dev/xvdc --rw write --bs 64k --qd 4 --sync --ramp 1 --seconds 30
loadgen --name order-other --dev /dev/xvdb --rw mixed --bs 4k --qd 4 --offset 32M --size 32M --seconds 12 --no-samples &
loadgen --name order-verify --dev /dev/xvdb --verify --bs 4k --qd 8 --offset 96M --size 512k --no-samples
wait
'
EXPECT='
bpf:bw-read read_iops bw-read 60 2
bpf:bw-write bps bw-write 1000000 2
bpf:io-read read_iops io-read 60 2
bpf:io-write write_iops io-write 30 2
stock,qdisk:bw-read read_iops bw-read 60
stock,qdisk:bw-write bps bw-write 1000000
stock,qdisk:io-read read_iops io-read 60
stock,qdisk:io-write write_iops io-write 30
bpf:fua-write bps fua-write 1000000 2
stock,qdisk:fua-write bps fua-write 1000000
order-verify verify order-verify
'
STOCK_IOMAX='
xvda riops=60 wbps=1000000
xvdb riops=60 wiops=30
xvdc wbps=1000000
'
