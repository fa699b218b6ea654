#!/bin/bash
# Archive tests of `ckpt` against real CRIU, real processes and the real
# checkpointctl (Debian trixie's, provisioned by scripts/provision-checkpointctl.sh):
#  - a process tree (python3 with a TCP and a unix socket, and a counter child)
#    exported in every compression; checkpointctl show and inspect --ps-tree
#    --stats --files --sockets accept each and show our tree; ckpt inspect reads it;
#  - the counter exported, its images removed, the archive imported elsewhere and
#    restored: it carries on (and --keep keeps the extracted dir);
#  - CRI-O-, containerd- and Podman-style archives built here from the real images:
#    engine, name and process tree right in ckpt inspect (text and JSON), and
#    restore --import refuses them naming the engine and the tool;
#  - hostile archives (traversal, symlink escape, device node, bomb, truncated
#    stream, wrong magic) each refused with its own message, nothing written
#    outside the target directory;
#  - a neighbour (uid 65534) at the archive's directory: one it can write without
#    the sticky bit, or owns, is refused before anything is extracted; in a
#    sticky one it races to rename and replace what is extracted while the
#    import and the restore run, and fails: the restore reads what was extracted.
# Usage: test_archive.sh PATH/TO/ckpt PATH/TO/counter
# Prints "case: NAME: ok|FAILED" per check; exits non-zero if any failed.
set -u
CKPT=$(realpath "${1:?usage: test_archive.sh PATH/TO/ckpt PATH/TO/counter}")
COUNTER=$(realpath "${2:?usage: test_archive.sh PATH/TO/ckpt PATH/TO/counter}")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

T=$(mktemp -d /tmp/ckpt-archive-test.XXXXXX)
mkdir -p "$T/tmpdir"
export TMPDIR=$T/tmpdir # where inspect extracts archives
PIDS=()
FAILED=0
PASSED=0

