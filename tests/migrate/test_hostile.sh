#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ckpt migrate / ckpt receive with an attacker in the test (../shared/hostile.md), against real
# CRIU and real processes. Three "hosts" made of network namespaces: A (the source, 10.98.1.2),
# R (a router, 10.98.1.1 and 10.98.2.1) and B (the receiver, 10.98.2.2); every TCP connection R
# forwards is redirected by nftables to a relay in R (mitm.py) that holds no secret.
#
#   test_hostile.sh CKPT MIG_SERVER GEN_CERTS GROUP
#
# GROUP path: in each auth mode (token, TLS) and migration mode (copy, lazy), the relay passes
#   every byte (the migration succeeds; a capture of the traffic holds none of the tree's memory
#   in clear; nothing listens on A, only PORT on B), then flips one byte in each stream
#   (handshake, control, images, pages, both directions): the migration fails within the channel
#   timeout, nothing runs on B, the source runs on with its memory, no images are left on either
#   side, no nftables table is left.
# GROUP neighbour: a third party that holds no secret connects to every port the migration opens
#   (20 idle connections and a stream of junk) while migrations run: they complete, and it gets
#   no byte of the tree; a holder of the CA whom no side names (CN=mallory) is refused by either
#   side; token files another user could control (owned by another uid, a symlink, too short, in
#   a directory others can write) are refused, each with its own message, nothing written; a
#   token rewritten while a receiver runs changes nothing (read once).
# Needs root and $CKPT_CRIU. Prints one `case: NAME: ok|FAILED` line per check. Everything it
# makes (namespaces, processes, files, fs.pipe-max-size) is undone at exit.
set -u
if [ -z "${CKPT_MIG_SUBREAPER:-}" ]; then
	# a child subreaper: restored trees whose `ckpt receive` exits are reaped here, not by PID 1
	export CKPT_MIG_SUBREAPER=1
	exec /usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi
CKPT=$(realpath "${1:?usage: test_hostile.sh CKPT MIG_SERVER GEN_CERTS GROUP}")
SERVER=$(realpath "$2")
GEN_CERTS=$(realpath "$3")
GROUP=${4:-all}
HERE=$(dirname "$(realpath "$0")")
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ckpt-hostile-test.XXXXXX)
chmod 700 "$T"
A=ckh$$a
R=ckh$$r
B=ckh$$b
declare -A IP=([$A]=10.98.1.2 [$B]=10.98.2.2)
NETNS=("$A" "$R" "$B")
PIPE_OLD=$(cat /proc/sys/fs/pipe-max-size)
PIDS=()
FAILED=0
NSRV=0
TO=10 # --channel-timeout on both sides
MIB=32
MARKER="CKPT-SECRET-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# shellcheck source=lib.sh
. "$HERE/lib.sh"
mig_traps

# ---- the three hosts ----
for h in "${NETNS[@]}"; do
	ip netns add "$h" || { echo "case: hostile setup: FAILED (ip netns add)"; exit 1; }
	ip -n "$h" link set lo up
done
ip link add "ckh$$ar" netns "$A" type veth peer name ra netns "$R"
ip link add "ckh$$br" netns "$B" type veth peer name rb netns "$R"
ip -n "$A" addr add 10.98.1.2/24 dev "ckh$$ar" && ip -n "$A" link set "ckh$$ar" up
ip -n "$B" addr add 10.98.2.2/24 dev "ckh$$br" && ip -n "$B" link set "ckh$$br" up
ip -n "$R" addr add 10.98.1.1/24 dev ra && ip -n "$R" link set ra up
ip -n "$R" addr add 10.98.2.1/24 dev rb && ip -n "$R" link set rb up
ip -n "$A" route add default via 10.98.1.1
ip -n "$B" route add default via 10.98.2.1
in_ns "$R" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
in_ns "$R" nft -f - <<'EOF' || { echo "case: hostile setup: FAILED (nft)"; exit 1; }
table ip mitm {
	chain pre {
		type nat hook prerouting priority -100;
		iifname { "ra", "rb" } tcp dport != 9999 redirect to :9999
	}
}
EOF
"$GEN_CERTS" "$T/certs" >/dev/null || { echo "case: hostile setup: FAILED (certificates)"; exit 1; }
mkdir -m 700 "$T/tok" "$T/recv-$A" "$T/recv-$B" "$T/stage"
"$CKPT" token new "$T/tok/token" >/dev/null || { echo "case: hostile setup: FAILED (ckpt token new)"; exit 1; }
TOK=(--token-file "$T/tok/token")
CA=(--tls-cacert "$T/certs/ca.pem")
S_TLS=("${CA[@]}" --tls-cert "$T/certs/source.pem" --tls-key "$T/certs/source-key.pem" --tls-peer receiver)
R_TLS=("${CA[@]}" --tls-cert "$T/certs/receiver.pem" --tls-key "$T/certs/receiver-key.pem" --tls-peer source)

