#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Integration tests of the blkqos loader: the real ./blkqos (run --no-attach,
# in the background, following watches) against the test xenstored
# (tests/xenstored/xenstored.py, spoken to by the real libxenstore), with the
# maps read back through 'blkqos stats --json', 'bpftool map dump' and
# tests/bin/loader_helper.
#
# usage: tests/loader/test_loader.sh [-v] [SECTION...]  (root; bpffs; BPF; no Xen)
# SECTION: one of the sections below by name (help, start, keys, ...), run
# alone: each sets up what it needs (its domains, keys and a running
# loader) and checks only its own cases; none given = all, in order.
# Prints "ok - ..." / "not ok - ... expected X, seen Y" per check and
# "N passed, N failed" at the end; exit 1 if anything failed, 77 if it
# cannot run here (not root, no bpftool/jq, a blkqos loader already running).
# -v: also print the loader's log at the end.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

. "$top/tests/loader/lib.sh"
[ "${1:-}" = -v ] && shift

require bpftool:bpftool jq:jq python3:python3 xenstore-write:xenstore-utils \
	xenstore-read:xenstore-utils xenstore-chmod:xenstore-utils xenstore-ls:xenstore-utils
[ -x "$HELPER" ] || { echo "not ok - $HELPER is built (make $HELPER)"; echo "0 passed, 1 failed"; exit 1; }
loader_test_begin loader 110