cleanup() {
	for p in "${PIDS[@]}"; do
		pkill -9 -s "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T" "${NB:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "case: $1: ok"; }
notok() { # notok NAME [DETAIL]: a failed case, DETAIL's lines under it
	local l
	FAILED=$((FAILED + 1))
	echo "case: $1: FAILED"
	[ -n "${2:-}" ] || return 0
	while IFS= read -r l; do echo "#   $l"; done <<<"$2"
}
# none_named DIR GLOB: no entry of DIR, hidden ones included, matches GLOB
# shellcheck disable=SC2086 # GLOB is left unquoted to be expanded: that is the point
none_named() { (shopt -s nullglob dotglob; set -- "$1"/$2; [ $# = 0 ]); }
check() { # check NAME CMD...
	local d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
# run EXPECTED_RC NAME ARGS...: ckpt, output in $T/out and $T/err
run() {
	local want=$1 d=$2; shift 2
	"$CKPT" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	if [ "$RC" = "$want" ]; then ok "$d"; else notok "$d (exit $RC, want $want)" "$(cat "$T/err")"; fi
}
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); exec("print(d"+sys.argv[2]+")")' "$1" "$2"; }
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_gone() {
	for _ in $(seq 1 300); do
		if [ ! -e "/proc/$1" ] &&
			! ps -e -o pid=,pgid=,sid= | awk -v p="$1" '$1 == p || $2 == p || $3 == p { f = 1 } END { exit !f }'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
counter_of() { cat "$1/counter" 2>/dev/null || echo 0; }
# moving DIR: the counter in DIR advances within 3 s
moving() {
	local a b
	a=$(counter_of "$1")
	for _ in $(seq 1 30); do
		sleep 0.1
		b=$(counter_of "$1")
		[ "$b" -gt "$a" ] 2>/dev/null && return 0
	done
	return 1
}

export CKPT_CRIU=${CKPT_CRIU:-$("$HERE/../../scripts/provision-criu.sh")}
CTL=$("$HERE/../../scripts/provision-checkpointctl.sh") || CTL=
check "checkpointctl is provisioned (Debian trixie's, private prefix)" test -n "$CTL"
cd "$T" || exit 1

# A tree: python3 (a listening TCP socket on 127.0.0.1 and an abstract unix socket)
# with the counter as its child. Sets TREE_PID (python3) and CHILD_PID (counter).
start_tree() {
	local d=$1
	mkdir -p "$d"
	setsid "$PY" -c '
import os, socket, subprocess, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
u = socket.socket(socket.AF_UNIX); u.bind("\0ckpt-archive-test-%d" % os.getpid()); u.listen()
subprocess.Popen([sys.argv[1], sys.argv[2], "4", "100"], stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(100000)
' "$COUNTER" "$d" </dev/null >/dev/null 2>&1 &
	TREE_PID=$!
	disown "$TREE_PID"
	PIDS+=("$TREE_PID")
	for _ in $(seq 1 100); do
		CHILD_PID=$(pgrep -P "$TREE_PID" counter | head -n1)
		[ -n "$CHILD_PID" ] && [ -s "$d/counter" ] && return 0
		sleep 0.1
	done
	return 1
}

magic_of() { head -c 4 "$1" | od -An -tx1 | tr -d ' \n'; }

# ---- export in every compression; checkpointctl and ckpt inspect accept it ----
for comp in zstd gzip none; do
	D=$T/tree-$comp
	start_tree "$D" || notok "$comp: the tree started"
	F=$T/tree-$comp.tar
	"$CKPT" checkpoint --image-path "$D/img" --export "$F" \
		--compress "$comp" "$TREE_PID" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 0 ]; then
		ok "$comp: checkpoint --export"
	else
		notok "$comp: checkpoint --export (exit $rc)" "$(cat "$T/err")"
	fi
	check "$comp: the archive is mode 0600" test "$(stat -c %a "$F" 2>/dev/null)" = 600
	check "$comp: no temporary file is left beside it" none_named "$T" '*.tmp-*'
	case $comp in
	zstd) want=28b52ffd ;;
	gzip) want=1f8b ;;
	none) want= ;;
	esac
	if [ -n "$want" ]; then
		check "$comp: the archive starts with the $comp magic" test "$(magic_of "$F" | cut -c1-${#want})" = "$want"
	else
		check "$comp: the archive is a plain tar" test "$(dd if="$F" bs=1 skip=257 count=5 2>/dev/null)" = ustar
	fi
	check "$comp: the archive lists checkpoint/ with an x bit" \
		bash -c "tar -tvf '$F' | grep -qE '^drwx.* checkpoint/?\$'"
	check "$comp: config.dump, spec.dump and stats-dump at the top level" \
		bash -c "tar -tf '$F' | grep -qx config.dump && tar -tf '$F' | grep -qx spec.dump && tar -tf '$F' | grep -qx stats-dump"
	if [ -n "$CTL" ]; then
		"$CTL" show "$F" >"$T/ctl" 2>&1
		check "$comp: checkpointctl show accepts it" bash -c "[ $? = 0 ] && grep -q libckpt '$T/ctl'"
		"$CTL" inspect --ps-tree --stats --files --sockets "$F" >"$T/ctl" 2>&1
		rc=$?
		check "$comp: checkpointctl inspect --ps-tree --stats --files --sockets accepts it" test $rc = 0
		check "$comp: checkpointctl shows our tree (python3 $TREE_PID, counter $CHILD_PID)" \
			bash -c "grep -q '\[$TREE_PID\]  python3' '$T/ctl' && grep -q '\[$CHILD_PID\]  counter' '$T/ctl'"
		check "$comp: checkpointctl shows the TCP socket and the dump statistics" \
			bash -c "grep -q 'TCP (LISTEN)' '$T/ctl' && grep -q 'Pages written' '$T/ctl'"
		[ $rc = 0 ] || sed 's/^/#   /' "$T/ctl" | head -n 20
	else
		notok "$comp: checkpointctl show/inspect (no checkpointctl)"
	fi
	run 0 "$comp: ckpt inspect --all --json of the archive" inspect --all --json "$F"
	check "$comp: inspect: engine libckpt, name python3, compression $comp" \
		test "$(jget "$T/out" '["engine"],d["name"],d["compression"]')" = "libckpt python3 $comp"
	check "$comp: inspect: two processes, the counter a child of python3" \
		test "$(jget "$T/out" '["checkpoint"]["processes"][1]["ppid"],len(d["checkpoint"]["processes"])')" = "$TREE_PID 2"
	check "$comp: inspect: the counter's command line read from its memory" \
		test "$(jget "$T/out" '["checkpoint"]["processes"][1]["cmdline"][0]')" = "$COUNTER"
	check "$comp: inspect: python3's TCP socket on 127.0.0.1" \
		bash -c "$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d[\"checkpoint\"][\"processes\"][0][\"sockets\"]; sys.exit(not any(x.get(\"protocol\")==\"TCP\" and x[\"local\"].startswith(\"127.0.0.1:\") for x in s))' '$T/out'"
	check "$comp: inspect: the checkpointed time and CRIU version are recorded" \
		test -n "$(jget "$T/out" '["checkpointed"],d["criu_version"]')"
	run 0 "$comp: ckpt inspect --ps-tree-cmd (text)" inspect --ps-tree-cmd "$F"
	check "$comp: the text tree shows counter under python3" \
		bash -c "grep -q '^$TREE_PID python3' '$T/out' && grep -q '└── $CHILD_PID counter  \[$COUNTER ' '$T/out'"
	check "$comp: inspect left no extracted directory in \$TMPDIR" test -z "$(ls -A "$T/tmpdir" 2>/dev/null)"
	wait_gone "$TREE_PID"
	wait_gone "$CHILD_PID"
	cp -r "$D/img" "$T/images-$comp" # for the other engines' archives below
	rm -rf "$D/img"
done

# ---- the counter exported, its images removed, imported elsewhere, restored ----
D=$T/mig
mkdir -p "$D"
setsid "$COUNTER" "$D" 4 100 </dev/null >/dev/null 2>&1 &
CPID=$!
disown "$CPID"
PIDS+=("$CPID")
moving "$D" || notok "counter started"
"$CKPT" checkpoint --image-path "$D/img" --export "$T/mig.tar.zst" "$CPID" >"$T/out" 2>"$T/err"
check "counter: checkpoint --export" test $? = 0
wait_gone "$CPID"
rm -rf "$D/img"
mkdir -p "$T/elsewhere"
mv "$T/mig.tar.zst" "$T/elsewhere/"
before=$(counter_of "$D")
"$CKPT" restore -d --import "$T/elsewhere/mig.tar.zst" --image-path "$T/imported" >"$T/out" 2>"$T/err"
rc=$?
check "counter: restore --import elsewhere" test $rc = 0
[ $rc = 0 ] || sed 's/^/#   /' "$T/err"
check "counter: the restored pid is the counter's" test "$(head -n1 "$T/out")" = "$CPID"
check "counter: it carries on from $before" moving "$D"
check "counter: the extracted directory was removed" test -z "$(ls -A "$T/imported" 2>/dev/null)"
kill -9 "$CPID" 2>/dev/null
wait_gone "$CPID"
"$CKPT" restore -d --keep --import "$T/elsewhere/mig.tar.zst" --image-path "$T/imported" >"$T/out" 2>"$T/err"
check "counter: restore --import --keep" test $? = 0
check "counter: --keep kept the extracted checkpoint (0700)" \
	bash -c "ls -d '$T'/imported/ckpt-archive-* >/dev/null 2>&1 && test \"\$(stat -c %a '$T'/imported/ckpt-archive-*)\" = 700"
check "counter: it carries on after the second import" moving "$D"
kill -9 "$CPID" 2>/dev/null
wait_gone "$CPID"
# ---- a neighbour at the archive's directory (another uid, ../shared/hostile.md) ----
NOB=65534
# the neighbour's side of the filesystem: a base it can traverse ($T is 0700)
NB=$(mktemp -d /tmp/ckpt-neighbour.XXXXXX) && chmod 755 "$NB"
mkdir -m 0777 "$NB/open" && cp "$T/elsewhere/mig.tar.zst" "$NB/open/"
run 1 "neighbour: import beside an archive in a dir others can write (0777) is refused" \
	restore -d --import "$NB/open/mig.tar.zst"
check "neighbour: ... saying why and what to do" grep -q "without the sticky bit.*extract into a directory only you can write" "$T/err"
check "neighbour: ... nothing was extracted" none_named "$NB/open" "ckpt-archive-*"
mkdir -m 0755 "$NB/theirs" && cp "$T/elsewhere/mig.tar.zst" "$NB/theirs/" && chown "$NOB" "$NB/theirs"
run 1 "neighbour: import beside an archive in a dir another user owns is refused" \
	restore -d --import "$NB/theirs/mig.tar.zst"
check "neighbour: ... naming the owner" grep -q "owned by uid $NOB" "$T/err"
check "neighbour: ... nothing was extracted" none_named "$NB/theirs" "ckpt-archive-*"
# sticky (as /tmp): the neighbour renames every ckpt-archive-* it sees and plants its own, all
# along the import and the restore; each rename fails (sticky), the restore reads ours
mkdir -m 1777 "$NB/sticky" && cp "$T/elsewhere/mig.tar.zst" "$NB/sticky/"
# shellcheck disable=SC2016 # the script runs as the neighbour: its $ expand there
setpriv --reuid="$NOB" --regid="$NOB" --clear-groups bash -c '
	ok=0 tries=0
	end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ] && [ ! -e "$1/stop" ]; do
		for d in "$1"/ckpt-archive-*; do
			[ -e "$d" ] || continue
			case $d in *-theirs*) continue ;; esac
			tries=$((tries + 1))
			if mv "$d" "$d-theirs" 2>/dev/null; then
				ok=$((ok + 1))
				mkdir -p "$d/checkpoint" && echo planted >"$d/checkpoint/inventory.img"
			fi
		done
	done
	echo "$tries $ok" >"$1/neighbour.result"' _ "$NB/sticky" </dev/null >/dev/null 2>&1 &
