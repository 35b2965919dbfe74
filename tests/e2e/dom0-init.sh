#!/bin/bash
# /init of the emulated dom0 (a Debian kernel under Debian's Xen in QEMU).
#
# Brings up the Xen toolstack, creates the PV guest from /e2e/scenario with
# its disks on tmpfs-backed loop devices, runs the hook /e2e/hook at each
# phase, forwards the guest's console to its own console (the QEMU serial log)
# and ends QEMU through isa-debug-exit with a pass/fail status.
#
# Machine-readable lines on the serial console start with "@E2E ":
#   @E2E step NAME uptime=S              progress
#   @E2E guest LINE                      a LOADGEN/SAMPLE/VERIFYBAD/RESUME/GUEST-* line of the guest
#   @E2E dom0 result=pass|fail ...       final verdict
# (hooks may print their own "@E2E hook ..." lines.)
#
# Hook: /e2e/hook PHASE, run with bash, env E2E_PHASE, E2E_DOMID, E2E_GUEST,
# E2E_DISK_DEVS ("xvda=/dev/loop0 ..."), E2E_VBD_PATHS (backend xenstore dirs:
# backend/vbd, or backend/qdisk for a disk QEMU serves),
# E2E_RESULTS (file with the guest's machine lines), E2E_SCENARIO.
#   boot     xenstored/xenconsoled up, modules loaded, before guest create
#   created  guest created paused (backends exist, frontends not yet connected)
#   running  in the background right after unpause; killed 5 s after the guest ends
#   done     after the guest is gone (may check E2E_RESULTS)
# A non-zero exit of boot/created/done fails the run.
# A running hook that moves the guest to a new domid (xl save + restore,
# xl migrate) writes the new domid to /run/e2e-domid and holds
# /run/e2e-moving while the guest has no domain or two; the done hook gets
# the last domid as E2E_DOMID.

export PATH=/usr/lib/xen/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
# applet links (existing files such as bash and flock are kept)
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
# for the BPF loader: bpffs, tracefs, debugfs; no memlock limit
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ulimit -l unlimited
# the block hotplug script hangs without these
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

up() { local u; read -r u _ < /proc/uptime; echo "$u"; }
step() { echo "@E2E step $1 uptime=$(up)"; }

# value written to isa-debug-exit; QEMU exits with (value << 1) | 1
EXIT_PASS=0x21	# qemu exit 67
EXIT_FAIL=0x22	# qemu exit 69

finish() {
	local res=$1
	shift
	echo "@E2E dom0 result=$res $* uptime=$(up)"
	sync
	sleep 0.5
	if [ "$res" = pass ]; then v=$EXIT_PASS; else v=$EXIT_FAIL; fi
	printf "\\x${v#0x}" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
	sleep 5
	echo "@E2E dom0 isa-debug-exit did not end QEMU"
	poweroff -f
}
fail() { finish fail "reason=\"$*\""; }

step dom0-init

# ---- scenario settings
DISKS="xvda:128M"
GUEST_MEM=256
GUEST_VCPUS=1
GUEST_TIMEOUT=300
GUEST_NAME=e2eguest
GUEST_CPUS=""		# xl cpus= (pCPU affinity), e.g. "1"
GUEST_EXTRA=""		# more guest kernel args
HOTPLUG=fast		# fast: /etc/xen/scripts/block-e2e; stock: Xen's "block" script
ERRORS_EXPECTED=""	# loadgen names whose I/O errors are the point (a disk detached under them)
BLKBACK_PARAMS=""	# e.g. "max_queues=2": rings per VBD offered whatever dom0's vCPUs
WORKLOAD=""
# shellcheck disable=SC1091
. /e2e/scenario
export E2E_SCENARIO=/e2e/scenario E2E_GUEST=$GUEST_NAME
export E2E_RESULTS=/run/e2e-guest.txt
: > "$E2E_RESULTS"

run_hook() {
	local phase=$1 rc
	E2E_PHASE=$phase bash /e2e/hook "$phase"
	rc=$?
	echo "@E2E step hook-$phase rc=$rc uptime=$(up)"
	return $rc
}

# ---- modules (BLKBACK_PARAMS: the scenario's xen-blkback module parameters)
while read -r m; do
	params=
	case "$m" in */xen-blkback.ko) params=$BLKBACK_PARAMS ;; esac
	insmod "$m" $params || fail "insmod $m $params"
