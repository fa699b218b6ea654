#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The core is as light as libcriu: libckpt.so needs protobuf-c, json-c and libc (libdl and
# libpthread on glibc < 2.34) and nothing else. GnuTLS, libarchive, libzstd and libnl are
# dlopen()ed on first use (lib/base/dl.h) and declared in the ELF note .note.dlopen (owner FDO,
# type 0x407c0c0a) that packaging tools read. The static library refers to none of them either.
#   check-light-core.sh LIBCKPT_SO LIBCKPT_A SONAME...   (the SONAMEs the build dlopen()s)
set -uo pipefail
so=${1:?usage: check-light-core.sh LIBCKPT_SO LIBCKPT_A SONAME...}
ar=${2:?usage: check-light-core.sh LIBCKPT_SO LIBCKPT_A SONAME...}
shift 2
FAILED=0
ok() { echo "case: $1: ok"; }
failed() {
	echo "case: $1: FAILED"
	shift
	printf '  %s\n' "$@"
	FAILED=1
}
OPTIONAL='gnutls|archive|zstd|libnl|xml2|icu|nettle|hogweed|gmp|tasn1|p11-kit|idn2|unistring|lzma|lz4|bz2|acl'

# light_needed: NEEDED lists only what the core needs
needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
extra=$(grep -vxE 'libprotobuf-c\.so\.[0-9]+|libjson-c\.so\.[0-9]+|libc\.so\.6|libdl\.so\.2|libpthread\.so\.0' <<<"$needed" | tr '\n' ' ')
if [ -n "$needed" ] && [ -z "$extra" ]; then
	ok light_needed
else
	failed light_needed "$so needs more than protobuf-c, json-c and libc: ${extra:-(none read)}" "NEEDED: $(tr '\n' ' ' <<<"$needed")"
fi

# light_ldd: and nothing loads them behind its back
loaded=$(ldd "$so" 2>&1)
if grep -qE "$OPTIONAL" <<<"$loaded"; then
	failed light_ldd "ldd $so loads an optional library or one of its dependencies:" \
		"$(grep -E "$OPTIONAL" <<<"$loaded" | tr -s ' \t' ' ')"
else
	echo "  ldd: $(grep -c . <<<"$loaded") objects"
	ok light_ldd
fi

# light_note: .note.dlopen is there (FDO, 0x407c0c0a) and names every SONAME dlopen()ed
notes=$(readelf --notes "$so" 2>&1)
json=$(readelf -p .note.dlopen "$so" 2>&1)
if ! grep -A5 "notes found in: .note.dlopen" <<<"$notes" | grep -qE 'FDO +0x[0-9a-f]+.*0x407c0c0a'; then
	failed light_note "no .note.dlopen with owner FDO and type 0x407c0c0a in $so:" "$notes"
else
	missing=""
	for s in "$@"; do
		grep -qF "\"$s\"" <<<"$json" || missing+="$s "
	done
	for f in archive migration netns; do
		grep -qF "\"feature\":\"$f\"" <<<"$json" || missing+="feature:$f "
	done
	if [ -z "$missing" ]; then
		ok light_note
	else
		failed light_note "the note of $so lacks $missing" "$json"
	fi
fi

# light_static: libckpt.a refers to no symbol of theirs either (so a static link needs only
# protobuf-c, json-c and libc)
undef=$(nm --undefined-only "$ar" 2>&1 | awk '{print $NF}' |
	grep -E '^(gnutls_|archive_|ZSTD_|nl_|nla_|nlmsg_|rtnl_)' | sort -u | tr '\n' ' ')
if [ -z "$undef" ]; then
	ok light_static
else
	failed light_static "$ar refers to $undef"
fi
exit $FAILED
