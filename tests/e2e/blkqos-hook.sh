#!/bin/bash
# dom0 hook for the blkqos end-to-end scenarios (tests/e2e/run.sh phases).
#
# The mode (E2E_MODE, from /etc/blkqos-e2e-mode, put there by e2e.sh;
# default bpf) says which xen-blkback dom0 runs and so what blkqos must do:
#   bpf    the patched module: limits enforced by BPF in the ring thread
#   stock  Debian's module: no hook; `blkqos run` must find that by itself
#          and enforce through cgroup io.max on the VBD's ring threads
#   qdisk  no blkqos: the disks on QEMU (backendtype=qdisk), limited by
#          QEMU's own throttle: the phases are in qdisk.sh
#
# boot:    bpf: the patched xen-blkback is loaded with BTF; `blkqos probe`
#          agrees. stock: `blkqos probe` finds no hook and names stock mode
# created: starts `blkqos run`, checks the mode it chose (and in stock mode
#          its cgroup v2 slice), applies the scenario's LIMITS with
#          `blkqos set`, waits until the maps hold them
# running: runs the scenario's LIVE snippet (live changes, kill -9 of the
#          loader, domain destroy), and samples the ring thread's CPU time;
#          stock: checks each STOCK_IOMAX VBD's ring threads land in its
#          group with that io.max
# done:    prints `blkqos stats --json` and map dumps, runs the scenario's
#          AFTER checks; stock: checks the "not enforced in stock mode"
#          reports against STOCK_UNENFORCED and that the gone guest's groups
#          are removed; unloads and checks nothing is left pinned (nor, in
#          stock mode, the slice)
#
# Scenario variables (see tests/e2e/scenarios/*.sh):
#   LIMITS  lines "DEV KEY=VALUE..." or "domain KEY=VALUE..." (blkqos set)
#   LIVE    bash snippet for the running phase; helpers below are available
#           ($E2E_MODE says the mode)
#   CPU_DEVS "DEV[:LIMIT_IOPS] ...": report each VBD's ring thread CPU per
#           request (with a limit, the scenario's EXPECT cpu_pct bounds it)
#   RULES   lines "NAME DEV|domain KEY=VALUE..." (blkqos run --rules): the
#           limits follow the domain by name (see follow_domid for a guest
#           that changes domid), and reach a VBD detached and attached
#           again, whose backend dir (and qos node) is new
#   LOADER_OPTS  options before "run" (e.g. -v: debug lines in the log)
#   SHOW_LOADER_LOG=1  print every loader log line at done (hook loader-all)
#   STOCK_IOMAX  lines "DEV KEY=VALUE...": in stock mode the VBD's ring
#           threads must be in its group
#           blkqos.slice/dom-<domid>/vbd-<domid>-<devid>
#           and its io.max line for the backing device must hold each
#           KEY=VALUE (io.max's own keys: riops wiops rbps wbps)
#   STOCK_UNENFORCED  lines "DEV WORD...": in stock mode the loader must
#           report the VBD once as "not enforced in stock mode" with each
#           WORD in the line (e.g. "xvdd iops-size=4096"); a VBD of the guest
#           not listed must not be reported
# Results are "@E2E hook ..." lines; "@E2E hook check NAME ok|FAIL ..." lines
# are collected by tests/e2e/check.py, and so are the facts it judges
# against the scenario's EXPECT bounds: "@E2E hook fact NAME KEY=VALUE..."
# (the hook applies no bound of its own to a measured time or cost).
set -u
. "$E2E_SCENARIO"
LIMITS=${LIMITS:-}
RULES=${RULES:-}
LIVE=${LIVE:-}
CPU_DEVS=${CPU_DEVS:-}
STOCK_IOMAX=${STOCK_IOMAX:-}
STOCK_UNENFORCED=${STOCK_UNENFORCED:-}
E2E_MODE=$(cat /etc/blkqos-e2e-mode 2>/dev/null || echo bpf)
SLICE=blkqos.slice
LOG=$(ls /run/blkqos-run*.log 2>/dev/null | sort -V | tail -n 1)
LOG=${LOG:-/run/blkqos-run1.log}
say() { echo "@E2E hook $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
FAILED=0
fact() {	# fact NAME KEY=VALUE...: a measurement for check.py to judge
	say "fact $*"
}
check() {	# check NAME CONDITION DETAIL...
	local name=$1 cond=$2
	shift 2
	if eval "$cond"; then say "check $name ok $*"; else say "check $name FAIL $*"; FAILED=1; fi
}

start_loader() {
	# one log per start (phases are separate processes: count the logs)
	LOG=/run/blkqos-run$(($(ls /run/blkqos-run*.log 2>/dev/null | wc -l) + 1)).log
	[ -z "$RULES" ] || printf '%s\n' "$RULES" > /run/blkqos.rules
	setsid blkqos ${LOADER_OPTS:-} run ${RULES:+--rules /run/blkqos.rules} "$@" > "$LOG" 2>&1 < /dev/null &
	echo $! > /run/blkqos.pid
	# attached and synced when it says it follows xenstore
	for _ in $(seq 150); do
		grep -q 'following xenstore' "$LOG" && return 0
		kill -0 "$(cat /run/blkqos.pid)" 2>/dev/null || break
		sleep 0.2
	done
	say "loader-log $(tr '\n' '|' < "$LOG")"
	return 1
}

# The JSON stats of one VBD (or "" if absent).
vbd_json() { blkqos stats "$E2E_DOMID/$1" --json 2>/dev/null; }

# Wait until a loadgen says it starts; remember when (dom0 uptime) for mark.
wait_loadgen() {
	for _ in $(seq 1200); do
		if grep -q "^GUEST-LOADGEN-START name=$1\$" "$E2E_RESULTS"; then
			up > "/run/start.$1"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Phases told apart by the VBD's own request count, not by the guest's
# console: a loadgen's result (a hundred sample lines) reaches dom0 up to
# 10 s late under emulation, so a START line after one is no clock. blkback
# counts the requests it dispatches in sysfs. The loops below fork nothing
# (a fork costs 0.1-0.5 s in this emulated dom0): they read sysfs and
# /proc/uptime with builtins and nap on a FIFO nobody writes. Phases that
# must be told apart are separated by a pause in the workload.
vbd_stat_dir() {	# DEV -> blkback's statistics directory of the VBD
	echo "/sys/bus/xen-backend/devices/vbd-$E2E_DOMID-$(dev_devid "$1")/statistics"
}
io_count() {	# STATDIR: IO_COUNT = the requests dispatched from its rings
	local rd wr
	{ read -r rd < "$1/rd_req" && read -r wr < "$1/wr_req"; } 2>/dev/null || return 1
	IO_COUNT=$((rd + wr))
}
uptime_ms() {	# UPTIME_MS = dom0's uptime in ms
	local u
	read -r u _ < /proc/uptime
	UPTIME_MS=$((10#${u/./}0))
}
nap() {	# [SECONDS]: sleep (default 0.1 s) without a fork, on a FIFO nobody writes
	[ -p /run/sleep.fifo ] || mkfifo /run/sleep.fifo
	[ -n "${NAP_FD:-}" ] || exec {NAP_FD}<> /run/sleep.fifo
	read -r -t "${1:-0.1}" -u "$NAP_FD" _ || :
}
wait_io_count() {	# DEV N: until N requests are dispatched (past a boot's)
	local dir
	dir=$(vbd_stat_dir "$1")
	for _ in $(seq 1200); do
		io_count "$dir" || return 1
		[ "$IO_COUNT" -ge "$2" ] && return 0
		nap
	done
	return 1
}
wait_io_pause() {	# DEV MS: until no request is dispatched for MS ms
	local dir last since
	dir=$(vbd_stat_dir "$1")
	io_count "$dir" || return 1
	last=$IO_COUNT
	uptime_ms
	since=$UPTIME_MS
	for _ in $(seq 1200); do
		nap
		io_count "$dir" || return 1
		uptime_ms
		if [ "$IO_COUNT" != "$last" ]; then
			last=$IO_COUNT since=$UPTIME_MS
		elif [ $((UPTIME_MS - since)) -ge "$2" ]; then
			return 0
		fi
	done
	return 1
}
# Until the VBD's requests start again; the moment is loadgen $2's start for
# mark (a lower bound again: the guest started it up to a nap before).
wait_io_start() {	# DEV NAME
	local dir first
	dir=$(vbd_stat_dir "$1")
	io_count "$dir" || return 1
	first=$IO_COUNT
	for _ in $(seq 1200); do
		io_count "$dir" || return 1
		if [ "$IO_COUNT" != "$first" ]; then
			up > "/run/start.$2"
			return 0
		fi
		nap
	done
	return 1
}

# Record mark $1: ms since loadgen $2 started, as seen from dom0. The start
# line reached dom0 late (console lag), so the true guest time of the mark is
# this or up to the lag later: windows after a mark start 2.5 s after it.
# The guest's CLOCK_MONOTONIC stops while it is suspended (xl save/restore,
# the last round of xl migrate): the time it may have been, counted by
# guest_stopped, comes off, so that a mark stays a lower bound.
mark() {
	local t0 off
	t0=$(cat "/run/start.$2" 2>/dev/null || up)
	off=$(cat /run/guest-stopped.ms 2>/dev/null || echo 0)
	echo "@E2E hook mark $1 t_ms=$(awk -v a="$t0" -v b="$(up)" -v o="$off" 'BEGIN{printf "%d", (b - a) * 1000 - o}')"
}
guest_stopped() {	# MS: the guest may have been suspended that long
	echo $(( $(cat /run/guest-stopped.ms 2>/dev/null || echo 0) + $1 )) > /run/guest-stopped.ms
}

# The guest lives on in another domain (xl restore, xl migrate): the helpers
# here follow it, and so does dom0-init (/run/e2e-domid).
follow_domid() {	# DOMID
	E2E_DOMID=$1
	echo "$1" > /run/e2e-domid
}
domid_named() {	# NAME -> the domid of the domain of that name (no xl: cheap)
	local d n
	for d in $(xenstore-list /local/domain 2>/dev/null); do
		n=$(xenstore-read "/local/domain/$d/name" 2>/dev/null) && [ "$n" = "$1" ] &&
			{ echo "$d"; return 0; }
	done
	return 1
}

# A counter from one VBD's JSON stats: json_field "$(vbd_json xvda)" read ops
json_field() {
	echo "$1" | grep -o "\"$2\":{\"ops\":[0-9]*" | head -n 1 | grep -o '[0-9]*$'
}

# Wait for a line matching a regex in the guest's results.
wait_result() {
	for _ in $(seq 1200); do
		grep -q "$1" "$E2E_RESULTS" && return 0
		sleep 0.1
	done
	return 1
}

# CPU time of a VBD's ring thread while a loadgen runs, in % of a CPU and in
# us per request (requests counted by blkqos stats over the same interval).
# Ring thread CPU: the running phase keeps each listed VBD's ring thread CPU
# ticks (cheap reads of /proc/PID/stat, every 0.5 s, until the thread is
# gone); the done phase divides them by the VBD's requests from the last
# stats snapshot: CPU per request over the thread's life, throttled vs not.
# stat_ticks PID: TICKS = its CPU ticks so far (utime + stime), builtins only
stat_ticks() {
	local st rest
	read -r st 2>/dev/null < "/proc/$1/stat" || return 1
	rest=${st##*) }	# the fields after "(comm)", from field 3 (state)
	set -- $rest	# utime and stime are fields 14 and 15
	TICKS=$(( ${12} + ${13} ))
}

track_cpu() {	# DEV
	local dev=$1 pid=
	while [ -z "$pid" ]; do
		pid=$(ring_pid "$dev") || { sleep 0.5; pid=; }
		xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null || return 0
	done
	while stat_ticks "$pid"; do
		echo "$TICKS" > "/run/cpu.$dev.tmp" && mv "/run/cpu.$dev.tmp" "/run/cpu.$dev"
		# its wake-ups: each sleep it woke from is a voluntary switch
		while read -r k v; do
			[ "$k" = voluntary_ctxt_switches: ] && echo "$v" > "/run/wake.$dev"
		done < "/proc/$pid/status"
		sleep 0.5
	done
}

report_cpu() {	# DEV[:LIMIT_IOPS] ...
	local spec dev limit ticks hz line ops us wakes
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	for spec in "$@"; do
		dev=${spec%%:*} limit=${spec#*:}
		[ "$limit" = "$spec" ] && limit=
		ticks=$(cat "/run/cpu.$dev" 2>/dev/null)
		line=$(sed 's/},{"domid"/}\n{"domid"/g' /run/stats.last 2>/dev/null | grep "\"dev\":\"$dev\"")
		ops=$(( $(json_field "$line" read || echo 0) + $(json_field "$line" write || echo 0) ))
		if [ -z "$ticks" ] || [ "$ops" -eq 0 ]; then
			check "ring-cpu-$dev" false "no CPU or request count for $dev (ticks=${ticks:-none} ops=$ops)"
			continue
		fi
		us=$(awk -v t="$ticks" -v hz="$hz" -v n="$ops" 'BEGIN{printf "%.0f", 1e6 * t / hz / n}')
		wakes=$(cat "/run/wake.$dev" 2>/dev/null || echo 0)
		# (with a limit, check.py's cpu_pct judges it: us x limit = % of a CPU)
		say "ring-cpu dev=$dev thread=$E2E_DOMID.$dev-0 cpu_s=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN{print t / hz}') requests=$ops us_per_request=$us wakeups=$wakes wakeups_per_request=$(awk -v w="$wakes" -v n="$ops" 'BEGIN{printf "%.2f", w / n}')${limit:+ limit_iops=$limit}"
	done
}

# For people: what blkqos stats and bpftool show right now (printed at done).
show_now() {
	blkqos stats "$E2E_DOMID" --histogram > /run/show-stats.txt 2>&1
	blkqos stats "$E2E_DOMID" --histogram --json 2>&1 | tr -d '\n' > /run/show-hist.json
	blkqos stats --format prometheus > /run/show-prom.txt 2>&1
	bpftool map dump pinned /sys/fs/bpf/blkqos/vbd_stats > /run/show-dump.txt 2>&1
}

ring_pid() {	# DEV [RING] -> pid of the ring thread <domid>.<dev>-<ring> (ring 0)
	local p c
	for p in /proc/[0-9]*; do	# read, not cat: no fork per process
		read -r c 2>/dev/null < "$p/comm" && [ "$c" = "$E2E_DOMID.$1-${2:-0}" ] &&
			{ echo "${p#/proc/}"; return 0; }
	done
	return 1
}

ring_names() {	# the guest's ring threads, for messages: "1.xvda-0 1.xvda-1 ..."
	local p c
	for p in /proc/[0-9]*; do
		read -r c 2>/dev/null < "$p/comm" && case "$c" in "$E2E_DOMID".*-[0-9]*) echo -n "$c " ;; esac
	done
}

ring_ticks() {	# DEV RING -> CPU ticks (utime + stime) of that ring thread so far
	local pid
	pid=$(ring_pid "$1" "$2") || return 1
	stat_ticks "$pid" || return 1
	echo "$TICKS"
}

# dom0's kernel log has no warning, oops or leak report (what a parked
# request lost or freed twice at teardown would leave).
dmesg_check() {
	local bad
	bad=$(dmesg | grep -E "WARNING:|BUG:|Call Trace:|general protection|leak|xen-blkback.*(error|fail|leak)" | head -n 3 | tr '\n' '|')
	check dmesg-clean '[ -z "$bad" ]' "dom0 kernel log: ${bad:-no warning, oops or leak}"
}

# ---- stock mode: cgroup v2 groups of the VBDs

cg_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

# DEV -> its devid (the backend dir's name). From xenstore, kept in
# /run/devids by the created phase: the done phase runs when the guest and
# its backend dirs are gone.
save_devids() {
	local p
	for p in $E2E_VBD_PATHS; do
		echo "$(xenstore-read "$p/dev" 2>/dev/null) ${p##*/}"
	done > /run/devids
}
dev_devid() {	# DEV
	awk -v d="$1" '$1 == d { print $2; found = 1; exit } END { exit !found }' /run/devids 2>/dev/null
}
vbd_backend_dir() {	# DEV -> its backend directory in xenstore (vbd, or qdisk's)
	local devid p
	devid=$(dev_devid "$1")
	for p in $E2E_VBD_PATHS; do
		[ "${p##*/}" = "$devid" ] && { echo "$p"; return 0; }
	done
	echo "/local/domain/0/backend/vbd/$E2E_DOMID/$devid"
}

# The teardown scenario: xl block-detach of DEV while requests are held
# (parked in blkback, queued in QEMU's throttle): check NAME that it returns
# 0; detach_gone_check, later, that its backend directory went.
detach_check() {	# NAME DEV
	local dir t0 rc
	dir=$(vbd_backend_dir "$2")
	echo "$dir" > /run/detach.dir
	uptime_ms
	t0=$UPTIME_MS
	xl block-detach "$E2E_DOMID" "${dir##*/}" > /run/detach.out 2>&1
	rc=$?
	uptime_ms
	check "$1" "[ $rc = 0 ]" "xl block-detach with requests held: rc=$rc after $((UPTIME_MS - t0)) ms $(tr '\n' ' ' < /run/detach.out)"
}
detach_gone_check() {	# NAME
	local dir
	dir=$(cat /run/detach.dir)
	for _ in $(seq 100); do xenstore-exists "$dir" 2>/dev/null || break; nap; done
	check "$1" "! xenstore-exists $dir" "${dir#/local/domain/0/} removed"
}

vbd_group() {	# DEV -> its cgroup directory
	echo "$(cg_mount)/$SLICE/dom-$E2E_DOMID/vbd-$E2E_DOMID-$(dev_devid "$1")"
}

dev_majmin() {	# DEV -> MAJ:MIN (decimal) of its loop device
	local kv
	for kv in $E2E_DISK_DEVS; do
		[ "${kv%%=*}" = "$1" ] && { cat "/sys/class/block/${kv#*=/dev/}/dev"; return; }
	done
	return 1
}

# The io.max line of DEV's group for its backing device ("" if none).
iomax_line() {	# DEV
	local g mm
	g=$(vbd_group "$1")
	mm=$(dev_majmin "$1")
	grep "^$mm " "$g/io.max" 2>/dev/null
}

# True if the io.max line of DEV holds every KEY=VALUE given.
iomax_has() {	# DEV KEY=VALUE...
	local line kv
	line=" $(iomax_line "$1") "
	shift
	for kv in "$@"; do
		case "$line" in *" $kv "*) ;; *) return 1 ;; esac
	done
	[ "$line" != "  " ]
}

# Stock mode, live changes: when io.max takes a new setting. iomax_watch,
# started just before the change, polls DEV's io.max with shell builtins
# only (no fork per poll: 10 ms steps) and writes the realtime (us) at which
# it first holds every KEY=VALUE to OUT; iomax_check then checks that this
# is within 100 ms of T0_US.
iomax_watch() {	# DEV "KEY=VALUE..." OUT
	local dev=$1 kvs=$2 out=$3 f mm
	f=$(vbd_group "$dev")/io.max
	mm=$(dev_majmin "$dev")
	rm -f "$out"
	(
		n=0
		while [ $n -lt 1000 ]; do
			line=
			while read -r l; do
				case "$l" in "$mm "*) line=" $l " ;; esac
			done < "$f"
			ok=1
			for kv in $kvs; do
				case "$line" in *" $kv "*) ;; *) ok=0 ;; esac
			done
			[ $ok = 1 ] && { echo "${EPOCHREALTIME/./} $line" > "$out"; exit 0; }
			nap 0.01
			n=$((n + 1))
		done
		echo "none $line" > "$out"
	) &
}
iomax_check() {	# NAME OUT T0_US: fact NAME ms=.. (never: not in time)
	local name=$1 out=$2 t0=$3 t line ms
	for _ in $(seq 150); do [ -s "$out" ] && break; sleep 0.1; done
	read -r t line 2>/dev/null < "$out"
	ms=$(awk -v a="$t0" -v b="$t" 'BEGIN { if (b ~ /^[0-9]+$/) printf "%.1f", (b - a) / 1e3; else print "never" }')
	fact "$name" "ms=$ms" "polls_ms=10" "line=\"${line:-none}\""
}

