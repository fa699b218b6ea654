/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The receiver's lazy-pages relay: the daemon's page requests to the source over TLS, its final close held. */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "migrate.h"
#include "pagerelay.h"

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
#define RELAY_BUF (256 * 1024)

enum { CMD_NONE, CMD_COMMIT, CMD_ABORT };

struct page_relay {
	int sv[2];   /* [0] ours, [1] the daemon's */
	int wake[2]; /* main thread -> relay */
	int tcp;
	pthread_t thread;
	bool started;
	atomic_int cmd;
	struct relay_cfg cfg;
	/* written by the thread, read after join */
	int result;
	ckpt_err err;
	_Atomic uint64_t bytes_in;
};

int page_relay_new(struct page_relay **ret, ckpt_err *err)
{
	struct page_relay *r = calloc(1, sizeof(*r));

	if (!r)
		return err_set(err, CKPT_ENOMEM, "lazy pages relay: out of memory");
	r->sv[0] = r->sv[1] = r->wake[0] = r->wake[1] = r->tcp = -1;
	r->err.version = CKPT_ERR_VERSION;
	atomic_init(&r->cmd, CMD_NONE);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->sv) < 0 ||
	    pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = errno;

		page_relay_free(r);
		return err_sys(err, CKPT_ESYS, e, "lazy pages relay: socketpair");
	}
	/* pages come in bursts of up to 4 MiB per request: room for them between us and the daemon */
	for (int i = 0; i < 2; i++) {
		int sz = 4 << 20;

		setsockopt(r->sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(r->sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	*ret = r;
	return 0;
}

int page_relay_daemon_fd(const struct page_relay *r)
{
	return r->sv[1];
}

void page_relay_daemon_fd_close(struct page_relay *r)
{
	if (r->sv[1] >= 0)
		close(r->sv[1]);
	r->sv[1] = -1;
}

uint64_t page_relay_bytes_in(const struct page_relay *r)
{
	return atomic_load(&((struct page_relay *)r)->bytes_in);
}

static void poke(struct page_relay *r, int cmd)
{
	char c = (char)cmd;

	atomic_store(&r->cmd, cmd);
	if (write(r->wake[1], &c, 1) < 0) {
		/* the pipe is full: the relay has been woken already */
	}
}

void page_relay_commit(struct page_relay *r)
{
	if (r && atomic_load(&r->cmd) == CMD_NONE)
		poke(r, CMD_COMMIT);
}

void page_relay_abort(struct page_relay *r)
{
	if (r)
		poke(r, CMD_ABORT);
}

/* ---- the thread ---- */

struct relay_run {
	struct page_relay *r;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	uint64_t deadline;
	uint8_t *up; /* from the daemon: whole commands are forwarded */
	size_t up_len;
	uint8_t *out; /* to the source, not yet taken by gnutls */
	size_t out_len;
	bool out_again; /* gnutls_record_send said EAGAIN: call it again with the same data */
	uint8_t *down;	/* from the source, not yet written to the daemon */
	size_t down_len;
	bool held;	 /* the daemon's close is held */
	bool close_sent; /* ... or passed on */
	bool daemon_eof, source_eof;
};

/* Record the failure (fmt names the source as %s:%u, then one more %s) and return its code. */
#define fail(x, code, fmt, detail) \
	err_set(&(x)->r->err, code, fmt, (x)->r->cfg.host, (unsigned)(x)->r->cfg.port, detail)

/* Wait for fd (events) or a wake-up, until the setup deadline. */
static int wait_setup(struct relay_run *x, int fd, short events)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
			       { .fd = x->r->wake[0], .events = POLLIN } };
	int n;

	do
		n = poll(p, 2, poll_ms_until(x->deadline));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return fail(x, CKPT_ETIMEDOUT,
			    "lazy pages: the source's page server %s:%u did not answer in time%s",
			    "");
	if (p[1].revents && atomic_load(&x->r->cmd) == CMD_ABORT)
		return fail(x, CKPT_ECALLBACK, "lazy pages: the relay to %s:%u was aborted%s", "");
	return 0;
}

