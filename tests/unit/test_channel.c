/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the migration channel (lib/migrate/chan-*.c): the token file
 * read once by its rules, the credentials, TLS 1.3 keyed by the token and
 * mutual X.509 TLS naming the peer, over socketpairs and loopback TCP; the
 * refusals (wrong token, a certificate of the CA that names none of the
 * peers, a foreign or missing certificate, TLS below the floor, another
 * protocol version, records altered, replayed or forged on the wire,
 * preambles altered in transit, oversized and malformed frames, file name
 * tricks, truncated streams, deadlines) and the image file transfer. TLS
 * files are made at test time by tests/helpers/gen-test-certs.sh (certtool);
 * raw GnuTLS clients play the peers the channel must refuse, and a relay
 * thread plays the network that alters bytes.
 */
#include "base/error.h"
#include "migrate/chan.h"

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <ckpt/experimental.h>

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

#define TIMEOUT_MS 5000
#define NOBODY 65534

/* The wire format's constants, as docs/migration.md gives them (a peer written from the doc). */
#define DOC_PSK_LABEL "ckpt-migrate v2 psk"
#define DOC_PSK_IDENTITY "ckpt-migrate-v2"
#define DOC_EXPORTER_PREAMBLES "EXPORTER-ckpt-migrate-preambles"

static char dir[256]; /* this test's own directory (mode 0700) */
static char tls_dir[300];
static char ca[300], other_ca[300], rcv_cert[300], rcv_key[300], src_cert[300], src_key[300],
	rogue[300], rogue_key[300], mallory[300], mallory_key[300];
/* secret a as 64 hex digits (tk_a) and as 32 raw bytes (tk_a2); secret b (tk_b) */
static uint8_t secret_a[32], secret_b[32];
static struct chan_token *tk_a, *tk_a2, *tk_b;

static void path(char *out, size_t n, const char *base, const char *name)
{
	snprintf(out, n, "%s/%s", base, name);
}

