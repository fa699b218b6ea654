/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of lib/channel.c, the migration control channel: token and
 * mutual-TLS authentication over socketpairs and loopback TCP, refusals
 * (wrong token, missing or foreign certificate, other protocol version,
 * oversized, malformed and tampered frames, file name tricks, truncated
 * streams, deadlines) and the image file transfer. TLS files are made at
 * test time by tests/helpers/gen-test-certs.sh (certtool).
 */
#include "error.h"
#include "channel.h"

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

#define TIMEOUT_MS 5000

static char dir[256]; /* everything this run makes */
static char tls_dir[300];
static char tok_a[300], tok_a2[300], tok_b[300], tok_open[300], tok_short[300], tok_nl[300];

static void path(char *out, size_t n, const char *base, const char *name)
{
	snprintf(out, n, "%s/%s", base, name);
}

static void write_file(const char *p, const char *content, size_t len, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Connections and the two sides                                      */
/* ------------------------------------------------------------------ */

static void sock_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* sv[0]: the connecting end, sv[1]: the accepted end, over 127.0.0.1. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(sv[0], (struct sockaddr *)&a, sizeof(a)), 0);
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv[1], 0);
	close(l);
}

struct side {
	int fd;
	enum chan_side side;
	struct chan_auth auth;
	unsigned timeout_ms;
	int (*then)(struct side *s); /* after a successful open, on the same thread */
	void *arg;
	struct chan *c;
	int r;
	ckpt_err err;
	char peer[256];
};

static void *side_run(void *p)
{
	struct side *s = p;

	s->err = (ckpt_err)CKPT_ERR_INIT;
	s->r = chan_open(s->fd, s->side, &s->auth, s->timeout_ms ? s->timeout_ms : TIMEOUT_MS,
			 &s->c, &s->err);
	if (s->r == 0) {
		snprintf(s->peer, sizeof(s->peer), "%s", chan_peer(s->c));
		if (s->then)
			s->r = s->then(s);
	}
	return NULL;
}

