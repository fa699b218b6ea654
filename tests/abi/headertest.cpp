// The public headers compile as C++.
#include <ckpt/experimental.h>
#include <ckpt/ckpt.h>

int main()
{
	ckpt_err err = CKPT_ERR_INIT;
	(void)err;
	return ckpt_version_number() == CKPT_VERSION_NUMBER ? 0 : 1;
}
