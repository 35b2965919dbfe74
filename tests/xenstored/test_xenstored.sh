#!/bin/bash
# Tests for tests/xenstored/xenstored.py, driven through the real libxenstore:
# the xenstore-* CLI tools, a C client (xs_client_test.c), Xen's own
# test-xenstore when installed, plus raw-wire/garbage checks (wire_check.py).
#
# usage: tests/xenstored/test_xenstored.sh [-v]
# Prints every check, failures with expected vs seen; last line
# "N passed, N failed"; exit status 1 if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
verbose=0
[ "${1:-}" = "-v" ] && verbose=1

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

section() { echo "== $1  [t=${SECONDS}s]"; }

# check_eq NAME EXPECTED SEEN
check_eq() {
    if [ "$2" == "$3" ]; then pass "$1"
    else fail "$1" "expected: $(printf '%q' "$2")" "seen:     $(printf '%q' "$3")"; fi
}
# check_rc NAME EXPECTED_RC CMD...   (stdout+stderr of CMD shown on failure)
check_rc() {
    local name=$1 exp=$2 out rc
    shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" == "$exp" ]; then pass "$name"
    else fail "$name" "command:  $*" "expected exit $exp, seen exit $rc" "output:   $out"; fi
}
# check_contains NAME NEEDLE HAYSTACK
check_contains() {
    case "$3" in
        *"$2"*) pass "$1" ;;
        *) fail "$1" "expected to contain: $(printf '%q' "$2")" "seen: $(printf '%q' "$3")" ;;
    esac
}
# wait_for COND-CMD... : poll up to 5s
wait_for() {
    local i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -ge 100 ] && return 1; sleep 0.05
    done
    return 0
}
# adopt the "X: N passed, M failed" line of a sub-test
adopt_counts() {
    local name=$1 out=$2 line p f
    line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z]+: [0-9]+ passed, [0-9]+ failed$' | tail -1)
    printf '%s\n' "$out" | grep -E '^FAIL' | sed "s/^/  [$name] /"
    [ "$verbose" = 1 ] && printf '%s\n' "$out" | grep -E '^PASS' | sed "s/^/  [$name] /"
    if [ -z "$line" ]; then
        fail "$name produced a summary line" "output tail:" "$(printf '%s\n' "$out" | tail -5)"
        return
    fi
    p=$(echo "$line" | sed -E 's/^[A-Za-z]+: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    echo "$line"
    PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
}

