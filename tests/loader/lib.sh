# SPDX-License-Identifier: GPL-2.0
# Shared by the loader tests (test_loader.sh, test_stock.sh, ...): the
# settings every one starts with, ASSERT-style checks, the test xenstored,
# and a blkqos run in the background. Sourced with the test's arguments
# after it sets $top (the checkout; a test may set BLKQOS first: stock tests
# use the test build). Expects later: $work (scratch dir); LOADER_ARGS
# (array) for run.

cd "$top" || exit 1
BLKQOS=${BLKQOS:-$top/blkqos}
HELPER=$top/tests/bin/loader_helper
PIN=/sys/fs/bpf/blkqos
V=/local/domain/0/backend/vbd
GUEST=${GUEST:-7}
verbose=0
[ "${1:-}" = "-v" ] && verbose=1

PASSED=0 FAILED=0
T0=${EPOCHREALTIME/./}
el() { [ -n "${LT_TIME:-}" ] && printf '[%6d ms] ' $(( (${EPOCHREALTIME/./} - T0) / 1000 )); }
ok() { PASSED=$((PASSED + 1)); echo "$(el)ok - $1"; }
notok() { FAILED=$((FAILED + 1)); echo "$(el)not ok - $1 expected $2, seen $3"; }
check_eq() { # NAME EXPECTED SEEN
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "'$2'" "'$3'"; fi
}
check_ne() { # NAME UNEXPECTED SEEN
	if [ "$2" != "$3" ]; then ok "$1"; else notok "$1" "not '$2'" "'$3'"; fi
}
# poll_eq NAME EXPECTED CMD...: run CMD until it prints EXPECTED (up to 2 s).
poll_eq() {
	local name=$1 exp=$2 seen i=0
	shift 2
	while :; do
		seen=$("$@" 2>/dev/null)
		[ "$seen" = "$exp" ] && break
		i=$((i + 1))
		[ $i -ge 100 ] && break
		sleep 0.02
	done
	check_eq "$name" "$exp" "$seen"
}
# quiet variant: returns 0 when CMD prints EXPECTED within SECS seconds.
wait_eq() { # SECS EXPECTED CMD...
	local n=$(($1 * 50)) exp=$2 i=0
	shift 2
	until [ "$("$@" 2>/dev/null)" = "$exp" ]; do
		i=$((i + 1)); [ $i -ge $n ] && return 1; sleep 0.02
	done
}
check_rc() { # NAME EXPECTED_RC CMD...
	local name=$1 exp=$2 out rc
	shift 2
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" = "$exp" ]; then ok "$name"
	else notok "$name" "exit $exp" "exit $rc ($(echo "$out" | head -2 | tr '\n' ' '))"; fi
}

# require TOOL:PACKAGE...: a missing tool fails the suite, naming the package
# (tests/deps.sh installs them all; a skip would hide a missing install step).
require() {
	local tp
	for tp in "$@"; do
		command -v "${tp%%:*}" >/dev/null && continue
		echo "not ok - ${tp%%:*} is installed: package ${tp#*:} (tests/deps.sh installs it)"
		echo "0 passed, 1 failed"
		exit 1
	done
}

# loader_test_begin NAME SECONDS [DIR]: what every loader test does first:
# root and ./blkqos checked, the lock taken, a scratch dir ($work, with the
# loader's $LOG), nothing of ours left pinned, cleanup at exit (the caller's
# cleanup_extra, if it defines one, right after the loader stops), and a
# watchdog that fails the run after SECONDS.
loader_test_begin() {
	local name=$1 secs=$2 dir=${3:-${TMPDIR:-/tmp}}
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF)"; exit 77; }
	[ -x "$BLKQOS" ] || { echo "not ok - ./blkqos is built (run make)"; echo "0 passed, 1 failed"; exit 1; }
	take_loader_lock
	work=$(mktemp -d "$dir/$name-tests.XXXXXX") || exit 1
	LOG=$work/loader.log
	SPID="" LPID="" LWRAP="" WPID=""
	: >"$LOG"
	trap 'loader_test_cleanup' EXIT
	trap 'echo "not ok - interrupted or timed out"; FAILED=$((FAILED + 1)); echo "$PASSED passed, $FAILED failed"; exit 1' INT TERM
	"$BLKQOS" unload >/dev/null 2>&1
	( trap 'kill $sp 2>/dev/null; exit 0' TERM; sleep "$secs" & sp=$!; wait $sp; kill -TERM $$ ) 2>/dev/null &
	WPID=$!
}

