/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error codes, their text, and the helpers that fill a caller's ckpt_err. */
#include <stdarg.h>
#include <stdio.h>

#define CKPT_ERROR_IMPL /* the functions themselves, not the macros of error.h */
#include "error.h"

const char *ckpt_strerror(int code)
{
	switch (code) {
	case CKPT_OK: return "success";
	case CKPT_EINVAL: return "invalid argument";
	case CKPT_ENOMEM: return "out of memory";
	case CKPT_ESYS: return "system call failed";
	case CKPT_ECRIU_EXEC: return "criu cannot be found or started";
	case CKPT_ECRIU_VERSION: return "criu is too old";
	case CKPT_ESERVICE: return "criu service unreachable";
	case CKPT_ETIMEDOUT: return "request timed out";
	case CKPT_EPROTO: return "malformed or unexpected reply from criu";
	case CKPT_ETOOBIG: return "message too big";
	case CKPT_ECRIU_DIED: return "criu exited before replying";
	case CKPT_ECRIU: return "criu reported failure";
	case CKPT_ENOTARGET: return "no such process";
	case CKPT_EIMAGES: return "images directory unusable";
	case CKPT_EEXIST: return "a checkpoint already exists there";
	case CKPT_ECALLBACK: return "a notification callback failed";
	case CKPT_ENOTSUP: return "not supported";
	case CKPT_EPERM: return "permission denied";
	case CKPT_EBADIMG: return "bad image file";
	case CKPT_ENETSETUP: return "network setup failed";
	case CKPT_EMISSINGLIB: return "a library this needs is not installed";
	default: return "unknown error";
	}
}

void err_reset(ckpt_err *err)
{
	/* Layout version 1 is the whole struct this library knows; a newer caller's tail is left alone. */
	unsigned v = err->version ? err->version : 1;

	memset(err, 0, sizeof(*err));
	err->version = v;
}

void err_copy(ckpt_err *dst, const ckpt_err *src)
{
	unsigned v;

	if (!dst || dst == src)
		return;
	/* only layout version 1 exists: both hold the whole struct this library knows */
	v = dst->version ? dst->version : 1;
	memcpy(dst, src, sizeof(*dst));
	dst->version = v;
}

void ckpt_free(void *p)
{
	free(p);
}

void sanitize_copy(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	if (!n)
		return;
	for (; s && *s && i + 1 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		dst[i++] = (ch < 0x20 && ch != '\n') || ch == 0x7f ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

static void vfill(ckpt_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vfill(ckpt_err *err, int code, const char *fmt, va_list ap)
{
	char tmp[CKPT_ERR_MSG_MAX];

	err_reset(err);
	err->code = code;
	if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
		snprintf(tmp, sizeof(tmp), "%s", ckpt_strerror(code));
	sanitize_copy(err->msg, sizeof(err->msg), tmp);
	/* one line: a newline from CRIU (file names are container-controlled) must not split it */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int err_set(ckpt_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vfill(err, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *errno_text(int errnum, char *buf, size_t size)
{
	/* the GNU strerror_r returns a static string or fills buf */
	const char *s = strerror_r(errnum, buf, size);

	return s ? s : "unknown error";
}

/* vfill, then ": " and the text of errnum, which goes to sys_errno too. */
static int vfill_sys(ckpt_err *err, int code, int errnum, const char *fmt, va_list ap)
{
	char buf[128];
	size_t l;

	if (!err)
		return code;
	vfill(err, code, fmt, ap);
	err->sys_errno = errnum;
	l = strlen(err->msg);
	snprintf(err->msg + l, sizeof(err->msg) - l, ": %s", errno_text(errnum, buf, sizeof(buf)));
	return code;
}

int err_sys(ckpt_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfill_sys(err, code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

int err_from_errno(ckpt_err *err, int r, const char *fmt, ...)
{
	int e = r < 0 ? -r : EIO;
	int code = e == ENOMEM		     ? CKPT_ENOMEM :
		   e == ESRCH		     ? CKPT_ENOTARGET :
		   e == EPERM || e == EACCES ? CKPT_EPERM :
					       CKPT_ESYS;
	va_list ap;

	va_start(ap, fmt);
	code = vfill_sys(err, code, e, fmt, ap);
	va_end(ap);
	return code;
}

void err_append(ckpt_err *err, const char *fmt, ...)
{
	char tmp[CKPT_ERR_MSG_MAX];
	va_list ap;
	size_t l;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	l = strlen(err->msg);
	if (l + 1 < sizeof(err->msg))
		snprintf(err->msg + l, sizeof(err->msg) - l, " %s", tmp);
	for (char *p = err->msg + l; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void err_prefix(ckpt_err *err, const char *fmt, ...)
{
	char pre[CKPT_ERR_MSG_MAX], out[CKPT_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s: %s", pre, err->msg);
	memcpy(err->msg, out, sizeof(err->msg));
}

void err_hint(ckpt_err *err, int opt, const char *hint)
{
	if (err) {
		snprintf(err->hint, sizeof(err->hint), "%s", hint);
		err->hint_opt = opt;
	}
}

int err_at(ckpt_err *err, const char *step, int code)
{
	if (err && code < 0 && !err->step[0])
		snprintf(err->step, sizeof(err->step), "%s", step);
	return code;
}
