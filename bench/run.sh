#!/usr/bin/env bash
# libckpt side by side with libcriu and the criu CLI, on this machine, against
# its own limits. As root:
#
#   flock -o /tmp/ckpt-criu.lock bench/run.sh [--issue22 | --quick] [--runs N]
#       [--big-runs N] [--kind-runs N] [--kind-mib N] [--sizes "16 256 1024"]
#       [--fs "disk tmpfs"]
#
# --issue22 (the run issue 22 asks for): 16, 256 and 1024 MiB on disk; 5 runs,
# 15 at 1024 MiB (--big-runs); 15 runs of each kind of restore of the 1 GiB
# HTTP server (--kind-runs); 15 runs of the load rows. About 20-25 minutes on
# the 2-core VM, most of it the 90 fresh 1 GiB workloads of the killed-dump rows
# (the VM fills anonymous memory at ~330 MiB/s); --big-runs trades runs for time.
# --quick: 16 and 256 MiB, images on disk only, 5 runs, no big-caller and
# prepared-client rows, 3 runs of the machine limits, kinds at 256 MiB; prints
# the ratio table.
# Default (full): 16, 256 and 1024 MiB, images on disk
# (bench/work/disk, the repo's filesystem) and on a tmpfs mounted under
# bench/work/tmpfs by this script (unmounted at the end), 5 runs.
# Every mode also runs: the load rows (bench_load_ckpt / bench_load_libcriu,
# exec to exit, 15 runs), and the kinds of restore (bench_ckpt restore-kind:
# page cache dropped, then libckpt plain and lazy, criu CLI plain and lazy, and
# `ckpt restore --lazy -d` if the CLI has it; time to running, to the server's
# first HTTP answer on 127.0.0.1:$BENCH_PORT (default 18622), to every page).
# Sizes of 1024 MiB and up take --big-runs runs (default: --runs).
# Writes bench/results.md and bench/results.json (and the raw lines in
# bench/work/raw.jsonl). Provisions CRIU 4.2.1 (scripts/provision-criu.sh) and
# libcriu 4.2.1 (bench/provision-libcriu.sh) into private prefixes. Run it
# alone on the machine: under the CRIU lock, nothing else heavy beside it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$ROOT/bench/work
MODE=full RUNS=5 SIZES="16 256 1024" FSES="disk tmpfs" BIG_RUNS='' KIND_RUNS='' KIND_MIB='' LOAD_RUNS=15
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick; SIZES="16 256"; FSES="disk"; shift ;;
	--issue22) MODE=issue22; SIZES="16 256 1024"; FSES="disk"; RUNS=5; BIG_RUNS=15; KIND_RUNS=15; shift ;;
	--runs) RUNS=$2; shift 2 ;;
	--big-runs) BIG_RUNS=$2; shift 2 ;;
	--kind-runs) KIND_RUNS=$2; shift 2 ;;
	--kind-mib) KIND_MIB=$2; shift 2 ;;
	--load-runs) LOAD_RUNS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--fs) FSES=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
log() { echo "bench: $*" >&2; }
BIG_RUNS=${BIG_RUNS:-$RUNS} KIND_RUNS=${KIND_RUNS:-$RUNS}
if [ -z "$KIND_MIB" ]; then
	KIND_MIB=0
	for s in $SIZES; do [ "$s" -gt "$KIND_MIB" ] && KIND_MIB=$s; done
fi

if [ -z "${BENCH_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { log "run as root (CRIU dumps and the criu service need it)"; exit 2; }
	export CKPT_CRIU; CKPT_CRIU=$("$ROOT/scripts/provision-criu.sh")
	LIBCRIU_ROOT=$("$ROOT/bench/provision-libcriu.sh")
	mkdir -p "$WORK"
	cmake -S "$ROOT" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCKPT_BUILD_BENCH=ON \
		-DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_EXAMPLES=OFF -DCKPT_BUILD_CLI=ON \
		-DLIBCRIU_ROOT="$LIBCRIU_ROOT" >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; exit 1; }
	cmake --build "$WORK/build" -j"$(nproc)" >>"$WORK/cmake.log" 2>&1 || { tail -n 40 "$WORK/cmake.log" >&2; exit 1; }
	export LIBCRIU_ROOT BENCH_INNER=1 BENCH_T0=$SECONDS
	# Everything below runs under a child subreaper: a killed or orphaned
	# workload is reaped at once, a CLI-restored tree is adopted by it.
	exec "$WORK/build/bench/bench_ckpt" reaper "$0" --mode "$MODE" --runs "$RUNS" --sizes "$SIZES" \
		--fs "$FSES" --big-runs "$BIG_RUNS" --kind-runs "$KIND_RUNS" --kind-mib "$KIND_MIB" \
		--load-runs "$LOAD_RUNS"
