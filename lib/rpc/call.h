/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One request run on a client: the deadline, the connection, the exchange,
 * the final reply turned into a result, and criu closed, killed or reaped as
 * the outcome demands, the whole call bounded by the deadline plus 2 s.
 */
#ifndef CKPT_CALL_H
#define CKPT_CALL_H

#include "client.h"
#include "notify.h"
#include "reply.h"
#include "request.h"

/* The grace a set deadline gets for killing and reaping criu. */
#define CALL_REAP_GRACE_US (2000ull * 1000)
/* Without a deadline: how long criu may linger after its final reply before it is killed. */
#define CALL_LINGER_US (10ull * 1000 * 1000)

struct call {
	ckpt_client *c;
	const char *op;	     /* "dump", "restore", ... for messages */
	bool query;	     /* version, check, feature check: a default deadline */
	bool detach;	     /* a self-dump: criu is not our child */
	struct log_place lp; /* where CRIU's log is */
	const ckpt_opts
		*opts;	   /* the request's options, for the diagnosis of a failure (may be NULL) */
	struct exchange x; /* set up (hooks, table) by the caller; what CRIU said stays here */
	uint64_t deadline_us; /* set by call_run */
};

/* A call on client c for op; its exchange uses the client's callbacks. */
void call_init(struct call *call, ckpt_client *c, const char *op, bool query);
/*
 * Run rq: 0 with CRIU's successful final reply of rq's type in *ret, or the
 * failure with err filled (CRIU's reason and log lines when CRIU said no).
 */
int call_run(struct call *call, const struct request *rq, CriuResp **ret, ckpt_err *err);
/* Is r an outcome where criu may have done the work before it went away? */
bool call_outcome_unknown(int r);

/*
 * Two requests on one connection (VERSION kept open, then another): open,
 * exchange each, close. call_open's conn is closed by call_close with the
 * last result.
 */
int call_open(struct call *call, const struct request *rq, struct conn *conn, ckpt_err *err);
int call_exchange(struct call *call, struct conn *conn, const struct request *rq, CriuResp **ret,
		  ckpt_err *err);
void call_close(struct call *call, struct conn *conn, int result);

#endif
