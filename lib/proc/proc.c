/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes through pidfds: adopt, signal, reap with a bound, and collect criu's descendants. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "proc.h"
#include "procfs.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* A /proc children list is bounded by the number of processes; this is far above any tree here. */
#define CHILDREN_FILE_MAX (16u << 20)

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int waitid_pidfd(int pidfd, siginfo_t *si, int options)
{
	memset(si, 0, sizeof(*si));
	return waitid((idtype_t)P_PIDFD, (id_t)pidfd, si, options);
}

#ifdef CKPT_VALGRIND_SIGNAL_FALLBACK
/* The start time of the process at pid now, 0 if it cannot be read. */
static unsigned long long start_of(pid_t pid)
{
	struct procfs_stat st;

	return procfs_stat(pid, &st) == 0 ? st.start : 0;
}
#endif

int proc_open_errno(struct proc *p, pid_t pid)
{
	int fd;

	*p = (struct proc)PROC_INIT;
	if (pid <= 0)
		return -ESRCH;
	fd = pidfd_open_(pid);
	if (fd < 0)
		return -errno;
	p->pid = pid;
	p->pidfd = fd;
#ifdef CKPT_VALGRIND_SIGNAL_FALLBACK
	/* read after the pidfd is open: while the pidfd's process is not reaped, this is its start time */
	p->start = start_of(pid);
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 && errno == ESRCH)
		p->start = 0; /* gone already: whatever we read was not it */
#endif
	return 0;
}

int proc_adopt_child_errno(struct proc *p, pid_t pid)
{
	siginfo_t si;
	int r = proc_open_errno(p, pid);

	if (r == -ESRCH) {
		/* it exited and was reaped by someone else before we could look */
		p->pid = pid;
		p->reaped = true;
		return 0;
	}
	if (r < 0)
		return r;
	if (waitid_pidfd(p->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) {
		/* reaped by someone else and its pid reused: that process is not ours */
		proc_close(p);
		p->reaped = true;
	}
	return 0;
}

bool proc_exited(const struct proc *p)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	if (p->pidfd < 0 || p->reaped)
		return true;
	return poll(&pfd, 1, 0) > 0;
}

int proc_signal_errno(const struct proc *p, int sig)
{
	if (p->pidfd < 0 || p->reaped)
		return -EBADF;
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0)
		return 0;
#ifdef CKPT_VALGRIND_SIGNAL_FALLBACK
	/* valgrind's test build only (see proc.h): a pid shown to be the same process, right before */
	if (errno == ENOSYS) {
		if (!p->start || start_of(p->pid) != p->start)
			return -ESRCH;
		return kill(p->pid, sig) < 0 ? -errno : 0;
	}
#endif
	return -errno;
}

static int status_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED: return (si->si_status & 0xff) << 8;
	case CLD_KILLED: return si->si_status & 0x7f;
	case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
	default: return 0;
	}
}

int proc_reap(struct proc *p, uint64_t until_us)
{
	if (p->reaped)
		return 1;
	if (p->pidfd < 0) {
		p->reaped = true; /* nothing to reap through */
		return 1;
	}
	for (;;) {
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
		siginfo_t si;
		int pr;

		if (waitid_pidfd(p->pidfd, &si, WEXITED | WNOHANG) == 0) {
			if (si.si_pid) {
				p->reaped = true;
				p->status_known = true;
				p->status = status_of(&si);
				return 1;
			}
		} else if (errno != EINTR) {
			/* ECHILD: not (or no longer) our child: someone else reaped it */
			p->reaped = true;
			return 1;
		}
		if (!until_us || now_us() >= until_us)
			return 0;
		pr = poll(&pfd, 1, poll_ms_until(until_us));
		if (pr > 0)
			usleep(2000); /* exited but not yet reapable (a tracer holds it): look again shortly */
	}
}

void proc_close(struct proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

/* ---- sets ---- */

int proc_set_add_errno(struct proc_set *s, struct proc *p)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct proc *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = *p;
	return 0;
}

int proc_set_move_errno(struct proc_set *dst, struct proc_set *src)
{
	while (src->n) {
		if (proc_set_add_errno(dst, &src->v[0]) < 0)
			return -ENOMEM;
		memmove(src->v, src->v + 1, --src->n * sizeof(*src->v));
	}
	return 0;
}

void proc_set_free(struct proc_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		proc_close(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void proc_set_signal(struct proc_set *s, int sig)
{
	for (size_t i = 0; i < s->n; i++)
		(void)proc_signal_errno(&s->v[i], sig);
}

bool proc_set_reap(struct proc_set *s, uint64_t until_us)
{
	bool all = true;

	for (size_t i = 0; i < s->n; i++)
		if (proc_reap(&s->v[i], all ? until_us : 0) == 0)
			all = false;
	return all;
}

/* The parent pid of pid, -1 if it cannot be read. */
static pid_t ppid_of(pid_t pid)
{
	struct procfs_stat st;

	return procfs_stat(pid, &st) == 0 ? st.ppid : -1;
}

static bool in_set(const struct proc_set *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].pid == pid)
			return true;
	return false;
}

/* Take the verified children of node listed in one children file's text. */
static int take_children_errno(const struct proc *node, const char *text, struct proc_set *out)
{
	const char *s = text;

	while (*s) {
		char *end;
		long v;
		struct proc c;

		while (*s == ' ' || *s == '\n')
			s++;
		if (!*s)
			break;
		errno = 0;
		v = strtol(s, &end, 10);
		if (end == s || errno || v <= 0 || v > INT32_MAX) {
			/* not a pid: skip the token */
			while (*s && *s != ' ' && *s != '\n')
				s++;
			continue;
		}
		s = end;
		if (in_set(out, (pid_t)v) || proc_open_errno(&c, (pid_t)v) < 0)
			continue;
		/* the pidfd, the parent we read, and both still there: it is node's child */
		if (ppid_of(c.pid) != node->pid || proc_signal_errno(&c, 0) < 0 ||
		    proc_signal_errno(node, 0) < 0) {
			proc_close(&c);
			continue;
		}
		(void)proc_signal_errno(&c, SIGSTOP);
		if (proc_set_add_errno(out, &c) < 0) {
			proc_close(&c);
			return -ENOMEM;
		}
	}
	return 0;
}

static int collect_children(const struct proc *node, struct proc_set *out)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)node->pid);
	d = opendir(path);
	if (!d)
		return 0; /* gone */
	while (r == 0 && (de = readdir(d))) {
		char cpath[96], *text = NULL;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%.20s/children", (int)node->pid,
			 de->d_name);
		if (read_small_file_errno(cpath, CHILDREN_FILE_MAX, &text, NULL) < 0)
			continue;
		r = take_children_errno(node, text, out);
		free(text);
	}
	closedir(d);
	return r;
}

int proc_tree_collect_errno(const struct proc *root, struct proc_set *out)
{
	int r;

	if (proc_signal_errno(root, SIGSTOP) < 0)
		return 0; /* gone, or not ours to signal */
	r = collect_children(root, out);
	for (size_t i = 0; r == 0 && i < out->n; i++) {
		struct proc node = out->v[i]; /* a copy: out may grow */

		r = collect_children(&node, out);
	}
	return r;
}
