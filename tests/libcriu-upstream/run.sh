#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CRIU 4.2.1's own libcriu tests (test/others/libcriu of the source Debian ships, the
# .c files unchanged) built once against libckpt's installed criu.h, then run as
# upstream's run.sh runs them on two libraries side by side: Debian's real
# libcriu.so.2 (libcriu2 4.2.1 from Debian testing) and libckpt's drop-in. The same
# binaries; only the loader's library path (LD_LIBRARY_PATH, as upstream's run.sh
# sets it) differs. As upstream: the tests in upstream's order, one images dir
# shared by all the tests (one per library here), `setsid TEST CRIU DIR </dev/null`,
# CRIU_FEATURE_* set from `criu check --feature` before test_feature_check.
#
#   tests/libcriu-upstream/run.sh BUILD_DIR    (configured with -DCKPT_BUILD_COMPAT_LIBCRIU=ON)
#
# Prints a table (test, Debian's libcriu, ours) and one `case: NAME: ok|FAILED` line
# per test and library. A case fails when the library crashes or hangs (each test
# has a deadline, CKPT_LIBCRIU_TEST_TIMEOUT seconds, default 30), when Debian's
# libcriu fails a test it is expected to pass here (the reference is broken), or
# when ours fails a test Debian's passes. test_iters and test_pre_dump need
# soft-dirty tracking: where `criu check --feature mem_dirty_track` says there is
# none, both libraries are expected to fail them (without a crash or hang).
# Needs root; runs CRIU, so run it under flock /tmp/ckpt-criu.lock.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
TIMEOUT=${CKPT_LIBCRIU_TEST_TIMEOUT:-30}
# upstream's run.sh order (test_iters and test_pre_dump: x86_64 only, as there)
TESTS=(test_sub test_self test_notify test_rpc_config)
[ "$(uname -m)" = x86_64 ] && TESTS+=(test_iters test_pre_dump)
TESTS+=(test_errno test_join_ns test_check test_feature_check)
SOFT_DIRTY_TESTS=" test_iters test_pre_dump "

