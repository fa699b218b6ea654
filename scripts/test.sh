#!/usr/bin/env bash
# Build libckpt and pass every test, against real CRIU, on a fresh machine:
# installs the Debian packages, provisions CRIU >= 4.2 if none works here,
# then runs the stages below and ends with "tests: N passed, N failed", where
# N counts test cases (each Check case once per build it runs in, each check
# of a shell test or lint stage, each fuzz target), not test binaries.
#
#   scripts/test.sh                      every stage (what CI runs)
#   QUICK=1 scripts/test.sh              only the plain build's suite
#   STAGES="lint abi" scripts/test.sh    only the stages named
#   FUZZ_SECONDS=N                       seconds per fuzz target (default 30)
#   CKPT_FORMAT=report                   the format stage lists unformatted files, fails none
#
# Stages, in order:
#   lint      shellcheck on every script; scripts/check-layout.sh (lib/'s layers, one case)
#             and tests/layout/test_check_layout.sh (it, on planted violations); clang-format
#             (see FORMAT_MODE); gcc -fanalyzer
#   abi       abidiff against tests/abi/libckpt.abi
#   plain     -Werror build, the whole suite (heavy outside suites included)
#   asan      ASan+UBSan build, the suite without the heavy outside suites
#   tsan      TSan build, the threaded tests
#   valgrind  memcheck over the plain build's unit, corpus and integration binaries
#   fuzz      each libFuzzer target for FUZZ_SECONDS
#   bullseye  build and unit tests against glibc 2.31 (Debian bullseye root, cached)
# Everything that runs criu runs under flock -o $CKPT_LOCK (one CRIU-heavy run at a
# time on a shared machine; -o: a process a test leaves behind does not keep the lock).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The format stage: "enforce" (the default) makes each file that differs from
# .clang-format a failed case; "report" lists them and fails nothing.
FORMAT_MODE=${CKPT_FORMAT:-enforce}
# Heavy suites from outside (crun, Podman, CRIU's own tests) run in the plain
# build only: ctest labels matching this are left out of the sanitizer builds.
HEAVY_LABELS='^(crun|podman|criu-tests|outside)$'
CKPT_LOCK=${CKPT_LOCK:-/tmp/ckpt-criu.lock}
ALL_STAGES="lint abi plain asan tsan valgrind fuzz bullseye"
if [ -n "${QUICK:-}" ]; then
	STAGES=${STAGES:-plain}
fi
STAGES=${STAGES:-$ALL_STAGES}
want() { [[ " $STAGES " == *" $1 "* ]]; }

scripts/deps.sh
if want plain || want asan || want tsan || want valgrind; then
	CKPT_CRIU=$(scripts/provision-criu.sh)
	export CKPT_CRIU
	echo "test: criu is $CKPT_CRIU ($("$CKPT_CRIU" --version | head -n1))"
fi

JOBS=$(nproc)
total_pass=0
total_fail=0
times=()

# add_counts: read count-cases.py's output on stdin, show it, add its totals (not in a
# pipeline: it must run in this shell)
add_counts() {
	local line p f
	while IFS= read -r line; do
		case $line in
		"cases: "*)
			p=${line#cases: }
			p=${p%% passed*}
			f=${line##*, }
			f=${f%% failed}
			total_pass=$((total_pass + p))
			total_fail=$((total_fail + f))
			;;
		*" 0 failed") ;;
		*) echo "$line" ;;
		esac
	done
}
# count_output NAME FILE RC: the cases of one program's output
count_output() { add_counts < <(scripts/count-cases.py output "$2" "$3" "$1"); }

stage() { # NAME FUNCTION ARGS...: run and time one stage
	local name=$1 t0=$SECONDS p0=$total_pass f0=$total_fail
	shift
	echo "== $name"
	"$@"
	times+=("$(printf '%-28s %5d s  %6d passed %4d failed' "$name" $((SECONDS - t0)) \
		$((total_pass - p0)) $((total_fail - f0)))")
}

