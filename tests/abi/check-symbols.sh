#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exported symbols against lib/libckpt.sym and the public headers:
#   check-symbols.sh LIBCKPT_SO LIBCKPT_SYM SONAME INCLUDE_DIR VERSION [LIBCKPT_A]
# - the shared library exports exactly the names the .sym lists, each with the version of
#   its node, all ckpt_*, and has the SONAME given;
# - the stable nodes are LIBCKPT_0.1, then one per release, each chained to the one before;
#   the experimental node is LIBCKPT_EXPERIMENTAL_<MAJOR>.<MINOR> of this release and matches
#   CKPT_EXPERIMENTAL_NODE in experimental.h;
# - every CKPT_EXPORT function of the stable headers (all but experimental.h) is in a stable
#   node, every one of experimental.h in the experimental node, and every listed name is
#   declared in a header of its node;
# - the static archive (if given) defines no global name but those listed.
# One "case: NAME: ok|FAILED" line per check.
set -u
so=$1 sym=$2 want_soname=$3 incdir=$4 version=$5 archive=${6:-}
failed=0
result() { # name ok? detail...
	local name=$1 ok=$2
	shift 2
	if [ "$ok" = 1 ]; then
		echo "case: $name: ok"
	else
		echo "case: $name: FAILED"
		[ $# -gt 0 ] && printf '  %s\n' "$@"
		failed=1
	fi
}

# "NODE PARENT" per node and "NODE NAME" per symbol, from the version script.
nodes=$(sed 's|/\*.*\*/||' "$sym" | awk '
	/^[A-Z][A-Z0-9_.]* *\{/ { node = $1; next }
	/^\}/ { parent = $2; sub(/;$/, "", parent); print node, parent; node = "" }')
listed=$(sed 's|/\*.*\*/||' "$sym" | awk '
	/^[A-Z][A-Z0-9_.]* *\{/ { node = $1; next }
	/^\}/ { node = ""; next }
	node != "" && /^[ \t]*[a-z_][a-z0-9_]*;/ { gsub(/[ \t;]/, ""); print node, $0 }' | sort)

# 1. exported == listed, name and version
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWi]$/ { n = split($3, a, "@"); print a[n], a[1] }' | sort)
if [ "$exported" = "$listed" ]; then
	result abi_exports_match_sym 1
else
	result abi_exports_match_sym 0 "exported (left: listed in $sym, right: exported):" \
		"$(diff <(echo "$listed") <(echo "$exported") | grep '^[<>]')"
fi
bad=$(echo "$exported" | awk '$2 !~ /^ckpt_/ { print $2 }')
result abi_exports_ckpt_only "$([ -z "$bad" ] && echo 1 || echo 0)" "exported names outside ckpt_*: $bad"
dups=$(echo "$listed" | awk '{ print $2 }' | sort | uniq -d)
result abi_sym_no_duplicates "$([ -z "$dups" ] && echo 1 || echo 0)" "listed in two nodes: $dups"

# 2. the nodes
mm=$(echo "$version" | cut -d. -f1,2)
exp_node=LIBCKPT_EXPERIMENTAL_$mm
msgs=()
prev=
while read -r node parent; do
	case $node in
	LIBCKPT_EXPERIMENTAL_*)
		[ "$node" = "$exp_node" ] || msgs+=("experimental node $node, expected $exp_node (release $version)")
		[ -z "$parent" ] || msgs+=("$node is chained to $parent: the experimental node stands alone") ;;
	LIBCKPT_[0-9]*.[0-9]*)
		if [ -z "$prev" ]; then
			[ "$node" = LIBCKPT_0.1 ] && [ -z "$parent" ] || msgs+=("the first node is $node ${parent:+($parent)}, expected LIBCKPT_0.1")
		else
			[ "$parent" = "$prev" ] || msgs+=("$node is chained to '${parent}', expected $prev")
		fi
		prev=$node ;;
	*) msgs+=("unknown node $node") ;;
	esac