# ---- map readers --------------------------------------------------------------
# stats_rate DOMID DEVID LIMIT [limits|domain_limits]: rate, 0 = unlimited, "absent"
stats_rate() {
	"$BLKQOS" stats --json | jq -r --argjson d "$1" --argjson v "$2" --arg l "$3" \
		--arg s "${4:-limits}" \
		'[.vbds[] | select(.domid == $d and .devid == $v)] |
		 if length == 0 then "absent" else (.[0][$s][$l].rate // 0) end'
}
stats_field() { # DOMID DEVID JQ-PATH
	"$BLKQOS" stats --json | jq -r --argjson d "$1" --argjson v "$2" \
		"[.vbds[] | select(.domid == \$d and .devid == \$v)] |
		 if length == 0 then \"absent\" else (.[0]$3) end"
}
# bt_rate DOMID DEVID LIMIT [limits|dom_limits]: the same read by bpftool (BTF names)
bt_rate() {
	bpftool map dump pinned $PIN/vbds -j | jq -r --argjson d "$1" --argjson v "$2" \
		--arg l "$(echo "$3" | tr - _)" --arg s "${4:-limits}" \
		'[.[].formatted | select(.key.domid == $d and .key.devid == $v)] |
		 if length == 0 then "absent" else .[0].value[$s][$l].rate end'
}
bt_dom() { # DOMID JQ-PATH on the doms entry
	bpftool map dump pinned $PIN/doms -j | jq -r --argjson d "$1" \
		"[.[].formatted | select(.key == \$d)] | if length == 0 then \"absent\" else (.[0].value$2) end"
}
# both DOMID DEVID LIMIT [scope]: "stats=R bpftool=R"
both() {
	local s=limits b=limits
	[ "${4:-}" = dom ] && s=domain_limits b=dom_limits
	echo "stats=$(stats_rate "$1" "$2" "$3" $s) bpftool=$(bt_rate "$1" "$2" "$3" $b)"
}

# ---- fixtures: what a section needs, whatever ran before it ------------------
# A running loader (the start section checks its own start).
need_loader() {
	[ -n "$LPID" ] && kill -0 "$LPID" 2>/dev/null && return 0
	start_loader || notok "blkqos run starts (setup)" "'following xenstore'" "$(tail -2 "$LOG" | tr '\n' ' ')"
}
vbd_count() { "$BLKQOS" stats "$1" --json | jq '.vbds | length'; }
# need_vbd DOMID DEVID NAME [KEY=RATE...]: a running domain NAME whose VBD
# is in the maps, with the given qos keys (plain numbers) in force.
need_vbd() {
	local d=$1 v=$2 name=$3 kv
	shift 3
	xenstore-exists /local/domain/$d/name 2>/dev/null || newdom $d $name
	xenstore-exists $V/$d/$v/params 2>/dev/null || xenstore-write $V/$d/$v/params /dev/vg/$name-$v
	need_loader
	wait_eq 4 1 vbd_count $d/$v || notok "VBD $d/$v in the maps (setup)" 1 "$(vbd_count $d/$v)"
	for kv in "$@"; do
		xenstore-write $V/$d/$v/qos/${kv%%=*} "${kv#*=}"
		wait_eq 4 "${kv#*=}" stats_rate $d $v "${kv%%=*}" ||
			notok "VBD $d/$v: $kv in force (setup)" "${kv#*=}" "$(stats_rate $d $v "${kv%%=*}")"
	done
}

# help: every command's --help
sec_help() {
	check_rc "blkqos --help exits 0" 0 "$BLKQOS" --help
	check_rc "blkqos help exits 0" 0 "$BLKQOS" help
	cmds=$("$BLKQOS" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }')
	check_ne "blkqos --help lists commands" "" "$cmds"
	for c in $cmds; do
		out=$("$BLKQOS" $c --help 2>&1); rc=$?
		if [ $rc = 0 ] && echo "$out" | grep -q '^Usage: blkqos'; then ok "blkqos $c --help exits 0 with a usage text"
		else notok "blkqos $c --help exits 0 with a usage text" "exit 0 + 'Usage: blkqos $c'" "exit $rc: $(echo "$out" | head -1)"; fi
	done
	check_rc "unknown command exits 2" 2 "$BLKQOS" frobnicate
	check_rc "stats with nothing loaded exits 4" 4 "$BLKQOS" stats
}

# start: start: a VBD present before the loader
sec_start() {
	stop_loader	# this section starts it, with a VBD already there
	newdom 5 vm5
	xenstore-write $V/5/51712/params /dev/vg/vm5 $V/5/51712/qos/iops 500 $V/5/51712/qos/bps 20M
	if start_loader; then ok "blkqos run --no-attach starts and follows xenstore"
	else notok "blkqos run --no-attach starts and follows xenstore" "'following xenstore' in its log" "$(tail -3 "$LOG" | tr '\n' ' ')"
	fi
	check_eq "pinned maps exist" "dom_buckets doms ring_births stock_devs stock_groups vbd_buckets vbd_hist vbd_stats vbds" "$(ls $PIN 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')"

	check_eq "VBD with qos keys: iops limit in the map" "stats=500 bpftool=500" "$(both 5 51712 iops)"
	check_eq "VBD with qos keys: bps limit in the map" "stats=20000000 bpftool=20000000" "$(both 5 51712 bps)"
	check_eq "default burst is derived (iops burst)" 50 "$(stats_field 5 51712 .limits.iops.burst)"
	fields=$(bpftool map dump pinned $PIN/vbds -j | jq -r '.[0].formatted | [(.key | keys[]), (.value | keys[]), (.value.limits | keys[]), (.value.limits.iops | keys[])] | sort | join(",")')
	for f in domid devid slot dom_slot limits dom_limits iops read_iops write_iops bps read_bps write_bps rate burst peak epoch peak_epoch full_ns iops_size flush_mode discard_mode; do
		case ",$fields," in
		*",$f,"*) ok "bpftool dump of vbds shows field '$f'" ;;
		*) notok "bpftool dump of vbds shows field '$f'" "$f" "$fields" ;;
		esac
	done
	jfields=$("$BLKQOS" stats --json | jq -r '.vbds[0] | [keys[], (.limits.iops | keys[])] | sort | join(",")')
	for f in domid devid dev limits domain_limits read write flush discard deferrals deferred_ns rate burst level; do
		case ",$jfields," in
		*",$f,"*) ok "stats --json shows field '$f'" ;;
		*) notok "stats --json shows field '$f'" "$f" "$jfields" ;;
		esac
	done
}

