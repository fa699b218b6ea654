/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migration's TCP: connect with a deadline, the listening socket, the timeouts of every migration socket. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#include "migrate.h"

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int mig_tcp_tune(int fd, unsigned timeout_ms, const char *what, ckpt_err *err)
{
	unsigned t = timeout_ms ? timeout_ms : MIG_DEFAULT_TIMEOUT_MS;
	int secs = (int)(t / 1000 > 3600 ? 3600 : (t + 999) / 1000);
	/* probes from half the timeout (5 s at most), 2 s apart at most, until the timeout */
	int idle = clamp_int(secs / 2, 1, 5), intvl = clamp_int(secs / 4, 1, 2);
	/* 127: the kernel's most; TCP_USER_TIMEOUT ends the probing at the timeout anyway */
	int cnt = clamp_int((secs - idle + intvl - 1) / intvl, 1, 127);
	int user = t > INT_MAX ? INT_MAX : (int)t;
	const struct {
		int level, opt, val;
		const char *name;
	} o[] = {
		{ SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, idle, "TCP_KEEPIDLE" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, intvl, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, cnt, "TCP_KEEPCNT" },
		/* data unacknowledged (or a window kept shut) for this long fails the socket */
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, user, "TCP_USER_TIMEOUT" },
	};

	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if (setsockopt(fd, o[i].level, o[i].opt, &o[i].val, sizeof(o[i].val)) < 0)
			return err_sys(err, CKPT_ESYS, errno, "%s: setsockopt %s to %d", what,
				       o[i].name, o[i].val);
	return 0;
}

int mig_connect(const char *host, uint16_t port, unsigned timeout_ms, int *ret_fd, ckpt_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL,
			*ai;
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	char service[8], what[300];
	int r, e = 0, fd = -1;

	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r != 0)
		return err_set(err, CKPT_EINVAL, "'%s': %s (expected a host name or address)", host,
			       gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			do
				r = poll(&pfd, 1, poll_ms_until(deadline));
			while (r < 0 && errno == EINTR);
			if (r == 0)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
				e = errno;
			if (r > 0 && e == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_sys(err, e == ETIMEDOUT ? CKPT_ETIMEDOUT : CKPT_ESYS, e,
			       "cannot connect to %s:%u", host, port);
	/* the channel polls itself: blocking from here on */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return err_sys(err, CKPT_ESYS, errno, "fcntl");
	}
	snprintf(what, sizeof(what), "%s:%u", host, port);
	r = mig_tcp_tune(fd, timeout_ms, what, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int ckpt_migrate_listen(const char *address_port, int *ret_fd, ckpt_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], service[8];
	uint16_t port;
	int one = 1, r, fd;

	assert_return(address_port && ret_fd, err, "listen: NULL argument");
	r = ckpt_parse_address_port(address_port, host, sizeof(host), &port, err);
	if (r < 0)
		return r;
	if (port == 0)
		return err_set(err, CKPT_EINVAL,
			       "listen: '%s' names port 0 (expected the port the source will dial)",
			       address_port);
	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
	if (r != 0)
		return err_set(err, CKPT_EINVAL, "listen: '%s': %s", address_port, gai_strerror(r));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "listen: socket");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "listen: cannot listen on %s", address_port);
		close(fd);
		goto out;
	}
	*ret_fd = fd;
	r = 0;
out:
	freeaddrinfo(res);
	return r;
}
