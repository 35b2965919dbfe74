# Milestone 2 demo: the dom0 hook runs between guest create and the workload
# (guest created paused), and again while the workload runs; two disks at once.
# (busybox sh: a bare "wait" returns 0; wait for each pid to see failures)
DISKS="xvda:64M xvdb:64M"
DOM0_SCRIPT=../hooks/demo.sh
GUEST_TIMEOUT=240
WORKLOAD='
loadgen --name a-randread4k --dev /dev/xvda --rw randread --bs 4k --qd 1 --seconds 8 & a=$!
loadgen --name b-mixed4k --dev /dev/xvdb --rw mixed --mix 70 --bs 4k --qd 2 --seconds 8 & b=$!
wait $a
wait $b
'
