#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ckpt migrate / ckpt receive against real CRIU and real processes, between two "hosts" made
# here: network namespaces joined by a veth pair (10.99.0.1 and 10.99.0.2). The migrated tree is
# container-like: mig-server as the init of its own pid and network namespaces, wired to its
# host by a veth (10.77.N.2, the host end 10.77.N.1), and on the destination by `--veth`.
#
#   test_migrate.sh CKPT MIG_SERVER GEN_CERTS GROUP
#
# GROUP: auth (refusals: no auth, wrong token, no or foreign client certificate, the pipe size
# check), live (copy and lazy, three migrations back and forth, --json), faults (a failure at
# each stage: handshake refused, restore fails (copy and lazy), the connection drops
# mid-transfer, the receiver is killed, the receiver's answer is lost; lazy: the source side
# fails once the tree runs on the destination: page connection reset, source's criu killed,
# network cut, the link dropping every packet silently).
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
CKPT=$(realpath "${1:?usage: test_migrate.sh CKPT MIG_SERVER GEN_CERTS GROUP}")
SERVER=$(realpath "$2")
GEN_CERTS=$(realpath "$3")
GROUP=${4:-all}
HERE=$(dirname "$(realpath "$0")")
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ckpt-migrate-test.XXXXXX)
chmod 700 "$T"
A=ckm$$a
B=ckm$$b
declare -A IP=([$A]=10.99.0.1 [$B]=10.99.0.2)
declare -A CERT=([$A]=source [$B]=receiver)
# the name a receiver on host H accepts: the certificate the other host migrates with
declare -A PEER=([$A]=receiver [$B]=source)
NETNS=("$A" "$B")
PIPE_OLD=$(cat /proc/sys/fs/pipe-max-size)
PIDS=()
FAILED=0
NSRV=0

# shellcheck source=lib.sh
. "$HERE/lib.sh"
mig_traps

# ---- the two hosts ----
if ! ip netns add "$A" || ! ip netns add "$B"; then
	echo "case: migrate setup: FAILED (ip netns add)"
	exit 1
fi
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip link add "cm$$x" netns "$A" type veth peer name "cm$$y" netns "$B"
ip -n "$A" addr add 10.99.0.1/24 dev "cm$$x" && ip -n "$A" link set "cm$$x" up
ip -n "$B" addr add 10.99.0.2/24 dev "cm$$y" && ip -n "$B" link set "cm$$y" up
"$GEN_CERTS" "$T/certs" >/dev/null || { echo "case: migrate setup: FAILED (certificates)"; exit 1; }
head -c 48 /dev/urandom | base64 >"$T/token"
head -c 48 /dev/urandom | base64 >"$T/token2"
chmod 600 "$T/token" "$T/token2"
mkdir -m 700 "$T/recv-$A" "$T/recv-$B" "$T/stage"

TOK=(--token-file "$T/token")
TLS_A=(--tls-cacert "$T/certs/ca.pem" --tls-cert "$T/certs/${CERT[$A]}.pem" --tls-key "$T/certs/${CERT[$A]}-key.pem")
TLS_B=(--tls-cacert "$T/certs/ca.pem" --tls-cert "$T/certs/${CERT[$B]}.pem" --tls-key "$T/certs/${CERT[$B]}-key.pem")
# as receivers: the same files, and the source they accept (used through move_tree's namerefs)
# shellcheck disable=SC2034
RTLS_A=("${TLS_A[@]}" --tls-peer "${PEER[$A]}")
RTLS_B=("${TLS_B[@]}" --tls-peer "${PEER[$B]}")

