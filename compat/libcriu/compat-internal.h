/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hooks of the libcriu drop-in: hidden, reachable only by tests that link
 * its objects. criu.c defines them (hidden by its objects' visibility preset)
 * and does not include this header, which only the tests need. */
#ifndef CKPT_COMPAT_INTERNAL_H
#define CKPT_COMPAT_INTERNAL_H

#include "criu.h"
#include <ckpt/ckpt.h>

#define COMPAT_HIDDEN __attribute__((visibility("hidden")))

/* The wrapped libckpt options (borrowed). */
COMPAT_HIDDEN const ckpt_opts *criu_compat_ckpt_opts(const criu_opts *opts);
/* The global options object, NULL before the first use. */
COMPAT_HIDDEN criu_opts *criu_compat_global(void);
/* The detail of the last failure on opts (a setter's or a request's). */
COMPAT_HIDDEN const ckpt_err *criu_compat_last_err(const criu_opts *opts);
/* The request deadline in ms the next request would use. */
COMPAT_HIDDEN unsigned criu_compat_deadline_ms(const criu_opts *opts);
/* Map a libckpt code (and its detail) to libcriu's return value and errno. */
COMPAT_HIDDEN int criu_compat_map(int code, const ckpt_err *err, int *ret_errno);

#endif
