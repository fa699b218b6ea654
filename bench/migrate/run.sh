#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Migration bench: downtime and total time of moving a process tree between two "hosts"
# (network namespaces joined by a veth pair, as tests/migrate/test_migrate.sh makes them),
# for each size: `ckpt migrate` (copy) and `ckpt migrate --lazy`, each with a token and with
# mutual TLS, and the manual path (`ckpt checkpoint`, the images copied over TCP, `ckpt
# restore`). With OLD_BUILD, the same migrations with another build's ckpt (the libckpt
# before a change, protocol version 1) interleaved with this one's, in one run. The tree is
# mig-server: MIB of incompressible memory, as the init of its own pid and network namespaces.
#
#   bench/migrate/run.sh BUILD_DIR [SIZES_MIB] [RUNS] [MODES] [OLD_BUILD] [AUTHS]
#        (defaults: "16 256 1024", 1, "copy lazy manual", none, "token tls")
#
# Needs root and $CKPT_CRIU; run it under the shared lock: flock -o /tmp/ckpt-criu.lock ...
# Prints one JSON line per run and a markdown table at the end (results.md holds one).
set -u
if [ -z "${CKPT_MIG_SUBREAPER:-}" ]; then
	export CKPT_MIG_SUBREAPER=1
	exec /usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi
BUILD=$(realpath "${1:?usage: run.sh BUILD_DIR [SIZES_MIB] [RUNS]}")
SIZES=${2:-16 256 1024}
RUNS=${3:-1}
MODES=${4:-copy lazy manual}
OLD=${5:+$(realpath "$5")}
AUTHS=${6:-token tls}
CKPT=$BUILD/cli/ckpt
SERVER=$BUILD/tests/migrate/mig-server
SRC=$(dirname "$(realpath "$0")")/../..
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ckpt-migrate-bench.XXXXXX)
chmod 700 "$T"
A=ckb$$a
B=ckb$$b
PIPE_OLD=$(cat /proc/sys/fs/pipe-max-size)
PIDS=()
NET=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	echo "$PIPE_OLD" >/proc/sys/fs/pipe-max-size
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip link add "cb$$x" netns "$A" type veth peer name "cb$$y" netns "$B"
ip -n "$A" addr add 10.99.0.1/24 dev "cb$$x" && ip -n "$A" link set "cb$$x" up
ip -n "$B" addr add 10.99.0.2/24 dev "cb$$y" && ip -n "$B" link set "cb$$y" up
"$SRC/tests/helpers/gen-test-certs.sh" "$T/certs" >/dev/null || exit 1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token" # 32 bytes as 64 hex digits
chmod 600 "$T/token"
mkdir -m 700 "$T/recv"
echo 4194304 >/proc/sys/fs/pipe-max-size # --lazy needs it (docs/migration.md, "Pipe size")

in_ns() { local h=$1; shift; nsenter --net="/run/netns/$h" "$@"; }
now() { date +%s%N; }
ask() { in_ns "$1" timeout 10 bash -c "exec 3<>/dev/tcp/10.77.$2.2/8080 && cat <&3" 2>/dev/null; }

