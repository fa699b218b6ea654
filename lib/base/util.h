/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers every lib/ file may use: cleanup attributes, time, bounded reads of small files. */
#ifndef CKPT_UTIL_H
#define CKPT_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_us(void);
/* Milliseconds left until deadline_us for poll(): -1 for no deadline (0), 0 once past. */
int poll_ms_until(uint64_t deadline_us);

/*
 * Read a whole file of at most max bytes (a /proc file: its size is not
 * known in advance) into a malloc'd, NUL-terminated buffer.
 * Returns 0, or -errno (-EFBIG above max).
 */
int read_small_file_errno(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * The one PATH search: the first executable regular file `name` in the
 * colon-separated `path` (relative entries skipped), as a malloc'd absolute
 * path. Returns 0, -ENOENT, or -ENOMEM.
 */
int path_search_errno(const char *name, const char *path, char **ret);

/* path made absolute against the cwd (malloc'd): 0, -ENOMEM, or getcwd's -errno. */
int path_absolute_errno(const char *path, char **ret);

/* The default PATH for criu and for PATH searches without one. */
#define CKPT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void strv_free(char **v);

#endif