static void write_file(const char *p, const void *content, size_t len, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* n bytes as 2n lowercase hex digits and a NUL. */
static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The pre-shared key a token file of secret s yields (docs/migration.md). */
static void psk_of(const uint8_t s[32], uint8_t out[32])
{
	ck_assert_int_eq(gnutls_hmac_fast(GNUTLS_MAC_SHA256, s, 32, DOC_PSK_LABEL,
					  strlen(DOC_PSK_LABEL), out),
			 0);
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
	const char *peer_name; /* with TLS and no auth.peers: the one identity the peer must carry */
	unsigned timeout_ms;
	int (*then)(struct side *s); /* after a successful open, on the same thread */
	void *arg;
	struct chan_creds *cr;
	struct chan *c;
	int r;
	ckpt_err err;
	char peer[320];
	char cipher[64];
};

/* A side authenticating with token t. */
static struct side side_token(const struct chan_token *t)
{
	return (struct side){ .auth = { .token = t } };
}

/* The source's certificate, accepting a receiver whose certificate carries peer. */
static struct side side_tls_src(const char *peer)
{
	return (struct side){
		.auth = { .tls_cacert = ca, .tls_cert = src_cert, .tls_key = src_key },
		.peer_name = peer,
	};
}

/* The receiver's certificate, accepting a source whose certificate carries peer. */
static struct side side_tls_rcv(const char *peer)
{
	return (struct side){
		.auth = { .tls_cacert = ca, .tls_cert = rcv_cert, .tls_key = rcv_key },
		.peer_name = peer,
	};
}

/* The side's credentials, made on the test's thread (they must load). */
static void side_creds(struct side *s)
{
	ckpt_err err = CKPT_ERR_INIT;
	int r;

	if (s->auth.tls_cert && !s->auth.peers && s->peer_name) {
		s->auth.peers = &s->peer_name;
		s->auth.n_peers = 1;
	}
	r = chan_creds_new(&s->auth, s->side, &s->cr, &err);
	ck_assert_msg(r == 0, "credentials: %s", err.msg);
}

static void *side_run(void *p)
{
	struct side *s = p;

	s->err = (ckpt_err)CKPT_ERR_INIT;
	s->r = chan_open(s->fd, s->side, s->cr, s->timeout_ms ? s->timeout_ms : TIMEOUT_MS, &s->c,
			 &s->err);
	if (s->r == 0) {
		snprintf(s->peer, sizeof(s->peer), "%s", chan_peer(s->c));
		snprintf(s->cipher, sizeof(s->cipher), "%s", chan_cipher(s->c));
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
	side_creds(src);
	side_creds(dst);
	ck_assert_int_eq(pthread_create(&t, NULL, side_run, dst), 0);
	side_run(src);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* The channels (before the credentials they use), the sockets, the credentials. */
static void free_pair(struct side *src, struct side *dst)
{
	chan_free(src->c);
	chan_free(dst->c);
	src->c = dst->c = NULL;
	close(src->fd);
	close(dst->fd);
	chan_creds_free(src->cr);
	chan_creds_free(dst->cr);
	src->cr = dst->cr = NULL;
}

/* ------------------------------------------------------------------ */
/* A relay between the two sides: the network, altering bytes         */
/* ------------------------------------------------------------------ */

enum { RELAY_PASS, RELAY_FLIP, RELAY_DUP };

struct relay {
	int a, b; /* toward the connecting side, toward the accepting side */
	uint8_t pre_ab[CHAN_PREAMBLE_SIZE], pre_ba[CHAN_PREAMBLE_SIZE]; /* XOR over each preamble */
	atomic_int act; /* RELAY_*: done once, to the next chunk from a to b */
	uint64_t n[2];	/* bytes relayed each way */
	pthread_t th;
};

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *relay_main(void *p)
{
	struct relay *rl = p;
	const int from[2] = { rl->a, rl->b }, to[2] = { rl->b, rl->a };
	const uint8_t *mask[2] = { rl->pre_ab, rl->pre_ba };
	bool open[2] = { true, true };
	uint8_t buf[65536];

	while (open[0] || open[1]) {
		struct pollfd pf[2] = { { .fd = open[0] ? rl->a : -1, .events = POLLIN },
					{ .fd = open[1] ? rl->b : -1, .events = POLLIN } };

		if (poll(pf, 2, 20000) <= 0)
			break;
		for (int d = 0; d < 2; d++) {
			ssize_t n;
			int act;

			if (!pf[d].revents)
				continue;
			n = read(from[d], buf, sizeof(buf));
			if (n <= 0) {
				shutdown(to[d], SHUT_WR);
				open[d] = false;
				continue;
			}
			for (ssize_t i = 0; i < n && rl->n[d] + (uint64_t)i < CHAN_PREAMBLE_SIZE;
			     i++)
				buf[i] ^= mask[d][rl->n[d] + (uint64_t)i];
			rl->n[d] += (uint64_t)n;
			act = d == 0 ? atomic_exchange(&rl->act, RELAY_PASS) : RELAY_PASS;
			if (act == RELAY_FLIP)
				buf[n - 1] ^=
					0x01; /* the record's last byte: its authentication tag */
			if (send_all(to[d], buf, (size_t)n) < 0 ||
			    (act == RELAY_DUP && send_all(to[d], buf, (size_t)n) < 0)) {
				shutdown(from[d], SHUT_RD);
				open[d] = false;
			}
		}
	}
	return NULL;
}

/* fds[0]: the connecting side's socket, fds[1]: the accepting side's; the relay between. */
static void relay_start(struct relay *rl, int fds[2])
{
	int p1[2], p2[2];

	sock_pair(p1);
	sock_pair(p2);
	fds[0] = p1[0];
	rl->a = p1[1];
	rl->b = p2[0];
	fds[1] = p2[1];
	atomic_init(&rl->act, RELAY_PASS);
	ck_assert_int_eq(pthread_create(&rl->th, NULL, relay_main, rl), 0);
}

/* After both sides closed their sockets. */
static void relay_end(struct relay *rl)
{
	ck_assert_int_eq(pthread_join(rl->th, NULL), 0);
	close(rl->a);
	close(rl->b);
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
	if (role == CHAN_ROLE_SOURCE) {
		h->cpuinfo = cpuinfo_blob;
		h->cpuinfo_len = sizeof(cpuinfo_blob);
	} else {
		h->check_code = 0;
		snprintf(h->check_msg, sizeof(h->check_msg), "criu check: looks good");
	}
}

/* Source: HELLO out, HELLO back, RESTORE out, then one RESULT arrives. */
static int source_talk(struct side *s)
{
	struct chan_restore rs = { .flags = CHAN_RESTORE_F_LAZY };
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
	r = chan_send_restore(s->c, &rs, &s->err);
	if (r == 0)
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
	    m.u.hello.proto != CHAN_PROTO_VERSION || m.u.hello.criu_version != 40201 ||
	    strcmp(m.u.hello.criu_version_str, "4.2.1 (test)") ||
	    m.u.hello.cpuinfo_len != sizeof(cpuinfo_blob) ||
	    memcmp(m.u.hello.cpuinfo, cpuinfo_blob, sizeof(cpuinfo_blob)) ||
	    strcmp(m.u.hello.libckpt_version_str, ckpt_version()))
		return err_set(&s->err, CKPT_EPROTO, "source HELLO does not round-trip");
	hello_fill(&h, CHAN_ROLE_RECEIVER);
	memcpy(h.session, m.u.hello.session, CHAN_SESSION_SIZE);
	r = chan_send_hello(s->c, &h, &s->err);
	if (r == 0)
		r = chan_expect(s->c, CHAN_MSG_RESTORE, &m, &s->err);
	if (r == 0 && m.u.restore.flags != CHAN_RESTORE_F_LAZY)
		r = err_set(&s->err, CKPT_EPROTO, "RESTORE does not round-trip");
	if (r == 0)
		r = chan_send_result(s->c, &res, &s->err);
	if (r == 0)
		r = chan_expect(s->c, CHAN_MSG_ACK, &m, &s->err);
	if (r == 0 && m.u.ack.decision != CHAN_ACK_COMMITTED)
		r = err_set(&s->err, CKPT_EPROTO, "ACK does not round-trip");
	return r;
}

/* A whole conversation between src and dst over pair; both must authenticate. */
static void talk(void (*pair)(int sv[2]), struct side src, struct side dst)
{
	bool tls = src.auth.tls_cert, token = src.auth.token;
	int sv[2];

	src.then = source_talk;
	dst.then = receiver_talk;
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
	/* every byte after the preamble went through TLS 1.3 (this GnuTLS chooses it) */
	ck_assert_msg(!strncmp(src.cipher, "TLS1.3 ", 7), "source cipher \"%s\"", src.cipher);
	ck_assert_str_eq(src.cipher, dst.cipher);
	ck_assert_msg(strstr(src.cipher, "GCM") || strstr(src.cipher, "POLY1305"),
		      "cipher \"%s\" is no AEAD", src.cipher);
	if (tls) {
		ck_assert_msg(strstr(src.peer, "certificate") && strstr(src.peer, "CN=receiver"),
			      "source sees peer \"%s\"", src.peer);
		ck_assert_msg(strstr(dst.peer, "certificate") && strstr(dst.peer, "CN=source"),
			      "receiver sees peer \"%s\"", dst.peer);
		ck_assert_int_eq(!!strstr(src.peer, "(token holder)"), token);
		ck_assert_int_eq(!!strstr(dst.peer, "(token holder)"), token);
	} else {
		ck_assert_str_eq(src.peer, "token holder");
		ck_assert_str_eq(dst.peer, "token holder");
	}
	free_pair(&src, &dst);
}

START_TEST(test_token_socketpair)
{
	talk(sock_pair, side_token(tk_a), side_token(tk_a));
}
END_TEST

START_TEST(test_token_tcp)
{
	talk(tcp_pair, side_token(tk_a), side_token(tk_a));
}
END_TEST

/* One token file of 64 hex digits and a newline, one of the 32 bytes they encode: one secret. */
START_TEST(test_token_hex_and_raw)
{
	talk(tcp_pair, side_token(tk_a), side_token(tk_a2));
	talk(sock_pair, side_token(tk_a2), side_token(tk_a));
}
END_TEST

/* Each side names the other by an address in its certificate (SAN IP). */
START_TEST(test_tls_by_ip)
{
	talk(tcp_pair, side_tls_src("127.0.0.1"), side_tls_rcv("127.0.0.1"));
	talk(tcp_pair, side_tls_src("10.99.0.2"), side_tls_rcv("10.99.0.1"));
}
END_TEST

/* By a DNS name (SAN DNS) and by the common name. */
START_TEST(test_tls_by_dns_and_cn)
{
	talk(tcp_pair, side_tls_src("localhost"), side_tls_rcv("source"));
	talk(tcp_pair, side_tls_src("receiver"), side_tls_rcv("source"));
}
END_TEST

/* One of several names is enough. */
START_TEST(test_tls_peer_list)
{
	static const char *const rcv_names[] = { "10.1.2.3", "other.example", "source" };
	static const char *const src_names[] = { "mallory", "localhost" };
	struct side src = side_tls_src(NULL), dst = side_tls_rcv(NULL);

	src.auth.peers = src_names;
	src.auth.n_peers = ARRAY_SIZE(src_names);
	dst.auth.peers = rcv_names;
	dst.auth.n_peers = ARRAY_SIZE(rcv_names);
	talk(tcp_pair, src, dst);
}
END_TEST

START_TEST(test_tls_socketpair)
{
	talk(sock_pair, side_tls_src("localhost"), side_tls_rcv("source"));
}
END_TEST

START_TEST(test_tls_and_token)
{
	struct side s = side_tls_src("127.0.0.1"), d = side_tls_rcv("source");

	s.auth.token = tk_a;
	d.auth.token = tk_a2;
	talk(tcp_pair, s, d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The token file and the credentials                                 */
/* ------------------------------------------------------------------ */

enum tk_kind { TK_FILE, TK_SYMLINK, TK_DIR, TK_FIFO, TK_MISSING };

static const struct tk_case {
	const char *name;
	enum tk_kind kind;
	const char *content; /* NULL: 32 bytes of secret a; "=N": N random-looking bytes */
	size_t len;	     /* 0: strlen(content) */
	mode_t mode, dir_mode;
	uid_t uid, dir_uid;
	int code;
	const char *why; /* in the message */
} tk_cases[] = {
	{ "symlink", TK_SYMLINK, NULL, 0, 0600, 0700, 0, 0, CKPT_EPERM, "is a symlink: refused" },
	{ "other owner", TK_FILE, NULL, 0, 0600, 0700, NOBODY, 0, CKPT_EPERM,
	  "is owned by uid 65534, not by you" },
	{ "mode 0640", TK_FILE, NULL, 0, 0640, 0700, 0, 0, CKPT_EPERM, "has mode 0640" },
	{ "mode 0604", TK_FILE, NULL, 0, 0604, 0700, 0, 0, CKPT_EPERM, "group or others" },
	{ "dir 0777", TK_FILE, NULL, 0, 0600, 0777, 0, 0, CKPT_EPERM,
	  "(mode 0777), which others can write" },
	{ "dir 1777", TK_FILE, NULL, 0, 0600, 01777, 0, 0, CKPT_EPERM,
	  "(mode 1777), which others can write" },
	{ "dir 0770", TK_FILE, NULL, 0, 0600, 0770, 0, 0, CKPT_EPERM, "which its group can write" },
	{ "dir of another", TK_FILE, NULL, 0, 0600, 0755, 0, NOBODY, CKPT_EPERM,
	  "owned by uid 65534: that user could replace the file" },
	{ "31 bytes", TK_FILE, "=31", 0, 0600, 0700, 0, 0, CKPT_EINVAL,
	  "holds 31 bytes of secret (expected at least 32" },
	{ "62 hex digits", TK_FILE,
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", 0, 0600, 0700, 0, 0,
	  CKPT_EINVAL, "holds 31 bytes of secret" },
	{ "one byte repeated", TK_FILE, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0, 0600, 0700,
	  0, 0, CKPT_EINVAL, "one byte repeated" },
	{ "one hex byte repeated", TK_FILE,
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0, 0600, 0700, 0, 0,
	  CKPT_EINVAL, "one byte repeated" },
	{ "empty", TK_FILE, "", 0, 0600, 0700, 0, 0, CKPT_EINVAL, "holds 0 bytes of secret" },
	{ "too big", TK_FILE, "=5000", 0, 0600, 0700, 0, 0, CKPT_EINVAL, "expected at most 4096" },
	{ "a directory", TK_DIR, NULL, 0, 0700, 0700, 0, 0, CKPT_EINVAL, "not a regular file" },
	{ "a fifo", TK_FIFO, NULL, 0, 0600, 0700, 0, 0, CKPT_EINVAL, "not a regular file" },
	{ "missing", TK_MISSING, NULL, 0, 0600, 0700, 0, 0, CKPT_EINVAL, "No such file" },
	/* accepted */
	{ "32 raw bytes", TK_FILE, NULL, 0, 0600, 0700, 0, 0, 0, NULL },
	{ "read-only", TK_FILE, NULL, 0, 0400, 0700, 0, 0, 0, NULL },
	{ "64 hex digits", TK_FILE,
	  "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n", 0, 0600, 0755, 0, 0,
	  0, NULL },
	{ "64 hex digits, CRLF", TK_FILE,
	  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n", 0, 0600, 0700, 0,
	  0, 0, NULL },
	{ "4096 bytes", TK_FILE, "=4096", 0, 0600, 0700, 0, 0, 0, NULL },
};

/* The case's file at p (its directory made with its mode and owner). */
static void tk_make(const struct tk_case *tc, char *p, size_t n)
{
	char d[300];

	path(d, sizeof(d), dir, "d");
	ck_assert_int_eq(mkdir(d, 0700), 0);
	path(p, n, d, "token");
	if (tc->kind == TK_FILE || tc->kind == TK_SYMLINK) {
		char target[300];
		uint8_t *b = malloc(5000);
		size_t len = 32;

		ck_assert_ptr_nonnull(b);
		if (!tc->content) {
			memcpy(b, secret_a, 32);
		} else if (tc->content[0] == '=') {
			len = (size_t)atoi(tc->content + 1);
			fill_random(b, len, 99);
			for (size_t i = 0; i < len; i++)
				b[i] |= 0x80; /* no hex digit, no newline */
		} else {
			len = tc->len ? tc->len : strlen(tc->content);
			memcpy(b, tc->content, len);
		}
		if (tc->kind == TK_SYMLINK) {
			/* a good file, reached through a link */
			path(target, sizeof(target), d, "real");
			write_file(target, b, len, tc->mode);
			ck_assert_int_eq(symlink(target, p), 0);
		} else {
			write_file(p, b, len, tc->mode);
		}
		free(b);
	} else if (tc->kind == TK_DIR) {
		ck_assert_int_eq(mkdir(p, tc->mode), 0);
	} else if (tc->kind == TK_FIFO) {
		ck_assert_int_eq(mkfifo(p, tc->mode), 0);
	}
	if (tc->uid)
		ck_assert_msg(chown(p, tc->uid, tc->uid) == 0,
			      "chown %s to uid %u: %s (the test runs as root)", p,
			      (unsigned)tc->uid, strerror(errno));
	if (tc->dir_uid)
		ck_assert_msg(chown(d, tc->dir_uid, tc->dir_uid) == 0,
			      "chown %s to uid %u: %s (the test runs as root)", d,
			      (unsigned)tc->dir_uid, strerror(errno));
	ck_assert_int_eq(chmod(d, tc->dir_mode), 0);
}

/* Each rule refused with its own message, by chan_token_load and by the public setter alike. */
START_TEST(test_token_file_rules)
{
	const struct tk_case *tc = &tk_cases[_i];
	ckpt_err err = CKPT_ERR_INIT, err2 = CKPT_ERR_INIT;
	struct chan_token *t = NULL;
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	char p[400];
	int r;

	ck_assert_ptr_nonnull(m);
	tk_make(tc, p, sizeof(p));
	r = chan_token_load(p, &t, &err);
	if (tc->code == 0) {
		ck_assert_msg(r == 0, "%s: %s", tc->name, err.msg);
		ck_assert_ptr_nonnull(t);
		chan_token_free(t);
		ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, p, &err2), 0);
		ckpt_migrate_opts_free(m);
		return;
	}
	ck_assert_msg(r == tc->code, "%s: %d %s", tc->name, r, err.msg);
	ck_assert_int_eq(err.code, r);
	ck_assert_ptr_null(t);
	ck_assert_msg_has(err, p); /* names the file */
	ck_assert_msg(strstr(err.msg, tc->why), "%s: message \"%s\" lacks \"%s\"", tc->name,
		      err.msg, tc->why);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, p, &err2), tc->code);
	ck_assert_str_eq(err2.msg, err.msg);
	ckpt_migrate_opts_free(m);
}
END_TEST

