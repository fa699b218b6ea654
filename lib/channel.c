/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration control channel: framing, token and TLS authentication, messages, file transfer. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "error.h"
#include "channel.h"

/* Labels of the token exchange (docs/migration.md, "The control channel", 3). */
#define LABEL_PROOF "ckpt-migrate v1 proof"
#define LABEL_KEY "ckpt-migrate v1 key"
#define TRANSCRIPT_SIZE (2 * CHAN_PREAMBLE_SIZE + 2 * CHAN_NONCE_SIZE)
/* The write buffer: [header 8][payload][tag 32]. */
#define WBUF_SIZE (CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + CHAN_MAC_SIZE)
#define RBUF_SIZE (CHAN_MAX_PAYLOAD + CHAN_MAC_SIZE)

struct chan {
	int fd; /* borrowed */
	enum chan_side side;
	unsigned timeout_ms;
	uint64_t deadline_us; /* of the operation under way */

	gnutls_session_t tls; /* NULL: no TLS */
	gnutls_certificate_credentials_t cred;

	bool mac; /* token-only: every frame carries a tag */
	uint8_t key_tx[32], key_rx[32];
	uint64_t seq_tx, seq_rx;

	uint64_t wire_in, wire_out;
	uint64_t file_bytes_out;
	uint32_t files_out;

	bool broken;	/* a failed or partial write: nothing more may be sent */
	bool rx_broken; /* a failed receive: the stream is out of step, nothing more is read */
	uint8_t *wbuf, *rbuf;
	char addr[80];	/* the peer's address, for messages */
	char peer[256]; /* who it proved to be */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Constant-time comparison of two MACs. */
static bool mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void wipe(void *p, size_t n)
{
	gnutls_memset(p, 0, n);
}

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

/* ------------------------------------------------------------------ */
/* Socket I/O with deadlines                                           */
/* ------------------------------------------------------------------ */

static int wait_fd(struct chan *c, short events, const char *what, ckpt_err *err)
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

static int sys_write(struct chan *c, const uint8_t *p, size_t n, ckpt_err *err)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int r = wait_fd(c, POLLOUT, "sending", err);

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

/* Read exactly n bytes; 1 at EOF (*got: how many arrived before it), err untouched. */
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
				int w = wait_fd(c, POLLIN, "receiving", err);

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

/* GnuTLS transport callbacks: non-blocking; the loops below wait with the deadline. */
static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
	struct chan *c = ptr;
	ssize_t w = send(c->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w < 0)
		gnutls_transport_set_errno(c->tls, errno);
	else
		c->wire_out += (uint64_t)w;
	return w;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t n)
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
	return wait_fd(c, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN, what, err);
}

/* The text for a TLS failure, naming the peer's alert when it sent one. */
static void tls_why(struct chan *c, int r, char *buf, size_t n)
{
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED || r == GNUTLS_E_WARNING_ALERT_RECEIVED)
		snprintf(buf, n, "the peer sent the TLS alert \"%s\"",
			 gnutls_alert_get_name(gnutls_alert_get(c->tls)));
	else
		snprintf(buf, n, "%s", gnutls_strerror(r));
}

static int io_write(struct chan *c, const void *buf, size_t n, ckpt_err *err)
{
	const uint8_t *p = buf;
	int r;

	if (c->broken)
		return err_set(
			err, CKPT_EPROTO,
			"migration peer %s: the channel failed earlier; nothing more is sent",
			c->addr);
	if (!c->tls) {
		r = sys_write(c, p, n, err);
		if (r < 0)
			c->broken = true;
		return r;
	}
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
			tls_why(c, (int)w, why, sizeof(why));
			return err_set(err, CKPT_ESYS, "migration peer %s: TLS send failed: %s",
				       c->addr, why);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes. At EOF: 1, with *got = bytes read and err unset. */
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

			tls_why(c, (int)r, why, sizeof(why));
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

static int read_exact(struct chan *c, void *buf, size_t n, const char *what, ckpt_err *err)
{
	size_t got;

	return read_exact_got(c, buf, n, what, &got, err);
}

int chan_write_raw(struct chan *c, const void *buf, size_t len, ckpt_err *err)
{
	c->deadline_us = now_us() + (uint64_t)c->timeout_ms * 1000;
	return io_write(c, buf, len, err);
}

/* ------------------------------------------------------------------ */
/* Framing                                                             */
/* ------------------------------------------------------------------ */

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

/* The tag of a frame: HMAC-SHA256(key, seq (u64) || header || payload). */
static int frame_mac(const uint8_t *key, uint64_t seq, const uint8_t *hdr, const uint8_t *payload,
		     size_t len, uint8_t tag[CHAN_MAC_SIZE])
{
	gnutls_hmac_hd_t h;
	uint8_t s[8];

	put64(s, seq);
	if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, key, 32) < 0)
		return -1;
	if (gnutls_hmac(h, s, 8) < 0 || gnutls_hmac(h, hdr, CHAN_HDR_SIZE) < 0 ||
	    (len && gnutls_hmac(h, payload, len) < 0)) {
		gnutls_hmac_deinit(h, tag);
		return -1;
	}
	gnutls_hmac_deinit(h, tag);
	return 0;
}

