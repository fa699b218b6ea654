/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ask CRIU for its version and whether this kernel can checkpoint and restore. */
#include <stdio.h>

#include <ckpt/ckpt.h>

int main(void)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *c = ckpt_client_new();
	unsigned v;
	int r;

	if (!c)
		return 1;
	r = ckpt_criu_version(c, &v, &err);
	if (r == 0)
		printf("CRIU %u.%u.%u\n", v / 10000, v / 100 % 100, v % 100);
	if (r == 0)
		r = ckpt_check(c, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	else
		printf("criu check: ok\n");
	ckpt_client_free(c);
	return r < 0;
}