# keys: add, change, remove keys
sec_keys() {
	need_vbd 5 51712 vm5 iops=500 bps=20000000
	xenstore-write $V/5/51728/params /dev/vg/vm5b $V/5/51728/qos/write-iops 250
	poll_eq "VBD added while running: in the map" "stats=250 bpftool=250" both 5 51728 write-iops
	xenstore-write $V/5/51712/qos/iops 800
	poll_eq "key changed: map updated" "stats=800 bpftool=800" both 5 51712 iops
	xenstore-rm $V/5/51712/qos/bps
	poll_eq "key removed: unlimited" "stats=0 bpftool=0" both 5 51712 bps
	check_eq "other limits untouched by the removal" "stats=800 bpftool=800" "$(both 5 51712 iops)"
}

# domain: domain scope
sec_domain() {
	need_vbd 5 51712 vm5 iops=800
	need_vbd 5 51728 vm5
	xenstore-write $V/5/qos/iops 2000
	poll_eq "domain key: copied into VBD xvda" "stats=2000 bpftool=2000" both 5 51712 iops dom
	poll_eq "domain key: copied into VBD xvdb" "stats=2000 bpftool=2000" both 5 51728 iops dom
	check_eq "domain key: doms map holds it" 2000 "$(bt_dom 5 .limits.iops.rate)"
	check_eq "domain key: VBDs share the domain's slot" \
		"$(bt_dom 5 .slot) $(bt_dom 5 .slot)" \
		"$(bpftool map dump pinned $PIN/vbds -j | jq -r '[.[].formatted | select(.key.domid == 5) | .value.dom_slot] | map(tostring) | join(" ")')"
	check_eq "domain key: VBD's own limit unchanged" "stats=800 bpftool=800" "$(both 5 51712 iops)"
	xenstore-write $V/5/qos/bps 100M
	poll_eq "domain key added: copied into the VBDs" "stats=100000000 bpftool=100000000" both 5 51728 bps dom
	check_eq "doms map counts the domain's VBDs" 2 "$(bt_dom 5 .nr_vbds)"
}

# flat: flat compatibility keys
sec_flat() {
	need_loader
	newdom 6 vm6
	xenstore-write $V/6/51712/params /dev/vg/vm6 $V/6/51712/tokens-refill 300 $V/6/51712/tokens-max 30
	poll_eq "tokens-refill: total iops rate" "stats=300 bpftool=300" both 6 51712 iops
	check_eq "tokens-max: total iops burst" 30 "$(stats_field 6 51712 .limits.iops.burst)"
	xenstore-rm $V/6/51712/tokens-refill
	xenstore-rm $V/6/51712/tokens-max
	xenstore-write $V/6/51712/credit 5000/s@50ms
	poll_eq "credit 5000/s@50ms: total iops rate" "stats=5000 bpftool=5000" both 6 51712 iops
	check_eq "credit 5000/s@50ms: burst = 50 ms worth" 250 "$(stats_field 6 51712 .limits.iops.burst)"
}

