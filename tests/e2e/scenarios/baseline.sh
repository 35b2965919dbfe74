# Unlimited baseline of the stock path on two disks: 4 KiB random reads at QD1
# and QD16, 64 KiB sequential writes at QD4, and a write/read-back check.
DISKS="xvda:256M xvdb:64M"
GUEST_TIMEOUT=300
WORKLOAD='
loadgen --name randread4k-qd1  --dev /dev/xvda --rw randread --bs 4k --qd 1  --ramp 1 --seconds 10
loadgen --name randread4k-qd16 --dev /dev/xvda --rw randread --bs 4k --qd 16 --ramp 1 --seconds 10
loadgen --name write64k-qd4    --dev /dev/xvda --rw write    --bs 64k --qd 4 --ramp 1 --seconds 10
loadgen --name verify-xvdb     --dev /dev/xvdb --verify      --bs 16k --qd 8 --size 32M --no-samples
'