/* Run the accepting side on a thread and the connecting side here; both channels stay open. */
static void run_pair(struct side *src, struct side *dst)
{
	pthread_t t;

	src->side = CHAN_CONNECTING;
	dst->side = CHAN_ACCEPTING;
	ck_assert_int_eq(pthread_create(&t, NULL, side_run, dst), 0);
	side_run(src);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

static void free_pair(struct side *src, struct side *dst)
{
	chan_free(src->c);
	chan_free(dst->c);
	close(src->fd);
	close(dst->fd);
}

static struct chan_auth auth_token(const char *file)
{
	return (struct chan_auth){ .token_file = file };
}

static char ca[300], other_ca[300], rcv_cert[300], rcv_key[300], src_cert[300], src_key[300],
	rogue[300], rogue_key[300];

static struct chan_auth auth_tls_src(const char *peer_name)
{
	return (struct chan_auth){ .tls_cacert = ca,
				   .tls_cert = src_cert,
				   .tls_key = src_key,
				   .tls_peer_name = peer_name };
}
static struct chan_auth auth_tls_rcv(void)
{
	return (struct chan_auth){ .tls_cacert = ca, .tls_cert = rcv_cert, .tls_key = rcv_key };
}

/* ------------------------------------------------------------------ */
/* Handshakes that succeed                                            */
/* ------------------------------------------------------------------ */

static const uint8_t cpuinfo_blob[] = { 0x0a, 0x10, 0x08, 0x01, 0x10, 0x02, 0xff, 0x00, 0x7f };

static void hello_fill(struct chan_hello *h, uint8_t role)
{
	memset(h, 0, sizeof(*h));
	h->proto = CHAN_PROTO_VERSION;
	h->role = role;
	h->mode = role == CHAN_ROLE_SOURCE ? CHAN_MODE_LAZY : CHAN_MODE_NONE;
	for (int i = 0; i < CHAN_SESSION_SIZE; i++)
		h->session[i] = (uint8_t)(0xa0 + i);
	h->libckpt_version = ckpt_version_number();
	snprintf(h->libckpt_version_str, sizeof(h->libckpt_version_str), "%s", ckpt_version());
	h->criu_version = 40201;
	snprintf(h->criu_version_str, sizeof(h->criu_version_str), "4.2.1 (test)");
	h->page_port = 7001;
	if (role == CHAN_ROLE_SOURCE) {
		h->cpuinfo = cpuinfo_blob;
		h->cpuinfo_len = sizeof(cpuinfo_blob);
	} else {
		h->check_code = 0;
		snprintf(h->check_msg, sizeof(h->check_msg), "criu check: looks good");
	}
}

/* Source: HELLO out, HELLO back, then one RESULT arrives. */
static int source_talk(struct side *s)
{
	struct chan_hello h;
	struct chan_msg m;
	int r;

	hello_fill(&h, CHAN_ROLE_SOURCE);
	r = chan_send_hello(s->c, &h, &s->err);
	if (r == 0)
		r = chan_expect(s->c, CHAN_MSG_HELLO, &m, &s->err);
	if (r < 0)
		return r;
	if (m.u.hello.role != CHAN_ROLE_RECEIVER ||
	    strcmp(m.u.hello.check_msg, "criu check: looks good") ||
	    memcmp(m.u.hello.session, h.session, CHAN_SESSION_SIZE))
		return err_set(&s->err, CKPT_EPROTO, "receiver HELLO does not round-trip");
	r = chan_expect(s->c, CHAN_MSG_RESULT, &m, &s->err);
	if (r < 0)
		return r;
	if (m.u.result.status != CHAN_RESULT_RUNNING || m.u.result.pid != 4242)
		return err_set(&s->err, CKPT_EPROTO, "RESULT does not round-trip");
	return chan_send_ack(s->c, CHAN_ACK_COMMITTED, &s->err);
}

static int receiver_talk(struct side *s)
{
	struct chan_hello h;
	struct chan_msg m;
	struct chan_result res = { .status = CHAN_RESULT_RUNNING, .pid = 4242 };
	int r = chan_expect(s->c, CHAN_MSG_HELLO, &m, &s->err);

	if (r < 0)
		return r;
	if (m.u.hello.role != CHAN_ROLE_SOURCE || m.u.hello.mode != CHAN_MODE_LAZY ||
	    m.u.hello.criu_version != 40201 || strcmp(m.u.hello.criu_version_str, "4.2.1 (test)") ||
	    m.u.hello.cpuinfo_len != sizeof(cpuinfo_blob) ||
	    memcmp(m.u.hello.cpuinfo, cpuinfo_blob, sizeof(cpuinfo_blob)) ||
	    m.u.hello.page_port != 7001 || strcmp(m.u.hello.libckpt_version_str, ckpt_version()))
		return err_set(&s->err, CKPT_EPROTO, "source HELLO does not round-trip");
	hello_fill(&h, CHAN_ROLE_RECEIVER);
	memcpy(h.session, m.u.hello.session, CHAN_SESSION_SIZE);
	r = chan_send_hello(s->c, &h, &s->err);
	if (r == 0)
		r = chan_send_result(s->c, &res, &s->err);
	if (r == 0)
		r = chan_expect(s->c, CHAN_MSG_ACK, &m, &s->err);
	if (r == 0 && m.u.ack.decision != CHAN_ACK_COMMITTED)
		r = err_set(&s->err, CKPT_EPROTO, "ACK does not round-trip");
	return r;
}

static void talk(void (*pair)(int sv[2]), struct chan_auth src_auth, struct chan_auth dst_auth)
{
	struct side src = { .auth = src_auth, .then = source_talk },
		    dst = { .auth = dst_auth, .then = receiver_talk };
	int sv[2];

	pair(sv);
	src.fd = sv[0];
	dst.fd = sv[1];
	run_pair(&src, &dst);
	ck_assert_msg(src.r == 0, "source: %d %s", src.r, src.err.msg);
	ck_assert_msg(dst.r == 0, "receiver: %d %s", dst.r, dst.err.msg);
	if (pair == tcp_pair) {
		/* small frames and handshake round trips must not wait for delayed ACKs */
		int v = 0;
		socklen_t vl = sizeof(v);

		ck_assert_int_eq(getsockopt(src.fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
		ck_assert_int_eq(v, 1);
	}
	/* byte counters: what one side wrote, the other read */
	ck_assert_uint_gt(chan_wire_out(src.c), 100);
	ck_assert_uint_eq(chan_wire_out(src.c), chan_wire_in(dst.c));
	ck_assert_uint_eq(chan_wire_out(dst.c), chan_wire_in(src.c));
	if (src_auth.tls_cert) {
		ck_assert_msg(strstr(src.peer, "CN=receiver"), "source sees peer \"%s\"", src.peer);
		ck_assert_msg(strstr(dst.peer, "CN=source"), "receiver sees peer \"%s\"", dst.peer);
	} else {
		ck_assert_str_eq(src.peer, "token holder");
	}
	free_pair(&src, &dst);
}

START_TEST(test_token_socketpair)
{
	talk(sock_pair, auth_token(tok_a), auth_token(tok_a2));
}
END_TEST

START_TEST(test_token_tcp)
{
	talk(tcp_pair, auth_token(tok_a), auth_token(tok_a2));
}
END_TEST

/* One token file with a trailing newline, one without: the same secret. */
START_TEST(test_token_trailing_newline)
{
	talk(tcp_pair, auth_token(tok_nl), auth_token(tok_a));
}
END_TEST

START_TEST(test_tls_tcp)
{
	talk(tcp_pair, auth_tls_src("127.0.0.1"), auth_tls_rcv());
}
END_TEST

START_TEST(test_tls_tcp_by_name)
{
	talk(tcp_pair, auth_tls_src("localhost"), auth_tls_rcv());
}
END_TEST

START_TEST(test_tls_socketpair)
{
	talk(sock_pair, auth_tls_src(NULL), auth_tls_rcv());
}
END_TEST

START_TEST(test_tls_and_token)
{
	struct chan_auth s = auth_tls_src("127.0.0.1"), d = auth_tls_rcv();

	s.token_file = tok_a;
	d.token_file = tok_a2;
	talk(tcp_pair, s, d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Refusals at authentication                                         */
/* ------------------------------------------------------------------ */

/* Both sides of a pair that must not authenticate; nothing may be exchanged. */
static void refused(void (*pair)(int sv[2]), struct side *src, struct side *dst)
{
	int sv[2];

	pair(sv);
	src->fd = sv[0];
	dst->fd = sv[1];
	src->then = dst->then = NULL;
	run_pair(src, dst);
	ck_assert_ptr_null(dst->c);
	close(sv[0]);
	close(sv[1]);
	chan_free(src->c);
}

START_TEST(test_wrong_token)
{
	struct side src = { .auth = auth_token(tok_a) }, dst = { .auth = auth_token(tok_b) };

	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "failed to prove it holds our token");
	ck_assert_str_eq(dst.err.step, "auth");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "refused our token proof");
	ck_assert_ptr_null(src.c);
}
END_TEST

START_TEST(test_token_file_checks)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth a;
	struct chan *c = NULL;
	char missing[300];
	int sv[2];

	sock_pair(sv);
	a = auth_token(tok_open);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, tok_open);
	ck_assert_msg_has(err, "owner-only");
	a = auth_token(tok_short);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "expected 16 to 4096");
	path(missing, sizeof(missing), dir, "no-such-token");
	a = auth_token(missing);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "no-such-token");
	a = auth_token(dir);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "not a regular file");
	ck_assert_ptr_null(c);
	/* nothing was sent: a bad setup fails before the preamble */
	{
		char b;

		ck_assert_int_eq(recv(sv[1], &b, 1, MSG_DONTWAIT), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_no_auth)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth none = { 0 }, half = { .tls_cacert = ca, .tls_cert = src_cert };
	struct chan *c = NULL;
	int sv[2];

	sock_pair(sv);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &none, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "refuses to run unauthenticated");
	ck_assert_msg_has(err, "--token-file");
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, NULL, 100, &c, &err), CKPT_EINVAL);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &half, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "--tls-key is missing");
	ck_assert_ptr_null(c);
	close(sv[0]);
	close(sv[1]);
	/* not a stream socket */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	none.token_file = tok_a;
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &none, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "not a stream socket");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_tls_bad_files)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth a = auth_tls_src(NULL);
	struct chan *c = NULL;
	int sv[2];

	sock_pair(sv);
	a.tls_key = rogue_key; /* another certificate's key */
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, src_cert);
	ck_assert_msg_has(err, rogue_key);
	a = auth_tls_src(NULL);
	a.tls_cacert = tok_a; /* not PEM */
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, tok_a);
	ck_assert_ptr_null(c);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * A client that speaks the preamble and TLS but has no certificate (only the
 * CA, to check the server): the receiver must refuse it.
 */
struct raw_tls {
	int fd;
	int hs;	  /* the client's handshake result */
	int recv; /* its first record read: must fail */
};

static void *raw_tls_client(void *p)
{
	struct raw_tls *t = p;
	uint8_t pre[CHAN_PREAMBLE_SIZE] = { 'c',
					    'k',
					    'p',
					    't',
					    '-',
					    'm',
					    'i',
					    'g',
					    0,
					    CHAN_PROTO_VERSION,
					    CHAN_AUTH_TLS,
					    CHAN_CONNECTING };
	uint8_t peer[CHAN_PREAMBLE_SIZE], b;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(t->fd, pre, sizeof(pre)) != sizeof(pre) ||
	    recv(t->fd, peer, sizeof(peer), MSG_WAITALL) != sizeof(peer))
		return NULL;
	gnutls_certificate_allocate_credentials(&cred);
	gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, t->fd);
	do
		t->hs = gnutls_handshake(s);
	while (t->hs < 0 && !gnutls_error_is_fatal(t->hs));
	t->recv = t->hs < 0 ? t->hs : (int)gnutls_record_recv(s, &b, 1);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return NULL;
}

