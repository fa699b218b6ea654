#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Completion and flags from one table: `ckpt __flags [COMMAND]` lists the tables getopt reads;
# every flag of each is in the command's --help, and the bash and fish completions (zsh: parsed
# only) offer every one of them. "did you mean" names the nearest flag of the command.
#
#   test_completion.sh CKPT CLI_SRC_DIR
#
# Prints one `case: completion: NAME: ok|FAILED` line per check.
set -u
CKPT=$(realpath "${1:?usage: test_completion.sh CKPT CLI_SRC_DIR}")
SRC=$(realpath "${2:?usage: test_completion.sh CKPT CLI_SRC_DIR}")
FAILED=0
T=$(mktemp -d /tmp/ckpt-completion.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin" && ln -s "$CKPT" "$T/bin/ckpt"
export PATH="$T/bin:$PATH"

case_() { # case_ NAME CMD...
	local name=$1
	shift
	if "$@"; then
		echo "case: completion: $name: ok"
	else
		echo "case: completion: $name: FAILED"
		FAILED=$((FAILED + 1))
	fi
}
# missing WANTED GOT: the words of WANTED that GOT lacks, one a line
missing() { comm -23 <(tr ' ' '\n' <<<"$1" | grep . | sort -u) <(tr ' ' '\n' <<<"$2" | grep . | sort -u); }

commands=$(ckpt __flags | grep -v -- '^-')
case_ "ckpt __flags lists the commands" grep -qx checkpoint <<<"$commands"
# bash: what _ckpt offers after "ckpt CMD --"
bash_offers() {
	bash -c 'source "$1"; COMP_WORDS=(ckpt $2 --); COMP_CWORD=${#COMP_WORDS[@]}; COMP_CWORD=$((COMP_CWORD - 1))
		_ckpt; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/ckpt.bash-completion" "$1"
}
for cmd in $commands; do
	[ "$cmd" = help ] && continue
	flags=$(ckpt __flags "$cmd" | sed 's/=$//' | tr '\n' ' ')
	case_ "$cmd: the table has flags" test -n "$flags"
	help=$(ckpt "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*(, --[a-z][a-z0-9-]*)?' |
		grep -oE -- '--[a-z][a-z0-9-]*' | tr '\n' ' ')
	m=$(missing "$flags" "$help" | tr '\n' ' ')
	case_ "$cmd: --help documents every flag of the table${m:+ (missing: $m)}" test -z "$m"
	m=$(missing "$flags" "$(bash_offers "$cmd" | tr '\n' ' ')" | tr '\n' ' ')
	case_ "$cmd: bash completion offers every flag${m:+ (missing: $m)}" test -z "$m"
	if command -v fish >/dev/null; then
		got=$(fish -c "source '$SRC/ckpt.fish'; complete -C'ckpt $cmd --'" | cut -f1 | tr '\n' ' ')
		m=$(missing "$flags" "$got" | tr '\n' ' ')
		case_ "$cmd: fish completion offers every flag${m:+ (missing: $m)}" test -z "$m"
	fi
done
m=$(missing "$commands" "$(bash -c 'source "$1"; COMP_WORDS=(ckpt ""); COMP_CWORD=1; _ckpt; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/ckpt.bash-completion" | tr '\n' ' ')" | tr '\n' ' ')
case_ "bash completion offers every command${m:+ (missing: $m)}" test -z "$m"
if command -v zsh >/dev/null; then
	case_ "the zsh completion parses" zsh -n "$SRC/_ckpt"
fi
case_ "the zsh completion reads ckpt __flags" grep -q '__flags' "$SRC/_ckpt"

# did you mean
out=$(ckpt checkpoint --tcp-establshed 1 2>&1)
case_ "a misspelt flag: usage error naming the nearest (--tcp-established)" \
	bash -c "[[ \$1 == *'did you mean --tcp-established?'* ]]" _ "$out"
out=$(ckpt restore --imprt x 2>&1)
case_ "... of the command's own flags (--import)" bash -c "[[ \$1 == *'did you mean --import?'* ]]" _ "$out"
out=$(ckpt checkpoint --zzzzzzzz 1 2>&1)
case_ "... and none when nothing is near" bash -c "[[ \$1 != *'did you mean'* ]]" _ "$out"
echo "completion: $FAILED case(s) failed"
[ "$FAILED" = 0 ]