# start_server MIB: sets TP, NET; waits until it answers (its memory is filled)
start_server() {
	local u
	NET=$((NET + 1))
	nsenter --net="/run/netns/$A" unshare -p -n -f setsid "$SERVER" 8080 "$1" </dev/null >/dev/null 2>&1 &
	u=$!
	PIDS+=("$u")
	for _ in $(seq 100); do
		TP=$(awk '{print $1}' /proc/$u/task/*/children 2>/dev/null)
		[ -n "$TP" ] && break
		sleep 0.05
	done
	PIDS+=("$TP")
	ip -n "$A" link add "cb${NET}h0" type veth peer name eth0 netns "$TP"
	ip -n "$A" addr add "10.77.$NET.1/24" dev "cb${NET}h0" && ip -n "$A" link set "cb${NET}h0" up
	nsenter -t "$TP" -n sh -c "ip link set lo up && ip addr add 10.77.$NET.2/24 dev eth0 && ip link set eth0 up &&
		ip route add default via 10.77.$NET.1"
	for _ in $(seq 1200); do
		START=$(ask "$A" "$NET" | sed -n 's/.*start=\([0-9a-f]*\).*/\1/p')
		[ -n "$START" ] && return 0
		sleep 0.05
	done
	return 1
}
# check: the tree answers on B with its memory as it was
check() {
	local line
	line=$(ask "$B" "$NET")
	[[ $line == "sum=$START start=$START "* ]]
}
veth() { echo "eth0:cb${NET}h1:10.77.$NET.2/24:10.77.$NET.1/24"; }

run_migrate() { # run_migrate MIB copy|lazy token|tls new|old
	local rpid ok ck=$CKPT flag=() ca=(--tls-cacert "$T/certs/ca.pem")
	[ "$4" = old ] && ck=$OLD/cli/ckpt
	[ "$2" = lazy ] && flag=(--lazy)
	if [ "$3" = tls ]; then
		auth_a=("${ca[@]}" --tls-cert "$T/certs/source.pem" --tls-key "$T/certs/source-key.pem")
		auth_b=("${ca[@]}" --tls-cert "$T/certs/receiver.pem" --tls-key "$T/certs/receiver-key.pem")
		[ "$4" = new ] && auth_b+=(--tls-peer source) # protocol 2: the receiver names its sources
	else
		auth_a=(--token-file "$T/token")
		auth_b=(--token-file "$T/token")
	fi
	rm -f "$T/rpid"
	nsenter --net="/run/netns/$B" "$ck" receive -q --listen 10.99.0.2:7000 --image-path "$T/recv" \
		--empty-ns network --network-lock nftables --veth "$(veth)" --pid-file "$T/rpid" --accept-timeout 120 \
		"${auth_b[@]}" >/dev/null 2>"$T/recv.err" &
	rpid=$!
	for _ in $(seq 200); do in_ns "$B" ss -Hltn "sport = :7000" | grep -q . && break; sleep 0.02; done
	in_ns "$A" "$ck" migrate -q --json --to 10.99.0.2:7000 --staging-dir "$T" --empty-ns network --network-lock nftables \
		"${flag[@]}" "${auth_a[@]}" "$TP" >"$T/mig.json" 2>"$T/mig.err"
	wait "$rpid"
	ok=false
	check && ok=true
	[ -s "$T/rpid" ] && PIDS+=("$(cat "$T/rpid")")
	"$PY" - "$T/mig.json" "$1" "$2" "$ok" "$3" "$4" <<'PYEOF'
import json, sys
base = {"mib": int(sys.argv[2]), "mode": sys.argv[3], "auth": sys.argv[5], "version": sys.argv[6]}
try:
    d = json.load(open(sys.argv[1]))
    f = d["figures"]
except Exception as e:
    print(json.dumps(dict(base, ok=False, error=str(e))))
    sys.exit(0)
out = dict(base, ok=d["outcome"] == "done" and sys.argv[4] == "true")
for k in ("downtime_us", "total_us", "frozen_us", "transfer_us", "restore_us", "source_released_us",
          "pages_done_us", "page_bytes", "page_rate_bps"):
    out[k] = f.get(k)
print(json.dumps(out))
PYEOF
	[ "$ok" = true ] || { sed 's/^/# /' "$T/mig.err" "$T/recv.err" | tail -n 20 >&2; }
}

run_manual() { # run_manual MIB: ckpt checkpoint; the images over TCP; ckpt restore
	local t0 t1 t2 t3 lpid ok
	rm -rf "$T/img" "$T/imgB"
	mkdir -m 700 "$T/imgB"
	# the receiving end of the copy, on B: a tar stream over TCP
	nsenter --net="/run/netns/$B" "$PY" -c '
import socket, subprocess, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 7600)); s.listen(1); open(sys.argv[2], "w").close()
c, _ = s.accept()
p = subprocess.Popen(["tar", "-x", "-f", "-", "-C", sys.argv[1]], stdin=subprocess.PIPE)
while True:
    b = c.recv(1 << 20)
    if not b: break
    p.stdin.write(b)
