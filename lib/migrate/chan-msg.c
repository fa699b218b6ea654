/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel's messages: encoded, and received, decoded, checked (untrusted input). */
#include <stdio.h>
#include <sys/stat.h>

#include "chan-int.h"

/* A payload being decoded: fields are taken in order; the first that does not fit is remembered. */
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
	r = chan_read_exact_got(c, hdr, CHAN_HDR_SIZE, "a message header", &n, err);
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

struct enc chan_enc_start(struct chan *c)
{
	return (struct enc){ .p = chan_payload(c), .cap = CHAN_MAX_PAYLOAD };
}

int chan_enc_send(struct chan *c, struct enc *e, uint16_t type, ckpt_err *err)
{
	if (e->over)
		return err_set(err, CKPT_ETOOBIG, "%s message is above the cap of %u bytes",
			       chan_type_name(type), CHAN_MAX_PAYLOAD);
	return chan_frame_send(c, type, e->n, err);
}

int chan_send_hello(struct chan *c, const struct chan_hello *h, ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

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
	enc_u32(&e, (uint32_t)h->check_code);
	enc_str(&e, h->check_msg, sizeof(h->check_msg) - 1);
	enc_u32(&e, h->cpuinfo_len);
	if (h->cpuinfo_len)
		enc_bytes(&e, h->cpuinfo, h->cpuinfo_len);
	return chan_enc_send(c, &e, CHAN_MSG_HELLO, err);
}

void chan_send_error(struct chan *c, int code, const char *stage, const char *msg)
{
	struct enc e;

	if (!c || c->broken)
		return;
	e = chan_enc_start(c);
	enc_u32(&e, (uint32_t)(code < 0 ? code : CKPT_EPROTO));
	enc_str(&e, stage ? stage : "", 31);
	enc_str(&e, msg ? msg : "", 1023);
	chan_enc_send(c, &e, CHAN_MSG_ERROR, NULL);
}

int chan_send_restore(struct chan *c, const struct chan_restore *r, ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

	enc_u32(&e, r->flags);
	return chan_enc_send(c, &e, CHAN_MSG_RESTORE, err);
}

int chan_send_result(struct chan *c, const struct chan_result *r, ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

	enc_u8(&e, r->status);
	enc_u32(&e, (uint32_t)r->pid);
	enc_u32(&e, (uint32_t)r->code);
	enc_str(&e, r->stage, sizeof(r->stage) - 1);
	enc_str(&e, r->msg, sizeof(r->msg) - 1);
	return chan_enc_send(c, &e, CHAN_MSG_RESULT, err);
}

int chan_send_ack(struct chan *c, uint8_t decision, ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

	enc_u8(&e, decision);
	return chan_enc_send(c, &e, CHAN_MSG_ACK, err);
}

int chan_send_resolve(struct chan *c, const uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

	enc_bytes(&e, session, CHAN_SESSION_SIZE);
	return chan_enc_send(c, &e, CHAN_MSG_RESOLVE, err);
}

int chan_session_new(uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err)
{
	if (gnutls_rnd(GNUTLS_RND_NONCE, session, CHAN_SESSION_SIZE) < 0)
		return err_set(err, CKPT_ESYS,
			       "migration channel: no random bytes for a session id");
	return 0;
}
