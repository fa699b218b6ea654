#!/usr/bin/env bash
# Install the Debian packages libckpt builds and tests with (only the missing ones).
set -euo pipefail
PKGS=(build-essential cmake pkg-config git
	libprotobuf-c-dev protobuf-c-compiler libjson-c-dev libnl-3-dev libnl-route-3-dev libgnutls28-dev gnutls-bin libarchive-dev libzstd-dev check
	clang libclang-rt-14-dev valgrind python3 util-linux iproute2 procps busybox-static nftables
	libunistring-dev libacl1-dev liblz4-dev abigail-tools debootstrap shellcheck clang-format groff-base man-db
	zsh fish)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