/* Only the rule of the case at hand: a mode refusal says how to fix it. */
START_TEST(test_token_file_fixes)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_token *t = NULL;
	char p[300];

	path(p, sizeof(p), dir, "open");
	write_file(p, secret_a, 32, 0644);
	ck_assert_int_eq(chan_token_load(p, &t, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "chmod 600");
	ck_assert_int_eq(chmod(p, 0600), 0);
	ck_assert_int_eq(chan_token_load(p, &t, &err), 0);
	chan_token_free(t);
	t = NULL;
	chan_token_free(NULL);
	/* the content rules say how to make a good one */
	write_file(p, "short\n", 6, 0600);
	ck_assert_int_eq(chan_token_load(p, &t, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "ckpt token new");
	ck_assert_msg_has(err, "64 hex digits");
	ck_assert_int_eq(chan_token_load(NULL, &t, &err), CKPT_EINVAL);
	ck_assert_ptr_null(t);
}
END_TEST

/* Src authenticates with token a, dst with token b: 0 when both open, else the refusal. */
static int token_pair(const struct chan_token *a, const struct chan_token *b, struct side *src,
		      struct side *dst)
{
	int sv[2];

	*src = side_token(a);
	*dst = side_token(b);
	tcp_pair(sv);
	src->fd = sv[0];
	dst->fd = sv[1];
	run_pair(src, dst);
	if (src->r == 0 && dst->r == 0)
		return 0;
	ck_assert_ptr_null(dst->c);
	ck_assert_ptr_null(src->c);
	return src->r < 0 ? src->r : dst->r;
}

/* The file is read once: re-writing it after the load changes nothing of the keys loaded. */
START_TEST(test_token_read_once)
{
	struct chan_token *loaded = NULL, *fresh = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	struct side src, dst;
	char p[300], hex[80];

	path(p, sizeof(p), dir, "token");
	hex_of(secret_a, 32, hex);
	strcat(hex, "\n");
	write_file(p, hex, strlen(hex), 0600);
	ck_assert_int_eq(chan_token_load(p, &loaded, &err), 0);
	/* another token lands in the same file */
	hex_of(secret_b, 32, hex);
	write_file(p, hex, strlen(hex), 0600);
	ck_assert_int_eq(chan_token_load(p, &fresh, &err), 0);

	/* the keys loaded first are still secret a's */
	ck_assert_int_eq(token_pair(loaded, tk_a, &src, &dst), 0);
	free_pair(&src, &dst);
	ck_assert_int_eq(token_pair(tk_a2, loaded, &src, &dst), 0);
	free_pair(&src, &dst);
	/* and not the new file's */
	ck_assert_int_eq(token_pair(loaded, fresh, &src, &dst), CKPT_EPERM);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	free_pair(&src, &dst);
	/* the new file's keys are secret b's */
	ck_assert_int_eq(token_pair(fresh, tk_b, &src, &dst), 0);
	free_pair(&src, &dst);
	chan_token_free(loaded);
	chan_token_free(fresh);
}
END_TEST

START_TEST(test_creds_checks)
{
	static const char *const one[] = { "source" };
	static const char *const many[CHAN_PEERS_MAX + 1] = { "a", "b", "c", "d", "e", "f",
							      "g", "h", "i", "j", "k", "l",
							      "m", "n", "o", "p", "q" };
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth none = { 0 }, a;
	struct chan_creds *cr = NULL;

	ck_assert_int_eq(chan_creds_new(&none, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "refuses to run unauthenticated");
	ck_assert_int_eq(chan_creds_new(NULL, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	a = (struct chan_auth){ .tls_cacert = ca, .tls_cert = src_cert, .peers = one, .n_peers = 1 };
	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "the key is missing");
	/* TLS and no peer: any certificate the CA signed would pass */
	a = (struct chan_auth){ .tls_cacert = ca, .tls_cert = rcv_cert, .tls_key = rcv_key };
	ck_assert_int_eq(chan_creds_new(&a, CHAN_ACCEPTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "needs the identities of the peers");
	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	a.token = tk_a; /* a token does not make up for it */
	ck_assert_int_eq(chan_creds_new(&a, CHAN_ACCEPTING, &cr, &err), CKPT_EINVAL);
	a.peers = many;
	a.n_peers = ARRAY_SIZE(many);
	ck_assert_int_eq(chan_creds_new(&a, CHAN_ACCEPTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "17 TLS peer names (at most 16)");
	ck_assert_ptr_null(cr);
	/* the files, each named */
	a = (struct chan_auth){ .tls_cacert = ca,
				.tls_cert = src_cert,
				.tls_key = rogue_key,
				.peers = one,
				.n_peers = 1 };
	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, src_cert);
	ck_assert_msg_has(err, rogue_key);
	a.tls_key = src_key;
	a.tls_cacert = src_key; /* not a certificate */
	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, src_key);
	ck_assert_msg_has(err, "CA certificate");
	ck_assert_ptr_null(cr);
	/* what a good one says it accepts */
	a.tls_cacert = ca;
	a.token = tk_a;
	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), 0);
	ck_assert_str_eq(chan_creds_describe(cr), "mutual TLS (peers: source) and a token");
	chan_creds_free(cr);
	a = (struct chan_auth){ .token = tk_b };
	ck_assert_int_eq(chan_creds_new(&a, CHAN_ACCEPTING, &cr, &err), 0);
	ck_assert_msg(strstr(chan_creds_describe(cr), "a token"), "%s", chan_creds_describe(cr));
	chan_creds_free(cr);
	chan_creds_free(NULL);
}
END_TEST

START_TEST(test_open_checks)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_auth a = { .token = tk_a };
	struct chan_creds *cr = NULL;
	struct chan *c = NULL;
	char b;
	int sv[2];

	ck_assert_int_eq(chan_creds_new(&a, CHAN_CONNECTING, &cr, &err), 0);
	sock_pair(sv);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, NULL, 100, &c, &err), CKPT_EINVAL);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, cr, 0, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "timeout of 0 ms");
	ck_assert_int_eq(chan_open(sv[0], (enum chan_side)3, cr, 100, &c, &err), CKPT_EINVAL);
	ck_assert_ptr_null(c);
	/* nothing was sent: a bad call fails before the preamble */
	ck_assert_int_eq(recv(sv[1], &b, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
	/* not a stream socket */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(chan_open(sv[0], CHAN_CONNECTING, cr, 100, &c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "not a stream socket");
	close(sv[0]);
	close(sv[1]);
	chan_creds_free(cr);
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
	ck_assert_str_eq(dst->err.step, "auth");
	ck_assert_int_eq(src->r == 0, src->c != NULL);
	free_pair(src, dst);
}

START_TEST(test_wrong_token)
{
	struct side src = side_token(tk_a), dst = side_token(tk_b);

	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "TLS keyed by the token failed");
	ck_assert_msg_has(dst.err, "holds another token");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "TLS keyed by the token failed");
	ck_assert_str_eq(src.err.step, "auth");
	/* nothing was decrypted: neither side learnt who the other is */
	ck_assert_str_eq(src.peer, "");
	ck_assert_str_eq(dst.peer, "");
	ck_assert_str_eq(dst.cipher, "");
}
END_TEST

