#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A migration peer without a client certificate: the channel's preamble (TLS method, the
# connecting side), then a TLS handshake that presents no certificate. Exit 0 when the receiver
# refused it (no verdict byte 0 came), 1 when it was let in, 2 on a setup error.
#
#   nocert.py HOST PORT CA_FILE
import socket
import ssl
import struct
import sys

host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"ckpt-mig" + struct.pack(">HBB", 2, 2, 1) + b"\0\0\0\0")
    peer = b""
    while len(peer) < 16:
        b = s.recv(16 - len(peer))
        if not b:
            break
        peer += b
    if peer[:8] != b"ckpt-mig":
        print("nocert: not a migration endpoint: %r" % peer)
        sys.exit(2)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    t = ctx.wrap_socket(s, server_hostname=host)
    verdict = t.recv(1)
except (ssl.SSLError, OSError) as e:
    print("nocert: refused: %s" % e)
    sys.exit(0)
if verdict == b"\0":
    print("nocert: let in without a certificate")
    sys.exit(1)
print("nocert: refused (connection closed)")
sys.exit(0)
