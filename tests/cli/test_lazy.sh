#!/bin/bash
# Lazy (instant) restore through `ckpt restore --lazy`, against real CRIU and real processes:
#  - a counter (the init of its own pid namespace, 256 MiB) restored lazily: the pid comes
#    first, every page follows; it counts on, its memory checksum is the one it had; the
#    images are unchanged and nothing is left in them;
#  - a TCP server holding 256 MiB: answers after a lazy restore with the checksum it had;
#  - criu lazy-pages stopped during the restore, then killed: the tree is killed (the
#    counter scans every page and records a zero one: none is seen), ckpt says so, the
#    images are unchanged and CRIU's logs kept;
#  - criu lazy-pages slowed down (a cpu cgroup) and killed once the tree runs, before every
#    page is in: the same;
#  - the same checkpoint restored three times at once (separate pid namespaces): three
#    counters, each with its memory intact;
#  - --import ARCHIVE --lazy: restored, the extracted directory removed once every page is in;
#  - --lazy with --lazy-pages is a usage error.
# Usage: test_lazy.sh PATH/TO/ckpt PATH/TO/counter PATH/TO/mig-server
# Prints "case: NAME: ok|FAILED" per check; exits non-zero if any failed.
set -u
CKPT=$(realpath "${1:?usage: test_lazy.sh PATH/TO/ckpt PATH/TO/counter PATH/TO/mig-server}")
COUNTER=$(realpath "${2:?usage: test_lazy.sh PATH/TO/ckpt PATH/TO/counter PATH/TO/mig-server}")
SERVER=$(realpath "${3:?usage: test_lazy.sh PATH/TO/ckpt PATH/TO/counter PATH/TO/mig-server}")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

T=$(mktemp -d /tmp/ckpt-lazy-test.XXXXXX)
PIDS=()
FAILED=0
PASSED=0

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${CG:-}" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "case: $1: ok"; }
notok() { # notok NAME [DETAIL]
	local l
	FAILED=$((FAILED + 1))
	echo "case: $1: FAILED"
	[ -n "${2:-}" ] || return 0
	while IFS= read -r l; do echo "#   $l"; done <<<"$2"
}
check() { # check NAME CMD...
	local d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
counter_of() { cat "$1/counter" 2>/dev/null || echo 0; }
moving() { # moving DIR: the counter in DIR advances within 3 s
	local a b
	a=$(counter_of "$1")
	for _ in $(seq 1 30); do
		sleep 0.1
		b=$(counter_of "$1")
		[ "$b" -gt "$a" ] 2>/dev/null && return 0
	done
	return 1
}
# sum_ok DIR PID: PID (a counter of DIR) writes its memory checksum on SIGUSR1: the one it started with
sum_ok() {
	rm -f "$1/checksum"
	kill -USR1 "$2" 2>/dev/null || return 1
	for _ in $(seq 1 100); do
		[ -s "$1/checksum" ] && break
		sleep 0.05
	done
	[ -s "$1/checksum" ] && [ "$(cat "$1/checksum")" = "$(cat "$1/checksum.start")" ]
}
# images_same DIR SUMS: every image file as it was
images_same() { (cd "$1" && sha256sum --quiet -c "$2" >/dev/null 2>&1) && [ -z "$(find "$1" -mindepth 1 -name '.ckpt-lazy-*')" ]; }
# start_counter DIR MIB [scan]: a counter as the init of its own pid namespace; sets CPID
start_counter() {
	local d=$1 u
	mkdir -p "$d"
	# no --kill-child: a restored tree keeps the parent-death signal it was dumped with
	unshare -pf setsid "$COUNTER" "$d" "$2" 20 ${3:+"$3"} </dev/null >/dev/null 2>&1 &
	u=$!
	PIDS+=("$u")
	for _ in $(seq 1 200); do
		CPID=$(pgrep -P "$u" | head -n1)
		[ -n "$CPID" ] && [ -s "$d/counter" ] && { PIDS+=("$CPID"); return 0; }
		sleep 0.05
	done
	return 1
}
# dump DIR PID: checkpoint into DIR/img, keep the images' sums in DIR/sums
dump() {
	"$CKPT" checkpoint -q --image-path "$1/img" "$2" >"$T/out" 2>"$T/err" || return 1
	(cd "$1/img" && sha256sum -- *.img >"$1/sums")
}
# the daemon ckpt (pid $1) runs, found by its command line among ckpt's descendants
daemon_of() {
	local p
	for p in $(pgrep -f 'lazy-pages -D /proc/self/fd/4'); do
		# its parent is ckpt's keeper, a child of ckpt
		[ "$(ps -o ppid= -p "$(ps -o ppid= -p "$p" | tr -d ' ')" | tr -d ' ')" = "$1" ] && { echo "$p"; return 0; }
	done
	return 1
}
# none_left DIR: no process runs the counter of DIR (argv: COUNTER DIR ...)
none_left() {
	local p
	for p in $(pgrep -x counter); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -d' ' -f1-2)" = "$COUNTER $1" ] &&
			! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && return 1
	done
	return 0
}
wait_line() { # wait_line FILE TEXT [TENTHS]
	for _ in $(seq 1 "${3:-600}"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

slow_cgroup() { # sets CG (a cpu cgroup, v1 or v2) or fails
	if [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ]; then
		CG=/sys/fs/cgroup/cpu/ckpt-lazy-test-$$
		mkdir -p "$CG" && echo 100000 >"$CG/cpu.cfs_period_us" && echo 2000 >"$CG/cpu.cfs_quota_us"
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		CG=/sys/fs/cgroup/ckpt-lazy-test-$$
		echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
		mkdir -p "$CG" && echo "2000 100000" >"$CG/cpu.max"
	else
		return 1
	fi
}
# wait_for PID SECONDS: wait for our child PID; killed (and 124) if it takes longer
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$1" 2>/dev/null && { kill -9 "$1"; wait "$1"; return 124; }
	wait "$1"
}
export CKPT_CRIU=${CKPT_CRIU:-$("$HERE/../../scripts/provision-criu.sh")}
cd "$T" || exit 1

# ---- usage ----
"$CKPT" restore --lazy --lazy-pages --image-path "$T/none" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 2 ] && grep -q -- '--lazy runs criu lazy-pages itself' "$T/err"; then
	ok "--lazy with --lazy-pages: a usage error naming both"