START_TEST(test_tls_no_client_cert)
{
	struct side dst = { .auth = auth_tls_rcv(), .side = CHAN_ACCEPTING };
	struct raw_tls t = { 0 };
	pthread_t th;
	int sv[2];

	tcp_pair(sv);
	t.fd = sv[0];
	dst.fd = sv[1];
	ck_assert_int_eq(pthread_create(&th, NULL, raw_tls_client, &t), 0);
	side_run(&dst);
	close(sv[1]); /* as the receiver does with a refused connection */
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "presented no TLS certificate");
	ck_assert_ptr_null(dst.c);
	ck_assert_msg(t.recv <= 0, "the certificate-less client read data: %d", t.recv);
	close(sv[0]);
}
END_TEST

/* A certificate from another CA, both ways. */
START_TEST(test_tls_foreign_cert)
{
	struct side src = { .auth = auth_tls_src(NULL) }, dst = { .auth = auth_tls_rcv() };

	src.auth.tls_cert = rogue;
	src.auth.tls_key = rogue_key;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "TLS certificate is refused");
	ck_assert_msg_has(dst.err, "issuer");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "the peer refused our TLS certificate");
	ck_assert_msg_has(src.err, "Certificate is bad");
	ck_assert_ptr_null(src.c);

	/* the source trusts only the other CA: it refuses the receiver */
	src = (struct side){ .auth = auth_tls_src(NULL) };
	dst = (struct side){ .auth = auth_tls_rcv() };
	src.auth.tls_cacert = other_ca;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "TLS certificate is refused");
	ck_assert_int_eq(dst.r, CKPT_EPERM); /* it got the source's alert */
	ck_assert_msg_has(dst.err, "TLS handshake failed");
}
END_TEST

/* The receiver's certificate does not carry the name the source dialled. */
START_TEST(test_tls_wrong_name)
{
	struct side src = { .auth = auth_tls_src("10.1.2.3") }, dst = { .auth = auth_tls_rcv() };

	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "TLS certificate is refused");
	ck_assert_msg_has(src.err, "name in the certificate does not match");
	ck_assert_int_ne(dst.r, 0);
}
END_TEST

START_TEST(test_auth_method_mismatch)
{
	struct side src = { .auth = auth_token(tok_a) }, dst = { .auth = auth_tls_rcv() };

	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "authenticates with mutual TLS, this side with a token file");
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "authenticates with a token file, this side with mutual TLS");
}
END_TEST

/* A raw peer writes bytes (a preamble of its own) and then closes; the channel must refuse. */
static int against_raw_peer(const void *bytes, size_t n, enum chan_side side, unsigned timeout_ms,
			    ckpt_err *err, uint8_t ours[CHAN_PREAMBLE_SIZE])
{
	struct chan_auth a = auth_token(tok_a);
	struct chan *c = NULL;
	int sv[2], r;

	sock_pair(sv);
	if (n)
		ck_assert_int_eq(write(sv[1], bytes, n), (ssize_t)n);
	r = chan_open(sv[0], side, &a, timeout_ms, &c, err);
	ck_assert_ptr_null(c);
	if (ours)
		ck_assert_int_eq(recv(sv[1], ours, CHAN_PREAMBLE_SIZE, MSG_DONTWAIT),
				 CHAN_PREAMBLE_SIZE);
	close(sv[0]);
	close(sv[1]);
	return r;
}

START_TEST(test_version_mismatch)
{
	uint8_t pre[CHAN_PREAMBLE_SIZE] = {
		'c', 'k', 'p', 't', '-', 'm', 'i', 'g', 0, 2, CHAN_AUTH_TOKEN, CHAN_ACCEPTING
	};
	uint8_t ours[CHAN_PREAMBLE_SIZE];
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(against_raw_peer(pre, sizeof(pre), CHAN_CONNECTING, 1000, &err, ours),
			 CKPT_ENOTSUP);
	ck_assert_msg_has(err, "speaks migration protocol version 2");
	ck_assert_msg_has(err, "speaks version 1");
	ck_assert_msg_has(err, ckpt_version());
	/* what we sent says who we are */
	ck_assert_int_eq(memcmp(ours, CHAN_MAGIC, 8), 0);
	ck_assert_int_eq(ours[8] << 8 | ours[9], CHAN_PROTO_VERSION);
	ck_assert_int_eq(ours[10], CHAN_AUTH_TOKEN);
	ck_assert_int_eq(ours[11], CHAN_CONNECTING);
}
END_TEST

START_TEST(test_not_an_endpoint)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t same[CHAN_PREAMBLE_SIZE] = { 'c',
					     'k',
					     'p',
					     't',
					     '-',
					     'm',
					     'i',
					     'g',
					     0,
					     CHAN_PROTO_VERSION,
					     CHAN_AUTH_TOKEN,
					     CHAN_CONNECTING };
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(against_raw_peer(http, sizeof(http) - 1, CHAN_ACCEPTING, 1000, &err, NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "is not a ckpt migration endpoint");
	ck_assert_msg_has(err, "GET / HT");
	ck_assert_int_eq(against_raw_peer(same, sizeof(same), CHAN_CONNECTING, 1000, &err, NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "same side");
	same[11] = CHAN_ACCEPTING;
	same[15] = 1;
	ck_assert_int_eq(against_raw_peer(same, sizeof(same), CHAN_CONNECTING, 1000, &err, NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "reserved");
}
END_TEST

START_TEST(test_truncated_preamble)
{
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(against_raw_peer("ckpt-m", 6, CHAN_ACCEPTING, 1000, &err, NULL),
			 CKPT_ETIMEDOUT);
	ck_assert_msg_has(err, "deadline of 1000 ms");
}
END_TEST

/* A peer that says nothing: the whole authentication has one deadline. */
START_TEST(test_auth_deadline)
{
	ckpt_err err = CKPT_ERR_INIT;
	uint64_t t0 = now_us();

	ck_assert_int_eq(against_raw_peer(NULL, 0, CHAN_ACCEPTING, 300, &err, NULL),
			 CKPT_ETIMEDOUT);
	ck_assert_uint_ge(now_us() - t0, 290 * 1000);
	ck_assert_uint_lt(now_us() - t0, 2000 * 1000);
	ck_assert_str_eq(err.step, "auth");
}
END_TEST

/* The peer closes in the middle of the token exchange. */
START_TEST(test_truncated_auth)
{
	uint8_t pre[CHAN_PREAMBLE_SIZE + 7] = { 'c',
						'k',
						'p',
						't',
						'-',
						'm',
						'i',
						'g',
						0,
						CHAN_PROTO_VERSION,
						CHAN_AUTH_TOKEN,
						CHAN_ACCEPTING };
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth a = auth_token(tok_a);
	struct chan *c = NULL;
	int sv[2];

	sock_pair(sv);
	ck_assert_int_eq(write(sv[1], pre, sizeof(pre)), (ssize_t)sizeof(pre));
	shutdown(sv[1], SHUT_WR);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, &a, 1000, &c, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "in the middle of the token challenge (7 of 32 bytes)");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* After authentication: frames                                       */
/* ------------------------------------------------------------------ */

/* An open token (or TLS) pair over TCP for the tests below. */
static void open_pair(struct side *src, struct side *dst, bool tls, unsigned timeout_ms)
{
	int sv[2];

	tcp_pair(sv);
	*src = (struct side){ .fd = sv[0],
			      .auth = tls ? auth_tls_src(NULL) : auth_token(tok_a),
			      .timeout_ms = timeout_ms };
	*dst = (struct side){ .fd = sv[1],
			      .auth = tls ? auth_tls_rcv() : auth_token(tok_a2),
			      .timeout_ms = timeout_ms };
	run_pair(src, dst);
	ck_assert_msg(src->r == 0 && dst->r == 0, "open: %s / %s", src->err.msg, dst->err.msg);
}

static void oversized(bool tls)
{
	struct side src, dst;
	uint8_t hdr[CHAN_HDR_SIZE] = { 0, CHAN_MSG_FILE_DATA, 0, 0 };
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	static uint8_t big[CHAN_MAX_PAYLOAD + 1];

	open_pair(&src, &dst, tls, TIMEOUT_MS);
	/* the sender refuses to build one */
	ck_assert_int_eq(chan_send(src.c, CHAN_MSG_FILE_DATA, big, sizeof(big), &err),
			 CKPT_ETOOBIG);
	/* a hostile peer writes the header anyway: refused on the header, before any payload is read */
	hdr[4] = 0x00;
	hdr[5] = 0x02;
	hdr[6] = 0x00;
	hdr[7] = 0x01; /* 128 KiB + 1 */
	ck_assert_int_eq(chan_write_raw(src.c, hdr, sizeof(hdr), &err), 0);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_ETOOBIG);
	ck_assert_msg_has(err, "131073 bytes is above the cap of 131072");
	/* and nothing more is read from a stream out of step */
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "failed earlier");
	free_pair(&src, &dst);
}