done < /lib/modules/load-order
step modules
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"

# ---- toolstack
mkdir -p /run/xen /run/xenstored /var/lib/xenstored /var/lib/xen /var/log/xen/console \
	/run/xen-hotplug /var/lib/xen/dump
xenstored --pid-file=/run/xenstored.pid || fail "xenstored"
for _ in $(seq 100); do
	xenstore-exists / 2>/dev/null && break
	sleep 0.1
done
xen-init-dom0 >/run/xen-init-dom0.log 2>&1 || { cat /run/xen-init-dom0.log; fail "xen-init-dom0"; }
xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid ||
	fail "xenconsoled"
step xenstored-up

run_hook boot || fail "hook boot"

# ---- disks: tmpfs files behind loop devices, served by xen-blkback (phy)
# or, if /etc/e2e-disk-backend says qdisk, by QEMU (libxl starts it)
DISK_BACKEND=phy
[ -r /etc/e2e-disk-backend ] && read -r DISK_BACKEND < /etc/e2e-disk-backend
mkdir -p /disks
mount -t tmpfs -o size=90% tmpfs /disks
i=0
diskcfg=""
E2E_DISK_DEVS=""
for d in $DISKS; do
	vdev=${d%%:*}
	size=${d#*:}
	fallocate -l "$size" "/disks/$vdev.img" || truncate -s "$size" "/disks/$vdev.img" ||
		fail "disk file $vdev"
	[ -b /dev/loop$i ] || mknod /dev/loop$i b 7 $i
	losetup /dev/loop$i "/disks/$vdev.img" || fail "losetup loop$i"
	if [ "$DISK_BACKEND" = qdisk ]; then
		# (not direct-io-safe: that asks for native AIO, which Debian's
		# qemu-system-xen is built without, and QEMU then serves no disk)
		diskcfg="$diskcfg'vdev=$vdev,access=rw,backendtype=qdisk,target=/dev/loop$i', "
	elif [ "$HOTPLUG" = stock ]; then
		diskcfg="$diskcfg'phy:/dev/loop$i,$vdev,w', "
	else
		diskcfg="$diskcfg'vdev=$vdev,access=rw,backendtype=phy,script=block-e2e,target=/dev/loop$i', "
	fi
	E2E_DISK_DEVS="$E2E_DISK_DEVS $vdev=/dev/loop$i"
	i=$((i + 1))
done
export E2E_DISK_DEVS=${E2E_DISK_DEVS# }
step disks

cat > /run/guest.cfg <<EOF
name = "$GUEST_NAME"
type = "pv"
kernel = "/guest/vmlinux"
ramdisk = "/guest/initrd.cpio"
extra = "console=hvc0 rdinit=/init quiet loglevel=3 $GUEST_EXTRA"
memory = $GUEST_MEM
vcpus = $GUEST_VCPUS
${GUEST_CPUS:+cpus = \"$GUEST_CPUS\"}
disk = [ ${diskcfg%, } ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOF

# ---- guest
step xl-create
if ! xl create -p /run/guest.cfg; then
	# a device model (qdisk) that died says why in its own log
	for f in /var/log/xen/qemu-dm-*.log; do [ -e "$f" ] && tail -n 20 "$f"; done
	fail "xl create"
fi
E2E_DOMID=$(xl domid "$GUEST_NAME") || fail "no domid"
export E2E_DOMID
echo "$E2E_DOMID" > /run/e2e-domid
E2E_VBD_PATHS=""
for kind in vbd qdisk; do
	for v in $(xenstore-list "/local/domain/0/backend/$kind/$E2E_DOMID" 2>/dev/null); do
		E2E_VBD_PATHS="$E2E_VBD_PATHS /local/domain/0/backend/$kind/$E2E_DOMID/$v"
	done
done
export E2E_VBD_PATHS=${E2E_VBD_PATHS# }
step "created domid=$E2E_DOMID"

run_hook created || { xl destroy "$GUEST_NAME"; fail "hook created"; }

# forward the guest console (xenconsoled log) to our console. xenconsoled
# names a log after the domain's name at its birth: a guest restored or
# migrated (born "<name>--incoming") by the hook writes a new one, so every
# guest log that appears is followed.
conslog=/var/log/xen/console/guest-$GUEST_NAME.log
for _ in $(seq 100); do [ -e "$conslog" ] && break; sleep 0.1; done
mkfifo /run/fwd.fifo
follow_logs() {
	local f seen=" " pids=""
	trap 'kill $pids 2>/dev/null; exit 0' TERM
	while :; do
		for f in /var/log/xen/console/guest-*.log; do
			[ -e "$f" ] || continue
			case "$seen" in *" $f "*) continue ;; esac
			seen="$seen$f "
			tail -n +1 -F "$f" > /run/fwd.fifo 2>/dev/null &
			pids="$pids $!"
		done
		sleep 0.5
	done
}
follow_logs &
tail_pid=$!
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	LOADGEN*|SAMPLE*|VERIFYBAD*|RESUME*|GUEST-*|RESULT*)
		echo "$line" >> "$E2E_RESULTS"
		echo "@E2E guest $line"
		;;
	*) echo "guest| $line" ;;
	esac
done < /run/fwd.fifo &
fwd_pid=$!

xl unpause "$GUEST_NAME" || fail "xl unpause"
step unpaused
T_START=$(up)
E2E_PHASE=running bash /e2e/hook running &
running_pid=$!

# ---- wait for the guest to go away
deadline=$(( ${T_START%.*} + GUEST_TIMEOUT ))
timed_out=0
# The guest is the domain in /run/e2e-domid: a hook that gives it a new
# domid (xl restore, xl migrate) writes it there, and holds /run/e2e-moving
# while the guest is between two domains (saved, or migrating).
# (xenstore-exists is much cheaper than xl under emulation; libxl removes the
# domain's xenstore dir when the domain is destroyed)
# /run/e2e-moving first: the hook writes the new domid before it removes
# that file, so a domid read after seeing no file is the new one. (The
# other order lost a restored guest once: the old domid read, the hook
# moving on, then no file seen.)
guest_alive() {
	[ -e /run/e2e-moving ] && return 0
	read -r E2E_DOMID < /run/e2e-domid
	xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null
}
while guest_alive; do
	now=$(up)
	if [ "${now%.*}" -ge "$deadline" ]; then
		timed_out=1
		echo "@E2E dom0 guest timeout after ${GUEST_TIMEOUT}s"
		xl destroy "$E2E_DOMID"
		break
	fi
	sleep 1
done
step "guest-gone domid=$E2E_DOMID elapsed=$(awk "BEGIN{print $(up) - $T_START}")"

# let the forwarder drain the log
for _ in $(seq 20); do
	grep -q '^GUEST-DONE' "$E2E_RESULTS" && break
	sleep 0.25
done
sleep 0.5
kill $tail_pid 2>/dev/null
wait $fwd_pid 2>/dev/null
for _ in $(seq 10); do kill -0 $running_pid 2>/dev/null || break; sleep 0.5; done
kill $running_pid 2>/dev/null && echo "@E2E dom0 running hook killed"

hook_done=0
run_hook done || hook_done=$?

guest_rc=$(sed -n 's/^GUEST-DONE rc=\([0-9]*\).*/\1/p' "$E2E_RESULTS" | tail -n 1)
nload=$(grep -c '^LOADGEN' "$E2E_RESULTS")
# any I/O error or verify mismatch fails the run, even from a background loadgen
nerr=$(grep '^LOADGEN' "$E2E_RESULTS" | grep -v ' errors=0 ' |
	grep -cvE "^LOADGEN name=(${ERRORS_EXPECTED// /|})( |\$)")
summary="guest_rc=${guest_rc:-none} loadgen_lines=$nload loadgen_with_errors=$nerr"
summary="$summary hook_done_rc=$hook_done timed_out=$timed_out"
# A scenario whose hook destroys the guest on purpose (touching
# /run/e2e-expect-destroy) passes on the hook's verdict and on no I/O error.
if [ -e /run/e2e-expect-destroy ] && [ $timed_out = 0 ] && [ $hook_done = 0 ] &&
	[ "$nerr" = 0 ]; then
	finish pass "$summary destroyed_by_hook=1"
elif [ $timed_out = 0 ] && [ "$guest_rc" = 0 ] && [ $hook_done = 0 ] && [ "$nload" -gt 0 ] &&
	[ "$nerr" = 0 ]; then
	finish pass "$summary"
else
	finish fail "$summary"
fi
