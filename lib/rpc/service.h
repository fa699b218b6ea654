/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting to a `criu service` socket: a busy service retried, the server's uid checked. */
#ifndef CKPT_SERVICE_H
#define CKPT_SERVICE_H

#include <sys/types.h>

#include "conn.h"
#include "base/error.h"

/* How long a busy service is retried when the request has no deadline. */
#define SERVICE_BUSY_MAX_US (30ull * 1000 * 1000)

/*
 * Connect to path; the daemon must run as root or as trusted_uid (when
 * trust_uid). A full backlog (EAGAIN) is retried until conn->deadline_us, or
 * for SERVICE_BUSY_MAX_US without one, and then reported as busy.
 */
int service_connect(const char *path, bool trust_uid, uid_t trusted_uid, struct conn *conn,
		    ckpt_err *err);

#endif