# Live changes (the live scenario): each reports how long it took to be in
# force, for the scenario's EXPECT to bound.
# live_set NAME DEV KEY=VALUE...: blkqos set --wait; fact NAME ms=.. (its
# own figure: the write to the map), and in stock mode fact NAME-iomax, the
# time io.max took after the map (as blkqos set saw it in force; watched
# for the riops and wiops an iops key gives).
live_set() {
	local name=$1 dev=$2 out ms t_map kvs="" kv
	shift 2
	for kv in "$@"; do case "$kv" in iops=*) kvs="riops=${kv#iops=} wiops=${kv#iops=}" ;; esac; done
	[ "$E2E_MODE" = stock ] && iomax_watch "$dev" "$kvs" "/run/iomax.$name"
	out=$(blkqos set "$E2E_DOMID" "$dev" "$@" --wait | tail -n 1)
	ms=$(echo "$out" | sed -n "s/in force after \([0-9.]*\) ms.*/\1/p")
	fact "$name" "ms=${ms:-never}" "out=\"${out:-not in force}\""
	t_map=$(echo "$out" | sed -n "s/.*realtime_ns=\([0-9]*\)[0-9][0-9][0-9].*/\1/p")
	[ "$E2E_MODE" != stock ] || iomax_check "$name-iomax" "/run/iomax.$name" "${t_map:-0}"
}
# live_write NAME DEV KEY VALUE: a raw xenstore-write of the VBD's qos/KEY,
# timed from the moment xenstored delivers its watch event (to a watcher
# started beforehand, as the loader gets its own; its line 1 is the event
# every new watch gets at once, line 2 the write) to the map update seen by
# a waiter started beforehand (both on the realtime clock): how fast the
# loader reacts to the write, not the xenstore-write process, which alone
# takes 80-670 ms in this emulated dom0. fact NAME ms=..; in stock mode fact
# NAME-iomax, from the watch event to io.max.
live_write() {
	local name=$1 dev=$2 key=$3 value=$4 path waiter watcher t_event t_seen ms l
	path=$(vbd_backend_dir "$dev")/qos/$key
	# the watcher first, then the waiter (a fork costs up to 0.5 s here: the
	# waiter's own timeout is not what is measured, so it is long)
	( xenstore-watch -n 2 "$path" | while read -r l; do echo "${EPOCHREALTIME/./} $l"; done > "/run/watch.$name" ) &
	watcher=$!
	for _ in $(seq 200); do [ -s "/run/watch.$name" ] && break; nap 0.05; done
	blkqos wait "$E2E_DOMID" "$dev" "$key=$value" --timeout 60 > "/run/wait.$name" &
	waiter=$!
	for _ in $(seq 200); do
		read -r l 2>/dev/null < "/run/wait.$name" && [ "$l" = waiting ] && break
		nap 0.05
	done
	[ "$E2E_MODE" = stock ] && iomax_watch "$dev" "riops=$value wiops=$value" "/run/iomax.$name"
	xenstore-write "$path" "$value"
	wait $waiter
	for _ in $(seq 50); do [ "$(wc -l < "/run/watch.$name")" -ge 2 ] && break; sleep 0.1; done
	kill $watcher 2>/dev/null
	t_event=$(sed -n "2s/ .*//p" "/run/watch.$name")
	t_seen=$(sed -n "s/.*realtime_ns=\([0-9]*\).*/\1/p" "/run/wait.$name")
	ms=never
	[ -n "$t_seen" ] && [ -n "$t_event" ] &&
		ms=$(awk -v a="$t_event" -v b="$t_seen" 'BEGIN{printf "%.1f", (b / 1e3 - a) / 1e3}')
	fact "$name" "ms=$ms"
	[ "$E2E_MODE" != stock ] || iomax_check "$name-iomax" "/run/iomax.$name" "${t_event:-0}"
}