fi

B=$WORK/build/bench
CKPT_BIN=$WORK/build/cli/ckpt
SOCK=$WORK/criu.sock
RAW=$WORK/raw.jsonl
START=$(date +%s)
: >"$RAW"
: >"$WORK/ops.log"

# libcriu execlp()s "criu": ours first on PATH.
mkdir -p "$WORK/path"
ln -sf "$CKPT_CRIU" "$WORK/path/criu"
export PATH=$WORK/path:$PATH

SVC_PID=
cleanup() {
	if [ -n "$SVC_PID" ]; then kill "$SVC_PID" 2>/dev/null || true; fi
	if [ -n "${WL_LR:-}" ]; then kill -9 "$WL_LR" 2>/dev/null || true; fi
	if mountpoint -q "$WORK/tmpfs" 2>/dev/null; then umount "$WORK/tmpfs" || umount -l "$WORK/tmpfs"; fi
	rm -f "$SOCK"
}
trap cleanup EXIT

# One `criu service` daemon for this run (as root), killed at the end.
rm -f "$SOCK"
"$CKPT_CRIU" service --address "$SOCK" -W "$WORK" -o service.log </dev/null >/dev/null 2>&1 &
SVC_PID=$!
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.01; done
[ -S "$SOCK" ] || { log "criu service did not come up (see $WORK/service.log)"; exit 1; }

CONTENDERS="libckpt-swrk libcriu-swrk libckpt-service libcriu-service ckpt-cli criu-cli"

# record SIZE FS JSON [EXTRA]: one raw line
record() {
	local j=$3 extra=${4:-}
	[ -n "$j" ] || j='{"op":"?","contender":"?","ok":false,"error":"no output"}'
	echo "{\"size\":\"$1\",\"fs\":\"$2\",${extra:+$extra,}${j#\{}" >>"$RAW"
	case $j in *'"ok":false'*) log "FAILED: $j" ;; esac
}