else
	notok "--lazy with --lazy-pages: a usage error (exit $rc)" "$(cat "$T/err")"
fi

# ---- a counter, restored lazily and detached ----
C=$T/counter
start_counter "$C" 256 || notok "the counter started"
dump "$C" "$CPID" || notok "checkpoint of the counter" "$(cat "$T/err")"
check "the dumped counter is gone" bash -c "! kill -0 $CPID 2>/dev/null || grep -q '^State:.*Z' /proc/$CPID/status"
"$CKPT" restore --lazy -d --image-path "$C/img" >"$T/out" 2>"$T/err"
rc=$?
RPID=$(head -n1 "$T/out")
PIDS+=("$RPID")
if [ $rc = 0 ] && grep -q 'running after' "$T/err" && grep -q 'every page is in' "$T/err"; then
	ok "restore --lazy -d: running, then every page in"
else
	notok "restore --lazy -d (exit $rc)" "$(cat "$T/err")"
fi
check "restore --lazy -d: the pid is printed" alive "$RPID"
check "the lazily restored counter counts on" moving "$C"
check "its memory checksum is the one it had" sum_ok "$C" "$RPID"
check "the images are unchanged, no session dir left in them" images_same "$C/img" "$C/sums"
kill -9 "$RPID" 2>/dev/null

# ---- a TCP server, restored lazily, answers with the checksum it had ----
PORT=$((20000 + RANDOM % 20000))
S=$T/server
mkdir -p "$S"
unshare -pf setsid "$SERVER" "$PORT" 256 </dev/null >/dev/null 2>&1 &
PIDS+=($!)
SPID=
for _ in $(seq 1 200); do
	SPID=$(pgrep -P "$!" | head -n1)
	[ -n "$SPID" ] && "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null && break
	sleep 0.05
