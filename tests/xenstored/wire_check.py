#!/usr/bin/env python3
"""Raw wire-protocol checks and garbage/robustness tests for xenstored.py.

usage: wire_check.py SOCKET [SERVER_PID]

Talks to the server without libxenstore (to send things libxenstore never
would).  Prints PASS/FAIL lines, failures with expected vs seen, and a last
line "wire: N passed, M failed"; exit status 1 on any failure.
"""

import os
import random
import socket
import struct
import sys
import time

HDR = struct.Struct("<IIII")
XS_CONTROL, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH = range(6)
XS_TRANSACTION_START, XS_TRANSACTION_END = 6, 7
XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS, XS_WATCH_EVENT, XS_ERROR = range(11, 17)
XS_IS_DOMAIN_INTRODUCED = 17
XS_DIRECTORY_PART = 22

passed = failed = 0
SOCK = sys.argv[1]
PID = int(sys.argv[2]) if len(sys.argv) > 2 else None


def check(name, ok, expected, seen):
    global passed, failed
    if ok:
        passed += 1
        print("PASS %s" % name)
    else:
        failed += 1
        print("FAIL %s: expected %s, saw %s" % (name, expected, seen))
    sys.stdout.flush()


def connect(timeout=5.0):
    for attempt in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(SOCK)
            return s
        except BlockingIOError:
            # listen backlog momentarily full: retry like a real client would
            s.close()
            time.sleep(0.01)
    raise OSError("could not connect to %s" % SOCK)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def recv_msg(s):
    t, rid, tx, ln = HDR.unpack(recv_exact(s, HDR.size))
    return t, rid, tx, recv_exact(s, ln) if ln else b""


def send_msg(s, t, payload, rid=0, tx=0):
    s.sendall(HDR.pack(t, rid, tx, len(payload)) + payload)


def request(s, t, payload, rid=0, tx=0):
    """Send and return the first non-event reply."""
    send_msg(s, t, payload, rid, tx)
    while True:
        m = recv_msg(s)
        if m[0] != XS_WATCH_EVENT:
            return m


def server_alive(name):
    """A fresh connection can still write+read, and the process lives."""
    try:
        s = connect()
        v = b"alive-%d" % random.randrange(1 << 30)
        r1 = request(s, XS_WRITE, b"/wire/alive\0" + v)
        r2 = request(s, XS_READ, b"/wire/alive\0")
        s.close()
        ok = r1[0] == XS_WRITE and r2[0] == XS_READ and r2[3] == v
        seen = "write %r, read %r" % (r1[3], r2[3])
    except Exception as e:  # noqa: BLE001 - report anything
        ok, seen = False, "exception %r" % e
    if PID is not None:
        try:
            os.kill(PID, 0)
        except OSError:
            ok, seen = False, "server process %d is gone" % PID
    check(name, ok, "server still answers write/read", seen)


