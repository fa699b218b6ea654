/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel's wire: the socket with deadlines, TLS records, frames sent and checked. */
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
int chan_read_exact_got(struct chan *c, void *buf, size_t n, const char *what, size_t *ret_got,
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

	return chan_read_exact_got(c, buf, n, what, &got, err);
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
