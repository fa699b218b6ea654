/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Diagnostics go to the client's log callback, if any; never to stdio. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

void log_client(const struct ckpt_client *c, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c || !c->log_fn || level > c->log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log_fn(c->log_userdata, level, line);
}
