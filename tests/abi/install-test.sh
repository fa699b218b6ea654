#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install into a temporary prefix, then build a program outside the tree against it, with
# pkg-config and with CMake find_package, shared and static, and run it against real criu;
# run the installed ckpt from that prefix, and from a copy moved elsewhere, without
# LD_LIBRARY_PATH; check the headers and man pages are there.
#   install-test.sh BUILD_DIR CONSUMER_SRC_DIR
# One "case: NAME: ok|FAILED" line per check.
# shellcheck disable=SC2317 # the check functions are called through check()
set -uo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/ckpt-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() { # name command...: runs it, output in $tmp/NAME.log
	local name=$1
	shift
	if "$@" >"$tmp/$name.log" 2>&1; then
		echo "case: $name: ok"
	else
		echo "case: $name: FAILED"
		sed 's/^/  /' "$tmp/$name.log" | tail -n 20
		failed=1
	fi
}

prefix=$tmp/prefix
if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	echo "case: install: FAILED"
	cat "$tmp/install.log"
	exit 1
fi
echo "case: install: ok"
libdirs=("$prefix"/lib*/pkgconfig)
libdir=${libdirs[0]%/pkgconfig}
export PKG_CONFIG_PATH=$libdir/pkgconfig

# Consumers: shared ones run with LD_LIBRARY_PATH (they are not ours); static ones must not
# need libckpt.so at all.
shared_run() { LD_LIBRARY_PATH=$libdir "$@"; }
no_libckpt_needed() { ! objdump -p "$1" | grep -q 'NEEDED.*libckpt'; }

pc_shared() {
	# shellcheck disable=SC2046 # pkg-config's output is a list of words
	cc -o "$tmp/consumer-pc" "$src/consumer.c" $(pkg-config --cflags --libs libckpt) &&
		shared_run "$tmp/consumer-pc"
}
pc_static() {
	# libckpt.a by name, then what `pkg-config --static` says it needs (Requires.private)
	local libs
	libs=$(pkg-config --static --libs libckpt | sed 's/\(^\| \)-lckpt\( \|$\)/ /') || return 1
	# shellcheck disable=SC2046,SC2086
	cc -o "$tmp/consumer-static" "$src/consumer.c" "$src/clash.c" $(pkg-config --cflags libckpt) \
		"$libdir/libckpt.a" $libs &&
		no_libckpt_needed "$tmp/consumer-static" && "$tmp/consumer-static"
}
cmake_shared() {
	cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" &&
		cmake --build "$tmp/cm" && shared_run "$tmp/cm/consumer"
}
cmake_static() {
	cmake -S "$src" -B "$tmp/cms" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_STATIC=ON &&
		cmake --build "$tmp/cms" && no_libckpt_needed "$tmp/cms/consumer" && "$tmp/cms/consumer"
}
check install_consumer_pkgconfig_shared pc_shared
check install_consumer_pkgconfig_static pc_static
check install_consumer_cmake_shared cmake_shared
check install_consumer_cmake_static cmake_static

# The installed ckpt: a RUNPATH relative to itself, so it runs without LD_LIBRARY_PATH, from
# this prefix and from a copy of it anywhere else.
ckpt_runs() { # prefix
	env -u LD_LIBRARY_PATH "$1/bin/ckpt" --json version | grep -q '"ckpt"'
}
ckpt_rpath() {
	local rp
	rp=$(objdump -p "$prefix/bin/ckpt" | awk '$1 == "RUNPATH" { print $2 }')
	echo "RUNPATH: $rp"
	# shellcheck disable=SC2016 # a literal $ORIGIN
	case $rp in '$ORIGIN/'*) ;; *) return 1 ;; esac
	ckpt_runs "$prefix" && cp -a "$prefix" "$tmp/moved" && ckpt_runs "$tmp/moved"
}
if [ -x "$prefix/bin/ckpt" ]; then
	check install_ckpt_relative_runpath ckpt_rpath
fi

headers() {
	local h
	for h in ckpt.h err.h keys.h opts.h client.h ops.h images.h preflight.h archive.h experimental.h version.h; do
		[ -f "$prefix/include/ckpt/$h" ] || { echo "missing include/ckpt/$h"; return 1; }
	done
}
check install_headers headers

# The reference pages: installed, and a function's name finds its object's page.
man_pages() {
	local mandir=$prefix/share/man
	[ -f "$mandir/man3/libckpt.3" ] && [ -f "$mandir/man3/ckpt_restore.3" ] || return 1
	MANWIDTH=80 man -M "$mandir" 3 ckpt_restore 2>&1 | grep -q 'CKPT_DUMP(3)'
}
check install_man_pages man_pages
exit $failed