START_TEST(test_oversized_token)
{
	oversized(false);
}
END_TEST

START_TEST(test_oversized_tls)
{
	oversized(true);
}
END_TEST

static const struct {
	uint8_t hdr[CHAN_HDR_SIZE];
	const char *why;
} bad_hdrs[] = {
	{ { 0, 0, 0, 0, 0, 0, 0, 0 }, "type 0 is unknown" },
	{ { 0, 11, 0, 0, 0, 0, 0, 0 }, "type 11 is unknown" },
	{ { 0xff, 0xff, 0, 0, 0, 0, 0, 0 }, "type 65535 is unknown" },
	{ { 0, 1, 0, 1, 0, 0, 0, 0 }, "flags 0x1" },
	{ { 0, 4, 0x80, 0, 0, 0, 0, 0 }, "flags 0x8000" },
	{ { 0, 4, 0, 0, 0xff, 0xff, 0xff, 0xff }, "4294967295 bytes is above the cap" },
};

START_TEST(test_bad_headers)
{
	ckpt_err err = CKPT_ERR_INIT;
	uint16_t type;
	uint32_t len;
	int r = chan_hdr_decode(bad_hdrs[_i].hdr, &type, &len, &err);

	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(err.code, r);
	ck_assert_msg_has(err, bad_hdrs[_i].why);
}
END_TEST

/* Payloads that must not decode (type, bytes, a fragment of the message). */
static const struct {
	uint16_t type;
	const char *bytes;
	size_t len;
	const char *why;
} bad_payloads[] = {
	{ CHAN_MSG_HELLO, "", 0, "truncated at field proto" },
	{ CHAN_MSG_HELLO, "\0\1\1\1", 4, "truncated at field session" },
	{ CHAN_MSG_HELLO, "\0\2", 2, "truncated" },
	{ CHAN_MSG_ERROR, "\xff\xff\xff\xf8\0\0\0\0", 8, "" /* valid: code -8 */ },
	{ CHAN_MSG_ERROR, "\0\0\0\1\0\0\0\0", 8, "expected a negative" },
	{ CHAN_MSG_ERROR, "\xff\xff\xff\xf8\0\2a\0\0\0", 10, "holds a NUL" },
	{ CHAN_MSG_ERROR, "\xff\xff\xff\xf8\0\x40", 6, "stage is 64 bytes long" },
	{ CHAN_MSG_ERROR, "\xff\xff\xff\xf8\0\0\0\0X", 9, "1 bytes after its last field" },
	{ CHAN_MSG_FILE_BEGIN, "\0\5../ab\0\0\x81\xa4\0\0\0\0\0\0\0\1", 19,
	  "" /* length 5 reads "../ab" */ },
	{ CHAN_MSG_FILE_BEGIN, "\0\5../x\0\0\0\x81\xa4\0\0\0\0\0\0\0\1", 19, "holds a NUL" },
	{ CHAN_MSG_FILE_BEGIN, "\0\4core\0\0\x41\xed\0\0\0\0\0\0\0\1", 18, "mode 040755" },
	{ CHAN_MSG_FILE_BEGIN, "\0\4core\0\0\x89\xa4\0\0\0\0\0\0\0\1", 18, "mode 0104644" },
	{ CHAN_MSG_FILE_DATA, "", 0, "FILE_DATA of 0 bytes" },
	{ CHAN_MSG_FILE_END, "\1\2\3", 3, "truncated at field sha256" },
	{ CHAN_MSG_FILES_DONE, "\0\0\0\1", 4, "truncated at field total" },
	{ CHAN_MSG_RESTORE, "\0\0\0\2\0\0\0\0", 8, "flags 0x2" },
	{ CHAN_MSG_RESULT, "\1\0\0\0\0\0\0\0\0\0\0\0\0", 13, "running with pid 0" },
	{ CHAN_MSG_RESULT, "\2\0\0\0\0\0\0\0\0\0\0\0\0", 13, "failed with code 0" },
	{ CHAN_MSG_RESULT, "\7\0\0\0\0\0\0\0\0\0\0\0\0", 13, "status 7" },
	{ CHAN_MSG_ACK, "\3", 1, "decision 3" },
	{ CHAN_MSG_ACK, "", 0, "truncated at field decision" },
	{ CHAN_MSG_RESOLVE, "\1\2", 2, "truncated at field session" },
};