group_auth() {
	"$CKPT" migrate --help >"$T/help" 2>&1
	case_ "migrate --help: one port, every byte inside TLS, nothing listens here" bash -c "grep -q 'Ports: only PORT on the receiver' '$T/help' &&
		grep -q 'listens on nothing' '$T/help' && grep -q 'encrypted' '$T/help'"
	"$CKPT" receive --help >"$T/help" 2>&1
	case_ "receive --help: one port, every byte inside TLS" bash -c "grep -q 'Ports: only PORT (--listen)' '$T/help' && grep -q 'encrypted' '$T/help'"
	"$CKPT" migrate --to 10.99.0.2:7000 1 >"$T/mig.out" 2>"$T/mig.err"
	MRC=$?
	case_ "migrate without authentication refuses to start (exit 2)" rc_is "$MRC" 2
	case_ "... and says why" has "$T/mig.err" "unauthenticated"
	"$CKPT" receive --listen 127.0.0.1:7999 >"$T/mig.out" 2>"$T/mig.err"
	case_ "receive without authentication refuses to start" has "$T/mig.err" "unauthenticated"

	start_server "$A" 16 || { echo "case: migrate auth: server: FAILED"; FAILED=$((FAILED + 1)); return; }
	start_receiver "$B" "$NET" 1 "${TOK[@]}"
	migrate "$A" "$B" --token-file "$T/token2"
	case_ "wrong token: refused (exit 1)" rc_is "$MRC" 1
	case_ "wrong token: the error says the tokens differ" has "$T/mig.err" "token"
	case_ "wrong token: nothing written on the receiver" empty_dir "$T/recv-$B"
	case_ "wrong token: the source is untouched (same memory, counting)" intact "$A" "$NET"
	case_ "wrong token: the receiver listens on" alive "$RCV"
	stop_receiver

	start_receiver "$B" "$NET" 1 "${RTLS_B[@]}"
	in_ns "$A" "$PY" "$HERE/nocert.py" "${IP[$B]}" 7000 "$T/certs/ca.pem" >"$T/mig.err" 2>&1
	case_ "no client certificate: refused" rc_is $? 0
	case_ "no client certificate: nothing written" empty_dir "$T/recv-$B"
	case_ "no client certificate: the receiver listens on" alive "$RCV"
	migrate "$A" "$B" --tls-cacert "$T/certs/ca.pem" --tls-cert "$T/certs/rogue.pem" --tls-key "$T/certs/rogue-key.pem"
	case_ "certificate of another CA: refused (exit 1)" rc_is "$MRC" 1
	case_ "certificate of another CA: the error names the certificate" has "$T/mig.err" "certificate"
	case_ "certificate of another CA: nothing written" empty_dir "$T/recv-$B"
	case_ "certificate of another CA: the source is untouched" intact "$A" "$NET"

	set_pipe 1048576
	migrate "$A" "$B" --lazy "${TLS_A[@]}"
	case_ "--lazy with fs.pipe-max-size 1 MiB: refused before freezing (exit 1)" rc_is "$MRC" 1
	case_ "--lazy pipe size: the error gives the sysctl" has "$T/mig.err" "sysctl -w fs.pipe-max-size=4194304"
	case_ "--lazy pipe size: the source is untouched" intact "$A" "$NET"
	case_ "--lazy pipe size: nothing written" empty_dir "$T/recv-$B"
	set_pipe "$PIPE_OLD"
	stop_receiver
}

# move_tree FROM TO HOP RAUTH MAUTH LABEL FLAGS...: a receiver on TO (hop HOP, the flags of the array
# named RAUTH), the tree (TP) migrated there from FROM (FLAGS, then the array named MAUTH); the cases
# every such move passes; TP the tree's pid on TO after
move_tree() {
	local from=$1 to=$2 hop=$3 label=$6 old=$TP
	local -n rauth=$4 mauth=$5
	shift 6
	start_receiver "$to" "$NET" "$hop" "${rauth[@]}"
	migrate "$from" "$to" "$@" "${mauth[@]}"
	wait_receiver
	case_ "$label: migrate exit 0" rc_is "$MRC" 0
	case_ "$label: receive exit 0" rc_is "$RRC" 0
	case_ "$label: the tree answers there with its memory and counter; gone here" moved "$from" "$to" "$NET" "$old"
	TP=$(cat "$T/rpid")
}

