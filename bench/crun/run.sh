#!/usr/bin/env bash
# crun 1.28 and Podman 4.3.1 checkpoint and restore, through Debian's real libcriu.so.2
# (4.2.1, from Debian testing) and through libckpt's drop-in, interleaved, timed side
# by side. Writes bench/crun/results.md (crun) and bench/crun/results-podman.md (Podman).
#
#   bench/crun/run.sh BUILD_DIR [RUNS]    (BUILD_DIR configured with -DCKPT_BUILD_COMPAT_LIBCRIU=ON)
#   CKPT_BENCH_PARTS="crun podman"        which parts to run (default both)
#   CKPT_BENCH_OUT=DIR                    where the results go (default bench/crun)
#
# crun, each run: crun run -d a busybox counter container, checkpoint it (timed),
# restore it with restore -d (timed), check the counter continues, delete.
# Times are the wall clock of the crun command (unshare + ld.so + crun + criu).
# Both modes of tests/crun: without and with its own network namespace.
#
# Podman, each run (tests/podman/podman-lib.sh): podman run -d a counter container,
# `container checkpoint`, `container restore`, `checkpoint --export` (gzip),
# `restore --import --name`, each timed (wall clock of the podman command), the
# counter checked after each. A side that fails a step is recorded with the step
# and the cause, and the runs go on.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-7}
PARTS=${CKPT_BENCH_PARTS:-crun podman}
OUT=${CKPT_BENCH_OUT:-$HERE}
OUR_LIBCRIU_DIR=${CKPT_BENCH_OUR_LIBCRIU_DIR:-$BUILD/compat/libcriu}
[ -e "$OUR_LIBCRIU_DIR/libcriu.so.2" ] || { echo "no $OUR_LIBCRIU_DIR/libcriu.so.2 (build criu_compat)" >&2; exit 2; }
if [[ " $PARTS " == *" podman "* ]]; then
	eval "$("$ROOT/scripts/provision-podman.sh")" || exit 3
else
	eval "$("$ROOT/scripts/provision-crun.sh")" || exit 3
fi
export CKPT_CRIU
DEB_LIBCRIU_DIR=$CKPT_LIBCRIU_DEBIAN_DIR
WORK=$(mktemp -d /tmp/ckpt-crun-bench-XXXXXX)
# shellcheck source=../../tests/crun/crun-lib.sh
. "$ROOT/tests/crun/crun-lib.sh"
# shellcheck source=../../tests/podman/podman-lib.sh
. "$ROOT/tests/podman/podman-lib.sh"
PODMAN_READY=
trap 'crun_cleanup_all; [ -n "$PODMAN_READY" ] && podman_cleanup; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

