/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pump: CRIU's page stream between its socketpair and a TLS connection, on a thread of ours. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>

#include "pump.h"
#include "dl-gnutls.h"

/*
 * CRIU's page-server command (criu/page-xfer.c, struct page_server_iov):
 * u32 cmd, then three u64 (nr_pages, vaddr, dst_id), naturally aligned:
 * 32 bytes. The lazy-pages daemon sends only these (PS_IOV_GET, then one
 * PS_IOV_CLOSE); the low 16 bits of cmd are the command.
 */
#define PS_IOV_SIZE 32
#define PS_CMD_MASK 0xffffu
#define PS_IOV_CLOSE 0x1023u
#define PS_IOV_FORCE_CLOSE 0x1024u

#define FRAME_HDR 4
#define F_DATA 1
#define F_PING 2
#define F_END 3

#define LIN_BUF (256 * 1024)		       /* from CRIU, not yet framed */
#define OUT_BUF (4 * (PUMP_CHUNK + FRAME_HDR)) /* framed, not yet taken by TLS */
#define IN_BUF (2 * (PUMP_CHUNK + FRAME_HDR))  /* from TLS, not yet parsed */
#define DOWN_BUF (4 * PUMP_CHUNK)	       /* payload for CRIU, not yet written */
#define TLS_RECORD (16 * 1024)
/*
 * The TLS transport's own buffers: GnuTLS pushes each record and pulls each
 * record's header and body on their own (two syscalls a record, 16 KiB of
 * data); through these the socket sees a few large sends and receives instead.
 */
#define TX_BUF (512 * 1024)
#define RX_BUF (512 * 1024)

enum { CMD_NONE, CMD_COMMIT, CMD_ABORT };

struct pump {
	struct pump_cfg cfg;
	char what[160];
	gnutls_session_t tls;
	int sv[2];   /* [0] ours, [1] CRIU's */
	int wake[2]; /* main thread -> pump */
	pthread_t thread;
	bool started;
	atomic_int cmd;
	atomic_bool ended;
	/* the TLS transport's buffers (the thread's) */
	uint8_t *tx, *rx;
	size_t tx_len, tx_off, rx_len, rx_off;
	/* written by the thread, read after join */
	int result;
	ckpt_err err;
	_Atomic uint64_t bytes_in, bytes_out;
};

/* The thread's state. */
struct run {
	struct pump *p;
	uint8_t *lin, *out, *in, *down;
	size_t lin_len, out_len, in_len, down_len;
	bool out_again; /* gnutls_record_send said EAGAIN: call it again with the same data */
	size_t out_try; /* ... that many bytes */
	uint64_t local_written;
	uint64_t close_at; /* lazy, source: where the receiver's close ends in the stream to CRIU */
	uint64_t last_heard, last_sent;
	bool lo_eof;	/* CRIU closed its writing end */
	bool end_sent;	/* we told the peer (after everything before it) */
	bool peer_end;	/* the peer told us */
	bool peer_eof;	/* TLS's end (or EOF) read */
	bool lo_shut;	/* we passed that on to CRIU */
	bool held;	/* lazy, receiver: the daemon's close waits for the commit */
	bool close_out; /* lazy: a close went to the peer (receiver) or to CRIU (source) */
};

/* ---- the main thread's side ---- */

static void pump_release(const struct pump_cfg *cfg)
{
	if (cfg->tls)
		gnutls_deinit(cfg->tls);
	if (cfg->tcp >= 0)
		close(cfg->tcp);
}

