/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel: opened (preambles, authentication), handed over, freed, its figures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "chan-int.h"

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
