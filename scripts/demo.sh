#!/usr/bin/env bash
# The main job for a newcomer: install what is needed, build, and checkpoint a
# real running counter process, restore it, and show that it carries on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
CKPT_CRIU=$(scripts/provision-criu.sh)
export CKPT_CRIU
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target example_dump_restore ckpt_cli >/dev/null
echo "== examples/dump_restore.c (libckpt API), criu: $CKPT_CRIU"
"$BUILD/examples/example_dump_restore"