/* Send the frame whose payload (len bytes) is already at c->wbuf + CHAN_HDR_SIZE. */
static int frame_send(struct chan *c, uint16_t type, size_t len, ckpt_err *err)
{
	uint8_t *w = c->wbuf;
	size_t n = CHAN_HDR_SIZE + len;

	if (len > CHAN_MAX_PAYLOAD)
		return err_set(err, CKPT_ETOOBIG,
			       "%s message of %zu bytes is above the cap of %u bytes",
			       chan_type_name(type), len, CHAN_MAX_PAYLOAD);
	put16(w, type);
	put16(w + 2, 0);
	put32(w + 4, (uint32_t)len);
	if (c->mac) {
		if (frame_mac(c->key_tx, c->seq_tx, w, w + CHAN_HDR_SIZE, len, w + n) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		n += CHAN_MAC_SIZE;
		c->seq_tx++;
	}
	c->deadline_us = now_us() + (uint64_t)c->timeout_ms * 1000;
	return io_write(c, w, n, err);
}

static uint8_t *payload_buf(struct chan *c)
{
	return c->wbuf + CHAN_HDR_SIZE;
}

int chan_send(struct chan *c, uint16_t type, const void *payload, size_t len, ckpt_err *err)
{
	if (len > CHAN_MAX_PAYLOAD)
		return err_set(err, CKPT_ETOOBIG,
			       "%s message of %zu bytes is above the cap of %u bytes",
			       chan_type_name(type), len, CHAN_MAX_PAYLOAD);
	if (len)
		memmove(payload_buf(c), payload, len);
	return frame_send(c, type, len, err);
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
	n = len + (c->mac ? CHAN_MAC_SIZE : 0);
	r = read_exact(c, c->rbuf, n, "a message", err);
	if (r < 0)
		return r;
	if (c->mac) {
		uint8_t tag[CHAN_MAC_SIZE];

		if (frame_mac(c->key_rx, c->seq_rx, hdr, c->rbuf, len, tag) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		if (!mac_equal(tag, c->rbuf + len, CHAN_MAC_SIZE))
			return err_set(
				err, CKPT_EPERM,
				"migration peer %s: %s message %llu fails its integrity check (altered in transit, "
				"or not from the token holder)",
				c->addr, chan_type_name(type), (unsigned long long)c->seq_rx);
		c->seq_rx++;
	}
	r = chan_msg_decode(type, c->rbuf, len, m, err);
	if (r < 0) {
		err_prefix(err, "migration peer %s", c->addr);
		return r;
	}
	c->rx_broken = false;
	return 0;
}

/* The peer's ERROR message as our error: its code, its text, its stage. */
static int peer_error(struct chan *c, const struct chan_msg *m, ckpt_err *err)
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
		return peer_error(c, m, err);
	return err_set(err, CKPT_EPROTO, "migration peer %s sent %s (expected %s)", c->addr,
		       chan_type_name(m->type), chan_type_name(want));
}

/* ------------------------------------------------------------------ */
/* Message bodies                                                      */
/* ------------------------------------------------------------------ */

struct enc {
	uint8_t *p;
	size_t n, cap;
	bool over;
};

static void enc_bytes(struct enc *e, const void *b, size_t n)
{
	if (e->over || n > e->cap - e->n) {
		e->over = true;
		return;
	}
	memcpy(e->p + e->n, b, n);
	e->n += n;
}
static void enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}
static void enc_u16(struct enc *e, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	enc_bytes(e, b, 2);
}
static void enc_u32(struct enc *e, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	enc_bytes(e, b, 4);
}
static void enc_u64(struct enc *e, uint64_t v)
{
	uint8_t b[8];

	put64(b, v);
	enc_bytes(e, b, 8);
}
/* A string: u16 length, bytes (no NUL). */
static void enc_str(struct enc *e, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	enc_u16(e, (uint16_t)n);
	enc_bytes(e, s, n);
}

struct dec {
	const uint8_t *p;
	size_t n;
	const char *bad; /* the first field that did not fit */
};

static bool dec_take(struct dec *d, size_t n, const char *field, const uint8_t **ret)
{
	if (d->bad)
		return false;
	if (n > d->n) {
		d->bad = field;
		return false;
	}
	*ret = d->p;
	d->p += n;
	d->n -= n;
	return true;
}
static uint8_t dec_u8(struct dec *d, const char *field)
{
	const uint8_t *p;

	return dec_take(d, 1, field, &p) ? p[0] : 0;
}
static uint16_t dec_u16(struct dec *d, const char *field)
{
	const uint8_t *p;

	return dec_take(d, 2, field, &p) ? get16(p) : 0;
}
static uint32_t dec_u32(struct dec *d, const char *field)
{
	const uint8_t *p;

	return dec_take(d, 4, field, &p) ? get32(p) : 0;
}
static uint64_t dec_u64(struct dec *d, const char *field)
{
	const uint8_t *p;

	return dec_take(d, 8, field, &p) ? get64(p) : 0;
}
static void dec_fixed(struct dec *d, void *out, size_t n, const char *field)
{
	const uint8_t *p;

	if (dec_take(d, n, field, &p))
		memcpy(out, p, n);
}

