/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages on a connection to criu: one protobuf message per SOCK_SEQPACKET
 * packet, sized with MSG_PEEK|MSG_TRUNC and capped, against one deadline.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "transport.h"

static int timed_out(const char *what, ckpt_err *err)
{
	return err_at(err, what,
		      err_set(err, CKPT_ETIMEDOUT, "%s: no answer from criu within the deadline",
			      what));
}

/* criu has gone: say how, if we can know. */
static int died(struct conn *conn, const char *what, ckpt_err *err)
{
	struct proc *p = &conn->criu;
	uint64_t until = now_us() + 1000 * 1000;
	int r, st;

	if (conn->deadline_us && conn->deadline_us + 2000 * 1000 < until)
		until = conn->deadline_us + 2000 * 1000;
	if (p->pid <= 0)
		return err_at(err, what,
			      err_set(err, CKPT_ECRIU_DIED,
				      "%s: criu closed the connection before replying", what));
	(void)proc_reap(p, until);
	st = p->status;
	if (!p->reaped)
		r = err_set(err, CKPT_ECRIU_DIED,
			    "%s: criu (pid %d) closed the connection before replying", what,
			    (int)p->pid);
	else if (!p->status_known)
		r = err_set(
			err, CKPT_ECRIU_DIED,
			"%s: criu (pid %d) went away before replying; its exit status is unknown (another "
			"reaper in this process took it)",
			what, (int)p->pid);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		/* what a shell (a criu wrapper script) or a spawn that cannot report exec's errno says */
		r = err_set(
			err, CKPT_ECRIU_EXEC,
			"%s: criu (pid %d) exited with status 127 before replying: it could not be executed",
			what, (int)p->pid);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && conn->replies == 0) {
		/* a real criu swrk answers before it exits: this one is no criu (or /bin/true) */
		r = err_set(err, CKPT_ECRIU_EXEC,
			    "%s: criu (pid %d) exited with status 0 without answering: the program "
			    "run as criu does not speak CRIU's RPC",
			    what, (int)p->pid);
		err_hint(err, 0,
			 "Name a CRIU 4.2 or newer (`criu --version` says which): "
			 "ckpt_client_set_criu_path() or $CKPT_CRIU=PATH.");
	} else if (WIFSIGNALED(st))
		r = err_set(err, CKPT_ECRIU_DIED,
			    "%s: criu (pid %d) was killed by signal %d before replying", what,
			    (int)p->pid, WTERMSIG(st));
	else
		r = err_set(err, CKPT_ECRIU_DIED,
			    "%s: criu (pid %d) exited with status %d before replying", what,
			    (int)p->pid, WEXITSTATUS(st));
	if (err && p->status_known)
		err->wait_status = st;
	return err_at(err, what, r);
}

static int do_send(struct conn *conn, const CriuReq *req, ckpt_err *err)
{
	size_t len = criu_req__get_packed_size(req);
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	if (len > CKPT_MAX_MSG)
		return err_set(err, CKPT_ETOOBIG,
			       "send: request of %zu bytes is above the %d byte cap", len,
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
			return err_set(err, CKPT_EPROTO, "send: short write of a %zu byte request",
				       len);
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE || errno == ENOBUFS)
			return err_set(err, CKPT_ETOOBIG,
				       "send: request of %zu bytes does not fit the socket", len);
		if (errno == EPIPE || errno == ECONNRESET)
			return died(conn, "send", err);
		if (errno != EAGAIN)
			return err_sys(err, CKPT_ESYS, errno, "send");
		pr = poll(&pfd, 1, poll_ms_until(conn->deadline_us));
		if (pr == 0)
			return timed_out("send", err);
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
		return err_set(err, CKPT_ETOOBIG,
			       "recv: reply of %zu bytes is above the %d byte cap", len,
			       CKPT_MAX_MSG);
	resp = criu_resp__unpack(NULL, len, buf);
	if (!resp)
		return err_set(err, CKPT_EPROTO, "recv: a %zu byte reply is not a valid criu_resp",
			       len);
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
		return err_set(err, CKPT_EPROTO,
			       "recv: a successful VERSION reply without a version");
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
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
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

/*
 * Wait for the next packet, serving the watched fd meanwhile; *ret_len its
 * size (not 0). EOF, a reset or criu's exit with nothing left is criu gone.
 */
static int wait_packet(struct conn *conn, size_t *ret_len, ckpt_err *err)
{
	ssize_t len;

	for (;;) {
		struct pollfd pfd[3] = { { .fd = conn->fd, .events = POLLIN },
					 { .fd = conn->criu.pidfd, .events = POLLIN },
					 { .fd = conn->watch ? conn->watch->fd : -1,
					   .events = POLLIN } };
		int pr = poll(pfd, 3, poll_ms_until(conn->deadline_us));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return err_sys(err, CKPT_ESYS, errno, "recv: poll");
		if (pr == 0)
			return timed_out("recv", err);
		if (pfd[2].revents && !pfd[0].revents) {
			/* the watched fd only: serve it, then wait again */
			conn->watch->fn(conn->watch->userdata);
			continue;
		}
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
	*ret_len = (size_t)len;
	return 0;
}

/* Drop the next packet, too large to read, and close any fd it carried. */
static void discard_packet(struct conn *conn)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct msghdr dm = { .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	char c;
	struct iovec div = { .iov_base = &c, .iov_len = 1 };
	int fd = -1;

	dm.msg_iov = &div;
	dm.msg_iovlen = 1;
	if (recvmsg(conn->fd, &dm, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC) >= 0 &&
	    cmsg_fds(&dm, &fd) > 0)
		close(fd);
}

static int do_recv(struct conn *conn, CriuResp **ret, int *ret_fd, ckpt_err *err)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	_cleanup_free_ uint8_t *buf = NULL;
	struct iovec iov;
	struct msghdr msg;
	size_t len = 0;
	ssize_t n;
	int fd = -1, nfds, r;

	*ret_fd = -1;
	r = wait_packet(conn, &len, err);
	if (r < 0)
		return r;
	if (len > CKPT_MAX_MSG) {
		discard_packet(conn);
		return err_set(err, CKPT_ETOOBIG,
			       "recv: reply of %zu bytes is above the %d byte cap", len,
			       CKPT_MAX_MSG);
	}
	buf = malloc(len);
	if (!buf)
		return err_set(err, CKPT_ENOMEM, "recv: out of memory for a %zu byte reply", len);
	iov.iov_base = buf;
	iov.iov_len = len;
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
	if ((size_t)n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1) {
		if (fd >= 0)
			close(fd);
		return err_set(err, CKPT_EPROTO,
			       "recv: a reply arrived truncated or with %d fds attached", nfds);
	}
	conn->replies++;
	r = resp_decode(buf, (size_t)n, ret, err);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int conn_send(struct conn *conn, const CriuReq *req, ckpt_err *err)
{
	return err_at(err, "send", do_send(conn, req, err));
}

int conn_recv(struct conn *conn, CriuResp **ret, int *ret_fd, ckpt_err *err)
{
	return err_at(err, "recv", do_recv(conn, ret, ret_fd, err));
}
