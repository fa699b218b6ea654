#!/usr/bin/env bash
# Build libckpt and pass every test, against real CRIU, on a fresh machine:
# installs the Debian packages, provisions CRIU >= 4.2 if none works here,
# builds with -Werror, runs the whole suite, then the sanitizer build, valgrind
# memcheck over the plain build's test binaries and a bounded libFuzzer run.
#
#   scripts/test.sh            everything (what CI runs)
#   QUICK=1 scripts/test.sh    only the plain build's suite
#   FUZZ_SECONDS=N             seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/deps.sh
CKPT_CRIU=$(scripts/provision-criu.sh)
export CKPT_CRIU
echo "test: criu is $CKPT_CRIU ($("$CKPT_CRIU" --version | head -n1))"

JOBS=$(nproc)
total_pass=0
total_fail=0
run_suite() { # name build-dir cmake-args...
	local name=$1 dir=$2
	shift 2
	echo "== $name"
	cmake -S "$ROOT" -B "$dir" -DCKPT_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS" 2>&1 | grep -E 'warning|error' || true
	cmake --build "$dir" -j"$JOBS" >/dev/null
	local log=$dir/ctest.log
	set +e
	(cd "$dir" && ctest --output-on-failure -j1 --timeout 900 ${CTEST_FILTER:+-R "$CTEST_FILTER"}) 2>&1 | tee "$log"
	set -e
	local line
	line=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n1)
	local failed ntotal
	failed=$(sed -n 's/.* \([0-9]*\) tests failed out of \([0-9]*\)/\1/p' <<<"$line")
	ntotal=$(sed -n 's/.* tests failed out of \([0-9]*\)/\1/p' <<<"$line")
	if [ -z "$ntotal" ]; then
		echo "test: $name: ctest printed no summary" >&2
		failed=1 ntotal=1
	fi
	total_pass=$((total_pass + ntotal - failed))
	total_fail=$((total_fail + failed))
}

# valgrind memcheck over the plain build's unit, corpus and integration test binaries (each
# binary counts as one test). Check forks per test, which valgrind would not follow: CK_FORK=no.
# The children (criu, fake-criu) are not traced. --track-fds is off: criu's fds confuse it.
run_valgrind() { # build-dir
	local dir=$1 name envs cmd rc
	echo "== valgrind memcheck ($dir)"
	while IFS=$'\x1f' read -r name envs cmd; do
		local -a envv=() argv=()
		[ -n "$envs" ] && IFS=' ' read -r -a envv <<<"$envs"
		IFS=' ' read -r -a argv <<<"$cmd"
		set +e
		env CK_FORK=no CK_DEFAULT_TIMEOUT=600 "${envv[@]}" timeout 900 \
			valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect --trace-children=no \
			"${argv[@]}" >"$dir/valgrind-$name.log" 2>&1
		rc=$?
		set -e
		if [ $rc -eq 0 ]; then
			echo "valgrind: $name: ok"
			total_pass=$((total_pass + 1))
		else
			echo "valgrind: $name: FAILED (exit $rc; 99 = memcheck errors), log $dir/valgrind-$name.log"
			grep -E '^==[0-9]+==|[0-9]+%: Checks' "$dir/valgrind-$name.log" | head -n 20 || true
			total_fail=$((total_fail + 1))
		fi
	done < <(cd "$dir" && ctest --show-only=json-v1 | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    n = t["name"]
    if not (n.startswith(("unit_", "integration_")) or n.endswith("_corpus")):
        continue
    env = [e for p in t.get("properties", []) if p["name"] == "ENVIRONMENT" for e in p["value"]]
    print(n, " ".join(env), " ".join(t["command"]), sep="\x1f")
')
}

# libFuzzer: a clang build of fuzz/, each target run ${FUZZ_SECONDS:-30} s (one test each).
run_fuzz() { # build-dir
	local dir=$1 line
	echo "== fuzz (${FUZZ_SECONDS:-30} s per target)"
	cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DCKPT_BUILD_FUZZ=ON -DCKPT_BUILD_TESTS=OFF \
		-DCKPT_BUILD_CLI=OFF -DCKPT_BUILD_EXAMPLES=OFF >/dev/null
	if ! cmake --build "$dir" -j"$JOBS" >"$dir/build.log" 2>&1; then
		echo "fuzz: the clang build failed, see $dir/build.log"
		total_fail=$((total_fail + 1))
		return
	fi
	set +e
	"$ROOT/fuzz/run.sh" "$dir" "${FUZZ_SECONDS:-30}" | tee "$dir/fuzz.log"
	set -e
	while read -r line; do
		case $line in
		"fuzz: "*": ok"*) total_pass=$((total_pass + 1)) ;;
		"fuzz: "*": FAILED"*) total_fail=$((total_fail + 1)) ;;
		esac
	done <"$dir/fuzz.log"
}

run_suite "plain build (-Werror)" "$ROOT/build-test" -DCKPT_BUILD_COMPAT_LIBCRIU=ON
if [ -z "${QUICK:-}" ]; then
	run_suite "ASan + UBSan build" "$ROOT/build-asan" -DCKPT_SANITIZE=address,undefined \
		-DCMAKE_BUILD_TYPE=Debug -DCKPT_BUILD_COMPAT_LIBCRIU=ON
	# ThreadSanitizer over the tests that run threads (8 real dump/restore threads; 8 x 50 against the fake)
	CTEST_FILTER='unit_transport|integration_faults|integration_core' \
		run_suite "TSan build (threaded tests)" "$ROOT/build-tsan" -DCKPT_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
	run_valgrind "$ROOT/build-test"
	run_fuzz "$ROOT/build-fuzz"
fi
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
