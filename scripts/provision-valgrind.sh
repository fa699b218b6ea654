#!/usr/bin/env bash
# A valgrind that knows pidfd_open (3.20 and later): bookworm's 3.19 fails the
# syscall (ENOSYS), and libckpt refuses to handle criu without a pidfd.
# Debian testing's valgrind is unpacked into a private prefix (its tools are
# static, its preload libraries need no newer glibc); nothing is installed and
# the system's apt setup is left alone. Prints the path of a wrapper that runs it.
#
#   scripts/provision-valgrind.sh [--prefix DIR]   (default: ~/.cache/libckpt/valgrind)
set -euo pipefail

# shellcheck source=debian-testing.sh
. "$(dirname "$0")/debian-testing.sh"
PREFIX=${CKPT_VALGRIND_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/valgrind}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "provision-valgrind: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

# 3.20 or newer: the system's, or the one in the prefix.
new_enough() {
	local maj min
	read -r maj min < <("$1" --version 2>/dev/null | sed -n 's/^valgrind-\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "${maj:-}" ] || return 1
	[ "$maj" -gt 3 ] || { [ "$maj" -eq 3 ] && [ "$min" -ge 20 ]; }
}
for cand in "$PREFIX/bin/valgrind" "$(command -v valgrind 2>/dev/null || true)"; do
	if [ -n "$cand" ] && new_enough "$cand"; then
		echo "$cand"
		exit 0
	fi
done

echo "provision-valgrind: fetching valgrind from Debian $DEBIAN_SUITE into $PREFIX" >&2
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
debian_apt_init "$PREFIX/apt"
debian_download "$PREFIX/apt" valgrind
dpkg-deb -x "$PREFIX"/apt/debs/valgrind_*.deb "$PREFIX/root"
mkdir -p "$PREFIX/bin"
cat >"$PREFIX/bin/valgrind" <<W
#!/bin/sh
# valgrind from Debian $DEBIAN_SUITE (see scripts/provision-valgrind.sh).
VALGRIND_LIB="$PREFIX/root/usr/libexec/valgrind" exec "$PREFIX/root/usr/bin/valgrind" "\$@"
W
chmod +x "$PREFIX/bin/valgrind"
new_enough "$PREFIX/bin/valgrind" || { echo "provision-valgrind: $PREFIX/bin/valgrind does not run" >&2; exit 1; }
echo "$PREFIX/bin/valgrind"