int pump_new(const struct pump_cfg *cfg, struct pump **ret, ckpt_err *err)
{
	struct pump *p = calloc(1, sizeof(*p));

	if (!p) {
		pump_release(cfg);
		return err_set(err, CKPT_ENOMEM, "pages pump: out of memory");
	}
	p->cfg = *cfg;
	p->tls = cfg->tls;
	snprintf(p->what, sizeof(p->what), "%s", cfg->what ? cfg->what : "the peer");
	p->cfg.what = p->what;
	p->sv[0] = p->sv[1] = p->wake[0] = p->wake[1] = -1;
	p->err.version = CKPT_ERR_VERSION;
	atomic_init(&p->cmd, CMD_NONE);
	atomic_init(&p->ended, false);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sv) < 0 ||
	    pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    fcntl(p->sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(cfg->tcp, F_SETFL, fcntl(cfg->tcp, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;

		pump_free(p);
		return err_sys(err, CKPT_ESYS, e, "pages pump: socketpair");
	}
	/* pages come in bursts (up to 4 MiB per lazy request): room for them between us and CRIU */
	for (int i = 0; i < 2; i++) {
		int sz = 4 << 20;

		setsockopt(p->sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(p->sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	*ret = p;
	return 0;
}

int pump_criu_fd(const struct pump *p)
{
	return p->sv[1];
}

void pump_criu_fd_close(struct pump *p)
{
	if (p->sv[1] >= 0)
		close(p->sv[1]);
	p->sv[1] = -1;
}

uint64_t pump_bytes_in(const struct pump *p)
{
	return atomic_load(&((struct pump *)p)->bytes_in);
}

uint64_t pump_bytes_out(const struct pump *p)
{
	return atomic_load(&((struct pump *)p)->bytes_out);
}

static void poke(struct pump *p, int cmd)
{
	char c = (char)cmd;

	atomic_store(&p->cmd, cmd);
	if (write(p->wake[1], &c, 1) < 0) {
		/* the pipe is full: the pump has been woken already */
	}
}

void pump_commit(struct pump *p)
{
	if (p && atomic_load(&p->cmd) == CMD_NONE)
		poke(p, CMD_COMMIT);
}

void pump_abort(struct pump *p)
{
	if (p)
		poke(p, CMD_ABORT);
}

bool pump_ended(const struct pump *p, bool *ret_failed)
{
	bool e = atomic_load(&((struct pump *)p)->ended);

	if (e && ret_failed)
		*ret_failed = p->result < 0;
	return e;
}

/* ---- the thread ---- */

#define fail(x, code, ...) err_set(&(x)->p->err, code, __VA_ARGS__)

/* Send what tx holds, as far as the socket takes it: 0, or -1 with errno (not EAGAIN). */
static int flush_tx(struct pump *p)
{
	while (p->tx_off < p->tx_len) {
		ssize_t w = send(p->cfg.tcp, p->tx + p->tx_off, p->tx_len - p->tx_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0)
			return -1;
		p->tx_off += (size_t)w;
	}
	p->tx_off = p->tx_len = 0;
	return 0;
}

static bool tx_pending(const struct pump *p)
{
	return p->tx_off < p->tx_len;
}

/* GnuTLS's records go into tx; the socket gets them in large sends (flush_tx). */
static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
	struct pump *p = ptr;

	if (TX_BUF - p->tx_len < n) {
		if (flush_tx(p) < 0) {
			gnutls_transport_set_errno(p->tls, errno);
			return -1;
		}
		if (p->tx_off) { /* what the socket took goes: room at the end */
			memmove(p->tx, p->tx + p->tx_off, p->tx_len - p->tx_off);
			p->tx_len -= p->tx_off;
			p->tx_off = 0;
		}
		if (TX_BUF - p->tx_len < n) {
			gnutls_transport_set_errno(p->tls, EAGAIN);
			return -1;
		}
	}
	memcpy(p->tx + p->tx_len, data, n);
	p->tx_len += n;
	return (ssize_t)n;
}

/* GnuTLS's reads come out of rx, which one large receive fills. */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t n)
{
	struct pump *p = ptr;
	size_t k;

	if (p->rx_off == p->rx_len) {
		ssize_t r = recv(p->cfg.tcp, p->rx, RX_BUF, MSG_DONTWAIT);

		if (r <= 0) {
			if (r < 0)
				gnutls_transport_set_errno(p->tls, errno);
			return r;
		}
		p->rx_off = 0;
		p->rx_len = (size_t)r;
	}
	k = p->rx_len - p->rx_off < n ? p->rx_len - p->rx_off : n;
	memcpy(data, p->rx + p->rx_off, k);
	p->rx_off += k;
	return (ssize_t)k;
}

/* Bytes received and not yet given to GnuTLS, or held by GnuTLS: a poll would miss them. */
static bool rx_pending(const struct pump *p)
{
	return p->rx_off < p->rx_len || gnutls_record_check_pending(p->tls) > 0;
}

/* Why a TLS send or receive failed (en: errno right after it). */
static const char *io_why(const struct run *x, ssize_t rc, int en, char *buf, size_t n)
{
	bool io = rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR;
	char tmp[96];

	if (io && en == ETIMEDOUT)
		snprintf(buf, n,
			 "the connection timed out: nothing acknowledged for %.1f s (the channel "
			 "timeout): the peer host is gone or unreachable",
			 (double)x->p->cfg.timeout_ms / 1000.0);
	else if (io && en)
		snprintf(buf, n, "%s", errno_text(en, tmp, sizeof(tmp)));
	else if (rc == GNUTLS_E_DECRYPTION_FAILED || rc == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
		 rc == GNUTLS_E_UNEXPECTED_PACKET || rc == GNUTLS_E_RECORD_OVERFLOW)
		snprintf(buf, n, "%s: the data was altered in transit", gnutls_strerror((int)rc));
	else if (rc == GNUTLS_E_PREMATURE_TERMINATION)
		snprintf(buf, n,
			 "the connection was closed without TLS's end (cut in transit, or "
			 "the peer died)");
	else
		snprintf(buf, n, "%s", gnutls_strerror((int)rc));
	return buf;
}

/* Append a frame to out (room checked by the caller). */
static void frame_put(struct run *x, uint8_t type, const uint8_t *data, size_t len)
{
	uint8_t *h = x->out + x->out_len;

	h[0] = type;
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	if (len)
		memcpy(h + FRAME_HDR, data, len);
	x->out_len += FRAME_HDR + len;
	x->last_sent = now_us();
}

static size_t out_room(const struct run *x)
{
	return OUT_BUF - x->out_len;
}

/* How much of lin may go out now: whole commands, a daemon's close held until the commit. */
static size_t sendable(struct run *x)
{
	size_t n = x->lin_len, off = 0;

	if (x->p->cfg.mode != PUMP_LAZY_DEST)
		return n;
	while (!x->held && n - off >= PS_IOV_SIZE) {
		uint32_t cmd;

		memcpy(&cmd, x->lin + off, sizeof(cmd));
		cmd &= PS_CMD_MASK;
		if (cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE) {
			if (atomic_load(&x->p->cmd) != CMD_COMMIT) {
				x->held = true;
				break;
			}
			x->close_out = true;
		}
		off += PS_IOV_SIZE;
	}
	return off;
}

/* CRIU's bytes into data frames; its end into an end frame once everything before it went. */
static void frame_local(struct run *x)
{
	size_t n = sendable(x), off = 0;

	while (n - off && out_room(x) > FRAME_HDR) {
		size_t k = n - off;

		if (k > PUMP_CHUNK)
			k = PUMP_CHUNK;
		if (k > out_room(x) - FRAME_HDR)
			k = out_room(x) - FRAME_HDR;
		if (x->p->cfg.mode == PUMP_LAZY_DEST)
			k -= k % PS_IOV_SIZE;
		if (!k)
			break;
		frame_put(x, F_DATA, x->lin + off, k);
		off += k;
		atomic_fetch_add(&x->p->bytes_out, (uint64_t)k);
	}
	memmove(x->lin, x->lin + off, x->lin_len - off);
	x->lin_len -= off;
	if (x->lo_eof && !x->lin_len && !x->end_sent && out_room(x) >= FRAME_HDR) {
		frame_put(x, F_END, NULL, 0);
		x->end_sent = true;
	}
}

/* Records of out into TLS while the transport takes them, then tx to the socket. */
static int push_out(struct run *x)
{
	struct pump *p = x->p;
	char why[240];
	size_t done = 0;
	ssize_t n;
	int en;

	while (x->out_len - done) {
		if (!x->out_again)
			x->out_try = x->out_len - done < TLS_RECORD ? x->out_len - done :
								      TLS_RECORD;
		errno = 0;
		n = gnutls_record_send(p->tls, x->out_again ? NULL : x->out + done,
				       x->out_again ? 0 : x->out_try);
		en = errno;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			x->out_again = true;
			break;
		}
		x->out_again = false;
		if (n < 0)
			return fail(x, CKPT_ESYS, "pages: sending to %s failed: %s", p->what,
				    io_why(x, n, en, why, sizeof(why)));
		done += (size_t)n;
	}
	memmove(x->out, x->out + done, x->out_len - done);
	x->out_len -= done;
	if (tx_pending(p) && flush_tx(p) < 0) {
		en = errno;
		return fail(x, CKPT_ESYS, "pages: sending to %s failed: %s", p->what,
			    io_why(x, GNUTLS_E_PUSH_ERROR, en, why, sizeof(why)));
	}
	return 0;
}

/*
 * Lazy, source: the receiver's pump sends the daemon's commands whole, one
 * frame holding whole commands: note where a close ends in the stream to
 * CRIU (it counts once written there).
 */
static void note_close(struct run *x, const uint8_t *data, size_t len)
{
	for (size_t off = 0; off + PS_IOV_SIZE <= len; off += PS_IOV_SIZE) {
		uint32_t cmd;

		memcpy(&cmd, data + off, sizeof(cmd));
		cmd &= PS_CMD_MASK;
		if ((cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE) && !x->close_at)
			x->close_at = x->local_written + x->down_len + off + PS_IOV_SIZE;
	}
}

/* Frames out of in: data into down (when it fits), pings noted, the end noted. */
static int parse_in(struct run *x)
{
	size_t off = 0;

	while (x->in_len - off >= FRAME_HDR) {
		const uint8_t *h = x->in + off;
		size_t len = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];

		if (h[0] < F_DATA || h[0] > F_END || len > PUMP_CHUNK || (h[0] != F_DATA && len))
			return fail(
				x, CKPT_EPROTO,
				"pages: %s sent a frame of type %u and %zu bytes (expected data, "
				"ping or end)",
				x->p->what, h[0], len);
		if (x->in_len - off < FRAME_HDR + len)
			break;
		if (h[0] == F_DATA) {
			if (x->peer_end)
				return fail(x, CKPT_EPROTO, "pages: %s sent data after its end",
					    x->p->what);
			if (DOWN_BUF - x->down_len < len)
				break;
			if (x->p->cfg.mode == PUMP_LAZY_SOURCE)
				note_close(x, h + FRAME_HDR, len);
			memcpy(x->down + x->down_len, h + FRAME_HDR, len);
			x->down_len += len;
			atomic_fetch_add(&x->p->bytes_in, (uint64_t)len);
		} else if (h[0] == F_END) {
			x->peer_end = true;
		}
		off += FRAME_HDR + len;
	}
	memmove(x->in, x->in + off, x->in_len - off);
	x->in_len -= off;
	return 0;
}

