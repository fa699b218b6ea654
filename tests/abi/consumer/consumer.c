/* A program outside the tree, built against the installed libckpt. */
#include <stdio.h>

#include <ckpt/ckpt.h>

int main(void)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *c = ckpt_client_new();
	unsigned v = 0;
	int r = ckpt_criu_version(c, &v, &err);

	ckpt_client_free(c);
	if (r < 0) {
		fprintf(stderr, "consumer: %s\n", err.msg);
		return 1;
	}
	printf("consumer: libckpt %s, criu %u\n", ckpt_version(), v);
	return v >= 30000 ? 0 : 1;
}