group_live() {
	start_server "$A" 64 || { echo "case: migrate live: server: FAILED"; FAILED=$((FAILED + 1)); return; }
	set_pipe 4194304

	move_tree "$A" "$B" 1 TOK TOK "copy A->B (token)"
	case_ "copy A->B: progress with bytes and rates" has "$T/mig.err" "pages: .* MiB .* MB/s"
	case_ "copy A->B: summary with downtime" has "$T/mig.out" "downtime"

	move_tree "$B" "$A" 2 RTLS_A TLS_B "lazy B->A (TLS)" --lazy
	case_ "lazy B->A: says when the source can go" has "$T/mig.err" "the source can go"
	case_ "lazy B->A: every page arrived" has "$T/recv.err" "every page is here"

	move_tree "$A" "$B" 3 RTLS_B TLS_A "copy A->B (TLS) --json" --json
	case_ "copy A->B --json: outcome, downtime, frozen, transfer, restore, total, bytes" json_ok "$T/mig.out" copy

	move_tree "$B" "$A" 4 RTLS_A TLS_B "lazy B->A (TLS) --json" --lazy --json
	case_ "lazy B->A --json: outcome and figures" json_ok "$T/mig.out" lazy
	PIDS+=("$TP")
	set_pipe "$PIPE_OLD"
}

# through_proxy MODE MIB: a fresh server of MIB MiB on A migrated to B through a relay on A that
# fails as MODE says (proxy.py); MRC and RRC the exit codes
through_proxy() {
	local w

	rm -f "$T/proxy.ready"
	nsenter --net="/run/netns/$A" "$PY" "$HERE/proxy.py" 10.99.0.1 7500 10.99.0.2 7000 "$1" "$T/proxy.ready" &
	w=$!
	PIDS+=("$w")
	for _ in $(seq 100); do [ -e "$T/proxy.ready" ] && break; sleep 0.05; done
	kill -9 "$TP" 2>/dev/null
	start_server "$A" "$2"
	start_receiver "$B" "$NET" 1 "${TOK[@]}"
	in_ns "$A" "$CKPT" migrate --to 10.99.0.1:7500 --staging-dir "$T/stage" --empty-ns network \
		--network-lock nftables "${TOK[@]}" "$TP" \
		>"$T/mig.out" 2>"$T/mig.err"
	MRC=$?
	wait_receiver
	{ kill -9 "$w"; wait "$w"; } 2>/dev/null
}

