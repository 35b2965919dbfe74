#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The service manager's end of the notify protocol (sd_notify(3)), for the
loader's tests: a datagram socket at PATH (or @NAME, abstract) that takes
the sender's credentials as systemd does, and writes one line per datagram
to OUT: "pid=<sender pid> <assignments joined by ' | '>".

On READY=1 it stops the sender (SIGSTOP), runs CHECK (a shell command) and
writes its output as "at-ready: <output>", then lets the sender go on: what
CHECK sees is what was in force when the loader said it was ready, not a
moment later.  Exits after STOPPING=1, or after --timeout seconds.

usage: notify_listen.py PATH OUT [--check CMD] [--timeout S]
"""
import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("out")
    ap.add_argument("--check")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    addr = "\0" + a.path[1:] if a.path.startswith("@") else a.path
    s.bind(addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    # written once bound: the test starts the loader only then
    open(a.out + ".bound", "w").close()
    deadline = time.monotonic() + a.timeout
    with open(a.out, "w", buffering=1) as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out.write("timeout\n")
                return 1
            s.settimeout(left)
            try:
                data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            pid = -1
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            text = data.decode(errors="replace")
            out.write("pid=%d %s\n" % (pid, " | ".join(text.split("\n"))))
            lines = text.split("\n")
            if "READY=1" in lines and a.check and pid > 0:
                os.kill(pid, signal.SIGSTOP)
                try:
                    r = subprocess.run(a.check, shell=True, capture_output=True, text=True)
                    out.write("at-ready: %s\n" % r.stdout.strip())
                finally:
                    os.kill(pid, signal.SIGCONT)
            if "STOPPING=1" in lines:
                return 0


if __name__ == "__main__":
    sys.exit(main())