# ---- the relay ----
# mitm_start FLIP...: the relay in R, a fresh capture and stats
mitm_start() {
	rm -f "$T/mitm.ready" "$T/cap" "$T/stats"
	# nsenter itself (not in_ns, a function: $! would be a subshell, not the relay)
	nsenter --net="/run/netns/$R" "$PY" "$HERE/mitm.py" 9999 "$T/mitm.ready" "$T/cap" "$T/stats" "$@" &
	MITM=$!
	PIDS+=("$MITM")
	for _ in $(seq 100); do [ -e "$T/mitm.ready" ] && return 0; sleep 0.05; done
	return 1
}
mitm_stop() { kill -9 "$MITM" 2>/dev/null; wait "$MITM" 2>/dev/null; }
# stat_of N DIR: the bytes the relay passed on connection N in direction DIR (c2s, s2c)
stat_of() { awk -v n="$1" -v d="$2" '$1 == n { print (d == "c2s" ? $3 : $4) }' "$T/stats"; }
# no_marker: the capture does not hold the tree's marker (it held something: the relay was used)
no_marker() { [ -s "$T/cap" ] && ! grep -qaF "$MARKER" "$T/cap"; }
# listeners HOST: the TCP ports listening in HOST's namespace, sampled into $T/listen.HOST until stopped
sample_listeners() {
	local h
	for h in "$A" "$B"; do
		: >"$T/listen.$h"
		# the address, then the owner (users:(("name",pid=N,fd=M))) to tell who it was
		(while :; do in_ns "$h" ss -Hltnp | awk '{print $4, $6}' >>"$T/listen.$h"; sleep 0.05; done) </dev/null >/dev/null 2>&1 &
		SAMPLERS+=("$!")
		PIDS+=("$!")
	done
}
stop_samplers() { kill "${SAMPLERS[@]}" 2>/dev/null; wait "${SAMPLERS[@]}" 2>/dev/null; SAMPLERS=(); }
SAMPLERS=()
only_listens() { # only_listens HOST PORTS_REGEX: every sampled listener address of HOST matches
	local bad
	bad=$(awk -v re="$2" '$1 !~ re' "$T/listen.$1")
	[ -z "$bad" ] && return 0
	echo "#   listening on $1 (samples, address, owner):"
	sort <<<"$bad" | uniq -c | sed 's/^/#     /' | head -n 20
	return 1
}
# receiver_done SECS: wait that long for the receiver, then stop it; RRC its exit code (137 if stopped)
receiver_done() {
	for _ in $(seq $(($1 * 20))); do
		alive "$RCV" || break
		sleep 0.05
	done
	alive "$RCV" && kill -9 "$RCV" 2>/dev/null
	wait "$RCV" 2>/dev/null
	RRC=$?
	[ -s "$T/rpid" ] && PIDS+=("$(cat "$T/rpid")")
}
no_tables() { ! in_ns "$1" nft list tables | grep -q 'CRIU-'; }
# no image files under the source's staging dir or the receiver's (CRIU's logs may stay)
no_images_anywhere() { [ -z "$(find "$T/stage" "$T/recv-$B" -name '*.img' 2>/dev/null)" ]; }