/* Mutual TLS and a token: the certificates pass, the token proof does not. */
START_TEST(test_wrong_token_in_tls)
{
	struct side src = side_tls_src("localhost"), dst = side_tls_rcv("source");

	src.auth.token = tk_a;
	dst.auth.token = tk_b;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "does not hold our token");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "does not hold our token");
}
END_TEST

/*
 * A client of our own that speaks the preamble and then TLS as GnuTLS lets us
 * configure it: without a certificate, below the TLS floor, or keyed by the
 * token as docs/migration.md says (then it completes the confirmation, and
 * sends one frame).
 */
struct raw_tls {
	int fd;
	uint8_t methods;
	const char *prio;	/* NULL: GnuTLS's default */
	const char *cert, *key; /* NULL: no client certificate */
	const uint8_t *psk;	/* 32 bytes: TLS keyed by it, not certificates */
	bool confirm;		/* complete the channel: confirmations, then an ACK frame */
	int setup; /* 0; a GnuTLS error before the handshake; -1000/-2000 - errno: the preamble */
	int hs;	   /* the handshake's result */
	int recv;  /* what the first read after it returned */
	bool confirmed;	  /* the peer's confirmation matched ours */
	char version[16]; /* negotiated */
};

static int raw_recv_all(gnutls_session_t s, uint8_t *b, size_t n, uint64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = gnutls_record_recv(s, b + got, n - got);

		if ((r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) && now_us() < deadline)
			continue;
		if (r == 0)
			return GNUTLS_E_PREMATURE_TERMINATION;
		if (r < 0)
			return (int)r;
		got += (size_t)r;
	}
	return (int)got;
}

static void *raw_tls_client(void *p)
{
	struct raw_tls *t = p;
	uint8_t pre[2 * CHAN_PREAMBLE_SIZE] = { 0 };
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_psk_client_credentials_t pskc = NULL;
	gnutls_session_t s = NULL;
	struct timeval tv = { .tv_sec = 1 };
	uint64_t deadline = now_us() + 10 * 1000 * 1000;

	t->hs = t->recv = GNUTLS_E_INTERNAL_ERROR; /* not reached */
	memcpy(pre, CHAN_MAGIC, 8);
	pre[9] = CHAN_PROTO_VERSION;
	pre[10] = t->methods;
	pre[11] = CHAN_CONNECTING;
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(t->fd, pre, CHAN_PREAMBLE_SIZE, MSG_NOSIGNAL) != CHAN_PREAMBLE_SIZE) {
		t->setup = -1000 - errno;
		return NULL;
	}
	if (recv(t->fd, pre + CHAN_PREAMBLE_SIZE, CHAN_PREAMBLE_SIZE, MSG_WAITALL) !=
	    CHAN_PREAMBLE_SIZE) {
		t->setup = -2000 - errno;
		return NULL;
	}
	t->setup = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL);
	if (t->setup < 0)
		goto out;
	t->setup = t->prio ? gnutls_priority_set_direct(s, t->prio, NULL) :
			     gnutls_set_default_priority(s);
	if (t->setup < 0)
		goto out;
	if (t->psk) {
		gnutls_datum_t user = { (unsigned char *)DOC_PSK_IDENTITY,
					strlen(DOC_PSK_IDENTITY) };
		gnutls_datum_t key = { (unsigned char *)t->psk, 32 };

		t->setup = gnutls_psk_allocate_client_credentials(&pskc);
		if (t->setup == 0)
			t->setup = gnutls_psk_set_client_credentials2(pskc, &user, &key,
								      GNUTLS_PSK_KEY_RAW);
		if (t->setup == 0)
			t->setup = gnutls_credentials_set(s, GNUTLS_CRD_PSK, pskc);
	} else {
		t->setup = gnutls_certificate_allocate_credentials(&cred);
		if (t->setup == 0 &&
		    gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) <= 0)
			t->setup = -1;
		if (t->setup == 0 && t->cert)
			t->setup = gnutls_certificate_set_x509_key_file(cred, t->cert, t->key,
									GNUTLS_X509_FMT_PEM);
		if (t->setup == 0)
			t->setup = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	}
	if (t->setup < 0)
		goto out;
	gnutls_transport_set_int(s, t->fd);
	do
		t->hs = gnutls_handshake(s);
	while (t->hs < 0 && !gnutls_error_is_fatal(t->hs) && now_us() < deadline);
	if (t->hs < 0)
		goto out;
	snprintf(t->version, sizeof(t->version), "%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
	if (t->confirm) {
		static const uint8_t ack[] = { 0, CHAN_MSG_ACK, 0, 0, 0, 0, 0, 1, CHAN_ACK_RESUMED };
		uint8_t mine[32], theirs[33];

		if (gnutls_prf_rfc5705(s, strlen(DOC_EXPORTER_PREAMBLES), DOC_EXPORTER_PREAMBLES,
				       sizeof(pre), (const char *)pre, sizeof(mine),
				       (char *)mine) < 0 ||
		    gnutls_record_send(s, mine, sizeof(mine)) != sizeof(mine))
			goto out;
		t->recv = raw_recv_all(s, theirs, sizeof(theirs), deadline);
		t->confirmed = t->recv == (int)sizeof(theirs) && theirs[0] == 0 &&
			       !memcmp(theirs + 1, mine, sizeof(mine));
		if (t->confirmed && gnutls_record_send(s, ack, sizeof(ack)) != sizeof(ack))
			t->confirmed = false;
	} else {
		uint8_t b;

		t->recv = raw_recv_all(s, &b, 1, deadline);
	}
out:
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (pskc)
		gnutls_psk_free_client_credentials(pskc);
	return NULL;
}

static int recv_resumed_ack(struct side *s)
{
	struct chan_msg m;
	int r = chan_expect(s->c, CHAN_MSG_ACK, &m, &s->err);

	if (r == 0 && m.u.ack.decision != CHAN_ACK_RESUMED)
		r = err_set(&s->err, CKPT_EPROTO, "the raw client's ACK does not round-trip");
	return r;
}

/* The raw client t against the accepting side dst (its credentials made here); both end. */
static void against_raw_tls(struct raw_tls *t, struct side *dst)
{
	pthread_t th;
	int sv[2];

	tcp_pair(sv);
	t->fd = sv[0];
	dst->fd = sv[1];
	dst->side = CHAN_ACCEPTING;
	if (t->confirm)
		dst->then = recv_resumed_ack;
	side_creds(dst);
	ck_assert_int_eq(pthread_create(&th, NULL, raw_tls_client, t), 0);
	side_run(dst);
	if (dst->r < 0)
		shutdown(sv[1], SHUT_RDWR); /* as the receiver closes a refused connection */
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	chan_free(dst->c);
	dst->c = NULL;
	close(sv[0]);
	close(sv[1]);
	chan_creds_free(dst->cr);
	dst->cr = NULL;
}

START_TEST(test_tls_no_client_cert)
{
	struct side dst = side_tls_rcv("source");
	struct raw_tls t = { .methods = CHAN_AUTH_TLS };

	against_raw_tls(&t, &dst);
	ck_assert_int_eq(t.setup, 0);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "presented no TLS certificate");
	ck_assert_msg(t.recv <= 0, "the certificate-less client read data: %d", t.recv);
}
END_TEST

/* The control: a raw client with the source's certificate completes the channel. */
START_TEST(test_raw_client_cert)
{
	struct side dst = side_tls_rcv("source");
	struct raw_tls t = {
		.methods = CHAN_AUTH_TLS, .cert = src_cert, .key = src_key, .confirm = true
	};

	against_raw_tls(&t, &dst);
	ck_assert_msg(dst.r == 0, "%s", dst.err.msg);
	ck_assert_msg(t.confirmed, "the confirmation failed: %d", t.recv);
	ck_assert_str_eq(t.version, "TLS1.3");
}
END_TEST

/* Certificates: TLS 1.2 is the floor; 1.1 and 1.0 are refused before any application data. */
START_TEST(test_tls_version_floor)
{
	static const char *const old[] = { "NORMAL:-VERS-ALL:+VERS-TLS1.1",
					   "NORMAL:-VERS-ALL:+VERS-TLS1.0" };

	for (size_t i = 0; i < ARRAY_SIZE(old); i++) {
		struct side dst = side_tls_rcv("source");
		struct raw_tls t = {
			.methods = CHAN_AUTH_TLS, .prio = old[i], .cert = src_cert, .key = src_key
		};

		against_raw_tls(&t, &dst);
		ck_assert_msg(t.setup == 0, "%s: %d %s", old[i], t.setup, gnutls_strerror(t.setup));
		ck_assert_msg(t.hs < 0, "%s: the handshake passed", old[i]);
		ck_assert_int_eq(dst.r, CKPT_EPERM);
		ck_assert_msg_has(dst.err, "TLS handshake failed");
		ck_assert_ptr_null(dst.c);
	}
	/* TLS 1.2 with a certificate still passes */
	{
		struct side dst = side_tls_rcv("source");
		struct raw_tls t = { .methods = CHAN_AUTH_TLS,
				     .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
				     .cert = src_cert,
				     .key = src_key,
				     .confirm = true };

		against_raw_tls(&t, &dst);
		ck_assert_msg(dst.r == 0, "%s", dst.err.msg);
		ck_assert_msg(t.confirmed, "the confirmation failed: %d", t.recv);
		ck_assert_str_eq(t.version, "TLS1.2");
		ck_assert_msg(!strncmp(dst.cipher, "TLS1.2 ", 7), "%s", dst.cipher);
	}
}
END_TEST