START_TEST(test_bad_payloads)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_msg m;
	int r = chan_msg_decode(bad_payloads[_i].type, (const uint8_t *)bad_payloads[_i].bytes,
				(uint32_t)bad_payloads[_i].len, &m, &err);

	if (!bad_payloads[_i].why[0]) {
		/* the controls: well-formed at the frame level, refused or not by their content */
		if (bad_payloads[_i].type == CHAN_MSG_ERROR) {
			ck_assert_msg(r == 0, "%s", err.msg);
			ck_assert_int_eq(m.u.error.code, CKPT_EPROTO);
		} else {
			ck_assert_int_eq(r, CKPT_EPROTO);
			ck_assert_msg_has(err, "'/'");
		}
		return;
	}
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(err.code, r);
	ck_assert_msg_has(err, bad_payloads[_i].why);
}
END_TEST

/* Malformed payloads over the wire, with valid MACs: refused at receive. */
START_TEST(test_malformed_on_wire)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;

	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_send(src.c, CHAN_MSG_HELLO, "\0\1\1", 3, &err), 0);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "HELLO message is truncated");
	ck_assert_msg_has(err, "migration peer 127.0.0.1:");
	free_pair(&src, &dst);

	/* a HELLO of another protocol version inside the channel */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	{
		struct chan_hello h;

		hello_fill(&h, CHAN_ROLE_SOURCE);
		ck_assert_int_eq(chan_send_hello(src.c, &h, &err), 0);
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), 0);
		/* re-encode with proto 9 */
		{
			uint8_t p[1024];

			memcpy(p, m.data, m.len);
			p[1] = 9;
			ck_assert_int_eq(chan_send(src.c, CHAN_MSG_HELLO, p, m.len, &err), 0);
		}
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_ENOTSUP);
		ck_assert_msg_has(err, "protocol version 9");
	}
	free_pair(&src, &dst);
}
END_TEST

/* Token mode: a frame whose tag does not match is refused. */
START_TEST(test_tampered_frame)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t frame[CHAN_HDR_SIZE + 1 + CHAN_MAC_SIZE] = { 0, CHAN_MSG_ACK,	   0, 0, 0, 0, 0,
							     1, CHAN_ACK_COMMITTED };

	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_write_raw(src.c, frame, sizeof(frame), &err), 0);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "fails its integrity check");
	free_pair(&src, &dst);
}
END_TEST

/* Token mode: frames are bound to their order; a replayed frame fails. */
START_TEST(test_replayed_frame)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t cap[CHAN_HDR_SIZE + 1 + CHAN_MAC_SIZE];
	int sv[2];

	/* capture one ACK frame on a pair whose receiving end is read raw */
	tcp_pair(sv);
	src = (struct side){ .fd = sv[0], .auth = auth_token(tok_a) };
	dst = (struct side){ .fd = sv[1], .auth = auth_token(tok_a2) };
	run_pair(&src, &dst);
	ck_assert_int_eq(src.r, 0);
	ck_assert_int_eq(chan_send_ack(src.c, CHAN_ACK_COMMITTED, &err), 0);
	ck_assert_int_eq(recv(sv[1], cap, sizeof(cap), MSG_WAITALL), (ssize_t)sizeof(cap));
	ck_assert_int_eq(chan_send_ack(src.c, CHAN_ACK_COMMITTED, &err), 0);
	/* the receiver's first frame (seq 0) was eaten; the next one (seq 1) does not verify as seq 0 */
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPERM);
	free_pair(&src, &dst);
}
END_TEST

START_TEST(test_truncated_stream)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t frame[CHAN_HDR_SIZE + 10] = { 0, CHAN_MSG_FILE_DATA, 0, 0, 0, 0, 0, 100 };

	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_write_raw(src.c, frame, sizeof(frame), &err), 0);
	shutdown(src.fd, SHUT_WR);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(
		err, "in the middle of a message (10 of 132 bytes)"); /* 100 + the 32-byte tag */
	free_pair(&src, &dst);

	/* EOF between messages */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	chan_free(src.c);
	src.c = NULL;
	shutdown(src.fd, SHUT_WR);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "closed the connection (expected a message header)");
	free_pair(&src, &dst);

	/* half a header over TLS */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	ck_assert_int_eq(chan_write_raw(src.c, frame, 5, &err), 0);
	chan_free(src.c);
	src.c = NULL;
	shutdown(src.fd, SHUT_WR);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "in the middle of a message header (5 of 8 bytes)");
	free_pair(&src, &dst);
}
END_TEST

/* Every receive has the channel's deadline; a slow sender cannot stall it past that. */
START_TEST(test_recv_deadline)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t frame[CHAN_HDR_SIZE + 3] = { 0, CHAN_MSG_FILE_DATA, 0, 0, 0, 0, 0, 100 };
	uint64_t t0;

	open_pair(&src, &dst, false, TIMEOUT_MS);
	chan_set_timeout(dst.c, 300);
	t0 = now_us();
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_ETIMEDOUT);
	ck_assert_uint_ge(now_us() - t0, 290 * 1000);
	ck_assert_uint_lt(now_us() - t0, 2000 * 1000);
	ck_assert_msg_has(err, "deadline of 300 ms");
	/* nothing of a message had arrived: the channel is still usable */
	ck_assert_int_eq(chan_send_ack(src.c, CHAN_ACK_RESUMED, &err), 0);
	ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
	ck_assert_int_eq(m.u.ack.decision, CHAN_ACK_RESUMED);
	free_pair(&src, &dst);

	/* a frame started and never finished */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	chan_set_timeout(dst.c, 300);
	ck_assert_int_eq(chan_write_raw(src.c, frame, sizeof(frame), &err), 0);
	t0 = now_us();
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_ETIMEDOUT);
	ck_assert_uint_lt(now_us() - t0, 2000 * 1000);
	/* a message cut by the deadline: out of step, nothing more is read */
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "failed earlier");
	free_pair(&src, &dst);
}
END_TEST

START_TEST(test_peer_error)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;

	open_pair(&src, &dst, false, TIMEOUT_MS);
	chan_send_error(dst.c, CKPT_ECRIU, "restore", "criu: can't restore: pid 42 is taken");
	ck_assert_int_eq(chan_expect(src.c, CHAN_MSG_RESULT, &m, &err), CKPT_ECRIU);
	ck_assert_msg_has(err, "gave up at restore: criu: can't restore: pid 42 is taken");
	ck_assert_str_eq(err.step, "restore");
	/* an unexpected type */
	ck_assert_int_eq(chan_send_ack(dst.c, CHAN_ACK_RESUMED, &err), 0);
	ck_assert_int_eq(chan_expect(src.c, CHAN_MSG_RESULT, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "sent ACK (expected RESULT)");
	free_pair(&src, &dst);
}
END_TEST

/* ------------------------------------------------------------------ */
/* File transfer                                                      */
/* ------------------------------------------------------------------ */