# one_move AUTH MODE FLIP...: a fresh tree on A (marker in every page) migrated to B through the
# relay (FLIP... as mitm.py takes them); MRC, RRC, ELAPSED (seconds, ms precision), OLD (the tree's
# pid on A)
one_move() {
	local auth=$1 mode=$2 rflags=() mflags=() t0 t1
	shift 2
	kill -9 "$TP" 2>/dev/null
	start_server "$A" "$MIB" "$MARKER" || return 1
	OLD=$TP
	mitm_start "$@" || return 1
	if [ "$auth" = token ]; then rflags=("${TOK[@]}") mflags=("${TOK[@]}"); else rflags=("${R_TLS[@]}") mflags=("${S_TLS[@]}"); fi
	[ "$mode" = lazy ] && mflags+=(--lazy)
	start_receiver "$B" "$NET" 1 "${rflags[@]}" --channel-timeout "$TO" || return 1
	sample_listeners
	t0=$(date +%s%N)
	migrate "$A" "$B" "${mflags[@]}" --channel-timeout "$TO"
	t1=$(date +%s%N)
	ELAPSED=$(((t1 - t0) / 1000000000)).$(printf %03d $(((t1 - t0) / 1000000 % 1000)))
	# a receiver that refused the connection listens on by design; one whose session ran ends
	# within moments of the source (its own failure or the source's last word)
	receiver_done 5
	stop_samplers
	sleep 0.3 # the relay writes a connection's stats when both its directions ended
	mitm_stop
	return 0
}

# the cases of a migration the relay let through untouched
passed_cases() {
	local label=$1
	case_ "$label: migrate exit 0" rc_is "$MRC" 0
	case_ "$label: receive exit 0" rc_is "$RRC" 0
	case_ "$label: the tree answers on B with its memory and counter; gone on A" moved "$A" "$B" "$NET" "$OLD"
	case_ "$label: the relay carried every page (connection 2: $(stat_of 2 c2s) bytes)" \
		bash -c "[ '$(stat_of 2 c2s)' -ge $((MIB << 20)) ]"
	case_ "$label: the capture holds none of the tree's memory in clear" no_marker
	case_ "$label: nothing listened on A; only PORT on B" \
		bash -c "$(declare -f only_listens); T='$T'; only_listens '$A' '^$' && only_listens '$B' ':7000$'"
	case_ "$label: no images left on either side" no_images_anywhere
	TP=$(cat "$T/rpid" 2>/dev/null)
}

# the cases of a migration the relay broke (a flipped byte)
broken_cases() {
	local label=$1
	case_ "$label: migrate fails (exit 1) within the channel timeout ($ELAPSED s)" \
		bash -c "[ '$MRC' = 1 ] && [ '${ELAPSED%.*}' -lt $((TO + 3)) ]"
	case_ "$label: the error says the data was altered or the peer refused" bash -c \
		"grep -qE 'altered|TLS|refused|closed|reset|Connection' '$T/mig.err'"
	case_ "$label: nothing runs on B" bash -c \
		"$(declare -f no_link); [ ! -e '$T/rpid' ] && no_link '$B' cm${NET}h1"
	case_ "$label: the source runs on with its memory and counter (network unlocked)" intact "$A" "$NET"
	case_ "$label: no images left on either side" no_images_anywhere
	case_ "$label: no CRIU nftables table left on A" no_tables "$A"
	case_ "$label: the capture holds none of the tree's memory in clear" no_marker
}

