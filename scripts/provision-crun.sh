#!/usr/bin/env bash
# Provision crun 1.28 and Debian's real libcriu2 (4.2.1) from Debian testing into
# a private prefix, the same way scripts/provision-criu.sh provisions CRIU: a
# private apt configuration, `apt-get download`, `dpkg-deb -x`; the system's
# apt setup and libc are left alone. crun needs glibc >= 2.38, so it runs
# through the testing loader of the CRIU prefix (see ../shared/runtimes.md).
#
#   scripts/provision-crun.sh [--prefix DIR]   (default: $CKPT_CRUN_PREFIX or ~/.cache/libckpt/crun)
#
# Prints shell assignments on stdout (eval them):
#   CKPT_CRUN_BIN       crun executable (run it through CKPT_CRUN_LOADER)
#   CKPT_CRUN_LIBDIR    crun's testing-only libraries
#   CKPT_CRIU_LOADER    the testing ld-linux-x86-64.so.2
#   CKPT_CRIU_LIBDIR    the CRIU prefix's libraries (libprotobuf-c.so.1, testing libc)
#   CKPT_LIBCRIU_DEBIAN_DIR  directory holding Debian's libcriu.so.2
#   CKPT_CRIU           the criu wrapper
set -euo pipefail

# shellcheck source=debian-testing.sh
. "$(dirname "$0")/debian-testing.sh"
SUITE=$DEBIAN_SUITE
PREFIX=${CKPT_CRUN_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/crun}
HERE=$(cd "$(dirname "$0")" && pwd)

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "provision-crun: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

log() { echo "provision-crun: $*" >&2; }

CRIU=$("$HERE/provision-criu.sh")
# The CRIU prefix: the wrapper is PREFIX/bin/criu and execs PREFIX/root/usr/lib64/ld-linux...
CRIU_ROOT=$(sed -n 's/^exec "\([^"]*\)\/usr\/lib64\/ld-linux-x86-64.so.2".*/\1/p' "$CRIU")
if [ -z "$CRIU_ROOT" ] || [ ! -x "$CRIU_ROOT/usr/lib64/ld-linux-x86-64.so.2" ]; then
	log "$CRIU is not the private-prefix wrapper of provision-criu.sh; set CKPT_CRIU_PREFIX"
	exit 3
fi

R=$PREFIX/root
if [ ! -x "$R/usr/bin/crun" ] || [ -z "$(find "$R/libcriu" -name libcriu.so.2 2>/dev/null)" ]; then
	log "provisioning crun and libcriu2 from Debian $SUITE into $PREFIX"
	APT=$PREFIX/apt
	rm -rf "$PREFIX/root.new"
	mkdir -p "$PREFIX/root.new"
	debian_apt_init "$APT" || exit 3
	# crun's libraries beyond bookworm's (../shared/runtimes.md), and Debian's libcriu.
	debian_download "$APT" crun libblake3-0 libjson-c5 libseccomp2 libsystemd0 libcap2 libcriu2
	for deb in "$APT/debs"/*.deb; do
		case $deb in
		*/libcriu2_*) mkdir -p "$PREFIX/root.new/libcriu" && dpkg-deb -x "$deb" "$PREFIX/root.new/libcriu" ;;
		*) dpkg-deb -x "$deb" "$PREFIX/root.new" ;;
		esac
	done
	# Keep libcriu out of crun's own library dir: the caller chooses which one crun gets.
	mkdir -p "$PREFIX/root.new/usr/lib/x86_64-linux-gnu"
	rm -rf "$PREFIX/root"
	mv "$PREFIX/root.new" "$PREFIX/root"
	rm -rf "$APT/debs" "$APT/cache"
fi
LIBCRIU_DIR=$(dirname "$(find "$R/libcriu" -name 'libcriu.so.2' | head -n1)")
[ -e "$LIBCRIU_DIR/libcriu.so.2" ] || { log "libcriu.so.2 missing under $R/libcriu"; exit 3; }
LOADER=$CRIU_ROOT/usr/lib64/ld-linux-x86-64.so.2
CRIU_LIBDIR=$CRIU_ROOT/usr/lib/x86_64-linux-gnu:$CRIU_ROOT/lib/x86_64-linux-gnu
v=$("$LOADER" --library-path "$R/usr/lib/x86_64-linux-gnu:$CRIU_LIBDIR" "$R/usr/bin/crun" --version | head -n1)
log "$v at $R/usr/bin/crun; Debian's libcriu.so.2 in $LIBCRIU_DIR"
printf 'CKPT_CRUN_BIN=%q\n' "$R/usr/bin/crun"
printf 'CKPT_CRUN_LIBDIR=%q\n' "$R/usr/lib/x86_64-linux-gnu"
printf 'CKPT_CRIU_LOADER=%q\n' "$LOADER"
printf 'CKPT_CRIU_LIBDIR=%q\n' "$CRIU_LIBDIR"
printf 'CKPT_LIBCRIU_DEBIAN_DIR=%q\n' "$LIBCRIU_DIR"
printf 'CKPT_CRIU=%q\n' "$CRIU"
