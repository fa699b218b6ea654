#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# docs/migration.md's quick start, run verbatim: its commands are read from the blocks after its
# `<!-- quickstart: NAME -->` markers (token, receive, migrate) and run as written, on two
# network namespaces of this machine with the addresses the guide uses (A 192.0.2.1, B
# 192.0.2.2), `ckpt` on the PATH and HOME a fresh directory (the guide's ~/migrate.token).
#
#   test_quickstart.sh CKPT DOC
#
# Needs root and $CKPT_CRIU. Prints one `case: migrate quickstart: NAME: ok|FAILED` per check.
set -u
if [ -z "${CKPT_QS_SUBREAPER:-}" ]; then
	# a child subreaper: the restored tree, once `ckpt receive` exits, is reaped here
	export CKPT_QS_SUBREAPER=1
	exec /usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi
CKPT=$(realpath "${1:?usage: test_quickstart.sh CKPT DOC}")
DOC=$(realpath "${2:?usage: test_quickstart.sh CKPT DOC}")
T=$(mktemp -d /tmp/ckpt-quickstart.XXXXXX)
chmod 700 "$T"
A=ckq$$a
B=ckq$$b
FAILED=0
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$T" /tmp/app.count
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case_() { # case_ NAME CMD...
	local name=$1
	shift
	if "$@"; then
		echo "case: migrate quickstart: $name: ok"
	else
		echo "case: migrate quickstart: $name: FAILED"
		FAILED=$((FAILED + 1))
		for f in "$T"/*.out "$T"/*.err; do
			[ -s "$f" ] && tail -n 8 "$f" | sed "s|^|#   $(basename "$f"): |"
		done
	fi
}
# block NAME: the indented lines after the guide's <!-- quickstart: NAME --> marker, unindented
block() {
	awk -v m="<!-- quickstart: $1 -->" '
		$0 == m { on = 1; next }
		on && /^[ \t]+[^ \t]/ { sub(/^[ \t]+/, ""); print; seen = 1; next }
		on && seen { exit }' "$DOC"
}

# the two hosts, one veth between them
if ! ip netns add "$A" || ! ip netns add "$B"; then
	echo "case: migrate quickstart: setup: FAILED"
	exit 1
fi
ip link add "ckq$$" netns "$A" type veth peer name "ckq$$p" netns "$B"
ip -n "$A" addr add 192.0.2.1/24 dev "ckq$$" && ip -n "$A" link set "ckq$$" up && ip -n "$A" link set lo up
ip -n "$B" addr add 192.0.2.2/24 dev "ckq$$p" && ip -n "$B" link set "ckq$$p" up && ip -n "$B" link set lo up
mkdir -m 700 "$T/home" "$T/bin"
ln -s "$CKPT" "$T/bin/ckpt"
export HOME="$T/home" PATH="$T/bin:$PATH"

TOKEN=$(block token) RECEIVE=$(block receive) MIGRATE=$(block migrate)
case_ "the guide has its three blocks" bash -c "[ -n \"\$1\" ] && [ -n \"\$2\" ] && [ -n \"\$3\" ]" _ \
	"$TOKEN" "$RECEIVE" "$MIGRATE"
nsenter --net="/run/netns/$B" bash -c "$TOKEN" >"$T/token.out" 2>"$T/token.err"
case_ "1. the token ($TOKEN)" test $? = 0
nsenter --net="/run/netns/$B" bash -c "$RECEIVE" >"$T/receive.out" 2>"$T/receive.err" &
RCV=$!
PIDS+=("$RCV")
for _ in $(seq 100); do
	nsenter --net="/run/netns/$B" ss -Hltn | grep -q '192.0.2.2:7000' && break
	sleep 0.05
done
rm -f /tmp/app.count
nsenter --net="/run/netns/$A" bash -c "$MIGRATE" >"$T/migrate.out" 2>"$T/migrate.err"
case_ "3. ckpt migrate exits 0" test $? = 0
for _ in $(seq 100); do kill -0 "$RCV" 2>/dev/null || break; sleep 0.1; done
wait "$RCV"
case_ "2. ckpt receive exits 0 once the tree runs on B" test $? = 0
NEW=$(sed -n 's/.*it runs there as pid \([0-9]*\).*/\1/p' "$T/migrate.out")
[ -n "$NEW" ] && PIDS+=("$NEW")
case_ "success reads as the guide says ('migrated pid N to 192.0.2.2:7000 (copy): it runs there as pid $NEW')" \
	grep -q "^migrated pid [0-9]* to 192.0.2.2:7000 (copy): it runs there as pid [0-9]*" "$T/migrate.out"
case_ "the tree runs on B (in B's network namespace)" bash -c \
	"[ -n '$NEW' ] && [ \"\$(stat -L -c %i /proc/$NEW/ns/net)\" = \"\$(stat -L -c %i /run/netns/$B)\" ]"
c1=$(cat /tmp/app.count 2>/dev/null)
sleep 2.2
c2=$(cat /tmp/app.count 2>/dev/null)
case_ "the program counts on after the move (${c1:-?} then ${c2:-?})" \
	bash -c "[ '${c1:-0}' -ge 1 ] 2>/dev/null && [ '${c2:-0}' -gt '${c1:-0}' ] 2>/dev/null"
echo "migrate quickstart: $FAILED case(s) failed"
[ "$FAILED" = 0 ]