group_path() {
	local auth mode c1 s1 c2 s2
	set_pipe 4194304
	TP=
	for auth in token tls; do
		for mode in copy lazy; do
			one_move "$auth" "$mode" || { echo "case: hostile $auth $mode: setup: FAILED"; FAILED=$((FAILED + 1)); continue; }
			passed_cases "$auth $mode, relay passes"
			c1=$(stat_of 1 c2s) s1=$(stat_of 1 s2c) c2=$(stat_of 2 c2s) s2=$(stat_of 2 s2c)
			echo "# $auth $mode: control $c1 bytes out, $s1 back; pages $c2 out, $s2 back"
			# offsets: past the 16-byte preamble into the handshake, then half-way into each stream
			one_move "$auth" "$mode" flip:1:c2s:40 && broken_cases "$auth $mode, handshake byte flipped"
			one_move "$auth" "$mode" "flip:1:c2s:$((c1 / 2))" && broken_cases "$auth $mode, control/images byte flipped"
			one_move "$auth" "$mode" "flip:1:s2c:$((s1 / 2))" && broken_cases "$auth $mode, receiver's control byte flipped"
			one_move "$auth" "$mode" "flip:2:c2s:$((c2 / 2))" && broken_cases "$auth $mode, page byte flipped"
			one_move "$auth" "$mode" "flip:2:s2c:$((s2 / 2))" && broken_cases "$auth $mode, pages stream's answer byte flipped"
		done
	done
	kill -9 "$TP" 2>/dev/null
	set_pipe "$PIPE_OLD"
}

