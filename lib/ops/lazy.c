/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lazy restore from local images: `criu lazy-pages` run here on the images
 * dir, the restore started with lazy pages, the tree running as soon as CRIU
 * is done, its memory delivered through userfaultfd in the background.
 *
 * Never on missing memory. A userfaultfd whose last reference goes away
 * (its handler died) unregisters its ranges, and a later fault on a page
 * never copied maps a zero page: the process would run on. So the restore
 * does not reach the daemon directly: it connects to our socket, and each
 * userfaultfd it hands over (criu/uffd.c's protocol: a pid as int, then the
 * fd with one byte; a negative pid for a zombie, no fd; at the end
 * LAZY_PAGES_RESTORE_FINISHED) is kept open here, a reference of ours, and
 * passed on to the daemon. While we hold it, a fault the daemon never
 * answers waits; if the daemon ends with anything but success, the tree is
 * killed first and our references closed after: no task of the checkpoint
 * ever returns to user space with a zero page where its memory was.
 *
 * One thread per lazy restore does both: the relay, then the watch of the
 * daemon. The caller's thread only starts it, restores, and waits.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "rpc/call.h"
#include "rpc/swrk.h"
#include "images/imgdir.h"
#include "proc/proc.h"
#include "proc/procfs.h"
#include "ops.h"
#include <ckpt/images.h>

/* criu/uffd.c */
#define LP_SOCK_NAME "lazy-pages.socket"
#define LP_RESTORE_FINISHED 0x52535446u
#define LP_LOG "lazy-pages.log"

/* The fds criu lazy-pages gets. */
#define LP_FD_IMAGES 4
#define LP_FD_WORK 5
#define LP_FD_STATUS 6

enum lazy_state { LAZY_COPYING, LAZY_DONE, LAZY_FAILED };

struct ckpt_lazy {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_started;
	enum lazy_state state; /* under mu */
	bool killed;	       /* the tree was killed (under mu) */
	bool stop;	       /* free: end now (under mu) */
	ckpt_err fail;	       /* why, when FAILED (under mu) */
	struct kept daemon;    /* criu lazy-pages under its keeper; the thread reads its status */
	struct proc root;      /* the restored root (pidfd), once the restore returned */
	pid_t root_pid;
	int listen_fd;	  /* our socket in the restore's work dir */
	int stop_pipe[2]; /* [1] written by free: the thread ends */
	int *uffds;	  /* the userfaultfds held (see above) */
	size_t n_uffds, cap_uffds;
	int img_fd;    /* the images dir (for the total) */
	int parent_fd; /* where the session dir is */
	char sess_name[32];
	int sess_fd, daemon_dir_fd;
	char *sess_path; /* for messages */
	char restore_log[NAME_MAX + 1];
	uint64_t total_bytes, rchar_base;
	uint64_t t_start_us, t_running_us, t_done_us;
};

/* ---- the session dir: the restore's work dir (our socket, restore.log), daemon/ (its own) ---- */