/* A string into out (size outsz, NUL-terminated): refused if longer or holding a NUL. */
static int dec_str(struct dec *d, char *out, size_t outsz, const char *field, ckpt_err *err)
{
	uint16_t n = dec_u16(d, field);
	const uint8_t *p;

	out[0] = '\0';
	if (d->bad)
		return 0;
	if (n >= outsz)
		return err_set(err, CKPT_EPROTO, "field %s is %u bytes long (expected at most %zu)",
			       field, n, outsz - 1);
	if (!dec_take(d, n, field, &p))
		return 0;
	if (memchr(p, '\0', n))
		return err_set(err, CKPT_EPROTO, "field %s holds a NUL byte (expected text)",
			       field);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int dec_end(struct dec *d, uint16_t type, ckpt_err *err)
{
	if (d->bad)
		return err_set(err, CKPT_EPROTO, "%s message is truncated at field %s",
			       chan_type_name(type), d->bad);
	if (d->n)
		return err_set(err, CKPT_EPROTO,
			       "%s message has %zu bytes after its last field (expected none)",
			       chan_type_name(type), d->n);
	return 0;
}

#define DEC_STR(d, field, name)                                             \
	do {                                                                \
		int _r = dec_str((d), (field), sizeof(field), (name), err); \
		if (_r < 0)                                                 \
			return _r;                                          \
	} while (0)

static int decode_hello(struct dec *d, struct chan_hello *h, ckpt_err *err)
{
	const uint8_t *p;
	int r;

	h->proto = dec_u16(d, "proto");
	h->role = dec_u8(d, "role");
	h->mode = dec_u8(d, "mode");
	dec_fixed(d, h->session, CHAN_SESSION_SIZE, "session");
	h->libckpt_version = dec_u32(d, "libckpt_version");
	DEC_STR(d, h->libckpt_version_str, "libckpt_version_str");
	h->criu_version = dec_u32(d, "criu_version");
	DEC_STR(d, h->criu_version_str, "criu_version_str");
	h->flags = dec_u32(d, "flags");
	h->page_port = dec_u16(d, "page_port");
	h->check_code = (int32_t)dec_u32(d, "check_code");
	DEC_STR(d, h->check_msg, "check_msg");
	h->cpuinfo_len = dec_u32(d, "cpuinfo_len");
	if (!d->bad && h->cpuinfo_len > CHAN_CPUINFO_MAX)
		return err_set(err, CKPT_ETOOBIG,
			       "HELLO carries a cpuinfo of %u bytes (expected at most %u)",
			       h->cpuinfo_len, CHAN_CPUINFO_MAX);
	if (dec_take(d, h->cpuinfo_len, "cpuinfo", &p))
		h->cpuinfo = h->cpuinfo_len ? p : NULL;
	r = dec_end(d, CHAN_MSG_HELLO, err);
	if (r < 0)
		return r;
	if (h->proto != CHAN_PROTO_VERSION)
		return err_set(err, CKPT_ENOTSUP,
			       "HELLO says protocol version %u (expected %u, as in the preamble)",
			       h->proto, CHAN_PROTO_VERSION);
	if (h->role < CHAN_ROLE_SOURCE || h->role > CHAN_ROLE_PAGES)
		return err_set(err, CKPT_EPROTO,
			       "HELLO has role %u (expected 1 source, 2 receiver or 3 pages)",
			       h->role);
	if (h->mode > CHAN_MODE_LAZY)
		return err_set(err, CKPT_EPROTO,
			       "HELLO has mode %u (expected 0 none, 1 copy or 2 lazy)", h->mode);
	return 0;
}

static int decode_file_begin(struct dec *d, struct chan_file_begin *f, ckpt_err *err)
{
	int r;

	DEC_STR(d, f->name, "name");
	f->mode = dec_u32(d, "mode");
	f->size = dec_u64(d, "size");
	r = dec_end(d, CHAN_MSG_FILE_BEGIN, err);
	if (r < 0)
		return r;
	r = chan_name_check(f->name, strlen(f->name), err);
	if (r < 0)
		return r;
	if (!S_ISREG(f->mode) || (f->mode & ~(uint32_t)(S_IFMT | 0777)))
		return err_set(
			err, CKPT_EPROTO,
			"file \"%s\" has mode 0%o (expected a regular file with permission bits only)",
			f->name, f->mode);
	return 0;
}

static int decode_result(struct dec *d, struct chan_result *res, ckpt_err *err)
{
	int r;

	res->status = dec_u8(d, "status");
	res->pid = (int32_t)dec_u32(d, "pid");
	res->code = (int32_t)dec_u32(d, "code");
	DEC_STR(d, res->stage, "stage");
	DEC_STR(d, res->msg, "msg");
	r = dec_end(d, CHAN_MSG_RESULT, err);
	if (r < 0)
		return r;
	if (res->status < CHAN_RESULT_RUNNING || res->status > CHAN_RESULT_READY)
		return err_set(err, CKPT_EPROTO, "RESULT has status %u (expected 1 to 5)",
			       res->status);
	if (res->status == CHAN_RESULT_RUNNING && res->pid <= 0)
		return err_set(err, CKPT_EPROTO,
			       "RESULT says running with pid %d (expected a pid > 0)", res->pid);
	if (res->status == CHAN_RESULT_FAILED && res->code >= 0)
		return err_set(err, CKPT_EPROTO,
			       "RESULT says failed with code %d (expected a negative code)",
			       res->code);
	return 0;
}

int chan_msg_decode(uint16_t type, const uint8_t *payload, uint32_t len, struct chan_msg *m,
		    ckpt_err *err)
{
	struct dec d = { .p = payload, .n = len };
	int r;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->data = payload;
	m->len = len;
	switch (type) {
	case CHAN_MSG_HELLO: return decode_hello(&d, &m->u.hello, err);
	case CHAN_MSG_ERROR:
		m->u.error.code = (int32_t)dec_u32(&d, "code");
		DEC_STR(&d, m->u.error.stage, "stage");
		DEC_STR(&d, m->u.error.msg, "msg");
		r = dec_end(&d, type, err);
		if (r == 0 && m->u.error.code >= 0)
			return err_set(
				err, CKPT_EPROTO,
				"ERROR message has code %d (expected a negative CKPT_E* code)",
				m->u.error.code);
		return r;
	case CHAN_MSG_FILE_BEGIN: return decode_file_begin(&d, &m->u.file_begin, err);
	case CHAN_MSG_FILE_DATA:
		if (len == 0 || len > CHAN_FILE_CHUNK)
			return err_set(err, CKPT_EPROTO, "FILE_DATA of %u bytes (expected 1 to %u)",
				       len, CHAN_FILE_CHUNK);
		return 0;
	case CHAN_MSG_FILE_END:
		dec_fixed(&d, m->u.file_end.sha256, 32, "sha256");
		return dec_end(&d, type, err);
	case CHAN_MSG_FILES_DONE:
		m->u.files_done.count = dec_u32(&d, "count");
		m->u.files_done.total = dec_u64(&d, "total");
		return dec_end(&d, type, err);
	case CHAN_MSG_RESTORE:
		m->u.restore.flags = dec_u32(&d, "flags");
		DEC_STR(&d, m->u.restore.page_addr, "page_addr");
		m->u.restore.page_port = dec_u16(&d, "page_port");
		r = dec_end(&d, type, err);
		if (r == 0 && (m->u.restore.flags & ~(uint32_t)CHAN_RESTORE_F_LAZY))
			return err_set(err, CKPT_EPROTO,
				       "RESTORE has flags 0x%x (expected only 0x%x)",
				       m->u.restore.flags, CHAN_RESTORE_F_LAZY);
		return r;
	case CHAN_MSG_RESULT: return decode_result(&d, &m->u.result, err);
	case CHAN_MSG_ACK:
		m->u.ack.decision = dec_u8(&d, "decision");
		r = dec_end(&d, type, err);
		if (r == 0 && m->u.ack.decision != CHAN_ACK_COMMITTED &&
		    m->u.ack.decision != CHAN_ACK_RESUMED)
			return err_set(err, CKPT_EPROTO,
				       "ACK has decision %u (expected 1 committed or 2 resumed)",
				       m->u.ack.decision);
		return r;
	case CHAN_MSG_RESOLVE:
		dec_fixed(&d, m->u.resolve.session, CHAN_SESSION_SIZE, "session");
		return dec_end(&d, type, err);
	default:
		return err_set(err, CKPT_EPROTO, "message type %u is unknown (expected 1 to %u)",
			       type, CHAN_MSG_MAX_);
	}
}

static struct enc enc_start(struct chan *c)
{
	return (struct enc){ .p = payload_buf(c), .cap = CHAN_MAX_PAYLOAD };
}

static int enc_send(struct chan *c, struct enc *e, uint16_t type, ckpt_err *err)
{
	if (e->over)
		return err_set(err, CKPT_ETOOBIG, "%s message is above the cap of %u bytes",
			       chan_type_name(type), CHAN_MAX_PAYLOAD);
	return frame_send(c, type, e->n, err);
}

int chan_send_hello(struct chan *c, const struct chan_hello *h, ckpt_err *err)
{
	struct enc e = enc_start(c);

	if (h->cpuinfo_len > CHAN_CPUINFO_MAX)
		return err_set(err, CKPT_ETOOBIG,
			       "cpuinfo of %u bytes is above the cap of %u bytes", h->cpuinfo_len,
			       CHAN_CPUINFO_MAX);
	enc_u16(&e, CHAN_PROTO_VERSION);
	enc_u8(&e, h->role);
	enc_u8(&e, h->mode);
	enc_bytes(&e, h->session, CHAN_SESSION_SIZE);
	enc_u32(&e, h->libckpt_version);
	enc_str(&e, h->libckpt_version_str, sizeof(h->libckpt_version_str) - 1);
	enc_u32(&e, h->criu_version);
	enc_str(&e, h->criu_version_str, sizeof(h->criu_version_str) - 1);
	enc_u32(&e, h->flags);
	enc_u16(&e, h->page_port);
	enc_u32(&e, (uint32_t)h->check_code);
	enc_str(&e, h->check_msg, sizeof(h->check_msg) - 1);
	enc_u32(&e, h->cpuinfo_len);
	if (h->cpuinfo_len)
		enc_bytes(&e, h->cpuinfo, h->cpuinfo_len);
	return enc_send(c, &e, CHAN_MSG_HELLO, err);
}

void chan_send_error(struct chan *c, int code, const char *stage, const char *msg)
{
	struct enc e;

	if (!c || c->broken)
		return;
	e = enc_start(c);
	enc_u32(&e, (uint32_t)(code < 0 ? code : CKPT_EPROTO));
	enc_str(&e, stage ? stage : "", 31);
	enc_str(&e, msg ? msg : "", 1023);
	enc_send(c, &e, CHAN_MSG_ERROR, NULL);
}

int chan_send_restore(struct chan *c, const struct chan_restore *r, ckpt_err *err)
{
	struct enc e = enc_start(c);

	enc_u32(&e, r->flags);
	enc_str(&e, r->page_addr, sizeof(r->page_addr) - 1);
	enc_u16(&e, r->page_port);
	return enc_send(c, &e, CHAN_MSG_RESTORE, err);
}

int chan_send_result(struct chan *c, const struct chan_result *r, ckpt_err *err)
{
	struct enc e = enc_start(c);

	enc_u8(&e, r->status);
	enc_u32(&e, (uint32_t)r->pid);
	enc_u32(&e, (uint32_t)r->code);
	enc_str(&e, r->stage, sizeof(r->stage) - 1);
	enc_str(&e, r->msg, sizeof(r->msg) - 1);
	return enc_send(c, &e, CHAN_MSG_RESULT, err);
}

int chan_send_ack(struct chan *c, uint8_t decision, ckpt_err *err)
{
	struct enc e = enc_start(c);

	enc_u8(&e, decision);
	return enc_send(c, &e, CHAN_MSG_ACK, err);
}

int chan_send_resolve(struct chan *c, const uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err)
{
	struct enc e = enc_start(c);

	enc_bytes(&e, session, CHAN_SESSION_SIZE);
	return enc_send(c, &e, CHAN_MSG_RESOLVE, err);
}

int chan_session_new(uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err)
{
	if (gnutls_rnd(GNUTLS_RND_NONCE, session, CHAN_SESSION_SIZE) < 0)
		return err_set(err, CKPT_ESYS,
			       "migration channel: no random bytes for a session id");
	return 0;
}

/* ------------------------------------------------------------------ */
/* File transfer                                                       */
/* ------------------------------------------------------------------ */

int chan_name_check(const char *name, size_t len, ckpt_err *err)
{
	char shown[CHAN_NAME_MAX + 1];

	sanitize_copy(shown, sizeof(shown), len < sizeof(shown) ? name : "(too long)");
	if (len == 0)
		return err_set(err, CKPT_EPROTO,
			       "an image file name is empty (expected a plain file name)");
	if (len > CHAN_NAME_MAX)
		return err_set(err, CKPT_EPROTO,
			       "an image file name is %zu bytes long (expected at most %u)", len,
			       CHAN_NAME_MAX);
	if (memchr(name, '/', len))
		return err_set(
			err, CKPT_EPROTO,
			"image file name \"%s\" holds a '/' (expected a plain name in the images directory)",
			shown);
	if (name[0] == '.')
		return err_set(
			err, CKPT_EPROTO,
			"image file name \"%s\" starts with '.' (expected a plain name, not '.', '..' or hidden)",
			shown);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '+'))
			return err_set(
				err, CKPT_EPROTO,
				"image file name \"%s\" holds the byte 0x%02x (expected letters, digits, '.', "
				"'_', '-', '+')",
				shown, ch);
	}
	return 0;
}

