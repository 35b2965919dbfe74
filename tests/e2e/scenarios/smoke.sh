# Milestone 1: stock blkback, 4 KiB random reads at QD1 for 10 s, unlimited.
DISKS="xvda:128M"
WORKLOAD='
loadgen --name randread4k-qd1 --dev /dev/xvda --rw randread --bs 4k --qd 1 --seconds 10
'
