#!/bin/bash
# Errors that explain themselves, through `ckpt`, against real CRIU and real
# processes: the decisive line first (never the harmless rlimit line), then
# `hint:` with ckpt's own flag, the same in --json, and --check-only seeing it
# before anything is frozen.
#
#   test_cli_errors.sh PATH/TO/ckpt PATH/TO/diag-target
#
# Needs root and $CKPT_CRIU. Prints one `case: NAME: ok|FAILED` line per check.
set -u
CKPT=$(realpath "${1:?usage: test_cli_errors.sh CKPT DIAG_TARGET}")
TARGET=$(realpath "${2:?usage: test_cli_errors.sh CKPT DIAG_TARGET}")
PY=$(command -v python3)
T=$(mktemp -d /tmp/ckpt-cli-errors.XXXXXX)
PIDS=()
FAILED=0

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case_() { # case_ NAME CMD...: one case line
	local name=$1
	shift
	if "$@"; then
		echo "case: cli-errors $name: ok"
	else
		echo "case: cli-errors $name: FAILED"
		FAILED=$((FAILED + 1))
		sed 's/^/#   /' "$T/err" 2>/dev/null | head -n 12
	fi
}

# run ARGS...: ckpt ARGS, stdout in $T/out, stderr in $T/err, exit code in RC
run() {
	"$CKPT" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
rc_is() { [ "$RC" = "$1" ]; }
# the error's first line, after the progress lines: "ckpt COMMAND: ..."
headline() { grep -m1 '^ckpt [a-z-]*: ' "$T/err"; }
headline_has() { headline | grep -q -- "$1"; }
headline_lacks() { headline | grep -q . && ! headline | grep -q -- "$1"; }
hint_has() { grep '^ *hint: ' "$T/err" | grep -q -- "$1"; }
json_error() { # json_error KEY EXPR: python expression on the error's KEY value is true
	"$PY" - "$T/out" "$1" "$2" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))["error"]
v = e[sys.argv[2]]
sys.exit(0 if v is not None and eval(sys.argv[3]) else 1)
PYEOF
}
json_keys() { # every key the man page lists is there, even for an early failure
	"$PY" - "$T/out" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))["error"]
want = {"code", "name", "message", "step", "criu_errno", "sys_errno", "log_path", "criu_log",
        "hint", "hint_flag", "images_kept", "outcome_unknown", "exit_code"}
sys.exit(0 if want <= set(e) else 1)
PYEOF
}
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# start [-n] MODE [ARG]: diag-target in the background; sets TPID (the pid to dump)
start() {
	rm -f "$T/pid"
	"$TARGET" "$@" >/dev/null 2>&1 &
	BG=$!
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$T/pid" ] && break
		sleep 0.05
	done
	TPID=$(cat "$T/pid")
	PIDS+=("$TPID")
}
stop() { kill -9 "$TPID" 2>/dev/null; }
cd "$T" || exit 1

# ---- a process that is not a session leader ----
start -n "$T/pid" sleep
run checkpoint --image-path nsl "$TPID"
case_ "not-session-leader fails" rc_is 1
# CRIU says "is not a session leader", or, where this shell's session leader is outside the
# pid namespace (a CI runner in a container: session 0), "A session leader of N is outside of its
# pid namespace"; both are fixed by --shell-job.
case_ "not-session-leader headline is CRIU's reason" headline_has "session leader"
case_ "the rlimit line is never the headline" headline_lacks "RLIMIT_NOFILE"
case_ "not-session-leader hint names --shell-job" hint_has "--shell-job"
case_ "the target still runs" running "$TPID"
run --json checkpoint --image-path nsl "$TPID"
case_ "not-session-leader --json hint" json_error hint "'--shell-job' in v"
case_ "not-session-leader --json hint_flag is --shell-job" json_error hint_flag "v == '--shell-job'"
case_ "not-session-leader --json message is the decisive line" json_error message "'session leader' in v"
run checkpoint --check-only "$TPID"
case_ "--check-only sees it before dumping (exit 1)" rc_is 1
case_ "--check-only hint names --shell-job" hint_has "--shell-job"
case_ "--check-only dumped nothing" test ! -e checkpoint
stop

