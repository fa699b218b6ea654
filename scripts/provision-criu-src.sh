#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CRIU's upstream source as Debian ships it (the orig tarball of Debian testing's criu
# source package), fetched with apt's source machinery and a private configuration
# (scripts/debian-testing.sh), unpacked into a private cache. Prints the source tree
# (with test/others/libcriu and test/zdtm) on stdout.
#
#   scripts/provision-criu-src.sh [--prefix DIR] [--version V]
#        (default: $CKPT_CRIU_SRC_PREFIX or ~/.cache/libckpt/criu-src; V: $CKPT_CRIU_SRC_VERSION or 4.2.1)
#
# The mirror serves the source package's .dsc and .orig.tar.xz, not its
# .debian.tar.xz, so `apt-get source` cannot complete: the script takes the URIs
# and SHA256 sums from `apt-get source --print-uris` (the signed source index),
# downloads the .dsc and the orig tarball with apt's own downloader
# (apt-helper download-file, which checks those sums) and checks the tarball
# once more against the .dsc's Checksums-Sha256.
set -euo pipefail

# shellcheck source=debian-testing.sh
. "$(dirname "$0")/debian-testing.sh"
PREFIX=${CKPT_CRIU_SRC_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/criu-src}
VERSION=${CKPT_CRIU_SRC_VERSION:-4.2.1}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	--version) VERSION=$2; shift 2 ;;
	-h|--help) sed -n '3,16p' "$0"; exit 0 ;;
	*) echo "provision-criu-src: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
log() { echo "provision-criu-src: $*" >&2; }
die() { log "$*"; exit 3; }

SRC=$PREFIX/criu-$VERSION
if [ -d "$SRC/test/others/libcriu" ] && [ -d "$SRC/test/zdtm" ] && [ -e "$SRC/.ckpt-verified" ]; then
	echo "$SRC"
	exit 0
fi

HELPER=/usr/lib/apt/apt-helper
[ -x "$HELPER" ] || die "$HELPER missing (package apt): it downloads the source files"
log "fetching criu $VERSION's source from Debian $DEBIAN_SUITE ($DEBIAN_MIRROR) into $PREFIX"
APT=$PREFIX/apt
debian_apt_init "$APT" deb-src || exit 3

# 'URI' NAME SIZE SHA256:HEX lines of the newest source package with upstream VERSION.
uris=$(apt-get "${aptopts[@]}" -qq source --print-uris criu 2>/dev/null | grep "^'") ||
	die "apt-get source --print-uris criu: no criu source package in $DEBIAN_SUITE"
dsc_line=$(grep -E "[[:space:]]criu_${VERSION//./\\.}-[^ ]*\.dsc " <<<"$uris" | head -n1) ||
	die "Debian $DEBIAN_SUITE has no criu source package of upstream version $VERSION; it has: " \
		"$(grep -o 'criu_[^ ]*\.dsc' <<<"$uris" | head -n1)"
orig_line=$(grep -E "[[:space:]]criu_${VERSION//./\\.}\.orig\.tar\.(xz|gz|bz2) " <<<"$uris" | head -n1) ||
	die "the criu $VERSION source package lists no orig tarball"

# fetch LINE: downloads the file named in a --print-uris line into $APT/src, checking its sum.
fetch() {
	local uri name _size sum
	read -r uri name _size sum <<<"$1"
	uri=${uri//\'/}
	mkdir -p "$APT/src"
	"$HELPER" "${aptopts[@]}" download-file "$uri" "$APT/src/$name" "$sum" >&2 ||
		die "download of $uri failed (or its $sum did not match)"
	echo "$APT/src/$name"
}
dsc=$(fetch "$dsc_line")
orig=$(fetch "$orig_line")
oname=$(basename "$orig")

# The orig tarball against the .dsc's own Checksums-Sha256 entry.
want=$(awk -v n="$oname" '/^Checksums-Sha256:/ {s = 1; next} /^[^ ]/ {s = 0} s && $3 == n {print $1}' "$dsc")
[ -n "$want" ] || die "$dsc has no Checksums-Sha256 entry for $oname"
have=$(sha256sum "$orig" | cut -d' ' -f1)
[ "$have" = "$want" ] || die "$oname: sha256 $have, but $dsc says $want"
log "$oname: sha256 $have matches $(basename "$dsc")"

rm -rf "$PREFIX/unpack"
mkdir -p "$PREFIX/unpack"
tar -xf "$orig" -C "$PREFIX/unpack"
top=$(find "$PREFIX/unpack" -mindepth 1 -maxdepth 1 -type d | head -n1)
if [ -z "$top" ] || [ ! -d "$top/test/others/libcriu" ] || [ ! -d "$top/test/zdtm" ]; then
	die "$oname holds no test/others/libcriu and test/zdtm"
fi
printf '%s %s\n' "$have" "$oname" >"$top/.ckpt-verified"
rm -rf "$SRC"
mv "$top" "$SRC"
rm -rf "$PREFIX/unpack" "$APT"
log "criu $VERSION source in $SRC"
echo "$SRC"
