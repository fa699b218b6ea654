#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Podman 4.3.1 (bookworm) checkpoints and restores a busybox counter container with
# crun 1.28, once through Debian's libcriu.so.2 (4.2.1) and once through libckpt's
# drop-in: the same steps, only the library on crun's library path differs
# (tests/podman/podman-lib.sh, ../shared/runtimes.md section 7). Per library:
#   cycles:        three `container checkpoint` / `container restore`, the counter continuing
#   leave-running: `checkpoint --leave-running` (keeps counting), `checkpoint`, `restore`
#   export:        `checkpoint --export F.tar.gz`, `restore --import F.tar.gz --name NEW`,
#                  and `ckpt inspect` (text and --json) of that archive: engine Podman, the
#                  container's name, its process tree (root sh)
#   and LD_DEBUG's proof of which libcriu.so.2 crun loaded.
# Each step is a `case: NAME: ok|FAILED` line; a table compares the two libraries. A
# step fails when podman fails or the counter does not do what the step means; a
# failing step fails the rest of its scenario ("not reached").
#
#   tests/podman/test_podman.sh DIR_WITH_OUR_LIBCRIU_SO_2 CKPT
#
# Needs root; runs CRIU, so run it under flock /tmp/ckpt-criu.lock. Podman's state
# lives in a scratch dir and is removed with its containers, cgroups and mounts.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUR_LIBCRIU_DIR=$(cd "${1:?usage: test_podman.sh DIR_WITH_OUR_LIBCRIU}" && pwd)
CKPT=${2:?usage: test_podman.sh DIR_WITH_OUR_LIBCRIU CKPT}
CYCLES=${CKPT_PODMAN_CYCLES:-3}

bail() { echo "case: podman setup: FAILED"; echo "podman: $*" >&2; exit 1; }
[ -e "$OUR_LIBCRIU_DIR/libcriu.so.2" ] || bail "no libcriu.so.2 in $OUR_LIBCRIU_DIR"
[ "$(id -u)" = 0 ] || bail "needs root"
# Only stdio goes on to podman, conmon and crun: an inherited descriptor (flock(1)'s lock)
# could end up where CRIU dumps.
for fd in "/proc/$$/fd"/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
done