# ---- a file lock ----
start "$T/pid" flock "$T/lockfile"
run --json checkpoint --check-only "$TPID"
case_ "--check-only --json names the file lock" grep -q '"file-locks"' "$T/out"
run checkpoint --image-path fl "$TPID"
case_ "file lock: dump fails" rc_is 1
case_ "file lock: headline" headline_has "file locks"
case_ "file lock: hint names --file-locks" hint_has "--file-locks"
run checkpoint --leave-running --file-locks --image-path fl2 "$TPID"
case_ "file lock: --file-locks dumps it" rc_is 0
stop

# ---- an established TCP connection ----
start "$T/pid" tcp
run checkpoint --image-path tcp "$TPID"
case_ "tcp: dump fails" rc_is 1
case_ "tcp: headline names the connected socket" headline_has "TCP"
case_ "tcp: hint names --tcp-established" hint_has "--tcp-established"
stop

# ---- the pid taken at restore (the original still runs) ----
start "$T/pid" sleep
run checkpoint --leave-running --image-path lr "$TPID"
case_ "leave-running dump" rc_is 0
run restore -d --image-path lr
case_ "restore over the running original fails" rc_is 1
case_ "pid taken: headline" headline_has "Can't fork for $TPID"
case_ "pid taken: hint names the holder" hint_has "running process 'diag-target'"
stop

# ---- an early failure: every key in --json ----
run --json checkpoint --image-path x 0
case_ "usage error exits 2" rc_is 2
case_ "an early --json failure has every key" json_keys
run --json checkpoint --log-level 9 1
case_ "--log-level 9 is a usage error" rc_is 2
run --json checkpoint --image-path x 999999999
case_ "a missing pid: every key too" json_keys
# A name that is not UTF-8 (a path may hold any bytes): the --json error is still valid UTF-8,
# the bad byte shown as U+FFFD (here in log_path, after CRIU refused the dump).
start -n "$T/pid" sleep
run --json checkpoint --image-path "$T/bad-"$'\xff'"-name" "$TPID"
case_ "a non-UTF-8 path: the dump fails (exit 1)" rc_is 1
case_ "a non-UTF-8 path: the --json error is strict UTF-8 JSON" "$PY" -c '
import json, sys
e = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))["error"]
sys.exit(0 if "bad-\ufffd-name" in (e["log_path"] or "") else 1)' "$T/out"
stop

# ---- the first hour at the shell (issue 20): flags, not library names ----
start "$T/pid" sleep
run checkpoint --leave-running --image-path twice "$TPID"
run checkpoint --leave-running --image-path twice "$TPID"
case_ "a second dump into a checkpoint is refused (exit 1)" rc_is 1
case_ "... naming --force" headline_has "(--force)"
case_ "no message of the CLI's names a CKPT_OPT_ key" bash -c "! grep -q CKPT_OPT_ '$T/err'"
run --json checkpoint --leave-running --image-path twice "$TPID"
case_ "... nor its --json" bash -c "! grep -q CKPT_OPT_ '$T/out'"
# /var/run is root's symlink to /run on Debian: followed; one another user planted is not
rm -rf "/run/ckpt-cli-errors-$$"
run checkpoint --leave-running --image-path "/var/run/ckpt-cli-errors-$$" "$TPID"
case_ "--image-path under /var/run (root's symlink) is followed (exit 0)" rc_is 0
rm -rf "/run/ckpt-cli-errors-$$" "/run/.ckpt-cli-errors-$$".*
mkdir -m 1777 "$T/shared" && ln -s "$T" "$T/shared/link" && chown -h 65534 "$T/shared/link"
run checkpoint --leave-running --image-path "$T/shared/link/planted" "$TPID"
case_ "a symlink another user owns is refused (exit 1)" rc_is 1
case_ "... saying who owns it" headline_has "owned by uid 65534"
case_ "... and naming --follow-symlinks" hint_has "--follow-symlinks"
run --json checkpoint --leave-running --image-path "$T/shared/link/planted" "$TPID"
case_ "... its --json hint_flag is --follow-symlinks" json_error hint_flag "v == '--follow-symlinks'"
run checkpoint --leave-running --follow-symlinks --image-path "$T/shared/link/planted" "$TPID"
case_ "--follow-symlinks follows it (exit 0)" rc_is 0
stop