def main():
    random.seed(1234)
    s = connect()

    # --- protocol basics ---------------------------------------------------
    r = request(s, XS_WRITE, b"/wire/x\0val", rid=0xdeadbeef)
    check("reply echoes type/req_id", r[0] == XS_WRITE and r[1] == 0xdeadbeef
          and r[3] == b"OK\0", "(WRITE, 0xdeadbeef, 'OK\\0')",
          (r[0], hex(r[1]), r[3]))
    r = request(s, XS_READ, b"/wire/x\0")
    check("read payload has no NUL", r[3] == b"val", repr(b"val"), repr(r[3]))
    r = request(s, 99, b"", rid=7)
    check("unknown type -> ENOSYS", r[0] == XS_ERROR and r[1] == 7 and
          r[3] == b"ENOSYS\0", "(ERROR, 7, 'ENOSYS\\0')", (r[0], r[1], r[3]))
    r = request(s, XS_WATCH_EVENT, b"a\0b\0")
    check("client WATCH_EVENT -> ENOSYS", r[3] == b"ENOSYS\0", "ENOSYS", r[3])
    r = request(s, XS_READ, b"/wire/x")
    check("unterminated path -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_READ, b"/wire/x\0extra\0")
    check("two args to READ -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_WRITE, b"/wire/nonul")
    check("WRITE without NUL -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_READ, b"\xff\xfe\0")
    check("non-ascii path -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_READ, b"/" + b"a" * 3100 + b"\0")
    check("overlong path -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_READ, b"/wire/x\0", tx=4242)
    check("unknown tx id -> ENOENT", r[3] == b"ENOENT\0", "ENOENT", r[3])
    r = request(s, XS_TRANSACTION_START, b"\0")
    txid = int(r[3].rstrip(b"\0"))
    r = request(s, XS_TRANSACTION_START, b"\0", tx=txid)
    check("nested transaction -> EBUSY", r[3] == b"EBUSY\0", "EBUSY", r[3])
    r = request(s, XS_TRANSACTION_END, b"X\0", tx=txid)
    check("TRANSACTION_END bad arg -> EINVAL", r[3] == b"EINVAL\0", "EINVAL",
          r[3])
    r = request(s, XS_TRANSACTION_END, b"F\0", tx=txid)
    check("reply echoes tx_id", r[2] == txid and r[3] == b"OK\0",
          "(tx %d, OK)" % txid, (r[2], r[3]))
    r = request(s, XS_SET_PERMS, b"/wire/x\0q5\0")
    check("bad perm string -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_SET_PERMS, b"/wire/x\0")
    check("empty perm list -> EINVAL", r[3] == b"EINVAL\0", "EINVAL", r[3])
    r = request(s, XS_IS_DOMAIN_INTRODUCED, b"0\0")
    check("dom0 introduced", r[3] == b"T\0", "T", r[3])

    # --- watch: ack then initial event ----------------------------------------
    send_msg(s, XS_WATCH, b"/wire\0tok\0", rid=5)
    m1, m2 = recv_msg(s), recv_msg(s)
    check("watch ack then initial event",
          m1[0] == XS_WATCH and m1[1] == 5 and m2[0] == XS_WATCH_EVENT and
          m2[3] == b"/wire\0tok\0",
          "(WATCH ack, WATCH_EVENT '/wire\\0tok\\0')", (m1, m2))
    request(s, XS_UNWATCH, b"/wire\0tok\0")

    # --- directory part --------------------------------------------------------
    for i in range(5):
        request(s, XS_WRITE, b"/wire/dp/n%d\0" % i)
    r = request(s, XS_DIRECTORY_PART, b"/wire/dp\0" + b"0\0")
    parts = r[3].split(b"\0")
    check("DIRECTORY_PART lists children",
          parts[1:7] == [b"n0", b"n1", b"n2", b"n3", b"n4", b""],
          "gen + n0..n4 + empty terminator", parts)

    # --- large directory -> E2BIG for DIRECTORY --------------------------------
    for i in range(0, 120):
        request(s, XS_WRITE, b"/wire/big/" + (b"%04d" % i) * 10 + b"\0")
    r = request(s, XS_DIRECTORY, b"/wire/big\0")
    check("oversize DIRECTORY reply -> E2BIG", r[3] == b"E2BIG\0", "E2BIG",
          r[3][:20])

    # --- very deep tree: create and remove ~1500 levels -----------------------
    deep = b"/wire/deep" + b"/d" * 1500
    r1 = request(s, XS_WRITE, deep + b"\0x")
    r2 = request(s, XS_RM, b"/wire/deep\0")
    r3 = request(s, XS_READ, deep + b"\0")
    check("1500-level deep tree write+rm", r1[3] == b"OK\0" and
          r2[3] == b"OK\0" and r3[3] == b"ENOENT\0", "OK, OK, ENOENT",
          (r1[3], r2[3], r3[3]))

    # --- pipelining: many requests in one write --------------------------------
    blob = b"".join(HDR.pack(XS_READ, i, 0, 8) + b"/wire/x\0"
                    for i in range(200))
    s.sendall(blob)
    ids = []
    for _ in range(200):
        m = recv_msg(s)
        ids.append(m[1])
    check("200 pipelined requests answered in order", ids == list(range(200)),
          "req ids 0..199", ids[:5])
    s.close()

    # --- oversize len: connection dropped, server survives --------------------
    s = connect()
    s.sendall(HDR.pack(XS_WRITE, 1, 0, 100000) + b"x" * 100)
    try:
        data = s.recv(100)
        closed = data == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    check("len > 4096 drops the connection", closed, "EOF", "still open")
    s.close()
    server_alive("alive after oversize len")

    # --- partial header / partial payload then disconnect ----------------------
    s = connect()
    s.sendall(b"\x02\x00\x00")
    s.close()
    s = connect()
    s.sendall(HDR.pack(XS_WRITE, 1, 0, 50) + b"/wire/partial\0")
    s.close()
    server_alive("alive after truncated messages")

    # --- random garbage ------------------------------------------------------------
    for i in range(300):
        s = connect(timeout=2.0)
        n = random.choice([1, 7, 16, 17, 64, 500, 4096, 9000])
        junk = bytes(random.getrandbits(8) for _ in range(n))
        if i % 3 == 0:
            # plausible header with small len and random type/payload
            ln = random.randrange(0, 64)
            junk = HDR.pack(random.randrange(0, 40), i, random.choice([0, 1, i]),
                            ln) + junk[:ln]
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    server_alive("alive after 300 random garbage connections")

    # --- valid-header fuzz on one connection: every reply well formed --------
    s = connect()
    ok = True
    seen = ""
    for i in range(400):
        t = random.randrange(0, 24)
        if t in (XS_WATCH, XS_TRANSACTION_START):
            t = XS_READ          # keep the stream easy to follow
        parts = [random.choice([b"/wire/f", b"/wire/f/%d" % i, b"rel", b"@x",
                                b"", b"//", b"T", b"5", b"n0", b"b7"])
                 for _ in range(random.randrange(0, 4))]
        payload = b"\0".join(parts) + random.choice([b"\0", b""])
        try:
            r = request(s, t, payload, rid=i)
        except Exception as e:  # noqa: BLE001
            ok, seen = False, "exception %r after type %d payload %r" % (
                e, t, payload)
            break
        if r[1] != i or r[0] not in (t, XS_ERROR):
            ok, seen = False, "reply %r to type %d" % (r[:3], t)
            break
    check("400 fuzzed well-framed requests all answered", ok,
          "one reply per request", seen)
    s.close()
    server_alive("alive after framed fuzz")

    # --- slow reader does not block the server ----------------------------------
    lazy = connect()
    send_msg(lazy, XS_WATCH, b"/wire/flood\0lazy\0")
    w = connect()
    t0 = time.time()
    for i in range(3000):
        request(w, XS_WRITE, b"/wire/flood/n\0" + b"v" * 1000)
    check("3000 writes with a non-reading watcher",
          time.time() - t0 < 60, "< 60s", "%.1fs" % (time.time() - t0))
    server_alive("alive with a stuck watcher")
    lazy.close()
    w.close()

    # --- many concurrent clients -----------------------------------------------
    socks = [connect() for _ in range(200)]
    for i, c in enumerate(socks):
        send_msg(c, XS_WRITE, b"/wire/many/%d\0%d" % (i, i), rid=i)
    ok = all(recv_msg(c)[3] == b"OK\0" for c in socks)
    for i, c in enumerate(socks):
        send_msg(c, XS_READ, b"/wire/many/%d\0" % i, rid=i)
    vals = [recv_msg(c)[3] for c in socks]
    ok = ok and vals == [b"%d" % i for i in range(200)]
    check("200 concurrent connections", ok, "all writes/reads ok",
          vals[:3])
    for c in socks:
        c.close()

    s = connect()
    request(s, XS_RM, b"/wire\0")
    s.close()
    print("wire: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
