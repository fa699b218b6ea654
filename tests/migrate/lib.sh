#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the migration tests share (sourced by test_migrate.sh and test_hostile.sh): starting and
# checking the migrated tree, ckpt receive and ckpt migrate between network namespaces, and the
# checks every case uses. The caller sets CKPT SERVER PY T IP (host -> address) NETNS (the
# namespaces it made) PIDS FAILED NSRV PIPE_OLD, and calls mig_traps once it made T.
# shellcheck disable=SC2034 # the variables set here are the callers'

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	echo "$PIPE_OLD" >/proc/sys/fs/pipe-max-size
	for p in "${NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	rm -rf "$T"
}
mig_traps() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

show() { # the tail of what the commands said, for a failed case
	local f
	for f in "$T/mig.err" "$T/recv.err"; do
		[ -s "$f" ] && tail -n 8 "$f" | sed "s|^|#   $(basename "$f"): |"
	done
}
case_() { # case_ NAME CMD...
	local name=$1
	shift
	if "$@"; then
		echo "case: migrate $name: ok"
		[ -n "${CKPT_MIG_VERBOSE:-}" ] && show
	else
		echo "case: migrate $name: FAILED"
		FAILED=$((FAILED + 1))
		show
	fi
}

in_ns() { local h=$1; shift; nsenter --net="/run/netns/$h" "$@"; }