bail() { echo "case: libcriu-upstream setup: FAILED"; echo "libcriu-upstream: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || bail "needs root"

# 1. CRIU, Debian's libcriu.so.2 and CRIU's source, all from Debian testing.
env_out=$("$ROOT/scripts/provision-crun.sh") || bail "scripts/provision-crun.sh failed"
eval "$env_out"
SRC=$("$ROOT/scripts/provision-criu-src.sh") || bail "scripts/provision-criu-src.sh failed"
SRC=$SRC/test/others/libcriu
DEB_LIB=$CKPT_LIBCRIU_DEBIAN_DIR

WORK=$(mktemp -d /tmp/ckpt-libcriu-upstream-XXXXXX)
cleanup() {
	if [ -n "${CKPT_KEEP:-}" ]; then
		echo "libcriu-upstream: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# 2. Our header and library as installed (cmake --install into a private prefix).
cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log" >&2; bail "cmake --install $BUILD failed"; }
OUR_INC=$WORK/prefix/include/libckpt/compat/criu
OUR_LIB=$(dirname "$(find "$WORK/prefix" -name libcriu.so.2 | head -n1)")
if [ ! -e "$OUR_INC/criu.h" ] || [ ! -e "$OUR_LIB/libcriu.so.2" ]; then
	bail "no installed criu.h and libcriu.so.2 under $WORK/prefix (CKPT_BUILD_COMPAT_LIBCRIU off?)"
fi

# 3. Build the test programs once, against our criu.h (upstream's compiler flags).
mkdir -p "$WORK/bin" "$WORK/tests"
if ! make -s -C "$WORK/tests" -f "$HERE/Makefile" SRC="$SRC" CRIU_INCLUDE="$OUR_INC" \
	CRIU_LIB="$OUR_LIB" -j2 >"$WORK/build.log" 2>&1; then
	cat "$WORK/build.log"
	for t in "${TESTS[@]}"; do
		[ -x "$WORK/tests/$t" ] || echo "case: libcriu-upstream $t builds against libckpt's criu.h: FAILED"
	done
	exit 1
fi
echo "libcriu-upstream: ${#TESTS[@]} tests of $SRC built against $OUR_INC/criu.h"

# upstream's run.sh puts CRIU's build dir first on PATH: libcriu runs `criu` from PATH
# when no service binary is set (test_sub's restore)
ln -sf "$CKPT_CRIU" "$WORK/bin/criu"
export PATH=$WORK/bin:$PATH
CRIU=$WORK/bin/criu

# 4. Which library does each side load? LD_DEBUG on one run of test_check.
declare -A LIBDIR=([debian]=$DEB_LIB [ours]=$OUR_LIB)
declare -A LABEL=([debian]="Debian's libcriu 4.2.1" [ours]="libckpt's drop-in")
for side in debian ours; do
	mkdir -p "$WORK/lddebug-$side"
	(cd "$WORK/tests" && LD_LIBRARY_PATH=${LIBDIR[$side]} LD_DEBUG=libs \
		LD_DEBUG_OUTPUT="$WORK/lddebug-$side/ld" ./test_check "$CRIU" >/dev/null 2>&1)
	got=$(grep -h 'calling init: .*libcriu\.so\.2' "$WORK/lddebug-$side"/ld* 2>/dev/null |
		sed 's/.*calling init: //' | sort -u)
	if [ "$got" = "${LIBDIR[$side]}/libcriu.so.2" ]; then
		echo "case: libcriu-upstream loads ${LABEL[$side]} ($got): ok"
	else
		echo "case: libcriu-upstream loads ${LABEL[$side]} (${LIBDIR[$side]}/libcriu.so.2): FAILED (loaded '$got')"
		exit 1
	fi
done

# 5. The features, as upstream's run.sh asks criu for them (before test_feature_check).
declare -A FEAT=([mem_dirty_track]=CRIU_FEATURE_MEM_TRACK [uffd-noncoop]=CRIU_FEATURE_LAZY_PAGES
	[pidfd_store]=CRIU_FEATURE_PIDFD_STORE)
feat_env=()
for f in mem_dirty_track uffd-noncoop pidfd_store; do
	if "$CRIU" check --feature "$f" >/dev/null 2>&1; then
		feat_env+=("${FEAT[$f]}=1")
	fi
done
soft_dirty=no
[[ " ${feat_env[*]} " == *" CRIU_FEATURE_MEM_TRACK=1 "* ]] && soft_dirty=yes
echo "libcriu-upstream: criu check --feature: ${feat_env[*]:-none}; soft-dirty: $soft_dirty"

# 6. Run: per test, Debian's libcriu then ours, each in its own shared images dir.
declare -A RES MS
for side in debian ours; do mkdir -p "$WORK/output-$side" "$WORK/logs-$side"; done
run_test() { # side test
	local side=$1 t=$2 out s r before
	out=$WORK/output-$side
	local -a env=(LD_LIBRARY_PATH="${LIBDIR[$side]}")
	[ "$t" = test_feature_check ] && env+=("${feat_env[@]}")
	before=$(ls /tmp/criu-*.conf /tmp/criu-*.log 2>/dev/null)
	touch "$WORK/mark"
	sleep 0.01
	s=$(date +%s%N)
	r=$(cd "$WORK/tests" && env "${env[@]}" "$HERE/run-one.py" "$TIMEOUT" "$WORK/logs-$side/$t.out" \
		-- "./$t" "$CRIU" "$out")
	MS[$side,$t]=$((($(date +%s%N) - s) / 1000000))
	RES[$side,$t]=${r:-"exit:?"}
	# the test log, and the logs CRIU wrote into the shared dir (the next test overwrites them)
	cat "$WORK/logs-$side/$t.out" >>"$out/test.log"
	for l in dump.log restore.log; do
		[ "$out/$l" -nt "$WORK/mark" ] && cp "$out/$l" "$WORK/logs-$side/$t.$l"
	done
	# test_rpc_config's /tmp/criu-XXXXXX.{conf,log}, when it left them (names seeded by time())
	comm -13 <(echo "$before") <(ls /tmp/criu-*.conf /tmp/criu-*.log 2>/dev/null) | xargs -r rm -f
}
for t in "${TESTS[@]}"; do
	for side in debian ours; do
		run_test "$side" "$t"
	done
done

# 7. Verdicts, the table and the case lines.
word() { # RES value -> pass | FAIL (exit N) | CRASH (signal N) | HANG (> T s)
	case $1 in
	exit:0*) echo pass ;;
	exit:*) echo "FAIL (exit ${1#exit:})" ;;
	signal:*) echo "CRASH (signal ${1#signal:})" ;;
	timeout*) echo "HANG (> ${TIMEOUT} s)" ;;
	esac
}
failed=0 ncase=0
declare -A VERDICT
for t in "${TESTS[@]}"; do
	xfail=no
	[ $soft_dirty = no ] && [[ $SOFT_DIRTY_TESTS == *" $t "* ]] && xfail=yes
	for side in debian ours; do
		r=${RES[$side,$t]%% *}
		ok=yes why=
		case $r in
		signal:* | timeout) ok=no why="crashed or hung" ;;
		exit:0)
			[ $xfail = yes ] && why="passes although no soft-dirty (expected to fail)" ;;
		*)
			if [ $xfail = yes ]; then
				why="fails as expected (no soft-dirty)"
			elif [ $side = debian ]; then
				ok=no why="Debian's libcriu fails a test it passes on a working setup"
			elif [ "${RES[debian,$t]%% *}" = exit:0 ]; then
				ok=no why="fails where Debian's libcriu passes"
			else
				why="fails as Debian's libcriu does"
			fi
			;;
		esac
		VERDICT[$side,$t]=$ok
		ncase=$((ncase + 1))
		if [ $ok = yes ]; then
			echo "case: libcriu-upstream $t with ${LABEL[$side]}: ok${why:+ ($why)}"
		else
			failed=$((failed + 1))
			echo "case: libcriu-upstream $t with ${LABEL[$side]}: FAILED ($why: $(word "$r"))"
		fi
	done