done
ask() { "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
d = b""
while True:
    b = s.recv(4096)
    if not b: break
    d += b
print(d.decode().strip())' "$PORT"; }
before=$(ask 2>/dev/null)
if dump "$S" "$SPID"; then ok "checkpoint of the server"; else notok "checkpoint of the server" "$(cat "$T/err")"; fi
"$CKPT" restore --lazy -d --image-path "$S/img" >"$T/out" 2>"$T/err"
rc=$?
RPID=$(head -n1 "$T/out")
PIDS+=("$RPID")
after=$(ask 2>/dev/null)
sum=$(sed -n 's/.*sum=\([0-9a-f]*\).*/\1/p' <<<"$after")
start=$(sed -n 's/.*start=\([0-9a-f]*\).*/\1/p' <<<"$after")
if [ $rc = 0 ] && [ -n "$sum" ] && [ "$sum" = "$start" ] && [ "$start" = "$(sed -n 's/.*start=\([0-9a-f]*\).*/\1/p' <<<"$before")" ]; then
	ok "the lazily restored server answers with the memory checksum it had"
else
	notok "the lazily restored server answers (exit $rc)" "before: $before
after: $after
$(cat "$T/err")"
fi
kill -9 "$RPID" 2>/dev/null

# ---- criu lazy-pages stopped during the restore, then killed ----
K=$T/killed
start_counter "$K" 256 scan || notok "the scanning counter started"
dump "$K" "$CPID" || notok "checkpoint of the scanning counter" "$(cat "$T/err")"
"$CKPT" restore --lazy --image-path "$K/img" >"$T/out" 2>"$T/err" &
CK=$!
PIDS+=("$CK")
D=
for _ in $(seq 1 1000); do
	# the restore has started (its log exists): the daemon is past its start
	if compgen -G "$K/img/.ckpt-lazy-*/restore.log" >/dev/null; then D=$(daemon_of "$CK") && break; fi
	sleep 0.005
done
if [ -n "$D" ]; then
	kill -STOP "$D"
	sleep 1
	RPID=$(pgrep -P "$CK" counter | head -n1)
	check "daemon stopped during the restore: the restored task waits on its fault" \
		grep -q handle_userfault "/proc/${RPID:-0}/wchan"
	kill -KILL "$D"
	wait_for "$CK" 60
	rc=$?
	if [ $rc = 1 ] && grep -q 'criu lazy-pages was killed by signal 9' "$T/err" &&
		grep -q 'never run on missing memory' "$T/err"; then
		ok "daemon killed during the restore: ckpt fails and says the tree was killed"
	else
		notok "daemon killed during the restore: ckpt fails (exit $rc)" "$(cat "$T/err")"
	fi
	check "daemon killed during the restore: no restored task is left" none_left "$K"
	check "daemon killed during the restore: no zero page was ever seen" test ! -e "$K/zero"
	check "daemon killed during the restore: CRIU's logs are kept" \
		bash -c "compgen -G '$K/img/.ckpt-lazy-*/daemon/lazy-pages.log' >/dev/null"
	rm -rf "$K"/img/.ckpt-lazy-*
	check "daemon killed during the restore: the images are unchanged" images_same "$K/img" "$K/sums"
else
	notok "the daemon of ckpt restore --lazy was found"
fi

# ---- criu lazy-pages killed once the tree runs, before every page is in ----
# The daemon copies hundreds of MiB in a blink: it is slowed down, in a cpu cgroup of this
# test's (2 % of a CPU) as soon as it is ready, so that the tree runs long before its pages are in.
L=$T/late
CG=
start_counter "$L" 256 scan || notok "the 256 MiB scanning counter started"
dump "$L" "$CPID" || notok "checkpoint of the 256 MiB counter" "$(cat "$T/err")"
if slow_cgroup; then
	"$CKPT" restore --lazy --image-path "$L/img" >"$T/out" 2>"$T/err" &
	CK=$!
	PIDS+=("$CK")
	D=
	for _ in $(seq 1 1000); do
		if compgen -G "$L/img/.ckpt-lazy-*/restore.log" >/dev/null; then D=$(daemon_of "$CK") && break; fi
		sleep 0.005
	done
	[ -n "$D" ] && echo "$D" >"$CG/cgroup.procs" 2>/dev/null || echo "$D" >"$CG/tasks"
	if [ -n "$D" ] && wait_line "$T/err" 'running after' 3000 && ! grep -q 'every page is in' "$T/err"; then
		ok "daemon slowed: the tree runs before its pages are in"
		sleep 0.5
		kill -KILL "$D"
		wait_for "$CK" 60
		rc=$?
		if [ $rc = 1 ] && grep -q 'criu lazy-pages was killed by signal 9 (SIGKILL) before every page was in' "$T/err" &&
			grep -q 'was killed, never run on missing memory' "$T/err"; then
			ok "daemon killed once the tree ran: ckpt fails and says the tree was killed"
		else
			notok "daemon killed once the tree ran (exit $rc)" "$(cat "$T/err")"
		fi
		check "daemon killed once the tree ran: no zero page was ever seen" test ! -e "$L/zero"
		check "daemon killed once the tree ran: no restored task is left" none_left "$L"
		rm -rf "$L"/img/.ckpt-lazy-*
		check "daemon killed once the tree ran: the images are unchanged" images_same "$L/img" "$L/sums"
	else
		notok "daemon slowed: the tree runs before its pages are in (daemon '$D')" "$(cat "$T/err")"
		[ -n "$D" ] && kill -9 "$D"
		wait_for "$CK" 30
	fi
	rmdir "$CG" 2>/dev/null
else
	notok "a cpu cgroup to slow the daemon down (cgroup v1 cpu or v2)"
fi

# ---- the same checkpoint, three lazy restores at once ----
M=$T/many
start_counter "$M" 128 || notok "the counter for three restores started"
dump "$M" "$CPID" || notok "checkpoint for three restores" "$(cat "$T/err")"
for i in 1 2 3; do
	"$CKPT" restore --lazy -d --image-path "$M/img" >"$T/out$i" 2>"$T/err$i" &
	MK[i]=$!
done
R=()
all=0
for i in 1 2 3; do
	wait "${MK[i]}" || all=1
	R+=("$(head -n1 "$T/out$i")")
	PIDS+=("$(head -n1 "$T/out$i")")
done
if [ $all = 0 ] && [ "${#R[@]}" = 3 ] && [ "$(printf '%s\n' "${R[@]}" | sort -u | wc -l)" = 3 ]; then
	ok "three lazy restores of one checkpoint at once: three trees"
else
	notok "three lazy restores at once" "$(cat "$T/err1" "$T/err2" "$T/err3")"
fi
n=0
for p in "${R[@]}"; do
	# each alone: the others stopped, so the counter and the checksum are this one's
	for q in "${R[@]}"; do [ "$q" != "$p" ] && kill -STOP "$q" 2>/dev/null; done
	moving "$M" && sum_ok "$M" "$p" && n=$((n + 1))
	for q in "${R[@]}"; do [ "$q" != "$p" ] && kill -CONT "$q" 2>/dev/null; done
done
check "three lazy restores at once: each counts on with its memory intact ($n of 3)" test "$n" = 3
for p in "${R[@]}"; do kill -9 "$p" 2>/dev/null; done
check "three lazy restores at once: the images are unchanged" images_same "$M/img" "$M/sums"

# ---- --import ARCHIVE --lazy ----
A=$T/arch
start_counter "$A" 128 || notok "the counter for the archive started"
"$CKPT" checkpoint -q --image-path "$A/img" --export "$A/c.tar" "$CPID" >"$T/out" 2>"$T/err" ||
	notok "checkpoint --export" "$(cat "$T/err")"
rm -rf "$A/img"
"$CKPT" restore --lazy -d --import "$A/c.tar" >"$T/out" 2>"$T/err"
rc=$?
RPID=$(head -n1 "$T/out")
PIDS+=("$RPID")
if [ $rc = 0 ] && grep -q 'every page is in' "$T/err"; then
	ok "restore --import ARCHIVE --lazy -d"
else
	notok "restore --import ARCHIVE --lazy -d (exit $rc)" "$(cat "$T/err")"
fi
check "--import --lazy: the counter counts on, its memory intact" bash -c "$(declare -f moving counter_of sum_ok); moving '$A' && sum_ok '$A' '$RPID'"
check "--import --lazy: the extracted directory is gone once every page is in" \
	test "$(find "$A" -mindepth 1 -maxdepth 1 ! -name c.tar ! -name 'counter' ! -name 'checksum*' ! -name '.*.tmp' | wc -l)" = 0
kill -9 "$RPID" 2>/dev/null

echo "lazy: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
