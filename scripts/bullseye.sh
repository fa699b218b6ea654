#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build libckpt against glibc 2.31 and run its unit tests there (no CRIU needed): a Debian
# bullseye root made with debootstrap from the mirror of the system's apt sources, with the
# build dependencies inside, cached in ~/.cache/libckpt/bullseye (remade when the package list
# below changes, or with --fresh). The source is copied in (git's files, as in the worktree);
# the build runs in a private mount and pid namespace with its own /proc, so nothing stays
# mounted. The tests' log is left in ROOT/build/Testing/Temporary/LastTest.log.
#
#   scripts/bullseye.sh [--fresh]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${CKPT_BULLSEYE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/bullseye}
SUITE=bullseye
# What the library and its unit tests build with (scripts/deps.sh, less what needs no root).
PKGS=build-essential,cmake,pkg-config,libprotobuf-c-dev,protobuf-c-compiler,libjson-c-dev,libnl-3-dev,libnl-route-3-dev,check,libgnutls28-dev,libarchive-dev,libzstd-dev,gnutls-bin
# Built and run: the library, its examples and unit tests, the header and symbol checks. Not
# the CLI (it sees only the public API, and calls strerrordesc_np itself) nor anything that
# needs criu.
TESTS='^(unit_|abi_symbols$|abi_header_)|_corpus$'

log() { echo "bullseye: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, chroot)"; exit 2; }
command -v debootstrap >/dev/null || { log "debootstrap missing (scripts/deps.sh installs it)"; exit 2; }

# shellcheck source=debian-testing.sh
. scripts/debian-testing.sh
stamp="$SUITE $DEBIAN_MIRROR $PKGS"
if [ "${1:-}" = --fresh ] || [ "$(cat "$ROOT/.ckpt-stamp" 2>/dev/null)" != "$stamp" ]; then
	log "making the $SUITE root in $ROOT from $DEBIAN_MIRROR"
	t0=$SECONDS
	rm -rf "$ROOT.new"
	mkdir -p "$(dirname "$ROOT")"
	if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOT.new" "$DEBIAN_MIRROR" \
		>"$ROOT.log" 2>&1; then
		log "debootstrap failed; the end of $ROOT.log:"
		tail -n 20 "$ROOT.log" >&2
		exit 1
	fi
	echo "$stamp" >"$ROOT.new/.ckpt-stamp"
	rm -rf "$ROOT"
	mv "$ROOT.new" "$ROOT"
	log "root made in $((SECONDS - t0)) s"
else
	log "using the cached root $ROOT"
fi
# What every installed system has and debootstrap leaves out (tests read /etc/hosts).
[ -e "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$ROOT/etc/hosts"
log "$(chroot "$ROOT" ldd --version | head -n1)"

# A fresh copy of the source: what git tracks, plus what is not yet committed.
rm -rf "$ROOT/src" "$ROOT/build"
mkdir -p "$ROOT/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$ROOT/src"

# The build and the tests, as an unprivileged user would run them but as root (the unit tests
# need no privilege); -Werror, so gcc 10 and glibc 2.31 headers warn nowhere.
unshare --mount --pid --fork --mount-proc="$ROOT/proc" \
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	/bin/sh -ec "
		cmake -S /src -B /build -DCKPT_WERROR=ON -DCKPT_BUILD_CLI=OFF >/build.log 2>&1 ||
			{ tail -n 30 /build.log; exit 1; }
		grep -E '^-- Looking for (posix_spawn_file_actions_addclosefrom_np|strerrordesc_np) - ' /build.log
		cmake --build /build -j$(nproc) >>/build.log 2>&1 || { grep -E -A3 'error|warning' /build.log | head -n 60; exit 1; }
		cd /build && ctest --output-on-failure -j1 --timeout 600 -R '$TESTS'
	"
