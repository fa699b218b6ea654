/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: resp_decode (criu_resp unpack + libckpt's validation) on untrusted reply bytes. */
#include "rpc/transport.h"
#include "rpc/client.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ckpt_err err = CKPT_ERR_INIT;
	CriuResp *resp = NULL;
	char msg[CKPT_ERR_MSG_MAX];
	int r = resp_decode(data, size, &resp, &err);

	if (r < 0) {
		if (resp || err.code != r || !err.msg[0] ||
		    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			__builtin_trap();
		return 0;
	}
	/* What ops.c relies on after a successful decode. */
	if (resp->type == CRIU_REQ_TYPE__NOTIFY && (!resp->notify || !resp->notify->script))
		__builtin_trap();
	if (resp->type == CRIU_REQ_TYPE__VERSION && resp->success && !resp->version)
		__builtin_trap();
	if (resp->type == CRIU_REQ_TYPE__RESTORE && resp->success && !resp->restore)
		__builtin_trap();
	if (resp->cr_errmsg) {
		sanitize_copy(msg, sizeof(msg), resp->cr_errmsg);
		for (const char *p = msg; *p; p++)
			if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
				__builtin_trap(); /* sanitize_copy keeps newlines, nothing else */
	}
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}