static int read_peer(struct run *x)
{
	while (x->in_len < IN_BUF) {
		char why[240];
		ssize_t got;
		int en;

		errno = 0;
		got = gnutls_record_recv(x->p->tls, x->in + x->in_len, IN_BUF - x->in_len);
		en = errno;
		if (got > 0) {
			x->in_len += (size_t)got;
			x->last_heard = now_us();
			continue;
		}
		if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
			break;
		if (got == 0) {
			x->peer_eof = true;
			break;
		}
		return fail(x, CKPT_ESYS, "pages: receiving from %s failed: %s", x->p->what,
			    io_why(x, got, en, why, sizeof(why)));
	}
	return parse_in(x);
}

static void read_local(struct run *x)
{
	ssize_t got = read(x->p->sv[0], x->lin + x->lin_len, LIN_BUF - x->lin_len);

	if (got > 0)
		x->lin_len += (size_t)got;
	else if (got == 0 || (errno != EAGAIN && errno != EINTR))
		x->lo_eof = true;
}

static int write_local(struct run *x)
{
	ssize_t w = send(x->p->sv[0], x->down, x->down_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w > 0) {
		memmove(x->down, x->down + w, x->down_len - (size_t)w);
		x->down_len -= (size_t)w;
		x->local_written += (uint64_t)w;
		if (x->close_at && x->local_written >= x->close_at)
			x->close_out = true;
		return 0;
	}
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		if (x->p->cfg.mode == PUMP_LAZY_DEST && x->close_out) {
			x->down_len = 0; /* the daemon took its answer and went: its end follows */
			return 0;
		}
		return fail(x, CKPT_ECRIU_DIED, "pages: criu closed its side of the stream to %s",
			    x->p->what);
	}
	return 0;
}

