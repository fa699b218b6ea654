/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ckpt/ckpt.h>

const char *ckpt_version(void)
{
	return CKPT_VERSION_STRING;
}

unsigned ckpt_version_number(void)
{
	return CKPT_VERSION_NUMBER;
}