static int mkdir_in(const char *name, char *out, size_t n)
{
	int fd;

	path(out, n, dir, name);
	ck_assert_int_eq(mkdir(out, 0700), 0);
	fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static const struct {
	const char *name;
	size_t size;
} files[] = {
	{ "inventory.img", 0 },
	{ "core-1.img", 1 },
	{ "pstree.img", 4096 },
	{ "pages-1.img", 3 * CHAN_FILE_CHUNK + 17 },
	{ "tmpfs-dev-23.tar.gz.img", 70000 },
};

struct files_arg {
	int dirfd;
	struct chan_limits lim;
	struct chan_rx rx;
};

static int receive_files(struct side *s)
{
	struct files_arg *fa = s->arg;

	return chan_recv_files(s->c, fa->dirfd, &fa->lim, &fa->rx, &s->err);
}

static int send_files(struct side *s)
{
	int dirfd = *(int *)s->arg;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = chan_send_file(s->c, dirfd, files[i].name, &s->err);

		if (r < 0)
			return r;
	}
	return chan_send_files_done(s->c, &s->err);
}

static void transfer(bool tls)
{
	char out_path[300], in_path[300];
	int out = mkdir_in("out", out_path, sizeof(out_path)),
	    in = mkdir_in("in", in_path, sizeof(in_path));
	struct files_arg fa = { .dirfd = in };
	struct side src, dst;
	uint64_t total = 0;
	int sv[2];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		uint8_t *b = malloc(files[i].size + 1);
		char p[400];

		fill_random(b, files[i].size, (unsigned)i + 1);
		path(p, sizeof(p), out_path, files[i].name);
		write_file(p, (char *)b, files[i].size, 0644);
		total += files[i].size;
		free(b);
	}
	tcp_pair(sv);
	src = (struct side){ .fd = sv[0],
			     .auth = tls ? auth_tls_src(NULL) : auth_token(tok_a),
			     .then = send_files,
			     .arg = &out };
	dst = (struct side){ .fd = sv[1],
			     .auth = tls ? auth_tls_rcv() : auth_token(tok_a2),
			     .then = receive_files,
			     .arg = &fa };
	run_pair(&src, &dst);
	ck_assert_msg(src.r == 0, "source: %s", src.err.msg);
	ck_assert_msg(dst.r == 0, "receiver: %s", dst.err.msg);
	ck_assert_uint_eq(fa.rx.files, ARRAY_SIZE(files));
	ck_assert_uint_eq(fa.rx.total, total);
	ck_assert_uint_eq(chan_file_bytes_out(src.c), total);
	ck_assert_uint_eq(chan_files_out(src.c), ARRAY_SIZE(files));
	ck_assert_uint_gt(chan_wire_in(dst.c), total);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		uint8_t *want = malloc(files[i].size + 1), *got = malloc(files[i].size + 1);
		struct stat st;
		int fd = openat(in, files[i].name, O_RDONLY | O_CLOEXEC);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)files[i].size);
		ck_assert_int_eq(st.st_mode & 0777,
				 0600); /* owner-only, whatever the sender's mode */
		ck_assert_int_eq(read(fd, got, files[i].size + 1), (ssize_t)files[i].size);
		fill_random(want, files[i].size, (unsigned)i + 1);
		ck_assert_int_eq(memcmp(want, got, files[i].size), 0);
		close(fd);
		free(want);
		free(got);
	}
	free_pair(&src, &dst);
	close(out);
	close(in);
}

START_TEST(test_transfer_token)
{
	transfer(false);
}
END_TEST

START_TEST(test_transfer_tls)
{
	transfer(true);
}
END_TEST

static const struct {
	const char *name;
	size_t len; /* 0: strlen */
	const char *why;
} bad_names[] = {
	{ "", 0, "empty" },
	{ ".", 0, "starts with '.'" },
	{ "..", 0, "starts with '.'" },
	{ "../core-1.img", 0, "holds a '/'" },
	{ "a/b", 0, "holds a '/'" },
	{ "/etc/passwd", 0, "holds a '/'" },
	{ ".bashrc", 0, "starts with '.'" },
	{ "core\n1.img", 0, "byte 0x0a" },
	{ "core 1.img", 0, "byte 0x20" },
	{ "core\\1.img", 0, "byte 0x5c" },
	{ "c\0re.img", 8, "byte 0x00" },
	{ "caf\xc3\xa9.img", 0, "byte 0xc3" },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxx",
	  0, "129 bytes long" },
};

START_TEST(test_name_check)
{
	ckpt_err err = CKPT_ERR_INIT;
	const char *n = bad_names[_i].name;
	size_t len = bad_names[_i].len ? bad_names[_i].len : strlen(n);

	ck_assert_int_eq(chan_name_check(n, len, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, bad_names[_i].why);
}
END_TEST

START_TEST(test_name_check_good)
{
	static const char *good[] = { "core-1.img", "pagemap-4242.img", "tmpfs-dev-23.tar.gz.img",
				      "stats-dump", "ip6tables-9.img",	"a+b_c",
				      "x" };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_int_eq(chan_name_check(good[i], strlen(good[i]), NULL), 0);
}
END_TEST

/* A FILE_BEGIN for a crafted name, sent with a valid MAC: refused, and nothing appears anywhere. */
START_TEST(test_name_tricks_on_wire)
{
	static const char *tricks[] = { "../escaped", "sub/x", "..", ".", "", "/tmp/abs" };
	char in_path[300];
	int in = mkdir_in("in", in_path, sizeof(in_path));

	for (size_t i = 0; i < ARRAY_SIZE(tricks); i++) {
		struct side src, dst;
		struct chan_msg m;
		ckpt_err err = CKPT_ERR_INIT;
		uint8_t p[256];
		size_t n = strlen(tricks[i]);
		struct chan_rx rx;

		open_pair(&src, &dst, false, TIMEOUT_MS);
		p[0] = 0;
		p[1] = (uint8_t)n;
		memcpy(p + 2, tricks[i], n);
		memcpy(p + 2 + n, "\0\0\x81\xa4\0\0\0\0\0\0\0\1", 12);
		ck_assert_int_eq(chan_send(src.c, CHAN_MSG_FILE_BEGIN, p, n + 14, &err), 0);
		ck_assert_int_eq(chan_send(src.c, CHAN_MSG_FILE_DATA, "x", 1, &err), 0);
		chan_rx_init(&rx, in, NULL);
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
		ck_assert_msg(strstr(err.msg, "file name"), "%s: %s", tricks[i], err.msg);
		free_pair(&src, &dst);
	}
	ck_assert_int_eq(faccessat(in, "escaped", F_OK, 0), -1);
	ck_assert_int_eq(access("/tmp/abs", F_OK), -1);
	{
		char up[400];

		path(up, sizeof(up), dir, "escaped");
		ck_assert_int_eq(access(up, F_OK), -1);
	}
	close(in);
}
END_TEST

/* Build a decoded message by hand, as chan_recv would hand it. */
static struct chan_msg msg_begin(const char *name, uint32_t mode, uint64_t size)
{
	struct chan_msg m = { .type = CHAN_MSG_FILE_BEGIN };

	snprintf(m.u.file_begin.name, sizeof(m.u.file_begin.name), "%s", name);
	m.u.file_begin.mode = mode;
	m.u.file_begin.size = size;
	return m;
}
static struct chan_msg msg_data(const void *p, uint32_t n)
{
	return (struct chan_msg){ .type = CHAN_MSG_FILE_DATA, .data = p, .len = n };
}
static struct chan_msg msg_end(const void *data, size_t n)
{
	struct chan_msg m = { .type = CHAN_MSG_FILE_END };

	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, m.u.file_end.sha256);
	return m;
}