# op CONTENDER OP [ARGS] -> one JSON line on stdout
# dump: PID IMG; dump-lr: PID IMG; restore: IMG WDIR
op() {
	local c=$1 o=$2 pid='' img='' w='' j v
	shift 2
	case $o in
	dump|dump-lr) pid=$1 img=$2 ;;
	restore) img=$1 w=$2 ;;
	esac
	local lib_args=()
	case $o in
	dump|dump-lr) lib_args=("$o" "$pid" "$img") ;;
	restore) lib_args=(--verify "$w" restore "$img") ;;
	*) lib_args=("$o") ;;
	esac
	case $c in
	libckpt-swrk) "$B/bench_ckpt" "${lib_args[@]}" ;;
	libckpt-service) "$B/bench_ckpt" --service "$SOCK" "${lib_args[@]}" ;;
	libcriu-swrk) "$B/bench_libcriu" "${lib_args[@]}" ;;
	libcriu-service) "$B/bench_libcriu" --service "$SOCK" "${lib_args[@]}" ;;
	criu-cli|ckpt-cli)
		local cmd=()
		if [ "$c" = criu-cli ]; then
			case $o in
			version) cmd=("$CKPT_CRIU" --version) ;;
			check) cmd=("$CKPT_CRIU" check) ;;
			feature-check) cmd=("$CKPT_CRIU" check --feature uffd-noncoop) ;;
			dump) cmd=("$CKPT_CRIU" dump -t "$pid" -D "$img" -o dump.log) ;;
			dump-lr) cmd=("$CKPT_CRIU" dump -R -t "$pid" -D "$img" -o dump.log) ;;
			restore) cmd=("$CKPT_CRIU" restore -d -D "$img" -o restore.log --pidfile "$WORK/restored.pid") ;;
			esac
		else
			case $o in
			version) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" version) ;;
			check) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" check) ;;
			feature-check) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" features) ;;
			dump) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" checkpoint --image-path "$img" "$pid") ;;
			dump-lr) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" checkpoint --image-path "$img" --leave-running "$pid") ;;
			restore) cmd=("$CKPT_BIN" --criu "$CKPT_CRIU" restore --image-path "$img" -d --pid-file "$WORK/restored.pid") ;;
			esac
		fi
		rm -f "$WORK/restored.pid"
		j=$("$B/bench_ckpt" --contender "$c" exec "-$o" "${cmd[@]}" 2>>"$WORK/ops.log" | grep '^{"op"' || true)
		if [ "$o" = restore ]; then
			# The CLI left the restored tree detached (reparented to our subreaper).
			local rp
			rp=$(cat "$WORK/restored.pid" 2>/dev/null || echo 0)
			v=$("$B/bench_ckpt" verify "$rp" "$w")
			case $v in
			*'"verified":true'*) j="${j%\}},\"restored_pid\":$rp,\"verified\":true}" ;;
			*)
				local vq=${v//\"/\'}
				j=${j/\"ok\":true/\"ok\":false}
				j="${j%\}},\"restored_pid\":$rp,\"verified\":false,\"error\":\"verify: $vq\"}"
				;;
			esac
		fi
		echo "$j"
		;;
	esac
}

# run_op CONTENDER OP ARGS...: op, keeping only the JSON line
run_op() { op "$@" 2>>"$WORK/ops.log" | grep '^{"op"' | tail -n1 || true; }

gone() { for _ in $(seq 10000); do [ -e "/proc/$1" ] || return 0; sleep 0.001; done; return 1; }

stats_of() { # IMG -> "stats":{...},"image_bytes":N
	local s b
	s=$("$B/bench_ckpt" stats "$1")
	b=$(du -sb --apparent-size "$1" | cut -f1)
	echo "\"stats\":$s,\"image_bytes\":$b"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# ---------------------------------------------------------------- no-size ops
log "mode $MODE, runs $RUNS (≥1024 MiB: $BIG_RUNS; kinds: $KIND_RUNS at $KIND_MIB MiB), sizes $SIZES, fs $FSES; criu $("$CKPT_CRIU" --version | sed -n 's/Version: //p')"
for o in version check feature-check; do
	for r in $(seq "$RUNS"); do
		for c in $CONTENDERS; do
			record - - "$(run_op "$c" "$o")" "\"run\":$r"
		done
	done
done
# Spawn cost from a big caller: 1 GiB resident in the driver, then `version`.
# (--quick: skipped, like the prepared-client rows, to stay under 3 minutes.)
for r in $( [ "$MODE" = quick ] || seq "$RUNS"); do
	record - - "$("$B/bench_ckpt" --hold-mib 1024 --contender libckpt-swrk version | grep '^{"op"')" \
		"\"run\":$r,\"extra\":\"hold-1GiB\""
	record - - "$("$B/bench_libcriu" --hold-mib 1024 --contender libcriu-swrk version | grep '^{"op"')" \
		"\"run\":$r,\"extra\":\"hold-1GiB\""
done
log "short ops done ($SECONDS s)"

# Load rows: the smallest program linked to each library, exec to exit, timed and
# wait4()ed by bench_exec_timer (linked to neither, smaller than both: the
# child's ru_maxrss is never below its spawner's RSS).
for r in $(seq "$LOAD_RUNS"); do
	for o in load-only load-version-swrk load-version-service; do
		for c in libckpt libcriu; do
			prog=$B/bench_load_ckpt
			[ "$c" = libcriu ] && prog=$B/bench_load_libcriu
			args=()
			case $o in
			load-version-swrk) args=(version) ;;
			load-version-service) args=(version "$SOCK") ;;
			esac
			j=$("$B/bench_exec_timer" "$prog" "${args[@]}" 2>>"$WORK/ops.log" || true)
			[ -n "$j" ] || j='{"ok":false,"error":"bench_exec_timer failed"}'
			record - - "{\"op\":\"$o\",\"contender\":\"$c\",${j#\{}" "\"run\":$r,\"extra\":\"load\""
		done
	done
done
log "load rows done ($SECONDS s)"

# ---------------------------------------------------------------- per size/fs
mkdir -p "$WORK/disk"
for fs in $FSES; do
	if [ "$fs" = tmpfs ]; then
		mkdir -p "$WORK/tmpfs"
		mountpoint -q "$WORK/tmpfs" || mount -t tmpfs -o size=6g,mode=0700 bench-tmpfs "$WORK/tmpfs"
	fi