group_neighbour() {
	local tp h
	set_pipe 4194304
	TP=
	# a third party at every port the migration opens (only PORT on B), before and during it
	for mode in copy lazy; do
		kill -9 "$TP" 2>/dev/null
		start_server "$A" "$MIB" "$MARKER" || { echo "case: hostile neighbour: server: FAILED"; FAILED=$((FAILED + 1)); return; }
		OLD=$TP
		mitm_start || return
		start_receiver "$B" "$NET" 1 "${TOK[@]}" --channel-timeout "$TO"
		nsenter --net="/run/netns/$R" "$PY" "$HERE/thirdparty.py" "$T/third" "$MARKER" 20 "${IP[$B]}:7000" >/dev/null 2>&1 &
		tp=$!
		PIDS+=("$tp")
		sleep 1 # its 20 idle connections are open before the migration starts
		local lz=()
		[ "$mode" = lazy ] && lz=(--lazy)
		migrate "$A" "$B" "${TOK[@]}" --channel-timeout "$TO" "${lz[@]}"
		receiver_done $((TO + 5))
		kill -TERM "$tp"
		wait "$tp" 2>/dev/null
		mitm_stop
		case_ "third party ($mode): 20 idle connections and junk did not stop the migration (exit 0, 0)" \
			bash -c "[ '$MRC' = 0 ] && [ '$RRC' = 0 ]"
		case_ "third party ($mode): the tree runs on B only, with its memory" moved "$A" "$B" "$NET" "$OLD"
		case_ "third party ($mode): it got no byte of the tree ($(cat "$T/third" 2>/dev/null))" \
			bash -c "grep -q 'marker seen: no' '$T/third' && grep -qv '^thirdparty: 0 connections' '$T/third'"
		case_ "third party ($mode): the receiver refused its connections and said so" \
			has "$T/recv.err" "refused a connection from 10.98.2.1"
		TP=$(cat "$T/rpid" 2>/dev/null)
	done
	kill -9 "$TP" 2>/dev/null

	# a holder of the CA whom no side names
	rm -rf "${T:?}/recv-$B"/* # what the migrations above left (records, logs)
	start_server "$A" 16 || return
	mitm_start || return
	start_receiver "$B" "$NET" 1 "${R_TLS[@]}"
	migrate "$A" "$B" "${CA[@]}" --tls-cert "$T/certs/mallory.pem" --tls-key "$T/certs/mallory-key.pem" --tls-peer receiver
	case_ "CN=mallory as the source: refused (exit 1), named as not accepted" bash -c \
		"[ '$MRC' = 1 ] && grep -q 'CN=mallory.*names none of the peers' '$T/recv.err'"
	case_ "CN=mallory as the source: nothing written on B, the receiver listens on" bash -c \
		"$(declare -f alive empty_dir); empty_dir '$T/recv-$B' && alive $RCV"
	stop_receiver
	start_receiver "$B" "$NET" 1 "${CA[@]}" --tls-cert "$T/certs/mallory.pem" --tls-key "$T/certs/mallory-key.pem" --tls-peer source
	migrate "$A" "$B" "${S_TLS[@]}"
	case_ "CN=mallory as the receiver: the source refuses it (exit 1), naming it" bash -c \
		"[ '$MRC' = 1 ] && grep -q 'CN=mallory.*names none of the peers' '$T/mig.err'"
	case_ "CN=mallory as the receiver: the source runs on untouched" intact "$A" "$NET"
	stop_receiver
	mitm_stop

	# token files another user could control: each refused with its own message, nothing written
	local nob=65534 d
	d=$T/tokdirs
	mkdir -m 755 "$d" "$d/ok"
	chmod 700 "$d/ok"
	"$CKPT" token new "$d/ok/t" >/dev/null
	cp "$d/ok/t" "$d/ok/theirs" && chown "$nob" "$d/ok/theirs"
	ln -s "$d/ok/t" "$d/ok/link"
	head -c 31 /dev/urandom >"$d/ok/short" && chmod 600 "$d/ok/short"
	mkdir -m 777 "$d/open" && cp "$d/ok/t" "$d/open/t"
	token_refused() { # LABEL FILE MESSAGE
		local rc
		rm -rf "$T/recv-x"
		in_ns "$B" "$CKPT" receive --listen "${IP[$B]}:7010" --image-path "$T/recv-x" --token-file "$2" \
			--accept-timeout 1 >"$T/recv.out" 2>"$T/recv.err"
		rc=$?
		case_ "token $1: receive refuses (exit 2) saying so" bash -c "[ $rc = 2 ] && grep -q -- '$3' '$T/recv.err'"
		case_ "token $1: nothing written" bash -c "[ ! -e '$T/recv-x' ]"
		in_ns "$A" "$CKPT" migrate --to "${IP[$B]}:7010" --token-file "$2" 1 >"$T/mig.out" 2>"$T/mig.err"
		rc=$?
		case_ "token $1: migrate refuses (exit 2) saying so" bash -c "[ $rc = 2 ] && grep -q -- '$3' '$T/mig.err'"
	}
	token_refused "owned by another user" "$d/ok/theirs" "owned by uid $nob, not by you"
	token_refused "that is a symlink" "$d/ok/link" "is a symlink"
	token_refused "that is too short" "$d/ok/short" "holds 31 bytes of secret"
	token_refused "in a directory others can write" "$d/open/t" "which others can write"

	# read once: rewriting the token while the receiver runs changes nothing
	start_server "$A" 16 || return
	mitm_start || return
	cp "$d/ok/t" "$T/tok/live" && chmod 600 "$T/tok/live"
	start_receiver "$B" "$NET" 1 --token-file "$T/tok/live"
	sleep 0.5
	"$CKPT" token new "$T/tok/other" >/dev/null
	cp "$T/tok/other" "$T/tok/live"
	migrate "$A" "$B" --token-file "$T/tok/live"
	case_ "token rewritten under a running receiver: the new one is refused (exit 1)" rc_is "$MRC" 1
	case_ "... and the source runs on untouched" intact "$A" "$NET"
	migrate "$A" "$B" --token-file "$d/ok/t"
	receiver_done 10
	case_ "... the token it read at its start still works (exit 0)" bash -c "[ '$MRC' = 0 ] && [ '$RRC' = 0 ]"
	[ -s "$T/rpid" ] && PIDS+=("$(cat "$T/rpid")")
	mitm_stop
	set_pipe "$PIPE_OLD"
}

case $GROUP in
path) group_path ;;
neighbour) group_neighbour ;;
all) group_path; group_neighbour ;;
*) echo "test_hostile.sh: unknown group '$GROUP' (path, neighbour)"; exit 2 ;;
esac
[ -n "${TP:-}" ] && PIDS+=("$TP")
echo "hostile $GROUP: $FAILED case(s) failed"
[ "$FAILED" = 0 ]