static int relay_connect(struct relay_run *x)
{
	struct page_relay *r = x->r;
	char *why = NULL;
	int e, rc;

	/* mig_connect has its own deadline; an abort during it is seen right after */
	rc = mig_connect(r->cfg.host, r->cfg.port, r->cfg.timeout_ms, &r->tcp, &r->err);
	if (rc < 0)
		return rc;
	/* the daemon's requests are small and each waits for its answer: no Nagle delay on them */
	setsockopt(r->tcp, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (fcntl(r->tcp, F_SETFL, fcntl(r->tcp, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(r->sv[0], F_SETFL, fcntl(r->sv[0], F_GETFL) | O_NONBLOCK) < 0)
		return fail(x, CKPT_ESYS, "lazy pages: %s:%u: fcntl%s", "");
	if (gnutls_certificate_allocate_credentials(&x->cred) < 0)
		return fail(x, CKPT_ENOMEM, "lazy pages: %s:%u: TLS credentials%s", "");
	if (gnutls_certificate_set_x509_trust_file(x->cred, r->cfg.tls_cacert,
						   GNUTLS_X509_FMT_PEM) <= 0 ||
	    (r->cfg.tls_cacrl && gnutls_certificate_set_x509_crl_file(x->cred, r->cfg.tls_cacrl,
								      GNUTLS_X509_FMT_PEM) < 0) ||
	    gnutls_certificate_set_x509_key_file(x->cred, r->cfg.tls_cert, r->cfg.tls_key,
						 GNUTLS_X509_FMT_PEM) < 0)
		return fail(x, CKPT_EINVAL, "lazy pages: %s:%u: the TLS files cannot be loaded%s",
			    "");
	if (gnutls_init(&x->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		x->tls = NULL;
		return fail(x, CKPT_ENOMEM, "lazy pages: %s:%u: TLS session%s", "");
	}
	if (gnutls_set_default_priority(x->tls) < 0 ||
	    gnutls_credentials_set(x->tls, GNUTLS_CRD_CERTIFICATE, x->cred) < 0)
		return fail(x, CKPT_ENOMEM, "lazy pages: %s:%u: TLS session setup%s", "");
	gnutls_session_set_verify_cert(x->tls, r->cfg.no_cn_verify ? NULL : r->cfg.host, 0);
	gnutls_transport_set_int(x->tls, r->tcp);
	for (;;) {
		rc = gnutls_handshake(x->tls);
		if (rc == GNUTLS_E_SUCCESS)
			return 0;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(rc))
			break;
		e = wait_setup(x, r->tcp, gnutls_record_get_direction(x->tls) ? POLLOUT : POLLIN);
		if (e < 0)
			return e;
	}
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { 0 };

		if (gnutls_certificate_verification_status_print(
			    gnutls_session_get_verify_cert_status(x->tls), GNUTLS_CRT_X509, &out,
			    0) == 0)
			why = (char *)out.data;
		fail(x, CKPT_EPERM,
		     "lazy pages: the source's page server %s:%u: its TLS certificate is refused: %s",
		     why ? why : "not trusted");
		gnutls_free(out.data);
		return CKPT_EPERM;
	}
	return fail(x, CKPT_EPERM, "lazy pages: TLS with the source's page server %s:%u failed: %s",
		    gnutls_strerror(rc));
}

/* Move whole commands from up to out; a close is held until the restore is known good. */
static void take_commands(struct relay_run *x)
{
	size_t off = 0;

	while (!x->held && x->up_len - off >= PS_IOV_SIZE &&
	       x->out_len + PS_IOV_SIZE <= RELAY_BUF) {
		uint32_t cmd;

		memcpy(&cmd, x->up + off, sizeof(cmd));
		cmd &= PS_CMD_MASK;
		if ((cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE) &&
		    atomic_load(&x->r->cmd) != CMD_COMMIT) {
			x->held = true;
			break;
		}
		memcpy(x->out + x->out_len, x->up + off, PS_IOV_SIZE);
		x->out_len += PS_IOV_SIZE;
		off += PS_IOV_SIZE;
		if (cmd == PS_IOV_CLOSE || cmd == PS_IOV_FORCE_CLOSE)
			x->close_sent = true;
	}
	memmove(x->up, x->up + off, x->up_len - off);
	x->up_len -= off;
}

/*
 * Why a TLS send or receive failed: en is errno right after it. ETIMEDOUT on
 * the socket is TCP_USER_TIMEOUT or keepalive (mig_tcp_tune): nothing was
 * acknowledged or answered for the channel timeout.
 */
static const char *io_why(const struct relay_run *x, ssize_t rc, int en, char *buf, size_t n)
{
	if ((rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR) && en == ETIMEDOUT)
		snprintf(
			buf, n,
			"the connection timed out: nothing acknowledged or answered for %.1f s (the "
			"channel timeout): the source host is gone or unreachable",
			(double)x->r->cfg.timeout_ms / 1000.0);
	else
		snprintf(buf, n, "%s", gnutls_strerror((int)rc));
	return buf;
}

/* One step of sending out to the source. <0: failed. */
static int push_out(struct relay_run *x)
{
	char why[200];
	ssize_t n;
	int en;

	if (!x->out_len)
		return 0;
	errno = 0;
	n = gnutls_record_send(x->tls, x->out_again ? NULL : x->out, x->out_again ? 0 : x->out_len);
	en = errno;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		x->out_again = true;
		return 0;
	}
	x->out_again = false;
	if (n < 0)
		return fail(x, CKPT_ESYS,
			    "lazy pages: sending to the source's page server %s:%u failed: %s",
			    io_why(x, n, en, why, sizeof(why)));
	memmove(x->out, x->out + n, x->out_len - (size_t)n);
	x->out_len -= (size_t)n;
	return 0;
}

/* Reset the source's connection: no TLS close, so its CRIU takes the session as failed. */
static void reset_source(struct page_relay *r)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (r->tcp < 0)
		return;
	setsockopt(r->tcp, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(r->tcp);
	r->tcp = -1;
}

/*
 * The clean end, as the source's CRIU expects it (page_server_serve, then
 * tls_terminate_session and a read for EOF): our TLS close, our FIN, then
 * its FIN before we close, so that it never sees a reset.
 */
static void close_source(struct relay_run *x)
{
	struct page_relay *r = x->r;
	uint64_t until = now_us() + 5 * 1000 * 1000;
	char buf[4096];

	if (x->tls) {
		int rc;

		do
			rc = gnutls_bye(x->tls, GNUTLS_SHUT_WR);
		while ((rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) && now_us() < until);
	}
	shutdown(r->tcp, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = r->tcp, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, poll_ms_until(until)) <= 0)
			break;
		n = read(r->tcp, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(r->tcp);
	r->tcp = -1;
}

/* Where the relay stands before each wait: 1 go on, 0 the end, or a failure. */
static int relay_state(struct relay_run *x)
{
	int cmd = atomic_load(&x->r->cmd);

	if (cmd == CMD_ABORT)
		return fail(x, CKPT_ECALLBACK, "lazy pages: the relay to %s:%u was aborted%s", "");
	if (cmd == CMD_COMMIT && x->held) {
		x->held = false;
		take_commands(x);
	}
	if (x->source_eof && !x->down_len) {
		/* the source answered the close (or went away): the end */
		if (!x->close_sent)
			return fail(
				x, CKPT_ECRIU_DIED,
				"lazy pages: the source's page server %s:%u closed the connection%s",
				"");
		return 0;
	}
	if (x->daemon_eof && !x->close_sent && !x->held)
		return fail(
			x, CKPT_ECRIU_DIED,
			"lazy pages: criu lazy-pages closed its connection to %s:%u before the end%s",
			"");
	return 1;
}

/* Daemon -> source: what the daemon wrote, into the up buffer. */
static void read_daemon(struct relay_run *x)
{
	ssize_t got = read(x->r->sv[0], x->up + x->up_len, RELAY_BUF - x->up_len);

	if (got > 0)
		x->up_len += (size_t)got;
	else if (got == 0 || (errno != EAGAIN && errno != EINTR))
		x->daemon_eof = true;
}

/* Source -> daemon: as many records as have come, up to the buffer. */
static int read_source(struct relay_run *x)
{
	while (!x->source_eof && x->down_len < RELAY_BUF - 16384) {
		char why[200];
		ssize_t got;
		int en;

		errno = 0;
		got = gnutls_record_recv(x->tls, x->down + x->down_len, RELAY_BUF - x->down_len);
		en = errno;

		if (got > 0) {
			x->down_len += (size_t)got;
			atomic_fetch_add(&x->r->bytes_in, (uint64_t)got);
			continue;
		}
		if (got == 0) {
			x->source_eof = true;
		} else if (got != GNUTLS_E_AGAIN && got != GNUTLS_E_INTERRUPTED) {
			if (!x->close_sent)
				return fail(
					x, CKPT_ESYS,
					"lazy pages: receiving from the source's page server %s:%u failed: "
					"%s",
					io_why(x, got, en, why, sizeof(why)));
			x->source_eof = true; /* the answer came; how it closed does not matter */
		}
		break;
	}
	return 0;
}

/* The down buffer to the daemon, in one write; a daemon gone drops it. */
static void write_daemon(struct relay_run *x)
{
	ssize_t w = send(x->r->sv[0], x->down, x->down_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w > 0) {
		memmove(x->down, x->down + w, x->down_len - (size_t)w);
		x->down_len -= (size_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		x->daemon_eof = true;
		x->down_len = 0;
	}
}

static int relay_loop(struct relay_run *x)
{
	struct page_relay *r = x->r;

	for (;;) {
		struct pollfd p[3];
		bool pending = false;
		int n, e;

		e = relay_state(x);
		if (e <= 0)
			return e;
		p[0] = (struct pollfd){
			.fd = r->sv[0],
			.events = (short)((!x->daemon_eof && x->up_len < RELAY_BUF ? POLLIN : 0) |
					  (x->down_len ? POLLOUT : 0))
		};
		p[1] = (struct pollfd){
			.fd = r->tcp,
			.events = (short)((!x->source_eof && x->down_len < RELAY_BUF - 16384 ?
						   POLLIN :
						   0) |
					  (x->out_len ? POLLOUT : 0))
		};
		p[2] = (struct pollfd){ .fd = r->wake[0], .events = POLLIN };
		if (!x->source_eof && x->down_len < RELAY_BUF - 16384 &&
		    gnutls_record_check_pending(x->tls) > 0)
			pending = true;
		n = poll(p, 3, pending ? 0 : -1);
		if (n < 0 && errno != EINTR)
			return fail(x, CKPT_ESYS, "lazy pages: %s:%u: poll%s", "");
		if (n < 0)
			continue;
		if (p[2].revents) {
			char buf[16];

			while (read(r->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_daemon(x);
		take_commands(x);
		if (((p[1].revents & POLLOUT) || x->out_len) && (e = push_out(x)) < 0)
			return e;
		if ((pending || (p[1].revents & (POLLIN | POLLHUP | POLLERR))) &&
		    (e = read_source(x)) < 0)
			return e;
		if (x->down_len)
			write_daemon(x);
	}
}

static void *relay_main(void *arg)
{
	struct page_relay *r = arg;
	struct relay_run x = { .r = r };
	int rc;

	x.deadline = now_us() + (uint64_t)r->cfg.timeout_ms * 1000;
	x.up = malloc(RELAY_BUF);
	x.out = malloc(RELAY_BUF);
	x.down = malloc(RELAY_BUF);
	if (!x.up || !x.out || !x.down)
		rc = err_set(&r->err, CKPT_ENOMEM, "lazy pages relay: out of memory");
	else
		rc = relay_connect(&x);
	if (rc == 0)
		rc = relay_loop(&x);
	if (rc < 0 || !x.close_sent)
		reset_source(
			r); /* never a clean end unless the restore was committed and the daemon closed */
	else
		close_source(&x);
	/* the daemon sees its page server go away */
	if (r->sv[0] >= 0) {
		close(r->sv[0]);
		r->sv[0] = -1;
	}
	if (x.tls)
		gnutls_deinit(x.tls);
	if (x.cred)
		gnutls_certificate_free_credentials(x.cred);
	free(x.up);
	free(x.out);
	free(x.down);
	r->result = rc;
	return NULL;
}

int page_relay_start(struct page_relay *r, const struct relay_cfg *cfg, ckpt_err *err)
{
	int e;

	r->cfg = *cfg;
	e = pthread_create(&r->thread, NULL, relay_main, r);
	if (e)
		return err_sys(err, CKPT_ESYS, e, "lazy pages relay: cannot start its thread");
	r->started = true;
	return 0;
}

int page_relay_join(struct page_relay *r, ckpt_err *err)
{
	if (!r->started)
		return err_set(err, CKPT_EINVAL, "lazy pages relay: not started");
	pthread_join(r->thread, NULL);
	r->started = false;
	if (r->result < 0)
		err_copy(err, &r->err);
	return r->result;
}

void page_relay_free(struct page_relay *r)
{
	if (!r)
		return;
	if (r->started) {
		page_relay_abort(r);
		pthread_join(r->thread, NULL);
	}
	reset_source(r);
	for (int i = 0; i < 2; i++) {
		if (r->sv[i] >= 0)
			close(r->sv[i]);
		if (r->wake[i] >= 0)
			close(r->wake[i]);
	}
	free(r);
}
