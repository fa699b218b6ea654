/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's source side (private to lib/migrate/source*.c): its state, and what its parts
 * call of each other. source-prepare.c: why it failed, and before anything is frozen;
 * source-held.c: while the dump is held at post-dump; source.c: the dump, and
 * ckpt_migrate_source step by step.
 */
#ifndef CKPT_MIGRATE_SOURCE_INT_H
#define CKPT_MIGRATE_SOURCE_INT_H

#include <limits.h>

#include "migrate.h"
#include "proc/proc.h"
#include "rpc/conn.h"
#include "rpc/notify.h"

struct src {
	ckpt_client *c;
	const ckpt_opts *o;
	const ckpt_migrate_opts *m;
	ckpt_migrate_result *mg;
	char host[256];
	uint16_t port;
	bool lazy;
	uint8_t session[CHAN_SESSION_SIZE];
	int ctl_fd;
	struct chan_creds *cr; /* loaded once: every connection of this migration */
	struct chan *ch;
	struct pump *pump; /* CRIU's pages (the dump's page client, or its lazy page server) */
	struct proc target;
	/* the private staging dir: images/, work/, cpu/ */
	char staging[PATH_MAX];
	int staging_fd, img_fd, work_fd, cpu_fd;
	int conf_fd; /* lazy: the configuration file criu reads (by fd) */
	/* the dump, while it runs */
	struct conn *conn;
	struct conn_watch watch;
	struct notify_table table;
	/* what happened */
	ckpt_err fail; /* why the source refused or failed (copied to the caller's err) */
	bool have_fail;
	bool post_dump_seen, acked, refused, restore_sent, running, dest_failed, pages_done,
		chan_broken;
	bool decided; /* the decide callback or a resolve chose */
	bool dest_killed_copy;
	bool keep_logs; /* a failure keeps the staging dir's CRIU logs (the dump's own failure) */
	uint64_t lazy_bytes; /* what the receiver says arrived lazily */
	uint64_t t_start, t_hs, t_predump, t_postdump, t_ready, t_restore_sent, t_running,
		t_pages_done, t_end;
};

/* source-prepare.c: why the source refused or failed, in s->fail (the first reason is the one). */
int src_fail(struct src *s, const char *stage, int code, const char *fmt, ...) _printf_(4, 5);
/* Keep a library failure (e) as the reason, under stage. */
int src_fail_err(struct src *s, const char *stage, const ckpt_err *e);

/* source-prepare.c: before anything is frozen. */
int src_check_pipe_size(ckpt_err *err);
int src_staging_make(struct src *s, ckpt_err *err);
void src_staging_end(struct src *s, bool keep_logs);
int src_handshake(struct src *s, ckpt_err *err);
int src_pages_connection(struct src *s, ckpt_err *err);

/* source-held.c: the dump's notify callback, and the lazy session's messages (a conn_watch). */
int src_notify(void *userdata, ckpt_notify *ev);
void src_on_channel(void *userdata);

#endif