run_crun_part() {
crun_setup "$WORK/base" || exit 1

# one_run LIBNAME LIBDIR MODE I: appends "libname mode ckpt_ms restore_ms" to $WORK/times
one_run() {
	local name=$1 lib=$2 mode=$3 i=$4 id b img at v
	id=ckpt-bench-$mode-$$
	CRUN_IDS+=("$id")
	b=$WORK/bundle-$mode
	img=$WORK/img-$name-$mode-$i
	crun_cleanup_id "$id"
	[ -e "$b/config.json" ] || crun_bundle "$b" "$mode" || return 1
	rm -rf "$img" && mkdir -p "$img"
	crun_bg "$lib" "$name-$mode-run$i" run -d -b "$b" "$id" || { cat "$WORK/$name-$mode-run$i.out" >&2; return 1; }
	crun_wait_counter "$mode" 3 10 >/dev/null || return 1
	crun_fg "$lib" "$name-$mode-ckpt$i" checkpoint --image-path "$img" "$id" ||
		{ cat "$WORK/$name-$mode-ckpt$i.out" >&2; return 1; }
	at=$(crun_counter "$mode")
	crun_bg "$lib" "$name-$mode-rst$i" restore -d --image-path "$img" -b "$b" "$id" ||
		{ cat "$WORK/$name-$mode-rst$i.out" >&2; return 1; }
	v=$(crun_wait_counter "$mode" $((at + 2)) 10) || { echo "counter did not continue ($at -> $v)" >&2; return 1; }
	echo "$name $mode $(cat "$WORK/$name-$mode-ckpt$i.ms") $(cat "$WORK/$name-$mode-rst$i.ms") $(du -sk "$img" | cut -f1)" >>"$WORK/times"
	crun_fg "$lib" "$name-$mode-del$i" delete -f "$id" || true
	crun_rm_cgroups "$id"
	rm -rf "$img"
}

# Untimed warm-up with LD_DEBUG: which libcriu.so.2 each side really loads.
for side in "libckpt:$OUR_LIBCRIU_DIR" "libcriu:$DEB_LIBCRIU_DIR"; do
	name=${side%%:*} lib=${side#*:}
	one_run "$name" "$lib" nonet 0 || { echo "warm-up with $name failed" >&2; exit 1; }
	got=$(crun_loaded_libcriu "$name-nonet-ckpt0")
	[ "$got" = "$lib/libcriu.so.2" ] || { echo "$name: crun loaded '$got', expected $lib/libcriu.so.2" >&2; exit 1; }
	echo "$name: crun loads $got" >&2
	if [ "$name" = libckpt ]; then loaded_libckpt=$got; else loaded_libcriu=$got; fi
done
: >"$WORK/times"

export CRUN_LDDEBUG=0 # read by crun-lib.sh: no LD_DEBUG in the timed runs
for i in $(seq 1 "$RUNS"); do
	for mode in nonet net; do
		# alternate which side goes first
		if [ $((i % 2)) = 1 ]; then order="libckpt libcriu"; else order="libcriu libckpt"; fi
		for name in $order; do
			if [ "$name" = libckpt ]; then lib=$OUR_LIBCRIU_DIR; else lib=$DEB_LIBCRIU_DIR; fi
			one_run "$name" "$lib" "$mode" "$i" || { echo "run $i $name $mode failed" >&2; exit 1; }
			echo "run $i $mode $name: $(tail -n1 "$WORK/times")" >&2
		done
	done
done

python3 - "$WORK/times" "$OUT/results.md" "$RUNS" "$loaded_libckpt" "$loaded_libcriu" <<'PY'
import statistics, sys, subprocess, platform, datetime
times, out, runs, our, deb = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [l.split() for l in open(times) if l.strip()]
def col(name, mode, k):
    return [int(r[k]) for r in rows if r[0] == name and r[1] == mode]
def fmt(v):
    return f"{statistics.median(v):.0f} ({min(v)}–{max(v)})"
lines = []
lines.append("# crun checkpoint/restore: Debian's libcriu.so.2 vs libckpt's drop-in\n")
lines.append(f"Generated by `bench/crun/run.sh` on {datetime.date.today()} ({platform.node()}, "
             f"kernel {platform.release()}, {subprocess.getoutput('nproc')} CPUs). "
             f"{runs} runs per side and mode, interleaved (the side going first alternates).\n")
lines.append("Each run: `crun run -d` a busybox counter container, `crun checkpoint --image-path`, "
             "`crun restore -d`, check that the counter continues, `crun delete`. Times are the wall clock "
             "of the crun command in ms (unshare + forky ld.so + crun + criu swrk + CRIU), "
             "median (min–max). Same crun 1.28, same CRIU 4.2.1, same criu wrapper; only the "
             "libcriu.so.2 on crun's library path differs:\n")
lines.append(f"- libcriu: `{deb}` (Debian forky, libcriu2 4.2.1)")
lines.append(f"- libckpt: `{our}` (compat/libcriu on libckpt)\n")
lines.append("| mode | step | libcriu 4.2.1 | libckpt drop-in | ours ÷ libcriu (medians) |")
lines.append("|---|---|---|---|---|")
for mode, label in (("nonet", "no netns"), ("net", "own netns (nftables lock)")):
    for k, step in ((2, "checkpoint"), (3, "restore -d")):
        a, b = col("libcriu", mode, k), col("libckpt", mode, k)
        lines.append(f"| {label} | {step} | {fmt(a)} | {fmt(b)} | {statistics.median(b)/statistics.median(a):.2f} |")
    a = [x + y for x, y in zip(col("libcriu", mode, 2), col("libcriu", mode, 3))]
    b = [x + y for x, y in zip(col("libckpt", mode, 2), col("libckpt", mode, 3))]
    lines.append(f"| {label} | checkpoint + restore | {fmt(a)} | {fmt(b)} | {statistics.median(b)/statistics.median(a):.2f} |")
img_a = statistics.median([int(r[4]) for r in rows if r[0] == "libcriu"])
img_b = statistics.median([int(r[4]) for r in rows if r[0] == "libckpt"])
lines.append(f"\nImage size (median, both modes): libcriu {img_a:.0f} KiB, libckpt {img_b:.0f} KiB.\n")
lines.append("Raw runs (side, mode, checkpoint ms, restore ms, image KiB):\n")
lines.append("```")
lines += [" ".join(r) for r in rows]
lines.append("```")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines[:14]))
PY
}

