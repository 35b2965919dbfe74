#!/bin/bash
# dom0 hook for the blkqos end-to-end scenarios (tests/e2e/run.sh phases).
#
# boot:    the patched xen-blkback is loaded with BTF; `blkqos probe` agrees
# created: starts `blkqos run` (attaches), applies the scenario's LIMITS with
#          `blkqos set`, waits until the maps hold them
# running: runs the scenario's LIVE snippet (live changes, kill -9 of the
#          loader, domain destroy), and samples the ring thread's CPU time
# done:    prints `blkqos stats --json` and map dumps, runs the scenario's
#          AFTER checks, unloads and checks nothing is left pinned
#
# Scenario variables (see tests/e2e/scenarios/*.sh):
#   LIMITS  lines "DEV KEY=VALUE..." or "domain KEY=VALUE..." (blkqos set)
#   LIVE    bash snippet for the running phase; helpers below are available
#   CPU_DEVS "DEV[:LIMIT_IOPS] ...": report each VBD's ring thread CPU per
#           request; with a limit, check it costs under CPU_MAX % (default 10)
# Results are "@E2E hook ..." lines; "@E2E hook check NAME ok|FAIL ..." lines
# are collected by tests/e2e/check.py.
set -u
. "$E2E_SCENARIO"
LIMITS=${LIMITS:-}
LIVE=${LIVE:-}
CPU_DEVS=${CPU_DEVS:-}
LOG=$(ls /run/blkqos-run*.log 2>/dev/null | sort -V | tail -n 1)
LOG=${LOG:-/run/blkqos-run1.log}
say() { echo "@E2E hook $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
now_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
FAILED=0
check() {	# check NAME CONDITION DETAIL...
	local name=$1 cond=$2
	shift 2
	if eval "$cond"; then say "check $name ok $*"; else say "check $name FAIL $*"; FAILED=1; fi
}

start_loader() {
	# one log per start (phases are separate processes: count the logs)
	LOG=/run/blkqos-run$(($(ls /run/blkqos-run*.log 2>/dev/null | wc -l) + 1)).log
	setsid blkqos run "$@" > "$LOG" 2>&1 < /dev/null &
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

# Record mark $1: ms since loadgen $2 started, as seen from dom0. The start
# line reached dom0 late (console lag), so the true guest time of the mark is
# this or up to the lag later: windows after a mark start 2.5 s after it.
mark() {
	local t0
	t0=$(cat "/run/start.$2" 2>/dev/null || up)
	echo "@E2E hook mark $1 t_ms=$(awk -v a="$t0" -v b="$(up)" 'BEGIN{printf "%d", (b - a) * 1000}')"
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
track_cpu() {	# DEV
	local dev=$1 pid= st rest
	while [ -z "$pid" ]; do
		pid=$(ring_pid "$dev") || { sleep 0.5; pid=; }
		xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null || return 0
	done
	while read -r st 2>/dev/null < "/proc/$pid/stat"; do
		rest=${st##*) }	# the fields after "(comm)", from field 3 (state)
		set -- $rest	# utime and stime are fields 14 and 15
		echo $(( ${12} + ${13} )) > "/run/cpu.$dev.tmp" && mv "/run/cpu.$dev.tmp" "/run/cpu.$dev"
		sleep 0.5
	done
}

report_cpu() {	# DEV[:LIMIT_IOPS] ...
	local spec dev limit ticks hz line ops us pct
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
		say "ring-cpu dev=$dev thread=$E2E_DOMID.$dev-0 cpu_s=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN{print t / hz}') requests=$ops us_per_request=$us${limit:+ limit_iops=$limit}"
		if [ -n "$limit" ]; then
			pct=$(awk -v u="$us" -v r="$limit" 'BEGIN{printf "%.2f", u * r / 1e4}')
			check "ring-cpu-$dev" "awk -v p=$pct -v m=${CPU_MAX:-10} 'BEGIN{exit !(p < m)}'" \
				"throttled at $limit IOPS the ring thread costs ${us} us per request = ${pct}% of a CPU (limit ${CPU_MAX:-10}%)"
		fi
	done
}

# For people: what blkqos stats and bpftool show right now (printed at done).
show_now() {
	blkqos stats "$E2E_DOMID" > /run/show-stats.txt 2>&1
	bpftool map dump pinned /sys/fs/bpf/blkqos/vbd_stats > /run/show-dump.txt 2>&1
}

ring_pid() {	# DEV -> pid of the ring thread <domid>.<dev>-0
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$E2E_DOMID.$1-0" ] && { echo "${p#/proc/}"; return 0; }
	done
	return 1
}


case "$1" in
boot)
	blkqos probe > /run/probe.txt 2>&1
	rc=$?
	say "probe $(tr '\n' '|' < /run/probe.txt)"
	check probe '[ $rc -eq 0 ]' "blkqos probe rc=$rc"
	exit $FAILED
	;;
created)
	start_loader || { say "check loader-start FAIL"; exit 1; }
	say "loader $(grep 'mode:' "$LOG")"
	check mode 'grep -q "mode: bpf" "$LOG"' "$(grep -o 'mode: [^;]*' "$LOG")"
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
		[ "$n" -gt 0 ] || [ -z "$LIMITS" ] && break
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
	if [ -n "$LIVE" ]; then
		eval "$LIVE"
	fi
	# until the guest is gone (dom0-init kills this hook 5 s after that)
	while xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null; do sleep 0.5; done
	kill $snap_pid 2>/dev/null
	wait
	;;
done)
	say "stats-last $(tr -d '\n' < /run/stats.last 2>/dev/null)"
	[ -n "$CPU_DEVS" ] && report_cpu $CPU_DEVS
	say "stats-done $(blkqos stats --json | tr -d '\n')"
	check entries-removed '! blkqos stats --json | grep -q "\"domid\":$E2E_DOMID,"' "no map entry left for the gone guest"
	bpftool map dump pinned /sys/fs/bpf/blkqos/vbds > /run/vbds.txt 2>&1
	say "bpftool-vbds $(grep -c '"slot"' /run/vbds.txt) entries, fields: $(grep -o '"[a-z_]*":' /run/vbds.txt | sort -u | head -8 | tr -d '\n')"
	if [ -n "${SHOW_DUMP:-}" ]; then
		# taken by show_now while the guest ran (its entries go with it)
		while IFS= read -r l; do say "show-stats $l"; done < /run/show-stats.txt
		head -n 40 /run/show-dump.txt | while IFS= read -r l; do say "show-dump $l"; done
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
	cat /run/blkqos-run*.log | grep -E 'warning|error' | head -5 | while read -r l; do say "loader-log $l"; done
	exit $FAILED
	;;
esac
exit 0
