#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A third party on the network (../shared/hostile.md) that holds no secret: while a migration
# runs it keeps IDLE connections open to every given HOST:PORT (before authentication they must
# hold nothing up), and every 50 ms opens one more that sends junk (an HTTP request, random bytes,
# a migration preamble followed by garbage, a TLS ClientHello after a preamble) and reads what
# comes back. When killed (SIGTERM) it prints one line and writes it to REPORT:
#
#   thirdparty: CONNECTS connections, RECEIVED bytes received, marker seen: yes|no
#
#   thirdparty.py REPORT MARKER IDLE HOST:PORT [HOST:PORT ...]
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

report, marker, idle = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
targets = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[4:]]
lock = threading.Lock()
got = bytearray()
stats = {"connects": 0, "received": 0}
held = []
stop = threading.Event()


def note(b):
    with lock:
        stats["received"] += len(b)
        got.extend(b[-4096:])  # the marker cannot hide across a boundary of kept bytes
        if len(got) > 1 << 20:
            del got[: len(got) - (1 << 19)]


def drain(s):
    try:
        s.settimeout(2)
        while True:
            b = s.recv(65536)
            if not b:
                break
            note(b)
            if marker in b:
                with lock:
                    stats["marker"] = True
    except OSError:
        pass


def junk(i, host, port):
    try:
        s = socket.create_connection((host, port), timeout=2)
    except OSError:
        return
    with lock:
        stats["connects"] += 1
    kind = i % 4
    try:
        if kind == 0:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        elif kind == 1:
            s.sendall(os.urandom(512))
        elif kind == 2:
            s.sendall(b"ckpt-mig" + struct.pack(">HBB", 2, 1, 1) + b"\0\0\0\0" + os.urandom(256))
        else:
            s.sendall(b"ckpt-mig" + struct.pack(">HBB", 2, 2, 1) + b"\0\0\0\0")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
            s.sendall(b"\0" * 64)
    except (OSError, ssl.SSLError):
        pass
    drain(s)
    try:
        s.close()
    except OSError:
        pass


def hold():
    for host, port in targets:
        for _ in range(idle):
            try:
                s = socket.create_connection((host, port), timeout=2)
                held.append(s)
                with lock:
                    stats["connects"] += 1
            except OSError:
                pass


def end(*_):
    stop.set()


def main():
    signal.signal(signal.SIGTERM, end)
    hold()
    i = 0
    while not stop.is_set():
        for host, port in targets:
            threading.Thread(target=junk, args=(i, host, port), daemon=True).start()
            i += 1
        time.sleep(0.05)
    for s in held:
        s.setblocking(False)
        try:
            b = s.recv(65536)
            if b:
                note(b)
        except OSError:
            pass
    seen = marker in got or stats.get("marker", False)
    line = "thirdparty: %d connections, %d bytes received, marker seen: %s" % (
        stats["connects"], stats["received"], "yes" if seen else "no")
    print(line)
    with open(report, "w") as f:
        f.write(line + "\n")


main()