done <<<"$nodes"
[ "$prev" = "LIBCKPT_$mm" ] || msgs+=("the newest stable node is $prev, expected LIBCKPT_$mm (release $version)")
grep -q "^$exp_node " <<<"$nodes" || msgs+=("no node $exp_node")
hdr_node=$(sed -n 's/^#define CKPT_EXPERIMENTAL_NODE "\(.*\)"/\1/p' "$incdir/ckpt/experimental.h")
[ "$hdr_node" = "$exp_node" ] || msgs+=("experimental.h: CKPT_EXPERIMENTAL_NODE is '$hdr_node', expected $exp_node")
result abi_sym_nodes "$([ ${#msgs[@]} -eq 0 ] && echo 1 || echo 0)" "${msgs[@]}"

# 3. headers: the name of each CKPT_EXPORT declaration (the first identifier before a '(')
declared() { # header
	grep -v '^[[:space:]]*#' "$1" | tr '\n' ' ' | sed 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/||g' | tr ';' '\n' |
		sed -n 's/.*CKPT_EXPORT[^(]*[^a-zA-Z0-9_(]\([a-z_][a-z0-9_]*\) *(.*/\1/p' | sort -u
}
stable_decl=$(for h in "$incdir"/ckpt/*.h; do
	case $(basename "$h") in experimental.h | version.h) ;; *) declared "$h" ;; esac
done | sort -u)
exp_decl=$(declared "$incdir/ckpt/experimental.h")
stable_listed=$(echo "$listed" | awk '$1 !~ /EXPERIMENTAL/ { print $2 }' | sort -u)
exp_listed=$(echo "$listed" | awk '$1 ~ /EXPERIMENTAL/ { print $2 }' | sort -u)
msgs=()
d=$(comm -23 <(echo "$stable_decl") <(echo "$stable_listed") | grep . | tr '\n' ' ')
[ -z "$d" ] || msgs+=("declared in a stable header but in no stable node: $d")
d=$(comm -13 <(echo "$stable_decl") <(echo "$stable_listed") | grep . | tr '\n' ' ')
[ -z "$d" ] || msgs+=("in a stable node but not declared CKPT_EXPORT in a stable header: $d")
d=$(comm -23 <(echo "$exp_decl") <(echo "$exp_listed") | grep . | tr '\n' ' ')
[ -z "$d" ] || msgs+=("declared in experimental.h but not in $exp_node: $d")
d=$(comm -13 <(echo "$exp_decl") <(echo "$exp_listed") | grep . | tr '\n' ' ')
[ -z "$d" ] || msgs+=("in $exp_node but not declared CKPT_EXPORT in experimental.h: $d")
result abi_headers_match_sym "$([ ${#msgs[@]} -eq 0 ] && echo 1 || echo 0)" "${msgs[@]}"

# 4. SONAME
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
result abi_soname "$([ "$soname" = "$want_soname" ] && echo 1 || echo 0)" "SONAME is '$soname', expected $want_soname"

# 5. the static archive: only the listed names are global
if [ -n "$archive" ]; then
	globals=$(nm --defined-only --extern-only "$archive" | awk 'NF == 3 { print $3 }' | sort -u)
	extra=$(comm -23 <(echo "$globals") <(echo "$listed" | awk '{ print $2 }' | sort -u) | grep . | head -n 20 | tr '\n' ' ')
	missing=$(comm -13 <(echo "$globals") <(echo "$listed" | awk '{ print $2 }' | sort -u) | grep . | tr '\n' ' ')
	result abi_static_exports "$([ -z "$extra$missing" ] && echo 1 || echo 0)" \
		"${extra:+global in $archive but not listed (first 20): $extra}" \
		"${missing:+listed but not defined in $archive: $missing}"
fi
echo "symbols: $(echo "$exported" | grep -c .) exported ($(echo "$stable_listed" | grep -c .) stable, $(echo "$exp_listed" | grep -c .) experimental), SONAME $soname"
exit $failed
