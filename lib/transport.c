/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One connection to CRIU for one request: spawn `criu swrk 3` on a
 * SOCK_SEQPACKET socketpair, or connect to a `criu service` socket; send a
 * request, receive replies (one message per packet, sized with
 * MSG_PEEK|MSG_TRUNC and capped), all against one deadline; close and reap.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "compat.h"
#include "internal.h"

#define SWRK_FD 3          /* criu's end of the socket, in criu */
#define INHERIT_FD_BASE 4  /* inherit-fd and page-server fds, in criu */
#define REAP_GRACE_US (5ull * 1000 * 1000)

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	NULL,
};

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds left before the deadline for poll(), -1 for none, 0 when past. */
static int poll_ms(uint64_t deadline_us)
{
	uint64_t now;

	if (!deadline_us)
		return -1;
	now = now_us();
	if (now >= deadline_us)
		return 0;
	return (int)((deadline_us - now + 999) / 1000 > INT32_MAX ? INT32_MAX : (deadline_us - now + 999) / 1000);
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Move fd to a number >= min (CLOEXEC), closing the old one. */
static int move_up(int *fd, int min)
{
	int nfd;

	if (*fd >= min)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, min);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Spawn criu swrk. Only the socket (as fd 3), stdio, and the fds that the
 * request names (inherit-fd, page-server fd; remapped to 4, 5, ... and the
 * request rewritten to match) reach criu; every other fd is closed in the
 * child by closefrom. The environment is the client's (a bare PATH by
 * default), and signal dispositions and mask are reset.
 */
static int spawn_swrk(const ckpt_client *c, CriuOpts *ro, struct conn *conn, ckpt_err *err)
{
	_cleanup_free_ char *criu = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int sv[2] = { -1, -1 };
	size_t n_inh = ro ? ro->n_inherit_fd : 0;
	bool has_psfd = ro && ro->ps && ro->ps->has_fd;
	size_t n_extra = n_inh + (has_psfd ? 1 : 0);
	int staged[64 + 3];
	size_t n_staged = 0;
	int min_fd, r;
	pid_t pid;
	char *argv[] = { "criu", "swrk", "3", NULL };

	if (n_extra > 64)
		return err_set(err, CKPT_EINVAL, "spawn: %zu inherited fds (at most 64)", n_extra);
	r = criu_resolve(c, &criu, err);
	if (r < 0)
		return r;

	/* Stage every fd that moves into the child above the target range, so no dup2 clobbers a source. */
	min_fd = INHERIT_FD_BASE + (int)n_extra;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, CKPT_ESYS, errno, "spawn: socketpair");
	if (move_up(&sv[1], min_fd) < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "spawn: fcntl");
		goto fail;
	}
	for (size_t i = 0; i < n_extra; i++) {
		int src = i < n_inh ? ro->inherit_fd[i]->fd : ro->ps->fd;
		int s = fcntl(src, F_DUPFD_CLOEXEC, min_fd);

		if (s < 0) {
			r = err_sys(err, CKPT_EINVAL, errno, "spawn: inherit fd %d", src);
			goto fail;
		}
		staged[n_staged++] = s;
	}
	for (int i = 0; i < 3; i++) {
		int s = -1;

		if (c->stdio[i] >= 0) {
			s = fcntl(c->stdio[i], F_DUPFD_CLOEXEC, min_fd);
			if (s < 0) {
				r = err_sys(err, CKPT_ESYS, errno, "spawn: stdio fd %d", c->stdio[i]);
				goto fail;
			}
		}
		staged[n_staged++] = s;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	for (int i = 0; i < 3; i++) {
		int s = staged[n_extra + i];

		if (s >= 0)
			posix_spawn_file_actions_adddup2(&fa, s, i);
		else
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
	}
	posix_spawn_file_actions_adddup2(&fa, sv[1], SWRK_FD);
	for (size_t i = 0; i < n_extra; i++)
		posix_spawn_file_actions_adddup2(&fa, staged[i], INHERIT_FD_BASE + (int)i);
	r = compat_spawn_closefrom(&fa, min_fd);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	if (r == 0)
		r = posix_spawn(&pid, criu, &fa, &attr, argv, c->env ? c->env : (char **)default_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close_all(staged, n_staged);
	n_staged = 0;
	close(sv[1]);
	sv[1] = -1;
	if (r != 0) {
		r = err_sys(err, CKPT_ECRIU_EXEC, r, "spawn: cannot run '%s swrk'", criu);
		goto fail;
	}
	/* The request names criu's own fd numbers. */
	for (size_t i = 0; i < n_inh; i++)
		ro->inherit_fd[i]->fd = INHERIT_FD_BASE + (int)i;
	if (has_psfd)
		ro->ps->fd = INHERIT_FD_BASE + (int)n_inh;

	conn->fd = sv[0];
	conn->pid = pid;
	conn->pidfd = pidfd_open_(pid);
	if (fcntl(conn->fd, F_SETFL, O_NONBLOCK) < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "spawn: fcntl");
		conn_close(conn, true);
		return r;
	}
	log_client(c, CKPT_LOG_DEBUG, "spawned %s swrk 3 as pid %d", criu, (int)pid);
	return 0;
fail:
	close_all(staged, n_staged);
	close_all(sv, 2);
	return r;
}

