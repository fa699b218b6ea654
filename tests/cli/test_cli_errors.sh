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
        "hint", "hint_opt", "images_kept", "outcome_unknown", "exit_code"}
sys.exit(0 if want <= set(e) else 1)
PYEOF
}
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# start [-n] MODE [ARG]: diag-target in the background; sets TPID (the pid to dump)
start() {
	rm -f "$T/pid"
	"$TARGET" "$@" >/dev/null 2>&1 &
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
case_ "not-session-leader --json hint_opt is CKPT_OPT_SHELL_JOB (8)" json_error hint_opt "v == 8"
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

echo "cli-errors: $FAILED failed"
[ "$FAILED" -eq 0 ]