# podman_one NAME I: one timed Podman run of side NAME; appends
# "NAME ckpt_ms restore_ms export_ms import_ms export_KiB" to $WORK/ptimes, or
# "NAME STEP CAUSE" to $WORK/pfail.
podman_one() {
	local name=$1 i=$2 c=pb-$1-$2 data=$WORK/pdata-$1 at tar=$WORK/pb-$1-$2.tar.gz
	pfail() { # STEP TAG
		local cause
		cause=$(grep -v '^Error: `' "$WORK/$2.out" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n1)
		cause=${cause:-$(tail -n1 "$WORK/$2.out" 2>/dev/null)}
		# the same cause in every run: no scratch dir, no container or layer ids
		echo "$name $1 $cause" | sed -E "s|$WORK|WORK|g; s/[0-9a-f]{64}/ID/g" >>"$WORK/pfail"
		echo "podman run $i $name: $1 failed: $cause" >&2
		podman_cmd --runtime "$WORK/rt-$name/crun" rm -af -t 0 >/dev/null 2>&1
		return 1
	}
	podman_start "$name" "$c" "$data" || { pfail run "$c-run"; return 1; }
	podman_wait_counter "$data" 3 10 >/dev/null || { echo "$name run counter" >>"$WORK/pfail"; return 1; }
	podman_t "$name" "$c-ck" container checkpoint "$c" || { pfail checkpoint "$c-ck"; return 1; }
	at=$(podman_counter "$data")
	podman_t "$name" "$c-rs" container restore "$c" || { pfail restore "$c-rs"; return 1; }
	podman_wait_counter "$data" $((at + 2)) 10 >/dev/null || { echo "$name restore counter stuck" >>"$WORK/pfail"; return 1; }
	podman_t "$name" "$c-ex" container checkpoint --compress=gzip --export="$tar" "$c" ||
		{ pfail export "$c-ex"; return 1; }
	at=$(podman_counter "$data")
	podman_t "$name" "$c-im" container restore --import="$tar" --name "$c-2" || { pfail import "$c-im"; return 1; }
	podman_wait_counter "$data" $((at + 2)) 10 >/dev/null || { echo "$name import counter stuck" >>"$WORK/pfail"; return 1; }
	echo "$name $(cat "$WORK/$c-ck.ms" "$WORK/$c-rs.ms" "$WORK/$c-ex.ms" "$WORK/$c-im.ms" | tr '\n' ' ')$(du -k "$tar" | cut -f1)" >>"$WORK/ptimes"
	podman_cmd --runtime "$WORK/rt-$name/crun" rm -af -t 0 >/dev/null 2>&1
	rm -f "$tar"
}

