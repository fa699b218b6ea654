/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes handled through pidfds only: criu (our child), the helpers it
 * forked, a dump's target. A signal goes through a pidfd that was opened
 * while the process was provably the one meant (our unreaped child, or the
 * verified child of such a process), never through a bare pid that may have
 * been reaped and reused. Needs Linux 5.4 (pidfd_open 5.3, waitid P_PIDFD 5.4).
 */
#ifndef CKPT_PROC_H
#define CKPT_PROC_H

#include <sys/types.h>

#include "base/util.h"

struct proc {
	pid_t pid;	   /* 0: none */
	int pidfd;	   /* -1: none, and then it is never signalled */
	bool reaped;	   /* waited for by us, or found gone (reaped by someone else) */
	bool status_known; /* reaped by us: status is its wait status */
	int status;
#ifdef CKPT_VALGRIND_SIGNAL_FALLBACK
	unsigned long long start; /* its start time, read once the pidfd was open (0: unknown) */
#endif
};
#define PROC_INIT                     \
	{                             \
		.pid = 0, .pidfd = -1 \
	}

/*
 * Take our child `pid`, just spawned: open its pidfd and prove it is still our
 * child (waitid P_PIDFD). A child already reaped by someone else (a caller's
 * waitpid(-1)) is marked reaped, with its status unknown. 0, or -errno.
 */
int proc_adopt_child_errno(struct proc *p, pid_t pid);
/* A pidfd for any process (a dump's target): 0, or -errno (-ESRCH: no such process). */
int proc_open_errno(struct proc *p, pid_t pid);
/* Has it terminated (a zombie, or reaped)? True also when there is no pidfd. */
bool proc_exited(const struct proc *p);
/*
 * pidfd_send_signal: 0, or -errno (-EBADF without a pidfd, -ESRCH once
 * reaped). Never by pid. The one exception is a test build for valgrind
 * (CKPT_VALGRIND_SIGNAL_FALLBACK, off by default and in every shipped build):
 * valgrind has no handler for pidfd_send_signal, so there the signal goes by
 * kill() right after the pid was shown to be the process the pidfd was opened
 * on (its start time).
 */
int proc_signal_errno(const struct proc *p, int sig);
/*
 * Reap our child p, waiting until until_us (0: look once). 1 once reaped (the
 * status kept if it was ours to see), 0 if it is still there.
 */
int proc_reap(struct proc *p, uint64_t until_us);
/* Close the pidfd (does not reap). */
void proc_close(struct proc *p);

/* A set of processes, in the order they were found. */
struct proc_set {
	struct proc *v;
	size_t n, cap;
};

/*
 * Stop root with SIGSTOP and collect every descendant of it, each stopped as
 * it is found (so none forks more), from the children lists of all its
 * threads, with no cap. A child is taken only when its pidfd is open, its
 * parent (read after opening it) is the node it was listed under, and both
 * still exist. Returns 0 or -ENOMEM; what was found is in out either way.
 */
int proc_tree_collect_errno(const struct proc *root, struct proc_set *out);
void proc_set_signal(struct proc_set *s, int sig);
/*
 * Reap those that were reparented to us (a child subreaper) as they exit, in
 * order, until until_us. Those that are not ours to reap count as done.
 * Returns true when none is left waiting.
 */
bool proc_set_reap(struct proc_set *s, uint64_t until_us);
/* Append p (its pidfd moves into the set). -ENOMEM on failure, p untouched. */
int proc_set_add_errno(struct proc_set *s, struct proc *p);
/* Move every entry of src to the end of dst. */
int proc_set_move_errno(struct proc_set *dst, struct proc_set *src);
void proc_set_free(struct proc_set *s);

#endif
