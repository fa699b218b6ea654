#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/check-layout.sh against trees with one planted violation each. Every planted case
# works on a fresh copy of lib/, cli/, include/ and proto/ (what the script reads) in a scratch
# directory, and passes when the script exits 1 with a line naming the rule and the planted
# FILE:LINE: so it holds whatever the real tree's own state. A few cases plant what must NOT
# be flagged (a comment, a read, a pack, a child's _exit, a const table). layout_tree_clean is the real tree itself: it passes
# only when the script finds nothing there.
#
#   tests/layout/test_check_layout.sh
#
# Prints one `case: NAME: ok|FAILED` line per check; exits 1 if one failed. No build, no CRIU.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$ROOT/scripts/check-layout.sh
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-layout.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
FAILED=0

ok() { echo "case: $1: ok"; }
failed() { # NAME WHY...
	echo "case: $1: FAILED"
	shift
	printf '  %s\n' "$@"
	FAILED=1
}

# layout NAME DIR: run the script on DIR; its output in $SCRATCH/NAME.out, its exit code in RC
layout() {
	RC=0
	"$CHECK" "$2" >"$SCRATCH/$1.out" 2>&1 || RC=$?
}

# fresh NAME: a pristine copy of the tree in $SCRATCH/NAME (its path in TREE)
fresh() {
	TREE=$SCRATCH/$1
	mkdir -p "$TREE"
	cp -a "$ROOT/lib" "$ROOT/cli" "$ROOT/include" "$ROOT/proto" "$TREE/"
}

# plant NAME FILE TEXT: append TEXT (one line or more) to FILE of a fresh copy; LINE is the
# number of TEXT's first line, where the violation is
plant() {
	fresh "$1"
	LINE=$(($(wc -l <"$TREE/$2") + 1))
	printf '%s\n' "$3" >>"$TREE/$2"
}

# put FILE LINE...: a new file of the fresh copy, the lines given
put() {
	local file=$TREE/$1
	shift
	printf '%s\n' "$@" >"$file"
}

# named NAME FILE:LINE RULE [WORD]: whether the output has a RULE line naming FILE:LINE (as its
# place or inside its explanation, as a cycle's arrows do) and saying WORD
named() {
	grep -F -e "$2:" -e "$2 " "$SCRATCH/$1.out" | grep -F ": $3: " | grep -qF -e "${4:-: $3: }"
}

# expect NAME FILE RULE [WORD]: the script fails, naming RULE and FILE:LINE (and saying WORD)
expect() {
	local name=$1 file=$2 rule=$3 word=${4:-}
	layout "$name" "$TREE"
	if [ "$RC" -ne 1 ]; then
		failed "$name" "expected exit 1, got $RC"
		sed 's/^/  | /' "$SCRATCH/$name.out" | head -n 5
	elif ! named "$name" "$file:$LINE" "$rule" "$word"; then
		failed "$name" "no \"$rule\" line names $file:$LINE${word:+ saying \"$word\"}; the output:"
		sed 's/^/  | /' "$SCRATCH/$name.out" | head -n 20
	else
		ok "$name"
	fi
}

# expect_quiet NAME FILE [N]: what was planted at FILE:LINE (and the N-1 lines after it) is
# no violation
expect_quiet() {
	local name=$1 file=$2 n=${3:-1} l pats=()
	for ((l = LINE; l < LINE + n; l++)); do
		pats+=(-e "$file:$l:" -e "$file:$l ")
	done
	layout "$name" "$TREE"
	if [ "$RC" -gt 1 ]; then
		failed "$name" "the script failed (exit $RC)"
		sed 's/^/  | /' "$SCRATCH/$name.out" | head -n 5
	elif grep -qF "${pats[@]}" "$SCRATCH/$name.out"; then
		failed "$name" "flagged, but is not a violation:"
		grep -F "${pats[@]}" "$SCRATCH/$name.out" | sed 's/^/  | /'
	else
		ok "$name"
	fi
}

# ---- the real tree, and its copy ---------------------------------------------------------
layout real "$ROOT"
if [ "$RC" -eq 0 ]; then
	ok layout_tree_clean
else
	failed layout_tree_clean "scripts/check-layout.sh exits $RC on the tree: $(tail -n 1 "$SCRATCH/real.out")" \
		"(run scripts/check-layout.sh to see each violation)"
fi

# The copy holds everything the script reads: it reports the same as on the real tree.
fresh pristine
layout pristine "$TREE"
if [ "$RC" -le 1 ] && cmp -s "$SCRATCH/real.out" "$SCRATCH/pristine.out"; then
	ok layout_copy_faithful
else
	failed layout_copy_faithful "the copy's report (exit $RC) differs from the real tree's:"
	diff "$SCRATCH/real.out" "$SCRATCH/pristine.out" | head -n 10 | sed 's/^/  | /'
fi

# ---- one violation each ------------------------------------------------------------------
plant climb lib/base/util.c '#include "rpc/opts.h"'
expect climb lib/base/util.c climb

plant climb_same_layer lib/net/netns.c '#include "images/imgdir.h"'
expect climb_same_layer lib/net/netns.c climb

