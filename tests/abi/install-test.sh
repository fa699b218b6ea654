#!/bin/bash
# Install into a temporary prefix, then build a program outside the tree with
# pkg-config and with CMake find_package(libckpt), and run it against real criu.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/ckpt-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n1)
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir
# 1. pkg-config
cc -o "$tmp/consumer-pc" "$src/consumer.c" $(pkg-config --cflags --libs libckpt)
"$tmp/consumer-pc"
# the static library, with the private requirements
cc -o "$tmp/consumer-static" "$src/consumer.c" $(pkg-config --cflags libckpt) "$libdir/libckpt.a" \
	$(pkg-config --libs libprotobuf-c json-c libnl-3.0 libnl-route-3.0 gnutls)
"$tmp/consumer-static"
# 2. CMake find_package
cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
"$tmp/cm/consumer"
[ -f "$tmp/prefix/include/ckpt/ckpt.h" ] && [ -f "$tmp/prefix/include/ckpt/version.h" ]
echo "ok: installed, built with pkg-config (shared and static) and find_package, ran"