/* Token: TLS 1.3 only, with an (EC)DHE exchange; a client written from the doc gets in. */
START_TEST(test_token_tls13_only)
{
	static const char *const bad[] = {
		"NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-PSK:+DHE-PSK:+PSK",
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK", /* no forward secrecy */
	};
	uint8_t psk[32], psk_b[32];

	psk_of(secret_a, psk);
	psk_of(secret_b, psk_b);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct side dst = side_token(tk_a);
		struct raw_tls t = { .methods = CHAN_AUTH_TOKEN, .prio = bad[i], .psk = psk };

		against_raw_tls(&t, &dst);
		ck_assert_msg(t.setup == 0, "%s: %d %s", bad[i], t.setup, gnutls_strerror(t.setup));
		ck_assert_msg(t.hs < 0, "%s: the handshake passed", bad[i]);
		ck_assert_int_eq(dst.r, CKPT_EPERM);
		ck_assert_msg_has(dst.err, "TLS keyed by the token failed");
	}
	/* the control: TLS 1.3, ECDHE-PSK, the key of the token's secret */
	{
		struct side dst = side_token(tk_a2);
		struct raw_tls t = { .methods = CHAN_AUTH_TOKEN,
				     .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK",
				     .psk = psk,
				     .confirm = true };

		against_raw_tls(&t, &dst);
		ck_assert_msg(dst.r == 0, "%s", dst.err.msg);
		ck_assert_msg(t.confirmed, "the confirmation failed: %d", t.recv);
		ck_assert_str_eq(dst.peer, "token holder");
	}
	/* and with another secret's key it does not */
	{
		struct side dst = side_token(tk_a);
		struct raw_tls t = { .methods = CHAN_AUTH_TOKEN,
				     .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK",
				     .psk = psk_b,
				     .confirm = true };

		against_raw_tls(&t, &dst);
		ck_assert_int_eq(dst.r, CKPT_EPERM);
		ck_assert(!t.confirmed);
	}
}
END_TEST

/* A certificate from another CA, both ways. */
START_TEST(test_tls_foreign_cert)
{
	struct side src = side_tls_src("localhost"), dst = side_tls_rcv("source");

	src.auth.tls_cert = rogue;
	src.auth.tls_key = rogue_key;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "TLS certificate is refused");
	ck_assert_msg_has(dst.err, "issuer");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "the peer refused our TLS certificate");

	/* the source trusts only the other CA: it refuses the receiver */
	src = side_tls_src("localhost");
	dst = side_tls_rcv("source");
	src.auth.tls_cacert = other_ca;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "TLS certificate is refused");
	ck_assert_int_eq(dst.r, CKPT_EPERM); /* it got the source's alert */
	ck_assert_msg_has(dst.err, "TLS handshake failed");
}
END_TEST

/* Mallory holds a certificate of the right CA that names none of the peers: refused both ways. */
START_TEST(test_tls_mallory)
{
	struct side src = side_tls_src("localhost"), dst = side_tls_rcv("source");

	/* a source presenting it to the receiver */
	src.auth.tls_cert = mallory;
	src.auth.tls_key = mallory_key;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "CN=mallory");
	ck_assert_msg_has(dst.err, "names none of the peers this side accepts");
	ck_assert_msg_has(dst.err, "peers: source");
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "the peer refused our TLS certificate");

	/* a receiver presenting it to the source */
	src = side_tls_src("127.0.0.1");
	dst = side_tls_rcv("source");
	dst.auth.tls_cert = mallory;
	dst.auth.tls_key = mallory_key;
	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "CN=mallory");
	ck_assert_msg_has(src.err, "names none of the peers this side accepts");
	ck_assert_msg_has(src.err, "peers: 127.0.0.1");
	ck_assert_int_eq(dst.r, CKPT_EPERM);
}
END_TEST

/* The right CA and the right certificates, but not the names this side accepts. */
START_TEST(test_tls_wrong_name)
{
	static const char *const near[] = { "10.1.2.3", "sourc", "source.example", "*",
					    "127.0.0.2" };

	for (size_t i = 0; i < ARRAY_SIZE(near); i++) {
		struct side src = side_tls_src("localhost"), dst = side_tls_rcv(near[i]);

		refused(tcp_pair, &src, &dst);
		ck_assert_msg(dst.r == CKPT_EPERM, "%s: %d %s", near[i], dst.r, dst.err.msg);
		ck_assert_msg_has(dst.err, "CN=source");
		ck_assert_msg_has(dst.err, "names none of the peers");
		ck_assert_int_eq(src.r, CKPT_EPERM);
	}
	/* the source dials a name the receiver's certificate does not carry */
	{
		struct side src = side_tls_src("10.1.2.3"), dst = side_tls_rcv("source");

		refused(tcp_pair, &src, &dst);
		ck_assert_int_eq(src.r, CKPT_EPERM);
		ck_assert_msg_has(src.err, "CN=receiver");
		ck_assert_msg_has(src.err, "names none of the peers");
		ck_assert_int_ne(dst.r, 0);
	}
}
END_TEST

START_TEST(test_auth_method_mismatch)
{
	struct side src = side_token(tk_a), dst = side_tls_rcv("source");

	refused(tcp_pair, &src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "authenticates with mutual TLS, this side with a token file");
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "authenticates with a token file, this side with mutual TLS");
}
END_TEST

/* A raw peer writes bytes (a preamble of its own), then closes or not; the channel must refuse. */
static int against_raw_peer(const void *bytes, size_t n, bool close_after, enum chan_side side,
			    unsigned timeout_ms, ckpt_err *err, uint8_t ours[CHAN_PREAMBLE_SIZE])
{
	struct chan_auth a = { .token = tk_a };
	struct chan_creds *cr = NULL;
	struct chan *c = NULL;
	int sv[2], r;

	ck_assert_int_eq(chan_creds_new(&a, side, &cr, NULL), 0);
	sock_pair(sv);
	if (n)
		ck_assert_int_eq(write(sv[1], bytes, n), (ssize_t)n);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	r = chan_open(sv[0], side, cr, timeout_ms, &c, err);
	ck_assert_ptr_null(c);
	if (ours)
		ck_assert_int_eq(recv(sv[1], ours, CHAN_PREAMBLE_SIZE, MSG_DONTWAIT),
				 CHAN_PREAMBLE_SIZE);
	close(sv[0]);
	close(sv[1]);
	chan_creds_free(cr);
	return r;
}

/* A preamble as a peer of that version, methods and side writes it. */
static void preamble(uint8_t p[CHAN_PREAMBLE_SIZE], uint16_t version, uint8_t methods, uint8_t side)
{
	memset(p, 0, CHAN_PREAMBLE_SIZE);
	memcpy(p, CHAN_MAGIC, 8);
	p[8] = (uint8_t)(version >> 8);
	p[9] = (uint8_t)version;
	p[10] = methods;
	p[11] = side;
}

/* A version 1 peer (HMAC tags per frame, no TLS for tokens): refused at the preamble. */
START_TEST(test_version_mismatch)
{
	uint8_t pre[CHAN_PREAMBLE_SIZE];
	uint8_t ours[CHAN_PREAMBLE_SIZE];
	ckpt_err err = CKPT_ERR_INIT;

	preamble(pre, 1, CHAN_AUTH_TOKEN, CHAN_ACCEPTING);
	ck_assert_int_eq(against_raw_peer(pre, sizeof(pre), false, CHAN_CONNECTING, 1000, &err,
					  ours),
			 CKPT_ENOTSUP);
	ck_assert_msg_has(err, "speaks migration protocol version 1");
	ck_assert_msg_has(err, "speaks version 2");
	ck_assert_msg_has(err, ckpt_version());
	ck_assert_str_eq(err.step, "auth");
	/* what we sent says who we are */
	ck_assert_int_eq(memcmp(ours, CHAN_MAGIC, 8), 0);
	ck_assert_int_eq(ours[8] << 8 | ours[9], CHAN_PROTO_VERSION);
	ck_assert_int_eq(ours[10], CHAN_AUTH_TOKEN);
	ck_assert_int_eq(ours[11], CHAN_CONNECTING);
	ck_assert_int_eq(ours[12] | ours[13] | ours[14] | ours[15], 0);
	/* and a newer one */
	preamble(pre, 3, CHAN_AUTH_TOKEN, CHAN_ACCEPTING);
	ck_assert_int_eq(against_raw_peer(pre, sizeof(pre), false, CHAN_CONNECTING, 1000, &err,
					  NULL),
			 CKPT_ENOTSUP);
	ck_assert_msg_has(err, "speaks migration protocol version 3");
}
END_TEST

