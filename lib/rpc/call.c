/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One request on a client: deadline, connect, exchange, result, and criu closed or killed and reaped. */
#include <signal.h>
#include <stdio.h>

#include "call.h"
#include "transport.h"

static const char *type_name(int t)
{
	static const char *const names[] = {
		"EMPTY",       "DUMP",	   "RESTORE",	       "CHECK",		 "PRE_DUMP",
		"PAGE_SERVER", "NOTIFY",   "CPUINFO_DUMP",     "CPUINFO_CHECK",	 "FEATURE_CHECK",
		"VERSION",     "WAIT_PID", "PAGE_SERVER_CHLD", "SINGLE_PRE_DUMP"
	};
	return t >= 0 && t < (int)ARRAY_SIZE(names) ? names[t] : "?";
}

void call_init(struct call *call, ckpt_client *c, const char *op, bool query)
{
	memset(call, 0, sizeof(*call));
	call->c = c;
	call->op = op;
	call->query = query;
	call->lp.dirfd = -1;
	exchange_init(&call->x, op, &c->notify, &c->log);
}

bool call_outcome_unknown(int r)
{
	return r == CKPT_ETIMEDOUT || r == CKPT_ECRIU_DIED || r == CKPT_EPROTO || r == CKPT_ETOOBIG;
}

int call_open(struct call *call, const struct request *rq, struct conn *conn, ckpt_err *err)
{
	ckpt_client *c = call->c;
	size_t len = criu_req__get_packed_size(&rq->req);
	uint64_t now = now_us();

	/* refused before criu is even started */
	if (len > CKPT_MAX_MSG)
		return err_set(err, CKPT_ETOOBIG,
			       "%s: the request is %zu bytes, above the %d byte limit", call->op,
			       len, CKPT_MAX_MSG);
	if (call->detach)
		call->deadline_us =
			0; /* a self-dump resumes in the restored process: no clock of ours goes along */
	else if (c->timeout_set)
		call->deadline_us = c->timeout_us ? now + c->timeout_us : 0;
	else
		call->deadline_us = call->query ? now + CLIENT_QUERY_TIMEOUT_US : 0;
	*conn = (struct conn)CONN_INIT;
	conn->deadline_us = call->deadline_us;
	return client_connect(c, call->detach, rq->fds, rq->n_fds, conn, err);
}

int call_exchange(struct call *call, struct conn *conn, const struct request *rq, CriuResp **ret,
		  ckpt_err *err)
{
	CriuResp *resp = NULL;
	int r = exchange_run(&call->x, conn, &rq->req, &resp, err);

	if (r < 0)
		return r;
	if (!resp->success) {
		r = reply_failed(call->op, &rq->req, resp, &call->lp, call->opts, err);
		criu_resp__free_unpacked(resp, NULL);
		return r;
	}
	if (resp->type != rq->req.type) {
		r = err_set(err, CKPT_EPROTO, "%s: criu answered a %s request with %s", call->op,
			    type_name(rq->req.type), type_name(resp->type));
		criu_resp__free_unpacked(resp, NULL);
		return err_at(err, "recv", r);
	}
	*ret = resp;
	return 0;
}

/* Kill criu and everything it forked (through pidfds), then reap until `until`. */
static void kill_tree(struct call *call, struct conn *conn, uint64_t until)
{
	struct proc_set tree = { 0 }, left = { 0 };

	if (conn->criu.pid <= 0 || conn->criu.reaped)
		return;
	(void)proc_tree_collect_errno(&conn->criu, &tree);
	(void)proc_signal_errno(&conn->criu, SIGKILL);
	proc_set_signal(&tree, SIGKILL);
	log_at(&call->c->log, CKPT_LOG_DEBUG, "%s: killed criu %d and %zu process(es) it forked",
	       call->op, (int)conn->criu.pid, tree.n);
	/* criu first: its exit hands its children to their new parent (us, if we are a subreaper) */
	if (!proc_reap(&conn->criu, until) && proc_set_add_errno(&left, &conn->criu) == 0)
		conn->criu = (struct proc)PROC_INIT;
	if (!left.n)
		(void)proc_set_reap(&tree, until);
	for (size_t i = 0; i < tree.n; i++) {
		if (!tree.v[i].reaped && proc_set_add_errno(&left, &tree.v[i]) == 0)
			tree.v[i] = (struct proc)PROC_INIT;
	}
	proc_set_free(&tree);
	if (left.n)
		client_keep_unreaped(call->c, &left);
	proc_set_free(&left);
}

void call_close(struct call *call, struct conn *conn, int result)
{
	uint64_t until = call->deadline_us ? call->deadline_us + CALL_REAP_GRACE_US : 0;
	struct proc_set left = { 0 };

	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	if (conn->criu.pid > 0 && !conn->criu.reaped) {
		if (result == CKPT_ETIMEDOUT || result == CKPT_EPROTO || result == CKPT_ETOOBIG ||
		    result == CKPT_ESYS) {
			/* past its deadline, or talking nonsense: criu and its helpers go */
			uint64_t bound = now_us() + CALL_REAP_GRACE_US;

			kill_tree(call, conn, until && until < bound ? until : bound);
		} else {
			/* it answered (or was told to abort): it exits on its own; give it until the bound */
			uint64_t linger = now_us() + CALL_LINGER_US;

			if (!proc_reap(&conn->criu, until && until < linger ? until : linger)) {
				/* it answered but lingers: end it, not what it restored */
				(void)proc_signal_errno(&conn->criu, SIGKILL);
				if (!proc_reap(&conn->criu, now_us() + CALL_REAP_GRACE_US) &&
				    proc_set_add_errno(&left, &conn->criu) == 0) {
					conn->criu = (struct proc)PROC_INIT;
					client_keep_unreaped(call->c, &left);
				}
				proc_set_free(&left);
			}
		}
	}
	proc_close(&conn->criu);
}

int call_run(struct call *call, const struct request *rq, CriuResp **ret, ckpt_err *err)
{
	struct conn conn;
	int r;

	r = call_open(call, rq, &conn, err);
	if (r < 0)
		return r;
	r = call_exchange(call, &conn, rq, ret, err);
	call_close(call, &conn, r);
	if (r == CKPT_ETIMEDOUT) {
		err_append(err, "(criu was killed, with what it had started)");
		err_hint(err, 0,
			 call->c->timeout_set ?
				 "The request ran past the client's deadline: raise it with "
				 "ckpt_client_set_timeout_ms() (0: none)." :
				 "The query ran past its default deadline of 30 s: raise it with "
				 "ckpt_client_set_timeout_ms() (0: none).");
	}
	return r;
}
