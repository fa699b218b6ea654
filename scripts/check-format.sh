#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The committed .clang-format over the C sources: clang-format --dry-run -Werror on each file
# of lib/ cli/ compat/ include/ examples/ tests/ fuzz/ and bench/*.c.
#   scripts/check-format.sh            report: "format: FILE: N lines differ" per file, exit 0
#   scripts/check-format.sh --enforce  one "case: format:FILE: ok|FAILED" line per file, and
#                                      exit 1 if any differs
#   scripts/check-format.sh --fix      reformat the files in place
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
mode=${1:-report}
command -v clang-format >/dev/null || { echo "check-format: clang-format missing (scripts/deps.sh)" >&2; exit 2; }

files() {
	git ls-files --cached --others --exclude-standard -- \
		'lib/*.[ch]' 'cli/*.[ch]' 'compat/*.[ch]' 'include/*.h' 'examples/*.[ch]' \
		'tests/*.[ch]' 'tests/*.cpp' 'fuzz/*.[ch]' 'bench/*.c' |
		while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done
}

failed=0 differ=0 total=0
while IFS= read -r f; do
	total=$((total + 1))
	if [ "$mode" = --fix ]; then
		clang-format -i "$f"
		continue
	fi
	if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		[ "$mode" = --enforce ] && echo "case: format:$f: ok"
		continue
	fi
	differ=$((differ + 1))
	n=$(clang-format "$f" | diff "$f" - | grep -c '^>')
	if [ "$mode" = --enforce ]; then
		echo "case: format:$f: FAILED"
		clang-format --dry-run "$f" 2>&1 | head -n 12 | sed 's/^/  /'
		failed=1
	else
		echo "format: $f: $n lines differ"
	fi
done < <(files)
[ "$mode" = --fix ] && { echo "format: reformatted $total files"; exit 0; }
echo "format: $differ of $total files differ from .clang-format"
exit $failed