int chan_send_file(struct chan *c, int dirfd, const char *name, ckpt_err *err)
{
	_cleanup_close_ int fd = -1;
	gnutls_hash_hd_t hash = NULL;
	uint8_t digest[32];
	struct stat st;
	struct enc e;
	uint64_t left;
	int r;

	r = chan_name_check(name, strlen(name), err);
	if (r < 0)
		return r;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_sys(err, errno == ELOOP ? CKPT_EINVAL : CKPT_EIMAGES, errno,
			       "image file \"%s\" (expected a regular file)", name);
	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": fstat", name);
	if (!S_ISREG(st.st_mode))
		return err_set(
			err, CKPT_EINVAL,
			"image file \"%s\" is not a regular file (only regular files are sent)",
			name);
	if (gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: SHA-256 unavailable");

	e = enc_start(c);
	enc_str(&e, name, CHAN_NAME_MAX);
	enc_u32(&e, (uint32_t)(st.st_mode & (S_IFMT | 0777)));
	enc_u64(&e, (uint64_t)st.st_size);
	r = enc_send(c, &e, CHAN_MSG_FILE_BEGIN, err);
	for (left = (uint64_t)st.st_size; r == 0 && left;) {
		size_t want = left < CHAN_FILE_CHUNK ? (size_t)left : CHAN_FILE_CHUNK;
		ssize_t n = pread(fd, payload_buf(c), want, st.st_size - (off_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": read", name);
			break;
		}
		if (n == 0) {
			r = err_set(
				err, CKPT_EIMAGES,
				"image file \"%s\" shrank while it was sent (%llu bytes missing)",
				name, (unsigned long long)left);
			break;
		}
		gnutls_hash(hash, payload_buf(c), (size_t)n);
		r = frame_send(c, CHAN_MSG_FILE_DATA, (size_t)n, err);
		left -= (uint64_t)n;
		c->file_bytes_out += (uint64_t)n;
	}
	gnutls_hash_deinit(hash, digest);
	if (r < 0)
		return r;
	e = enc_start(c);
	enc_bytes(&e, digest, sizeof(digest));
	r = enc_send(c, &e, CHAN_MSG_FILE_END, err);
	if (r == 0)
		c->files_out++;
	return r;
}

