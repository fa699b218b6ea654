/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel: the socket with deadlines, the preamble, TLS records, frames, open and free. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#include "chan-int.h"

bool chan_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* ------------------------------------------------------------------ */
/* Socket I/O with deadlines                                           */
/* ------------------------------------------------------------------ */

int chan_wait(struct chan *c, short events, const char *what, ckpt_err *err)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		uint64_t now = now_us();
		int ms, r;

		if (now >= c->deadline_us)
			return err_set(
				err, CKPT_ETIMEDOUT,
				"migration peer %s: no progress %s within the deadline of %u ms",
				c->addr, what, c->timeout_ms);
		ms = (int)((c->deadline_us - now + 999) / 1000);
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return err_sys(err, CKPT_ESYS, errno, "migration peer %s: poll", c->addr);
	}
}

int chan_sys_write(struct chan *c, const uint8_t *p, size_t n, ckpt_err *err)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int r = chan_wait(c, POLLOUT, "sending", err);

				if (r < 0)
					return r;
				continue;
			}
			return err_sys(err, CKPT_ESYS, errno, "migration peer %s: send", c->addr);
		}
		c->wire_out += (uint64_t)w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes in the clear; 1 at EOF (*got: how many arrived before it), err untouched. */
static int sys_read(struct chan *c, uint8_t *p, size_t n, size_t *got, ckpt_err *err)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = recv(c->fd, p + *got, n - *got, MSG_DONTWAIT);

		if (r == 0)
			return 1; /* the caller words it */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int w = chan_wait(c, POLLIN, "receiving", err);

				if (w < 0)
					return w;
				continue;
			}
			return err_sys(err, CKPT_ESYS, errno, "migration peer %s: recv", c->addr);
		}
		c->wire_in += (uint64_t)r;
		*got += (size_t)r;
	}
	return 0;
}

ssize_t chan_tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
	struct chan *c = ptr;
	ssize_t w = send(c->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0)
		gnutls_transport_set_errno(c->tls, errno);
	else
		c->wire_out += (uint64_t)w;
	return w;
}

ssize_t chan_tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t n)
{
	struct chan *c = ptr;
	ssize_t r = recv(c->fd, data, n, MSG_DONTWAIT);

	if (r < 0)
		gnutls_transport_set_errno(c->tls, errno);
	else
		c->wire_in += (uint64_t)r;
	return r;
}

static int tls_wait(struct chan *c, const char *what, ckpt_err *err)
{
	return chan_wait(c, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN, what, err);
}

void chan_tls_why(struct chan *c, int r, char *buf, size_t n)
{
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED || r == GNUTLS_E_WARNING_ALERT_RECEIVED)
		snprintf(buf, n, "the peer sent the TLS alert \"%s\"",
			 gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	else if (r == GNUTLS_E_DECRYPTION_FAILED || r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
		 r == GNUTLS_E_UNEXPECTED_PACKET || r == GNUTLS_E_RECORD_OVERFLOW)
		snprintf(buf, n, "%s (the data was altered in transit)", gnutls_strerror(r));
	else
		snprintf(buf, n, "%s", gnutls_strerror(r));
}