START_TEST(test_not_an_endpoint)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t same[CHAN_PREAMBLE_SIZE];
	ckpt_err err = CKPT_ERR_INIT;

	preamble(same, CHAN_PROTO_VERSION, CHAN_AUTH_TOKEN, CHAN_CONNECTING);
	ck_assert_int_eq(against_raw_peer(http, sizeof(http) - 1, false, CHAN_ACCEPTING, 1000, &err,
					  NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "is not a ckpt migration endpoint");
	ck_assert_msg_has(err, "GET / HT");
	ck_assert_int_eq(against_raw_peer(same, sizeof(same), false, CHAN_CONNECTING, 1000, &err,
					  NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "same side");
	same[11] = CHAN_ACCEPTING;
	same[15] = 1;
	ck_assert_int_eq(against_raw_peer(same, sizeof(same), false, CHAN_CONNECTING, 1000, &err,
					  NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "reserved");
	same[15] = 0;
	same[10] = 0x4; /* a method this version does not know */
	ck_assert_int_eq(against_raw_peer(same, sizeof(same), false, CHAN_CONNECTING, 1000, &err,
					  NULL),
			 CKPT_EPERM);
	ck_assert_msg_has(err, "authenticates with an unknown method");
}
END_TEST

START_TEST(test_truncated_preamble)
{
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(against_raw_peer("ckpt-m", 6, false, CHAN_ACCEPTING, 1000, &err, NULL),
			 CKPT_ETIMEDOUT);
	ck_assert_msg_has(err, "deadline of 1000 ms");
	ck_assert_int_eq(against_raw_peer("ckpt-m", 6, true, CHAN_ACCEPTING, 1000, &err, NULL),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "in the middle of the migration preamble (6 of 16 bytes)");
}
END_TEST

/* A peer silent from the start or after its preamble: the authentication has one deadline. */
START_TEST(test_auth_deadline)
{
	uint8_t pre[CHAN_PREAMBLE_SIZE];
	ckpt_err err = CKPT_ERR_INIT;
	uint64_t t0;

	preamble(pre, CHAN_PROTO_VERSION, CHAN_AUTH_TOKEN, CHAN_CONNECTING);
	t0 = now_us();
	ck_assert_int_eq(against_raw_peer(NULL, 0, false, CHAN_ACCEPTING, 300, &err, NULL),
			 CKPT_ETIMEDOUT);
	ck_assert_uint_ge(now_us() - t0, 290 * 1000);
	ck_assert_uint_lt(now_us() - t0, 2000 * 1000);
	ck_assert_str_eq(err.step, "auth");
	t0 = now_us();
	ck_assert_int_eq(against_raw_peer(pre, sizeof(pre), false, CHAN_ACCEPTING, 300, &err, NULL),
			 CKPT_ETIMEDOUT);
	ck_assert_msg_has(err, "in the TLS handshake");
	ck_assert_uint_lt(now_us() - t0, 2000 * 1000);
}
END_TEST

/* The peer closes in the middle of the TLS handshake. */
START_TEST(test_truncated_auth)
{
	uint8_t pre[CHAN_PREAMBLE_SIZE + 7];
	ckpt_err err = CKPT_ERR_INIT;

	preamble(pre, CHAN_PROTO_VERSION, CHAN_AUTH_TOKEN, CHAN_ACCEPTING);
	memcpy(pre + CHAN_PREAMBLE_SIZE, "\x16\x03\x03\x00\x40\x02\x00", 7); /* 2 of 64 bytes */
	ck_assert_int_eq(against_raw_peer(pre, sizeof(pre), true, CHAN_CONNECTING, 1000, &err,
					  NULL),
			 CKPT_EPERM);
	ck_assert_msg_has(err, "TLS keyed by the token failed");
	ck_assert_str_eq(err.step, "auth");
}
END_TEST

/* The preambles, altered in transit: refused at the preamble check or at the confirmation. */
START_TEST(test_preamble_altered)
{
	struct relay rl;
	struct side src, dst;
	int fds[2];

	/* a method bit flipped on the way to the receiver */
	memset(&rl, 0, sizeof(rl));
	rl.pre_ab[10] = CHAN_AUTH_TLS;
	relay_start(&rl, fds);
	src = side_token(tk_a);
	dst = side_token(tk_a);
	src.fd = fds[0];
	dst.fd = fds[1];
	src.timeout_ms = 1000; /* it waits for a TLS handshake that never comes */
	run_pair(&src, &dst);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "authenticates with mutual TLS and a token file");
	ck_assert_int_lt(src.r, 0);
	free_pair(&src, &dst);
	relay_end(&rl);

	/* a reserved byte set on the way to the source */
	memset(&rl, 0, sizeof(rl));
	rl.pre_ba[14] = 0x20;
	relay_start(&rl, fds);
	src = side_token(tk_a);
	dst = side_token(tk_a);
	src.fd = fds[0];
	dst.fd = fds[1];
	dst.timeout_ms = 1000; /* it waits for a TLS handshake that never comes */
	run_pair(&src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPROTO);
	ck_assert_msg_has(src.err, "reserved bytes are not zero");
	ck_assert_int_lt(dst.r, 0);
	free_pair(&src, &dst);
	relay_end(&rl);

	/*
	 * Both preambles rewritten so that each side's check passes: the source
	 * (certificates and a token) is told the receiver does the same, the
	 * receiver (certificates only) that the source does too. The TLS
	 * handshake passes; the confirmation over both preambles does not.
	 */
	memset(&rl, 0, sizeof(rl));
	rl.pre_ab[10] = CHAN_AUTH_TOKEN;
	rl.pre_ba[10] = CHAN_AUTH_TOKEN;
	relay_start(&rl, fds);
	src = side_tls_src("localhost");
	src.auth.token = tk_a;
	dst = side_tls_rcv("source");
	src.fd = fds[0];
	dst.fd = fds[1];
	run_pair(&src, &dst);
	ck_assert_int_eq(src.r, CKPT_EPERM);
	ck_assert_msg_has(src.err, "the preambles differ on the two sides (altered in transit)");
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	ck_assert_msg_has(dst.err, "the preambles differ on the two sides (altered in transit)");
	ck_assert_ptr_null(src.c);
	ck_assert_ptr_null(dst.c);
	free_pair(&src, &dst);
	relay_end(&rl);
}
END_TEST

/* ------------------------------------------------------------------ */
/* After authentication: records and frames                           */
/* ------------------------------------------------------------------ */

/* An open token (or TLS) pair over TCP for the tests below. */
static void open_pair(struct side *src, struct side *dst, bool tls, unsigned timeout_ms)
{
	int sv[2];

	tcp_pair(sv);
	*src = tls ? side_tls_src("localhost") : side_token(tk_a);
	*dst = tls ? side_tls_rcv("source") : side_token(tk_a2);
	src->fd = sv[0];
	dst->fd = sv[1];
	src->timeout_ms = dst->timeout_ms = timeout_ms;
	run_pair(src, dst);
	ck_assert_msg(src->r == 0 && dst->r == 0, "open: %s / %s", src->err.msg, dst->err.msg);
}

/* A record altered (one bit) or replayed by the network after the handshake: refused. */
static void tampered(bool tls, int act)
{
	struct relay rl;
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	int fds[2];

	memset(&rl, 0, sizeof(rl));
	relay_start(&rl, fds);
	src = tls ? side_tls_src("localhost") : side_token(tk_a);
	dst = tls ? side_tls_rcv("source") : side_token(tk_a);
	src.fd = fds[0];
	dst.fd = fds[1];
	run_pair(&src, &dst);
	ck_assert_msg(src.r == 0 && dst.r == 0, "open: %s / %s", src.err.msg, dst.err.msg);
	/* through the relay untouched first */
	ck_assert_int_eq(chan_send_ack(src.c, CHAN_ACK_COMMITTED, &err), 0);
	ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
	atomic_store(&rl.act, act);
	ck_assert_int_eq(chan_send_ack(src.c, CHAN_ACK_RESUMED, &err), 0);
	if (act == RELAY_DUP) {
		ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
		ck_assert_int_eq(m.u.ack.decision, CHAN_ACK_RESUMED);
	}
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "TLS receive failed");
	ck_assert_msg_has(err, "altered in transit");
	/* nothing more is read from a stream out of step */
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "failed earlier");
	free_pair(&src, &dst);
	relay_end(&rl);
}

START_TEST(test_tampered_token)
{
	tampered(false, RELAY_FLIP);
}
END_TEST

START_TEST(test_tampered_tls)
{
	tampered(true, RELAY_FLIP);
}
END_TEST

START_TEST(test_replayed_token)
{
	tampered(false, RELAY_DUP);
}
END_TEST

START_TEST(test_replayed_tls)
{
	tampered(true, RELAY_DUP);
}
END_TEST

/* A record forged by whoever can write into the socket (no key): refused. */
START_TEST(test_forged_record)
{
	for (int tls = 0; tls < 2; tls++) {
		uint8_t rec[5 + 40] = { 0x17, 0x03, 0x03, 0x00, 40 };
		struct side src, dst;
		struct chan_msg m;
		ckpt_err err = CKPT_ERR_INIT;

		fill_random(rec + 5, 40, 5);
		open_pair(&src, &dst, tls, TIMEOUT_MS);
		ck_assert_int_eq(write(src.fd, rec, sizeof(rec)), (ssize_t)sizeof(rec));
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
		ck_assert_msg_has(err, "TLS receive failed");
		ck_assert_msg_has(err, "altered in transit");
		free_pair(&src, &dst);
	}
}
END_TEST

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
	{ { 0, 4, 0, 0, 0, 2, 0, 1 }, "131073 bytes is above the cap" },
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