int chan_send_files_done(struct chan *c, ckpt_err *err)
{
	struct enc e = enc_start(c);

	enc_u32(&e, c->files_out);
	enc_u64(&e, c->file_bytes_out);
	return enc_send(c, &e, CHAN_MSG_FILES_DONE, err);
}

void chan_rx_init(struct chan_rx *rx, int dirfd, const struct chan_limits *lim)
{
	memset(rx, 0, sizeof(*rx));
	rx->dirfd = dirfd;
	rx->fd = -1;
	rx->max_files = lim && lim->max_files ? lim->max_files : CHAN_DEFAULT_MAX_FILES;
	rx->max_total = lim && lim->max_total ? lim->max_total : CHAN_DEFAULT_MAX_TOTAL;
}

void chan_rx_abort(struct chan_rx *rx)
{
	if (rx->hash) {
		uint8_t d[32];

		gnutls_hash_deinit(rx->hash, d);
		rx->hash = NULL;
	}
	if (rx->fd >= 0) {
		close(rx->fd);
		rx->fd = -1;
	}
	if (rx->open && rx->dirfd >= 0)
		unlinkat(rx->dirfd, rx->name, 0);
	rx->open = false;
}

static int rx_fail(struct chan_rx *rx, int r)
{
	chan_rx_abort(rx);
	return r;
}

/* FILE_BEGIN: within the caps, the file created (when receiving into a dir) and its hash started. */
static int rx_file_begin(struct chan_rx *rx, const struct chan_file_begin *f, ckpt_err *err)
{
	if (rx->done || rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO, "FILE_BEGIN of \"%s\" %s", f->name,
					   rx->done ? "after FILES_DONE" :
						      "before the previous file ended"));
	if (rx->files >= rx->max_files)
		return rx_fail(rx, err_set(err, CKPT_ETOOBIG,
					   "image file \"%s\" is one more than the cap of %u files",
					   f->name, rx->max_files));
	if (f->size > rx->max_total - rx->total)
		return rx_fail(
			rx,
			err_set(err, CKPT_ETOOBIG,
				"image file \"%s\" of %llu bytes would pass the cap of %llu bytes in all",
				f->name, (unsigned long long)f->size,
				(unsigned long long)rx->max_total));
	if (gnutls_hash_init((gnutls_hash_hd_t *)&rx->hash, GNUTLS_DIG_SHA256) < 0)
		return rx_fail(rx,
			       err_set(err, CKPT_ENOMEM, "migration channel: SHA-256 unavailable"));
	memcpy(rx->name, f->name, sizeof(rx->name));
	if (rx->dirfd >= 0) {
		rx->fd = openat(rx->dirfd, f->name,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rx->fd < 0)
			return rx_fail(
				rx,
				err_sys(err, errno == EEXIST ? CKPT_EEXIST : CKPT_EIMAGES, errno,
					"image file \"%s\" cannot be created (expected a new name)",
					f->name));
	}
	rx->open = true;
	rx->size = f->size;
	rx->got = 0;
	return 0;
}

/* FILE_DATA: within the file's declared size, hashed and written. */
static int rx_file_data(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	if (!rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "FILE_DATA outside a file (expected FILE_BEGIN)"));
	if (m->len > rx->size - rx->got)
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"image file \"%s\": %llu bytes more than its declared size of %llu",
				rx->name, (unsigned long long)(rx->got + m->len - rx->size),
				(unsigned long long)rx->size));
	gnutls_hash(rx->hash, m->data, m->len);
	for (size_t off = 0; rx->fd >= 0 && off < m->len;) {
		ssize_t w = write(rx->fd, m->data + off, m->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return rx_fail(rx, err_sys(err, CKPT_EIMAGES, errno,
						   "image file \"%s\": write", rx->name));
		off += (size_t)w;
	}
	rx->got += m->len;
	rx->total += m->len;
	return 0;
}

/* FILE_END: the whole file arrived and matches the sender's SHA-256. */
static int rx_file_end(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	uint8_t digest[32];

	if (!rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "FILE_END outside a file (expected FILE_BEGIN)"));
	if (rx->got != rx->size)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "image file \"%s\" ended after %llu of its %llu bytes",
					   rx->name, (unsigned long long)rx->got,
					   (unsigned long long)rx->size));
	gnutls_hash_deinit(rx->hash, digest);
	rx->hash = NULL;
	if (!mac_equal(digest, m->u.file_end.sha256, sizeof(digest)))
		return rx_fail(
			rx,
			err_set(err, CKPT_EBADIMG,
				"image file \"%s\" does not match the SHA-256 its sender computed",
				rx->name));
	if (rx->fd >= 0 && close(rx->fd) < 0) {
		rx->fd = -1;
		return rx_fail(rx, err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": close",
					   rx->name));
	}
	rx->fd = -1;
	rx->open = false;
	rx->files++;
	return 0;
}