# Stock mode, running phase: for every VBD of STOCK_IOMAX, poll its group's
# cgroup.procs (shell builtins only, 20 ms steps; the loader makes the group
# before the guest connects) until the ring thread lands there; then check
# that every ring thread of the VBD (<domid>.<dev>-<ring>, one /proc scan)
# is in it and that io.max holds the values, and report how long after the
# thread's start (starttime in /proc/PID/stat, 10 ms ticks) it was moved:
# the time it ran unthrottled (fact stock-move-DEV ms=..., bounded by
# check.py at the loader's horizon of looks: a thread found later is never
# found). The loader moves a ring thread at its birth: 79-1810 ms measured
# at a guest's start here, once 1.9-5.8 s (five disks, all moved at one
# moment ~6 s after the first was born: the loader busy elsewhere); before
# births its looks took 0.35-2.3 s.
stock_groups_check() {
	local -A want grp pids moved
	local dev kv p c up i pending hz st start ms l missing others
	while read -r dev kv; do
		[ -n "$dev" ] || continue
		want[$dev]=$kv
		grp[$dev]=$(vbd_group "$dev")
	done <<< "$STOCK_IOMAX"
	[ ${#want[@]} -gt 0 ] || return 0
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	for ((i = 0; i < 6000; i++)); do	# up to 2 min: the guest boots first
		pending=0
		read -r up _ < /proc/uptime
		for dev in "${!want[@]}"; do
			[ -z "${moved[$dev]:-}" ] || continue
			pending=1
			l=
			{ while read -r p; do l="$l $p"; done < "${grp[$dev]}/cgroup.procs"; } 2>/dev/null
			[ -n "$l" ] && { moved[$dev]=$up; pids[$dev]=$l; }
		done
		[ $pending = 0 ] && break
		if [ $((i % 50)) = 49 ] && ! xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null; then
			break
		fi
		nap 0.02
	done
	for dev in "${!want[@]}"; do
		touch "/run/stock-checked.$dev"
		kv=${want[$dev]}
		if [ -z "${moved[$dev]:-}" ]; then
			check "stock-group-$dev" false "nothing moved into ${grp[$dev]#$(cg_mount)/}; io.max \"$(iomax_line "$dev")\""
			continue
		fi
		# what is in the group must be the VBD's ring threads, and all of them
		others= missing=
		for p in ${pids[$dev]}; do
			read -r c 2>/dev/null < "/proc/$p/comm"
			case "$c" in "$E2E_DOMID.$dev-"[0-9]*) ;; *) others="$others $p($c)" ;; esac
		done
		for p in /proc/[0-9]*; do
			read -r c 2>/dev/null < "$p/comm" || continue
			case "$c" in "$E2E_DOMID.$dev-"[0-9]*) ;; *) continue ;; esac
			case " ${pids[$dev]} " in *" ${p#/proc/} "*) ;; *)
				grep -qx "${p#/proc/}" "${grp[$dev]}/cgroup.procs" || missing="$missing ${p#/proc/}($c)" ;;
			esac
		done
		# the first ring's start, in ticks since boot (field 22 of stat)
		start= ms=never
		p=${pids[$dev]# }
		if read -r st 2>/dev/null < "/proc/${p%% *}/stat"; then
			set -- ${st##*) }	# fields from 3 (state) on: starttime is $20
			start=${20}
			ms=$(awk -v u="${moved[$dev]}" -v s="$start" -v hz="$hz" 'BEGIN { printf "%d", (u - s / hz) * 1000 }')
		fi
		fact "stock-move-$dev" ms="$ms"
		check "stock-group-$dev" '[ -z "$others$missing" ] && iomax_has "$dev" $kv && [ "$ms" != never ]' \
			"ring thread(s)${pids[$dev]} moved into ${grp[$dev]#$(cg_mount)/} $ms ms after the thread started${others:+; NOT ring threads:$others}${missing:+; ring threads NOT in it:$missing};" \
			"io.max \"$(iomax_line "$dev")\", want $kv"
	done
}

# Stock mode, done phase: the loader's "not enforced in stock mode" lines
# name exactly the VBDs of STOCK_UNENFORCED, each with its words.
stock_unenforced_check() {
	local kv dev devid want line words w n
	cat /run/blkqos-run*.log 2>/dev/null | grep 'not enforced in stock mode' > /run/unenforced.txt
	while IFS= read -r l; do say "loader-unenforced $l"; done < /run/unenforced.txt
	for kv in $E2E_DISK_DEVS; do
		dev=${kv%%=*}
		if ! devid=$(dev_devid "$dev"); then
			check "stock-unenforced-$dev" false "no devid for $dev in /run/devids: $(tr '\n' ' ' < /run/devids)"
			continue
		fi
		# lines that name this VBD (by name or devid, as a word)
		grep -E "(^|[^0-9A-Za-z])($dev|$devid)([^0-9A-Za-z]|$)" /run/unenforced.txt > /run/unenforced.$dev
		n=$(wc -l < /run/unenforced.$dev)
		want=$(echo "$STOCK_UNENFORCED" | awk -v d="$dev" '$1 == d { $1 = ""; print; exit }')
		if [ -z "$(echo "$STOCK_UNENFORCED" | awk -v d="$dev" '$1 == d')" ]; then
			check "stock-unenforced-$dev" '[ "$n" -eq 0 ]' \
				"everything set on $dev is enforced: no report expected, $n line(s): $(head -n 1 /run/unenforced.$dev)"
			continue
		fi
		words=
		for w in $want; do
			# a whole item word: "iops=30" is not found in "read-iops=30"
			grep -qE -- "[ ,:]$w([ ,]|\$)" /run/unenforced.$dev || words="$words $w"
		done
		check "stock-unenforced-$dev" '[ "$n" -ge 1 ] && [ -z "$words" ]' \
			"reported $n time(s), want$want${words:+; MISSING:$words}: $(head -n 1 /run/unenforced.$dev)"
	done
}

if [ "$E2E_MODE" = qdisk ]; then
	. /e2e/qdisk.sh
	qdisk_phase "$1"
	exit $FAILED
fi

case "$1" in
boot)
	blkqos probe > /run/probe.txt 2>&1
	rc=$?
	say "probe $(tr '\n' '|' < /run/probe.txt)"
	if [ "$E2E_MODE" = stock ]; then
		say "cgroup2 before the loader: $(cg_mount || true)"
		check probe-stock '[ $rc -eq 0 ] && grep -q "hook xen_blkif_bpf_admit: no" /run/probe.txt && grep -q "^mode: stock" /run/probe.txt' \
			"the stock xen-blkback has no hook; blkqos probe rc=$rc, $(grep '^mode:' /run/probe.txt | cut -c1-40)"
	else
		check probe '[ $rc -eq 0 ] && grep -q "^mode: bpf" /run/probe.txt' "blkqos probe rc=$rc, $(grep '^mode:' /run/probe.txt | cut -c1-40)"
	fi
	exit $FAILED
	;;
