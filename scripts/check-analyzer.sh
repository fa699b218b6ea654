#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# gcc -fanalyzer over the code libckpt ships (lib/, cli/, compat/, examples/): a full build in
# BUILD_DIR (default build-analyzer) with the analyzer on; one "case: analyzer:FILE: ok|FAILED"
# line per source file or header (a finding in an inline function of a header is reported
# there), its findings under a failed one. Zero findings is the rule; a false
# positive is suppressed only where it is reported, with a comment saying why.
#   scripts/check-analyzer.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
build=${1:-$root/build-analyzer}
mkdir -p "$build"
log=$build/analyzer.log
# Not the tests (they are not shipped); the generated protobuf-c code is analyzed too, and
# counted with the library.
if ! { cmake -S "$root" -B "$build" -DCMAKE_C_FLAGS=-fanalyzer -DCKPT_BUILD_TESTS=OFF \
	-DCKPT_BUILD_COMPAT_LIBCRIU=ON -DCKPT_BUILD_EXAMPLES=ON &&
	cmake --build "$build" --clean-first -j"$(nproc)"; } >"$log" 2>&1; then
	echo "case: analyzer:build: FAILED"
	grep -E 'error' "$log" | head -n 20 | sed 's/^/  /'
	exit 1
fi

# "FILE:LINE:COL: warning: ... [-Wanalyzer-...]" lines, by file relative to the tree
findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning: .*\[-Wanalyzer-' "$log" | sort -u |
	sed "s|^$root/||; s|^$build/|(build)/|")
failed=0
while IFS= read -r f; do
	mine=$(grep -F "$f:" <<<"$findings")
	if [ -z "$mine" ]; then
		echo "case: analyzer:$f: ok"
	else
		echo "case: analyzer:$f: FAILED"
		while IFS= read -r line; do echo "  $line"; done <<<"$mine"
		failed=1
	fi
done < <(git ls-files -- 'lib/*.[ch]' 'cli/*.[ch]' 'compat/*.[ch]' 'examples/*.[ch]')
other=$(grep -v -E '^(lib|cli|compat|examples)/' <<<"$findings" | grep .)
if [ -n "$other" ]; then
	echo "case: analyzer:generated: FAILED"
	while IFS= read -r line; do echo "  $line"; done <<<"$other"
	failed=1
fi
echo "analyzer: $(grep -c . <<<"$findings") findings, full log $log"
exit $failed
