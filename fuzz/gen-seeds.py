#!/usr/bin/env python3
"""Write the seed corpora of fuzz/corpus/ (run from anywhere; idempotent).

criu_resp seeds are encoded here by hand (protobuf wire format) from the
messages CRIU 4.x sends (see /work/shared/criu-rpc.md, lib's proto/rpc.proto).
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
