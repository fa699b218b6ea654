#!/usr/bin/env bash
# The main job for a newcomer: install what is needed, build, and checkpoint a
# real running counter process, restore it, and show that it carries on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
CKPT_CRIU=$(scripts/provision-criu.sh)
export CKPT_CRIU
BUILD=${BUILD:-build}
# The build remembers this CRIU (CKPT_CRIU_DEFAULT): build/cli/ckpt, and the ckpt that
# `cmake --install build` puts on the PATH, find it with no variable set. A fresh build dir
# leaves the tests out (scripts/test.sh builds its own), so `cmake --install build` has all it
# installs.
fresh=()
[ -f "$BUILD/CMakeCache.txt" ] || fresh=(-DCKPT_BUILD_TESTS=OFF)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_CRIU_DEFAULT="$CKPT_CRIU" "${fresh[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
echo "== examples/dump_restore.c (libckpt API), criu: $CKPT_CRIU"
"$BUILD/examples/example_dump_restore"