done
# A pre-generated incompressible file, in the page cache, for the dd reference.
maxsize=0; for s in $SIZES; do [ "$s" -gt "$maxsize" ] && maxsize=$s; done
REF=$WORK/disk/ref.bin
if [ ! -e "$REF" ] || [ "$(stat -c %s "$REF")" -lt $((maxsize << 20)) ]; then
	head -c $((maxsize << 20)) /dev/urandom >"$REF"
fi
cat "$REF" >/dev/null

for size in $SIZES; do
	for fs in $FSES; do
		D=$WORK/$fs/s$size
		rm -rf "$D"; mkdir -p "$D"
		W=$D/wl; WLR=$D/wl-lr; mkdir -p "$W" "$WLR"
		n=$RUNS
		if [ "$size" -ge 1024 ]; then n=$BIG_RUNS; fi

		# Machine limits, same run, same filesystem: dd of the same size
		# (plain bs=1M from a page-cached file, no fsync: CRIU does not fsync),
		# and filling anonymous memory from a file of that size.
		nlim=$RUNS
		if [ "$MODE" = quick ]; then nlim=3; fi
		for r in $(seq "$nlim"); do
			t0=$(date +%s%N)
			dd if="$REF" of="$D/dd.bin" bs=1M count="$size" status=none
			t1=$(date +%s%N)
			ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e6}')
			echo "{\"size\":\"$size\",\"fs\":\"$fs\",\"run\":$r,\"op\":\"limit-dd\",\"contender\":\"dd\",\"wall_ms\":$ms,\"ok\":true}" >>"$RAW"
			f=$("$B/bench_ckpt" fill "$D/dd.bin")
			fill_ms=
			[[ $f =~ \"fill_ms\":([0-9.]+) ]] && fill_ms=${BASH_REMATCH[1]}
			echo "{\"size\":\"$size\",\"fs\":\"$fs\",\"run\":$r,\"op\":\"limit-fill\",\"contender\":\"fill\",\"wall_ms\":$fill_ms,\"ok\":true}" >>"$RAW"
			rm -f "$D/dd.bin"
		done

		# dump (task killed): a fresh workload per run.
		RIMG=
		for r in $(seq "$n"); do
			for c in $CONTENDERS; do
				pid=$("$B/bench_ckpt" spawn "$B/bench_workload" "$W" "$size")
				img=$D/img-dump-$c-$r; mkdir -p "$img"
				j=$(run_op "$c" dump "$pid" "$img")
				kill -9 "$pid" 2>/dev/null || true   # only if the dump failed
				gone "$pid" || log "workload $pid not reaped"
				record "$size" "$fs" "$j" "\"run\":$r,$(stats_of "$img")"
				if [ -z "$RIMG" ] && [[ $j == *'"ok":true'* ]]; then
					RIMG=$D/restore-img; mv "$img" "$RIMG"
				else
					rm -rf "$img"
				fi
			done
		done

		# dump --leave-running: one workload, a fresh images dir per run.
		WL_LR=$("$B/bench_ckpt" spawn "$B/bench_workload" "$WLR" "$size")
		for r in $(seq "$n"); do
			for c in $CONTENDERS; do
				img=$D/img-lr; rm -rf "$img"; mkdir -p "$img"
				j=$(run_op "$c" dump-lr "$WL_LR" "$img")
				record "$size" "$fs" "$j" "\"run\":$r,$(stats_of "$img")"
			done
		done
		# ckpt_client_prepare: criu started ahead (while the workload runs, here
		# 100 ms before the request) vs started by the request; timed from the request.
		for r in $( [ "$MODE" = quick ] || seq "$RUNS"); do
			for p in no yes; do
				img=$D/img-lr; rm -rf "$img"; mkdir -p "$img"
				if [ "$p" = yes ]; then
					j=$("$B/bench_ckpt" --prepare-ms 100 --contender libckpt-swrk-prepared dump-lr "$WL_LR" "$img" | grep '^{"op"')
				else
					j=$("$B/bench_ckpt" --contender libckpt-swrk-unprepared dump-lr "$WL_LR" "$img" | grep '^{"op"')
				fi
				record "$size" "$fs" "$j" "\"run\":$r,\"extra\":\"prepare\""
			done
		done
		rm -rf "$D/img-lr"
		kill -9 "$WL_LR"; gone "$WL_LR" || true; WL_LR=

		# restore: from one dump's images, every restore verified by checksum.
		if [ -n "$RIMG" ]; then
			for r in $(seq "$n"); do
				for c in $CONTENDERS; do
					j=$(run_op "$c" restore "$RIMG" "$W")
					record "$size" "$fs" "$j" "\"run\":$r"
				done
			done
		else
			log "no successful dump at $size MiB on $fs: no restore rows"
		fi
		rm -rf "$D"
		log "$size MiB on $fs done ($SECONDS s)"
	done
done

# ---------------------------------------------------------------- kinds of restore
# The HTTP server holding KIND_MIB of pseudo-random memory, dumped once (killed,
# so its port is free); then restored again and again from those images, the
# kinds interleaved, the page cache dropped before each (bench_ckpt restore-kind).
KD=$WORK/disk/kinds
PORT=${BENCH_PORT:-18622}
KINDS="libckpt-plain criu-cli-plain criu-cli-lazy"
if grep -q '^BENCH_HAVE_LAZY:INTERNAL=ON' "$WORK/build/CMakeCache.txt"; then
	KINDS="libckpt-plain libckpt-lazy criu-cli-plain criu-cli-lazy"
else
	log "libckpt built without ckpt_restore_lazy: no libckpt-lazy rows"
fi
if "$CKPT_BIN" restore --help 2>&1 | grep -qE -- '--lazy([ ,]|$)'; then
	KINDS="$KINDS ckpt-cli-lazy"
fi
rm -rf "$KD"; mkdir -p "$KD/wl" "$KD/img"
spid=$("$B/bench_ckpt" spawn-server "$KD/wl" "$KIND_MIB" "$PORT" || true)
if [ -n "$spid" ]; then
	j=$("$B/bench_ckpt" dump "$spid" "$KD/img" 2>>"$WORK/ops.log" | grep '^{"op"' || true)
	kill -9 "$spid" 2>/dev/null || true
	gone "$spid" || log "server $spid not reaped"
	record "$KIND_MIB" disk "$j" "\"extra\":\"kinds\",$(stats_of "$KD/img")"
	if [[ $j == *'"ok":true'* ]]; then
		for r in $(seq "$KIND_RUNS"); do
			for k in $KINDS; do
				j=$("$B/bench_ckpt" --ckpt "$CKPT_BIN" restore-kind "$k" "$KD/img" "$KD/wl" "$PORT" \
					2>>"$WORK/ops.log" | grep '^{"op"' || true)
				record "$KIND_MIB" disk "$j" "\"run\":$r"
			done
		done
	fi
else
	log "the HTTP server did not start on 127.0.0.1:$PORT (BENCH_PORT picks another): no kinds rows"
fi
rm -rf "$KD"
log "kinds of restore done ($SECONDS s)"

# ---------------------------------------------------------------- report
MACHINE=$(printf 'nproc=%s; mem=%s; kernel=%s; disk fs=%s; tmpfs=%s' "$(nproc)" \
	"$(free -h | awk '/^Mem:/{print $2}')" "$(uname -r)" \
	"$(findmnt -no FSTYPE -T "$WORK/disk") ($(findmnt -no SOURCE -T "$WORK/disk"))" \
	"$(mountpoint -q "$WORK/tmpfs" 2>/dev/null && echo "tmpfs size=6g at bench/work/tmpfs" || echo "not used")")
VERSIONS=$(printf 'CRIU %s (%s); libcriu %s (Debian forky libcriu2/libcriu-dev, %s); libckpt %s (%s)' \
	"$("$CKPT_CRIU" --version | sed -n 's/Version: //p')" "$CKPT_CRIU" \
	"$(sed -n 's/^Version: *//p' "$LIBCRIU_ROOT/usr/lib/x86_64-linux-gnu/pkgconfig/criu.pc")" \
	"$LIBCRIU_ROOT/usr/lib/x86_64-linux-gnu/libcriu.so.2" \
	"$("$CKPT_BIN" --criu "$CKPT_CRIU" version 2>/dev/null | head -n1 | tr -d '\n')" \
	"git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- lib include 2>/dev/null || echo '+dirty')")
python3 "$ROOT/bench/report.py" --raw "$RAW" --md "$ROOT/bench/results.md" --json "$ROOT/bench/results.json" \
	--mode "$MODE" --runs "$RUNS" --big-runs "$BIG_RUNS" --kind-runs "$KIND_RUNS" --kind-mib "$KIND_MIB" \
	--load-runs "$LOAD_RUNS" --machine "$MACHINE" --versions "$VERSIONS" \
	--elapsed "$(( $(date +%s) - START ))"
