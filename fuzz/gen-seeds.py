#!/usr/bin/env python3
"""Write the seed corpora of fuzz/corpus/ (run from anywhere; idempotent).

criu_resp seeds are encoded here by hand (protobuf wire format) from the
messages CRIU 4.x sends (CRIU's criu/cr-service.c; the schema is proto/rpc.proto).
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def vi(field, n):
    return varint(field << 3) + varint(n)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((field << 3) | 2) + varint(len(data)) + data


def resp(t, ok, *rest):
    return vi(1, t) + vi(2, 1 if ok else 0) + b"".join(rest)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


R = {
    "version-4.2.1": resp(10, True, ld(10, vi(1, 4) + vi(2, 2) + vi(4, 1))),
    "version-git": resp(10, True, ld(10, vi(1, 4) + vi(2, 2) + ld(3, "v4.2-12-gdeadbeef") + ld(6, "CRIU"))),
    "dump-ok": resp(1, True, ld(3, vi(1, 0))),
    "dump-restored": resp(1, True, ld(3, vi(1, 1))),
    "restore-ok": resp(2, True, ld(4, vi(1, 4242))),
    "notify-pre-dump": resp(6, True, ld(5, ld(1, "pre-dump"))),
    "notify-setup-ns": resp(6, True, ld(5, ld(1, "setup-namespaces") + vi(2, 77))),
    "notify-orphan-pts": resp(6, True, ld(5, ld(1, "orphan-pts-master"))),
    "dump-failed": resp(1, False, vi(7, 3), ld(9, "Can't dump task 123: \x1b[31mNo such process\n")),
    "empty-refused": resp(0, False, ld(9, "Unknown request type")),
    "feature-check": resp(9, True, ld(8, vi(1, 1) + vi(2, 1) + vi(3, 0))),
    "page-server": resp(12, True, ld(6, ld(1, "127.0.0.1") + vi(2, 27027) + vi(3, 555))),
    "wait-pid": resp(11, True, vi(11, 0x100)),
    "check-ok": resp(3, True),
    "errmsg-nul": resp(1, False, ld(9, b"bad\x00hidden")),
    "unknown-field": resp(10, True, ld(10, vi(1, 4) + vi(2, 2)), ld(99, "from a newer criu")),
    "badenum": resp(999, True),
    "missing-success": vi(1, 10),
}
for k, v in R.items():
    write("fuzz_resp_decode", k, v)

for i, s in enumerate(["127.0.0.1:1234", "[::1]:27027", "localhost:0", "host:65536",
                       "[fe80::1%eth0]:80", "10.0.0.1", ":80", "a" * 300 + ":1"]):
    write("fuzz_addr", "addr-%d" % i, s)

for i, s in enumerate(["net,pid,mnt", "ipc,uts,user,cgroup,time", "network,mount",
                       "", "net,,pid", "net,net", " net , pid "]):
    write("fuzz_nsname", "ns-%d" % i, s)

oci = os.path.join(ROOT, "tests", "fixtures", "oci")
for name in ["valid.json", "join-netns.json", "join-pid.json", "duplicate.json", "deep.json",
             "bad-utf8.json", "nul-in-type.json", "truncated.json"]:
    p = os.path.join(oci, name)
    if os.path.exists(p):
        shutil.copy(p, os.path.join(HERE, "corpus", "fuzz_oci_config", name))

img = os.path.join(ROOT, "tests", "fixtures", "images", "sleep")


def rd(n):
    with open(os.path.join(img, n), "rb") as f:
        return f.read()


write("fuzz_images", "sleep", rd("inventory.img") + b"CKPT" + rd("pstree.img") + b"CKPT" + rd("core-6258.img"))
write("fuzz_images", "no-core", rd("inventory.img") + b"CKPT" + rd("pstree.img"))
write("fuzz_images", "inventory-only", rd("inventory.img"))
write("fuzz_images", "truncated-pstree", rd("inventory.img") + b"CKPT" + rd("pstree.img")[:13])

# fuzz_diagnose: every recorded CRIU failure log (tests/fixtures/criu-logs), after two bytes:
# the operation (1 dump, 2 pre-dump, 3 restore) and the option bits (0: none set).
logs = os.path.join(ROOT, "tests", "fixtures", "criu-logs")
OPS = {"dump": 1, "pre-dump": 2, "restore": 3}
with open(os.path.join(logs, "MANIFEST")) as m:
    for line in m:
        name, op = line.split("\t")[:2]
        if name.endswith("-v4"):
            continue  # 40 KiB of level-4 chatter: the unit test has it
        with open(os.path.join(logs, name + ".log"), "rb") as f:
            write("fuzz_diagnose", name, bytes([OPS[op], 0]) + f.read())

# fuzz_channel: a caps byte, then frames of the migration control channel as
# lib/migrate/chan-frame.c reads them inside TLS (protocol version 2: type u16,
# flags u16, length u32, payload; big-endian). The file digests are real SHA-256.
import hashlib
import struct


def frame(t, payload=b"", flags=0):
    return struct.pack(">HHI", t, flags, len(payload)) + payload


def s16(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">H", len(x)) + x


def hello(role, mode, cpuinfo=b"", proto=2):
    return frame(1, struct.pack(">HBB", proto, role, mode) + bytes(range(16)) + struct.pack(">I", 200) +
                 s16("0.2.0") + struct.pack(">I", 40201) + s16("4.2.1") + struct.pack(">Ii", 0, 0) +
                 s16("criu check: ok") + struct.pack(">I", len(cpuinfo)) + cpuinfo)


def afile(name, data, mode=0o100600, declared=None, digest=None):
    out = frame(3, s16(name) + struct.pack(">IQ", mode, len(data) if declared is None else declared))
    for i in range(0, len(data), 65536):
        out += frame(4, data[i:i + 65536])
    return out + frame(5, digest if digest is not None else hashlib.sha256(data).digest())


def done(count, total):
    return frame(6, struct.pack(">IQ", count, total))


data = bytes((i * 7 + 3) & 0xff for i in range(5000))
ch = {
    "session": b"\0" + hello(1, 1, b"\x0a\x02\x08\x01") + afile("inventory.img", b"\x01\x02") +
    afile("core-1.img", data) + done(2, 5002) + frame(7, struct.pack(">I", 0)) +
    frame(8, struct.pack(">Bii", 1, 4242, 0) + s16("") + s16("")) + frame(9, b"\x01"),
    "lazy": b"\0" + hello(1, 2) + afile("pagemap-1.img", data[:100]) + done(1, 100) +
    frame(7, struct.pack(">I", 1)) +
    frame(8, struct.pack(">Bii", 3, 0, 0) + s16("") + s16("")),
    "capped": b"\x13" + afile("a", b"x" * 600) + afile("b", b"y" * 600) + afile("c", b"") + done(3, 1200),
    "error": b"\0" + frame(2, struct.pack(">i", -11) + s16("restore") + s16("criu: pid 42 is taken")),
    "name-dotdot": b"\0" + afile("../core-1.img", b"zz") + done(1, 2),
    "name-slash": b"\0" + afile("a/b", b"zz"),
    "bad-digest": b"\0" + afile("x.img", b"abc", digest=b"\0" * 32) + done(1, 3),
    "overlong-data": b"\0" + afile("x.img", b"abcdef", declared=3),
    "short-data": b"\0" + afile("x.img", b"ab", declared=30),
    "oversized": b"\0" + struct.pack(">HHI", 4, 0, 0x20001) + b"x" * 64,
    "flags": b"\0" + frame(9, b"\x01", flags=1),
    "unknown-type": b"\0" + frame(11, b""),
    "hello-proto1": b"\0" + hello(1, 1, proto=1),
    "pages-hello": b"\0" + hello(3, 2),
    "hello-truncated": b"\0" + hello(1, 1)[:40],
    "resolve": b"\0" + frame(10, bytes(range(16))),
    "done-mismatch": b"\0" + afile("a", b"q") + done(2, 1),
}
for k, v in ch.items():
    write("fuzz_channel", k, v)

# fuzz_archive: checkpoint archives of the fixture images (pages left out to stay small),
# in every compression, and two hostile ones. mtimes are pinned so the seeds are stable.
def archive_seed(name, comp, extra=()):
    import gzip
    import io
    import subprocess
    import tarfile

    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(arcname, data, kind=tarfile.REGTYPE, mode=0o600, link=""):
            ti = tarfile.TarInfo(arcname)
            ti.type, ti.mode, ti.linkname, ti.mtime = kind, mode, link, 1700000000
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
        add("config.dump", b'{"id":"x","name":"sleep","runtime":"libckpt"}')
        add("spec.dump", b'{"annotations":{"io.container.manager":"libckpt"},'
                         b'"mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}')
        add("checkpoint", b"", tarfile.DIRTYPE, 0o700)
        for f in sorted(os.listdir(img)):
            if not f.startswith("pages-"):
                add(("" if f == "stats-dump" else "checkpoint/") + f, rd(f))
        for e in extra:
            add(*e)
    data = bio.getvalue()
    if comp == "gz":
        data = gzip.compress(data, 9, mtime=0)
    elif comp == "zst":
        data = subprocess.run(["zstd", "-q", "-c", "-19"], input=data, capture_output=True,
                              check=True).stdout
    write("fuzz_archive", name, data)


archive_seed("sleep.tar", "none")
archive_seed("sleep.tar.gz", "gz")
archive_seed("sleep.tar.zst", "zst")
archive_seed("symlink.tar", "none", [("checkpoint/x", b"", b"2", 0o777, "/etc")])  # b"2": a symlink
archive_seed("dotdot.tar.gz", "gz", [("../x", b"x")])