# lazy_broken HOW: a fresh 64 MiB server on A migrated lazily to B (TLS) with the link A->B slowed
# to 10 MB/s, so that its pages take seconds; once the source reports the tree running on B (DPID,
# its pid there), the source side fails as HOW says: "pages" resets the lazy page connection,
# "network" the control channel and then the page connection (`ss -K` on B), "criu" kills the
# source's criu (SIGKILL; it serves the pages), "silent" makes the link between A and B drop
# every packet from then on (no reset, no FIN: a host gone silently; nftables netdev ingress
# chains on both ends of the veth) with --channel-timeout $SILENT_TO on both sides, and sets
# RGONE, MGONE: the seconds from the drop until the receiver, the source ended. MRC, RRC the
# exit codes
SILENT_TO=5
lazy_broken() {
	local m k c=() to=() t0 t

	RGONE='' MGONE=''
	kill -9 "$TP" 2>/dev/null
	start_server "$A" 64 || return 1
	set_pipe 4194304
	tc -n "$A" qdisc add dev "cm$$x" root tbf rate 80mbit burst 64kb latency 1s
	[ "$1" = silent ] && to=(--channel-timeout "$SILENT_TO")
	start_receiver "$B" "$NET" 1 "${RTLS_B[@]}" "${to[@]}"
	: >"$T/mig.err" # not the last migration's lines, before the shell below opens it
	# nsenter execs ckpt: m is the pid of `ckpt migrate`, the parent of its criu
	nsenter --net="/run/netns/$A" "$CKPT" migrate --to "${IP[$B]}:7000" --staging-dir "$T/stage" \
		--empty-ns network --network-lock nftables --lazy "${TLS_A[@]}" "${to[@]}" "$TP" \
		>"$T/mig.out" 2>"$T/mig.err" &
	m=$!
	PIDS+=("$m")
	DPID=
	for _ in $(seq 1000); do
		DPID=$(sed -n 's/.*restore: pid \([0-9]*\) runs on .*/\1/p' "$T/mig.err")
		[ -n "$DPID" ] || ! alive "$m" && break
		sleep 0.01
	done
	if [ -n "$DPID" ]; then
		PIDS+=("$DPID")
		case $1 in
		pages) kill_pages_conn "$B" ;;
		network)
			kill_pages_conn "$B" ctl
			kill_pages_conn "$B"
			;;
		criu)
			read -ra c <"/proc/$m/task/$m/children"
			for k in "${c[@]}"; do
				grep -q criu "/proc/$k/cmdline" && kill -9 "$k"
			done
			;;
		silent)
			in_ns "$A" nft "add table netdev ckdrop; add chain netdev ckdrop in { type filter hook ingress device cm$$x priority -500; policy drop; }"
			in_ns "$B" nft "add table netdev ckdrop; add chain netdev ckdrop in { type filter hook ingress device cm$$y priority -500; policy drop; }"
			t0=$(date +%s%N)
			for _ in $(seq 1200); do # 120 s at most (TCP's retransmissions alone take about 15 min)
				t=$(( ($(date +%s%N) - t0) / 1000000 ))
				[ -z "$RGONE" ] && ! alive "$RCV" && RGONE=$((t / 1000)).$(printf %03d $((t % 1000)))
				[ -z "$MGONE" ] && ! alive "$m" && MGONE=$((t / 1000)).$(printf %03d $((t % 1000)))
				[ -n "$RGONE" ] && [ -n "$MGONE" ] && break
				sleep 0.1
			done
			echo "# silent drop: the receiver ended after ${RGONE:-more than 120} s, the source after ${MGONE:-more than 120} s (--channel-timeout $SILENT_TO)"
			if [ -z "$MGONE" ]; then # its criu too: orphaned, it would sit in retransmissions
				read -ra c <"/proc/$m/task/$m/children"
				kill -9 "${c[@]}" "$m" 2>/dev/null
			fi
			[ -n "$RGONE" ] || kill -9 "$RCV"
			;;
		esac
	fi
	wait "$m"
	MRC=$?
	wait_receiver
	if [ "$1" = silent ]; then
		in_ns "$A" nft delete table netdev ckdrop 2>/dev/null
		in_ns "$B" nft delete table netdev ckdrop 2>/dev/null
	fi
	tc -n "$A" qdisc del dev "cm$$x" root
	set_pipe "$PIPE_OLD"
	[ -n "$DPID" ]
}

