#!/bin/bash
# The shared library exports exactly the names in lib/libckpt.sym, all ckpt_*,
# and carries the SONAME given as the third argument.
set -eu
so=$1 sym=$2 want=${3:-libckpt.so.1}
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sed 's/@.*//' | grep -v '^LIBCKPT_' | sort -u)
listed=$(sed -n 's/^[[:space:]]*\(ckpt_[a-z0-9_]*\);.*/\1/p' "$sym" | sort -u)
bad=$(echo "$exported" | grep -v '^ckpt_' || true)
[ -z "$bad" ] || { echo "exported names outside ckpt_*: $bad"; exit 1; }
if [ "$exported" != "$listed" ]; then
	echo "exported symbols differ from $sym:"
	diff <(echo "$listed") <(echo "$exported") 2>/dev/null || { echo "listed:"; echo "$listed"; echo "exported:"; echo "$exported"; }
	exit 1
fi
soname=$(objdump -p "$so" | awk '$1=="SONAME"{print $2}')
[ "$soname" = "$want" ] || { echo "SONAME is '$soname', expected $want"; exit 1; }
echo "ok: $(echo "$exported" | wc -l) symbols, all listed, SONAME $soname"