START_TEST(test_good_header)
{
	static const uint8_t hdr[CHAN_HDR_SIZE] = { 0, CHAN_MSG_FILE_DATA, 0, 0, 0, 2, 0, 0 };
	uint16_t type = 0;
	uint32_t len = 0;

	ck_assert_int_eq(chan_hdr_decode(hdr, &type, &len, NULL), 0);
	ck_assert_uint_eq(type, CHAN_MSG_FILE_DATA);
	ck_assert_uint_eq(len, CHAN_MAX_PAYLOAD);
	ck_assert_str_eq(chan_type_name(CHAN_MSG_RESOLVE), "RESOLVE");
	ck_assert_str_eq(chan_type_name(0), "unknown");
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
	{ CHAN_MSG_HELLO, "\0\2\1\1", 4, "truncated at field session" },
	{ CHAN_MSG_HELLO, "\0\2", 2, "truncated at field role" },
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
	{ CHAN_MSG_RESTORE, "\0\0\0\2", 4, "flags 0x2" },
	/* version 1's RESTORE: flags, the page server's address and port */
	{ CHAN_MSG_RESTORE,
	  "\0\0\0\1\0\011"
	  "10.99.0.1\x1b\x59",
	  17, "13 bytes after its last field" },
	{ CHAN_MSG_RESULT, "\1\0\0\0\0\0\0\0\0\0\0\0\0", 13, "running with pid 0" },
	{ CHAN_MSG_RESULT, "\2\0\0\0\0\0\0\0\0\0\0\0\0", 13, "failed with code 0" },
	{ CHAN_MSG_RESULT, "\7\0\0\0\0\0\0\0\0\0\0\0\0", 13, "status 7" },
	{ CHAN_MSG_ACK, "\3", 1, "decision 3" },
	{ CHAN_MSG_ACK, "", 0, "truncated at field decision" },
	{ CHAN_MSG_RESOLVE, "\1\2", 2, "truncated at field session" },
	{ 11, "", 0, "type 11 is unknown" },
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

static size_t put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, (uint16_t)(v >> 16));
	put_u16(p + 2, (uint16_t)v);
	return 4;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	put_u16(p, (uint16_t)n);
	memcpy(p + 2, s, n);
	return 2 + n;
}

/* A HELLO payload as docs/migration.md lays it out; v1: with version 1's page_port after flags. */
static size_t hello_payload(uint8_t *p, uint16_t proto, uint8_t role, uint8_t mode, bool v1,
			    uint32_t cpuinfo_len)
{
	size_t n = 0;

	n += put_u16(p + n, proto);
	p[n++] = role;
	p[n++] = mode;
	memset(p + n, 0x5a, CHAN_SESSION_SIZE);
	n += CHAN_SESSION_SIZE;
	n += put_u32(p + n, 200);
	n += put_str(p + n, "0.2.0");
	n += put_u32(p + n, 40201);
	n += put_str(p + n, "4.2.1");
	n += put_u32(p + n, 0); /* flags */
	if (v1)
		n += put_u16(p + n, 7001);
	n += put_u32(p + n, 0); /* check_code */
	n += put_str(p + n, "ok");
	n += put_u32(p + n, cpuinfo_len);
	memset(p + n, 0x0a, cpuinfo_len);
	return n + cpuinfo_len;
}

START_TEST(test_hello_checks)
{
	static uint8_t p[CHAN_CPUINFO_MAX + 256];
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_msg m;
	size_t n;

	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_PAGES, CHAN_MODE_COPY, false, 3);
	ck_assert_msg(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(m.u.hello.role, CHAN_ROLE_PAGES);
	ck_assert_str_eq(m.u.hello.criu_version_str, "4.2.1");
	ck_assert_str_eq(m.u.hello.check_msg, "ok");
	ck_assert_uint_eq(m.u.hello.cpuinfo_len, 3);
	ck_assert_ptr_eq(m.u.hello.cpuinfo, p + n - 3);
	/* version 1, announced inside */
	n = hello_payload(p, 1, CHAN_ROLE_SOURCE, CHAN_MODE_COPY, false, 0);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), CKPT_ENOTSUP);
	ck_assert_msg_has(err, "protocol version 1");
	/* version 1's layout (a page port) does not decode as version 2 */
	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_SOURCE, CHAN_MODE_COPY, true, 0);
	ck_assert_int_lt(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), 0);
	n = hello_payload(p, CHAN_PROTO_VERSION, 0, CHAN_MODE_COPY, false, 0);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "role 0");
	n = hello_payload(p, CHAN_PROTO_VERSION, 4, CHAN_MODE_COPY, false, 0);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "role 4");
	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_SOURCE, 3, false, 0);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "mode 3");
	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_SOURCE, CHAN_MODE_COPY, false,
			  CHAN_CPUINFO_MAX + 1);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n, &m, &err), CKPT_ETOOBIG);
	ck_assert_msg_has(err, "cpuinfo of 65537 bytes");
	/* a cpuinfo longer than what follows */
	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_SOURCE, CHAN_MODE_COPY, false, 10);
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n - 1, &m, &err),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "truncated at field cpuinfo");
	/* one byte too many */
	n = hello_payload(p, CHAN_PROTO_VERSION, CHAN_ROLE_SOURCE, CHAN_MODE_COPY, false, 0);
	p[n] = 0;
	ck_assert_int_eq(chan_msg_decode(CHAN_MSG_HELLO, p, (uint32_t)n + 1, &m, &err),
			 CKPT_EPROTO);
	ck_assert_msg_has(err, "1 bytes after its last field");
}
END_TEST

/* Malformed payloads inside the channel: refused at receive. */
START_TEST(test_malformed_on_wire)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;

	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_send(src.c, CHAN_MSG_HELLO, "\0\2\1", 3, &err), 0);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "HELLO message is truncated");
	ck_assert_msg_has(err, "migration peer 127.0.0.1:");
	free_pair(&src, &dst);

	/* a HELLO of another protocol version inside the channel */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	{
		struct chan_hello h;
		uint8_t p[1024];

		hello_fill(&h, CHAN_ROLE_SOURCE);
		ck_assert_int_eq(chan_send_hello(src.c, &h, &err), 0);
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), 0);
		/* re-encode with proto 9 */
		ck_assert_uint_le(m.len, sizeof(p));
		memcpy(p, m.data, m.len);
		p[1] = 9;
		ck_assert_int_eq(chan_send(src.c, CHAN_MSG_HELLO, p, m.len, &err), 0);
		ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_ENOTSUP);
		ck_assert_msg_has(err, "protocol version 9");
	}
	free_pair(&src, &dst);
}
END_TEST

