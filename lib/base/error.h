/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Filling a caller's ckpt_err: code, message, step, errno; nothing is written when err is NULL. */
#ifndef CKPT_ERROR_H
#define CKPT_ERROR_H

#include <ckpt/ckpt.h>

#include "util.h"

/* Clear every field of err this library knows, keeping its layout version. */
void err_reset(ckpt_err *err);
/* Copy the fields of src that dst's layout version has, keeping dst's version. */
void err_copy(ckpt_err *dst, const ckpt_err *src);
/* Fill err (if any) with code and a formatted message (the step is cleared); returns code. */
int err_set(ckpt_err *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like err_set, with errnum recorded as sys_errno and its text appended. */
int err_sys(ckpt_err *err, int code, int errnum, const char *fmt, ...) _printf_(4, 5);
/*
 * Two conventions meet here. Functions whose names end in _errno return 0 or
 * a negative errno (the system's); everything else returns 0 or a negative
 * CKPT_E* (ckpt.h). The two ranges overlap (-ESRCH is -3, as CKPT_ESYS), so
 * an _errno result is never returned as it is: this turns one (r < 0) into
 * its CKPT_E* (ENOMEM: CKPT_ENOMEM, ESRCH: CKPT_ENOTARGET, EPERM and EACCES:
 * CKPT_EPERM, else CKPT_ESYS), fills err with the message and ": <strerror>",
 * and returns the code.
 */
int err_from_errno(ckpt_err *err, int r, const char *fmt, ...) _printf_(3, 4);
/* Prefix err->msg with "context: ". */
void err_prefix(ckpt_err *err, const char *fmt, ...) _printf_(2, 3);
/* Record the step that failed, unless a deeper one was recorded already; returns code. */
int err_at(ckpt_err *err, const char *step, int code);
/* Set the hint (the cause and fix, option key opt or 0) of an error already set. */
void err_hint(ckpt_err *err, int opt, const char *hint);
/* Append " text" to err->msg (as much as fits). */
void err_append(ckpt_err *err, const char *fmt, ...) _printf_(2, 3);
/* Copy s into dst (size n), replacing control characters (a tty-safe CRIU message). */
void sanitize_copy(char *dst, size_t n, const char *s);
/* The text of an errno value (thread-safe, never NULL). */
const char *errno_text(int errnum, char *buf, size_t size);

#ifndef CKPT_ERROR_IMPL
/*
 * The same functions, seen by the compiler (and gcc -fanalyzer) to return exactly
 * their code argument: a caller's "r = err_set(...); if (r < 0)" is then known to
 * take the failure path.
 */
#define err_set(e, c, ...)                           \
	({                                           \
		int set_c_ = (c);                    \
		(err_set)((e), set_c_, __VA_ARGS__); \
		set_c_;                              \
	})
#define err_sys(e, c, n, ...)                             \
	({                                                \
		int sys_c_ = (c);                         \
		(err_sys)((e), sys_c_, (n), __VA_ARGS__); \
		sys_c_;                                   \
	})
#define err_from_errno(e, r, ...)                            \
	({                                                   \
		int from_r_ = (r);                           \
		(err_from_errno)((e), from_r_, __VA_ARGS__); \
	})
#define err_at(e, s, c)                    \
	({                                 \
		int at_c_ = (c);           \
		(err_at)((e), (s), at_c_); \
		at_c_;                     \
	})
#endif

/* Public entry points validate with this: CKPT_EINVAL with a message. */
#define assert_return(expr, err, ...)                                    \
	do {                                                             \
		if (!(expr))                                             \
			return err_set((err), CKPT_EINVAL, __VA_ARGS__); \
	} while (0)

#endif
