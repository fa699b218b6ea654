/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: namespace name lists ("net,pid,mnt"), with a to-string round trip. */
#include "rpc/opts.h"
#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ckpt_err err = CKPT_ERR_INIT;
	char *s = malloc(size + 1);
	char buf[256];
	uint32_t mask = 0, again = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ckpt_ns_mask_from_string(s, &mask, &err) == 0) {
		if (mask & ~NS_KNOWN_MASK)
			__builtin_trap();
		if (ckpt_ns_mask_to_string(mask, buf, sizeof(buf), NULL) != 0)
			__builtin_trap();
		if (ckpt_ns_mask_from_string(buf, &again, NULL) != 0 || again != mask)
			__builtin_trap();
	} else if (err.code >= 0) {
		__builtin_trap();
	}
	free(s);
	return 0;
}
