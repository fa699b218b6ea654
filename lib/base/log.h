/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Diagnostics to the caller's log callback, if any; never to stdio. */
#ifndef CKPT_LOG_H
#define CKPT_LOG_H

#include <ckpt/ckpt.h>

#include "util.h"

struct logger {
	ckpt_log_fn fn; /* NULL: off */
	void *userdata;
	int max_level;
};

void log_at(const struct logger *lg, int level, const char *fmt, ...) _printf_(3, 4);

#endif
