#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The loader's Prometheus metrics: the real ./blkqos (run --no-attach, with
# --metrics-file and --metrics-listen) against the test xenstored, with
# limits from xenstore, and requests (traffic, throttled ones with their
# holds) sent through the BPF engine's test entries on the pinned maps
# (tests/bin/loader_helper io). Checks that promtool (Debian's prometheus
# package) accepts `blkqos stats --format prometheus`, the file and the
# HTTP endpoint, then series values against the ones the traffic must
# give, the file's atomic rewrite, the HTTP listener against bad and
# hostile clients, and what stock mode says instead of hold times.
#
# usage: tests/loader/test_metrics.sh [-v]   (root; bpffs; BPF; no Xen needed)
# Prints "ok - ..." / "not ok - ... expected X, seen Y" and "N passed, N failed".
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
PROBE="python3 $top/tests/loader/http_probe.py"

. "$top/tests/loader/lib.sh"

require promtool:prometheus python3:python3 xenstore-write:xenstore-utils bpftool:bpftool
[ -x "$HELPER" ] || { echo "not ok - $HELPER is built (make $HELPER)"; echo "0 passed, 1 failed"; exit 1; }
loader_test_begin metrics 150

# promtool's verdict on a text: "ok", or its complaints on one line
promcheck() { # FILE
	local out
	out=$(promtool check metrics < "$1" 2>&1) && [ -z "$out" ] && { echo ok; return; }
	echo "rc=$? $(echo "$out" | head -3 | tr '\n' ' ')"
}
# the value of one series (the exact name and labels) in FILE, or "absent"
series() { # FILE 'NAME{LABELS}'
	S=$2 awk 'BEGIN { s = ENVIRON["S"] }	# (not -v: it would undo the escapes)
		index($0, s " ") == 1 { print substr($0, length(s) + 2); found = 1; exit }
		END { if (!found) print "absent" }' "$1"
}
# every series but the bucket levels (they refill with time)
stable() { grep -v '^#' "$1" | grep -v '_bucket_level_' | sort; }
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_xenstored
newdom 5 web01
# a name with the characters a label value must escape (-R: as given)
xenstore-write -R /local/domain/6/name 'we"ird\name' && xsctl introduce-domain 6
xenstore-write $V/5/51712/params /dev/vg/a $V/5/51712/qos/iops 100 $V/5/51712/qos/iops-burst 10 \
	$V/5/51728/params /dev/vg/b $V/5/51728/qos/write-bps 1M \
	$V/5/51728/qos/read-iops 50 $V/5/51728/qos/read-iops-peak 100 \
	$V/5/qos/iops 500 $V/6/51712/params /dev/vg/c

check_rc "--metrics-listen without a port: exit 2" 2 "$BLKQOS" run --no-attach --metrics-listen 127.0.0.1
check_rc "--metrics-listen with a host name: exit 2" 2 "$BLKQOS" run --no-attach --metrics-listen localhost:9477
check_rc "--metrics-interval 0: exit 2" 2 "$BLKQOS" run --no-attach --metrics-interval 0 --metrics-file "$work/x"
check_rc "stats --format xml: exit 2" 2 "$BLKQOS" stats --format xml

PORT=$(free_port)
PROM=$work/blkqos.prom
LOADER_ARGS=(--no-attach --metrics-file "$PROM" --metrics-interval 0.2 --metrics-listen "127.0.0.1:$PORT")
if start_loader; then ok "blkqos run with --metrics-file and --metrics-listen starts"
else notok "blkqos run with --metrics-file and --metrics-listen starts" "'following xenstore'" "$(tail -3 "$LOG" | tr '\n' ' ')"; fi
poll_eq "the limits are in the maps" 100 \
	sh -c "'$BLKQOS' stats 5/xvda --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"vbds\"][0][\"limits\"][\"iops\"][\"rate\"])'"