int chan_io_write(struct chan *c, const void *buf, size_t n, ckpt_err *err)
{
	const uint8_t *p = buf;
	int r;

	if (c->broken)
		return err_set(
			err, CKPT_EPROTO,
			"migration peer %s: the channel failed earlier; nothing more is sent",
			c->addr);
	while (n) {
		ssize_t w = gnutls_record_send(c->tls, p, n);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			r = tls_wait(c, "sending", err);
			if (r < 0) {
				c->broken = true;
				return r;
			}
			continue;
		}
		if (w < 0) {
			char why[160];

			c->broken = true;
			chan_tls_why(c, (int)w, why, sizeof(why));
			return err_set(err, CKPT_ESYS, "migration peer %s: TLS send failed: %s",
				       c->addr, why);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes through TLS. At EOF: 1, with *got = bytes read and err unset. */
static int io_read(struct chan *c, void *buf, size_t n, size_t *got, ckpt_err *err)
{
	uint8_t *p = buf;

	if (!c->tls)
		return sys_read(c, p, n, got, err);
	*got = 0;
	while (*got < n) {
		ssize_t r = gnutls_record_recv(c->tls, p + *got, n - *got);

		if (r == 0)
			return 1;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			int w = tls_wait(c, "receiving", err);

			if (w < 0)
				return w;
			continue;
		}
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			return 1;
		if (r < 0) {
			char why[160];

			chan_tls_why(c, (int)r, why, sizeof(why));
			return err_set(err, CKPT_EPROTO,
				       "migration peer %s: TLS receive failed: %s", c->addr, why);
		}
		*got += (size_t)r;
	}
	return 0;
}

/* io_read with an EOF worded for what was being read. */
static int read_exact_got(struct chan *c, void *buf, size_t n, const char *what, size_t *ret_got,
			  ckpt_err *err)
{
	size_t got;
	int r = io_read(c, buf, n, &got, err);

	*ret_got = got;

	if (r == 1) {
		if (got == 0)
			return err_set(err, CKPT_EPROTO,
				       "migration peer %s closed the connection (expected %s)",
				       c->addr, what);
		return err_set(
			err, CKPT_EPROTO,
			"migration peer %s closed the connection in the middle of %s (%zu of %zu bytes)",
			c->addr, what, got, n);
	}
	return r;
}

int chan_read_exact(struct chan *c, void *buf, size_t n, const char *what, ckpt_err *err)
{
	size_t got;

	return read_exact_got(c, buf, n, what, &got, err);
}

int chan_write_raw(struct chan *c, const void *buf, size_t len, ckpt_err *err)
{
	c->deadline_us = now_us() + (uint64_t)c->timeout_ms * 1000;
	return chan_io_write(c, buf, len, err);
}

/* ------------------------------------------------------------------ */
/* Framing                                                             */
/* ------------------------------------------------------------------ */

const char *chan_type_name(uint16_t type)
{
	switch (type) {
	case CHAN_MSG_HELLO: return "HELLO";
	case CHAN_MSG_ERROR: return "ERROR";
	case CHAN_MSG_FILE_BEGIN: return "FILE_BEGIN";
	case CHAN_MSG_FILE_DATA: return "FILE_DATA";
	case CHAN_MSG_FILE_END: return "FILE_END";
	case CHAN_MSG_FILES_DONE: return "FILES_DONE";
	case CHAN_MSG_RESTORE: return "RESTORE";
	case CHAN_MSG_RESULT: return "RESULT";
	case CHAN_MSG_ACK: return "ACK";
	case CHAN_MSG_RESOLVE: return "RESOLVE";
	default: return "unknown";
	}
}

int chan_hdr_decode(const uint8_t hdr[CHAN_HDR_SIZE], uint16_t *ret_type, uint32_t *ret_len,
		    ckpt_err *err)
{
	uint16_t type = get16(hdr), flags = get16(hdr + 2);
	uint32_t len = get32(hdr + 4);

	if (type < 1 || type > CHAN_MSG_MAX_)
		return err_set(err, CKPT_EPROTO, "message type %u is unknown (expected 1 to %u)",
			       type, CHAN_MSG_MAX_);
	if (flags)
		return err_set(err, CKPT_EPROTO, "%s message has flags 0x%x (expected 0)",
			       chan_type_name(type), flags);
	if (len > CHAN_MAX_PAYLOAD)
		return err_set(err, CKPT_ETOOBIG,
			       "%s message of %u bytes is above the cap of %u bytes",
			       chan_type_name(type), len, CHAN_MAX_PAYLOAD);
	*ret_type = type;
	*ret_len = len;
	return 0;
}

int chan_frame_send(struct chan *c, uint16_t type, size_t len, ckpt_err *err)
{
	uint8_t *w = c->wbuf;

	if (len > CHAN_MAX_PAYLOAD)
		return err_set(err, CKPT_ETOOBIG,
			       "%s message of %zu bytes is above the cap of %u bytes",
			       chan_type_name(type), len, CHAN_MAX_PAYLOAD);
	put16(w, type);
	put16(w + 2, 0);
	put32(w + 4, (uint32_t)len);
	c->deadline_us = now_us() + (uint64_t)c->timeout_ms * 1000;
	return chan_io_write(c, w, CHAN_HDR_SIZE + len, err);
}

int chan_send(struct chan *c, uint16_t type, const void *payload, size_t len, ckpt_err *err)
{
	if (len > CHAN_MAX_PAYLOAD)
		return err_set(err, CKPT_ETOOBIG,
			       "%s message of %zu bytes is above the cap of %u bytes",
			       chan_type_name(type), len, CHAN_MAX_PAYLOAD);
	if (len)
		memmove(chan_payload(c), payload, len);
	return chan_frame_send(c, type, len, err);
}

int chan_recv(struct chan *c, struct chan_msg *m, ckpt_err *err)
{
	uint8_t hdr[CHAN_HDR_SIZE];
	uint16_t type;
	uint32_t len;
	size_t n;
	int r;

	if (c->rx_broken)
		return err_set(
			err, CKPT_EPROTO,
			"migration peer %s: the channel failed earlier; nothing more is read",
			c->addr);
	c->rx_broken = true; /* until a whole, valid message has arrived */
	c->deadline_us = now_us() + (uint64_t)c->timeout_ms * 1000;
	r = read_exact_got(c, hdr, CHAN_HDR_SIZE, "a message header", &n, err);
	if (r == CKPT_ETIMEDOUT && n == 0)
		c->rx_broken =
			false; /* nothing of a message arrived: the stream is still in step */
	if (r < 0)
		return r;
	r = chan_hdr_decode(hdr, &type, &len, err);
	if (r < 0) {
		err_prefix(err, "migration peer %s", c->addr);
		return r;
	}
	r = chan_read_exact(c, c->rbuf, len, "a message", err);
	if (r < 0)
		return r;
	r = chan_msg_decode(type, c->rbuf, len, m, err);
	if (r < 0) {
		err_prefix(err, "migration peer %s", c->addr);
		return r;
	}
	c->rx_broken = false;
	return 0;
}

int chan_peer_error(struct chan *c, const struct chan_msg *m, ckpt_err *err)
{
	int r = err_set(err, m->u.error.code, "migration peer %s gave up%s%s: %s", c->addr,
			m->u.error.stage[0] ? " at " : "", m->u.error.stage, m->u.error.msg);

	if (m->u.error.stage[0])
		err_at(err, m->u.error.stage, r);
	return r;
}

int chan_expect(struct chan *c, uint16_t want, struct chan_msg *m, ckpt_err *err)
{
	int r = chan_recv(c, m, err);

	if (r < 0)
		return r;
	if (m->type == want)
		return 0;
	if (m->type == CHAN_MSG_ERROR)
		return chan_peer_error(c, m, err);
	return err_set(err, CKPT_EPROTO, "migration peer %s sent %s (expected %s)", c->addr,
		       chan_type_name(m->type), chan_type_name(want));
}

/* ------------------------------------------------------------------ */
/* Open and free                                                       */
/* ------------------------------------------------------------------ */

static void describe_peer(struct chan *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(c->addr, sizeof(c->addr), "(unknown)");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		snprintf(c->addr, sizeof(c->addr), "(unix socket)");
	}
}

