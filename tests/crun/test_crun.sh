#!/usr/bin/env bash
# crun 1.28 (Debian testing) checkpoints and restores a busybox container through
# libckpt's libcriu.so.2 drop-in, first on crun's library path: without and with
# its own network namespace, and with an absolute rootfs path outside the bundle,
# three checkpoint/restore cycles each; the counter
# must continue from the value at the dump; LD_DEBUG=libs proves which
# libcriu.so.2 crun loaded.
#
#   tests/crun/test_crun.sh DIR_WITH_OUR_LIBCRIU_SO_2
#
# Needs root, busybox-static, nft. Prints TAP-like "ok N - ..." lines.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUR_LIBCRIU_DIR=$(cd "${1:?usage: test_crun.sh DIR_WITH_OUR_LIBCRIU}" && pwd)
CYCLES=${CKPT_CRUN_CYCLES:-3}
[ -e "$OUR_LIBCRIU_DIR/libcriu.so.2" ] || { echo "not ok - no libcriu.so.2 in $OUR_LIBCRIU_DIR"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "not ok - needs root"; exit 1; }

env_out=$("$ROOT/scripts/provision-crun.sh") || { echo "not ok - provision-crun.sh failed"; exit 1; }
eval "$env_out"
WORK=$(mktemp -d /tmp/ckpt-crun-XXXXXX)
# shellcheck source=crun-lib.sh
. "$HERE/crun-lib.sh"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
show() { for f in "$@"; do [ -e "$f" ] && { echo "# --- $f"; tail -n 25 "$f" | sed 's/^/# /'; }; done; }

cleanup() {
	crun_cleanup_all
	[ -n "${CKPT_CRUN_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

crun_setup "$WORK/base" || { echo "not ok - setup"; exit 1; }

# nonet: no network namespace; net: its own; abs: no network namespace and an absolute
# root.path outside the bundle (crun then hands libcriu BUNDLE+ROOTFS as the root at checkpoint)
for mode in nonet net abs; do
	id=ckpt-crun-$mode-$$
	CRUN_IDS+=("$id")
	b=$WORK/bundle-$mode
	crun_cleanup_id "$id"
	crun_bundle "$b" "$mode" || { notok "$mode: bundle"; continue; }
	if ! crun_bg "$OUR_LIBCRIU_DIR" "$mode-run" run -d -b "$b" "$id"; then
		notok "$mode: crun run -d"; show "$WORK/$mode-run.out"; continue
	fi
	v=$(crun_wait_counter "$mode" 3 10) || { notok "$mode: container counts (got $v)"; continue; }
	ok "$mode: crun run -d, counter at $v"
	for c in $(seq 1 "$CYCLES"); do
		img=$WORK/img-$mode-$c
		mkdir -p "$img"
		if ! crun_fg "$OUR_LIBCRIU_DIR" "$mode-ckpt$c" checkpoint --image-path "$img" "$id"; then
			notok "$mode: cycle $c: crun checkpoint"; show "$WORK/$mode-ckpt$c.out" "$img/dump.log"; break
		fi
		sleep 0.5
		at=$(crun_counter "$mode")
		sleep 0.5
		[ "$(crun_counter "$mode")" = "$at" ] || { notok "$mode: cycle $c: still counting after checkpoint"; break; }
		ok "$mode: cycle $c: crun checkpoint ($(cat "$WORK/$mode-ckpt$c.ms") ms), stopped at $at"
		if ! crun_bg "$OUR_LIBCRIU_DIR" "$mode-rst$c" restore -d --image-path "$img" -b "$b" "$id"; then
			notok "$mode: cycle $c: crun restore -d"; show "$WORK/$mode-rst$c.out" "$img/restore.log"; break
		fi
		first=$(crun_counter "$mode")
		if v=$(crun_wait_counter "$mode" $((at + 3)) 10) && [ "$first" -ge "$at" ] && [ "$first" -le $((at + 2)) ]; then
			ok "$mode: cycle $c: crun restore -d ($(cat "$WORK/$mode-rst$c.ms") ms), counter $at -> $first -> $v"
		else
			notok "$mode: cycle $c: counter after restore: at dump $at, first $first, then $v"; break
		fi
	done
	# Which libcriu.so.2 did crun load? Every checkpoint and restore must show ours.
	loaded=$(crun_loaded_libcriu "$mode-ckpt"; crun_loaded_libcriu "$mode-rst")
	loaded=$(echo "$loaded" | sort -u)
	if [ -n "$loaded" ] && [ "$loaded" = "$OUR_LIBCRIU_DIR/libcriu.so.2" ]; then
		ok "$mode: crun loaded our libcriu.so.2 ($loaded)"
	else
		notok "$mode: crun loaded '$loaded', not $OUR_LIBCRIU_DIR/libcriu.so.2"
	fi
	crun_fg "$OUR_LIBCRIU_DIR" "$mode-del" delete -f "$id" || notok "$mode: crun delete"
	crun_rm_cgroups "$id"
	left=0
	for cg in /sys/fs/cgroup/*/"$id"; do
		[ -e "$cg" ] && left=$((left + 1))
	done
	if [ "$left" = 0 ]; then
		ok "$mode: container deleted, no cgroups left"
	else
		notok "$mode: $left cgroups left"
	fi
done

echo "1..$n"
[ $failed = 0 ]
