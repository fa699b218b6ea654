/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exchange of one request: send it, answer CRIU's notifications (the
 * caller's callbacks, the library's own hooks), and return the final reply.
 * What CRIU said on the way (pids, the pty master) is kept in the exchange,
 * which lives for one call only.
 */
#ifndef CKPT_NOTIFY_H
#define CKPT_NOTIFY_H

#include <ckpt/ckpt.h>

#include "conn.h"
#include "base/error.h"
#include "base/log.h"
#include "rpc.pb-c.h"

#define CKPT_NOTIFY_MAX 32

struct notify_slot {
	char *name; /* NULL: catch-all */
	ckpt_notify_fn fn;
	void *userdata;
};

struct notify_table {
	struct notify_slot v[CKPT_NOTIFY_MAX];
	size_t n;
};

int notify_table_set(struct notify_table *t, const char *name, ckpt_notify_fn fn, void *userdata,
		     ckpt_err *err);
void notify_table_free(struct notify_table *t);

struct exchange {
	const char *op;
	const struct notify_table *table; /* may be NULL */
	const struct logger *log;
	/* the library's own hook at setup-namespaces (network setup), or NULL */
	int (*on_setup_ns)(void *userdata, pid_t pid, ckpt_err *err);
	void *setup_ns_userdata;
	/* told the root's pid at setup-namespaces (a lazy restore's watch), or NULL */
	void (*on_root)(void *userdata, pid_t pid);
	void *root_userdata;
	/* what CRIU told during the call */
	pid_t setup_ns_pid;
	pid_t post_restore_pid;
	bool post_dump_seen;
	char last[32]; /* the last notification's name */
	int pts_fd;    /* orphan-pts-master's fd that no callback took, -1 */
};

/* A fresh exchange for op. */
void exchange_init(struct exchange *x, const char *op, const struct notify_table *table,
		   const struct logger *log);
/*
 * Send req, run the notifications, and return CRIU's final reply in *ret,
 * whatever its success. A failing callback makes CRIU abort: the callback's
 * failure (CKPT_ECALLBACK) is returned, the final reply freed.
 */
int exchange_run(struct exchange *x, struct conn *conn, const CriuReq *req, CriuResp **ret,
		 ckpt_err *err);
/* Close an fd kept in the exchange. */
void exchange_done(struct exchange *x);

#endif