static int session_create(struct ckpt_lazy *l, const struct dir_ref *parent, ckpt_err *err)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[6];

	for (int tries = 0; tries < 16; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return err_sys(err, CKPT_ESYS, errno, "lazy restore: getrandom");
		memcpy(l->sess_name, ".ckpt-lazy-", 11);
		for (size_t i = 0; i < sizeof(rnd); i++) {
			l->sess_name[11 + 2 * i] = hex[rnd[i] >> 4];
			l->sess_name[12 + 2 * i] = hex[rnd[i] & 15];
		}
		l->sess_name[11 + 2 * sizeof(rnd)] = '\0';
		if (mkdirat(parent->fd, l->sess_name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return err_sys(err, CKPT_EIMAGES, errno,
				       "lazy restore: cannot create a directory in '%s'",
				       dir_ref_name(parent));
		l->sess_name[0] = '\0';
	}
	if (!l->sess_name[0])
		return err_set(err, CKPT_EIMAGES, "lazy restore: no free name in '%s'",
			       dir_ref_name(parent));
	l->parent_fd = fcntl(parent->fd, F_DUPFD_CLOEXEC, 3);
	if (l->parent_fd < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy restore: dup");
	if (asprintf(&l->sess_path, "%s/%s", dir_ref_name(parent), l->sess_name) < 0) {
		l->sess_path = NULL;
		return err_set(err, CKPT_ENOMEM, "out of memory");
	}
	l->sess_fd =
		openat(parent->fd, l->sess_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (l->sess_fd >= 0) {
		/* swapped between our mkdir and our open (a parent others can write)? Not ours then */
		struct dir_ref ref = { .fd = l->sess_fd, .owned = false, .path = l->sess_path };
		int r = dir_check_private(&ref, "lazy restore", err);

		if (r < 0) {
			close(l->sess_fd);
			l->sess_fd = -1;
			l->sess_name[0] = '\0'; /* never removed by us */
			return r;
		}
	}
	if (l->sess_fd < 0 || mkdirat(l->sess_fd, "daemon", 0700) < 0 ||
	    (l->daemon_dir_fd = openat(l->sess_fd, "daemon",
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "lazy restore: cannot set up '%s'",
			       l->sess_path);
	return 0;
}

/* Remove what is in dirfd (files, sockets: what CRIU and we put there), then the dir itself. */
static void dir_empty_remove(int parent, int dirfd, const char *name)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_type != DT_DIR)
			(void)unlinkat(dirfd, de->d_name, 0);
	closedir(d);
	(void)unlinkat(parent, name, AT_REMOVEDIR);
}

static void session_remove(struct ckpt_lazy *l)
{
	if (l->daemon_dir_fd >= 0)
		dir_empty_remove(l->sess_fd, l->daemon_dir_fd, "daemon");
	if (l->sess_fd >= 0)
		dir_empty_remove(l->parent_fd, l->sess_fd, l->sess_name);
}

/* ---- the relay between the restore and the daemon ---- */

/*
 * Wait for fd to be ready (events): 0; -1 when stopped (or poll failed); -2
 * when the daemon ended first (its status is readable: the watch reads it).
 */
static int wait_fd(struct ckpt_lazy *l, int fd, short events)
{
	struct pollfd p[3] = { { .fd = fd, .events = events },
			       { .fd = l->stop_pipe[0], .events = POLLIN },
			       { .fd = l->daemon.status_fd, .events = POLLIN } };
	int r;

	for (;;) {
		r = poll(p, 3, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			return -1;
		if (p[2].revents)
			return -2;
		if (p[0].revents)
			return 0;
	}
}

/*
 * Read exactly len bytes from the restore; at most one fd may come with them
 * (*ret_fd, else -1). 1 on a clean end before any byte, 0 done, -1 failed,
 * -2 the daemon ended.
 */
static int recv_exact(struct ckpt_lazy *l, int fd, void *buf, size_t len, int *ret_fd)
{
	size_t got = 0;
	int r;

	*ret_fd = -1;
	while (got < len) {
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n;

		if ((r = wait_fd(l, fd, POLLIN)) < 0)
			return r;
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t nfd;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*ret_fd < 0)
					*ret_fd = f;
				else
					close(f); /* more than the protocol sends: refused below */
			}
			if (nfd > 1) {
				close(*ret_fd);
				*ret_fd = -1;
				return -1;
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			return -1;
		if (n == 0)
			return got == 0 ? 1 : -1;
		got += (size_t)n;
	}
	return 0;
}

static int send_all(struct ckpt_lazy *l, int fd, const void *buf, size_t len, int pass_fd)
{
	size_t sent = 0;
	int r;

	while (sent < len) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { (char *)buf + sent, len - sent };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (pass_fd >= 0) {
			struct cmsghdr *c;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
		}
		if ((r = wait_fd(l, fd, POLLOUT)) < 0)
			return r;
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
		pass_fd = -1;
	}
	return 0;
}

static int keep_uffd(struct ckpt_lazy *l, int fd)
{
	if (l->n_uffds == l->cap_uffds) {
		size_t cap = l->cap_uffds ? l->cap_uffds * 2 : 16;
		int *v = realloc(l->uffds, cap * sizeof(*v));

		if (!v)
			return -1;
		l->uffds = v;
		l->cap_uffds = cap;
	}
	l->uffds[l->n_uffds++] = fd;
	return 0;
}

static void close_uffds(struct ckpt_lazy *l)
{
	for (size_t i = 0; i < l->n_uffds; i++)
		close(l->uffds[i]);
	l->n_uffds = 0;
}

/*
 * The restore's connection, relayed message by message to the daemon. 0 when
 * it ended after its FINISHED; -2 when the daemon ended first; -1 stopped or
 * failed (why says how).
 */
static int relay(struct ckpt_lazy *l, char *why, size_t why_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	_cleanup_close_ int in = -1, out = -1;
	bool finished = false;
	char name[64];
	int r;

	if ((r = wait_fd(l, l->listen_fd, POLLIN)) < 0)
		return r;
	in = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (in < 0) {
		snprintf(why, why_len, "accept: %s", strerror(errno));
		return -1;
	}
	{
		/* the restore's criu runs as us: another user never speaks for it */
		struct ucred cr;
		socklen_t len = sizeof(cr);

		if (getsockopt(in, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
			snprintf(why, why_len, "a process of uid %d, not the restore, connected",
				 len == sizeof(cr) ? (int)cr.uid : -1);
			return -1;
		}
	}
	snprintf(name, sizeof(name), "fd/%d/%s", l->daemon_dir_fd, LP_SOCK_NAME);
	out = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (out < 0 || procfs_path(sun.sun_path, sizeof(sun.sun_path), PROCFS_SELF, name) < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return -1;
	}
	while (connect(out, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS || errno == EAGAIN) {
			if ((r = wait_fd(l, out, POLLOUT)) < 0)
				return r;
			break;
		}
		snprintf(why, why_len, "cannot reach criu lazy-pages: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		int32_t word;
		int fd = -1;
		char one;

		r = recv_exact(l, in, &word, sizeof(word), &fd);
		if (r == 1 && finished)
			return 0;
		if (r == -2)
			return r;
		if (r != 0 || fd >= 0 || finished) {
			if (fd >= 0)
				close(fd);
			if (r < 0 && r != -1)
				return r;
			/* a restore that ended early failed: its own error says why */
			if (r != 1)
				snprintf(why, why_len, "the restore broke the lazy-pages protocol");
			return -1;
		}
		if ((r = send_all(l, out, &word, sizeof(word), -1)) < 0) {
			snprintf(why, why_len, "criu lazy-pages closed its socket");
			return r;
		}
		if ((uint32_t)word == LP_RESTORE_FINISHED) {
			finished = true;
			continue;
		}
		if (word < 0)
			continue; /* a zombie: no fd */
		r = recv_exact(l, in, &one, 1, &fd);
		if (r != 0 || fd < 0) {
			if (fd >= 0)
				close(fd);
			if (r == -2)
				return r;
			snprintf(why, why_len, "the restore sent no userfaultfd for pid %d",
				 (int)word);
			return -1;
		}
		if (keep_uffd(l, fd) < 0) {
			close(fd);
			snprintf(why, why_len, "out of memory");
			return -1;
		}
		if ((r = send_all(l, out, &one, 1, fd)) < 0) {
			snprintf(why, why_len, "criu lazy-pages closed its socket");
			return r;
		}
	}
}

/* ---- killing the tree ---- */

/* Under mu: kill the restored tree (every task we can find under its root), once. */
static void kill_tree_locked(struct ckpt_lazy *l)
{
	struct proc_set set = { 0 };

	if (l->killed || l->root.pidfd < 0)
		return;
	(void)proc_tree_collect_errno(&l->root, &set);
	proc_set_signal(&set, SIGKILL);
	(void)proc_signal_errno(&l->root, SIGKILL);
	proc_set_free(&set);
	l->killed = true;
}

static uint64_t daemon_rchar(const struct ckpt_lazy *l)
{
	_cleanup_free_ char *s = NULL;
	char path[64];
	size_t len;
	const char *p;

	if (l->daemon.criu.pid <= 0 ||
	    procfs_path(path, sizeof(path), l->daemon.criu.pid, "io") < 0 ||
	    read_small_file_errno(path, 4096, &s, &len) < 0)
		return 0;
	p = strstr(s, "rchar: ");
	return p ? strtoull(p + 7, NULL, 10) : 0;
}

static void fail_locked(struct ckpt_lazy *l, const char *what)
{
	if (l->state != LAZY_COPYING)
		return;
	l->state = LAZY_FAILED;
	err_set(&l->fail, CKPT_ECRIU, "%s", what);
}

static void *lazy_thread(void *arg)
{
	struct ckpt_lazy *l = arg;
	char why[160] = "";
	struct pollfd p[2];
	bool known;
	int st = 0;

	int rr = relay(l, why, sizeof(why));

	if (rr == -1) {
		pthread_mutex_lock(&l->mu);
		if (!l->stop && why[0]) {
			char m[200];

			snprintf(m, sizeof(m), "lazy restore: %s", why);
			fail_locked(l, m);
		}
		pthread_mutex_unlock(&l->mu);
		/* the restore fails or its tasks wait on our userfaultfds: the caller kills */
	} else if (rr == 0) {
		ckpt_image_info *info = NULL;
		uint64_t total = 0;

		/* the memory the checkpoint holds: what progress counts toward */
		if (ckpt_image_info_read(l->img_fd, NULL, &info, NULL) == 0)
			for (size_t i = 0; i < ckpt_image_info_nr_processes(info); i++)
				total += ckpt_image_info_memory_bytes(info, i);
		ckpt_image_info_free(info);
		pthread_mutex_lock(&l->mu);
		l->total_bytes = total;
		pthread_mutex_unlock(&l->mu);
	}
	p[0] = (struct pollfd){ .fd = l->daemon.status_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = l->stop_pipe[0], .events = POLLIN };
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (p[1].revents && !p[0].revents)
		return NULL; /* free: it kills and reaps */
	known = kept_status(&l->daemon, &st) == 0;
	pthread_mutex_lock(&l->mu);
	if (l->state == LAZY_COPYING && known && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		l->state = LAZY_DONE;
		l->t_done_us = now_us();
		session_remove(l); /* the logs of a restore that went well: nothing to keep */
	} else {
		char d[64];

		if (!known)
			snprintf(d, sizeof(d), "ended (status unknown)");
		else if (WIFEXITED(st))
			snprintf(d, sizeof(d), "exited with code %d", WEXITSTATUS(st));
		else
			snprintf(d, sizeof(d), "was killed by signal %d%s", WTERMSIG(st),
				 WTERMSIG(st) == SIGKILL ? " (SIGKILL)" :
				 WTERMSIG(st) == SIGTERM ? " (SIGTERM)" :
				 WTERMSIG(st) == SIGSEGV ? " (SIGSEGV)" :
							   "");
		char m[160];

		snprintf(m, sizeof(m), "criu lazy-pages %s before every page was in", d);
		fail_locked(l, m);
		kill_tree_locked(
			l); /* before our userfaultfds go: no task runs on a missing page */
	}
	close_uffds(l);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the daemon ---- */

static int daemon_start(struct ckpt_lazy *l, ckpt_client *c, const ckpt_opts *o, int img_fd,
			uint64_t deadline_us, ckpt_err *err)
{
	_cleanup_free_ char *criu = NULL;
	char level[8] = "-v2", images[32], work[32], status[8];
	char *argv[] = { "criu",	"lazy-pages", "-D", images, "-W",  work,
			 "--status-fd", status,	      "-o", LP_LOG, level, NULL };
	struct fdpass fds[3];
	struct spawn_cfg cfg;
	int pipefd[2] = { -1, -1 }, rc;
	int64_t lv;
	struct pollfd p[2];
	char ch;

	_Static_assert(LP_FD_IMAGES == 4 && LP_FD_WORK == 5, "fd/4 and fd/5 below");
	if (procfs_path(images, sizeof(images), PROCFS_SELF, "fd/4") < 0 ||
	    procfs_path(work, sizeof(work), PROCFS_SELF, "fd/5") < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy restore: the directories' paths");
	snprintf(status, sizeof(status), "%d", LP_FD_STATUS);
	if (ckpt_opts_get_int(o, CKPT_OPT_LOG_LEVEL, &lv, NULL) == 1)
		snprintf(level, sizeof(level), "-v%d", (int)lv);
	rc = client_criu_path(c, &criu, err);
	if (rc < 0)
		return rc;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy restore: pipe");
	fds[0] = (struct fdpass){ img_fd, LP_FD_IMAGES };
	fds[1] = (struct fdpass){ l->daemon_dir_fd, LP_FD_WORK };
	fds[2] = (struct fdpass){ pipefd[1], LP_FD_STATUS };
	cfg = (struct spawn_cfg){ .criu = criu, .env = c->env, .stdio = c->stdio };
	rc = criu_spawn_kept(&cfg, argv, fds, 3, &l->daemon, err);
	close(pipefd[1]);
	if (rc < 0) {
		close(pipefd[0]);
		return rc;
	}
	/* its status byte: the images were read and its socket listens */
	p[0] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = l->daemon.status_fd, .events = POLLIN };
	for (;;) {
		int ms = poll_ms_until(deadline_us);

		rc = poll(p, 2, ms);
		if (rc >= 0 || errno != EINTR)
			break;
	}
	if (rc > 0 && (p[0].revents & POLLIN) && read(pipefd[0], &ch, 1) == 1)
		rc = 0;
	else
		rc = err_set(
			err, rc == 0 ? CKPT_ETIMEDOUT : CKPT_ECRIU,
			"lazy restore: criu lazy-pages did not get ready (%s; see %s/daemon/%s)",
			rc == 0 ? "no status byte in time" : "it exited", l->sess_path, LP_LOG);
	close(pipefd[0]);
	if (rc == 0)
		l->rchar_base = daemon_rchar(l);
	return rc;
}

static void daemon_kill(struct ckpt_lazy *l)
{
	kept_kill(&l->daemon);
}

/* ---- the API ---- */

static struct ckpt_lazy *lazy_new(void)
{
	struct ckpt_lazy *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->daemon = (struct kept){ .keeper = PROC_INIT, .criu = PROC_INIT, .status_fd = -1 };
	l->root = (struct proc)PROC_INIT;
	l->listen_fd = l->img_fd = l->parent_fd = l->sess_fd = l->daemon_dir_fd = -1;
	l->stop_pipe[0] = l->stop_pipe[1] = -1;
	l->fail = (ckpt_err)CKPT_ERR_INIT;
	return l;
}

/* End the thread (if any), kill the tree (if not done) and the daemon, release everything. */
static void lazy_destroy(struct ckpt_lazy *l, bool keep_session)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	if (l->state != LAZY_DONE)
		kill_tree_locked(l);
	pthread_mutex_unlock(&l->mu);
	if (l->stop_pipe[1] >= 0)
		(void)!write(l->stop_pipe[1], "x", 1);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	/* the thread is gone: no lock needed */
	if (l->state != LAZY_DONE)
		kill_tree_locked(l);
	daemon_kill(l);
	close_uffds(l);
	free(l->uffds);
	proc_close(&l->root);
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	if (!keep_session)
		session_remove(l);
	for (int i = 0; i < 2; i++)
		if (l->stop_pipe[i] >= 0)
			close(l->stop_pipe[i]);
	if (l->daemon_dir_fd >= 0)
		close(l->daemon_dir_fd);
	if (l->sess_fd >= 0)
		close(l->sess_fd);
	if (l->parent_fd >= 0)
		close(l->parent_fd);
	if (l->img_fd >= 0)
		close(l->img_fd);
	free(l->sess_path);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* CRIU named the root (setup-namespaces): from now on the tree can be killed. */
static void lazy_on_root(void *userdata, pid_t pid)
{
	struct ckpt_lazy *l = userdata;

	pthread_mutex_lock(&l->mu);
	if (l->root.pidfd < 0) {
		l->root_pid = pid;
		if (proc_adopt_child_errno(&l->root, pid) < 0 || l->root.reaped) {
			proc_close(&l->root);
			l->root = (struct proc)PROC_INIT;
			(void)proc_open_errno(&l->root, pid);
		}
	}
	if (l->state == LAZY_FAILED)
		kill_tree_locked(l);
	pthread_mutex_unlock(&l->mu);
}

static int listen_here(struct ckpt_lazy *l, ckpt_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char name[64];

	snprintf(name, sizeof(name), "fd/%d/%s", l->sess_fd, LP_SOCK_NAME);
	l->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->listen_fd < 0 ||
	    procfs_path(sun.sun_path, sizeof(sun.sun_path), PROCFS_SELF, name) < 0 ||
	    bind(l->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(l->listen_fd, 1) < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy restore: the socket in '%s'",
			       l->sess_path);
	return 0;
}

int ckpt_restore_lazy(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, ckpt_lazy **ret_lazy,
		      ckpt_err *err)
{
	struct dir_ref img = DIR_REF_INIT, work = DIR_REF_INIT;
	struct ckpt_lazy *l = NULL;
	ckpt_opts *ro = NULL;
	uint64_t deadline;
	pid_t pid = 0;
	bool keep = false;
	int r;

	assert_return(c && o && ret_lazy, err, "lazy restore: NULL argument");
	*ret_lazy = NULL;
	if (c->service_path)
		return err_set(
			err, CKPT_ENOTSUP,
			"lazy restore: libckpt runs criu lazy-pages beside the restore, which "
			"needs a swrk client, not a criu service");
	if (!dirspec_is_set(&o->images))
		return err_set(err, CKPT_EINVAL,
			       "lazy restore: no images directory set (ckpt_opts_set_images_dir)");
	l = lazy_new();
	if (!l)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	l->t_start_us = now_us();
	deadline = l->t_start_us +
		   (c->timeout_set && c->timeout_us ? c->timeout_us : CLIENT_QUERY_TIMEOUT_US);
	r = dir_ref_open(&o->images, "lazy restore: images-dir", o->follow_symlinks, &img, err);
	if (r == 0 && dirspec_is_set(&o->work))
		r = dir_ref_open(&o->work, "lazy restore: work-dir", o->follow_symlinks, &work,
				 err);
	if (r < 0)
		goto fail;
	if (!dir_has_checkpoint(img.fd)) {
		r = err_set(err, CKPT_EIMAGES,
			    "lazy restore: '%s' holds no checkpoint (no inventory.img)",
			    dir_ref_name(&img));
		goto fail;
	}
	l->img_fd = fcntl(img.fd, F_DUPFD_CLOEXEC, 3);
	r = l->img_fd < 0 ? err_sys(err, CKPT_ESYS, errno, "lazy restore: dup") :
			    session_create(l, work.fd >= 0 ? &work : &img, err);
	if (r == 0 && pipe2(l->stop_pipe, O_CLOEXEC) < 0)
		r = err_sys(err, CKPT_ESYS, errno, "lazy restore: pipe");
	if (r == 0)
		r = listen_here(l, err);
	if (r == 0)
		r = daemon_start(l, c, o, img.fd, deadline, err);
	if (r < 0) {
		keep = l->daemon.criu.pid > 0; /* its log says why */
		goto fail;
	}
	if (pthread_create(&l->thread, NULL, lazy_thread, l) != 0) {
		r = err_set(err, CKPT_ESYS, "lazy restore: cannot start its thread");
		goto fail;
	}
	l->thread_started = true;
	r = ckpt_opts_clone(o, &ro, err);
	if (r == 0)
		r = ckpt_opts_set_images_dir_fd(ro, img.fd, err);
	if (r == 0)
		r = ckpt_opts_set_work_dir_fd(ro, l->sess_fd, err);
	if (r == 0)
		r = ckpt_opts_set_bool(ro, CKPT_OPT_LAZY_PAGES, true, err);
	if (r == 0)
		r = restore_run(c, ro, &pid, lazy_on_root, l, err);
	if (r < 0) {
		pthread_mutex_lock(&l->mu);
		if (l->state == LAZY_FAILED) {
			/* the daemon went first: the tree was killed, so CRIU's restore failed */
			char crit[CKPT_ERR_MSG_MAX];

			snprintf(crit, sizeof(crit), "%s", err ? err->msg : "");
			err_copy(err, &l->fail);
			err_append(err,
				   "(during the restore: the tree was killed, never run on "
				   "missing memory, and CRIU's restore failed: %s)",
				   crit);
			r = l->fail.code ? l->fail.code : CKPT_ECRIU;
		}
		pthread_mutex_unlock(&l->mu);
		keep = true;
		goto fail;
	}
	pthread_mutex_lock(&l->mu);
	r = 0;
	if (l->root.pidfd < 0 || l->root_pid != pid) {
		proc_close(&l->root);
		l->root_pid = pid;
		r = proc_adopt_child_errno(&l->root, pid);
		if (r < 0 || l->root.reaped) {
			/* not our child: a restore that is not rst_sibling. Never run without our watch. */
			l->root = (struct proc)PROC_INIT;
			r = proc_open_errno(&l->root, pid);
		}
	}
	l->t_running_us = now_us();
	if (l->state == LAZY_FAILED) {
		kill_tree_locked(l);
		err_copy(err, &l->fail);
		err_set(err, r = l->fail.code ? l->fail.code : CKPT_ECRIU,
			"%s: the restored tree (pid %d) was killed, never run on missing memory; the images are kept",
			l->fail.msg, (int)pid);
		pthread_mutex_unlock(&l->mu);
		keep = true;
		r = l->fail.code ? l->fail.code : CKPT_ECRIU;
		goto fail;
	}
	pthread_mutex_unlock(&l->mu);
	if (r < 0) {
		r = err_sys(err, CKPT_ESYS, -r, "lazy restore: the restored pid %d", (int)pid);
		keep = true;
		goto fail;
	}
	snprintf(l->restore_log, sizeof(l->restore_log), "%s", "restore.log");
	ckpt_opts_free(ro);
	dir_ref_close(&img);
	dir_ref_close(&work);
	if (ret_pid)
		*ret_pid = pid;
	*ret_lazy = l;
	return 0;
fail:
	if (err && keep && !err->log_path[0] && l->sess_path)
		snprintf(err->log_path, sizeof(err->log_path), "%s/%s", l->sess_path,
			 l->daemon.criu.pid > 0 && keep ? "daemon/" LP_LOG : "restore.log");
	if (err && keep && l->sess_path)
		err_append(err, "(CRIU's logs are kept in %s)", l->sess_path);
	ckpt_opts_free(ro);
	dir_ref_close(&img);
	dir_ref_close(&work);
	lazy_destroy(l, keep);
	return r;
}

int ckpt_lazy_wait(ckpt_lazy *l, int timeout_ms, ckpt_err *err)
{
	uint64_t until = timeout_ms >= 0 ? now_us() + (uint64_t)timeout_ms * 1000 : 0;
	int r;

	assert_return(l, err, "lazy wait: NULL argument");
	pthread_mutex_lock(&l->mu);
	while (l->state == LAZY_COPYING) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&l->cv, &l->mu);
			continue;
		}
		uint64_t now = now_us();
		struct timespec ts;

		if (now >= until)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)((until - now) / 1000000);
		ts.tv_nsec += (long)((until - now) % 1000000) * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	switch (l->state) {
	case LAZY_DONE: r = 0; break;
	case LAZY_FAILED:
		err_copy(err, &l->fail);
		if (l->killed)
			err_set(err, l->fail.code ? l->fail.code : CKPT_ECRIU,
				"%s: the restored tree (pid %d) was killed, never run on missing memory; the images are kept",
				l->fail.msg, (int)l->root_pid);
		if (err && l->sess_path) {
			snprintf(err->log_path, sizeof(err->log_path), "%s/daemon/%s", l->sess_path,
				 LP_LOG);
			err_append(err, "(see %s)", err->log_path);
		}
		r = l->fail.code ? l->fail.code : CKPT_ECRIU;
		break;
	default: r = 1;
	}
	pthread_mutex_unlock(&l->mu);
	return r;
}

void ckpt_lazy_progress(const ckpt_lazy *l, uint64_t *done_bytes, uint64_t *total_bytes)
{
	struct ckpt_lazy *m = (struct ckpt_lazy *)l; /* the lock only */
	uint64_t done = 0, total = 0;

	if (l) {
		pthread_mutex_lock(&m->mu);
		total = l->total_bytes;
		if (l->state == LAZY_DONE) {
			done = total;
		} else if (l->state == LAZY_COPYING && l->daemon.criu.pid > 0) {
			uint64_t rc = daemon_rchar(l);

			done = rc > l->rchar_base ? rc - l->rchar_base : 0;
			if (total && done > total)
				done = total;
		}
		pthread_mutex_unlock(&m->mu);
	}
	if (done_bytes)
		*done_bytes = done;
	if (total_bytes)
		*total_bytes = total;
}

int ckpt_lazy_times(const ckpt_lazy *l, uint64_t *running_us, uint64_t *done_us)
{
	struct ckpt_lazy *m = (struct ckpt_lazy *)l;
	int done;

	if (!l)
		return -1;
	pthread_mutex_lock(&m->mu);
	done = l->state == LAZY_DONE;
	if (running_us)
		*running_us = l->t_running_us - l->t_start_us;
	if (done_us)
		*done_us = done ? l->t_done_us - l->t_start_us : 0;
	pthread_mutex_unlock(&m->mu);
	return done;
}

void ckpt_lazy_free(ckpt_lazy *l)
{
	bool keep;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	keep = l->state != LAZY_DONE;
	pthread_mutex_unlock(&l->mu);
	lazy_destroy(l, keep);
}
