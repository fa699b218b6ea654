/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Starting criu: `criu swrk 3` on a socketpair, or another criu command; a bare environment, stdio and exactly the fds it is given. */
#ifndef CKPT_SWRK_H
#define CKPT_SWRK_H

#include "conn.h"
#include "base/error.h"

#define SWRK_FD 3	 /* criu's end of the socket, in criu */
#define SWRK_PASS_BASE 4 /* the first fd number of the fds passed to criu */
#define SWRK_PASS_MAX 64

struct spawn_cfg {
	const char *criu; /* absolute path */
	char *const *env; /* NULL: PATH only */
	const int *stdio; /* three fds, -1 for /dev/null */
	bool detach;	  /* self-dump: criu must not be our child (it dumps its peer's tree) */
};

/*
 * Spawn criu swrk with the socket as fd 3 and fds[i].src as fds[i].dst; no
 * other fd of ours reaches it. conn gets the socket (non-blocking) and, unless
 * detached, criu's pidfd. Exec failures are reported with the exec errno. On
 * a failure after the spawn, conn holds what was made: the caller closes it.
 */
int swrk_spawn(const struct spawn_cfg *cfg, const struct fdpass *fds, size_t n, struct conn *conn,
	       ckpt_err *err);

/*
 * Spawn criu with its own argv (argv[0] "criu", argv[1] the command: `criu
 * lazy-pages ...`), attached, with the same environment, stdio and closing of
 * every other fd as swrk_spawn; fds[i].src becomes fds[i].dst (4..1023). ret
 * gets the child and its pidfd.
 */
int criu_spawn_argv(const struct spawn_cfg *cfg, char *const argv[], const struct fdpass *fds,
		    size_t n, struct proc *ret, ckpt_err *err);

/*
 * Spawn criu with its own argv as criu_spawn_argv does, under a keeper: a
 * child of ours that forks criu, waits for it and writes its wait status to
 * status_fd, so a caller that reaps all its children (waitpid(-1)) cannot
 * take that status from us. criu is the keeper's child: ret->criu has its
 * pidfd (for signals), ret->keeper ours.
 */
struct kept {
	struct proc keeper;
	struct proc criu;
	int status_fd; /* readable once criu ended: its wait status (an int), or EOF */
};
int criu_spawn_kept(const struct spawn_cfg *cfg, char *const argv[], const struct fdpass *fds,
		    size_t n, struct kept *ret, ckpt_err *err);
/* Read criu's wait status (blocks until it ended), reap the keeper: 0, or -1 if none came. */
int kept_status(struct kept *k, int *ret_status);
/* SIGKILL criu, wait for the keeper, close everything. */
void kept_kill(struct kept *k);

#endif