/* An existing file or symlink of that name is never written through. */
START_TEST(test_rx_exclusive)
{
	char in_path[300], target[300], link[400];
	int in = mkdir_in("in", in_path, sizeof(in_path));
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_rx rx;
	struct chan_msg m;
	struct stat st;

	path(target, sizeof(target), dir, "target");
	write_file(target, "precious", 8, 0600);
	path(link, sizeof(link), in_path, "core-1.img");
	ck_assert_int_eq(symlink(target, link), 0);
	chan_rx_init(&rx, in, NULL);
	m = msg_begin("core-1.img", S_IFREG | 0644, 4);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EEXIST);
	ck_assert_msg_has(err, "\"core-1.img\" cannot be created");
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, 8);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode)); /* still the link, untouched */
	/* a second file of the same name in one transfer */
	chan_rx_init(&rx, in, NULL);
	m = msg_begin("pstree.img", S_IFREG | 0600, 0);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_end("", 0);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_begin("pstree.img", S_IFREG | 0600, 0);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EEXIST);
	close(in);
}
END_TEST

START_TEST(test_rx_sequence)
{
	char in_path[300];
	int in = mkdir_in("in", in_path, sizeof(in_path));
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_rx rx;
	struct chan_msg m;

	/* more data than declared: refused and the partial file removed */
	chan_rx_init(&rx, in, NULL);
	m = msg_begin("a.img", S_IFREG | 0600, 4);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	ck_assert_int_eq(faccessat(in, "a.img", F_OK, 0), 0);
	m = msg_data("abc", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_data("de", 2);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "1 bytes more than its declared size of 4");
	ck_assert_int_eq(faccessat(in, "a.img", F_OK, 0), -1);

	/* fewer bytes than declared */
	chan_rx_init(&rx, in, NULL);
	m = msg_begin("b.img", S_IFREG | 0600, 10);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_data("abc", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_end("abc", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "ended after 3 of its 10 bytes");
	ck_assert_int_eq(faccessat(in, "b.img", F_OK, 0), -1);

	/* the digest does not match */
	chan_rx_init(&rx, in, NULL);
	m = msg_begin("c.img", S_IFREG | 0600, 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_data("abc", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_end("abd", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EBADIMG);
	ck_assert_msg_has(err, "SHA-256");
	ck_assert_int_eq(faccessat(in, "c.img", F_OK, 0), -1);

	/* out of order */
	chan_rx_init(&rx, in, NULL);
	m = msg_data("abc", 3);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "outside a file");
	m = msg_begin("d.img", S_IFREG | 0600, 1);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	m = msg_begin("e.img", S_IFREG | 0600, 1);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "before the previous file ended");
	ck_assert_int_eq(faccessat(in, "d.img", F_OK, 0), -1);

	/* FILES_DONE must match what arrived */
	chan_rx_init(&rx, in, NULL);
	m = (struct chan_msg){ .type = CHAN_MSG_FILES_DONE,
			       .u.files_done = { .count = 1, .total = 0 } };
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "says 1 files");
	m = (struct chan_msg){ .type = CHAN_MSG_FILES_DONE };
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 1);
	m = msg_begin("f.img", S_IFREG | 0600, 1);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "after FILES_DONE");
	/* another message type in the middle */
	chan_rx_init(&rx, in, NULL);
	m = (struct chan_msg){ .type = CHAN_MSG_RESTORE };
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "RESTORE in the middle of the image transfer");
	close(in);
}
END_TEST

START_TEST(test_rx_caps)
{
	char in_path[300];
	int in = mkdir_in("in", in_path, sizeof(in_path));
	struct chan_limits lim = { .max_files = 2, .max_total = 10 };
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_rx rx;
	struct chan_msg m;
	const char *names[] = { "a", "b", "c" };

	chan_rx_init(&rx, in, &lim);
	for (int i = 0; i < 2; i++) {
		m = msg_begin(names[i], S_IFREG | 0600, 5);
		ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
		m = msg_data("12345", 5);
		ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
		m = msg_end("12345", 5);
		ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), 0);
	}
	m = msg_begin("c", S_IFREG | 0600, 0);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_ETOOBIG);
	ck_assert_msg_has(err, "cap of 2 files");
	ck_assert_int_eq(faccessat(in, "c", F_OK, 0), -1);

	lim.max_files = 10;
	chan_rx_init(&rx, in, &lim);
	m = msg_begin("big", S_IFREG | 0600, 11);
	ck_assert_int_eq(chan_rx_feed(&rx, &m, &err), CKPT_ETOOBIG);
	ck_assert_msg_has(err, "cap of 10 bytes");
	ck_assert_int_eq(faccessat(in, "big", F_OK, 0), -1);
	close(in);
}
END_TEST