# ---- traffic: reads held by iops=100 burst 10, writes by write-bps=1M ----------
# 30 reads one after another at one instant: 11 pass (10 tokens, then debt),
# each of the other 19 waits exactly 10 ms. 10 writes of 64 KiB on a 100,000
# byte bucket at 1 MB/s: 2 pass, the third waits 31.072 ms, the other 7
# 65.536 ms each.
check_eq "reads through the engine" "io read requests 30 held 19 held_ns 190000000" \
	"$("$HELPER" io 5 51712 read 4096 30 2>&1)"
check_eq "writes through the engine" "io write requests 10 held 8 held_ns 489824000" \
	"$("$HELPER" io 5 51728 write 65536 10 2>&1)"
check_eq "a flush" "io flush requests 1 held 0 held_ns 0" "$("$HELPER" io 5 51728 flush 0 1 2>&1)"

"$BLKQOS" stats --format prometheus >"$work/stats.prom" 2>"$work/stats.err"
check_eq "stats --format prometheus exits 0, nothing on stderr" "0 " "$? $(cat "$work/stats.err")"
check_eq "promtool check metrics: stats --format prometheus" ok "$(promcheck "$work/stats.prom")"

A='domain="web01",target_device="xvda",domid="5",vbd="51712"'
B='domain="web01",target_device="xvdb",domid="5",vbd="51728"'
W='domain="we\"ird\\name",target_device="xvda",domid="6",vbd="51712"'
H=blkqos_throttle_wait_seconds
while IFS='|' read -r name exp; do
	[ -n "$name" ] && check_eq "series $name" "$exp" "$(series "$work/stats.prom" "$name")"
done <<EOF
blkqos_mode_info{mode="maps-only"}|1
blkqos_vbds|3
blkqos_block_stats_read_requests_total{$A}|30
blkqos_block_stats_read_bytes_total{$A}|122880
blkqos_block_stats_write_requests_total{$B}|10
blkqos_block_stats_write_bytes_total{$B}|655360
blkqos_block_stats_flush_requests_total{$B}|1
blkqos_block_stats_read_requests_total{$W}|0
blkqos_block_stats_throttled_requests_total{$A}|19
blkqos_block_stats_throttled_seconds_total{$A}|0.190000000
blkqos_block_stats_throttled_requests_total{$B}|8
blkqos_block_stats_throttled_seconds_total{$B}|0.489824000
blkqos_limit_requests_per_second{$A,direction="total"}|100
blkqos_limit_burst_requests{$A,direction="total"}|10
blkqos_limit_bytes_per_second{$B,direction="write"}|1000000
blkqos_limit_burst_bytes{$B,direction="write"}|100000
blkqos_limit_requests_per_second{$B,direction="read"}|50
blkqos_limit_peak_requests_per_second{$B,direction="read"}|100
blkqos_limit_requests_per_second{$B,direction="total"}|absent
blkqos_domain_limit_requests_per_second{domain="web01",domid="5",direction="total"}|500
blkqos_domain_limit_burst_requests{domain="web01",domid="5",direction="total"}|50
blkqos_domain_limit_requests_per_second{domain="we\"ird\\name",domid="6",direction="total"}|absent
${H}_bucket{$A,direction="read",le="0.008192"}|0
${H}_bucket{$A,direction="read",le="0.016384"}|19
${H}_bucket{$A,direction="read",le="+Inf"}|19
${H}_count{$A,direction="read"}|19
${H}_sum{$A,direction="read"}|0.190000000
${H}_count{$A,direction="write"}|absent
${H}_bucket{$B,direction="write",le="0.016384"}|0
${H}_bucket{$B,direction="write",le="0.032768"}|1
${H}_bucket{$B,direction="write",le="0.065536"}|1
${H}_bucket{$B,direction="write",le="0.131072"}|8
${H}_bucket{$B,direction="write",le="67.108864"}|8
${H}_bucket{$B,direction="write",le="+Inf"}|8
${H}_count{$B,direction="write"}|8
${H}_sum{$B,direction="write"}|0.489824000
${H}_count{$W,direction="read"}|absent
${H}_bucket{$W,direction="read",le="+Inf"}|absent
EOF
lvl=$(series "$work/stats.prom" "blkqos_bucket_level_requests{$A,direction=\"total\",bucket=\"sustained\"}")
check_eq "bucket level gauge of xvda's iops: between -1 and its burst 10" yes \
	"$(awk -v l="$lvl" 'BEGIN { print (l != "absent" && l >= -1 && l <= 10) ? "yes" : "no: " l }')"