static int connect_service(const ckpt_client *c, CriuOpts *ro, struct conn *conn, ckpt_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_close_ int fd = -1;
	const char *p = c->service_path;

	if (ro && (ro->n_inherit_fd || (ro->ps && ro->ps->has_fd) || (ro->has_rst_sibling && ro->rst_sibling)))
		return err_set(err, CKPT_ENOTSUP,
			       "service: inherit-fd, page-server fd and restore-sibling work only in swrk mode");
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(err, CKPT_ESYS, errno, "service: socket");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		if (e == EINPROGRESS || e == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int so = 0;
			socklen_t sl = sizeof(so);

			if (poll(&pfd, 1, poll_ms(conn->deadline_us)) <= 0)
				return err_set(err, CKPT_ETIMEDOUT, "service: connecting to '%s' timed out", p);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
			e = so;
		}
		if (e) {
			const char *why = e == ENOENT	    ? "no such socket"
					  : e == ECONNREFUSED ? "nobody listens (stale socket?)"
					  : e == EPROTOTYPE   ? "not a SOCK_SEQPACKET socket"
					  : e == ENOTSOCK     ? "not a socket"
							      : "cannot connect";
			return err_sys(err, CKPT_ESERVICE, e, "service: '%s': %s", p, why);
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return err_sys(err, CKPT_ESERVICE, errno, "service: '%s': cannot read the peer's credentials", p);
	if (cred.uid != 0 && !(c->service_uid_set && cred.uid == c->service_uid))
		return err_set(err, CKPT_EPERM,
			       "service: '%s' is served by uid %u, not root%s (refused: set the trusted uid with "
			       "ckpt_client_set_service_uid)",
			       p, (unsigned)cred.uid, c->service_uid_set ? " or the trusted uid" : "");
	conn->fd = fd;
	fd = -1;
	conn->pid = 0;
	conn->pidfd = -1;
	return 0;
}

static int conn_open_new(const ckpt_client *c, CriuOpts *ro, struct conn *conn, ckpt_err *err)
{
	conn->fd = -1;
	conn->pid = 0;
	conn->pidfd = -1;
	conn->reaped = false;
	conn->wait_status = 0;
	conn->deadline_us = c->timeout_us ? now_us() + c->timeout_us : 0;
	if (c->service_path) {
		err_set_step(err, "connect");
		return connect_service(c, ro, conn, err);
	}
	return spawn_swrk(c, ro, conn, err);
}

/* Can this request be served by the prepared criu? Not if it hands fds to criu. */
static bool prepared_usable(const struct conn *p, const CriuOpts *ro)
{
	int st;

	if (ro && (ro->n_inherit_fd || (ro->ps && ro->ps->has_fd)))
		return false;
	if (p->pid > 0 && waitpid(p->pid, &st, WNOHANG) != 0)
		return false; /* it died meanwhile (or was reaped by someone else) */
	return true;
}

int conn_open(ckpt_client *c, CriuOpts *ro, struct conn *conn, ckpt_err *err)
{
	if (c->prepared) {
		struct conn *p = c->prepared;

		c->prepared = NULL;
		if (prepared_usable(p, ro)) {
			*conn = *p;
			free(p);
			conn->deadline_us = c->timeout_us ? now_us() + c->timeout_us : 0;
			return 0;
		}
		conn_close(p, true);
		free(p);
	}
	return conn_open_new(c, ro, conn, err);
}

void client_drop_prepared(ckpt_client *c)
{
	if (c->prepared) {
		conn_close(c->prepared, true);
		free(c->prepared);
		c->prepared = NULL;
	}
}

int ckpt_client_prepare(ckpt_client *c, ckpt_err *err)
{
	struct conn *p;
	int r;

	assert_return(c, err, "prepare: NULL client");
	client_drop_prepared(c);
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(err, CKPT_ENOMEM, "prepare: out of memory");
	r = conn_open_new(c, NULL, p, err);
	if (r < 0) {
		free(p);
		err_prefix(err, "prepare");
		return r;
	}
	c->prepared = p;
	return 0;
}

/*
 * SIGKILL criu and every process it forked (its helpers would otherwise be
 * orphaned to the caller or init, maybe still holding the target frozen).
 * The descendants are collected first, from /proc/PID/task/TID/children.
 */
static void kill_tree(pid_t root)
{
	pid_t pids[256];
	size_t n = 0, i;

	pids[n++] = root;
	for (i = 0; i < n; i++) {
		char path[64], buf[4096];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pids[i], (int)pids[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t && n < ARRAY_SIZE(pids);
			     t = strtok_r(NULL, " \n", &save))
				pids[n++] = (pid_t)atoi(t);
		fclose(f);
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

/* Reap the swrk child, waiting until `until_us` (0: no wait) and then killing it. */
static void reap(struct conn *conn, uint64_t until_us)
{
	int st;
	pid_t r;

	if (conn->pid <= 0 || conn->reaped)
		return;
	for (;;) {
		r = waitpid(conn->pid, &st, WNOHANG);
		if (r == conn->pid || (r < 0 && errno != EINTR))
			break;
		if (r == 0 && now_us() < until_us) {
			if (conn->pidfd >= 0) {
				struct pollfd pfd = { .fd = conn->pidfd, .events = POLLIN };

				poll(&pfd, 1, poll_ms(until_us));
			} else {
				usleep(2000);
			}
			continue;
		}
		if (r == 0) {
			/* it answered but lingers: end it, not what it restored */
			kill(conn->pid, SIGKILL);
			while ((r = waitpid(conn->pid, &st, 0)) < 0 && errno == EINTR)
				;
			break;
		}
	}
	conn->reaped = true;
	/* ECHILD: the caller reaps with waitpid(-1) or ignores SIGCHLD; the status is lost. */
	conn->wait_status = r == conn->pid ? st : 0;
}

void conn_close(struct conn *conn, bool kill_child)
{
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
	if (conn->pid > 0 && !conn->reaped) {
		if (kill_child)
			kill_tree(conn->pid);
		reap(conn, kill_child ? 0 : now_us() + REAP_GRACE_US);
	}
	if (conn->pidfd >= 0) {
		close(conn->pidfd);
		conn->pidfd = -1;
	}
}

static int timed_out(struct conn *conn, const char *what, ckpt_err *err)
{
	int r = err_set(err, CKPT_ETIMEDOUT,
			"%s: no answer from criu within the deadline; criu was killed (the target may still be "
			"frozen or its network locked)",
			what);
	conn_close(conn, true);
	return r;
}

/* criu has gone: say how. */
static int died(struct conn *conn, const char *what, ckpt_err *err)
{
	int st, r;

	if (conn->pid > 0) {
		reap(conn, now_us() + 1000 * 1000);
		st = conn->wait_status;
		if (WIFSIGNALED(st))
			r = err_set(err, CKPT_ECRIU_DIED, "%s: criu (pid %d) was killed by signal %d before replying",
				    what, (int)conn->pid, WTERMSIG(st));
		else if (WIFEXITED(st))
			r = err_set(err, CKPT_ECRIU_DIED, "%s: criu (pid %d) exited with status %d before replying",
				    what, (int)conn->pid, WEXITSTATUS(st));
		else
			r = err_set(err, CKPT_ECRIU_DIED, "%s: criu (pid %d) went away before replying", what,
				    (int)conn->pid);
		if (err)
			err->wait_status = st;
		return r;
	}
	return err_set(err, CKPT_ECRIU_DIED, "%s: the criu service closed the connection before replying", what);
}

int conn_send(struct conn *conn, const CriuReq *req, ckpt_err *err)
{
	size_t len = criu_req__get_packed_size(req);
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	err_set_step(err, "send");
	if (len > CKPT_MAX_MSG)
		return err_set(err, CKPT_ETOOBIG, "send: request of %zu bytes is above the %d byte cap", len,
			       CKPT_MAX_MSG);
	buf = malloc(len ? len : 1);
	if (!buf)
		return err_set(err, CKPT_ENOMEM, "send: out of memory");
	criu_req__pack(req, buf);
	for (;;) {
		struct pollfd pfd = { .fd = conn->fd, .events = POLLOUT };
		int pr;

		n = send(conn->fd, buf, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return err_set(err, CKPT_EPROTO, "send: short write of a %zu byte request", len);
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE || errno == ENOBUFS)
			return err_set(err, CKPT_ETOOBIG, "send: request of %zu bytes does not fit the socket", len);
		if (errno == EPIPE || errno == ECONNRESET)
			return died(conn, "send", err);
		if (errno != EAGAIN)
			return err_sys(err, CKPT_ESYS, errno, "send");
		pr = poll(&pfd, 1, poll_ms(conn->deadline_us));
		if (pr == 0)
			return timed_out(conn, "send", err);
		if (pr < 0 && errno != EINTR)
			return err_sys(err, CKPT_ESYS, errno, "send: poll");
	}
}

int resp_decode(const uint8_t *buf, size_t len, CriuResp **ret, ckpt_err *err)
{
	CriuResp *resp;

	if (len == 0)
		return err_set(err, CKPT_EPROTO, "recv: empty reply");
	if (len > CKPT_MAX_MSG)
		return err_set(err, CKPT_ETOOBIG, "recv: reply of %zu bytes is above the %d byte cap", len,
			       CKPT_MAX_MSG);
	resp = criu_resp__unpack(NULL, len, buf);
	if (!resp)
		return err_set(err, CKPT_EPROTO, "recv: a %zu byte reply is not a valid criu_resp", len);
	if (resp->type < CRIU_REQ_TYPE__EMPTY || resp->type > CRIU_REQ_TYPE__SINGLE_PRE_DUMP) {
		int t = resp->type;

		criu_resp__free_unpacked(resp, NULL);
		return err_set(err, CKPT_EPROTO, "recv: reply of unknown type %d", t);
	}
	if (resp->type == CRIU_REQ_TYPE__NOTIFY && (!resp->notify || !resp->notify->script)) {
		criu_resp__free_unpacked(resp, NULL);
		return err_set(err, CKPT_EPROTO, "recv: a NOTIFY reply without a notification");
	}
	if (resp->type == CRIU_REQ_TYPE__RESTORE && resp->success && !resp->restore) {
		criu_resp__free_unpacked(resp, NULL);
		return err_set(err, CKPT_EPROTO, "recv: a successful RESTORE reply without a pid");
	}
	if (resp->type == CRIU_REQ_TYPE__VERSION && resp->success && !resp->version) {
		criu_resp__free_unpacked(resp, NULL);
		return err_set(err, CKPT_EPROTO, "recv: a successful VERSION reply without a version");
	}
	*ret = resp;
	return 0;
}

/* Close every fd carried in the control messages of msg; return how many there were. */
static int cmsg_fds(struct msghdr *msg, int *ret_fd)
{
	int count = 0;

	*ret_fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);

		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			if (count++ == 0)
				*ret_fd = fd;
			else
				close(fd);
		}
	}
	return count;
}