run_suite() { # build-dir cmake-args...: build with -Werror, run ctest, count the cases
	local dir=$1
	shift
	cmake -S "$ROOT" -B "$dir" -DCKPT_WERROR=ON "$@" >/dev/null
	if ! cmake --build "$dir" -j"$JOBS" >"$dir/build.log" 2>&1; then
		grep -E 'warning|error' "$dir/build.log" | head -n 40
		echo "case: build $dir: FAILED" >"$dir/build-case.log"
		count_output "build" "$dir/build-case.log" 1
		return
	fi
	rm -f "$dir/Testing/Temporary/LastTest.log"
	set +e
	(cd "$dir" && flock -o "$CKPT_LOCK" ctest --output-on-failure -j1 --timeout 900 \
		${CTEST_FILTER:+-R "$CTEST_FILTER"} ${CTEST_LABEL_EXCLUDE:+-LE "$CTEST_LABEL_EXCLUDE"}) 2>&1 |
		tee "$dir/ctest.log"
	set -e
	if [ -f "$dir/Testing/Temporary/LastTest.log" ]; then
		add_counts < <(scripts/count-cases.py ctest "$dir/Testing/Temporary/LastTest.log" "$(basename "$dir"):")
	else
		echo "case: ctest $dir: FAILED" >"$dir/ctest-case.log"
		count_output ctest "$dir/ctest-case.log" 1
	fi
}

lint() {
	local out rc
	out=$(mktemp)
	set +e
	scripts/check-shell.sh >"$out" 2>&1
	rc=$?
	set -e
	grep -v ': ok$' "$out" || true
	count_output shellcheck "$out" $rc
	# the layout of lib/ (docs/architecture.md): one case; then its test, each check a case
	set +e
	scripts/check-layout.sh >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	count_output layout "$out" $rc
	set +e
	tests/layout/test_check_layout.sh >"$out" 2>&1
	rc=$?
	set -e
	grep -v ': ok$' "$out" || true
	count_output layout-test "$out" $rc
	if [ "$FORMAT_MODE" = enforce ]; then
		set +e
		scripts/check-format.sh --enforce >"$out" 2>&1
		rc=$?
		set -e
		grep -v ': ok$' "$out" || true
		count_output format "$out" $rc
	else
		scripts/check-format.sh | tail -n 1
		echo "format: report only (CKPT_FORMAT=report)"
	fi
	set +e
	scripts/check-analyzer.sh >"$out" 2>&1
	rc=$?
	set -e
	grep -v ': ok$' "$out" || true
	count_output analyzer "$out" $rc
	rm -f "$out"
}

abi() {
	local out rc
	out=$(mktemp)
	set +e
	tests/abi/abi-check.sh "$ROOT/build-abi" >"$out" 2>&1
	rc=$?
	set -e
	cat "$out"
	count_output abidiff "$out" $rc
	rm -f "$out"
}