NPID=$!
PIDS+=("$NPID")
"$CKPT" restore -d --import "$NB/sticky/mig.tar.zst" >"$T/out" 2>"$T/err"
rc=$?
touch "$NB/sticky/stop"
wait "$NPID"
check "neighbour: in a sticky dir the import and restore succeed" test $rc = 0
check "neighbour: it tried to swap the extraction and never could ($(cat "$NB/sticky/neighbour.result" 2>/dev/null): tries, renames)" \
	bash -c "read -r t o <'$NB/sticky/neighbour.result' && [ \"\$t\" -gt 0 ] && [ \"\$o\" = 0 ]"
check "neighbour: the restored counter is ours and carries on" moving "$D"
check "neighbour: nothing of the neighbour's was read, nothing left" none_named "$NB/sticky" "ckpt-archive-*"
kill -9 "$CPID" 2>/dev/null
wait_gone "$CPID"
run 2 "restore --keep without --import" restore --keep
run 2 "checkpoint --compress without --export" checkpoint --compress gzip 1
run 2 "checkpoint --compress bogus" checkpoint --export x.tar --compress bogus 1

# ---- other engines' archives, built from the real images of the tree above ----
IMG=$T/images-zstd
ROOT=$(jget <("$CKPT" --json inspect "$IMG") '["processes"][0]["pid"]' 2>/dev/null)
# mk_engine KIND: a kubelet-style (uncompressed) or Podman-style (zstd) archive in $T/KIND.tar
mk_engine() {
	local kind=$1 w=$T/build-$1
	rm -rf "$w"
	mkdir -p "$w"
	cp -r "$IMG" "$w/checkpoint"
	mv "$w/checkpoint/stats-dump" "$w/stats-dump" 2>/dev/null
	echo "hello" >"$w/hello.txt"
	tar -C "$w" -cf "$w/rootfs-diff.tar" hello.txt
	rm "$w/hello.txt"
	echo '[]' >"$w/deleted.files"
	case $kind in
	crio)
		cat >"$w/spec.dump" <<EOF
{"ociVersion":"1.0.2","process":{"args":["python3"],"cwd":"/"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/etc/hosts","type":"bind","source":"/run/containers/hosts"}],
 "annotations":{"io.container.manager":"cri-o","io.kubernetes.cri-o.Metadata":"{\"name\":\"counter-ctr\",\"attempt\":0}",
  "io.kubernetes.pod.name":"counters","io.kubernetes.pod.namespace":"default","io.kubernetes.cri-o.Created":"2026-01-02T03:04:05Z",
  "io.kubernetes.cri-o.Annotations":"{}","io.kubernetes.cri-o.IP.0":"10.88.0.5"}}
EOF
		echo '{"id":"0123456789abcdef0123","name":"k8s_counter-ctr_counters_default","rootfsImageName":"quay.io/example/counter:1","rootfsImageRef":"sha256:0123","runtime":"crun","createdTime":"2026-01-02T03:04:05Z","checkpointedTime":"2026-01-02T04:00:00Z"}' >"$w/config.dump"
		echo '[]' >"$w/bind.mounts"
		echo "criu log" >"$w/dump.log"
		tar -C "$w" -cf "$T/crio.tar" checkpoint config.dump spec.dump stats-dump rootfs-diff.tar deleted.files bind.mounts dump.log ;;
	containerd)
		cat >"$w/spec.dump" <<EOF
{"ociVersion":"1.1.0","process":{"args":["python3"],"cwd":"/"},"mounts":[{"destination":"/dev","type":"tmpfs","source":"tmpfs"}],
 "annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"counter-ctr",
  "io.kubernetes.cri.sandbox-name":"counters","io.kubernetes.cri.sandbox-namespace":"default"}}