int conn_recv(struct conn *conn, CriuResp **ret, int *ret_fd, ckpt_err *err)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	_cleanup_free_ uint8_t *buf = NULL;
	struct iovec iov;
	struct msghdr msg;
	ssize_t len, n;
	int fd = -1, nfds, r;

	err_set_step(err, "recv");
	*ret_fd = -1;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = conn->fd, .events = POLLIN }, { .fd = conn->pidfd, .events = POLLIN } };
		int pr = poll(pfd, conn->pidfd >= 0 ? 2 : 1, poll_ms(conn->deadline_us));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return err_sys(err, CKPT_ESYS, errno, "recv: poll");
		if (pr == 0)
			return timed_out(conn, "recv", err);
		len = recv(conn->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN) {
			if (pfd[1].revents) /* criu exited and nothing is left to read */
				return died(conn, "recv", err);
			continue;
		}
		break;
	}
	if (len < 0) {
		if (errno == ECONNRESET)
			return died(conn, "recv", err);
		return err_sys(err, CKPT_ESYS, errno, "recv");
	}
	if (len == 0) {
		/* EOF, or an empty packet: either way criu is done with us. */
		char c;

		recv(conn->fd, &c, 0, MSG_DONTWAIT);
		return died(conn, "recv", err);
	}
	if (len > CKPT_MAX_MSG) {
		struct msghdr dm = { .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		char c;
		struct iovec div = { .iov_base = &c, .iov_len = 1 };

		dm.msg_iov = &div;
		dm.msg_iovlen = 1;
		if (recvmsg(conn->fd, &dm, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) >= 0 && cmsg_fds(&dm, &fd) > 0)
			close(fd);
		return err_set(err, CKPT_ETOOBIG, "recv: reply of %zd bytes is above the %d byte cap", len,
			       CKPT_MAX_MSG);
	}
	buf = malloc((size_t)len);
	if (!buf)
		return err_set(err, CKPT_ENOMEM, "recv: out of memory for a %zd byte reply", len);
	iov.iov_base = buf;
	iov.iov_len = (size_t)len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(conn->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(err, CKPT_ESYS, errno, "recv");
	nfds = cmsg_fds(&msg, &fd);
	if (n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1) {
		if (fd >= 0)
			close(fd);
		return err_set(err, CKPT_EPROTO, "recv: a reply arrived truncated or with %d fds attached", nfds);
	}
	r = resp_decode(buf, (size_t)n, ret, err);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}