/* Where the pump stands before each wait: 1 go on, 0 the end, or a failure. */
static int state(struct run *x)
{
	struct pump *p = x->p;
	int cmd = atomic_load(&p->cmd);
	uint64_t now = now_us();

	if (cmd == CMD_ABORT)
		return fail(x, CKPT_ECALLBACK, "pages: the stream with %s was aborted", p->what);
	if (cmd == CMD_COMMIT && x->held)
		x->held = false;
	if (x->in_len >= IN_BUF)
		x->last_heard = now; /* not reading: our side's pace, not the peer's silence */
	if (x->peer_eof && !x->peer_end) {
		size_t len = x->in_len >= FRAME_HDR ?
				     ((size_t)x->in[1] << 16 | (size_t)x->in[2] << 8 | x->in[3]) :
				     0;

		if (x->in_len < FRAME_HDR || x->in_len < FRAME_HDR + len)
			return fail(x, CKPT_EPROTO,
				    "pages: %s ended the connection before the end of the stream",
				    p->what);
	}
	if (x->peer_end && !x->down_len && !x->lo_shut) {
		if (p->cfg.mode == PUMP_LAZY_SOURCE && !x->close_out)
			return fail(x, CKPT_EPROTO,
				    "pages: %s ended the lazy page stream without its close",
				    p->what);
		if (p->cfg.mode == PUMP_LAZY_DEST && !x->close_out)
			return fail(x, CKPT_ECRIU_DIED,
				    "pages: %s's lazy page server ended the stream before the end",
				    p->what);
		shutdown(p->sv[0], SHUT_WR);
		x->lo_shut = true;
	}
	if (x->lo_eof && p->cfg.mode == PUMP_LAZY_DEST && !x->close_out && !x->held)
		return fail(x, CKPT_ECRIU_DIED,
			    "pages: criu lazy-pages closed its connection to %s before the end",
			    p->what);
	if (x->end_sent && x->lo_shut && !x->out_len && !x->out_again && !tx_pending(p))
		return 0;
	if (now - x->last_heard > (uint64_t)p->cfg.timeout_ms * 1000)
		return fail(x, CKPT_ESYS,
			    "pages: nothing heard from %s for %.1f s (the channel timeout): the "
			    "connection stalled, or the peer host is gone",
			    p->what, (double)p->cfg.timeout_ms / 1000.0);
	return 1;
}

