#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README followed verbatim on a fresh clone, as a newcomer would: its first set-up command
# (scripts/demo.sh), its install line, then the checkpoint and restore of a counter by the
# documented commands, with no CKPT_CRIU set. The commands are the README's own, read from the
# blocks after its `<!-- readme-test: NAME -->` markers. /usr/local (an overlay) and /tmp (a
# tmpfs) are private to the test: nothing is installed on the machine.
#
#   test_readme.sh SRC_DIR
#
# Prints one `case: readme: NAME: ok|FAILED` line per check.
set -u
SRC=$(realpath "${1:?usage: test_readme.sh SRC_DIR}")
if [ -z "${CKPT_README_INNER:-}" ]; then
	T=$(mktemp -d /var/tmp/ckpt-readme.XXXXXX)
	trap 'rm -rf "$T"' EXIT
	# what is committed: in CI, a clean clone of main
	if ! git clone -q "$SRC" "$T/src"; then
		echo "case: readme: clone: FAILED"
		exit 1
	fi
	mkdir "$T/upper" "$T/work"
	# a private mount namespace, and a child subreaper: the restored counter is reaped here
	env -u CKPT_CRIU CKPT_README_INNER=1 T="$T" unshare -m --propagation private -- \
		/usr/bin/python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$SRC"
	exit $?
fi

# a newcomer's shell holds no fd but stdio: none of the runner's (ctest's log) may reach the
# processes the README starts, or CRIU would meet a file of a mount this namespace does not see
for fd in "/proc/$$/fd"/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done
FAILED=0
case_() { # case_ NAME CMD...
	local name=$1
	shift
	if "$@"; then
		echo "case: readme: $name: ok"
	else
		echo "case: readme: $name: FAILED"
		FAILED=$((FAILED + 1))
		for f in "$T"/*.log; do [ -s "$f" ] && tail -n 15 "$f" | sed "s|^|#   $(basename "$f"): |"; done
	fi
}
# block NAME: the indented lines after README's <!-- readme-test: NAME --> marker, unindented
block() {
	awk -v m="<!-- readme-test: $1 -->" '
		$0 == m { on = 1; next }
		on && /^    / { print substr($0, 5); seen = 1; next }
		on && seen { exit }' "$T/src/README.md"
}
mount -t overlay overlay -o "lowerdir=/usr/local,upperdir=$T/upper,workdir=$T/work" /usr/local ||
	{ echo "case: readme: setup (overlay on /usr/local): FAILED"; exit 1; }
mount -t tmpfs tmpfs /tmp || { echo "case: readme: setup (tmpfs on /tmp): FAILED"; exit 1; }
cd "$T/src" || exit 1

MAIN=$(block main) INSTALL=$(block install) USE=$(block use)
case_ "the README has its three blocks (main, install, use)" \
	bash -c "[ -n '$MAIN' ] && [ -n '$INSTALL' ] && [ -n \"\$1\" ]" _ "$USE"
bash -c "$MAIN" >"$T/main.log" 2>&1
case_ "the first command ($MAIN) passes" test $? = 0
case_ "... and shows the counter carrying on" grep -q "carried on from" "$T/main.log"
bash -c "$INSTALL" >"$T/install.log" 2>&1
case_ "the install line ($INSTALL) passes" test $? = 0
case_ "... and puts ckpt on the PATH" test "$(command -v ckpt)" = /usr/local/bin/ckpt
ckpt version >"$T/version.log" 2>&1
case_ "ckpt version finds CRIU with no variable set" test $? = 0
bash -c "$USE" >"$T/use.out" 2>"$T/use.log"
case_ "the checkpoint and restore commands pass" test $? = 0
mapfile -t counts <"$T/use.out"
pid=$(cat /tmp/count.pid 2>/dev/null)
case_ "the counter counts on after the restore (${counts[0]:-?} then ${counts[1]:-?})" \
	bash -c "[ '${counts[0]:-x}' -ge 1 ] 2>/dev/null && [ '${counts[1]:-0}' -gt '${counts[0]:-0}' ] 2>/dev/null"
case_ "it runs again with its pid ($pid)" bash -c "[ -n '$pid' ] && kill -0 '$pid'"
[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
echo "readme: $FAILED case(s) failed"
[ "$FAILED" = 0 ]
