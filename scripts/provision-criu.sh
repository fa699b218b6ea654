#!/usr/bin/env bash
# Find a working CRIU (>= 4.2 and `criu check` passes) or provision CRIU from
# Debian testing into a private prefix, without touching the system's apt
# configuration or its libc. Prints the path of a criu executable on stdout.
#
#   scripts/provision-criu.sh [--prefix DIR]     (default: $CKPT_CRIU_PREFIX or ~/.cache/libckpt/criu)
#
# The private prefix holds forky's criu and every library it needs; a small
# wrapper, PREFIX/bin/criu, runs it through forky's own dynamic loader.
set -euo pipefail

# shellcheck source=debian-testing.sh
. "$(dirname "$0")/debian-testing.sh"
SUITE=$DEBIAN_SUITE
PREFIX=${CKPT_CRIU_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/libckpt/criu}
MIN_VERSION=40200   # 4.2.0

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "provision-criu: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

log() { echo "provision-criu: $*" >&2; }

# criu_ok PATH: version >= MIN_VERSION and `criu check` passes.
criu_ok() {
	local c=$1 v maj min sub
	[ -x "$c" ] || return 1
	v=$("$c" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1)
	[ -n "$v" ] || return 1
	IFS=. read -r maj min sub <<<"$v"
	sub=${sub:-0}
	[ $((maj * 10000 + min * 100 + sub)) -ge $MIN_VERSION ] || { log "$c is $v, need >= 4.2"; return 1; }
	"$c" check >/dev/null 2>&1 || { log "$c ($v): 'criu check' fails"; return 1; }
	return 0
}

# 1. An explicit choice, or one on PATH, that works.
for cand in "${CKPT_CRIU:-}" "$PREFIX/bin/criu" "$(command -v criu 2>/dev/null || true)"; do
	[ -n "$cand" ] || continue
	if criu_ok "$cand"; then
		echo "$cand"
		exit 0
	fi
done

# 2. Provision from Debian testing into the private prefix.
command -v apt-get >/dev/null || { log "no apt-get: install CRIU >= 4.2 and set CKPT_CRIU"; exit 3; }
log "provisioning CRIU from Debian $SUITE into $PREFIX"
APT=$PREFIX/apt
rm -rf "$PREFIX/root.new"
mkdir -p "$PREFIX/root.new"
debian_apt_init "$APT"
# criu and everything it depends on (recursively, no recommends), real packages only.
mapfile -t pkgs < <(apt-cache "${aptopts[@]}" depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances criu |
	grep -v '^ ' | grep -v '^<' | sed 's/:amd64$//' | sort -u)
log "downloading ${#pkgs[@]} packages"
debian_download "$APT" "${pkgs[@]}"
for deb in "$APT/debs"/*.deb; do
	dpkg-deb -x "$deb" "$PREFIX/root.new"
done
rm -rf "$PREFIX/root"
mv "$PREFIX/root.new" "$PREFIX/root"
R=$PREFIX/root
mkdir -p "$PREFIX/bin"
cat >"$PREFIX/bin/criu.new" <<WRAP
#!/bin/sh
# CRIU from Debian $SUITE, run through its own loader (see scripts/provision-criu.sh).
exec "$R/usr/lib64/ld-linux-x86-64.so.2" --library-path "$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu" "$R/usr/sbin/criu" "\$@"
WRAP
chmod 0755 "$PREFIX/bin/criu.new"
mv "$PREFIX/bin/criu.new" "$PREFIX/bin/criu"
rm -rf "$APT/debs" "$APT/cache"
if ! criu_ok "$PREFIX/bin/criu"; then
	log "the provisioned criu does not pass 'criu check':"
	"$PREFIX/bin/criu" check >&2 || true
	exit 3
fi
log "$("$PREFIX/bin/criu" --version | head -n1) at $PREFIX/bin/criu: criu check says Looks good"
echo "$PREFIX/bin/criu"