EOF
		echo '{"id":"fedcba9876543210","name":"counter-ctr","rootfsImageName":"docker.io/library/counter:1","runtime":"io.containerd.runc.v2","createdTime":"2026-01-02T03:04:05Z"}' >"$w/config.dump"
		echo '{"CreatedAt":1,"StartedAt":2,"Pid":1}' >"$w/status"
		tar -C "$w" -cf "$T/containerd.tar" checkpoint config.dump spec.dump stats-dump rootfs-diff.tar deleted.files status ;;
	podman)
		echo '{"ociVersion":"1.0.2","process":{"args":["python3"]},"annotations":{"io.container.manager":"libpod"}}' >"$w/spec.dump"
		echo '{"id":"aaaabbbbccccddddeeee","name":"web","rootfsImageName":"quay.io/example/web:2","runtime":"crun","createdTime":"2026-01-02T03:04:05Z","checkpointedTime":"2026-01-02T04:00:00Z"}' >"$w/config.dump"
		echo '{}' >"$w/network.status"
		tar -C "$w" --zstd -cf "$T/podman.tar.zst" checkpoint config.dump spec.dump stats-dump rootfs-diff.tar deleted.files network.status ;;
	esac
}
for kind in crio containerd podman; do
	mk_engine "$kind"
	F=$T/$kind.tar
	[ "$kind" = podman ] && F=$T/podman.tar.zst
	case $kind in
	crio) engine=CRI-O name=counter-ctr tool=Kubernetes ;;
	containerd) engine=containerd name=counter-ctr tool=containerd ;;
	podman) engine=Podman name=web tool="podman container restore --import" ;;
	esac
	run 0 "$kind: ckpt inspect --ps-tree --mounts" inspect --ps-tree --mounts "$F"
	check "$kind: text: engine $engine, name $name" \
		bash -c "grep -qE '^  Engine +$engine\$' '$T/out' && grep -qE '^  Name +$name\$' '$T/out'"
	check "$kind: text: the process tree (root $ROOT python3)" grep -q "^$ROOT python3" "$T/out"
	check "$kind: text: rootfs diff size shown" grep -q "Rootfs diff" "$T/out"
	run 0 "$kind: ckpt inspect --json" inspect --ps-tree --json "$F"
	check "$kind: JSON: engine $engine, name $name, root $ROOT" \
		test "$(jget "$T/out" '["engine"],d["name"],d["checkpoint"]["processes"][0]["pid"]')" = "$engine $name $ROOT"
	if [ "$kind" = crio ]; then
		check "crio: JSON: pod, namespace, image, mounts" \
			test "$(jget "$T/out" '["pod"],d["namespace"],d["image"],d["mounts"][1]["destination"]')" = "counters default quay.io/example/counter:1 /etc/hosts"
	fi
	if [ -n "$CTL" ]; then
		"$CTL" show "$F" >"$T/ctl" 2>&1
		check "$kind: checkpointctl agrees: engine $engine" grep -q "| $engine " "$T/ctl"
	fi
	run 1 "$kind: restore --import refuses a container archive" restore --import "$F" --image-path "$T/refused"
	check "$kind: the refusal names $engine and $tool" \
		bash -c "grep -q 'a $engine container checkpoint' '$T/err' && grep -qF '$tool' '$T/err'"
	check "$kind: nothing is left extracted" test -z "$(ls -A "$T/refused" 2>/dev/null)"