p.stdin.close(); sys.exit(p.wait())' "$T/imgB" "$T/copy.ready" &
	lpid=$!
	for _ in $(seq 200); do [ -e "$T/copy.ready" ] && break; sleep 0.02; done
	rm -f "$T/copy.ready"
	t0=$(now)
	in_ns "$A" "$CKPT" checkpoint -q --image-path "$T/img" --empty-ns network --network-lock nftables "$TP" \
		2>"$T/mig.err"
	t1=$(now)
	in_ns "$A" bash -c "tar -c -f - -C '$T/img' . >/dev/tcp/10.99.0.2/7600"
	wait "$lpid"
	t2=$(now)
	in_ns "$B" "$CKPT" restore -q -d --image-path "$T/imgB" --empty-ns network --network-lock nftables \
		--veth "$(veth)" --pid-file "$T/rpid" >/dev/null 2>>"$T/mig.err"
	t3=$(now)
	ok=false
	check && ok=true
	[ -s "$T/rpid" ] && PIDS+=("$(cat "$T/rpid")")
	echo "{\"mib\": $1, \"mode\": \"manual\", \"auth\": \"-\", \"version\": \"new\", \"ok\": $ok, \"downtime_us\": $(((t3 - t0) / 1000)),"\
		"\"total_us\": $(((t3 - t0) / 1000)), \"checkpoint_us\": $(((t1 - t0) / 1000)),"\
		"\"copy_us\": $(((t2 - t1) / 1000)), \"restore_us\": $(((t3 - t2) / 1000)),"\
		"\"image_bytes\": $(du -sb "$T/img" | cut -f1)}"
	[ "$ok" = true ] || sed 's/^/# /' "$T/mig.err" >&2
	rm -rf "$T/img" "$T/imgB"
}

: >"$T/results.jsonl"
VERSIONS="new${OLD:+ old}"
for run in $(seq "$RUNS"); do
	for mib in $SIZES; do
		for mode in $MODES; do
			for auth in $AUTHS; do
				for ver in $VERSIONS; do
					# the manual path once per size (it does not depend on the auth or the protocol)
					if [ "$mode" = manual ] && { [ "$ver" != new ] || [ "$auth" != "${AUTHS%% *}" ]; }; then
						continue
					fi
					# protocol version 1 had no lazy mode with a token (CRIU's lazy page server
					# listened on every address of the source: it required TLS)
					[ "$ver/$mode/$auth" = old/lazy/token ] && continue
					start_server "$mib" || { echo "# server of $mib MiB did not start" >&2; continue; }
					if [ "$mode" = manual ]; then
						run_manual "$mib"
					else
						run_migrate "$mib" "$mode" "$auth" "$ver"
					fi | tee -a "$T/results.jsonl"
					kill -9 "$TP" "$(cat "$T/rpid" 2>/dev/null)" 2>/dev/null
					sleep 0.5
				done
			done
		done
	done
	: "$run"
done
"$PY" - "$T/results.jsonl" <<'PYEOF'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def ms(v): return "%.0f" % (v / 1000) if isinstance(v, (int, float)) else "-"
def vals(rs, k): return [r[k] for r in rs if isinstance(r.get(k), (int, float))]
def med(rs, k):
    v = vals(rs, k)
    return statistics.median(v) if v else None
def rng(rs, k):
    v = vals(rs, k)
    return "%s-%s" % (ms(min(v)), ms(max(v))) if v else "-"
by = {}
for r in rows:
    by.setdefault((r["mib"], r["mode"], r.get("auth", "-"), r.get("version", "new")), []).append(r)
order = {"copy": 0, "lazy": 1, "manual": 2}
print()
print("| MiB | mode | auth | version | runs | downtime ms: median (range) | total ms | all pages ms | page MB/s | ok |")
print("|---:|---|---|---|---:|---:|---:|---:|---:|---|")
for k in sorted(by, key=lambda k: (k[0], order[k[1]], k[2], k[3] != "old")):
    rs = by[k]
    rate = med(rs, "page_rate_bps")
    print("| %d | %s | %s | %s | %d | %s (%s) | %s | %s | %s | %s |" % (
        k[0], k[1], k[2], k[3], len(rs), ms(med(rs, "downtime_us")), rng(rs, "downtime_us"),
        ms(med(rs, "total_us")), ms(med(rs, "pages_done_us")) if k[1] == "lazy" else "-",
        "%.0f" % (rate / 1e6) if rate else "-", "yes" if all(r.get("ok") for r in rs) else "NO"))
print()
for k in sorted(by, key=lambda k: (k[0], order[k[1]], k[2])):
    o = (k[0], k[1], k[2], "old")
    if k[3] == "new" and o in by and med(by[k], "downtime_us") and med(by[o], "downtime_us"):
        n, p = med(by[k], "downtime_us"), med(by[o], "downtime_us")
        print("- %d MiB %s %s: downtime new/old %.2f (%s / %s ms)" % (k[0], k[1], k[2], n / p, ms(n), ms(p)))
PYEOF