/* FILES_DONE: the count and bytes the sender says match what arrived; 1 (the transfer is done). */
static int rx_files_done(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	if (rx->open || rx->done)
		return rx_fail(rx, err_set(err, CKPT_EPROTO, "FILES_DONE %s",
					   rx->open ? "in the middle of a file" : "twice"));
	if (m->u.files_done.count != rx->files || m->u.files_done.total != rx->total)
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"FILES_DONE says %u files, %llu bytes; %u files, %llu bytes arrived",
				m->u.files_done.count, (unsigned long long)m->u.files_done.total,
				rx->files, (unsigned long long)rx->total));
	rx->done = true;
	return 1;
}

int chan_rx_feed(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	switch (m->type) {
	case CHAN_MSG_FILE_BEGIN: return rx_file_begin(rx, &m->u.file_begin, err);
	case CHAN_MSG_FILE_DATA: return rx_file_data(rx, m, err);
	case CHAN_MSG_FILE_END: return rx_file_end(rx, m, err);
	case CHAN_MSG_FILES_DONE: return rx_files_done(rx, m, err);
	default:
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"%s in the middle of the image transfer (expected a file message)",
				chan_type_name(m->type)));
	}
}

int chan_recv_files(struct chan *c, int dirfd, const struct chan_limits *lim,
		    struct chan_rx *rx_ret, ckpt_err *err)
{
	struct chan_rx rx;
	struct chan_msg m;
	int r;

	chan_rx_init(&rx, dirfd, lim);
	for (;;) {
		r = chan_recv(c, &m, err);
		if (r < 0)
			break;
		if (m.type == CHAN_MSG_ERROR) {
			r = peer_error(c, &m, err);
			break;
		}
		r = chan_rx_feed(&rx, &m, err);
		if (r < 0) {
			err_prefix(err, "migration peer %s", c->addr);
			break;
		}
		if (r == 1) {
			r = 0;
			break;
		}
	}
	chan_rx_abort(&rx);
	if (rx_ret)
		*rx_ret = rx;
	return r;
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */
/* ------------------------------------------------------------------ */

/* Read the token file: regular, owner-only, CHAN_TOKEN_MIN..MAX bytes once one trailing newline is cut. */
static int token_load(const char *path, uint8_t *buf, size_t *ret_len, ckpt_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file \"%s\"", path);
	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file \"%s\": fstat", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, CKPT_EINVAL, "token file \"%s\" is not a regular file", path);
	if (st.st_mode & 077)
		return err_set(
			err, CKPT_EINVAL,
			"token file \"%s\" has mode 0%o: readable by others (expected owner-only, chmod 600)",
			path, (unsigned)(st.st_mode & 07777));
	if (st.st_size > CHAN_TOKEN_MAX + 2)
		return err_set(err, CKPT_EINVAL,
			       "token file \"%s\" has %lld bytes (expected at most %u)", path,
			       (long long)st.st_size, CHAN_TOKEN_MAX);
	while (got < CHAN_TOKEN_MAX + 2) {
		ssize_t n = read(fd, buf + got, CHAN_TOKEN_MAX + 2 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(err, CKPT_EINVAL, errno, "token file \"%s\": read", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got && buf[got - 1] == '\n')
		got--;
	if (got && buf[got - 1] == '\r')
		got--;
	if (got < CHAN_TOKEN_MIN || got > CHAN_TOKEN_MAX) {
		wipe(buf, CHAN_TOKEN_MAX + 2);
		return err_set(err, CKPT_EINVAL,
			       "token file \"%s\" holds %zu bytes of secret (expected %u to %u)",
			       path, got, CHAN_TOKEN_MIN, CHAN_TOKEN_MAX);
	}
	*ret_len = got;
	return 0;
}

static int hmac_parts(const uint8_t *key, size_t keylen, const char *label, uint8_t role,
		      const uint8_t *t, uint8_t out[32])
{
	uint8_t msg[64 + 1 + TRANSCRIPT_SIZE];
	size_t l = strlen(label);

	memcpy(msg, label, l);
	msg[l] = role;
	memcpy(msg + l + 1, t, TRANSCRIPT_SIZE);
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, msg, l + 1 + TRANSCRIPT_SIZE, out) <
			       0 ?
		       -1 :
		       0;
}

/*
 * The token exchange (docs/migration.md): nonces both ways; the connecting side
 * proves first, the accepting side checks, answers one status byte and, if
 * the proof held, its own proof. t is the transcript: both preambles (the
 * connecting side's first) and both nonces (same order), filled here.
 */
