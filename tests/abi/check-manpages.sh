#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The reference pages against the library:
#   check-manpages.sh MAN3_DIR LIBCKPT_SYM INCLUDE_DIR
# - every exported name (lib/libckpt.sym) has a page or a link page, and every name a page
#   lists in its NAME line is exported (or the page's own name);
# - every link page points to a page that exists;
# - every page is clean for groff -man -ww (no warning);
# - every option key (CKPT_OPT_*) and error code (CKPT_E*) of the public headers is described.
# One "case: NAME: ok|FAILED" line per check.
set -u
man3=$1 sym=$2 incdir=$3
failed=0
result() { # name ok? detail...
	local name=$1 ok=$2
	shift 2
	if [ "$ok" = 1 ]; then
		echo "case: $name: ok"
	else
		echo "case: $name: FAILED"
		printf '  %s\n' "$@"
		failed=1
	fi
}
command -v groff >/dev/null || { echo "case: man_groff: FAILED"; echo "  groff missing (groff-base)"; exit 1; }

exported=$(sed -n 's/^[[:space:]]*\(ckpt_[a-z0-9_]*\);.*/\1/p' "$sym" | sort -u)
missing=$(for s in $exported; do [ -f "$man3/$s.3" ] || echo "$s"; done | tr '\n' ' ')
result man_every_symbol_documented "$([ -z "$missing" ] && echo 1 || echo 0)" "no page for: $missing"

pages=() links=() msgs=()
for f in "$man3"/*.3; do
	if head -n1 "$f" | grep -q '^\.so '; then
		links+=("$f")
	else
		pages+=("$f")
	fi
done
for f in "${links[@]}"; do
	target=$(sed -n 's/^\.so man3\/\(.*\)$/\1/p' "$f")
	[ -f "$man3/$target" ] || msgs+=("$(basename "$f") -> $target: no such page")
done
for f in "${pages[@]}"; do
	page=$(basename "$f" .3)
	names=$(sed -n '/^\.SH NAME/{n;p;q}' "$f" | sed 's/ \\- .*//; s/, /\n/g')
	for n in $names; do
		[ "$n" = "$page" ] || grep -qx "$n" <<<"$exported" || msgs+=("$page.3 lists $n, which is not exported")
	done
done
result man_links_and_names "$([ ${#msgs[@]} -eq 0 ] && echo 1 || echo 0)" "${msgs[@]}"

for f in "${pages[@]}"; do
	out=$(groff -man -ww -z -Tutf8 "$f" 2>&1)
	result "man_lint:$(basename "$f")" "$([ -z "$out" ] && echo 1 || echo 0)" "$out"
done

consts=$(cat "$incdir"/ckpt/*.h | grep -oE '\bCKPT_(OPT_[A-Z0-9_]+|E[A-Z_]+) = ' | sed 's/ = //' | sort -u)
undoc=$(for c in $consts; do grep -q -- "$c" "${pages[@]}" || echo "$c"; done | tr '\n' ' ')
result man_constants_documented "$([ -z "$undoc" ] && echo 1 || echo 0)" "not in any page: $undoc"
echo "man: ${#pages[@]} pages, ${#links[@]} links, $(grep -c . <<<"$exported") exported names"
exit $failed
