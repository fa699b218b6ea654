/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside the channel (private to lib/migrate/chan-*.c): the channel object, byte order, I/O with deadlines. */
#ifndef CKPT_CHAN_INT_H
#define CKPT_CHAN_INT_H

#include "chan.h"
#include "base/error.h"
#include "dl-gnutls.h"

/* The write buffer: [header 8][payload]. */
#define WBUF_SIZE (CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD)
#define RBUF_SIZE CHAN_MAX_PAYLOAD

struct chan {
	int fd; /* borrowed */
	enum chan_side side;
	unsigned timeout_ms;
	uint64_t deadline_us; /* of the operation under way */

	gnutls_session_t tls; /* set once the handshake started; every frame goes through it */
	const struct chan_creds *cr;

	uint64_t wire_in, wire_out;
	uint64_t file_bytes_out;
	uint32_t files_out;

	bool broken;	/* a failed or partial write: nothing more may be sent */
	bool rx_broken; /* a failed receive: the stream is out of step, nothing more is read */
	uint8_t *wbuf, *rbuf;
	char addr[80];	   /* the peer's address, for messages */
	char peer[320];	   /* who it proved to be */
	char refusal[400]; /* why its certificate was refused, during the handshake */
	char cipher[64];   /* the session's version and cipher */
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* A payload being encoded into the channel's write buffer: overflowing sets over, written nothing. */
struct enc {
	uint8_t *p;
	size_t n, cap;
	bool over;
};

static inline void enc_bytes(struct enc *e, const void *b, size_t n)
{
	if (e->over || n > e->cap - e->n) {
		e->over = true;
		return;
	}
	memcpy(e->p + e->n, b, n);
	e->n += n;
}
static inline void enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}
static inline void enc_u16(struct enc *e, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	enc_bytes(e, b, 2);
}
static inline void enc_u32(struct enc *e, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	enc_bytes(e, b, 4);
}
static inline void enc_u64(struct enc *e, uint64_t v)
{
	uint8_t b[8];

	put64(b, v);
	enc_bytes(e, b, 8);
}
/* A string: u16 length, bytes (no NUL). */
static inline void enc_str(struct enc *e, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	enc_u16(e, (uint16_t)n);
	enc_bytes(e, s, n);
}

/* Constant-time comparison (digests, proofs, confirmations). */
bool chan_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* ---- chan-frame.c: I/O with the channel's deadline ---- */

/* Wait for events on the socket until the deadline of the operation under way. */
int chan_wait(struct chan *c, short events, const char *what, ckpt_err *err);
/* In the clear (the preamble only). */
int chan_sys_write(struct chan *c, const uint8_t *p, size_t n, ckpt_err *err);
/* Through TLS. */
int chan_io_write(struct chan *c, const void *buf, size_t n, ckpt_err *err);
/* Exactly n bytes through TLS (or in the clear before it): an EOF is an error naming what. */
int chan_read_exact(struct chan *c, void *buf, size_t n, const char *what, ckpt_err *err);
/* The same, telling how many bytes arrived (*ret_got) before an error or the EOF. */
int chan_read_exact_got(struct chan *c, void *buf, size_t n, const char *what, size_t *ret_got,
			ckpt_err *err);
/* The text of a TLS failure, naming the peer's alert when it sent one. */
void chan_tls_why(struct chan *c, int r, char *buf, size_t n);
/* Send the frame whose payload (len bytes) is already at chan_payload(c). */
int chan_frame_send(struct chan *c, uint16_t type, size_t len, ckpt_err *err);
static inline uint8_t *chan_payload(struct chan *c)
{
	return c->wbuf + CHAN_HDR_SIZE;
}
/* GnuTLS transport callbacks on c->fd, non-blocking, counting wire bytes. */
ssize_t chan_tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t n);
ssize_t chan_tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t n);

/* ---- chan-msg.c ---- */

/* An encoder over the payload part of the write buffer. */
struct enc chan_enc_start(struct chan *c);
/* Send what e holds as a message of type (CKPT_ETOOBIG if it overflowed). */
int chan_enc_send(struct chan *c, struct enc *e, uint16_t type, ckpt_err *err);

/* ---- chan-auth.c ---- */

/* The methods cr authenticates with (CHAN_AUTH_*). */
uint8_t chan_creds_methods(const struct chan_creds *cr);
/*
 * Everything after the preambles (pre: the connecting side's, then the
 * accepting side's): the TLS session on c, its handshake, the peer's
 * identity, the preambles confirmed, the token proof; c->peer filled.
 */
int chan_auth_run(struct chan *c, const uint8_t pre[2 * CHAN_PREAMBLE_SIZE], ckpt_err *err);

#endif
