#!/usr/bin/env bash
# Find checkpointctl, or provision Debian trixie's checkpointctl (1.3.0) into a
# private prefix with trixie's libc6 unpacked beside it (it is built against
# that libc), without touching the system's apt setup or its libc. Prints the
# path of a checkpointctl executable on stdout.
#
#   scripts/provision-checkpointctl.sh [--prefix DIR]
#       (default: $CKPT_CHECKPOINTCTL_PREFIX or ~/.cache/libckpt/checkpointctl)
#
# PREFIX/bin/checkpointctl is a wrapper that runs it through trixie's loader.
set -euo pipefail

# shellcheck source=debian-testing.sh
. "$(dirname "$0")/debian-testing.sh"
DEBIAN_SUITE=${CKPT_CHECKPOINTCTL_SUITE:-trixie}
PREFIX=${CKPT_CHECKPOINTCTL_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/checkpointctl}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "provision-checkpointctl: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

log() { echo "provision-checkpointctl: $*" >&2; }

ok() { [ -x "$1" ] && [[ "$("$1" --help 2>/dev/null)" == *"checkpoint archives"* ]]; }

for cand in "${CKPT_CHECKPOINTCTL:-}" "$PREFIX/bin/checkpointctl" "$(command -v checkpointctl 2>/dev/null || true)"; do
	[ -n "$cand" ] || continue
	if ok "$cand"; then
		echo "$cand"
		exit 0
	fi
done

command -v apt-get >/dev/null || { log "no apt-get: install checkpointctl and set CKPT_CHECKPOINTCTL"; exit 3; }
log "provisioning checkpointctl from Debian $DEBIAN_SUITE into $PREFIX"
APT=$PREFIX/apt
rm -rf "$PREFIX/root.new"
mkdir -p "$PREFIX/root.new"
debian_apt_init "$APT"
debian_download "$APT" checkpointctl libc6
for deb in "$APT/debs"/*.deb; do
	dpkg-deb -x "$deb" "$PREFIX/root.new"
done
dpkg-deb -f "$APT"/debs/checkpointctl_*.deb Version >"$PREFIX/root.new/VERSION"
rm -rf "$PREFIX/root"
mv "$PREFIX/root.new" "$PREFIX/root"
R=$PREFIX/root
mkdir -p "$PREFIX/bin"
cat >"$PREFIX/bin/checkpointctl.new" <<WRAP
#!/bin/sh
# checkpointctl from Debian $DEBIAN_SUITE, run through its own libc's loader
# (see scripts/provision-checkpointctl.sh).
exec "$R/usr/lib64/ld-linux-x86-64.so.2" --argv0 checkpointctl --library-path "$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu" "$R/usr/bin/checkpointctl" "\$@"
WRAP
chmod 0755 "$PREFIX/bin/checkpointctl.new"
mv "$PREFIX/bin/checkpointctl.new" "$PREFIX/bin/checkpointctl"
rm -rf "$APT/debs" "$APT/cache"
if ! ok "$PREFIX/bin/checkpointctl"; then
	log "the provisioned checkpointctl does not run:"
	"$PREFIX/bin/checkpointctl" --help >&2 || true
	exit 3
fi
log "checkpointctl $(cat "$R/VERSION") at $PREFIX/bin/checkpointctl"
echo "$PREFIX/bin/checkpointctl"
