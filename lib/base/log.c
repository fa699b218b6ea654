/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Diagnostics go to the client's log callback, if any; never to stdio. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void log_at(const struct logger *lg, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!lg || !lg->fn || level > lg->max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lg->fn(lg->userdata, level, line);
}
