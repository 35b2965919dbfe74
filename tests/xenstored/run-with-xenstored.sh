#!/bin/sh
# run-with-xenstored.sh [OPTIONS] [--] CMD [ARGS...]
#
# Start tests/xenstored/xenstored.py on a private temp socket, export the
# environment libxenstore needs, run CMD, stop the server, exit with CMD's
# exit status.  Nothing is left behind (temp dir, socket and pidfile are
# removed).
#
# Options (must come before CMD):
#   --guest DOMID   also listen on "$XENSTORED_PATH.dom<DOMID>"; clients on
#                   that socket act as unprivileged guest DOMID (repeatable)
#   --bare          start with only / /tool /tool/xenstored
#   --verbose       trace the protocol to $XENSTORED_TEST_LOG (or stderr)
#   --              end of options
#
# Exported to CMD:
#   XENSTORED_PATH      the dom0 socket (what libxenstore connects to)
#   XENSTORED_RUNDIR    its directory (libxenstore's fallback: $RUNDIR/socket)
#   XENSTORED_TEST_DIR  the temp dir (same as XENSTORED_RUNDIR)
#   XENSTORED_TEST_PID  pid of the server
#   XENSTORED_GUEST_PATH_<DOMID>   guest socket for each --guest DOMID
set -u

here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
server_args=""
guests=""
verbose=0

while [ $# -gt 0 ]; do
    case "$1" in
        --guest)
            [ $# -ge 2 ] || { echo "run-with-xenstored: --guest needs DOMID" >&2; exit 2; }
            case "$2" in ''|*[!0-9]*) echo "run-with-xenstored: bad domid '$2'" >&2; exit 2;; esac
            guests="$guests $2"; shift 2 ;;
        --bare) server_args="$server_args --bare"; shift ;;
        --verbose) verbose=1; shift ;;
        --) shift; break ;;
        -*) echo "run-with-xenstored: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "usage: $0 [--guest DOMID]... [--bare] [--verbose] [--] CMD [ARGS...]" >&2
    exit 2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/xenstored-test.XXXXXX") || exit 1
sock="$dir/socket"
pidfile="$dir/xenstored.pid"
log="$dir/xenstored.log"
[ "$verbose" = 1 ] && server_args="$server_args -v" && log=${XENSTORED_TEST_LOG:-/dev/stderr}
for g in $guests; do
    server_args="$server_args --guest-socket $sock.dom$g:$g"
done

spid=""
cleanup() {
    if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
        kill -TERM "$spid" 2>/dev/null
        i=0
        while kill -0 "$spid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1; i=$((i + 1))
        done
        kill -0 "$spid" 2>/dev/null && kill -KILL "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
    fi
    spid=""
    rm -rf "$dir"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# shellcheck disable=SC2086
"$py" "$here/xenstored.py" --socket "$sock" --pidfile "$pidfile" $server_args \
    </dev/null 2>>"$log" &
spid=$!

i=0
while [ ! -s "$pidfile" ]; do
    if ! kill -0 "$spid" 2>/dev/null || [ $i -ge 100 ]; then
        echo "run-with-xenstored: server failed to start" >&2
        [ -f "$dir/xenstored.log" ] && cat "$dir/xenstored.log" >&2
        cleanup
        exit 1
    fi
    sleep 0.1; i=$((i + 1))
done

XENSTORED_PATH="$sock"
XENSTORED_RUNDIR="$dir"
XENSTORED_TEST_DIR="$dir"
XENSTORED_TEST_PID="$spid"
export XENSTORED_PATH XENSTORED_RUNDIR XENSTORED_TEST_DIR XENSTORED_TEST_PID
for g in $guests; do
    export "XENSTORED_GUEST_PATH_$g=$sock.dom$g"
done

"$@"
rc=$?
cleanup
exit $rc