static int token_auth(struct chan *c, const uint8_t *secret, size_t slen, uint8_t *t, ckpt_err *err)
{
	uint8_t mine[CHAN_NONCE_SIZE], proof[32], want[32];
	bool conn = c->side == CHAN_CONNECTING;
	uint8_t *n_self = t + 2 * CHAN_PREAMBLE_SIZE + (conn ? 0 : CHAN_NONCE_SIZE);
	uint8_t *n_peer = t + 2 * CHAN_PREAMBLE_SIZE + (conn ? CHAN_NONCE_SIZE : 0);
	uint8_t status;
	int r;

	if (gnutls_rnd(GNUTLS_RND_NONCE, mine, sizeof(mine)) < 0)
		return err_set(err, CKPT_ESYS, "migration channel: no random bytes for a nonce");
	memcpy(n_self, mine, CHAN_NONCE_SIZE);
	r = io_write(c, mine, sizeof(mine), err);
	if (r == 0)
		r = read_exact(c, n_peer, CHAN_NONCE_SIZE, "the token challenge", err);
	if (r < 0)
		return r;
	if (!memcmp(n_peer, mine, CHAN_NONCE_SIZE))
		return err_set(err, CKPT_EPERM,
			       "migration peer %s echoed our nonce (a reflection; refused)",
			       c->addr);

	if (conn) {
		if (hmac_parts(secret, slen, LABEL_PROOF, 'C', t, proof) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		r = io_write(c, proof, sizeof(proof), err);
		if (r == 0)
			r = read_exact(c, &status, 1, "the token verdict", err);
		if (r < 0)
			return r;
		if (status != 0)
			return err_set(
				err, CKPT_EPERM,
				"migration peer %s refused our token proof: the two token files differ",
				c->addr);
		r = read_exact(c, proof, sizeof(proof), "the peer's token proof", err);
		if (r < 0)
			return r;
		if (hmac_parts(secret, slen, LABEL_PROOF, 'S', t, want) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		if (!mac_equal(proof, want, sizeof(want)))
			return err_set(
				err, CKPT_EPERM,
				"migration peer %s failed to prove it holds our token: another token file, or not "
				"the receiver meant",
				c->addr);
	} else {
		r = read_exact(c, proof, sizeof(proof), "the peer's token proof", err);
		if (r < 0)
			return r;
		if (hmac_parts(secret, slen, LABEL_PROOF, 'C', t, want) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		if (!mac_equal(proof, want, sizeof(want))) {
			status = 1;
			io_write(c, &status, 1, NULL);
			return err_set(
				err, CKPT_EPERM,
				"migration peer %s failed to prove it holds our token (a different token file); "
				"refused",
				c->addr);
		}
		if (hmac_parts(secret, slen, LABEL_PROOF, 'S', t, proof) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
		{
			uint8_t answer[1 + sizeof(proof)] = {
				0
			}; /* status 0, then the proof: one write */

			memcpy(answer + 1, proof, sizeof(proof));
			r = io_write(c, answer, sizeof(answer), err);
			if (r < 0)
				return r;
		}
	}
	/* session keys, one per direction */
	if (hmac_parts(secret, slen, LABEL_KEY, conn ? 'C' : 'S', t, c->key_tx) < 0 ||
	    hmac_parts(secret, slen, LABEL_KEY, conn ? 'S' : 'C', t, c->key_rx) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
	return 0;
}

static int tls_setup(struct chan *c, const struct chan_auth *a, ckpt_err *err)
{
	int r;

	if (gnutls_certificate_allocate_credentials(&c->cred) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS credentials");
	r = gnutls_certificate_set_x509_trust_file(c->cred, a->tls_cacert, GNUTLS_X509_FMT_PEM);
	if (r <= 0)
		return err_set(err, CKPT_EINVAL,
			       "TLS CA certificate file \"%s\": %s (expected a PEM certificate)",
			       a->tls_cacert, r < 0 ? gnutls_strerror(r) : "no certificate in it");
	if (a->tls_cacrl) {
		r = gnutls_certificate_set_x509_crl_file(c->cred, a->tls_cacrl,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(err, CKPT_EINVAL,
				       "TLS CRL file \"%s\": %s (expected a PEM CRL)", a->tls_cacrl,
				       gnutls_strerror(r));
	}
	r = gnutls_certificate_set_x509_key_file(c->cred, a->tls_cert, a->tls_key,
						 GNUTLS_X509_FMT_PEM);
	if (r < 0)
		return err_set(
			err, CKPT_EINVAL,
			"TLS certificate \"%s\" with key \"%s\": %s (expected a PEM certificate and its key)",
			a->tls_cert, a->tls_key, gnutls_strerror(r));
	r = gnutls_init(&c->tls, (c->side == CHAN_CONNECTING ? GNUTLS_CLIENT : GNUTLS_SERVER) |
					 GNUTLS_NONBLOCK);
	if (r < 0) {
		c->tls = NULL;
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS session: %s",
			       gnutls_strerror(r));
	}
	if (gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS session setup failed");
	if (c->side == CHAN_ACCEPTING) {
		gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
		/* as CRIU's page server: no CA list, so a client sends whatever certificate it has */
		gnutls_certificate_send_x509_rdn_sequence(c->tls, 1);
	}
	/* both sides verify the peer's chain during the handshake; the connecting side also its name */
	gnutls_session_set_verify_cert(c->tls, c->side == CHAN_CONNECTING ? a->tls_peer_name : NULL,
				       0);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_push_function(c->tls, tls_push);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	return 0;
}

static int tls_handshake(struct chan *c, const struct chan_auth *a, ckpt_err *err)
{
	const gnutls_datum_t *certs;
	unsigned n = 0, status = 0;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { 0 };
	int r;

	for (;;) {
		r = gnutls_handshake(c->tls);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r)) {
			int w = tls_wait(c, "in the TLS handshake", err);

			if (w < 0)
				return w;
			continue;
		}
		/* tell the peer why, so that it fails now rather than at its deadline */
		gnutls_alert_send_appropriate(c->tls, r);
		status = gnutls_session_get_verify_cert_status(c->tls);
		if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR && status) {
			gnutls_datum_t out = { 0 };
			int pr = gnutls_certificate_verification_status_print(
				status, gnutls_certificate_type_get(c->tls), &out, 0);

			r = err_set(err, CKPT_EPERM,
				    "migration peer %s: its TLS certificate is refused: %s",
				    c->addr,
				    pr == 0 && out.data ? (char *)out.data : "not trusted");
			gnutls_free(out.data);
			return r;
		}
		if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || r == GNUTLS_E_CERTIFICATE_REQUIRED)
			return err_set(
				err, CKPT_EPERM,
				"migration peer %s presented no TLS certificate (mutual TLS: each side needs "
				"--tls-cert and --tls-key)",
				c->addr);
		{
			char why[160];

			tls_why(c, r, why, sizeof(why));
			return err_set(err, CKPT_EPERM,
				       "migration peer %s: TLS handshake failed: %s", c->addr, why);
		}
	}
	/* belt and braces: a verified certificate must be there */
	certs = gnutls_certificate_get_peers(c->tls, &n);
	if (!certs || n == 0)
		return err_set(err, CKPT_EPERM,
			       "migration peer %s presented no TLS certificate (refused)", c->addr);
	r = gnutls_certificate_verify_peers3(
		c->tls, c->side == CHAN_CONNECTING ? a->tls_peer_name : NULL, &status);
	if (r < 0 || status)
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s: its TLS certificate does not verify (status 0x%x)",
			c->addr, status);
	if (gnutls_x509_crt_init(&crt) == 0) {
		if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
		    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
			snprintf(c->peer, sizeof(c->peer), "%s", (char *)dn.data);
			gnutls_free(dn.data);
		}
		gnutls_x509_crt_deinit(crt);
	}
	return 0;
}

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
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	wipe(c->key_tx, sizeof(c->key_tx));
	wipe(c->key_rx, sizeof(c->key_rx));
	free(c->wbuf);
	free(c->rbuf);
	free(c);
}