START_TEST(test_truncated_stream)
{
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t frame[CHAN_HDR_SIZE + 10] = { 0, CHAN_MSG_FILE_DATA, 0, 0, 0, 0, 0, 100 };

	/* a frame cut short, and the socket closed without TLS's close */
	open_pair(&src, &dst, false, TIMEOUT_MS);
	ck_assert_int_eq(chan_write_raw(src.c, frame, sizeof(frame), &err), 0);
	shutdown(src.fd, SHUT_WR);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "in the middle of a message (10 of 100 bytes)");
	free_pair(&src, &dst);

	/* EOF between messages */
	open_pair(&src, &dst, true, TIMEOUT_MS);
	chan_free(src.c);
	src.c = NULL;
	shutdown(src.fd, SHUT_WR);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "closed the connection (expected a message header)");
	free_pair(&src, &dst);

	/* half a header */
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
	/* the same, from a message received */
	chan_send_error(dst.c, CKPT_EPERM, "", "not you");
	ck_assert_int_eq(chan_recv(src.c, &m, &err), 0);
	ck_assert_int_eq(m.type, CHAN_MSG_ERROR);
	err = (ckpt_err)CKPT_ERR_INIT;
	ck_assert_int_eq(chan_peer_error(src.c, &m, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "gave up: not you");
	ck_assert_str_eq(err.step, "");
	/* a positive code is sent as CKPT_EPROTO */
	chan_send_error(dst.c, 5, "x", "odd");
	ck_assert_int_eq(chan_expect(src.c, CHAN_MSG_ACK, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "gave up at x: odd");
	/* an unexpected type */
	ck_assert_int_eq(chan_send_ack(dst.c, CHAN_ACK_RESUMED, &err), 0);
	ck_assert_int_eq(chan_expect(src.c, CHAN_MSG_RESULT, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "sent ACK (expected RESULT)");
	free_pair(&src, &dst);
}
END_TEST

/* The test's own transport for a session handed over (the channel is gone). */
static ssize_t test_push(gnutls_transport_ptr_t p, const void *data, size_t n)
{
	return send(*(int *)p, data, n, MSG_NOSIGNAL);
}

static ssize_t test_pull(gnutls_transport_ptr_t p, void *data, size_t n)
{
	return recv(*(int *)p, data, n, 0);
}

/* A TLS session handed over after a HELLO: it goes on, and only a channel in step hands over. */
START_TEST(test_release_tls)
{
	static const uint8_t two_acks[] = { 0, CHAN_MSG_ACK, 0, 0, 0, 0, 0, 1, CHAN_ACK_COMMITTED,
					    0, CHAN_MSG_ACK, 0, 0, 0, 0, 0, 1, CHAN_ACK_RESUMED };
	struct side src, dst;
	struct chan_msg m;
	ckpt_err err = CKPT_ERR_INIT;
	void *tls = NULL;
	gnutls_session_t s;

	open_pair(&src, &dst, false, TIMEOUT_MS);
	/* two frames in one record: after the first, the second waits in TLS's buffer */
	ck_assert_int_eq(chan_write_raw(src.c, two_acks, sizeof(two_acks), &err), 0);
	ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
	ck_assert(chan_pending(dst.c));
	ck_assert_int_eq(chan_release_tls(dst.c, &tls, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "bytes of another message are buffered");
	ck_assert_ptr_null(tls);
	ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
	ck_assert_int_eq(m.u.ack.decision, CHAN_ACK_RESUMED);
	ck_assert(!chan_pending(dst.c));

	/* the source's session handed over: the receiver's channel reads on */
	ck_assert_int_eq(chan_release_tls(src.c, &tls, &err), 0);
	src.c = NULL;
	ck_assert_ptr_nonnull(tls);
	s = tls;
	gnutls_transport_set_ptr(s, &src.fd);
	gnutls_transport_set_push_function(s, test_push);
	gnutls_transport_set_pull_function(s, test_pull);
	ck_assert_int_eq(gnutls_record_send(s, two_acks, 9), 9);
	ck_assert_int_eq(chan_expect(dst.c, CHAN_MSG_ACK, &m, &err), 0);
	ck_assert_int_eq(m.u.ack.decision, CHAN_ACK_COMMITTED);
	ck_assert_int_eq(gnutls_bye(s, GNUTLS_SHUT_WR), 0);
	gnutls_deinit(s);
	ck_assert_int_eq(chan_recv(dst.c, &m, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "closed the connection (expected a message header)");
	/* a channel whose receive failed cannot be handed over */
	tls = NULL;
	ck_assert_int_eq(chan_release_tls(dst.c, &tls, &err), CKPT_EPROTO);
	ck_assert_msg_has(err, "cannot be handed over");
	ck_assert_ptr_null(tls);
	free_pair(&src, &dst);
}
END_TEST

START_TEST(test_session_ids)
{
	uint8_t a[CHAN_SESSION_SIZE], b[CHAN_SESSION_SIZE];

	ck_assert_int_eq(chan_session_new(a, NULL), 0);
	ck_assert_int_eq(chan_session_new(b, NULL), 0);
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
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
	src = tls ? side_tls_src("127.0.0.1") : side_token(tk_a);
	dst = tls ? side_tls_rcv("source") : side_token(tk_a2);
	src.fd = sv[0];
	src.then = send_files;
	src.arg = &out;
	dst.fd = sv[1];
	dst.then = receive_files;
	dst.arg = &fa;
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

/* A FILE_BEGIN for a crafted name, inside the channel: refused, and nothing appears anywhere. */
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

		open_pair(&src, &dst, false, TIMEOUT_MS);
		p[0] = 0;
		p[1] = (uint8_t)n;
		memcpy(p + 2, tricks[i], n);
		memcpy(p + 2 + n, "\0\0\x81\xa4\0\0\0\0\0\0\0\1", 12);
		ck_assert_int_eq(chan_send(src.c, CHAN_MSG_FILE_BEGIN, p, n + 14, &err), 0);
		ck_assert_int_eq(chan_send(src.c, CHAN_MSG_FILE_DATA, "x", 1, &err), 0);
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
	src = side_token(tk_a);
	dst = side_token(tk_a2);
	src.fd = sv[0];
	src.then = send_half;
	dst.fd = sv[1];
	dst.then = receive_files;
	dst.arg = &fa;
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
	struct side src = side_tls_src("localhost"), dst = side_tls_rcv("source");

	ck_assert_int_eq(pipe2(pipes, O_CLOEXEC | O_NONBLOCK), 0);
	saved = dup(2);
	saved1 = dup(1);
	dup2(pipes[1], 2);
	dup2(pipes[1], 1);
	src.auth.tls_cert = rogue;
	src.auth.tls_key = rogue_key;
	refused(tcp_pair, &src, &dst);
	dst = side_token(tk_a);
	src = side_token(tk_b);
	refused(tcp_pair, &src, &dst);
	dup2(saved, 2);
	dup2(saved1, 1);
	close(saved);
	close(saved1);
	ck_assert_int_eq(read(pipes[0], buf, sizeof(buf)), -1);
	ck_assert_int_eq(dst.r, CKPT_EPERM);
	close(pipes[0]);
	close(pipes[1]);
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
	tcase_add_test(tc, test_token_hex_and_raw);
	tcase_add_test(tc, test_tls_by_ip);
	tcase_add_test(tc, test_tls_by_dns_and_cn);
	tcase_add_test(tc, test_tls_peer_list);
	tcase_add_test(tc, test_tls_socketpair);
	tcase_add_test(tc, test_tls_and_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_loop_test(tc, test_token_file_rules, 0, ARRAY_SIZE(tk_cases));
	tcase_add_test(tc, test_token_file_fixes);
	tcase_add_test(tc, test_token_read_once);
	tcase_add_test(tc, test_creds_checks);
	tcase_add_test(tc, test_open_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_wrong_token);
	tcase_add_test(tc, test_wrong_token_in_tls);
	tcase_add_test(tc, test_tls_no_client_cert);
	tcase_add_test(tc, test_raw_client_cert);
	tcase_add_test(tc, test_tls_version_floor);
	tcase_add_test(tc, test_token_tls13_only);
	tcase_add_test(tc, test_tls_foreign_cert);
	tcase_add_test(tc, test_tls_mallory);
	tcase_add_test(tc, test_tls_wrong_name);
	tcase_add_test(tc, test_auth_method_mismatch);
	tcase_add_test(tc, test_version_mismatch);
	tcase_add_test(tc, test_not_an_endpoint);
	tcase_add_test(tc, test_truncated_preamble);
	tcase_add_test(tc, test_auth_deadline);
	tcase_add_test(tc, test_truncated_auth);
	tcase_add_test(tc, test_preamble_altered);
	tcase_add_test(tc, test_silence);
	suite_add_tcase(s, tc);

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, per_test_dir, NULL);
	tcase_add_test(tc, test_tampered_token);
	tcase_add_test(tc, test_tampered_tls);
	tcase_add_test(tc, test_replayed_token);
	tcase_add_test(tc, test_replayed_tls);
	tcase_add_test(tc, test_forged_record);
	tcase_add_test(tc, test_oversized_token);
	tcase_add_test(tc, test_oversized_tls);
	tcase_add_loop_test(tc, test_bad_headers, 0, ARRAY_SIZE(bad_hdrs));
	tcase_add_test(tc, test_good_header);
	tcase_add_loop_test(tc, test_bad_payloads, 0, ARRAY_SIZE(bad_payloads));
	tcase_add_test(tc, test_hello_checks);
	tcase_add_test(tc, test_malformed_on_wire);
	tcase_add_test(tc, test_truncated_stream);
	tcase_add_test(tc, test_recv_deadline);
	tcase_add_test(tc, test_peer_error);
	tcase_add_test(tc, test_release_tls);
	tcase_add_test(tc, test_session_ids);
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

/* A token file of secret s in the run's directory: hex digits (and a newline) or the raw bytes. */
static struct chan_token *run_token(const char *name, const uint8_t s[32], bool hex, mode_t mode)
{
	struct chan_token *t = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	char p[300], text[80];
	int fd;

	path(p, sizeof(p), run_dir, name);
	hex_of(s, 32, text);
	strcat(text, "\n");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hex ? (const void *)text : s, hex ? 65 : 32) != (hex ? 65 : 32) ||
	    fchmod(fd, mode) < 0) {
		perror(p);
		exit(EXIT_FAILURE);
	}
	close(fd);
	if (chan_token_load(p, &t, &err) < 0) {
		fprintf(stderr, "test_channel: %s\n", err.msg);
		exit(EXIT_FAILURE);
	}
	return t;
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
	path(mallory, sizeof(mallory), tls_dir, "mallory.pem");
	path(mallory_key, sizeof(mallory_key), tls_dir, "mallory-key.pem");
	/* two secrets; the raw files must not end in a newline nor be all hex digits */
	fill_random(secret_a, sizeof(secret_a), 1);
	fill_random(secret_b, sizeof(secret_b), 2);
	secret_a[31] |= 0x80;
	secret_b[31] |= 0x80;
	tk_a = run_token("token-a", secret_a, true, 0600);
	tk_a2 = run_token("token-a2", secret_a, false, 0400);
	tk_b = run_token("token-b", secret_b, true, 0600);

	sr = srunner_create(channel_suite());
	if (!getenv("CK_FORK"))
		srunner_set_fork_status(sr, CK_FORK); /* CK_FORK=no: one process, for valgrind */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	chan_token_free(tk_a);
	chan_token_free(tk_a2);
	chan_token_free(tk_b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_channel: could not remove %s\n", run_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