/* A ping when nothing went out for a quarter of the timeout. */
static void maybe_ping(struct run *x, uint64_t now)
{
	uint64_t every = (uint64_t)x->p->cfg.timeout_ms * 1000 / 4;

	if (now - x->last_sent >= every && out_room(x) >= FRAME_HDR)
		frame_put(x, F_PING, NULL, 0);
}

static int poll_ms(const struct run *x, uint64_t now)
{
	uint64_t every = (uint64_t)x->p->cfg.timeout_ms * 1000 / 4;
	uint64_t next = x->last_sent + every,
		 dead = x->last_heard + (uint64_t)x->p->cfg.timeout_ms * 1000;
	uint64_t t = next < dead ? next : dead;

	return t <= now ? 1 : (int)((t - now + 999) / 1000);
}

static int loop(struct run *x)
{
	struct pump *p = x->p;

	for (;;) {
		struct pollfd pf[3];
		bool pending;
		uint64_t now;
		int n, e;

		e = state(x);
		if (e <= 0)
			return e;
		now = now_us();
		maybe_ping(x, now);
		frame_local(x);
		/*
		 * Whole frames already read go on to CRIU before the wait: a write
		 * that emptied down, with in full, asks poll for nothing that would
		 * wake us (neither POLLOUT to CRIU nor POLLIN from the peer).
		 */
		if (x->in_len && (e = parse_in(x)) < 0)
			return e;
		pending = !x->peer_eof && x->in_len < IN_BUF && rx_pending(p);
		pf[0] = (struct pollfd){
			.fd = p->sv[0],
			.events = (short)((!x->lo_eof && x->lin_len < LIN_BUF ? POLLIN : 0) |
					  (x->down_len ? POLLOUT : 0))
		};
		pf[1] = (struct pollfd){
			.fd = p->cfg.tcp,
			.events =
				(short)((!x->peer_eof && x->in_len < IN_BUF ? POLLIN : 0) |
					(x->out_len || x->out_again || tx_pending(p) ? POLLOUT : 0))
		};
		pf[2] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
		for (int i = 0; i < 2; i++)
			if (!pf[i].events)
				pf[i].fd = -1; /* POLLHUP stays: it would wake us for nothing */
		n = poll(pf, 3, pending ? 0 : poll_ms(x, now));
		if (n < 0 && errno != EINTR) {
			char why[96];

			return fail(x, CKPT_ESYS, "pages: poll: %s",
				    errno_text(errno, why, sizeof(why)));
		}
		if (n < 0)
			continue;
		if (pf[2].revents) {
			char buf[16];

			while (read(p->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_local(x);
		frame_local(x);
		if ((e = push_out(x)) < 0)
			return e;
		if ((pending || (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) &&
		    (e = read_peer(x)) < 0)
			return e;
		if (x->in_len && (e = parse_in(x)) < 0)
			return e;
		if (x->down_len && (e = write_local(x)) < 0)
			return e;
	}
}

/* Reset the connection: no TLS end, so the other pump fails at once. */
static void reset_tcp(struct pump *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (p->cfg.tcp < 0)
		return;
	setsockopt(p->cfg.tcp, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->cfg.tcp);
	p->cfg.tcp = -1;
}

/* The clean end: our TLS end and FIN, then the peer's FIN (a short wait) before we close. */
static void close_tcp(struct pump *p)
{
	uint64_t until = now_us() + 2 * 1000 * 1000;
	char buf[4096];
	int rc;

	do
		rc = gnutls_bye(p->tls, GNUTLS_SHUT_WR);
	while ((rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) && now_us() < until);
	while (tx_pending(p) && flush_tx(p) == 0 && tx_pending(p)) {
		struct pollfd pf = { .fd = p->cfg.tcp, .events = POLLOUT };

		if (poll(&pf, 1, poll_ms_until(until)) <= 0)
			break;
	}
	shutdown(p->cfg.tcp, SHUT_WR);
	for (;;) {
		struct pollfd pf = { .fd = p->cfg.tcp, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, poll_ms_until(until)) <= 0)
			break;
		n = read(p->cfg.tcp, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(p->cfg.tcp);
	p->cfg.tcp = -1;
}

/*
 * The local side after a failure. Lazy, source: CRIU must not take the end
 * for a clean close. Its writes fail once we stop reading (SHUT_RD), and a
 * stream that ends on a command boundary gets one more command, unknown to
 * CRIU, so that its read fails too. If the receiver's close already went to
 * CRIU, the session is complete: let CRIU answer it (the receiver's copy has
 * every page) before closing.
 */
static void end_local_failed(struct run *x)
{
	struct pump *p = x->p;

	if (p->sv[0] < 0)
		return;
	if (p->cfg.mode == PUMP_LAZY_SOURCE && x->close_out) {
		uint64_t until = now_us() + 2 * 1000 * 1000;
		char buf[4096];

		for (;;) {
			struct pollfd pf = { .fd = p->sv[0], .events = POLLIN };
			ssize_t n;

			if (poll(&pf, 1, poll_ms_until(until)) <= 0)
				break;
			n = read(p->sv[0], buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	} else if (p->cfg.mode == PUMP_LAZY_SOURCE) {
		uint8_t junk[PS_IOV_SIZE] = { 0 }; /* command 0: "Unknown command" */

		shutdown(p->sv[0], SHUT_RD);
		if (x->local_written % PS_IOV_SIZE == 0 &&
		    send(p->sv[0], junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* full: CRIU has commands to serve, and each one's answer now fails */
		}
	} else {
		shutdown(p->sv[0], SHUT_RDWR);
	}
	close(p->sv[0]);
	p->sv[0] = -1;
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	struct run x = { .p = p };
	int rc;

	x.last_heard = x.last_sent = now_us();
	x.lin = malloc(LIN_BUF);
	x.out = malloc(OUT_BUF);
	x.in = malloc(IN_BUF);
	x.down = malloc(DOWN_BUF);
	p->tx = malloc(TX_BUF);
	p->rx = malloc(RX_BUF);
	if (!x.lin || !x.out || !x.in || !x.down || !p->tx || !p->rx)
		rc = err_set(&p->err, CKPT_ENOMEM, "pages pump: out of memory");
	else
		rc = loop(&x);
	if (rc < 0) {
		reset_tcp(p);
		end_local_failed(&x);
	} else {
		close_tcp(p);
		close(p->sv[0]);
		p->sv[0] = -1;
	}
	free(x.lin);
	free(x.out);
	free(x.in);
	free(x.down);
	free(p->tx);
	free(p->rx);
	p->tx = p->rx = NULL;
	p->tx_len = p->tx_off = p->rx_len = p->rx_off = 0;
	p->result = rc;
	atomic_store(&p->ended, true);
	return NULL;
}

int pump_start(struct pump *p, ckpt_err *err)
{
	int e;

	gnutls_transport_set_ptr(p->tls, p);
	gnutls_transport_set_push_function(p->tls, tls_push);
	gnutls_transport_set_pull_function(p->tls, tls_pull);
	e = pthread_create(&p->thread, NULL, pump_main, p);
	if (e)
		return err_sys(err, CKPT_ESYS, e, "pages pump: cannot start its thread");
	p->started = true;
	return 0;
}

int pump_join(struct pump *p, ckpt_err *err)
{
	if (!p->started)
		return err_set(err, CKPT_EINVAL, "pages pump: not started");
	pthread_join(p->thread, NULL);
	p->started = false;
	if (p->result < 0)
		err_copy(err, &p->err);
	return p->result;
}

void pump_free(struct pump *p)
{
	if (!p)
		return;
	if (p->started) {
		pump_abort(p);
		pthread_join(p->thread, NULL);
	}
	reset_tcp(p);
	if (p->tls)
		gnutls_deinit(p->tls);
	for (int i = 0; i < 2; i++) {
		if (p->sv[i] >= 0)
			close(p->sv[i]);
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	}
	free(p);
}
