# kernel self-test: every request paced to one per 50 ms by pace.bpf.c.
DISKS="xvda:64M"
GUEST_TIMEOUT=240
WORKLOAD='
loadgen --name paced-4k-qd1 --dev /dev/xvda --rw randread --bs 4k --qd 1 --seconds 8
loadgen --name paced-64k-qd8 --dev /dev/xvda --rw randread --bs 64k --qd 8 --seconds 8
'