# valgrind memcheck over the plain build's unit, corpus and integration test binaries, each
# Check case counted. Check forks per test, which valgrind would not follow: CK_FORK=no.
# The children (criu, fake-criu) are not traced, nor a fork that never execs (the test's own
# helpers): --child-silent-after-fork. --track-fds is off: criu's fds confuse it. Debian
# testing's valgrind (scripts/provision-valgrind.sh): bookworm's 3.19 lacks pidfd_open.
# Under valgrind posix_spawn cannot report exec's errno (CKPT_UNDER_VALGRIND tells the tests).
run_valgrind() { # build-dir
	local dir=$1 name envs cmd rc log valgrind
	valgrind=$(scripts/provision-valgrind.sh)
	while IFS=$'\x1f' read -r name envs cmd; do
		local -a envv=() argv=()
		[ -n "$envs" ] && IFS=' ' read -r -a envv <<<"$envs"
		IFS=' ' read -r -a argv <<<"$cmd"
		log=$dir/valgrind-$name.log
		set +e
		env CK_FORK=no CK_DEFAULT_TIMEOUT=600 CKPT_UNDER_VALGRIND=1 "${envv[@]}" \
			flock -o "$CKPT_LOCK" timeout 900 \
			"$valgrind" -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect --trace-children=no --child-silent-after-fork=yes \
			"${argv[@]}" >"$log" 2>&1
		rc=$?
		set -e
		if [ $rc -ne 0 ]; then
			echo "valgrind: $name: exit $rc (99 = memcheck errors), log $log"
			grep -E '^==[0-9]+==|[0-9]+%: Checks' "$log" | head -n 20 || true
		fi
		count_output "valgrind:$name" "$log" $rc
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

# libFuzzer: a clang build of fuzz/, each target run ${FUZZ_SECONDS:-30} s (one case each).
run_fuzz() { # build-dir
	local dir=$1 rc
	mkdir -p "$dir"
	cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DCKPT_BUILD_FUZZ=ON -DCKPT_BUILD_TESTS=OFF \
		-DCKPT_BUILD_CLI=OFF -DCKPT_BUILD_EXAMPLES=OFF >/dev/null
	if ! cmake --build "$dir" -j"$JOBS" >"$dir/build.log" 2>&1; then
		echo "case: fuzz build: FAILED" >"$dir/fuzz.log"
		echo "fuzz: the clang build failed, see $dir/build.log"
	else
		set +e
		"$ROOT/fuzz/run.sh" "$dir" "${FUZZ_SECONDS:-30}" >"$dir/fuzz.log" 2>&1
		set -e
		grep -v '^case: .*: ok$' "$dir/fuzz.log" || true
	fi
	rc=0
	grep -q ': FAILED$' "$dir/fuzz.log" && rc=1
	count_output fuzz "$dir/fuzz.log" $rc
}

bullseye() {
	local log=$ROOT/build-bullseye/stage.log rc
	mkdir -p "$ROOT/build-bullseye"
	set +e
	scripts/bullseye.sh >"$log" 2>&1
	rc=$?
	set -e
	grep -E '^bullseye:|^-- Looking for|tests passed|tests failed|error' "$log" || true
	local last=${CKPT_BULLSEYE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/bullseye}/build/Testing/Temporary/LastTest.log
	if [ $rc -eq 0 ] || [ -f "$last" ]; then
		add_counts < <(scripts/count-cases.py ctest "$last" bullseye:)
		# a failure before or after the tests (build, missing tests) is one failed case
		if [ $rc -ne 0 ] && ! grep -q 'tests failed out of' "$log"; then
			echo "case: bullseye: FAILED" >"$log.case"
			count_output bullseye "$log.case" 1
		fi
	else
		echo "case: bullseye: FAILED" >"$log.case"
		tail -n 30 "$log"
		count_output bullseye "$log.case" 1
	fi
}

want lint && stage "lint" lint
want abi && stage "abi (abidiff)" abi
# the default deadlines' cases (30 s each) run in the plain build only
# The plain build's binaries also run under valgrind, which cannot do pidfd_send_signal: they
# carry the test-only fallback (CKPT_VALGRIND_SIGNAL_FALLBACK), unused where the kernel has it.
want plain && CKPT_TEST_SLOW=1 stage "plain build (-Werror)" run_suite "$ROOT/build-test" -DCKPT_BUILD_COMPAT_LIBCRIU=ON \
	-DCKPT_VALGRIND_SIGNAL_FALLBACK=ON
want asan && CTEST_LABEL_EXCLUDE=$HEAVY_LABELS stage "ASan + UBSan build" run_suite "$ROOT/build-asan" \
	-DCKPT_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug -DCKPT_BUILD_COMPAT_LIBCRIU=ON
# ThreadSanitizer over the tests that run threads (8 real dump/restore threads; 8 x 50 against the fake)
want tsan && CTEST_FILTER='unit_transport|unit_lifecycle|unit_channel|unit_migrate|unit_pump|integration_faults|integration_core|integration_failpaths' \
	stage "TSan build (threaded tests)" run_suite "$ROOT/build-tsan" -DCKPT_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
if want valgrind; then
	if ! want plain; then # the plain build's binaries, without running its suite
		cmake -S "$ROOT" -B "$ROOT/build-test" -DCKPT_WERROR=ON -DCKPT_BUILD_COMPAT_LIBCRIU=ON \
			-DCKPT_VALGRIND_SIGNAL_FALLBACK=ON >/dev/null
		cmake --build "$ROOT/build-test" -j"$JOBS" >/dev/null
	fi
	stage "valgrind memcheck" run_valgrind "$ROOT/build-test"
fi
want fuzz && stage "fuzz (${FUZZ_SECONDS:-30} s per target)" run_fuzz "$ROOT/build-fuzz"
want bullseye && stage "bullseye (glibc 2.31)" bullseye

echo "== stage times"
printf '%s\n' "${times[@]}"
echo "total: $SECONDS s"
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
