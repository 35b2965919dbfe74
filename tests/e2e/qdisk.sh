# tests/e2e/qdisk.sh - the qdisk mode's phases, sourced by blkqos-hook.sh.
#
# What an operator without blkqos would run: the guest's disks on Xen's
# qdisk backend (backendtype=qdisk: libxl starts Debian's qemu-system-xen
# for the PV guest, and QEMU serves the disks instead of xen-blkback), with
# QEMU's block throttle set over its QMP socket. No blkqos runs.
#
# The scenario's LIMITS become block_set_io_throttle arguments:
#   iops bps read-/write-iops read-/write-bps iops-size
#                         iops bps iops_rd iops_wr bps_rd bps_wr iops_size
#   KEY-peak=P KEY-burst=B     KEY_max=P KEY_max_length=B/P (whole seconds)
#   domain KEY=VALUE      a throttle group per domain (group=dom-DOMID)
#                         holding those limits, every disk of it a member
# What QEMU cannot express is reported ("@E2E hook qdisk-unenforced DEV
# KEY=VALUE: why") and checked against the scenario's QDISK_UNENFORCED
# (lines "DEV KEY=VALUE..."), as stock mode's "not enforced" lines:
#   a burst without a peak    QEMU's burst is a rate for a time
#   a burst/peak not whole seconds, flush, discard, tokens-*, credit
#   a disk's own limits under a domain limit: a device is in one group, and
#                         a group has one set of limits
# Live changes: the scenario's QDISK_LIVE snippet (the running phase, in
# place of LIVE), with qdisk_set below, the way QEMU allows: one
# block_set_io_throttle per device, which replaces all its limits.
#
# Facts for check.py and tests/e2e/table.py: "@E2E hook backend-cpu dev=all
# thread=qemu cpu_s=S requests=N us_per_request=U": the CPU time of the
# domain's QEMU process over the requests it counted on all the disks
# (query-blockstats); QEMU's threads carry no disk's name.

QMP_SOCK=/run/xen/qmp-libxenstat-${E2E_DOMID:-}	# libxl's second monitor (the first is libxl's own)
QUNENF=/run/qdisk-unenforced.txt

qmp_cmd() {	# COMMAND-JSON...: the replies, one per line (qmp.c)
	qmp "$QMP_SOCK" "$@"
}

qemu_pid() {	# the domain's QEMU, as libxl recorded it
	xenstore-read "/local/domain/$E2E_DOMID/image/device-model-pid" 2>/dev/null
}

loop_of() {	# DEV -> its loop device
	local kv
	for kv in $E2E_DISK_DEVS; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return 0; }; done
	return 1
}

# How QMP names a disk's block backend, in query-block and query-blockstats:
# "id:QOM-PATH" of its device, or "device:NAME" of a named backend
JQ_NAME='def name: if (.qdev // "") != "" then "id:" + .qdev else "device:" + .device end;'
qdev_of() {	# DEV -> its name, "" if QEMU does not serve it (yet)
	qmp_cmd '{"execute": "query-block"}' 2>/dev/null |
		jq -r --arg f "$(loop_of "$1")" "$JQ_NAME"' .return[] | select(.inserted.file == $f) | name'
}

# amount VALUE -> the number, K/M/G/T (1000) and Ki/Mi/Gi/Ti (1024) applied;
# fails on anything else (then the key is reported, not guessed)
amount() {
	local v=$1 n m=1
	n=${v%%[!0-9]*}
	[ -n "$n" ] || return 1
	case "${v#"$n"}" in
	"") ;; K) m=1000 ;; M) m=1000000 ;; G) m=1000000000 ;; T) m=1000000000000 ;;
	Ki) m=1024 ;; Mi) m=1048576 ;; Gi) m=1073741824 ;; Ti) m=1099511627776 ;;
	*) return 1 ;;
	esac
	echo $((n * m))
}

unenforced() {	# DEV KEY=VALUE WHY
	echo "$1 $2" >> "$QUNENF"
	say "qdisk-unenforced $1 $2: $3" >&2	# (called inside $(...))
}