/* The sender sends regular files only, and never follows a symlink. */
START_TEST(test_send_regular_only)
{
	char out_path[300], p[400];
	int out = mkdir_in("out", out_path, sizeof(out_path));
	struct side src, dst;
	ckpt_err err = CKPT_ERR_INIT;

	path(p, sizeof(p), out_path, "fifo.img");
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	path(p, sizeof(p), out_path, "dir.img");
	ck_assert_int_eq(mkdir(p, 0700), 0);
	path(p, sizeof(p), out_path, "link.img");
	ck_assert_int_eq(symlink("/etc/hostname", p), 0);
	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_send_file(src.c, out, "fifo.img", &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "not a regular file");
	ck_assert_int_eq(chan_send_file(src.c, out, "dir.img", &err), CKPT_EINVAL);
	ck_assert_int_eq(chan_send_file(src.c, out, "link.img", &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "\"link.img\"");
	ck_assert_int_eq(chan_send_file(src.c, out, "../escape", &err), CKPT_EPROTO);
	ck_assert_int_eq(chan_send_file(src.c, out, "missing.img", &err), CKPT_EIMAGES);
	/* nothing went out */
	ck_assert_uint_eq(chan_files_out(src.c), 0);
	free_pair(&src, &dst);
	close(out);
}
END_TEST

/* A transfer that dies half-way leaves no partial file behind. */
static int send_half(struct side *s)
{
	uint8_t p[64];

	p[0] = 0;
	p[1] = 5;
	memcpy(p + 2, "x.img", 5);
	memcpy(p + 7, "\0\0\x81\x80\0\0\0\0\0\0\0\x64", 12); /* 100 bytes */
	if (chan_send(s->c, CHAN_MSG_FILE_BEGIN, p, 19, &s->err) < 0 ||
	    chan_send(s->c, CHAN_MSG_FILE_DATA, "0123456789", 10, &s->err) < 0)
		return -1;
	shutdown(s->fd, SHUT_WR);
	return 0;
}

START_TEST(test_transfer_dropped)
{
	char in_path[300];
	int in = mkdir_in("in", in_path, sizeof(in_path));
	struct files_arg fa = { .dirfd = in };
	struct side src, dst;
	int sv[2];

	tcp_pair(sv);
	src = (struct side){ .fd = sv[0], .auth = auth_token(tok_a), .then = send_half };
	dst = (struct side){
		.fd = sv[1], .auth = auth_token(tok_a2), .then = receive_files, .arg = &fa
	};
	run_pair(&src, &dst);
	ck_assert_int_eq(src.r, 0);
	ck_assert_int_eq(dst.r, CKPT_EPROTO);
	ck_assert_msg_has(dst.err, "closed the connection");
	ck_assert_int_eq(faccessat(in, "x.img", F_OK, 0), -1);
	ck_assert_uint_eq(fa.rx.total, 10);
	free_pair(&src, &dst);
	close(in);
}
END_TEST

/* The library prints nothing, even when TLS fails. */
START_TEST(test_silence)
{
	int pipes[2], saved, saved1;
	char buf[256];
	struct side src = { .auth = auth_tls_src(NULL) }, dst = { .auth = auth_tls_rcv() };

	ck_assert_int_eq(pipe2(pipes, O_CLOEXEC | O_NONBLOCK), 0);
	saved = dup(2);
	saved1 = dup(1);
	dup2(pipes[1], 2);
	dup2(pipes[1], 1);
	src.auth.tls_cert = rogue;
	src.auth.tls_key = rogue_key;
	refused(tcp_pair, &src, &dst);
	dup2(saved, 2);
	dup2(saved1, 1);
	close(saved);
	close(saved1);
	ck_assert_int_eq(read(pipes[0], buf, sizeof(buf)), -1);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Each test (a forked child) gets a fresh directory below the run's. */
static char run_dir[256];

static void per_test_dir(void)
{
	static int n;

	snprintf(dir, sizeof(dir), "%s/case-%d-%d", run_dir, getpid(), n++);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
}

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc;

	tc = tcase_create("handshake");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_token_socketpair);
	tcase_add_test(tc, test_token_tcp);
	tcase_add_test(tc, test_token_trailing_newline);
	tcase_add_test(tc, test_tls_tcp);
	tcase_add_test(tc, test_tls_tcp_by_name);
	tcase_add_test(tc, test_tls_socketpair);
	tcase_add_test(tc, test_tls_and_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_wrong_token);
	tcase_add_test(tc, test_token_file_checks);
	tcase_add_test(tc, test_no_auth);
	tcase_add_test(tc, test_tls_bad_files);
	tcase_add_test(tc, test_tls_no_client_cert);
	tcase_add_test(tc, test_tls_foreign_cert);
	tcase_add_test(tc, test_tls_wrong_name);
	tcase_add_test(tc, test_auth_method_mismatch);
	tcase_add_test(tc, test_version_mismatch);
	tcase_add_test(tc, test_not_an_endpoint);
	tcase_add_test(tc, test_truncated_preamble);
	tcase_add_test(tc, test_auth_deadline);
	tcase_add_test(tc, test_truncated_auth);
	tcase_add_test(tc, test_silence);
	suite_add_tcase(s, tc);

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_oversized_token);
	tcase_add_test(tc, test_oversized_tls);
	tcase_add_loop_test(tc, test_bad_headers, 0, ARRAY_SIZE(bad_hdrs));
	tcase_add_loop_test(tc, test_bad_payloads, 0, ARRAY_SIZE(bad_payloads));
	tcase_add_test(tc, test_malformed_on_wire);
	tcase_add_test(tc, test_tampered_frame);
	tcase_add_test(tc, test_replayed_frame);
	tcase_add_test(tc, test_truncated_stream);
	tcase_add_test(tc, test_recv_deadline);
	tcase_add_test(tc, test_peer_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_transfer_token);
	tcase_add_test(tc, test_transfer_tls);
	tcase_add_loop_test(tc, test_name_check, 0, ARRAY_SIZE(bad_names));
	tcase_add_test(tc, test_name_check_good);
	tcase_add_test(tc, test_name_tricks_on_wire);
	tcase_add_test(tc, test_rx_exclusive);
	tcase_add_test(tc, test_rx_sequence);
	tcase_add_test(tc, test_rx_caps);
	tcase_add_test(tc, test_send_regular_only);
	tcase_add_test(tc, test_transfer_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	char cmd[600];
	SRunner *sr;
	int failed;

	snprintf(run_dir, sizeof(run_dir), "/tmp/ckpt-test-channel.XXXXXX");
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(tls_dir, sizeof(tls_dir), "%s/tls", run_dir);
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", CKPT_GEN_CERTS, tls_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_channel: %s failed\n", cmd);
		return EXIT_FAILURE;
	}
	path(ca, sizeof(ca), tls_dir, "ca.pem");
	path(other_ca, sizeof(other_ca), tls_dir, "other-ca.pem");
	path(rcv_cert, sizeof(rcv_cert), tls_dir, "receiver.pem");
	path(rcv_key, sizeof(rcv_key), tls_dir, "receiver-key.pem");
	path(src_cert, sizeof(src_cert), tls_dir, "source.pem");
	path(src_key, sizeof(src_key), tls_dir, "source-key.pem");
	path(rogue, sizeof(rogue), tls_dir, "rogue.pem");
	path(rogue_key, sizeof(rogue_key), tls_dir, "rogue-key.pem");
	path(tok_a, sizeof(tok_a), run_dir, "token-a");
	path(tok_a2, sizeof(tok_a2), run_dir, "token-a2");
	path(tok_b, sizeof(tok_b), run_dir, "token-b");
	path(tok_open, sizeof(tok_open), run_dir, "token-open");
	path(tok_short, sizeof(tok_short), run_dir, "token-short");
	path(tok_nl, sizeof(tok_nl), run_dir, "token-nl");
	{
		/* mode and content set through open() so no test depends on the umask */
		struct {
			const char *p, *s;
			mode_t m;
		} t[] = {
			{ tok_a, "correct horse battery staple 42", 0600 },
			{ tok_a2, "correct horse battery staple 42", 0400 },
			{ tok_b, "correct horse battery staple 43", 0600 },
			{ tok_open, "correct horse battery staple 42", 0644 },
			{ tok_short, "short\n", 0600 },
			{ tok_nl, "correct horse battery staple 42\n", 0600 },
		};

		for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
			int fd = open(t[i].p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

			if (fd < 0 ||
			    write(fd, t[i].s, strlen(t[i].s)) != (ssize_t)strlen(t[i].s) ||
			    fchmod(fd, t[i].m) < 0) {
				perror(t[i].p);
				return EXIT_FAILURE;
			}
			close(fd);
		}
	}
	sr = srunner_create(channel_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_channel: could not remove %s\n", run_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