# pid 1, kernel threads, ckpt itself and its ancestors: refused before anything is frozen
run checkpoint 1
case_ "pid 1 is refused (exit 1)" rc_is 1
case_ "... as init, nothing frozen" headline_has "pid 1 is the init of this pid namespace"
case_ "... and pid 1 runs on, not frozen" bash -c "! grep -q '^State:.*[tT] (' /proc/1/status"
run checkpoint --check-only 1
case_ "--check-only 1 names init (exit 1)" bash -c "[ $RC = 1 ] && grep -q 'pid 1 is the init' '$T/err'"
run checkpoint 2
case_ "pid 2 (kthreadd) is refused as a kernel thread" bash -c "[ $RC = 1 ] && grep -q 'kernel thread' '$T/err'"
run checkpoint --check-only 2
case_ "--check-only 2 names a kernel thread, not --shell-job" bash -c \
	"[ $RC = 1 ] && grep -q 'kernel thread' '$T/err' && ! grep -q 'shell-job' '$T/err'"
run checkpoint --check-only --json 2
case_ "... its --json finding is 'undumpable'" grep -q '"undumpable"' "$T/out"
run checkpoint $$
case_ "this shell (an ancestor of ckpt) is refused" bash -c "[ $RC = 1 ] && grep -q 'ancestor of this ckpt' '$T/err'"

# criu that is not a criu, none at all, and a deadline
run --criu /bin/true version
case_ "--criu /bin/true: criu unusable (exit 3)" rc_is 3
case_ "... saying it does not speak CRIU's RPC" headline_has "does not speak CRIU's RPC"
case_ "... no log path that does not exist" bash -c "! grep -q '^see ' '$T/err'"
env -u CKPT_CRIU PATH=/nonexistent "$CKPT" version >"$T/out" 2>"$T/err"
RC=$?
# the test builds set no CKPT_CRIU_DEFAULT: nothing is found
case_ "no criu anywhere: exit 3" rc_is 3
case_ "... and the hint names --criu PATH" hint_has "--criu PATH"
printf '#!/bin/sh\nexec sleep 30\n' >"$T/slow-criu" && chmod +x "$T/slow-criu"
run --criu "$T/slow-criu" --timeout 1 version
case_ "a deadline passed: exit 4" rc_is 4
case_ "... the hint names --timeout" hint_has "--timeout SECONDS"

# ---- an archive of a TCP server restored with no flag given: the checkpoint recorded them ----
start "$T/pid" tcp
run checkpoint --tcp-established --network-lock nftables --export "$T/tcp.tar.zst" "$TPID"
case_ "an archive of a tree with an established TCP connection (exit 0)" rc_is 0
wait "$BG" 2>/dev/null # the dumped tree is gone: its pid is free again
run inspect "$T/tcp.tar.zst"
case_ "inspect shows the flags a restore needs" \
	grep -q "Restore flags: --tcp-established --network-lock nftables" "$T/out"
run restore --import "$T/tcp.tar.zst" -d --ignore-recorded-flags
case_ "without them the restore fails (as before the record)" rc_is 1
run restore --import "$T/tcp.tar.zst" -d
case_ "restore --import with no flag given restores it (exit 0)" rc_is 0
case_ "... saying which flags it applied" grep -q "applying --tcp-established --network-lock nftables" "$T/err"
case_ "... and it runs with its pid" bash -c "[ \"\$(cat '$T/out')\" = '$TPID' ] && kill -0 '$TPID'"
stop