done

echo
printf '%-20s | %-28s | %-28s\n' test "Debian's libcriu 4.2.1" "libckpt's drop-in"
printf '%-20s-|-%-28s-|-%-28s\n' -------------------- ---------------------------- ----------------------------
for t in "${TESTS[@]}"; do
	cell() {
		local c
		c="$(word "${RES[$1,$t]%% *}") ${MS[$1,$t]} ms"
		[[ ${RES[$1,$t]} == *leftover:* ]] && c+=" +${RES[$1,$t]##*leftover:} left"
		echo "$c"
	}
	printf '%-20s | %-28s | %-28s\n' "$t" "$(cell debian)" "$(cell ours)"
done
echo

# Why ours failed: its output and the CRIU logs of that test.
for t in "${TESTS[@]}"; do
	[ "${RES[ours,$t]%% *}" = exit:0 ] && continue
	[ "${VERDICT[ours,$t]}" = yes ] && [ "${VERDICT[debian,$t]}" = yes ] &&
		[ "${RES[debian,$t]%% *}" != exit:0 ] && [ -z "${CKPT_LIBCRIU_TEST_VERBOSE:-}" ] && continue
	echo "--- $t through libckpt's drop-in: $(word "${RES[ours,$t]%% *}")"
	sed 's/^/  | /' "$WORK/logs-ours/$t.out" | tail -n 20
	n=0
	for l in dump.log restore.log; do
		f=$WORK/logs-ours/$t.$l
		[ -e "$f" ] || continue
		n=$((n + 1))
		grep -E 'Error|Warn.*fail|FAIL' "$f" | grep -v RLIMIT_NOFILE | tail -n 5 | sed "s/^/  | $l: /"
	done
	[ $n = 0 ] && echo "  (CRIU wrote no dump.log or restore.log in this test)"
done

pass=$((ncase - failed))
echo "libcriu-upstream: $pass of $ncase cases ok, $failed FAILED"
[ $failed = 0 ]