created)
	save_devids
	start_loader || { say "check loader-start FAIL blkqos run did not reach \"following xenstore\": $(tail -n 2 "$LOG" | tr '\n' '|')"; exit 1; }
	say "loader $(grep 'mode:' "$LOG")"
	check mode 'grep -q "mode: $E2E_MODE" "$LOG"' "want mode: $E2E_MODE; log: $(grep -o 'mode: [^;]*' "$LOG")"
	if [ "$E2E_MODE" = stock ]; then
		cgm=$(cg_mount)
		check stock-cgroup '[ -n "$cgm" ] && [ -d "$cgm/$SLICE" ] && grep -qw io "$cgm/cgroup.subtree_control" && grep -qw io "$cgm/$SLICE/cgroup.subtree_control"' \
			"cgroup2 at ${cgm:-nowhere}, $SLICE: $(ls -d "$cgm/$SLICE" 2>/dev/null || echo absent), subtree_control: root \"$(cat "$cgm/cgroup.subtree_control" 2>/dev/null)\" slice \"$(cat "$cgm/$SLICE/cgroup.subtree_control" 2>/dev/null)\""
	fi
	while read -r dev kv; do
		[ -z "$dev" ] && continue
		if [ "$dev" = domain ]; then
			blkqos set "$E2E_DOMID" $kv >> "$LOG" 2>&1
		else
			blkqos set "$E2E_DOMID" "$dev" $kv >> "$LOG" 2>&1
		fi
		say "set $dev $kv rc=$?"
	done <<< "$LIMITS"
	# give the watch a moment, then show what is in force
	for _ in $(seq 50); do
		n=$(blkqos stats "$E2E_DOMID" --json | grep -o '"rate":' | wc -l)
		[ "$n" -gt 0 ] || [ -z "$LIMITS$RULES" ] && break
		sleep 0.1
	done
	say "stats-created $(blkqos stats "$E2E_DOMID" --json | tr -d '\n')"
	exit $FAILED
	;;