# guests: guests cannot set their own limits
sec_guests() {
	need_loader
	mark
	xenstore-write $V/$GUEST/51712/params /dev/vg/vm7
	xenstore-chmod $V/$GUEST/51712 n0 r$GUEST
	xenstore-write $V/$GUEST/51712/qos ""
	xenstore-chmod $V/$GUEST/51712/qos n0 b$GUEST	# a guest-writable qos/ node
	if gxs xenstore-write $V/$GUEST/51712/qos/iops 99999; then ok "guest can write its writable qos node (test setup)"
	else notok "guest can write its writable qos node (test setup)" "write ok" "refused"; fi
	if wait_log "$V/$GUEST/51712/qos: ignored: domain $GUEST can write it"; then
		ok "guest-written key: warning names the path"
	else notok "guest-written key: warning names the path" "'$V/$GUEST/51712/qos: ignored...'" "$(since | grep -i guest\\\|ignored | tail -2 | tr '\n' ' ')"; fi
	check_ne "guest-written key: not in the map" "stats=99999 bpftool=99999" "$(both $GUEST 51712 iops)"
	check_eq "guest-written key: VBD unlimited" "stats=0 bpftool=0" "$(both $GUEST 51712 iops)"

	xenstore-write $V/$GUEST/51728/params /dev/vg/vm7b $V/$GUEST/51728/qos/iops 400
	poll_eq "dom0-written key of the guest's VBD: in the map" "stats=400 bpftool=400" both $GUEST 51728 iops
	mark
	xenstore-chmod $V/$GUEST/51728/qos/iops n0 b$GUEST	# chmod'ed guest-writable
	if wait_log "$V/$GUEST/51728/qos/iops: ignored: domain $GUEST can write it"; then
		ok "chmod'ed guest-writable node: warning names the path"
	else notok "chmod'ed guest-writable node: warning names the path" "'$V/$GUEST/51728/qos/iops: ignored...'" "$(since | tail -2 | tr '\n' ' ')"; fi
	mark
	gxs xenstore-write $V/$GUEST/51728/qos/iops 99999
	wait_log "$V/$GUEST/51728/qos/iops: ignored"	# the loader has seen the write
	check_ne "chmod'ed guest-writable node: guest's value not in the map" "stats=99999 bpftool=99999" "$(both $GUEST 51728 iops)"
	check_eq "chmod'ed guest-writable node: the last good setting stays" "stats=400 bpftool=400" "$(both $GUEST 51728 iops)"
}

# bad-values: bad values: one line naming path and value; last good setting stays
sec_bad_values() {
	need_vbd 5 51712 vm5 iops=800
	P=$V/5/51712/qos/iops
	for bad in lots -5 99999999999999999999 1000T 10MB 0x10 1.5; do
		mark
		xenstore-write -- $P "$bad"
		if wait_log "$P: \"$bad\""; then
			sleep 0.1
			n=$(since | grep -cF -- "$P")
			check_eq "bad value '$bad': one log line naming path and value" 1 "$n"
			line=$(since | grep -F -- "$P" | head -1)
			case "$line" in
			"blkqos: warning: "*|"blkqos: error: "*) ok "bad value '$bad': logged as warning/error ($line)" ;;
			*) notok "bad value '$bad': logged as warning/error" "blkqos: warning: ..." "$line" ;;
			esac
		else
			notok "bad value '$bad': one log line naming path and value" "a line with '$P: \"$bad\"'" "$(since | tr '\n' ' ')"
		fi
		check_eq "bad value '$bad': last good setting stays" "stats=800 bpftool=800" "$(both 5 51712 iops)"
		check_eq "bad value '$bad': loader keeps running" yes "$(alive)"
	done
	xenstore-write $P 900
	poll_eq "good value after bad ones: taken" "stats=900 bpftool=900" both 5 51712 iops
	mark
	xenstore-write $V/5/51712/qos/iops-burst 5G
	wait_log "$V/5/51712/qos/iops-burst" && sleep 0.1
	check_eq "burst over the engine bound: one log line" 1 "$(since | grep -cF -- "$V/5/51712/qos/iops-burst")"
	check_eq "burst over the engine bound: rate stays" "stats=900 bpftool=900" "$(both 5 51712 iops)"
	xenstore-rm $V/5/51712/qos/iops-burst
}

