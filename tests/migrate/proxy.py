#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A TCP relay that injects network failures into a migration (tests/migrate/test_migrate.sh):
#
#   proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT MODE READY_FILE
#
# MODE cut-bytes:N         any connection is cut (both ways) once N bytes went from the client
#                          to the target: the connection drops mid-transfer
# MODE cut-after-restore   the first connection (the control channel) is cut right after the
#                          client's RESTORE went through, so the receiver's answer is lost; later
#                          connections pass untouched. The channel is TLS: the relay sees only the
#                          record lengths (traffic analysis, as an attacker on the path would):
#                          RESTORE is the first record after FILES_DONE's (see restore_seen)
# READY_FILE is created once it listens. It runs until killed.
import socket
import struct
import sys
import threading

PREAMBLE = 16  # in the clear, then TLS records: type u8, version u16, length u16
APPDATA = 23
# TLS 1.3 record lengths of two control messages: frame header (8) + payload, + content type (1)
# + AEAD tag (16): FILES_DONE (12-byte payload) and RESTORE (4-byte payload)
FILES_DONE_REC = 8 + 12 + 17
RESTORE_REC = 8 + 4 + 17

listen_host, listen_port, target_host, target_port, mode, ready = sys.argv[1:7]
count = [0]
lock = threading.Lock()


def shut(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


def pump(src, dst, on_data):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if on_data(b) is False:
                break
    except OSError:
        pass
    shut(src, dst)


def serve(client, n):
    try:
        target = socket.create_connection((target_host, int(target_port)))
    except OSError:
        client.close()
        return
    sent = [0]
    buf = bytearray()

    def up(b):
        if mode.startswith("cut-bytes:"):
            limit = int(mode.split(":")[1])
            if sent[0] + len(b) >= limit:
                target.sendall(b[: max(0, limit - sent[0])])
                return False
            sent[0] += len(b)
            target.sendall(b)
            return True
        if mode == "cut-after-restore" and n == 1:
            buf.extend(b)
            target.sendall(b)
            return not restore_seen(buf)
        target.sendall(b)
        return True

    threading.Thread(target=pump, args=(target, client, lambda b: client.sendall(b) or True), daemon=True).start()
    pump(client, target, up)


def restore_seen(buf):
    # Client -> receiver: the preamble, then TLS records; RESTORE follows FILES_DONE, after the
    # receiver's READY, and is the next record the client sends.
    j = PREAMBLE
    last = 0
    while j + 5 <= len(buf):
        t = buf[j]
        ln = struct.unpack(">H", bytes(buf[j + 3 : j + 5]))[0]
        if j + 5 + ln > len(buf):
            return False
        if t == APPDATA:
            if last == FILES_DONE_REC and ln == RESTORE_REC:
                return True
            last = ln
        j += 5 + ln
    return False


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((listen_host, int(listen_port)))
    s.listen(16)
    open(ready, "w").close()
    while True:
        c, _ = s.accept()
        with lock:
            count[0] += 1
            n = count[0]
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


main()
