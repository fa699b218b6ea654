/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replies to results: CRIU's failure as a ckpt_err, with its log's error lines; a VERSION reply's number. */
#ifndef CKPT_REPLY_H
#define CKPT_REPLY_H

#include "base/error.h"
#include "opts.h"
#include "rpc.pb-c.h"

/* Where CRIU wrote its log for this request. */
struct log_place {
	int dirfd;	     /* the work dir (or images dir), -1: none */
	const char *dirpath; /* its path for messages, NULL: read from /proc/self/fd */
	const char *name;    /* the log file's name, NULL or "": none */
	const char *shown; /* the path to name in messages, if not dirpath/name (it will be moved) */
};

/*
 * CRIU answered success=false (or EMPTY): fill err with why (the decisive line
 * of CRIU's log first), the log's path and error lines and a hint, from the
 * request and its options o (may be NULL). Returns CKPT_ECRIU.
 */
int reply_failed(const char *op, const CriuReq *req, const CriuResp *resp,
		 const struct log_place *lp, const ckpt_opts *o, ckpt_err *err);
/* For a request that ended without an answer: the log's path, error lines and hint, if err has none yet. */
void reply_log(const struct log_place *lp, const CriuReq *req, const ckpt_opts *o, ckpt_err *err);
/* CRIU's version from a VERSION reply, as major*10000+minor*100+sublevel. */
int reply_version(const CriuResp *resp, unsigned *ret, ckpt_err *err);

#endif