# rules: rules file
sec_rules() {
	need_loader
	newdom 9 web01
	xenstore-write $V/9/51712/params /dev/vg/web01
	poll_eq "rule: qos/bps written into xenstore" 20M xenstore-read $V/9/51712/qos/bps
	poll_eq "rule: qos/iops written into xenstore" 500 xenstore-read $V/9/51712/qos/iops
	poll_eq "rule: bps limit in the map" "stats=20000000 bpftool=20000000" both 9 51712 bps
	poll_eq "rule: iops limit in the map" "stats=500 bpftool=500" both 9 51712 iops
	xenstore-write $V/9/51728/params /dev/vg/web01b
	poll_eq "rule for xvda only: xvdb registered unlimited" "stats=0 bpftool=0" both 9 51728 bps
	check_eq "rule for xvda only: no keys written for xvdb" "" "$(xenstore-list $V/9/51728/qos 2>/dev/null)"
}

# vbd-removed: VBD removed
sec_vbd_removed() {
	need_vbd 5 51712 vm5
	need_vbd 5 51728 vm5
	xenstore-rm $V/5/51728
	poll_eq "VBD removed from xenstore: entry leaves the map" "stats=absent bpftool=absent" both 5 51728 iops
	poll_eq "VBD removed: domain's VBD count follows" 1 bt_dom 5 .nr_vbds
}

# restart: restart: kill -9, run again: the same maps, slots, epochs, levels, counters
sec_restart() {
	need_vbd 5 51712 vm5 iops=900
	"$HELPER" poke 5 51712 -4242424242 777 || notok "poke bucket state (test setup)" 0 $?
	before_peek=$("$HELPER" peek 5 51712)
	before_ids=$(for m in vbds doms vbd_buckets dom_buckets vbd_stats stock_groups stock_devs vbd_hist; do bpftool map show pinned $PIN/$m -j | jq -r .id; done | tr '\n' ' ')
	before_vbds=$(bpftool map dump pinned $PIN/vbds -j | jq -S -c 'sort_by(.formatted.key.domid, .formatted.key.devid) | map(.formatted)')
	before_doms=$(bpftool map dump pinned $PIN/doms -j | jq -S -c 'sort_by(.formatted.key) | map(.formatted)')
	before_stats=$("$BLKQOS" stats --json | jq -S -c '[.vbds[] | {domid, devid, read, write}]')
	stop_loader KILL
	check_eq "after kill -9: maps stay pinned" "stats=900 bpftool=900" "$(both 5 51712 iops)"
	if start_loader; then ok "restart after kill -9"; else notok "restart after kill -9" "following xenstore" "$(tail -2 "$LOG" | tr '\n' ' ')"; fi
	check_eq "restart: same pinned map ids (vbds doms vbd_buckets dom_buckets vbd_stats vbd_hist)" "$before_ids" \
		"$(for m in vbds doms vbd_buckets dom_buckets vbd_stats stock_groups stock_devs vbd_hist; do bpftool map show pinned $PIN/$m -j | jq -r .id; done | tr '\n' ' ')"
	check_eq "restart: slot, epoch, bucket level and counters of 5/xvda unchanged" "$before_peek" "$("$HELPER" peek 5 51712)"
	check_eq "restart: vbds map identical (slots, limits, epochs)" "$before_vbds" \
		"$(bpftool map dump pinned $PIN/vbds -j | jq -S -c 'sort_by(.formatted.key.domid, .formatted.key.devid) | map(.formatted)')"
	check_eq "restart: doms map identical" "$before_doms" \
		"$(bpftool map dump pinned $PIN/doms -j | jq -S -c 'sort_by(.formatted.key) | map(.formatted)')"
	check_eq "restart: stats counters unchanged" "$before_stats" \
		"$("$BLKQOS" stats --json | jq -S -c '[.vbds[] | {domid, devid, read, write}]')"
	check_eq "restart: read ops counter visible in stats" 777 "$(stats_field 5 51712 .read.ops)"
	xenstore-write $V/5/51712/qos/iops 950
	poll_eq "restart: watches followed again" "stats=950 bpftool=950" both 5 51712 iops
}

