#!/usr/bin/env bash
# Run every libFuzzer target of a -DCKPT_BUILD_FUZZ=ON build for SECONDS each.
#   fuzz/run.sh BUILD_DIR [SECONDS]     (default 60)
# Each target starts from a copy of fuzz/corpus/<target> (the seeds stay
# untouched), with -max_total_time, -rss_limit_mb=1024 and -max_len=65536.
# Crashes go to BUILD_DIR/fuzz-artifacts/<target>/. Prints per target its runs
# and rate, then "case: fuzz:<target>: ok|FAILED", and exits non-zero if any
# target crashed, leaked, timed out or could not run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
SECS=${2:-60}
TARGETS=(fuzz_resp_decode fuzz_addr fuzz_nsname fuzz_oci_config fuzz_images fuzz_diagnose fuzz_channel)
fail=0
for t in "${TARGETS[@]}"; do
	bin=$BUILD/fuzz/$t
	work=$BUILD/fuzz-work/$t
	art=$BUILD/fuzz-artifacts/$t/
	log=$BUILD/fuzz-work/$t.log
	rm -rf "$work"
	mkdir -p "$work" "$art"
	if [ ! -x "$bin" ]; then
		echo "fuzz: $t: no $bin"
		echo "case: fuzz:$t: FAILED"
		fail=1
		continue
	fi
	cp -r "$HERE/corpus/$t/." "$work/" 2>/dev/null || true
	"$bin" -max_total_time="$SECS" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$art" "$work" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	if [ $rc -eq 0 ]; then
		echo "fuzz: $t: ${runs:-?} runs, ${rate:-?} exec/s"
		echo "case: fuzz:$t: ok"
	else
		echo "fuzz: $t: exit $rc, ${runs:-?} runs; log $log, artifacts $art"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5
		echo "case: fuzz:$t: FAILED"
		fail=1
	fi
done
exit $fail
