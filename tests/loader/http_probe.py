#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""HTTP clients, polite and not, for tests/loader/test_metrics.sh.

  http_probe.py PORT send HEX         send bytes (hex), read to EOF; print the
                                      status line, then "body-bytes N"
  http_probe.py PORT body PATH        GET PATH; print the body only
  http_probe.py PORT hog N            hold N connections that send half a
                                      request, then GET /metrics; print
                                      "status S" (none: no answer)
  http_probe.py PORT idle             connect, send nothing; print whether
                                      the server closed it within 10 s
  http_probe.py PORT noread N         send N requests and close at once,
                                      reading nothing (RST to the server)
Exit 0; 1 if the server did not answer as the command expects to see.
"""
import signal
import socket
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def split(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    return lines, body


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet when the reader has enough
    port, cmd = int(sys.argv[1]), sys.argv[2]
    if cmd == "send":
        s = connect(port)
        s.sendall(bytes.fromhex(sys.argv[3]))
        lines, body = split(read_all(s))
        print(lines[0] if lines and lines[0] else "no response")
        for h in lines[1:]:
            if h.lower().startswith(("content-type:", "allow:")):
                print(h)
        print("body-bytes %d" % len(body))
        return 0
    if cmd == "body":
        s = connect(port)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[3]).encode())
        lines, body = split(read_all(s))
        sys.stdout.write(body.decode(errors="replace"))
        return 0 if lines[0].startswith("HTTP/1.1 200") else 1
    if cmd == "hog":
        hogs = []
        for _ in range(int(sys.argv[3])):
            h = connect(port)
            h.sendall(b"GET /metr")
            hogs.append(h)
        time.sleep(0.2)
        s = connect(port)
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        lines, _ = split(read_all(s))
        print("status %s" % (lines[0].split() + ["none", "none"])[1])
        return 0
    if cmd == "idle":
        s = connect(port)
        try:
            read_all(s)
            print("closed by the server")
        except socket.timeout:
            print("still open after 10 s")
        return 0
    if cmd == "noread":
        for _ in range(int(sys.argv[3])):
            s = connect(port)
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