work=$(mktemp -d "${TMPDIR:-/tmp}/xenstored-tests.XXXXXX")
SPID=""
start_server() { # SOCKET PIDFILE [extra args]
    local sock=$1 pidf=$2
    shift 2
    "$py" "$here/xenstored.py" --socket "$sock" --pidfile "$pidf" "$@" \
        2>>"$work/server.log" </dev/null &
    SPID=$!
    wait_for test -s "$pidf"
}
stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    local rc=$?
    SPID=""
    return $rc
}
cleanup() {
    stop_server
    jobs -p | xargs -r kill 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

section "build C client"
if cc -Wall -Wextra -O1 -o "$work/xs_client_test" "$here/xs_client_test.c" \
        $(pkg-config --cflags --libs xenstore) >"$work/cc.log" 2>&1; then
    pass "compile xs_client_test.c against libxenstore"
else
    fail "compile xs_client_test.c against libxenstore" "$(cat "$work/cc.log")"
fi

section "server lifecycle"
S1="$work/life.sock"
start_server "$S1" "$work/life.pid"
check_eq "pidfile holds the server pid" "$SPID" "$(cat "$work/life.pid" 2>/dev/null)"
check_rc "socket file created" 0 test -S "$S1"
check_rc "second server on a live socket refuses to start" 1 \
    "$py" "$here/xenstored.py" --socket "$S1"
check_eq "first server still serves" "Domain-0" \
    "$(XENSTORED_PATH=$S1 xenstore-read /local/domain/0/name 2>&1)"
stop_server; rc=$?
check_eq "SIGTERM exits with 0" 0 "$rc"
check_rc "socket removed on exit" 1 test -e "$S1"
check_rc "pidfile removed on exit" 1 test -e "$work/life.pid"
start_server "$S1" "$work/life.pid"
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null; SPID=""
check_rc "SIGKILL leaves a stale socket (setup)" 0 test -S "$S1"
rm -f "$work/life.pid"
start_server "$S1" "$work/life.pid"
check_eq "restart over a stale socket works" "Domain-0" \
    "$(XENSTORED_PATH=$S1 xenstore-read /local/domain/0/name 2>&1)"
kill -INT "$SPID"; wait "$SPID"; rc=$?; SPID=""
check_eq "SIGINT exits cleanly too" "0:absent" "$rc:$(test -e "$S1" && echo present || echo absent)"
start_server "$S1" "$work/life.pid" --bare
check_eq "--bare starts with /tool only" "tool" \
    "$(XENSTORED_PATH=$S1 xenstore-list / 2>&1)"
stop_server

section "run-with-xenstored.sh"
RW="$here/run-with-xenstored.sh"
check_rc "helper returns the command's exit code (7)" 7 "$RW" sh -c 'exit 7'
check_rc "helper returns the command's exit code (0)" 0 "$RW" true
out=$("$RW" sh -c 'test -S "$XENSTORED_PATH" && test "$XENSTORED_RUNDIR/socket" = "$XENSTORED_PATH" && echo "$XENSTORED_TEST_DIR $XENSTORED_TEST_PID"')
check_eq "helper exports XENSTORED_PATH/RUNDIR" "ok" "$([ -n "$out" ] && echo ok || echo "no output")"
d=${out% *}; p=${out#* }
check_rc "helper removed its temp dir" 1 test -e "$d"
check_rc "helper stopped the server" 1 kill -0 "$p"
check_eq "helper --guest exports the guest socket" "EACCES-as-guest" \
    "$("$RW" --guest 3 sh -c 'XENSTORED_PATH=$XENSTORED_GUEST_PATH_3 xenstore-write /x 1 2>/dev/null && echo wrote || echo EACCES-as-guest')"

section "libxenstore CLI tools"
S="$work/socket"
start_server "$S" "$work/xs.pid" --guest-socket "$S.dom5:5"
export XENSTORED_PATH="$S"
G="$S.dom5"

check_rc "xenstore-write two pairs" 0 xenstore-write /t/a 1 /t/b "two words"
check_eq "xenstore-read" "1" "$(xenstore-read /t/a 2>&1)"
check_eq "xenstore-read value with space" "two words" "$(xenstore-read /t/b 2>&1)"
check_eq "xenstore-read several keys" $'1\ntwo words' "$(xenstore-read /t/a /t/b 2>&1)"
check_rc "xenstore-read missing fails" 1 xenstore-read /t/zz
check_rc "xenstore-exists present" 0 xenstore-exists /t/a
check_rc "xenstore-exists missing" 1 xenstore-exists /t/zz
check_eq "xenstore-list" $'a\nb' "$(xenstore-list /t 2>&1)"
check_eq "xenstore-ls -f" $'/t/a = "1"\n/t/b = "two words"' "$(xenstore-ls -f /t 2>&1)"
check_contains "xenstore-ls / shows dom0 name" 'name = "Domain-0"' "$(xenstore-ls / 2>&1)"
check_rc "xenstore-write bad path fails" 1 xenstore-write /t//x 1
check_rc "xenstore-chmod" 0 xenstore-chmod /t n0 r5
check_eq "chmod without -r leaves children" $'/t/a = "1"   (n0)\n/t/b = "two words"   (n0)' \
    "$(xenstore-ls -fp /t 2>&1)"
check_rc "xenstore-chmod -r" 0 xenstore-chmod -r /t n0 r5
check_eq "chmod -r changes children" $'/t/a = "1"   (n0,r5)\n/t/b = "two words"   (n0,r5)' \
    "$(xenstore-ls -fp /t 2>&1)"
xenstore-write /t/c/d new >/dev/null 2>&1
check_eq "new nodes inherit parent perms" $'/t/c = ""   (n0,r5)\n/t/c/d = "new"   (n0,r5)' \
    "$(xenstore-ls -fp /t 2>&1 | grep -F '/t/c')"
check_rc "xenstore-chmod bad mode fails" 1 xenstore-chmod /t q5
check_rc "xenstore-rm node" 0 xenstore-rm /t/a
check_rc "removed node is gone" 1 xenstore-read /t/a
xenstore-write /deep/x/y 1 >/dev/null 2>&1
check_rc "xenstore-rm -t" 0 xenstore-rm -t /deep/x/y
check_rc "xenstore-rm -t removed empty parents" 1 xenstore-exists /deep
xenstore-write /r/1/2/3 v >/dev/null 2>&1
check_rc "xenstore-rm recursive" 0 xenstore-rm /r
check_rc "recursive rm removed subtree" 1 xenstore-exists /r/1/2/3

section "xenstore-watch"
timeout 10 xenstore-watch -n 3 /t >"$work/w1.out" 2>&1 &
W1=$!
timeout 10 xenstore-watch -n 3 /t >"$work/w2.out" 2>&1 &
W2=$!
wait_for grep -qx /t "$work/w1.out"; wait_for grep -qx /t "$work/w2.out"
check_eq "xenstore-watch gets the initial event" "/t" "$(head -1 "$work/w1.out")"
xenstore-write /t/new 1 >/dev/null 2>&1
xenstore-rm /t/b >/dev/null 2>&1
wait "$W1"; wait "$W2"
check_eq "watcher 1: initial, write, rm" $'/t\n/t/new\n/t/b' "$(cat "$work/w1.out")"
check_eq "watcher 2 sees the same" $'/t\n/t/new\n/t/b' "$(cat "$work/w2.out")"
timeout 10 xenstore-watch -n 2 /t/c/d >"$work/w3.out" 2>&1 &
W3=$!
wait_for grep -qx /t/c/d "$work/w3.out"
xenstore-rm /t >/dev/null 2>&1
wait_for test "$(wc -l <"$work/w3.out")" -ge 2
kill "$W3" 2>/dev/null; wait "$W3" 2>/dev/null
check_eq "rm of an ancestor fires a watch on a removed descendant" $'/t/c/d\n/t/c/d' \
    "$(cat "$work/w3.out")"

section "simulated domain death (control interface)"
# /usr/bin/xenstore-control is a wrapper that insists on a hypervisor; use
# the real binary.
XC=$(ls /usr/lib/xen-*/bin/xenstore-control 2>/dev/null | head -1)
[ -n "$XC" ] || fail "xenstore-control is installed" \
    "expected /usr/lib/xen-<version>/bin/xenstore-control from xen-utils-<version>" \
    "seen none (tests/deps.sh installs it)"
xenstore-write /local/domain/6/name g6 /local/domain/7/name g7 /local/domain/8/name g8 >/dev/null 2>&1
timeout 10 xenstore-watch -n 4 @releaseDomain >"$work/rel.out" 2>&1 &
WR=$!
timeout 10 xenstore-watch -n 2 @introduceDomain >"$work/intro.out" 2>&1 &
WI=$!
wait_for grep -q @releaseDomain "$work/rel.out"; wait_for grep -q @introduceDomain "$work/intro.out"
check_rc "xenstore-control introduce-domain 6" 0 "$XC" introduce-domain 6
check_rc "xenstore-control release-domain 6" 0 "$XC" release-domain 6
check_rc "release-domain removed /local/domain/6" 1 xenstore-exists /local/domain/6
check_rc "control path: write /tool/xenstored-test/release-domain 7" 0 \
    xenstore-write /tool/xenstored-test/release-domain 7
check_rc "/local/domain/7 removed" 1 xenstore-exists /local/domain/7
check_rc "control path is not stored" 1 xenstore-exists /tool/xenstored-test/release-domain
check_rc "release-domain-keep 8" 0 xenstore-write /tool/xenstored-test/release-domain-keep 8
check_eq "release-domain-keep keeps /local/domain/8" "g8" "$(xenstore-read /local/domain/8/name 2>&1)"
check_rc "unknown control command fails" 1 xenstore-write /tool/xenstored-test/bogus 1
wait_for test "$(wc -l <"$work/rel.out")" -ge 4
kill "$WR" "$WI" 2>/dev/null; wait "$WR" "$WI" 2>/dev/null
check_eq "@releaseDomain fired once per release" $'@releaseDomain\n@releaseDomain\n@releaseDomain\n@releaseDomain' \
    "$(cat "$work/rel.out")"
check_eq "@introduceDomain fired" $'@introduceDomain\n@introduceDomain' "$(cat "$work/intro.out")"

section "acting as guest domain 5 (socket $G)"
xenstore-write /g/ro v /g/secret s /g/mine m /local/domain/5/data/x 1 >/dev/null 2>&1
xenstore-chmod /g/ro n0 r5 >/dev/null 2>&1
xenstore-chmod /g/mine n5 >/dev/null 2>&1
xenstore-chmod /local/domain/5 n0 r5 >/dev/null 2>&1
xenstore-chmod -r /local/domain/5/data n5 >/dev/null 2>&1
check_eq "guest reads r5 node" "v" "$(XENSTORED_PATH=$G xenstore-read /g/ro 2>&1)"
check_rc "guest write to dom0-owned r5 node denied" 1 env XENSTORED_PATH="$G" xenstore-write /g/ro x
check_eq "denied write left value alone" "v" "$(xenstore-read /g/ro 2>&1)"
check_rc "guest read of n0 node denied" 1 env XENSTORED_PATH="$G" xenstore-read /g/secret
check_rc "guest rm of dom0 node denied" 1 env XENSTORED_PATH="$G" xenstore-rm /g/secret
check_rc "guest writes own node" 0 env XENSTORED_PATH="$G" xenstore-write /g/mine m2
check_rc "guest chmod own node keeping owner" 0 env XENSTORED_PATH="$G" xenstore-chmod /g/mine n5 r0
check_rc "guest cannot hand node to dom0" 1 env XENSTORED_PATH="$G" xenstore-chmod /g/mine n0
check_rc "guest relative write into its data/" 0 env XENSTORED_PATH="$G" xenstore-write data/y 2
check_eq "relative write landed in /local/domain/5/data/y" "2" "$(xenstore-read /local/domain/5/data/y 2>&1)"
check_rc "guest cannot create in /local/domain/5 (n0,r5)" 1 env XENSTORED_PATH="$G" xenstore-write /local/domain/5/z 1
check_eq "guest-created node is owned by the guest" "/local/domain/5/data/y = \"2\"   (n5)" \
    "$(xenstore-ls -fp /local/domain/5/data 2>&1 | grep data/y)"
check_rc "guest cannot use the control path" 1 env XENSTORED_PATH="$G" xenstore-write /tool/xenstored-test/release-domain 5

section "fault injection (control: fail TYPE COUNT ERRNO [PATH])"
xenstore-write /f/a 1 /f/b 2 /g2/c 3 >/dev/null 2>&1
check_rc "fail READ 1 EIO /f: accepted" 0 xenstore-write /tool/xenstored-test/fail "READ 1 EIO /f"
check_eq "faults-left counts the pending fault" 1 "$(xenstore-read /tool/xenstored-test/faults-left 2>&1)"
check_eq "a read elsewhere is not faulted" 3 "$(xenstore-read /g2/c 2>&1)"
check_eq "a request of another type on the path is not faulted" "a b" "$(xenstore-list /f 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "the next read below the path answers the error" "xenstore-read: couldn't read path /f/b" \
    "$(xenstore-read /f/b 2>&1)"
check_eq "the fault is used up" 0 "$(xenstore-read /tool/xenstored-test/faults-left 2>&1)"
check_eq "the read after it succeeds" 2 "$(xenstore-read /f/b 2>&1)"
xenstore-write /tool/xenstored-test/fail "GET_PERMS 2 EACCES /f/a" >/dev/null 2>&1
perms_of_a() { xenstore-ls -p /f 2>&1 | grep -o 'permissions for a\|(n0)' | head -1; }
check_eq "GET_PERMS fault: 1st" "permissions for a" "$(perms_of_a)"
check_eq "GET_PERMS fault: 2nd" "permissions for a" "$(perms_of_a)"
check_eq "GET_PERMS fault: then answered" "(n0)" "$(perms_of_a)"
xenstore-write /tool/xenstored-test/fail "* 5 EIO /f" >/dev/null 2>&1
check_rc "any-type fault hits a directory listing" 1 xenstore-list /f
check_rc "fail-clear drops pending faults" 0 xenstore-write /tool/xenstored-test/fail-clear ""
check_eq "nothing left after fail-clear" 0 "$(xenstore-read /tool/xenstored-test/faults-left 2>&1)"
check_rc "listing works after fail-clear" 0 xenstore-list /f
check_rc "fail with a bad type: EINVAL" 1 xenstore-write /tool/xenstored-test/fail "FROB 1 EIO"
check_rc "fail with count 0: EINVAL" 1 xenstore-write /tool/xenstored-test/fail "READ 0 EIO"
check_rc "guest cannot inject faults" 1 env XENSTORED_PATH="$G" xenstore-write /tool/xenstored-test/fail "READ 1 EIO"

section "env handling in libxenstore"
check_eq "XENSTORED_RUNDIR/socket used when XENSTORED_PATH unset" "Domain-0" \
    "$(env -u XENSTORED_PATH XENSTORED_RUNDIR="$work" xenstore-read /local/domain/0/name 2>&1)"
check_rc "XENSTORED_PATH to a missing socket fails (no fallback)" 1 \
    env XENSTORED_PATH="$work/nonexistent" xenstore-read /local/domain/0/name

section "concurrency through the CLI"
wpids=""
for i in $(seq 1 40); do xenstore-write "/par/$i" "v$i" >/dev/null 2>&1 & wpids="$wpids $!"; done
for j in $wpids; do wait "$j"; done
n=$(xenstore-list /par 2>/dev/null | wc -l)
check_eq "40 parallel xenstore-write (each a transaction) all landed" 40 "$n"
bad=0
for i in $(seq 1 40); do [ "$(xenstore-read "/par/$i" 2>&1)" = "v$i" ] || bad=$((bad + 1)); done
check_eq "40 parallel values correct" 0 "$bad"

if [ -x /usr/lib/xen-4.17/bin/test-xenstore ]; then
    section "Xen's own test-xenstore"
    out=$(timeout 120 /usr/lib/xen-4.17/bin/test-xenstore 2>&1); rc=$?
    if [ $rc = 0 ]; then pass "Xen test-xenstore (all tests)"; else fail "Xen test-xenstore" "exit $rc" "$out"; fi
fi

section "C client (xs_client_test)"
if [ -x "$work/xs_client_test" ]; then
    out=$(timeout 120 "$work/xs_client_test" "$G" 5 2>&1)
    adopt_counts C "$out"
fi

section "raw wire protocol + garbage (wire_check.py)"
out=$(timeout 300 "$py" "$here/wire_check.py" "$S" "$SPID" 2>&1)
adopt_counts wire "$out"

check_rc "server process still alive at the end" 0 kill -0 "$SPID"
unset XENSTORED_PATH
stop_server; rc=$?
check_eq "final SIGTERM exits 0" 0 "$rc"
check_rc "no socket left behind" 1 test -e "$S"
check_rc "no guest socket left behind" 1 test -e "$G"
check_rc "no pidfile left behind" 1 test -e "$work/xs.pid"
if grep -q Traceback "$work/server.log" 2>/dev/null; then
    fail "server log has no Python traceback" "$(grep -A15 Traceback "$work/server.log" | head -40)"
else
    pass "server log has no Python traceback"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
