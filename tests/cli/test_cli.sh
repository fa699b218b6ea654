#!/bin/bash
# CLI tests of `ckpt` against real CRIU. Usage: test_cli.sh PATH/TO/ckpt
# Needs root, $CKPT_CRIU (or criu on $PATH), python3 and curl.
# Prints "case: N - ...: ok|FAILED" per check; exits non-zero if any check failed.
set -u
CKPT=${1:?usage: test_cli.sh PATH/TO/ckpt}
CKPT=$(realpath "$CKPT")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

T=$(mktemp -d /tmp/ckpt-cli-test.XXXXXX)
PIDS=()
N=0
FAILED=0

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { N=$((N + 1)); echo "case: $N - $1: ok"; }
notok() { # notok DESC [DETAIL]: a failed case, DETAIL's lines under it
	local l
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "case: $N - $1: FAILED"
	[ -n "${2:-}" ] || return 0
	while IFS= read -r l; do echo "#   $l"; done <<<"$2"
}
# none_named DIR GLOB: no entry of DIR, hidden ones included, matches GLOB
# shellcheck disable=SC2086 # GLOB is left unquoted to be expanded: that is the point
none_named() { (shopt -s nullglob dotglob; set -- "$1"/$2; [ $# = 0 ]); }
check() { # check DESC CMD...: ok if CMD succeeds
	local d=$1; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}

# run EXPECTED_RC DESC ARGS...: run ckpt, capture out/err, compare the exit code
run() {
	local want=$1 d=$2; shift 2
	"$CKPT" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	if [ "$RC" = "$want" ]; then ok "$d (exit $RC)"; else notok "$d (exit $RC, want $want)" "$(cat "$T/err")"; fi
}

quiet() { "$@" >/dev/null 2>&1; }
is_json() { "$PY" -c 'import json,sys; json.load(sys.stdin)' <"$1" 2>/dev/null; }
# json_has FILE KEY...: the document parses and holds each (dotted) key
json_has() {
	local f=$1; shift
	"$PY" - "$f" "$@" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    x = d
    for part in k.split('.'):
        if isinstance(x, list):
            x = x[int(part)]
        else:
            x = x[part]
PYEOF
}
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); exec("print(d"+sys.argv[2]+")")' "$1" "$2"; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Start an HTTP server in its own session; sets SRV_PID and PORT.
start_server() {
	PORT=$(free_port)
	setsid "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$PORT" </dev/null >/dev/null 2>&1 &
	SRV_PID=$!
	disown "$SRV_PID"
	PIDS+=("$SRV_PID")
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$PORT/index.html" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# A dumped (killed) process is reaped by PID 1 only after a while; its pid
# must be free again before a restore can reuse it.
# A pid also stays in use while any process still has it as its session or
# process group id (an orphaned child of the dumped tree, not yet reaped).
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
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

mkdir -p "$T/www"
echo "hello from ckpt $$" >"$T/www/index.html"
cd "$T" || exit 1

# ---- version, check, features, help ----
run 0 "version" version
check "version names criu" grep -q '^criu [0-9]' "$T/out"
run 0 "--json version" --json version
check "version --json parses with keys ckpt, criu, criu_version_number" \
	json_has "$T/out" ckpt ckpt_version_number criu criu_version_number
run 0 "version --json (flag after the command)" version --json
check "version --json after the command parses" is_json "$T/out"
run 0 "check" check
run 0 "check --all --json" check --all --json
check "check --json has ok and features.mem_track/lazy_pages/pidfd_store" \
	json_has "$T/out" ok features.mem_track features.lazy_pages features.pidfd_store
run 0 "features" features
check "features prints a table" grep -q '^lazy_pages *\(yes\|no\)' "$T/out"
run 0 "features --json" features --json
check "features --json keys" json_has "$T/out" mem_track lazy_pages pidfd_store
run 0 "--help" --help
check "--help documents exit codes" grep -q '4  timeout' "$T/out"
run 0 "help checkpoint" help checkpoint
check "help checkpoint lists --leave-running" grep -q -- '--leave-running' "$T/out"
run 0 "restore --help" restore --help
run 2 "unknown command" frobnicate
run 3 "missing criu binary" --criu /nonexistent/criu check

# ---- checkpoint usage errors (nothing dumped, the target keeps running) ----
start_server || notok "http server did not start"
run 2 "unknown flag" checkpoint --no-such-flag "$SRV_PID"
check "unknown flag is named" grep -q -- "--no-such-flag" "$T/err"
run 2 "missing PID" checkpoint
run 2 "PID 0" checkpoint 0
run 2 "non-numeric PID" checkpoint 12abc
run 2 "negative PID" checkpoint -- -5
run 2 "two PIDs" checkpoint "$SRV_PID" "$SRV_PID"
run 2 "--page-server without port" checkpoint --image-path bad "$SRV_PID" --page-server 1.2.3.4
check "message names --page-server and the value" grep -q -- "--page-server '1.2.3.4'" "$T/err"
run 2 "--manage-cgroups-mode bogus" checkpoint --manage-cgroups-mode bogus --image-path bad "$SRV_PID"
check "message names --manage-cgroups-mode" grep -q -- "--manage-cgroups-mode 'bogus'" "$T/err"
run 2 "--empty-ns bogus" checkpoint --empty-ns bogus --image-path bad "$SRV_PID"
check "message names --empty-ns" grep -q -- "--empty-ns 'bogus'" "$T/err"
run 2 "--network-lock bogus" checkpoint --network-lock bogus --image-path bad "$SRV_PID"
check "the target still runs after the refused flags" running "$SRV_PID"
check "no image dir was created for refused flags" test ! -e "$T/bad"
DEAD=$( (sh -c 'echo $$' ) )
wait_gone "$DEAD"
run 1 "PID not running" checkpoint --image-path bad "$DEAD"
check "not-running message" grep -q "no such process" "$T/err"
check "no image dir for a pid not running" test ! -e "$T/bad"

# ---- --leave-running, inspect, refusal of a second checkpoint ----
RSS_ANON=$(awk '/^RssAnon:/ {print $2 * 1024}' "/proc/$SRV_PID/status")
run 0 "checkpoint --leave-running --json" checkpoint --leave-running --json --image-path lr "$SRV_PID"
check "checkpoint --json parses with pid, image_path, bytes, elapsed_s, phases" \
	json_has "$T/out" pid image_path bytes elapsed_s phases leave_running
check "progress shows phases and the final line" grep -q "^checkpointed pid $SRV_PID into" "$T/err"
check "target still running after --leave-running" running "$SRV_PID"
check "server still answers after --leave-running" curl -sf "http://127.0.0.1:$PORT/index.html" -o /dev/null
check "image dir is mode 0700" test "$(stat -c %a lr)" = 700
check "no temporary dir left" none_named "$T" '*ckpt-tmp*'
check "checkpoint holds inventory.img" test -f lr/inventory.img

run 0 "inspect" inspect lr
check "inspect shows the pid and comm" grep -qE "^$SRV_PID +0 +python3" "$T/out"
run 0 "inspect --json" --json inspect lr
check "inspect --json keys" json_has "$T/out" images_version processes.0.pid processes.0.comm \
	processes.0.memory_bytes processes.0.files dump_stats.frozen_time_us dump_stats.pages_written total_bytes
check "inspect --json pid" test "$(jget "$T/out" '["processes"][0]["pid"]')" = "$SRV_PID"
check "inspect --json comm" test "$(jget "$T/out" '["processes"][0]["comm"]')" = python3
MEM=$(jget "$T/out" '["processes"][0]["memory_bytes"]')
if awk -v m="$MEM" -v r="$RSS_ANON" 'BEGIN { d = m - r; if (d < 0) d = -d; exit !(r > 0 && d <= r / 10) }'; then
	ok "inspect memory $MEM within 10% of the dumped (anonymous) RSS $RSS_ANON"
else
	notok "inspect memory $MEM within 10% of the dumped (anonymous) RSS $RSS_ANON"
fi

SUM1=$(cd lr && sha256sum -- * | sha256sum)
# ---- the receiving side of a migration: ckpt page-server, then checkpoint --page-server ----
PSPORT=$(free_port)
mkdir -m 0700 psd
run 2 "page-server without --address is refused (it is unauthenticated)" page-server --image-path psd --port "$PSPORT"
check "... saying why" grep -q -- "--address is required: the page server is unauthenticated" "$T/err"
run 0 "page-server on loopback" page-server --image-path psd --address 127.0.0.1 --port "$PSPORT"
check "page-server names its port" grep -q "$PSPORT" "$T/out"
check "page-server warns that it is unauthenticated" grep -q "warning: unauthenticated and in the clear" "$T/err"
PSPID=$(sed -n 's/^page server pid \([0-9]*\) listening.*/\1/p' "$T/out")
check "page-server prints the listener's real pid ($PSPID), not 0" sh -c \
	"[ '${PSPID:-0}' -gt 0 ] && ss -Hltnp 'sport = :$PSPORT' | grep -q 'pid=$PSPID,'"
check "... and leaves no pidfile behind" sh -c '! ls -A psd | grep -q "ckpt-ps"'
run 0 "checkpoint --leave-running --page-server 127.0.0.1:PORT" \
	checkpoint --leave-running --page-server "127.0.0.1:$PSPORT" --image-path viaps "$SRV_PID"
check "the pages went to the page server's dir" sh -c 'ls psd/pages-*.img >/dev/null'
check "and not into the checkpoint dir" sh -c '! ls viaps/pages-*.img >/dev/null 2>&1'
check "the server still runs after a page-server checkpoint" running "$SRV_PID"

run 1 "second checkpoint into the same dir refused" checkpoint --leave-running --image-path lr "$SRV_PID"
check "refusal says it already holds a checkpoint" grep -q "already holds a checkpoint" "$T/err"
check "the first checkpoint is left intact" test "$(cd lr && sha256sum -- * | sha256sum)" = "$SUM1"
check "target still running after the refusal" running "$SRV_PID"
run 0 "--force replaces it" checkpoint --leave-running --force -q --image-path lr "$SRV_PID"
check "-q prints nothing" test ! -s "$T/err"
check "no old dir left after --force" none_named "$T" '*ckpt-old*'
check "replaced checkpoint is readable" quiet "$CKPT" inspect lr

# ---- checkpoint (kill) and restore --detach ----
BODY1=$(curl -sf "http://127.0.0.1:$PORT/index.html")
run 0 "checkpoint (the server is killed)" checkpoint --image-path srv "$SRV_PID"
check "server is gone after checkpoint" wait_gone "$SRV_PID"
run 0 "restore --detach --pid-file" restore -d --image-path srv --pid-file "$T/pidfile"
RPID=$(head -n1 "$T/out")
PIDS+=("$RPID")
check "restore prints the restored pid" test "$RPID" = "$SRV_PID"
check "--pid-file holds the pid" test "$(cat "$T/pidfile")" = "$SRV_PID"
BODY2=$(curl -sf "http://127.0.0.1:$PORT/index.html")
check "the same request gets the same answer after restore" test -n "$BODY1" -a "$BODY1" = "$BODY2"
run 0 "checkpoint of the restored server (--json)" --json checkpoint --image-path srv2 "$RPID"
check "checkpoint --json after restore parses" is_json "$T/out"
check "restored server is gone after checkpoint" wait_gone "$RPID"
run 0 "restore --detach --json" restore --detach --json --image-path srv2
check "restore --json has pid and detached" json_has "$T/out" pid detached
check "server answers after second restore" curl -sf "http://127.0.0.1:$PORT/index.html" -o /dev/null
kill -9 "$RPID" 2>/dev/null

# ---- restore attached: exit status of the restored tree ----
setsid bash -c 'sleep 2; exit 7' </dev/null >/dev/null 2>&1 &
JOB=$!
disown "$JOB"
PIDS+=("$JOB")
sleep 0.3
run 0 "checkpoint a bash job" checkpoint -q --image-path job "$JOB"
check "the bash job is gone after checkpoint" wait_gone "$JOB"
run 7 "restore without --detach exits with the tree's status" restore -q --image-path job

# ---- restore of an unusable image dir ----
run 1 "restore of a missing image dir" restore --image-path nonexistent
check "missing dir message names it" grep -q "nonexistent" "$T/err"
mkdir empty
run 1 "restore of a dir without a checkpoint" restore --image-path empty
echo x >afile
run 1 "restore of a file, not a dir" restore --image-path afile
mkdir noperm && cp lr/* noperm/ && chmod 000 noperm
if [ "$(id -u)" = 0 ]; then
	# root reads through 0000; make it unreadable by replacing inventory with a dir
	chmod 700 noperm && rm noperm/inventory.img && mkdir noperm/inventory.img
fi
run 1 "restore of an unreadable checkpoint" restore --image-path noperm
run 2 "restore with a bad --inherit-fd" restore --inherit-fd notanfd --image-path lr
run 2 "restore with a stray argument" restore 1234

# ---- inspect of corrupt images ----
run 2 "inspect without DIR" inspect
run 1 "inspect of a missing dir" inspect nonexistent
cp -r lr trunc && truncate -s 10 trunc/inventory.img
run 1 "inspect of a truncated inventory.img" inspect trunc
check "truncated image message names the file" grep -q "inventory.img" "$T/err"
cp -r lr magic && printf '\x01\x02\x03\x04' | dd of=magic/inventory.img conv=notrunc status=none
run 1 "inspect of a wrong magic" inspect magic
cp -r lr random && for f in random/*.img; do head -c 4096 /dev/urandom >"$f"; done
run 1 "inspect of random bytes" inspect random
cp -r lr truncp && CORES=(truncp/core-*.img) && [ -f "${CORES[0]}" ] && truncate -s 20 "${CORES[0]}"
run 1 "inspect of a truncated core image" inspect truncp
run 1 "inspect --json of corrupt images still reports" --json inspect random
check "error JSON parses with error.message and exit_code" json_has "$T/out" error.message error.exit_code

# ---- a TCP server in its own network namespace: --empty-ns network, the lock, --veth ----
ip link del ckv-cli0 2>/dev/null; ip link del ckv-cli-taken 2>/dev/null
cat >"$T/nsserver.py" <<'PYEOF'
import socket
s = socket.socket()
s.bind(('0.0.0.0', 7777))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    c.sendall(b'hello %d\n' % n)
    c.close()
PYEOF
setsid unshare --net "$PY" "$T/nsserver.py" </dev/null >/dev/null 2>&1 &
NS_PID=$!
disown "$NS_PID"
PIDS+=("$NS_PID")
sleep 0.7
if ! command -v iptables-restore >/dev/null; then
	run 1 "empty-ns checkpoint with CRIU's default (iptables) lock fails here" \
		checkpoint --image-path nsbad --empty-ns network "$NS_PID"
	check "the error names iptables-restore and the nftables alternative" \
		grep -q "iptables-restore.*nftables" "$T/err"
	check "no image dir left by the failed checkpoint" test ! -e nsbad
	check "the server still runs after the failed checkpoint" running "$NS_PID"
fi
run 0 "checkpoint --empty-ns network --network-lock nftables" \
	checkpoint --image-path ns --empty-ns network --network-lock nftables "$NS_PID"
wait_gone "$NS_PID" || notok "pid $NS_PID still in use"
ip link add ckv-cli-taken type veth peer name ckv-cli-tp
run 1 "restore with a --veth host name already taken" \
	restore -d --image-path ns --empty-ns network --veth eth0:ckv-cli-taken:10.232.0.2/24:10.232.0.1/24
check "the error names the taken interface" grep -q "ckv-cli-taken" "$T/err"
check "nothing left half-made (only the pair we made)" test "$(ip -o link | grep -c 'ckv-cli')" = 2
ip link del ckv-cli-taken
run 2 "restore with a bad --veth address" \
	restore -d --image-path ns --empty-ns network --veth eth0:ckv-cli0:10.232.0.300/24:10.232.0.1/24
check "no interface left by the bad --veth" test "$(ip -o link | grep -c 'ckv-cli')" = 0
wait_gone "$NS_PID" || notok "pid $NS_PID still in use after the failed restore"
run 0 "restore -d --empty-ns network --veth" \
	restore -d --image-path ns --empty-ns network --veth eth0:ckv-cli0:10.232.0.2/24:10.232.0.1/24
RNS=$(cat "$T/out")
PIDS+=("$RNS")
ANSWER=$("$PY" -c 'import socket; s=socket.create_connection(("10.232.0.2",7777),5); print(s.recv(64).decode().strip())' 2>&1)
check "a host client gets the restored server's answer through the veth ($ANSWER)" test "$ANSWER" = "hello 1"
kill -9 "$RNS" 2>/dev/null
for _ in $(seq 1 50); do ip link show ckv-cli0 >/dev/null 2>&1 || break; sleep 0.1; done
check "the veth pair went with the namespace" test "$(ip -o link | grep -c 'ckv-cli')" = 0

echo "# $N checks, $FAILED failed"
[ "$FAILED" = 0 ]
