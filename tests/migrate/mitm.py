#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# An attacker on the path (../shared/hostile.md): a relay in the router namespace R, to which an
# nftables NAT rule redirects every forwarded TCP connection. It reads the original destination
# (SO_ORIGINAL_DST), connects onward from R, and pumps both directions, passing half-closes on.
#
#   mitm.py PORT READY_FILE CAPTURE_FILE STATS_FILE [flip:N:DIR:OFFSET ...]
#
# Every byte it relays is appended to CAPTURE_FILE (both directions, all connections), so that a
# test can look for something of the tree's memory in the clear. When a connection ends, one line
# goes to STATS_FILE: "N DST_PORT c2s_bytes s2c_bytes" (N counts connections from 1, in the order
# they were accepted). flip:N:DIR:OFFSET flips (XOR 0x5a) the byte at OFFSET of connection N's
# direction DIR (c2s: from the connecting side, s2c: back), once; several may be given. Runs until
# killed; READY_FILE is created once it listens.
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80

port, ready, capture, stats = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
flips = []
for spec in sys.argv[5:]:
    kind, n, d, off = spec.split(":")
    if kind != "flip" or d not in ("c2s", "s2c"):
        sys.exit("mitm: bad spec %r (expected flip:N:c2s|s2c:OFFSET)" % spec)
    flips.append((int(n), d, int(off)))
lock = threading.Lock()
count = [0]
cap = open(capture, "ab", buffering=0)


def original_dst(s):
    raw = s.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    p, = struct.unpack_from("!H", raw, 2)
    return socket.inet_ntoa(raw[4:8]), p


def pump(src, dst, n, d, totals, done):
    off = 0
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            b = bytearray(b)
            for (fn, fd, fo) in flips:
                if fn == n and fd == d and off <= fo < off + len(b):
                    b[fo - off] ^= 0x5A
            off += len(b)
            with lock:
                cap.write(b)
            dst.sendall(b)
    except OSError:
        pass
    totals[d] = off
    try:
        dst.shutdown(socket.SHUT_WR)  # pass the half-close on
    except OSError:
        pass
    done.release()


def serve(client, n):
    try:
        host, p = original_dst(client)
        target = socket.create_connection((host, p), timeout=10)
        target.settimeout(None)
    except OSError:
        client.close()
        return
    totals = {"c2s": 0, "s2c": 0}
    done = threading.Semaphore(0)
    threading.Thread(target=pump, args=(client, target, n, "c2s", totals, done), daemon=True).start()
    threading.Thread(target=pump, args=(target, client, n, "s2c", totals, done), daemon=True).start()
    done.acquire()
    done.acquire()
    client.close()
    target.close()
    with lock, open(stats, "a") as f:
        f.write("%d %d %d %d\n" % (n, p, totals["c2s"], totals["s2c"]))


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    open(ready, "w").close()
    while True:
        c, _ = s.accept()
        with lock:
            count[0] += 1
            n = count[0]
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


main()