static void preamble_fill(uint8_t p[CHAN_PREAMBLE_SIZE], uint8_t methods, enum chan_side side)
{
	memset(p, 0, CHAN_PREAMBLE_SIZE);
	memcpy(p, CHAN_MAGIC, 8);
	put16(p + 8, CHAN_PROTO_VERSION);
	p[10] = methods;
	p[11] = (uint8_t)side;
}

static const char *methods_name(uint8_t m)
{
	switch (m) {
	case CHAN_AUTH_TOKEN: return "a token file";
	case CHAN_AUTH_TLS: return "mutual TLS";
	case CHAN_AUTH_TOKEN | CHAN_AUTH_TLS: return "mutual TLS and a token file";
	default: return "an unknown method";
	}
}

static int preamble_check(struct chan *c, const uint8_t *p, uint8_t methods, ckpt_err *err)
{
	uint16_t v = get16(p + 8);

	if (memcmp(p, CHAN_MAGIC, 8)) {
		char shown[9];

		sanitize_copy(shown, sizeof(shown), (const char *)p);
		return err_set(
			err, CKPT_EPROTO,
			"migration peer %s is not a ckpt migration endpoint (it opened with \"%s\", expected "
			"\"%s\")",
			c->addr, shown, CHAN_MAGIC);
	}
	if (v != CHAN_PROTO_VERSION)
		return err_set(
			err, CKPT_ENOTSUP,
			"migration peer %s speaks migration protocol version %u; this libckpt (%s) speaks version "
			"%u: run versions of ckpt with the same protocol on both hosts",
			c->addr, v, ckpt_version(), CHAN_PROTO_VERSION);
	if (p[11] != (c->side == CHAN_CONNECTING ? CHAN_ACCEPTING : CHAN_CONNECTING))
		return err_set(err, CKPT_EPROTO,
			       "migration peer %s is on the same side (%s) as we are", c->addr,
			       c->side == CHAN_CONNECTING ? "connecting" : "accepting");
	if (p[10] != methods)
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s authenticates with %s, this side with %s: configure the same on both "
			"hosts",
			c->addr, methods_name(p[10]), methods_name(methods));
	if (get32(p + 12))
		return err_set(err, CKPT_EPROTO,
			       "migration peer %s: preamble's reserved bytes are not zero",
			       c->addr);
	return 0;
}

void chan_free(struct chan *c)
{
	if (!c)
		return;
	if (c->tls) {
		if (!c->broken) {
			/* tell the peer we are done without waiting for its answer */
			c->deadline_us = now_us() + 100 * 1000;
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		}
		gnutls_deinit(c->tls);
	}
	free(c->wbuf);
	free(c->rbuf);
	free(c);
}