# throttle_args DEV "KEY=VALUE..." -> the JSON members of its limits, with
# every rate QEMU requires (0 = none); reports what it cannot express
throttle_args() {
	local dev=$1 kv k v n base peak burst
	local -A q=([bps]=0 [bps_rd]=0 [bps_wr]=0 [iops]=0 [iops_rd]=0 [iops_wr]=0)
	local -A name=([iops]=iops [read-iops]=iops_rd [write-iops]=iops_wr
		[bps]=bps [read-bps]=bps_rd [write-bps]=bps_wr [iops-size]=iops_size)
	local -A seen=()
	for kv in $2; do seen[${kv%%=*}]=${kv#*=}; done
	for k in "${!seen[@]}"; do
		v=${seen[$k]}
		case "$k" in
		*-peak) continue ;;
		*-burst)
			base=${k%-burst}
			if [ -z "${name[$base]:-}" ] || [ "$base" = iops-size ]; then
				unenforced "$dev" "$k=$v" "no such limit in QEMU"
			elif [ -z "${seen[$base-peak]:-}" ]; then
				unenforced "$dev" "$k=$v" "QEMU's burst is a peak rate for a time: a burst needs $base-peak"
			elif ! burst=$(amount "$v") || ! peak=$(amount "${seen[$base-peak]}") ||
				[ "$peak" = 0 ] || [ $((burst % peak)) != 0 ]; then
				unenforced "$dev" "$k=$v" "QEMU's burst length is whole seconds: $k / $base-peak is not"
			else
				q[${name[$base]}_max]=$peak
				q[${name[$base]}_max_length]=$((burst / peak))
			fi
			;;
		*)
			if [ -n "${name[$k]:-}" ] && n=$(amount "$v"); then
				q[${name[$k]}]=$n
			else
				unenforced "$dev" "$k=$v" "no such limit in QEMU's throttle"
			fi
			;;
		esac
	done
	for k in "${!seen[@]}"; do
		case "$k" in *-peak)
			[ -n "${seen[${k%-peak}-burst]:-}" ] ||
				unenforced "$dev" "$k=${seen[$k]}" "QEMU's peak lasts a burst length: $k needs ${k%-peak}-burst"
			;;
		esac
	done
	for k in "${!q[@]}"; do printf ', "%s": %s' "$k" "${q[$k]}"; done
}

# qdisk_set DEV|domain KEY=VALUE...: set (replace) the limits of one disk, or
# of the domain's throttle group, at once; prints how long QEMU took
qdisk_set() {
	local dev=$1 args qdev d t0 t1 rc=0
	shift
	args=$(throttle_args "$dev" "$*")
	local devs=$dev group=
	if [ "$dev" = domain ]; then
		devs=$(for kv in $E2E_DISK_DEVS; do echo "${kv%%=*}"; done)
		group=", \"group\": \"dom-$E2E_DOMID\""
	fi
	t0=$EPOCHREALTIME
	for d in $devs; do
		qdev=$(cat "/run/qdev.$d" 2>/dev/null)
		qmp_cmd "{\"execute\": \"block_set_io_throttle\", \"arguments\": {\"${qdev%%:*}\": \"${qdev#*:}\"$args$group}}" \
			> /run/qmp-set.out 2>&1 || rc=1
	done
	t1=$EPOCHREALTIME
	say "qdisk-set $dev $* rc=$rc ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) * 1000}')${group:+ group=dom-$E2E_DOMID} $(tr '\n' ' ' < /run/qmp-set.out | cut -c1-200)"
	return $rc
}

