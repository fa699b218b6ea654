/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's receiving side (private to lib/migrate/receive*.c): its state, and what its
 * parts call of each other. receive-session.c: the durable record and the session's directories;
 * receive-criu.c: CRIU's page server and criu lazy-pages; receive.c: one session, and
 * ckpt_migrate_receive.
 */
#ifndef CKPT_MIGRATE_RECEIVE_INT_H
#define CKPT_MIGRATE_RECEIVE_INT_H

#include <limits.h>
#include <netinet/in.h>

#include "migrate.h"
#include "images/imgdir.h"
#include "proc/proc.h"
#include "rpc/call.h"

struct rcv {
	ckpt_client *c;
	const ckpt_opts *o;
	const ckpt_migrate_opts *m;
	ckpt_migrate_result *mg;
	int listen_fd;
	struct dir_ref base;
	char listen_host[INET6_ADDRSTRLEN];
	uint16_t listen_port;
	unsigned criu_version;
	uint64_t accept_deadline;
	struct chan_creds *cr; /* loaded once: every connection */
	struct gate *gate;     /* connections authenticated concurrently */

	/* the session under way */
	int ctl_fd;
	struct chan *ch;
	uint8_t session[CHAN_SESSION_SIZE];
	char hex[2 * CHAN_SESSION_SIZE + 1];
	bool lazy;
	int sess_fd, img_fd, work_fd;
	int lock_fd; /* BASE/<session>.lock, flock'ed while the session is ours */
	char sess_path[PATH_MAX];
	/* copy mode: CRIU's page server, on a swrk kept open for WAIT_PID */
	struct call ps_call;
	struct conn ps_conn;
	struct request ps_rq;
	ckpt_opts *ps_opts;
	bool ps_open;
	pid_t ps_pid;
	/* CRIU's pages (its page server, or criu lazy-pages) through the session's second connection */
	struct pump *pump;
	/* lazy mode */
	struct proc daemon;
	char peer_host[INET6_ADDRSTRLEN];
	/* results */
	pid_t restored;
	uint64_t t_start, t_accept, t_hs, t_ready, t_restore, t_running, t_pages_done;
	uint64_t page_bytes;
};

/* receive-session.c: the durable record, BASE/<session>.state (one line). */
void rcv_record_write(struct rcv *r, const char *fmt, ...) _printf_(2, 3);
void rcv_record_read(const struct rcv *r, const char *hex, char *buf, size_t n);

/* receive-session.c: the session's directories. */
uint64_t rcv_pages_bytes(int dirfd);
void rcv_session_unlock(struct rcv *r);
void rcv_clean_stale(struct rcv *r);
int rcv_session_dirs(struct rcv *r, ckpt_err *err);
void rcv_session_dirs_end(struct rcv *r, bool keep_logs);

/* receive-criu.c: CRIU's page server (copy mode). */
int rcv_page_server_start(struct rcv *r, ckpt_err *err);
int rcv_page_server_wait(struct rcv *r, ckpt_err *err);
void rcv_page_server_end(struct rcv *r, bool ok);

/* receive-criu.c: criu lazy-pages (lazy mode). */
int rcv_daemon_start(struct rcv *r, ckpt_err *err);
void rcv_daemon_kill(struct rcv *r);

#endif