loader_test_cleanup() {
	trap - EXIT INT TERM
	stop_loader
	declare -F cleanup_extra >/dev/null && cleanup_extra
	"$BLKQOS" unload >/dev/null 2>&1
	stop_xenstored
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	if [ "$verbose" = 1 ]; then echo "--- loader log"; cat "$LOG"; fi
	rm -rf "$work"
}

stop_xenstored() {
	[ -n "$SPID" ] || return 0
	kill -TERM "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=""
}

# The pin directory is global: one test or bench run at a time (others wait).
# A loader elsewhere using the pinned maps: leave it alone (a loader whose maps
# are no longer pinned does not get in the way).
take_loader_lock() {
	exec 9>/run/lock/blkqos-loader-tests.lock
	flock -w 120 9 || { echo "SKIP: another loader test holds /run/lock/blkqos-loader-tests.lock"; exit 77; }
	if pgrep -x blkqos >/dev/null && [ -e "$PIN" ]; then
		echo "SKIP: a blkqos process is running; this test unloads $PIN"; exit 77
	fi
}

# ---- the test xenstored -----------------------------------------------------
# XS_ARGS (array): more xenstored.py arguments (--state, --guest-socket...).
start_xenstored() {
	SOCK=$work/socket
	rm -f "$work/xs.pid"
	python3 "$top/tests/xenstored/xenstored.py" --socket "$SOCK" --pidfile "$work/xs.pid" \
		--guest-socket "$SOCK.dom$GUEST:$GUEST" ${XS_ARGS[@]+"${XS_ARGS[@]}"} \
		</dev/null 2>>"$work/xenstored.log" &
	SPID=$!
	local i=0
	while [ ! -s "$work/xs.pid" ]; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 $SPID 2>/dev/null; then
			echo "not ok - test xenstored starts"; cat "$work/xenstored.log"
			echo "$PASSED passed, $((FAILED + 1)) failed"; exit 1
		fi
		sleep 0.05
	done
	export XENSTORED_PATH=$SOCK XENSTORED_RUNDIR=$work
}
gxs() { XENSTORED_PATH=$SOCK.dom$GUEST "$@"; }	# as the guest
xsctl() { xenstore-write "/tool/xenstored-test/$1" "$2"; }
# the test xenstored's fault injection: the next COUNT requests of TYPE
# (on PATH or below it) answer ERRNO
fault() { xsctl fail "$*"; }	# TYPE COUNT ERRNO [PATH]
faults_left() { xenstore-read /tool/xenstored-test/faults-left; }
newdom() { # DOMID NAME: a running domain
	xenstore-write "/local/domain/$1/name" "$2" && xsctl introduce-domain "$1"
}

MARK=0
mark() { MARK=$(wc -c <"$LOG"); }
since() { tail -c +$((MARK + 1)) "$LOG"; }
# wait_log PATTERN (fixed string): up to 2 s for a line in the log since the mark
wait_log() {
	local i=0
	until since | grep -qF -- "$1"; do
		i=$((i + 1)); [ $i -ge 100 ] && return 1; sleep 0.02
	done
}
start_loader() {
	mark
	# One loader per host: the tests' loaders take a lock of their own.
	export BLKQOS_LOCK=${BLKQOS_LOCK:-$work/blkqos.lock}
	# In a subshell, so that killing it (kill -9 below) is not reported by bash.
	rm -f "$work/lpid"
	( "$BLKQOS" run "${LOADER_ARGS[@]}" "$@" >>"$LOG" 2>&1 &
	  echo $! >"$work/lpid"; wait ) 2>/dev/null &
	LWRAP=$!
	local i=0
	until [ -s "$work/lpid" ]; do i=$((i + 1)); [ $i -ge 250 ] && return 1; sleep 0.02; done
	LPID=$(cat "$work/lpid")
	i=0
	until since | grep -q "following xenstore"; do
		i=$((i + 1))
		if [ $i -ge 500 ] || ! kill -0 "$LPID" 2>/dev/null; then return 1; fi
		sleep 0.02
	done
}
stop_loader() { # [SIGNAL]
	[ -n "$LPID" ] || return 0
	kill -"${1:-TERM}" "$LPID" 2>/dev/null
	local i=0
	while kill -0 "$LPID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
	kill -KILL "$LPID" 2>/dev/null
	wait "$LWRAP" 2>/dev/null
	LPID="" LWRAP=""
}
alive() { if [ -n "$LPID" ] && kill -0 "$LPID" 2>/dev/null; then echo yes; else echo no; fi; }
