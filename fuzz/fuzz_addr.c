/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: page-server "host:port" / "[v6]:port" parsing. */
#include "rpc/opts.h"
#include "base/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ckpt_err err = CKPT_ERR_INIT;
	char *s = malloc(size + 1);
	char addr[256];
	uint16_t port = 0;
	ckpt_opts *o;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(addr, 'x', sizeof(addr));
	r = ckpt_parse_address_port(s, addr, sizeof(addr), &port, &err);
	if (r == 0 && !memchr(addr, '\0', sizeof(addr)))
		__builtin_trap(); /* the address must be terminated */
	if (r < 0 && err.code != r)
		__builtin_trap();
	/* a too-small buffer must fail cleanly, never overflow */
	ckpt_parse_address_port(s, addr, 4, &port, NULL);
	o = ckpt_opts_new();
	if (o) {
		ckpt_opts_set_page_server(o, s, NULL);
		ckpt_opts_free(o);
	}
	free(s);
	return 0;
}