/* The methods a asks for (CHAN_AUTH_*): at least one, and TLS with all three of its files. */
static int auth_methods(const struct chan_auth *a, uint8_t *ret, ckpt_err *err)
{
	uint8_t methods = 0;

	if (!a || (!a->token_file && !a->tls_cacert && !a->tls_cert && !a->tls_key))
		return err_set(
			err, CKPT_EINVAL,
			"migration refuses to run unauthenticated: give a token file (--token-file) or TLS "
			"files (--tls-cacert, --tls-cert, --tls-key); a receiver restores whatever images "
			"reach it, as root");
	if (a->tls_cacert || a->tls_cert || a->tls_key) {
		if (!a->tls_cacert || !a->tls_cert || !a->tls_key)
			return err_set(
				err, CKPT_EINVAL,
				"mutual TLS needs all three files: --tls-cacert, --tls-cert and --tls-key (%s "
				"is missing)",
				!a->tls_cacert ? "--tls-cacert" :
				!a->tls_cert   ? "--tls-cert" :
						 "--tls-key");
		methods |= CHAN_AUTH_TLS;
	}
	if (a->token_file)
		methods |= CHAN_AUTH_TOKEN;
	*ret = methods;
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
	snprintf(c->peer, sizeof(c->peer), "token holder");
	/*
	 * Every frame goes out in one write, and the handshake is a few small
	 * round trips: without TCP_NODELAY each of them can wait for a delayed
	 * ACK (40 ms). Not TCP (a socketpair): nothing to do.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*ret = c;
	return 0;
}

/* Both preambles, in the clear, into the transcript t (the connecting side's first); the peer's checked. */
static int exchange_preambles(struct chan *c, uint8_t *t, uint8_t methods, ckpt_err *err)
{
	uint8_t *pre_self = t + (c->side == CHAN_CONNECTING ? 0 : CHAN_PREAMBLE_SIZE);
	uint8_t *pre_peer = t + (c->side == CHAN_CONNECTING ? CHAN_PREAMBLE_SIZE : 0);
	gnutls_session_t tls = c->tls;
	int r;

	preamble_fill(pre_self, methods, c->side);
	c->tls = NULL; /* the preamble is in the clear */
	r = sys_write(c, pre_self, CHAN_PREAMBLE_SIZE, err);
	if (r == 0)
		r = read_exact(c, pre_peer, CHAN_PREAMBLE_SIZE, "the migration preamble", err);
	c->tls = tls;
	if (r == 0)
		r = preamble_check(c, pre_peer, methods, err);
	return r;
}

/*
 * The accepting side confirms the TLS handshake with one byte: with TLS 1.3
 * the client's handshake ends before its certificate is checked.
 */
static int tls_verdict(struct chan *c, ckpt_err *err)
{
	uint8_t ok = c->side == CHAN_ACCEPTING ? 0 : 1;
	int r;

	if (c->side == CHAN_ACCEPTING)
		return io_write(c, &ok, 1, err);
	r = read_exact(c, &ok, 1, "the TLS verdict", err);
	if (r == CKPT_EPROTO) {
		/* an alert or a close here: our certificate was refused */
		err_prefix(err, "the peer refused our TLS certificate");
		if (err)
			err->code = CKPT_EPERM;
		r = CKPT_EPERM;
	}
	if (r == 0 && ok != 0)
		r = err_set(err, CKPT_EPROTO, "migration peer %s: TLS verdict byte %u (expected 0)",
			    c->addr, ok);
	return r;
}

int chan_open(int fd, enum chan_side side, const struct chan_auth *a, unsigned timeout_ms,
	      struct chan **ret, ckpt_err *err)
{
	uint8_t t[TRANSCRIPT_SIZE];
	uint8_t secret[CHAN_TOKEN_MAX + 2];
	size_t slen = 0;
	uint8_t methods = 0;
	struct chan *c;
	int r;

	assert_return(ret, err, "chan_open: ret is NULL (expected a place for the channel)");
	assert_return(side == CHAN_CONNECTING || side == CHAN_ACCEPTING, err,
		      "chan_open: side %d (expected connecting or accepting)", (int)side);
	assert_return(timeout_ms > 0, err,
		      "chan_open: timeout of 0 ms (expected a deadline: every read has one)");
	r = auth_methods(a, &methods, err);
	if (r == 0)
		r = chan_alloc(fd, side, timeout_ms, &c, err);
	if (r < 0)
		return r;

	/* the files first: a broken setup fails before anything is sent */
	if (methods & CHAN_AUTH_TOKEN) {
		r = token_load(a->token_file, secret, &slen, err);
		if (r < 0)
			goto fail;
	}
	if (methods & CHAN_AUTH_TLS) {
		r = tls_setup(c, a, err);
		if (r < 0)
			goto fail;
	}

	/* one deadline for the whole authentication */
	c->deadline_us = now_us() + (uint64_t)timeout_ms * 1000;
	r = exchange_preambles(c, t, methods, err);
	if (r < 0)
		goto fail;
	if (c->tls) {
		r = tls_handshake(c, a, err);
		if (r == 0)
			r = tls_verdict(c, err);
		if (r < 0)
			goto fail;
	}
	if (methods & CHAN_AUTH_TOKEN) {
		r = token_auth(c, secret, slen, t, err);
		if (r < 0)
			goto fail;
		if (!c->tls)
			c->mac = true;
		else
			snprintf(c->peer + strlen(c->peer), sizeof(c->peer) - strlen(c->peer),
				 " (token holder)");
	}
	wipe(secret, sizeof(secret));
	*ret = c;
	return 0;
fail:
	wipe(secret, sizeof(secret));
	err_at(err, "auth", r);
	c->broken = true;
	chan_free(c);
	return r;
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