# set-get: set / get
sec_set_get() {
	need_vbd 6 51712 vm6
	check_rc "set 6 xvdb iops=700 bps=10M" 0 "$BLKQOS" set 6 xvdb iops=700 bps=10M
	got=$("$BLKQOS" get 6 xvdb 2>&1)
	case "$got" in *"iops = 700"*"bps = 10M"*|*"bps = 10M"*"iops = 700"*) ok "get shows what set wrote" ;;
	*) notok "get shows what set wrote" "'iops = 700' and 'bps = 10M'" "$(echo "$got" | tr '\n' ' ')" ;; esac
	check_eq "set: value in xenstore" 700 "$(xenstore-read $V/6/51728/qos/iops 2>&1)"
	poll_eq "set: limit in the map" "stats=700 bpftool=700" both 6 51728 iops
	check_eq "set: qos/ node owned by the backend, guest read-only" "n0 r6" \
		"$(xenstore-ls -p $V/6/51728 | awk '/^qos /{print $NF}' | tr -d '()' | tr ',' ' ')"
	check_rc "set domain-wide: set 6 iops=3000" 0 "$BLKQOS" set 6 iops=3000
	poll_eq "set domain-wide: in the VBDs' domain limits" "stats=3000 bpftool=3000" both 6 51728 iops dom
	case "$("$BLKQOS" get 6 2>&1)" in *"domain 6 (all VBDs)"*"iops = 3000"*) ok "get shows the domain-wide key" ;;
	*) notok "get shows the domain-wide key" "'iops = 3000' under domain 6" "$("$BLKQOS" get 6 2>&1 | tr '\n' ' ')" ;; esac
	check_rc "set KEY= removes a key" 0 "$BLKQOS" set 6 xvdb bps=
	poll_eq "set KEY=: limit gone from the map" "stats=0 bpftool=0" both 6 51728 bps
	for bad in "6 xvdb iops=garbage" "6 xvdb iops=-1" "6 xvdb iops=10MB" "6 xvdb iops=99999999999999999999" \
		   "6 xvdb iops=1000T" "6 xvdb nosuchkey=5" "6 xvdb iops" "6 notadev iops=5" "notadomid iops=5" \
		   "6 xvdb =5" "6" "6 flush=exempt"; do
		# shellcheck disable=SC2086
		check_rc "set $bad: refused with exit 2" 2 "$BLKQOS" set $bad
	done
	check_eq "refused sets wrote nothing" 700 "$(xenstore-read $V/6/51728/qos/iops 2>&1)"
	check_eq "refused sets: map unchanged" "stats=700 bpftool=700" "$(both 6 51728 iops)"
}

# domain-death: domain death
sec_domain_death() {
	need_vbd 5 51712 vm5
	xenstore-write $V/5/qos/iops 2000
	need_vbd 6 51728 vm6 iops=700
	check_eq "before death: domain 5 has its qos node" yes "$(xenstore-exists $V/5/qos && echo yes || echo no)"
	xsctl release-domain 5
	poll_eq "domain death: its VBD entries are gone" 0 \
		sh -c "bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid == 5)] | length'"
	poll_eq "domain death: its doms entry is gone" absent bt_dom 5 .slot
	poll_eq "domain death: stats shows none of its VBDs" 0 \
		sh -c "\"$BLKQOS\" stats 5 --json | jq '.vbds | length'"
	poll_eq "domain death: the domain qos node is removed" no \
		sh -c "xenstore-exists $V/5/qos && echo yes || echo no"
	check_eq "domain death: other domains untouched" "stats=700 bpftool=700" "$(both 6 51728 iops)"
}

