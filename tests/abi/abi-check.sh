#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ABI of libckpt.so against the committed baseline, tests/abi/libckpt.abi (abidw output):
#   tests/abi/abi-check.sh [BUILD_DIR]            compare; fails on any change but additions
#   tests/abi/abi-check.sh --update [BUILD_DIR]   regenerate the baseline, on purpose
# The library is built with debug info in BUILD_DIR (default build-abi), and its ABI is
# taken with abidw over the public headers only (include/ckpt), so internal structs never
# count. abidiff then fails on a removed or changed function or type of a stable node; added
# functions pass (check-symbols.sh sees that they are listed in their release's node), and
# the experimental node is ignored (tests/abi/libckpt.abignore).
#
# Regenerate the baseline when a change is intended: an ABI break goes with a SONAME bump
# (CKPT_SOVERSION) and a NEWS entry; at a release, regenerate so that the release's additions
# are part of what later changes are compared with. Commit the new libckpt.abi with it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
update=
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
build=${1:-$root/build-abi}
baseline=$here/libckpt.abi
suppr=$here/libckpt.abignore
for t in abidw abidiff; do
	command -v "$t" >/dev/null || { echo "abi: $t missing (Debian: abigail-tools)" >&2; exit 2; }
done

mkdir -p "$build"
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_BUILD_TESTS=OFF \
	-DCKPT_BUILD_CLI=OFF -DCKPT_BUILD_EXAMPLES=OFF &&
	cmake --build "$build" --target ckpt -j"$(nproc)"; } >"$build/abi-check.log" 2>&1; then
	echo "case: abi_abidiff: FAILED"
	echo "  the build failed, see $build/abi-check.log"
	exit 1
fi
so=$(readlink -f "$build/lib/libckpt.so")
current=$(mktemp /tmp/libckpt-abi-XXXXXX)
trap 'rm -f "$current"' EXIT
# Locations, paths and type ids are left out so the file depends on the ABI alone.
abidw --headers-dir "$root/include/ckpt" --drop-private-types --exported-interfaces-only \
	--no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
	--out-file "$current" "$so" || { echo "case: abi_abidiff: FAILED"; echo "  abidw failed on $so"; exit 1; }

if [ -n "$update" ]; then
	if [ -f "$baseline" ]; then
		echo "abi: changes from the old baseline:"
		abidiff --no-show-locs "$baseline" "$current" | sed 's/^/  /'
	fi
	cp "$current" "$baseline"
	echo "abi: wrote $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols); commit it with the change"
	exit 0
fi

[ -f "$baseline" ] || { echo "case: abi_abidiff: FAILED"; echo "  no baseline $baseline: run $0 --update"; exit 1; }
soname() { sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$1" | head -n1; }
if [ "$(soname "$baseline")" != "$(soname "$current")" ]; then
	echo "case: abi_abidiff: FAILED"
	echo "  the SONAME changed ($(soname "$baseline") -> $(soname "$current")): an intended break;"
	echo "  regenerate the baseline with $0 --update and commit it"
	exit 1
fi
report=$(abidiff --no-added-syms --no-show-locs --suppressions "$suppr" "$baseline" "$current")
rc=$?
if [ $rc -eq 0 ]; then
	echo "case: abi_abidiff: ok"
	added=$(abidiff --no-show-locs --suppressions "$suppr" "$baseline" "$current" | grep "^  \[A\]")
	[ -z "$added" ] || { echo "abi: added since the baseline:"; echo "$added"; }
	exit 0
fi
echo "case: abi_abidiff: FAILED"
# abidiff's exit status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible change
[ $((rc & 3)) -ne 0 ] && echo "  abidiff failed (exit $rc)"
[ $((rc & 8)) -ne 0 ] && echo "  an incompatible change (a removed function or variable)"
[ $((rc & 4)) -ne 0 ] && echo "  an ABI change: if intended, bump CKPT_SOVERSION (or show it is compatible) and run $0 --update"
while IFS= read -r line; do echo "  $line"; done <<<"$report"
exit 1