check_eq "peak bucket level gauge of xvdb's read-iops: full, 1 request (10 ms of 100/s)" 1.000 \
	"$(series "$work/stats.prom" "blkqos_bucket_level_requests{$B,direction=\"read\",bucket=\"peak\"}")"
check_eq "each family's series together (one TYPE line per family)" "" \
	"$(grep '^# TYPE' "$work/stats.prom" | awk '{print $3}' | sort | uniq -d)"
check_eq "stats --histogram: xvda's reads, 19 held in 8192 -> 16383 us" yes \
	"$("$BLKQOS" stats 5/xvda --histogram | grep -qE '^ +8192 -> 16383 +: 19 ' && echo yes || echo "no: $("$BLKQOS" stats 5/xvda --histogram | tr '\n' '|')")"
check_eq "stats --histogram --json: xvdb's writes by log2 slot (14: 1, 16: 7)" "8 1 7" \
	"$("$BLKQOS" stats 5/xvdb --histogram --json | python3 -c 'import json,sys; h = json.load(sys.stdin)["vbds"][0]["wait_hist"]["write"]; print(h["count"], h["slots"][14], h["slots"][16])')"

# ---- the file ----------------------------------------------------------------------
sleep 0.5	# a write after the traffic (every 0.2 s)
check_eq "--metrics-file: written, mode 0644 (the collector is another user)" 644 "$(stat -c %a "$PROM" 2>&1)"
check_eq "promtool check metrics: the file" ok "$(promcheck "$PROM")"
check_eq "the file's series are stats --format prometheus's" "" \
	"$(diff <(stable "$work/stats.prom") <(stable "$PROM") | head -3)"
# renamed over, never rewritten in place: a reader of the old file keeps it
# whole (held open, its inode cannot be reused for the new one)
exec 3<"$PROM"
old_size=$(stat -L -c %s /proc/self/fd/3)
sleep 0.5
check_ne "the file is replaced (renamed over: another inode)" "$(stat -L -c %i /proc/self/fd/3)" \
	"$(stat -c %i "$PROM")"
check_eq "the old file, held open, is whole" "$old_size $old_size" \
	"$(stat -L -c %s /proc/self/fd/3) $(wc -c <&3)"
exec 3<&-
check_eq "no PATH.tmp left beside it" absent "$(ls "$PROM.tmp" 2>/dev/null || echo absent)"

# ---- the HTTP endpoint ---------------------------------------------------------------
$PROBE "$PORT" body /metrics >"$work/http.prom"
check_eq "GET /metrics: 200" 0 "$?"
check_eq "promtool check metrics: GET /metrics" ok "$(promcheck "$work/http.prom")"
check_eq "GET /metrics: the series of stats --format prometheus" "" \
	"$(diff <(stable "$work/stats.prom") <(stable "$work/http.prom") | head -3)"
hexreq() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
check_eq "GET /metrics: status and content type" \
	"HTTP/1.1 200 OK|Content-Type: text/plain; version=0.0.4; charset=utf-8|" \
	"$($PROBE "$PORT" send "$(hexreq $'GET /metrics HTTP/1.0\r\n\r\n')" | head -2 | tr '\n' '|')"
check_eq "GET /: 404" "HTTP/1.1 404 Not Found" \
	"$($PROBE "$PORT" send "$(hexreq $'GET / HTTP/1.1\r\n\r\n')" | head -1)"
check_eq "GET /metricsx: 404" "HTTP/1.1 404 Not Found" \
	"$($PROBE "$PORT" send "$(hexreq $'GET /metricsx HTTP/1.1\r\n\r\n')" | head -1)"
check_eq "POST /metrics: 405, Allow: GET" "HTTP/1.1 405 Method Not Allowed|Allow: GET|" \
	"$($PROBE "$PORT" send "$(hexreq $'POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')" | head -3 | grep -v Content-Type | tr '\n' '|')"