int chan_release_tls(struct chan *c, void **ret_tls, ckpt_err *err)
{
	if (!c->tls || c->broken || c->rx_broken || gnutls_record_check_pending(c->tls) > 0)
		return err_set(err, CKPT_EPROTO,
			       "migration peer %s: the channel cannot be handed over (%s)", c->addr,
			       !c->tls	    ? "no TLS session" :
			       c->broken    ? "a send failed" :
			       c->rx_broken ? "a receive failed" :
					      "bytes of another message are buffered");
	/* nothing of the channel's stays in the session: the new owner sets its own transport */
	gnutls_session_set_ptr(c->tls, NULL);
	gnutls_transport_set_ptr(c->tls, NULL);
	*ret_tls = c->tls;
	c->tls = NULL;
	chan_free(c);
	return 0;
}

/* A channel on the stream socket fd, not yet authenticated. */
static int chan_alloc(int fd, enum chan_side side, unsigned timeout_ms, struct chan **ret,
		      ckpt_err *err)
{
	struct chan *c;
	int type = 0, one = 1;
	socklen_t tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM)
		return err_set(err, CKPT_EINVAL,
			       "chan_open: fd %d is not a stream socket (expected a connected one)",
			       fd);
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, CKPT_ENOMEM, "migration channel: out of memory");
	c->fd = fd;
	c->side = side;
	c->timeout_ms = timeout_ms;
	c->wbuf = malloc(WBUF_SIZE);
	c->rbuf = malloc(RBUF_SIZE);
	if (!c->wbuf || !c->rbuf) {
		free(c->wbuf);
		free(c->rbuf);
		free(c);
		return err_at(err, "auth",
			      err_set(err, CKPT_ENOMEM, "migration channel: out of memory"));
	}
	describe_peer(c);
	/*
	 * Every frame goes out in one write, and the handshake is a few small
	 * round trips: without TCP_NODELAY each of them can wait for a delayed
	 * ACK (40 ms). Not TCP (a socketpair): nothing to do.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*ret = c;
	return 0;
}

/* Both preambles, in the clear, into pre (the connecting side's first); the peer's checked. */
static int exchange_preambles(struct chan *c, uint8_t *pre, uint8_t methods, ckpt_err *err)
{
	uint8_t *pre_self = pre + (c->side == CHAN_CONNECTING ? 0 : CHAN_PREAMBLE_SIZE);
	uint8_t *pre_peer = pre + (c->side == CHAN_CONNECTING ? CHAN_PREAMBLE_SIZE : 0);
	int r;

	preamble_fill(pre_self, methods, c->side);
	r = chan_sys_write(c, pre_self, CHAN_PREAMBLE_SIZE, err);
	if (r == 0)
		r = chan_read_exact(c, pre_peer, CHAN_PREAMBLE_SIZE, "the migration preamble", err);
	if (r == 0)
		r = preamble_check(c, pre_peer, methods, err);
	return r;
}

int chan_open(int fd, enum chan_side side, const struct chan_creds *cr, unsigned timeout_ms,
	      struct chan **ret, ckpt_err *err)
{
	uint8_t pre[2 * CHAN_PREAMBLE_SIZE];
	struct chan *c;
	int r;

	assert_return(ret && cr, err, "chan_open: NULL argument");
	assert_return(side == CHAN_CONNECTING || side == CHAN_ACCEPTING, err,
		      "chan_open: side %d (expected connecting or accepting)", (int)side);
	assert_return(timeout_ms > 0, err,
		      "chan_open: timeout of 0 ms (expected a deadline: every read has one)");
	r = chan_alloc(fd, side, timeout_ms, &c, err);
	if (r < 0)
		return r;
	c->cr = cr;
	/* one deadline for the whole authentication */
	c->deadline_us = now_us() + (uint64_t)timeout_ms * 1000;
	r = exchange_preambles(c, pre, chan_creds_methods(cr), err);
	if (r == 0)
		r = chan_auth_run(c, pre, err);
	if (r < 0) {
		err_at(err, "auth", r);
		c->broken = true;
		chan_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void chan_set_timeout(struct chan *c, unsigned timeout_ms)
{
	c->timeout_ms = timeout_ms ? timeout_ms : 1;
}

bool chan_pending(const struct chan *c)
{
	return c->tls && gnutls_record_check_pending(c->tls) > 0;
}

const char *chan_addr(const struct chan *c)
{
	return c->addr;
}

int chan_fd(const struct chan *c)
{
	return c->fd;
}

const char *chan_peer(const struct chan *c)
{
	return c->peer;
}

const char *chan_cipher(const struct chan *c)
{
	return c->cipher;
}

uint64_t chan_wire_in(const struct chan *c)
{
	return c->wire_in;
}
uint64_t chan_wire_out(const struct chan *c)
{
	return c->wire_out;
}
uint64_t chan_file_bytes_out(const struct chan *c)
{
	return c->file_bytes_out;
}
uint32_t chan_files_out(const struct chan *c)
{
	return c->files_out;
}
