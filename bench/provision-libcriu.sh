#!/usr/bin/env bash
# Fetch libcriu2 + libcriu-dev from the same Debian release as the CRIU in use
# (testing, "forky": 4.2.1) into a private prefix, with a private apt config
# (the technique of scripts/provision-criu.sh); the system's apt setup is left
# alone. Prints the prefix root (with usr/include/criu/criu.h and
# usr/lib/x86_64-linux-gnu/libcriu.so.2) on stdout.
#
#   bench/provision-libcriu.sh [--prefix DIR]   (default: ~/.cache/libckpt/libcriu)
set -euo pipefail

# shellcheck source=../scripts/debian-testing.sh
. "$(dirname "$0")/../scripts/debian-testing.sh"
SUITE=$DEBIAN_SUITE
PREFIX=${CKPT_LIBCRIU_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/libcriu}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	*) echo "provision-libcriu: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
log() { echo "provision-libcriu: $*" >&2; }

R=$PREFIX/root
if [ -e "$R/usr/include/criu/criu.h" ] && [ -e "$R/usr/lib/x86_64-linux-gnu/libcriu.so.2" ]; then
	echo "$R"
	exit 0
fi
log "fetching libcriu2 and libcriu-dev from Debian $SUITE into $PREFIX"
APT=$PREFIX/apt
rm -rf "$PREFIX/root.new"
mkdir -p "$PREFIX/root.new"
debian_apt_init "$APT" || exit 3
# Only the two packages: libcriu.so.2 needs libc and libprotobuf-c.so.1, both on bookworm.
debian_download "$APT" libcriu2 libcriu-dev
for deb in "$APT/debs"/*.deb; do
	dpkg-deb -x "$deb" "$PREFIX/root.new"
done
rm -rf "$R"
mv "$PREFIX/root.new" "$R"
rm -rf "$APT"
[ -e "$R/usr/include/criu/criu.h" ] || { log "no criu.h in libcriu-dev"; exit 3; }
echo "$R"
