#!/usr/bin/env bash
# Build libckpt and pass every test, against real CRIU, on a fresh machine:
# installs the Debian packages, provisions CRIU >= 4.2 if none works here,
# builds with -Werror, runs the whole suite, then the sanitizer build.
#
#   scripts/test.sh            everything (what CI runs)
#   QUICK=1 scripts/test.sh    only the plain build's suite
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
	(cd "$dir" && ctest --output-on-failure -j1 --timeout 900) 2>&1 | tee "$log"
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

run_suite "plain build (-Werror)" "$ROOT/build-test"
if [ -z "${QUICK:-}" ]; then
	run_suite "ASan + UBSan build" "$ROOT/build-asan" -DCKPT_SANITIZE=address,undefined \
		-DCMAKE_BUILD_TYPE=Debug
fi
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