plant include_unresolved lib/base/util.c '#include "opts.h"'
expect include_unresolved lib/base/util.c include

fresh rank
mkdir "$TREE/lib/extra"
put lib/extra/extra.c '/* extra: a folder with no layer */' '#include "extra.h"'
put lib/extra/extra.h '/* extra */'
LINE=1
expect rank lib/extra/extra.c rank

plant proc_literal lib/rpc/client.c 'static const char planted_path[] = "/proc/self/status";'
expect proc_literal lib/rpc/client.c proc

plant proc_syscall lib/ops/ops.c 'static long planted_gettid(void) { return syscall(186); }'
expect proc_syscall lib/ops/ops.c proc

plant proc_comment lib/rpc/client.c '/* reads "/proc/self/fd" as syscall(2) would */'
expect_quiet proc_comment lib/rpc/client.c

plant protobuf_member_write lib/ops/ops.c 'static void planted_write(struct request *rq) { rq->req.opts->has_pid = 1; }'
expect protobuf_member_write lib/ops/ops.c protobuf

plant protobuf_local_write lib/migrate/source.c 'static void planted_write(CriuOpts *pb) { pb->ps->port = 1; }'
expect protobuf_local_write lib/migrate/source.c protobuf

plant protobuf_init lib/migrate/source.c 'static void planted_init(CriuReq *r) { criu_req__init(r); }'
expect protobuf_init lib/migrate/source.c protobuf

plant protobuf_read lib/ops/ops.c 'static int planted_read(struct request *rq) { return rq->req.opts->has_pid == 1 && rq->req.opts->pid >= 1; }'
expect_quiet protobuf_read lib/ops/ops.c

plant protobuf_pack lib/ops/ops.c 'static size_t planted_pack(struct request *rq, uint8_t *b) { return criu_req__get_packed_size(&rq->req) + criu_req__pack(&rq->req, b); }'
expect_quiet protobuf_pack lib/ops/ops.c

fresh header
put lib/rpc/orphan.c '/* orphan: a .c with no orphan.h */' '#include "client.h"' '' \
	'int orphan_count(void)' '{' '	return 0;' '}'
LINE=4
expect header lib/rpc/orphan.c header

# The cycles are planted whole, in new files: they hold whatever arrows the tree has (a
# folder cycle names, for each arrow, its first include: base/planted.h is the only one up).
fresh cycle_folders
put lib/base/planted.h '/* planted: base -> diagnose */' '#include "diagnose/planted.h"'
put lib/diagnose/planted.h '/* planted: diagnose -> base */' '#include "base/planted.h"'
LINE=2
expect cycle_folders lib/base/planted.h cycle folders

fresh cycle_files
put lib/rpc/planted-a.h '/* planted: a -> b */' '#include "planted-b.h"'
put lib/rpc/planted-b.h '/* planted: b -> a */' '#include "planted-a.h"'
LINE=2
expect cycle_files lib/rpc/planted-b.h cycle modules

fresh cycle_cli_calls
put cli/planted-a.c '/* planted: a calls b (no prototype: nothing here is compiled) */' \
	'int planted_a(void)' '{' '	return planted_b();' '}'
put cli/planted-b.c '/* planted: b calls a */' 'int planted_b(void)' '{' '	return planted_a() + 1;' '}'
LINE=4
expect cycle_cli_calls cli/planted-b.c cycle modules

# The library never prints nor exits: but a forked child may _exit() before its exec.
plant quiet_printf lib/rpc/client.c 'static void planted_say(int n) { fprintf(stderr, "planted %d\n", n); }'
expect quiet_printf lib/rpc/client.c quiet 'fprintf()'

plant quiet_exit lib/ops/ops.c 'static void planted_die(void) { exit(1); }'
expect quiet_exit lib/ops/ops.c quiet 'exit()'

plant quiet_exit_child_ok lib/rpc/swrk.c 'static void planted_child(void) { _exit(127); }'
expect_quiet quiet_exit_child_ok lib/rpc/swrk.c

# No mutable state with static storage; const tables are fine.
plant global_static lib/base/util.c 'static int counter;'
expect global_static lib/base/util.c global counter

plant global_local_static lib/base/util.c 'static int planted_next(void)
{
	static int n;

	return ++n;
}'
LINE=$((LINE + 2))
expect global_local_static lib/base/util.c global 'n: '

plant global_const_ok lib/base/util.c 'static const int table[] = {1};
static const char *const names[] = {"a"};'
expect_quiet global_const_ok lib/base/util.c 2

plant global_ptr_array lib/base/util.c 'static const char *names[] = {"a"};'
expect global_ptr_array lib/base/util.c global names

# The tables of the libraries loaded on first use (DL_TABLES) are the one exception, by name:
# another static in such a file is flagged, and a listed table that is gone is reported.
plant global_dl_unlisted lib/net/dl-nl.c 'static int planted_cache;'
expect global_dl_unlisted lib/net/dl-nl.c global planted_cache

fresh global_dl_gone
sed -i 's/dl_nl_table/planted_nl_table/g' "$TREE/lib/net/dl-nl.c"
LINE=1
expect global_dl_gone lib/net/dl-nl.c global 'DL_TABLES lists dl_nl_table'

exit $FAILED