# created: QEMU serves every disk; the limits are set and read back
qdisk_created() {
	local dev kv pid qdev domain_kvs="" own
	save_devids
	: > "$QUNENF"
	pid=$(qemu_pid)
	check qdisk-qemu '[ -n "$pid" ] && [ -d "/proc/$pid" ]' \
		"libxl started QEMU for the domain: pid ${pid:-none} $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)"
	echo "$pid" > /run/qemu.pid
	for kv in $E2E_DISK_DEVS; do
		dev=${kv%%=*} qdev=
		for _ in $(seq 100); do
			qdev=$(qdev_of "$dev")
			[ -n "$qdev" ] && break
			sleep 0.1
		done
		echo "$qdev" > "/run/qdev.$dev"
		check "qdisk-device-$dev" '[ -n "$qdev" ]' "QEMU serves $dev (${kv#*=}) as ${qdev:-nothing}"
		# QEMU says why it serves no disk in its log, not over QMP
		[ -n "$qdev" ] || { tail -n 5 /var/log/xen/qemu-dm-*.log | while IFS= read -r l; do say "qemu-log $l"; done; }
	done
	domain_kvs=$(awk '$1 == "domain" { $1 = ""; print }' <<< "$LIMITS")
	while read -r dev kv; do
		[ -n "$dev" ] && [ "$dev" != domain ] || continue
		if [ -n "$domain_kvs" ]; then
			for own in $kv; do
				unenforced "$dev" "$own" "a disk in a throttle group has only the group's limits"
			done
		else
			qdisk_set "$dev" $kv
		fi
	done <<< "$LIMITS"
	[ -z "$domain_kvs" ] || qdisk_set domain $domain_kvs
	qmp_cmd '{"execute": "query-block"}' > /run/query-block.json 2>&1
	say "qdisk-block $(jq -c '[.return[] | {qdev, file: .inserted.file, iops: .inserted.iops, iops_rd: .inserted.iops_rd, iops_wr: .inserted.iops_wr, bps: .inserted.bps, bps_rd: .inserted.bps_rd, bps_wr: .inserted.bps_wr, iops_max: .inserted.iops_max, iops_size: .inserted.iops_size, group: .inserted.group}]' /run/query-block.json 2>&1)"
}

# running: QEMU's CPU ticks (all its threads) and the request counts it
# keeps, sampled while the domain lives (QEMU goes with it)
qdisk_track() {
	local pid
	pid=$(cat /run/qemu.pid)
	while [ -d "/proc/$pid" ] && xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null; do
		stat_ticks "$pid" && echo "$TICKS" > /run/qemu-ticks
		qmp_cmd '{"execute": "query-blockstats"}' > /run/blockstats.tmp 2>/dev/null &&
			mv /run/blockstats.tmp /run/blockstats.last
		sleep 0.5
	done
}

# done: QEMU's CPU per request over the run, all the domain's disks (its
# threads carry no disk's name: one figure for the process)
qdisk_report_cpu() {
	local hz ticks ops
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	ops=$(jq '[.return[] | .stats.rd_operations + .stats.wr_operations] | add // 0' /run/blockstats.last 2>/dev/null)
	ticks=$(cat /run/qemu-ticks 2>/dev/null)
	if [ -z "$ticks" ] || [ "${ops:-0}" -eq 0 ]; then
		check backend-cpu false "no CPU time or request count of QEMU (ticks=${ticks:-none} requests=${ops:-none})"
		return
	fi
	say "backend-cpu dev=all thread=qemu cpu_s=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN{print t / hz}') requests=$ops us_per_request=$(awk -v t="$ticks" -v hz="$hz" -v n="$ops" 'BEGIN{printf "%.0f", 1e6 * t / hz / n}')"
}

# done: the reports name exactly QDISK_UNENFORCED's keys
qdisk_unenforced_check() {
	local kv dev want got
	for kv in $E2E_DISK_DEVS; do
		dev=${kv%%=*}
		want=$(awk -v d="$dev" '$1 == d { $1 = ""; print }' <<< "${QDISK_UNENFORCED:-}" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
		got=$(awk -v d="$dev" '$1 == d { print $2 }' "$QUNENF" | sort -u | tr '\n' ' ')
		check "qdisk-unenforced-$dev" '[ "$want" = "$got" ]' \
			"QEMU cannot express: ${got:-nothing}; want ${want:-nothing}"
	done
}

qdisk_phase() {	# PHASE
	case "$1" in
	boot)
		v=$(/usr/libexec/xen-qemu-system-i386 --version 2>&1 | head -n 1)
		check qdisk-qemu-version '[ -n "$v" ] && case "$v" in *QEMU*) true ;; *) false ;; esac' "$v"
		;;
	created) qdisk_created ;;
	running)
		qdisk_track &
		[ -z "${QDISK_LIVE:-}" ] || eval "$QDISK_LIVE"
		while xenstore-exists "/local/domain/$E2E_DOMID" 2>/dev/null; do sleep 0.5; done
		wait
		;;
	done)
		qdisk_report_cpu
		qdisk_unenforced_check
		pid=$(cat /run/qemu.pid 2>/dev/null)
		for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
		check qdisk-qemu-gone '[ ! -d "/proc/$pid" ]' "the domain's QEMU (pid $pid) ended with it"
		check qdisk-no-blkqos '[ ! -e /sys/fs/bpf/blkqos ]' "nothing of blkqos in this mode"
		dmesg_check
		;;
	esac
}