running)
	# Keep the last stats taken while the guest's VBDs exist: once the guest
	# is gone the loader removes its entries.
	# (VBDs go one by one at the end: keep the last snapshot that has them all)
	(
		most=1
		while :; do
			if blkqos stats --json > /run/stats.tmp 2>/dev/null; then
				n=$(grep -o '"devid"' /run/stats.tmp | wc -l)
				if [ "$n" -ge "$most" ]; then
					most=$n
					mv /run/stats.tmp /run/stats.last
				fi
			fi
			sleep 0.3
		done
	) &
	snap_pid=$!
	for spec in $CPU_DEVS; do
		track_cpu "${spec%%:*}" &
	done
	if [ "$E2E_MODE" = stock ]; then
		stock_groups_check &
	fi
	if [ -n "$LIVE" ]; then
		eval "$LIVE"
	fi
	# until the guest is gone (dom0-init kills this hook 5 s after that)
	while xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null; do sleep 0.5; done
	kill $snap_pid 2>/dev/null
	wait
	;;
done)
	say "stats-last $(tr -d "\n" 2>/dev/null < /run/stats.last)"
	[ -n "$CPU_DEVS" ] && report_cpu $CPU_DEVS
	say "stats-done $(blkqos stats --json | tr -d '\n')"
	check entries-removed '! blkqos stats --json | grep -q "\"domid\":$E2E_DOMID,"' "no map entry left for the gone guest"
	cgm=$(cg_mount)
	if [ "$E2E_MODE" = stock ]; then
		while read -r dev kv; do
			[ -z "$dev" ] || [ -e "/run/stock-checked.$dev" ] ||
				check "stock-group-$dev" false "never checked: the running phase ended first"
		done <<< "$STOCK_IOMAX"
		stock_unenforced_check
		for _ in $(seq 50); do
			[ -e "$cgm/$SLICE/dom-$E2E_DOMID" ] || break
			sleep 0.1
		done
		check stock-groups-removed '[ -n "$cgm" ] && [ ! -e "$cgm/$SLICE/dom-$E2E_DOMID" ]' \
			"the gone guest's group $SLICE/dom-$E2E_DOMID: $( [ -e "$cgm/$SLICE/dom-$E2E_DOMID" ] && echo "still there: $(ls "$cgm/$SLICE/dom-$E2E_DOMID" | grep '^vbd-' | tr '\n' ' ')" || echo removed)"
	else
		check bpf-no-cgroup '[ -z "$cgm" ] || [ ! -e "$cgm/$SLICE" ]' \
			"bpf mode makes no cgroup (cgroup2 at ${cgm:-none})"
	fi
	bpftool map dump pinned /sys/fs/bpf/blkqos/vbds > /run/vbds.txt 2>&1
	say "bpftool-vbds $(grep -c '"slot"' /run/vbds.txt) entries, fields: $(grep -o '"[a-z_]*":' /run/vbds.txt | sort -u | head -8 | tr -d '\n')"
	if [ -n "${SHOW_DUMP:-}" ]; then
		# taken by show_now while the guest ran (its entries go with it)
		while IFS= read -r l; do say "show-stats $l"; done < /run/show-stats.txt
		head -n 40 /run/show-dump.txt | while IFS= read -r l; do say "show-dump $l"; done
		say "show-hist $(cat /run/show-hist.json)"
		# the metrics with values that say something: limits, traffic, waits
		grep -E '^blkqos_(limit_|block_stats_(read|throttled)|throttle_wait_seconds_(sum|count))' \
			/run/show-prom.txt | while IFS= read -r l; do say "show-prom $l"; done
		# the reads the histogram holds beside the VBD's deferrals (check.py
		# judges them: the scenario's wait-histogram case)
		held=$(grep -o '"read":{"count":[0-9]*' /run/show-hist.json | grep -o '[0-9]*$')
		defer=$(grep -o '"deferrals":[0-9]*' /run/show-hist.json | grep -o '[0-9]*$')
		fact wait-hist held="${held:-none}" deferrals="${defer:-none}"
	fi
	if [ -n "${AFTER:-}" ]; then
		eval "$AFTER"
	fi
	pid=$(cat /run/blkqos.pid 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	check loader-stopped '! kill -0 "$pid" 2>/dev/null' "pid $pid"
	blkqos unload >> /run/blkqos-unload.log 2>&1
	check unload-clean '[ ! -e /sys/fs/bpf/blkqos ] && ! bpftool prog show | grep -q blkqos_' \
		"pinned=$(ls /sys/fs/bpf/blkqos 2>/dev/null | tr '\n' ' ')"
	if [ "$E2E_MODE" = stock ]; then
		cgm=$(cg_mount)
		check stock-unload-clean '[ -n "$cgm" ] && [ ! -e "$cgm/$SLICE" ]' \
			"after blkqos unload: ${cgm:-no cgroup2 mount}/$SLICE $( [ -e "$cgm/$SLICE" ] && echo "is still there: $(ls "$cgm/$SLICE" | grep '^dom-' | tr '\n' ' ')" || echo gone)"
	fi
	dmesg_check
	cat /run/blkqos-run*.log | grep -E 'warning|error' | head -5 | while read -r l; do say "loader-log $l"; done
	# stock mode: how each ring thread got into its group (at its birth, or by a look)
	[ "$E2E_MODE" = stock ] && grep -hE "^blkqos: vbd [0-9]+/[0-9]+: .*ring thread" /run/blkqos-run*.log | head -n 40 |
		while read -r l; do say "loader-rings $l"; done
	[ -n "${SHOW_LOADER_LOG:-}" ] && cat /run/blkqos-run*.log | while read -r l; do say "loader-all $l"; done
	exit $FAILED
	;;
esac
exit 0