check_eq "garbage: 400" "HTTP/1.1 400 Bad Request" \
	"$($PROBE "$PORT" send "$(hexreq $'\x01\x02garbage\r\n\r\n')" | head -1)"
big=$(head -c 6000 /dev/zero | tr '\0' a)
check_eq "6000 bytes of header: 431, cut off at 4 KiB" "HTTP/1.1 431 Request Header Fields Too Large" \
	"$($PROBE "$PORT" send "$(hexreq "GET /metrics HTTP/1.1"$'\r\n'"X: $big")" | head -1)"
$PROBE "$PORT" noread 20
check_eq "20 clients gone before their answer: the loader lives" yes "$(alive)"
# (without the oldest unfinished request making way, the scrape would be
# closed unanswered: every slot taken)
check_eq "8 connections hogged (half a request each): a scrape is still answered" \
	"status 200" "$($PROBE "$PORT" hog 8)"
check_eq "an idle connection is closed by the server (after its 5 s)" "closed by the server" \
	"$($PROBE "$PORT" idle)"
# the run loop still follows xenstore, and the metrics show it
xenstore-write $V/5/51712/qos/iops 300
poll_eq "a limit changed in xenstore: in the metrics" 300 \
	sh -c "$PROBE $PORT body /metrics | awk '/^blkqos_limit_requests_per_second\{.*vbd=\"51712\".*\"total\"/ { print \$2 }' | head -1"
check_eq "loader alive after all the clients" yes "$(alive)"

# ---- stopped: the file stays, a second listener on the same port fails ---------------
stop_loader TERM
check_eq "after stop: the metrics file is still there (its mtime tells its age)" 644 "$(stat -c %a "$PROM" 2>&1)"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(8)' "$PORT" &
busy=$!
sleep 0.3
out=$("$BLKQOS" run --no-attach --metrics-listen "127.0.0.1:$PORT" 2>&1); rc=$?
kill $busy 2>/dev/null; wait $busy 2>/dev/null
check_eq "port in use: exit 1, says so" "1 yes" \
	"$rc $(echo "$out" | grep -q "metrics-listen 127.0.0.1:$PORT: cannot listen: Address already in use" && echo yes || echo "no: $out")"

# ---- stock mode: hold times are not measured, and the output says so -----------------
# (the mode is told by the pinned links; any pinned object named like the
# stock one stands in for it here)
bpftool map create $PIN/link_stock_account type array key 4 value 4 entries 1 name fake_stock
"$BLKQOS" stats --format prometheus >"$work/stock.prom"
check_eq "promtool check metrics: stock mode" ok "$(promcheck "$work/stock.prom")"
check_eq "stock mode: mode label" 1 "$(series "$work/stock.prom" 'blkqos_mode_info{mode="stock"}')"
check_eq "stock mode: a comment says what is not measured" 1 \
	"$(grep -c '^# blkqos: stock mode: the block throttle holds the bios and does not say for how long' "$work/stock.prom")"
check_eq "stock mode: no hold-time series, no bucket levels (not zeros)" 0 \
	"$(grep -v '^#' "$work/stock.prom" | grep -cE "throttled_seconds|$H|bucket_level")"
check_eq "stock mode: throttled and unthrottled counts stay" "19 0" \
	"$(series "$work/stock.prom" "blkqos_block_stats_throttled_requests_total{$A}") $(series "$work/stock.prom" "blkqos_block_stats_unthrottled_requests_total{$A}")"
check_eq "stock mode: stats --histogram says the wait is not measured" 1 \
	"$("$BLKQOS" stats 5/xvda --histogram | grep -c 'wait times: not measured in stock mode')"
check_eq "stock mode: --histogram --json has wait_hist null" null \
	"$("$BLKQOS" stats 5/xvda --histogram --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["vbds"][0]["wait_hist"]))')"

check_rc "blkqos unload exits 0" 0 "$BLKQOS" unload
check_eq "after unload: $PIN is gone (vbd_hist too)" absent "$(ls -d $PIN 2>/dev/null || echo absent)"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