group_faults() {
	local w

	# the receiver refuses the handshake (a certificate of the CA that names another peer)
	start_server "$A" 16 || { echo "case: migrate faults: server: FAILED"; FAILED=$((FAILED + 1)); return; }
	start_receiver "$B" "$NET" 1 "${RTLS_B[@]}"
	migrate "$A" "$B" --tls-cacert "$T/certs/ca.pem" --tls-cert "$T/certs/mallory.pem" --tls-key "$T/certs/mallory-key.pem"
	case_ "handshake refused: exit 1" rc_is "$MRC" 1
	case_ "handshake refused: the error names the stage and the reason" bash -c "grep -q 'migrate: handshake: ' '$T/mig.err' &&
		grep -q 'certificate' '$T/mig.err'"
	case_ "handshake refused: the source runs on with its state" intact "$A" "$NET"
	case_ "handshake refused: nothing written or restored on the receiver" empty_dir "$T/recv-$B"
	case_ "handshake refused: the receiver listens on" alive "$RCV"
	stop_receiver

	# the restore fails on the receiver (copy): its veth host name is taken there
	ip -n "$B" link add "cm${NET}h2" type veth peer name "cm${NET}h2p"
	start_receiver "$B" "$NET" 2 "${TOK[@]}"
	migrate "$A" "$B" "${TOK[@]}"
	wait_receiver
	case_ "restore fails (copy): exit 1" rc_is "$MRC" 1
	case_ "restore fails (copy): the error names the restore stage" has "$T/mig.err" "migrate: restore: "
	case_ "restore fails (copy): the source runs on with its state, network unlocked" intact "$A" "$NET"
	case_ "restore fails (copy): the receiver exits 1" rc_is "$RRC" 1
	case_ "restore fails (copy): nothing restored, no images left on the receiver" bash -c \
		"[ ! -e '$T/rpid' ] && ! ls -d '$T/recv-$B'/*/images >/dev/null 2>&1"

	# the restore fails on the receiver (lazy: after the source's point of no return)
	set_pipe 4194304
	start_receiver "$B" "$NET" 2 "${RTLS_B[@]}"
	migrate "$A" "$B" --lazy "${TLS_A[@]}"
	wait_receiver
	set_pipe "$PIPE_OLD"
	case_ "restore fails (lazy): exit 1" rc_is "$MRC" 1
	case_ "restore fails (lazy): the error names the restore stage" has "$T/mig.err" "migrate: restore: "
	case_ "restore fails (lazy): the source was resumed with its state, network unlocked" intact "$A" "$NET"
	case_ "restore fails (lazy): nothing restored, no images left" bash -c \
		"[ ! -e '$T/rpid' ] && ! ls -d '$T/recv-$B'/*/images >/dev/null 2>&1"
	ip -n "$B" link del "cm${NET}h2"

	# the connection drops mid-transfer (a relay on A cuts it after 8 MiB)
	through_proxy cut-bytes:8388608 64
	case_ "connection drops mid-transfer: exit 1" rc_is "$MRC" 1
	case_ "connection drops mid-transfer: the error names the transfer stage" has "$T/mig.err" "migrate: transfer: "
	case_ "connection drops mid-transfer: the source runs on with its state" intact "$A" "$NET"
	case_ "connection drops mid-transfer: the receiver exits 1, nothing restored, no images left" bash -c \
		"[ '$RRC' = 1 ] && [ ! -e '$T/rpid' ] && ! ls -d '$T/recv-$B'/*/images >/dev/null 2>&1"

	# the receiver is killed while the pages arrive
	kill -9 "$TP" 2>/dev/null
	start_server "$A" 256
	start_receiver "$B" "$NET" 1 "${TOK[@]}"
	(
		for _ in $(seq 600); do
			n=$(cat "$T/recv-$B"/*/images/pages-*.img 2>/dev/null | head -c 33554432 | wc -c)
			[ "$n" -ge 33554432 ] && break
			sleep 0.01
		done
		kill -9 "$RCV"
	) &
	w=$!
	migrate "$A" "$B" "${TOK[@]}"
	wait "$w"
	stop_receiver
	case_ "receiver killed: it left a session behind (images, record)" bash -c \
		"ls -d '$T/recv-$B'/*/images >/dev/null 2>&1 && grep -qx -e receiving -e images '$T/recv-$B'/*.state"
	case_ "receiver killed: exit 1" rc_is "$MRC" 1
	case_ "receiver killed: the source runs on with its state" intact "$A" "$NET"
	case_ "receiver killed: nothing restored on the receiver" no_restore
	case_ "receiver killed: no restored tree answers on the receiver's side" bash -c "! ip -n '$B' link show cm${NET}h1 >/dev/null 2>&1"
	start_receiver "$B" "$NET" 1 "${TOK[@]}"
	eventually() { for _ in $(seq 100); do "$@" && return 0; sleep 0.05; done; return 1; }
	case_ "receiver killed: the next receiver removes the images it left, and records the session failed" \
		bash -c "$(declare -f eventually no_images_left); T='$T'; eventually no_images_left '$B' &&
			! grep -qx -e receiving -e images '$T/recv-$B'/*.state"
	stop_receiver

	# the receiver's answer is lost (a relay cuts the control connection right after RESTORE)
	through_proxy cut-after-restore 16
	local old=$TP
	case_ "answer lost: the source was held and told so" has "$T/mig.err" "outcome unknown.*held by criu pid"
	case_ "answer lost: resolved by asking the receiver again (exit 0)" rc_is "$MRC" 0
	case_ "answer lost: the receiver exits 0 once the source acked" rc_is "$RRC" 0
	case_ "answer lost: the tree runs on B only" moved "$A" "$B" "$NET" "$old"
	TP=$(cat "$T/rpid" 2>/dev/null)
	[ -n "$TP" ] && PIDS+=("$TP")

	# lazy: the source side fails once the tree already runs on B, its pages still on A
	local how label
	for how in pages criu network silent; do
		case $how in
		pages) label="lazy page connection cut after the restore" ;;
		criu) label="source's criu killed after the restore" ;;
		network) label="network cut after the restore" ;;
		silent) label="link silently dropping every packet after the restore" ;;
		esac
		lazy_broken "$how"
		case_ "$label: the destination ran the tree first" bash -c "[ -n '$DPID' ]"
		case_ "$label: the receiver killed its incomplete copy (pid gone, nothing answers on B)" \
			bash -c "$(declare -f alive gone ask in_ns no_link); [ -n '$DPID' ] && gone '$DPID' && ! ask '$B' '$NET' &&
				no_link '$B' cm${NET}h1"
		case_ "$label: the receiver exits 1 and says the copy lacked pages and was killed" bash -c \
			"[ '$RRC' = 1 ] && grep -q 'lacked pages and was killed' '$T/recv.err'"
		case_ "$label: nothing restored or left on the receiver" bash -c \
			"[ ! -e '$T/rpid' ] && ! ls -d '$T/recv-$B'/*/images >/dev/null 2>&1 && grep -qx failed \"\$(ls -t '$T/recv-$B'/*.state | head -n 1)\""
		if [ "$how" = silent ]; then
			# the receiver's relay fails after the channel timeout (TCP_USER_TIMEOUT, keepalive),
			# then it kills its copy; the source's CRIU session fails as long, then its word is
			# waited for as long: 2 timeouts and a margin
			case_ "$label: the receiver gave up within $((SILENT_TO + 5)) s (${RGONE:-never})" \
				within "$RGONE" $((SILENT_TO + 5))
			case_ "$label: the source gave up within $((2 * SILENT_TO + 5)) s (${MGONE:-never})" \
				within "$MGONE" $((2 * SILENT_TO + 5))
			case_ "$label: the receiver says its pages stream went silent" \
				has "$T/recv.err" "pages: nothing heard from .* for $SILENT_TO.0 s (the channel timeout)"
		fi
		if [ "$how" != network ] && [ "$how" != silent ]; then
			case_ "$label: migrate exits 1 (the receiver said it killed its copy)" rc_is "$MRC" 1
			case_ "$label: the error names the pages stage and the killed copy" bash -c \
				"grep -q 'migrate: pages: .*lacked pages and was killed (the source tree was resumed)' '$T/mig.err' &&
				grep -q 'network lock, nftables table inet CRIU-.*, was removed' '$T/mig.err'"
			case_ "$label: the source runs on with its state, network unlocked" intact "$A" "$NET"
		else
			case_ "$label: migrate exits 5 (outcome unknown: the receiver's word was lost)" rc_is "$MRC" 5
			case_ "$label: the error says the copy there lacks pages and the source is resumed, locked" bash -c \
				"grep -q 'migrate: pages: .*(pid $DPID): it lacks the pages not copied yet.*CRIU resumed the source tree here (pid $TP) with all its memory, its network still locked' '$T/mig.err'"
			case_ "$label: the source tree lives, its network still locked by CRIU (no answer)" bash -c \
				"$(declare -f alive ask in_ns); alive '$TP' && ! ask '$A' '$NET' && nsenter -t '$TP' -n nft list tables | grep -q 'inet CRIU-'"
		fi
		case_ "$label: no nftables table left on either host" bash -c \
			"! ip netns exec '$A' nft list tables | grep -q . && ! ip netns exec '$B' nft list tables | grep -q ."
	done
	kill -9 "$TP" 2>/dev/null
}

case $GROUP in
auth) group_auth ;;
live) group_live ;;
faults) group_faults ;;
all) group_auth; group_live; group_faults ;;
*) echo "test_migrate.sh: unknown group '$GROUP' (auth, live, faults, all)"; exit 2 ;;
esac
[ -n "${TP:-}" ] && PIDS+=("$TP")
echo "migrate $GROUP: $FAILED case(s) failed"
[ "$FAILED" = 0 ]
