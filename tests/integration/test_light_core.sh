#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A program linking only libckpt (light-core.c), run twice against the real criu ($CKPT_CRIU):
#   present  as installed: the core loads none of GnuTLS, libarchive, libzstd, libnl; an
#            archive read, a token file and a veth each load their library on first use
#   absent   in a private mount namespace (unshare -m) where each of those libraries, found
#            with ldconfig -p, has /dev/null bind-mounted over it: the core works the same,
#            and each optional part fails with CKPT_EMISSINGLIB naming its package; no crash
#   test_light_core.sh LIGHT_CORE SONAME...   (the SONAMEs the build dlopen()s; needs root)
# Prints the program's "case:" lines and one per step of its own; exits 1 if one failed.
set -uo pipefail
prog=${1:?usage: test_light_core.sh LIGHT_CORE SONAME...}
shift
FAILED=0
ok() { echo "case: $1: ok"; }
failed() {
	echo "case: $1: FAILED"
	shift
	printf '  %s\n' "$@"
	FAILED=1
}

# light_core_links: the program itself links libckpt and none of them
if ldd "$prog" | grep -qE 'gnutls|libarchive|libzstd|libnl'; then
	failed light_core_links "$prog links an optional library:" "$(ldd "$prog")"
else
	ok light_core_links
fi

"$prog" present
rc=$?
[ $rc -eq 0 ] || { [ $rc -le 1 ] || failed light_core_present "exit $rc (a crash?)"; FAILED=1; }

# the files behind each SONAME (ldconfig -p: "libx.so.N (libc6,x86-64) => /path")
paths=()
for s in "$@"; do
	while read -r p; do
		[ -e "$p" ] && paths+=("$p")
	done < <(ldconfig -p | awk -v s="$s" '$1 == s { print $NF }')
done
if [ ${#paths[@]} -lt $# ]; then
	failed light_core_hide "ldconfig -p does not list every one of: $*" "found: ${paths[*]}"
	exit 1
fi
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m --propagation private bash -c '
	prog=$1
	shift
	for p in "$@"; do
		mount --bind /dev/null "$p" || { echo "case: light_core_hide: FAILED"; echo "  mount --bind /dev/null $p"; exit 1; }
	done
	echo "case: light_core_hide: ok"
	exec "$prog" absent' light-core "$prog" "${paths[@]}"
rc=$?
[ $rc -eq 0 ] || { [ $rc -le 1 ] || failed light_core_absent "exit $rc (a crash?)"; FAILED=1; }
exit $FAILED
