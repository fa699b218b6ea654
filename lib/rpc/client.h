/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_client: how to reach CRIU (which criu to spawn, or a service socket),
 * its deadline, environment, stdio, callbacks, and what outlives a call: a
 * criu prepared ahead, criu processes killed but not yet reaped, and the
 * last restore's pty master for the caller to take.
 */
#ifndef CKPT_CLIENT_H
#define CKPT_CLIENT_H

#include <sys/types.h>

#include "conn.h"
#include "base/log.h"
#include "notify.h"
#include "proc/proc.h"

struct netns_veth;

struct ckpt_client {
	char *criu_path;    /* explicit; NULL: $CKPT_CRIU, then PATH */
	char *service_path; /* service mode when set */
	bool service_uid_set;
	uid_t service_uid;
	bool timeout_set;    /* the caller set a deadline (then it bounds every request) */
	uint64_t timeout_us; /* 0: none */
	char **env;	     /* NULL: default */
	int stdio[3];	     /* borrowed, -1: /dev/null */
	struct logger log;
	struct notify_table notify;
	struct netns_veth *netns; /* network setup at setup-namespaces, or NULL */
	struct conn *prepared;	  /* a criu started ahead by ckpt_client_prepare, or NULL */
	struct proc_set unreaped; /* criu and its helpers, killed, not reaped within a deadline */
	int pts_master;		  /* the last restore's orphan-pts-master fd, not yet taken; -1 */
};

/* The default deadline of version, check and feature check when the caller set none. */
#define CLIENT_QUERY_TIMEOUT_US (30ull * 1000 * 1000)

/* Which criu to run (absolute path, malloc'd). */
int client_criu_path(const ckpt_client *c, char **ret, ckpt_err *err);
/*
 * A connection for one request: the prepared one if it is alive and the
 * request passes no fds, else a new criu (swrk; detached for a self-dump) or a
 * service connection. conn->deadline_us must be set by the caller.
 */
int client_connect(ckpt_client *c, bool detach, const struct fdpass *fds, size_t n_fds,
		   struct conn *conn, ckpt_err *err);
/* Keep processes the call could not reap in time: reaped at the next call or at free. */
void client_keep_unreaped(ckpt_client *c, struct proc_set *s);
/* Reap what was kept, waiting until until_us (0: look once). */
void client_reap_kept(ckpt_client *c, uint64_t until_us);
/* Hand over an orphan-pts-master fd for ckpt_client_take_pts_master (an older one is closed). */
void client_keep_pts_master(ckpt_client *c, int fd);

#endif