# a record is untrusted (an archive's comes from whoever made it): a bad value is refused
# naming where it came from; a line that is no restore flag is named and never applied
mkdir -m 700 "$T/rec"
printf '%s\n' '--network-lock bogus' >"$T/rec/ckpt-flags"
run restore -d --image-path "$T/rec"
case_ "a recorded bad value: usage error (exit 2) naming ckpt-flags" \
	bash -c "[ $RC = 2 ] && grep -q -- \"--network-lock 'bogus'\" '$T/err' && grep -q 'from ckpt-flags' '$T/err'"
printf '%s\n' '--criu /tmp/evil' '--leave-running' >"$T/rec/ckpt-flags"
run restore -d --image-path "$T/rec"
case_ "recorded lines that are no restore flag are named and ignored" bash -c \
	"grep -q \"'--criu /tmp/evil' is no flag a restore takes: ignored\" '$T/err' && ! grep -q '^applying' '$T/err'"

# ---- ckpt SIGKILLed mid-dump (a crash, an OOM kill): the next dump beside it cleans up ----
mkdir "$T/kill"
rm -f "$T/bigpid"
setsid "$PY" -c 'import os, sys, time
b = bytearray(os.urandom(1 << 20)) * 768
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(600)' "$T/bigpid" </dev/null >/dev/null 2>&1 &
for _ in $(seq 200); do [ -s "$T/bigpid" ] && break; sleep 0.05; done
BIG=$(cat "$T/bigpid")
PIDS+=("$BIG")
"$CKPT" checkpoint -q --leave-running --image-path "$T/kill/big" "$BIG" >/dev/null 2>&1 &
KP=$!
sleep 0.3
kill -9 "$KP"
wait "$KP" 2>/dev/null
left=$(find "$T/kill" -maxdepth 1 -name '.big.ckpt-tmp-*' | head -n 1)
case_ "a ckpt killed 0.3 s into a 768 MiB dump leaves its staging directory" test -n "$left"
# its criu goes on until it notices: the directory stays locked until then
for _ in $(seq 300); do flock -n "$left" true 2>/dev/null && break; sleep 0.1; done
case_ "... and the tree runs on" kill -0 "$BIG"
start "$T/pid" sleep
run checkpoint --image-path "$T/kill/next" "$TPID"
case_ "the next dump beside it succeeds (exit 0)" rc_is 0
case_ "... says what it removed" grep -q "removed 1 staging directory left by dumps that died" "$T/err"
case_ "... and nothing is left behind" bash -c "[ -z \"\$(ls -A '$T/kill' | grep -v '^next\$')\" ]"
kill -9 "$BIG" 2>/dev/null

# ---- --export without --image-path: the archive is the output, twice in a row ----
mkdir "$T/exp" && cd "$T/exp" || exit 1
start "$T/pid" sleep
run checkpoint --export a.tar.zst "$TPID"
case_ "--export without --image-path (exit 0)" rc_is 0
start "$T/pid" sleep
run checkpoint --export b.tar.zst "$TPID"
case_ "... twice in one directory (exit 0)" rc_is 0
case_ "... leaves only the two archives" bash -c "[ \"\$(ls -A '$T/exp' | tr '\n' ' ')\" = 'a.tar.zst b.tar.zst ' ]"
start "$T/pid" sleep
run checkpoint --export c.tar.zst --keep "$TPID"
case_ "--keep keeps the images beside the archive" bash -c "ls -d '$T'/exp/.ckpt-export-*/inventory.img >/dev/null"
kept=$(find . -maxdepth 1 -name '.ckpt-export-*' | wc -l)
run checkpoint --export d.tar.zst "$TPID"
case_ "--export of a pid that is gone fails (exit 1)" rc_is 1
case_ "... and makes no directory" bash -c "[ \"\$(find . -maxdepth 1 -name '.ckpt-export-*' | wc -l)\" = $kept ] && [ ! -e d.tar.zst ]"
cd "$T" || exit 1

echo "cli-errors: $FAILED failed"
[ "$FAILED" -eq 0 ]
