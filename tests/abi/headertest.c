/* The public headers compile alone, as C99 with -pedantic (experimental.h includes ckpt.h first). */
#include <ckpt/experimental.h>
#include <ckpt/ckpt.h>

int main(void)
{
	ckpt_err err = CKPT_ERR_INIT;

	(void)err;
	return ckpt_version_number() == CKPT_VERSION_NUMBER ? 0 : 1;
}