run_podman_part() {
	local i name order lib got loaded_libckpt="" loaded_libcriu=""
	podman_setup || exit 1
	PODMAN_READY=1
	: >"$WORK/ptimes"
	: >"$WORK/pfail"
	# Untimed warm-up with LD_DEBUG: which libcriu.so.2 each side's crun loads.
	for name in libckpt libcriu; do
		if [ $name = libckpt ]; then lib=$OUR_LIBCRIU_DIR; else lib=$DEB_LIBCRIU_DIR; fi
		podman_runtime "$name" "$lib"
		podman_one "$name" 0
		got=$(podman_loaded_libcriu "$name")
		[ "$got" = "$lib/libcriu.so.2" ] || { echo "$name: crun loaded '$got', expected $lib/libcriu.so.2" >&2; exit 1; }
		echo "podman $name: crun loads $got" >&2
		if [ $name = libckpt ]; then loaded_libckpt=$got; else loaded_libcriu=$got; fi
	done
	: >"$WORK/ptimes"
	: >"$WORK/pfail"
	# Timed runs: wrappers without LD_DEBUG, the side going first alternating.
	PODMAN_LDDEBUG=0 podman_runtime libckpt "$OUR_LIBCRIU_DIR"
	PODMAN_LDDEBUG=0 podman_runtime libcriu "$DEB_LIBCRIU_DIR"
	for i in $(seq 1 "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then order="libckpt libcriu"; else order="libcriu libckpt"; fi
		for name in $order; do
			podman_one "$name" "$i" && echo "podman run $i $name: $(tail -n1 "$WORK/ptimes")" >&2
		done
	done
	python3 - "$WORK/ptimes" "$WORK/pfail" "$OUT/results-podman.md" "$RUNS" "$loaded_libckpt" "$loaded_libcriu" \
		"$(podman_cmd --version)" <<'PY'
import collections, datetime, platform, statistics, subprocess, sys
times, fails, out, runs, our, deb, pv = sys.argv[1:]
runs = int(runs)
rows = [l.split() for l in open(times) if l.strip()]
fail = [l.rstrip("\n").split(" ", 2) for l in open(fails) if l.strip()]
def col(name, k):
    return [int(r[k]) for r in rows if r[0] == name]
def fmt(v):
    return f"{statistics.median(v):.0f} ({min(v)}–{max(v)})" if v else "–"
L = ["# Podman checkpoint/restore/export/import: Debian's libcriu.so.2 vs libckpt's drop-in\n"]
L.append(f"Generated by `bench/crun/run.sh` (CKPT_BENCH_PARTS=podman) on {datetime.date.today()} "
         f"({platform.node()}, kernel {platform.release()}, {subprocess.getoutput('nproc')} CPUs). "
         f"{runs} runs per side, interleaved (the side going first alternates).\n")
L.append(f"Each run: `podman run -d` a busybox counter container ({pv}, crun 1.28, vfs storage, "
         "no network), then `container checkpoint`, `container restore`, `container checkpoint "
         "--compress=gzip --export`, `container restore --import --name`, the counter checked "
         "after each. Times are the wall clock of the podman command in ms, median (min–max). "
         "Only the libcriu.so.2 on crun's library path differs:\n")
L.append(f"- libcriu: `{deb}` (Debian forky, libcriu2 4.2.1)")
L.append(f"- libckpt: `{our}` (compat/libcriu on libckpt)\n")
L.append("| step | libcriu 4.2.1 | libckpt drop-in | ours ÷ libcriu (medians) |")
L.append("|---|---|---|---|")
for k, step in ((1, "checkpoint"), (2, "restore"), (3, "checkpoint --export"), (4, "restore --import")):
    a, b = col("libcriu", k), col("libckpt", k)
    ratio = f"{statistics.median(b) / statistics.median(a):.2f}" if a and b else "–"
    L.append(f"| {step} | {fmt(a)} | {fmt(b)} | {ratio} |")
n = collections.Counter(r[0] for r in rows)
L.append(f"\nCompleted runs: libcriu {n['libcriu']}/{runs}, libckpt {n['libckpt']}/{runs}. "
         f"Export size (median): {fmt(col('libcriu', 5))} KiB libcriu, {fmt(col('libckpt', 5))} KiB libckpt.\n")
if fail:
    L.append("Failed runs (side, step, cause):\n")
    L.append("```")
    for f, c in collections.Counter(" ".join(x) for x in fail).items():
        L.append(f"{c}× {f}")
    L.append("```\n")
L.append("Raw runs (side, checkpoint, restore, export, import ms, export KiB):\n")
L.append("```")
L += [" ".join(r) for r in rows]
L.append("```")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L[:16]))
PY
}

[[ " $PARTS " == *" crun "* ]] && run_crun_part
[[ " $PARTS " == *" podman "* ]] && run_podman_part
exit 0