# many-vbds: a domain with many VBDs: a domain-wide change reaches all of them
sec_many_vbds() {
	need_loader
	# (200 VBDs in an 8192-bucket hash: some share a bucket, which once made the
	# propagation walk loop forever)
	"$HELPER" mkvbds 1 200 300 2>/dev/null
	poll_eq "200 VBDs of one domain registered" 200 \
		sh -c "bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid == 300)] | length'"
	xenstore-write $V/300/qos/iops 5000
	poll_eq "domain-wide change reaches all 200 VBDs" 200 \
		sh -c "bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid == 300 and .formatted.value.dom_limits.iops.rate == 5000)] | length'"
	xenstore-write $V/300/qos/iops 6000
	poll_eq "second domain-wide change reaches all 200 VBDs" 200 \
		sh -c "bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid == 300 and .formatted.value.dom_limits.iops.rate == 6000)] | length'"
	check_eq "loader still responsive after the domain-wide changes" yes "$(alive)"
	xenstore-rm $V/300
	poll_eq "backend dir of the domain removed: its 200 VBDs leave the map" 0 \
		sh -c "bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid == 300)] | length'"
	xsctl release-domain 300
	poll_eq "domain 300 dead: doms entry gone" absent bt_dom 300 .slot
}

# cycles: 1,000 create/destroy cycles
sec_cycles() {
	need_loader
	base=$("$HELPER" count)
	out=$("$HELPER" cycles 1000 1000 2>&1); rc=$?
	check_eq "1000 create/destroy cycles ran (loader followed each step)" 0 "$rc"
	echo "# $(echo "$out" | tail -1)"
	poll_eq "1000 cycles: vbds/doms entry counts back to before" "$base" "$HELPER" count
	check_eq "1000 cycles: no entry of a cycled domain in vbds" 0 \
		"$(bpftool map dump pinned $PIN/vbds -j | jq '[.[] | select(.formatted.key.domid >= 1000 and .formatted.key.domid < 2000)] | length')"
	check_eq "1000 cycles: no entry of a cycled domain in doms" 0 \
		"$(bpftool map dump pinned $PIN/doms -j | jq '[.[] | select(.formatted.key >= 1000 and .formatted.key < 2000)] | length')"
	check_eq "1000 cycles: no xenstore node left under the cycled domains' backend dirs" "" \
		"$(xenstore-ls -f $V | grep -E "^$V/1[0-9]{3}/" | head -3)"
	check_eq "1000 cycles: loader still running" yes "$(alive)"
}

