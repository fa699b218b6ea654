// The public header compiles as C++.
#include <ckpt/ckpt.h>

int main()
{
	ckpt_err err = CKPT_ERR_INIT;
	(void)err;
	return ckpt_version_number() == CKPT_VERSION_NUMBER ? 0 : 1;
}