# ask HOST NET: the server of subnet NET, through HOST's end of its veth
ask() { in_ns "$1" timeout 5 bash -c "exec 3<>/dev/tcp/10.77.$2.2/8080 && cat <&3" 2>/dev/null; }
# state HOST NET: SUM START COUNT of the server's answer; false if it does not answer
state() {
	local line
	line=$(ask "$1" "$2") || return 1
	[[ $line =~ sum=([0-9a-f]+)\ start=([0-9a-f]+)\ count=([0-9]+) ]] || return 1
	SUM=${BASH_REMATCH[1]} START=${BASH_REMATCH[2]} COUNT=${BASH_REMATCH[3]}
}
# start_server HOST MIB [MARKER]: a new tree in HOST (MARKER at the start of each page of its
# memory); sets TP (its root), NET (its subnet), COUNT0, START0
start_server() {
	local h=$1 u
	NSRV=$((NSRV + 1))
	NET=$NSRV
	nsenter --net="/run/netns/$h" unshare -p -n -f setsid "$SERVER" 8080 "$2" 10 ${3:+"$3"} </dev/null >/dev/null 2>&1 &
	u=$!
	PIDS+=("$u")
	TP=
	for _ in $(seq 100); do
		TP=$(awk '{print $1}' /proc/$u/task/*/children 2>/dev/null)
		[ -n "$TP" ] && break
		sleep 0.05
	done
	[ -n "$TP" ] || return 1
	PIDS+=("$TP")
	ip -n "$h" link add "cm${NET}h0" type veth peer name eth0 netns "$TP" || return 1
	ip -n "$h" addr add "10.77.$NET.1/24" dev "cm${NET}h0" && ip -n "$h" link set "cm${NET}h0" up
	nsenter -t "$TP" -n sh -c "ip link set lo up && ip addr add 10.77.$NET.2/24 dev eth0 && ip link set eth0 up &&
		ip route add default via 10.77.$NET.1" || return 1
	for _ in $(seq 400); do
		if state "$h" "$NET"; then
			COUNT0=$COUNT START0=$START
			return 0
		fi
		sleep 0.05
	done
	return 1
}
# start_receiver HOST NET HOP FLAGS...: ckpt receive in HOST; the tree's host end there is cmNETh HOP
start_receiver() {
	local h=$1 net=$2 hop=$3
	shift 3
	rm -f "$T/rpid" "$T/recv.out" "$T/recv.err"
	nsenter --net="/run/netns/$h" "$CKPT" receive --listen "${IP[$h]}:7000" --image-path "$T/recv-$h" --empty-ns network \
		--network-lock nftables --veth "eth0:cm${net}h${hop}:10.77.$net.2/24:10.77.$net.1/24" \
		--pid-file "$T/rpid" --accept-timeout 40 "$@" >"$T/recv.out" 2>"$T/recv.err" &
	RCV=$!
	PIDS+=("$RCV")
	for _ in $(seq 200); do
		in_ns "$h" ss -Hltn "sport = :7000" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
wait_receiver() {
	wait "$RCV"
	RRC=$?
	[ -s "$T/rpid" ] && PIDS+=("$(cat "$T/rpid")")
}
stop_receiver() { kill -9 "$RCV" 2>/dev/null; wait "$RCV" 2>/dev/null; }
# migrate FROM TO FLAGS...: ckpt migrate TP from FROM to TO's receiver; MRC its exit code
migrate() {
	local from=$1 to=$2
	shift 2
	in_ns "$from" "$CKPT" migrate --to "${IP[$to]}:7000" --staging-dir "$T/stage" --empty-ns network \
		--network-lock nftables "$@" "$TP" \
		>"$T/mig.out" 2>"$T/mig.err"
	MRC=$?
}

# kill_pages_conn HOST [ctl]: reset (ss -K) the pages connection to the receiver on HOST, the one
# of its connections on :7000 that has received the most (the memory pages); with ctl, the other
kill_pages_conn() {
	local port
	port=$(in_ns "$1" ss -Htin state established "( sport = :7000 )" | "$PY" -c '
import re, sys
lines = sys.stdin.read().split("\n")
conns = []
for i in range(0, len(lines) - 1, 2):
    m = re.search(r":7000\s+\S+:(\d+)", lines[i])
    r = re.search(r"bytes_received:(\d+)", lines[i + 1])
    if m:
        conns.append((int(r.group(1)) if r else 0, m.group(1)))
conns.sort()
if conns:
    print(conns[0][1] if sys.argv[1] == "ctl" else conns[-1][1])
' "${2:-pages}")
	[ -n "$port" ] && in_ns "$1" ss -K -tn "( sport = :7000 and dport = :$port )" >/dev/null
}
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
gone() {
	for _ in $(seq 100); do
		alive "$1" || return 0
		sleep 0.05
	done
	return 1
}
rc_is() { [ "$1" = "$2" ]; }
within() { [ -n "$1" ] && [ "${1%.*}" -lt "$2" ]; } # within SECONDS LIMIT: SECONDS (e.g. 5.124) < LIMIT
has() { grep -q -- "$2" "$1"; }
empty_dir() { [ -z "$(ls -A "$1")" ]; }
no_images_left() { ! ls -d "$T/recv-$1"/*/images >/dev/null 2>&1; }
no_restore() { [ ! -e "$T/rpid" ]; }
# no_link HOST IF: IF is not (or no longer: a dead tree's namespace goes a moment later) in HOST
no_link() {
	for _ in $(seq 100); do
		ip -n "$1" link show "$2" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	return 1
}
# intact HOST NET: the server answers with its memory as it was and a counter that went on
intact() { state "$1" "$2" && [ "$SUM" = "$START0" ] && [ "$START" = "$START0" ] && [ "$COUNT" -ge "$COUNT0" ] && COUNT0=$COUNT; }
# moved FROM TO NET OLD_PID: the tree answers at TO with its state, and is gone at FROM
moved() {
	for _ in $(seq 100); do
		state "$2" "$3" && break
		sleep 0.05
	done
	intact "$2" "$3" && gone "$4" && [ -s "$T/rpid" ] && alive "$(cat "$T/rpid")"
}
json_ok() { # the summary of --json: outcome done and the figures of a real migration
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["figures"]
ok = d["outcome"] == "done" and d["mode"] == sys.argv[2] and d["restored_pid"] > 0
for k in ("downtime_us", "frozen_us", "transfer_us", "restore_us", "total_us", "page_bytes", "image_bytes"):
    ok = ok and isinstance(f.get(k), int) and f[k] > 0
ok = ok and f["downtime_us"] <= f["total_us"] and f["page_bytes"] >= 64 << 20
if not ok:
    print("#   json: %s" % json.dumps(d))
sys.exit(0 if ok else 1)
PYEOF
}
set_pipe() { echo "$1" >/proc/sys/fs/pipe-max-size; }