# unload: stop, unload
sec_unload() {
	need_vbd 6 51728 vm6 iops=700
	# Our objects, by id (another process may hold maps of the same names): the
	# pinned maps, the programs using them, and every map those programs use.
	pinned_ids=$(for m in vbds doms vbd_buckets dom_buckets vbd_stats stock_groups stock_devs vbd_hist ring_births; do bpftool map show pinned $PIN/$m -j | jq -r .id; done | tr '\n' ' ')
	our_progs=$(bpftool prog list -j | jq -r --arg ids "$pinned_ids" \
		'($ids | split(" ") | map(select(. != "") | tonumber)) as $p |
		 .[] | select((.map_ids // []) | any(. as $m | $p | index($m))) | .id' | tr '\n' ' ')
	our_maps=$(bpftool prog list -j | jq -r --arg progs "$our_progs" \
		'($progs | split(" ") | map(select(. != "") | tonumber)) as $p |
		 .[] | select(.id as $i | $p | index($i)) | (.map_ids // [])[]' | tr '\n' ' ')
	our_maps=$(echo $pinned_ids $our_maps | tr ' ' '\n' | sort -un | tr '\n' ' ')
	# maps only: not even the test entries, which are most of the verifier's work
	check_eq "--no-attach loads no program (only maps)" "" "$our_progs"
	mark
	stop_loader TERM
	if since | grep -q "stopping; limits stay in force"; then ok "SIGTERM: loader stops cleanly"
	else notok "SIGTERM: loader stops cleanly" "'stopping' in its log" "$(since | tail -2 | tr '\n' ' ')"; fi
	check_eq "after stop: limits stay pinned" "stats=700 bpftool=700" "$(both 6 51728 iops)"
	# the maps' shapes, for pinning maps of another version below
	shapes=$(for m in vbds doms vbd_buckets dom_buckets vbd_stats stock_groups stock_devs vbd_hist; do
		bpftool map show pinned $PIN/$m -j | jq -r --arg m $m '"\($m) \(.type) \(.bytes_key) \(.bytes_value)"'; done)
	check_rc "blkqos unload exits 0" 0 "$BLKQOS" unload
	check_eq "after unload: $PIN is gone" absent "$(ls -d $PIN 2>/dev/null || echo absent)"
	left_ids() { # KIND IDS: which of IDS bpftool still lists
		bpftool "$1" list -j | jq -r --arg ids "$2" \
			'($ids | split(" ") | map(select(. != "") | tonumber)) as $w | .[] | select(.id as $i | $w | index($i)) | .id' |
			tr '\n' ' '
	}
	poll_eq "after unload: none of our maps ($our_maps) in bpftool map list" "" left_ids map "$our_maps"
	poll_eq "after unload: none of our programs ($our_progs) in bpftool prog list" "" left_ids prog "$our_progs"
	ours='^(vbds|doms|vbd_buckets|dom_buckets|vbd_stats|stock_groups|stock_devs|vbd_hist|ring_births|blkqos.*)$'
	others=$(bpftool map list -j | jq -r '.[] | .name // empty' | grep -cE "$ours")
	if [ "$others" = 0 ]; then ok "after unload: no map named like ours in bpftool map list"
	elif pgrep -x blkqos >/dev/null; then echo "# $others maps named like ours belong to another blkqos process (not ours: ids differ)"
	else notok "after unload: no map named like ours in bpftool map list" 0 "$others"; fi
	check_rc "unload again: nothing loaded, exits 0" 0 "$BLKQOS" unload
	check_rc "stats after unload exits 4" 4 "$BLKQOS" stats
	# Maps pinned by a version whose stats were 16 bytes shorter (before
	# unthrottled): read as this version's, the per-CPU values would overrun.
	# (Nor had it ring_births, which stats do without.)
	mkdir -p $PIN
	while read -r m type kb vb; do
		[ $m = vbd_stats ] && vb=$((vb - 16))
		bpftool map create $PIN/$m type "$type" key "$kb" value "$vb" entries 16 name $m
	done <<<"$shapes"
	out=$("$BLKQOS" stats 2>&1); rc=$?
	check_eq "stats on maps of another version: exit 1, names the map and the sizes" \
		"1 yes" "$rc $(echo "$out" | grep -q "map vbd_stats holds [0-9]*-byte values, this blkqos [0-9]*-byte ones: made by another version" && echo yes || echo "no: $out")"
	check_rc "unload removes them" 0 "$BLKQOS" unload
}

SECTIONS="help start keys domain flat guests bad-values rules vbd-removed restart set-get
	domain-death many-vbds cycles unload"
for want in "$@"; do
	case " $(echo $SECTIONS) " in *" $want "*) ;; *)
		echo "test_loader.sh: no section \"$want\"; the sections: $(echo $SECTIONS)" >&2
		exit 2 ;;
	esac
done
cat >"$work/rules" <<'EOF'
# test rules
web01 xvda bps=20M iops=500
EOF
LOADER_ARGS=(--no-attach --rules "$work/rules")
for sec in $SECTIONS; do	# in this order, whatever the order given
	case " $(echo ${*:-$SECTIONS}) " in *" $sec "*) ;; *) continue ;; esac
	[ "$sec" = help ] || [ -n "$SPID" ] || start_xenstored
	echo "# section $sec"
	"sec_${sec//-/_}"
done

warn=$(grep -c "warning\|error" "$LOG")
echo "# loader log: $(wc -l <"$LOG") lines, $warn warnings/errors (all from the cases above)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