done

# ---- hostile archives ----
mkdir -p "$T/hostile"
"$PY" - "$T/hostile" <<'PYEOF'
import io, os, sys, tarfile
d = sys.argv[1]
def mk(name, extra):
    with tarfile.open(os.path.join(d, name), "w", format=tarfile.PAX_FORMAT) as t:
        for n, data in (("config.dump", b"{}"), ("spec.dump", b"{}")):
            ti = tarfile.TarInfo(n); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("checkpoint"); ti.type = tarfile.DIRTYPE; ti.mode = 0o700; t.addfile(ti)
        extra(t)
def reg(name, data=b"x"):
    def f(t):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    return f
def link(name, target, kind):
    def f(t):
        ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target; t.addfile(ti)
        ti = tarfile.TarInfo(name + "/evil"); ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))
    return f
def dev(t):
    ti = tarfile.TarInfo("checkpoint/null"); ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3; t.addfile(ti)
def bomb(t):
    # a header that declares 300 GiB (over the default 64 GiB cap of an entry); the
    # data never comes: the cap refuses it at the header (unit_archive has real bombs)
    ti = tarfile.TarInfo("checkpoint/pages-1.img"); ti.size = 300 << 30
    t.fileobj.write(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
mk("traversal.tar", reg("checkpoint/../../evil"))
mk("symlink.tar", link("checkpoint/escape", "/tmp", tarfile.SYMTYPE))
mk("device.tar", dev)
with open(os.path.join(d, "bomb.tar"), "wb") as f:
    pass
mk("bomb.tar", bomb)
with open(os.path.join(d, "magic.tar"), "wb") as f:
    f.write(b"\x7fELF" + os.urandom(4000))
PYEOF
# a truncated stream: the first 60% of a real zstd archive
f=$T/elsewhere/mig.tar.zst
head -c $(( $(stat -c %s "$f") * 6 / 10 )) "$f" >"$T/hostile/truncated.tar.zst"
hostile() { # hostile NAME FILE MESSAGE-FRAGMENT
	local name=$1 f=$2 want=$3
	rm -rf "$T/target"
	mkdir -p "$T/target"
	run 1 "hostile $name: restore --import refuses it" restore --import "$f" --image-path "$T/target"
	check "hostile $name: the message says '$want'" grep -qF -- "$want" "$T/err"
	grep -h '^ckpt restore' "$T/err" | sed "s|$f||g" >>"$T/hostile-messages"
	check "hostile $name: nothing is left in the target" test -z "$(ls -A "$T/target")"
	check "hostile $name: nothing was written outside it" \
		bash -c "! test -e '$T/evil' && ! test -e /tmp/evil && ! test -e /tmp/escape"
	run 1 "hostile $name: inspect refuses it too" inspect "$f"
}
hostile traversal "$T/hostile/traversal.tar" "a '..' component would escape the target directory"
hostile symlink "$T/hostile/symlink.tar" "a symbolic link (to '/tmp'), refused"
hostile device "$T/hostile/device.tar" "a character device, refused"
hostile bomb "$T/hostile/bomb.tar" "over the max_entry_bytes cap of 68719476736 bytes"
hostile truncated "$T/hostile/truncated.tar.zst" "the stream ends early (truncated)"
hostile magic "$T/hostile/magic.tar" "not a checkpoint archive: starts with 7f 45 4c 46"
check "hostile: six distinct messages (the archive's name left out)" \
	test "$(sort -u "$T/hostile-messages" | wc -l)" = 6
sed 's/^/#   /' "$T/hostile-messages"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
