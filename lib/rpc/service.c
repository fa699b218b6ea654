/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connecting to a `criu service` socket (non-blocking, bounded), and checking who serves it. */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "service.h"

static const char *why(int e)
{
	switch (e) {
	case ENOENT: return "no such socket";
	case ECONNREFUSED: return "nobody listens (stale socket?)";
	case EPROTOTYPE: return "not a SOCK_SEQPACKET socket";
	case ENOTSOCK: return "not a socket";
	case EACCES: return "permission denied";
	default: return "cannot connect";
	}
}

static int do_connect(const char *path, bool trust_uid, uid_t trusted_uid, struct conn *conn,
		      ckpt_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t start = now_us(),
		 until = conn->deadline_us ? conn->deadline_us : start + SERVICE_BUSY_MAX_US;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_close_ int fd = -1;
	unsigned tries = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(err, CKPT_EINVAL, "service: socket path '%s' is too long", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (;;) {
		int e = 0;

		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return err_sys(err, CKPT_ESYS, errno, "service: socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			/* not for unix sockets today, but harmless: wait for the outcome */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int so = 0;
			socklen_t sl = sizeof(so);

			if (poll(&pfd, 1, poll_ms_until(until)) <= 0)
				e = EAGAIN;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
				return err_sys(err, CKPT_ESYS, errno, "service: '%s': getsockopt",
					       path);
			else if (so == 0)
				break;
			else
				e = so;
		}
		if (e != EAGAIN)
			return err_sys(err, CKPT_ESERVICE, e, "service: '%s': %s", path, why(e));
		/* the listen backlog is full: the service is busy; try again, with a growing pause */
		close(fd);
		fd = -1;
		tries++;
		if (now_us() >= until)
			return err_set(
				err, conn->deadline_us ? CKPT_ETIMEDOUT : CKPT_ESERVICE,
				"service: '%s' is busy: its listen backlog stayed full for %.1f s (%u attempts)",
				path, (double)(now_us() - start) / 1e6, tries);
		{
			uint64_t pause = tries < 10 ? 1000u * tries : 20000u;
			uint64_t left = until - now_us();

			usleep((useconds_t)(pause < left ? pause : left));
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return err_sys(err, CKPT_ESERVICE, errno,
			       "service: '%s': cannot read the peer's credentials", path);
	if (cred.uid != 0 && !(trust_uid && cred.uid == trusted_uid))
		return err_set(
			err, CKPT_EPERM,
			"service: '%s' is served by uid %u, not root%s (refused: set the trusted uid with "
			"ckpt_client_set_service_uid)",
			path, (unsigned)cred.uid, trust_uid ? " or the trusted uid" : "");
	conn->fd = fd;
	fd = -1;
	conn->criu = (struct proc)PROC_INIT;
	return 0;
}

int service_connect(const char *path, bool trust_uid, uid_t trusted_uid, struct conn *conn,
		    ckpt_err *err)
{
	return err_at(err, "connect", do_connect(path, trust_uid, trusted_uid, conn, err));
}
