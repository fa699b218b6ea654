#!/usr/bin/env bash
# Make a real CRIU checkpoint of a tiny process that touches some memory.
#
#   tests/integration/make-test-images.sh CRIU DIR [MIB]
#
# CRIU is the criu binary to use, DIR the images directory (created if
# missing; it must not already hold inventory.img), MIB the MiB of memory
# the process fills with a non-zero pattern (default 8). The process is a
# compiled C program when a C compiler is found, else sleep(1). It is
# dumped (and so killed) with `criu dump -v4 -o dump.log`; its pid goes to
# stdout and DIR/test.pid, and DIR/test.comm holds its comm. Needs root.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	sed -n '2,11p' "$0" >&2
	exit 2
fi
CRIU=$1
DIR=$2
MIB=${3:-8}
case $MIB in
'' | *[!0-9]*) echo "make-test-images: MIB must be a number" >&2; exit 2 ;;
esac

[ -x "$CRIU" ] || { echo "make-test-images: $CRIU is not executable" >&2; exit 1; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ ! -e "$DIR/inventory.img" ] || { echo "make-test-images: $DIR already holds a checkpoint" >&2; exit 1; }

TMP=$(mktemp -d)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -9 "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

CC=${CC:-$(command -v cc || command -v gcc || command -v clang || true)}
if [ -n "$CC" ]; then
	cat >"$TMP/memtouch.c" <<'CEOF'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t n = (size_t)atoi(argv[1]) << 20;
	unsigned char *p = malloc(n);
	size_t i;

	if (!p)
		return 1;
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + 7) | 1; /* non-zero: no zero-page skipping */
	/* Tell the script we are ready: fd 3 is a pipe, closed here. */
	close(3);
	for (;;)
		pause();
}
CEOF
	"$CC" -O1 -o "$TMP/ckpt-memtouch" "$TMP/memtouch.c"
	COMM=ckpt-memtouch
	mkfifo "$TMP/ready"
	setsid "$TMP/ckpt-memtouch" "$MIB" 3>"$TMP/ready" </dev/null >/dev/null 2>&1 &
	PID=$!
	disown "$PID" # no "Killed" job report when the dump kills it
	cat "$TMP/ready" >/dev/null # returns once the child closed fd 3
else
	COMM="sleep"
	setsid sleep 100000 </dev/null >/dev/null 2>&1 &
	PID=$!
	disown "$PID"
	sleep 0.5
fi

kill -0 "$PID" 2>/dev/null || { echo "make-test-images: the test process died" >&2; exit 1; }

if ! "$CRIU" dump -t "$PID" -D "$DIR" -v4 -o dump.log; then
	echo "make-test-images: criu dump failed, see $DIR/dump.log" >&2
	exit 1
fi
# A successful dump kills the tree (bash reaps it: it stays our child).
echo "$PID" >"$DIR/test.pid"
echo "$COMM" >"$DIR/test.comm"
echo "$PID"