env_out=$("$ROOT/scripts/provision-podman.sh") || bail "scripts/provision-podman.sh failed"
eval "$env_out"
WORK=$(mktemp -d /tmp/ckpt-podman-XXXXXX)
# shellcheck source=podman-lib.sh
. "$HERE/podman-lib.sh"
cleanup() {
	podman_cleanup
	if [ -n "${CKPT_PODMAN_KEEP:-}" ]; then
		echo "podman: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

podman_setup || bail "setup (image import) failed"
declare -A LIBDIR=([debian]=$CKPT_LIBCRIU_DEBIAN_DIR [ours]=$OUR_LIBCRIU_DIR)
declare -A LABEL=([debian]="Debian's libcriu 4.2.1" [ours]="libckpt's drop-in")
for L in debian ours; do podman_runtime "$L" "${LIBDIR[$L]}"; done

declare -A OUT
STEPS=()
ncase=0 failed=0 broken=
# result L STEP ok|fail DETAIL: one case line; a failure breaks the rest of the scenario.
result() {
	local L=$1 step=$2 how=$3 detail=$4
	[[ " ${STEPS[*]} " == *" $step "* ]] || STEPS+=("$step")
	ncase=$((ncase + 1))
	if [ "$how" = ok ]; then
		OUT[$L,$step]="ok ($detail)"
		echo "case: podman $step with ${LABEL[$L]}: ok ($detail)"
	else
		failed=$((failed + 1))
		OUT[$L,$step]="FAILED ($detail)"
		echo "case: podman $step with ${LABEL[$L]}: FAILED ($detail)"
		broken=$step
	fi
}
# step L STEP: true when the scenario can go on; else records the step as not reached.
step() {
	local b=$broken
	[ -z "$b" ] && return 0
	result "$1" "$2" fail "not reached: $b failed"
	broken=$b
	return 1
}
# why L TAG CTR LOG: podman's last words and CRIU's errors, indented.
why() {
	tail -n 4 "$WORK/$2.out" | sed 's/^/  | /'
	podman_criu_log "$3" "$4" | sed "s/^/  | $4: /"
}
ms() { cat "$WORK/$1.ms"; }
# cause TAG: the runtime's message in podman's output (not podman's "Error: `crun ...` failed")
cause() {
	local l
	l=$(grep -v '^Error: `' "$WORK/$1.out" | grep -v '^[[:space:]]*$' | tail -n1)
	[ -n "$l" ] || l=$(tail -n1 "$WORK/$1.out")
	echo "${l:0:240}"
}

# podman checkpoint ARGS of container C; the counter must stop (unless --leave-running).
do_checkpoint() { # L STEP TAG C DATA ARGS...
	local L=$1 st=$2 tag=$3 c=$4 data=$5 at
	shift 5
	step "$L" "$st" || return 1
	if ! podman_t "$L" "$tag" container checkpoint "$@" "$c"; then
		result "$L" "$st" fail "podman failed: $(cause "$tag")"
		why "$L" "$tag" "$c" dump.log
		return 1
	fi
	if [[ " $* " == *" --leave-running "* ]]; then
		at=$(podman_counter "$data")
		if v=$(podman_wait_counter "$data" $((at + 2)) 5); then
			result "$L" "$st" ok "$(ms "$tag") ms, still counting $at -> $v"
		else
			result "$L" "$st" fail "the counter stopped at $v after --leave-running"
			return 1
		fi
	elif at=$(podman_stopped "$data"); then
		result "$L" "$st" ok "$(ms "$tag") ms, stopped at $at"
	else
		result "$L" "$st" fail "still counting after the checkpoint ($at)"
		return 1
	fi
	AT=$at
}

# podman restore ARGS; the counter must go on from AT (the value at the dump).
do_restore() { # L STEP TAG C DATA ARGS...
	local L=$1 st=$2 tag=$3 c=$4 data=$5 first v
	shift 5
	step "$L" "$st" || return 1
	if ! podman_t "$L" "$tag" container restore "$@"; then
		result "$L" "$st" fail "podman failed: $(cause "$tag")"
		why "$L" "$tag" "$c" restore.log
		return 1
	fi
	first=$(podman_counter "$data")
	if v=$(podman_wait_counter "$data" $((AT + 3)) 10) && [ "$first" -ge "$AT" ] && [ "$first" -le $((AT + 2)) ]; then
		result "$L" "$st" ok "$(ms "$tag") ms, counter $AT -> $first -> $v"
	else
		result "$L" "$st" fail "counter after restore: at dump $AT, first $first, then $v"
		return 1
	fi
}

# ckpt inspect of an archive Podman exported: engine, name and the process tree, in JSON
# and in text.
do_inspect() { # L STEP FILE C
	local L=$1 st=$2 f=$3 c=$4 out detail
	[ -s "$f" ] || { result "$L" "$st" fail "no archive $f"; return 1; }
	if ! out=$("$CKPT" --json inspect "$f" 2>&1); then
		result "$L" "$st" fail "ckpt --json inspect failed: ${out:0:240}"
		return 1
	fi
	if ! detail=$(python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
c = sys.argv[1]
assert j.get("engine") == "Podman", "engine %r" % j.get("engine")
assert j.get("name") == c, "name %r, want %r" % (j.get("name"), c)
procs = j["checkpoint"]["processes"]
pids = {p["pid"] for p in procs}
roots = [p for p in procs if p["ppid"] not in pids]
assert len(roots) == 1 and roots[0]["comm"] == "sh", "roots %r" % [(p["pid"], p["comm"]) for p in roots]
print("engine Podman, name %s, %d processes, root sh (pid %d)" % (c, len(procs), roots[0]["pid"]))
' "$c" <<<"$out" 2>&1); then
		result "$L" "$st" fail "ckpt --json inspect: ${detail##*$'\n'}"
		return 1
	fi
	if ! out=$("$CKPT" inspect "$f" 2>&1) || [[ $out != *Podman* || $out != *"$c"* || $out != *" sh"* ]]; then
		result "$L" "$st" fail "ckpt inspect (text) lacks Podman, $c or sh: ${out:0:240}"
		return 1
	fi
	result "$L" "$st" ok "$detail"
}

do_start() { # L STEP C DATA
	local L=$1 st=$2 c=$3 data=$4 v
	step "$L" "$st" || return 1
	if ! podman_start "$L" "$c" "$data"; then
		result "$L" "$st" fail "podman run failed: $(cause "$c-run")"
		return 1
	fi
	if v=$(podman_wait_counter "$data" 3 10); then
		result "$L" "$st" ok "$(ms "$c-run") ms, counter at $v"
	else
		result "$L" "$st" fail "the container does not count (counter $v)"
		return 1
	fi
}

for L in debian ours; do
	# 1. cycles
	broken="" c=cyc-$L data=$WORK/data-cyc-$L
	do_start "$L" "cycles:run" "$c" "$data"
	for i in $(seq 1 "$CYCLES"); do
		do_checkpoint "$L" "cycles:checkpoint-$i" "$c-ck$i" "$c" "$data"
		do_restore "$L" "cycles:restore-$i" "$c-rs$i" "$c" "$data" "$c"
	done
	# 2. checkpoint --leave-running, then checkpoint again (the same userdata/checkpoint)
	broken="" c=lr-$L data=$WORK/data-lr-$L
	do_start "$L" "leave-running:run" "$c" "$data"
	do_checkpoint "$L" "leave-running:checkpoint--leave-running" "$c-ck1" "$c" "$data" --leave-running
	do_checkpoint "$L" "leave-running:checkpoint-again" "$c-ck2" "$c" "$data"
	do_restore "$L" "leave-running:restore" "$c-rs" "$c" "$data" "$c"
	# 3. export and import under a new name
	broken="" c=exp-$L data=$WORK/data-exp-$L
	do_start "$L" "export:run" "$c" "$data"
	do_checkpoint "$L" "export:checkpoint--export" "$c-ck" "$c" "$data" \
		--compress=gzip --export="$WORK/$c.tar.gz"
	do_restore "$L" "export:restore--import--name" "$c-rs" "$c-2" "$data" \
		--import="$WORK/$c.tar.gz" --name "$c-2"
	broken=
	do_inspect "$L" "export:ckpt-inspect" "$WORK/$c.tar.gz" "$c"
	# 4. the library crun loaded in every checkpoint and restore of this side
	broken=
	loaded=$(podman_loaded_libcriu "$L")
	if [ "$loaded" = "${LIBDIR[$L]}/libcriu.so.2" ]; then
		result "$L" "crun-loaded-libcriu" ok "$loaded"
	else
		result "$L" "crun-loaded-libcriu" fail "crun loaded '${loaded//$'\n'/ }', expected ${LIBDIR[$L]}/libcriu.so.2"
	fi
	podman_cmd --runtime "$WORK/rt-$L/crun" rm -af -t 0 >/dev/null 2>&1
done

echo
printf '%-42s | %-8s | %-8s | %s\n' step Debian ours "ours, in detail"
printf '%s\n' "-------------------------------------------|----------|----------|----------------"
for st in "${STEPS[@]}"; do
	printf '%-42s | %-8s | %-8s | %s\n' "$st" "${OUT[debian,$st]%% *}" "${OUT[ours,$st]%% *}" \
		"${OUT[ours,$st]#* }"
done
echo
echo "podman: $((ncase - failed)) of $ncase cases ok, $failed FAILED"
[ $failed = 0 ]
