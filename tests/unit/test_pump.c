/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the pages pump (lib/migrate/pump.c): two pumps, the source's
 * and the receiver's, on the two ends of a pair of channels in token mode
 * (loopback TCP, or socketpairs with a relay thread in the middle playing the
 * network), the test playing CRIU on each pump's socketpair end. Copy mode:
 * 256 MiB in order through buffers that fill and drain (a missed wake-up
 * would wait for the ping timer), both ways with a half-close, a byte altered
 * in transit, a relay that goes silent, a consumer that stalls for longer
 * than the timeout, the last bytes, the end and TLS's end arriving in one
 * piece. Lazy mode: the source's stream to CRIU never ends cleanly on a
 * command boundary after a failure, and the receiver daemon's close waits for
 * the commit. No idle wait spins.
 */
#include "base/error.h"
#include "migrate/chan.h"
#include "migrate/pump.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

#define OPEN_MS 10000 /* the channels' handshake */
#define MIB (1024 * 1024)

/* CRIU's page-server commands (criu/page-xfer.c): u32 cmd, u64 nr_pages, vaddr, dst_id */
#define PS_IOV 32
#define PS_IOV_GET 7
#define PS_IOV_CLOSE 0x1023
#define PS_IOV_FORCE_CLOSE 0x1024
#define PAGE 4096

static char run_dir[256];
static struct chan_token *tk;
/* valgrind or a sanitizer: time bounds this many times looser, the bulk transfer smaller */
static unsigned slow = 1;
static bool valgrind;

/* When a bound of s seconds (scaled) from now passes. */
static uint64_t within(double s)
{
	return now_us() + (uint64_t)(s * 1e6 * slow);
}

static double secs_since(uint64_t t0)
{
	return (double)(now_us() - t0) / 1e6;
}

static void msleep(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* CPU time of the whole process (every thread), in seconds. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* The data: a pseudo-random pattern per direction                    */
/* ------------------------------------------------------------------ */

/* byte i of stream k is pat[k][i % PAT_LEN]: a period that is no power of two nor a chunk's */
#define PAT_LEN (MIB + 4099)
static uint8_t pat[2][PAT_LEN];

static void pat_init(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < PAT_LEN; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			pat[k][i] = (uint8_t)(s >> 24);
		}
}

/* Where b (n bytes at stream offset off of pattern k) first differs, plus 1; 0: nowhere. */
static uint64_t pat_diff(int k, uint64_t off, const uint8_t *b, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t i = (off + done) % PAT_LEN, m = PAT_LEN - i;

		if (m > n - done)
			m = n - done;
		if (memcmp(pat[k] + i, b + done, m))
			for (size_t j = 0; j < m; j++)
				if (pat[k][i + j] != b[done + j])
					return off + done + j + 1;
		done += m;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* CRIU's side of a pump: a writer or a reader on its own thread       */
/* ------------------------------------------------------------------ */

struct flow {
	int fd;
	int pat;       /* which pattern */
	uint64_t len;  /* writer: bytes to write (UINT64_MAX: until a write fails) */
	uint64_t off0; /* reader: the stream offset of its first byte */
	bool shut;     /* shutdown(SHUT_WR) at the end: writer after its last byte, reader at EOF */
	bool pace;     /* reader: now and then leave every buffer on the way full */
	uint64_t wait_at; /* writer: stop there until *go (go NULL: never) */
	atomic_bool *go;
	/* results */
	_Atomic uint64_t done; /* bytes written; bytes read (and compared) */
	atomic_bool eof;       /* reader: the end came */
	int err;	       /* the errno that ended it (0: EOF, or every byte written) */
	uint64_t bad;	       /* reader: the first byte that differed, plus 1 */
	uint64_t max_read_us;  /* reader: the longest wait in one read */
	uint64_t t_end;
	atomic_bool finished;
	pthread_t th;
};

static void *writer_main(void *arg)
{
	struct flow *f = arg;
	uint64_t off = 0;

	while (off < f->len) {
		size_t i = off % PAT_LEN, k = PAT_LEN - i;
		ssize_t w;

		if (f->go && off == f->wait_at) {
			uint64_t until = now_us() + 120ull * 1000 * 1000;

			while (!atomic_load(f->go) && now_us() < until)
				msleep(1);
			f->go = NULL;
		}
		if (f->go && k > f->wait_at - off)
			k = f->wait_at - off;
		if (k > f->len - off)
			k = f->len - off;
		if (k > 256 * 1024)
			k = 256 * 1024;
		w = send(f->fd, pat[f->pat] + i, k, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			f->err = errno;
			break;
		}
		off += (uint64_t)w;
		atomic_store(&f->done, off);
	}
	if (!f->err && f->shut)
		shutdown(f->fd, SHUT_WR);
	f->t_end = now_us();
	atomic_store(&f->finished, true);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct flow *f = arg;
	uint8_t *buf = malloc(MIB);
	uint64_t off = f->off0, next_pause = 4 * MIB;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		uint64_t t = now_us();
		ssize_t r = read(f->fd, buf, MIB);

		if (now_us() - t > f->max_read_us)
			f->max_read_us = now_us() - t;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			f->err = errno;
			break;
		}
		if (r == 0) {
			atomic_store(&f->eof, true);
			break;
		}
		if (!f->bad)
			f->bad = pat_diff(f->pat, off, buf, (size_t)r);
		off += (uint64_t)r;
		atomic_store(&f->done, off);
		if (f->pace && off >= next_pause) {
			/* a short pause every 4 MiB; every 32 MiB one that fills everything up */
			msleep(next_pause % (32 * MIB) ? 2 : 50);
			next_pause += 4 * MIB;
		}
	}
	if (f->shut && !f->err)
		shutdown(f->fd, SHUT_WR);
	free(buf);
	f->t_end = now_us();
	atomic_store(&f->finished, true);
	return NULL;
}

static void flow_start(struct flow *f, void *(*fn)(void *))
{
	atomic_init(&f->done, 0);
	atomic_init(&f->eof, false);
	atomic_init(&f->finished, false);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fn, f), 0);
}

/* Wait (until deadline) for the flow's end and join it. */
static void flow_join(struct flow *f, uint64_t deadline, const char *what)
{
	while (!atomic_load(&f->finished) && now_us() < deadline)
		msleep(2);
	ck_assert_msg(atomic_load(&f->finished), "%s: still blocked (%llu bytes so far)", what,
		      (unsigned long long)atomic_load(&f->done));
	ck_assert_int_eq(pthread_join(f->th, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* The network: loopback TCP, or a relay that alters or holds bytes   */
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
	ck_assert_int_ge(sv[0], 0);
	ck_assert_int_eq(connect(sv[0], (struct sockaddr *)&a, sizeof(a)), 0);
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(sv[1], 0);
	close(l);
}

struct relay;

struct relay_dir {
	struct relay *rl;
	int d; /* 0: source to receiver, 1: back */
	pthread_t th;
};

struct relay {
	int a, b; /* toward the source's pump, toward the receiver's */
	/* source to receiver: flip a bit of the first TLS record body byte here or after (0: none) */
	_Atomic uint64_t flip_at;
	_Atomic uint64_t flipped; /* where it was flipped, plus 1 */
	atomic_bool hold;	  /* pass nothing either way; the sockets stay open */
	atomic_bool
		batch[2]; /* keep a direction's bytes until its sender's end, then pass them at once */
	atomic_bool quit;
	_Atomic uint64_t n[2]; /* bytes passed each way */
	/* source to receiver: where its TLS records are (after the 16-byte preamble) */
	uint64_t pos;
	size_t hdr_got, body_left;
	uint8_t hdr[5];
	struct relay_dir dir[2];
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

/* Follow the TLS records of the source's bytes; flip one bit of a record's body at flip_at. */
static void relay_tamper(struct relay *rl, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (rl->pos < CHAN_PREAMBLE_SIZE) {
			k = CHAN_PREAMBLE_SIZE - rl->pos;
			k = k < n - i ? k : n - i;
		} else if (!rl->body_left) {
			rl->hdr[rl->hdr_got++] = buf[i];
			if (rl->hdr_got == sizeof(rl->hdr)) {
				rl->body_left = (size_t)rl->hdr[3] << 8 | rl->hdr[4];
				rl->hdr_got = 0;
			}
			k = 1;
		} else {
			uint64_t at = atomic_load(&rl->flip_at);

			k = rl->body_left < n - i ? rl->body_left : n - i;
			if (at && !atomic_load(&rl->flipped) && rl->pos + k > at) {
				size_t j = rl->pos >= at ? 0 : (size_t)(at - rl->pos);

				buf[i + j] ^= 0x04;
				atomic_store(&rl->flipped, rl->pos + j + 1);
			}
			rl->body_left -= k;
		}
		i += k;
		rl->pos += k;
	}
}

static void *relay_main(void *arg)
{
	struct relay_dir *rd = arg;
	struct relay *rl = rd->rl;
	int from = rd->d ? rl->b : rl->a, to = rd->d ? rl->a : rl->b;
	uint8_t buf[65536], *held = NULL;
	size_t held_len = 0;

	while (!atomic_load(&rl->quit)) {
		struct pollfd pf = { .fd = from, .events = POLLIN };
		ssize_t n;

		if (atomic_load(&rl->hold)) {
			msleep(5);
			continue;
		}
		if (poll(&pf, 1, 20) <= 0)
			continue;
		n = read(from, buf, sizeof(buf));
		if (n <= 0) {
			if (held_len && send_all(to, held, held_len) < 0)
				shutdown(from, SHUT_RD);
			shutdown(to, SHUT_WR);
			break;
		}
		if (rd->d == 0)
			relay_tamper(rl, buf, (size_t)n);
		atomic_fetch_add(&rl->n[rd->d], (uint64_t)n);
		if (atomic_load(&rl->batch[rd->d])) {
			held = realloc(held, held_len + (size_t)n);
			ck_assert_ptr_nonnull(held);
			memcpy(held + held_len, buf, (size_t)n);
			held_len += (size_t)n;
			continue;
		}
		if (send_all(to, buf, (size_t)n) < 0) {
			shutdown(from, SHUT_RD);
			break;
		}
	}
	free(held);
	return NULL;
}

/* fds[0]: the source's socket, fds[1]: the receiver's; the relay between. */
static void relay_start(struct relay *rl, int fds[2])
{
	int p1[2], p2[2];

	sock_pair(p1);
	sock_pair(p2);
	fds[0] = p1[0];
	rl->a = p1[1];
	rl->b = p2[0];
	fds[1] = p2[1];
	atomic_init(&rl->flip_at, 0);
	atomic_init(&rl->flipped, 0);
	atomic_init(&rl->hold, false);
	atomic_init(&rl->quit, false);
	for (int d = 0; d < 2; d++) {
		atomic_init(&rl->n[d], 0);
		atomic_init(&rl->batch[d], false);
		rl->dir[d] = (struct relay_dir){ .rl = rl, .d = d };
		ck_assert_int_eq(pthread_create(&rl->dir[d].th, NULL, relay_main, &rl->dir[d]), 0);
	}
}

/* The network cut: both pumps' connections end (no TLS end, no more bytes either way). */
static void relay_cut(struct relay *rl)
{
	shutdown(rl->a, SHUT_RDWR);
	shutdown(rl->b, SHUT_RDWR);
}

static void relay_end(struct relay *rl)
{
	atomic_store(&rl->quit, true);
	for (int d = 0; d < 2; d++)
		ck_assert_int_eq(pthread_join(rl->dir[d].th, NULL), 0);
	close(rl->a);
	close(rl->b);
}

/* ------------------------------------------------------------------ */
/* Two channels, their TLS sessions handed to two pumps               */
/* ------------------------------------------------------------------ */

enum { VIA_TCP, VIA_RELAY };

struct pair {
	struct pump *src, *dst; /* the source's pump (the connecting side), the receiver's */
	int sfd, dfd;		/* their CRIU ends */
	struct chan_creds *cr[2];
	struct relay rl;
	bool relayed;
	int fds0; /* open fds before */
};

struct opener {
	int fd;
	enum chan_side side;
	struct chan_creds *cr;
	struct chan *c;
	int r;
	ckpt_err err;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;

	o->err = (ckpt_err)CKPT_ERR_INIT;
	o->r = chan_open(o->fd, o->side, o->cr, OPEN_MS, &o->c, &o->err);
	return NULL;
}

static void pair_open(struct pair *pr, enum pump_mode smode, enum pump_mode dmode,
		      unsigned timeout_ms, int via)
{
	static const enum chan_side sides[2] = { CHAN_CONNECTING, CHAN_ACCEPTING };
	struct opener o[2];
	ckpt_err err = CKPT_ERR_INIT;
	void *tls[2] = { NULL, NULL };
	int fds[2];
	pthread_t t;

	memset(pr, 0, sizeof(*pr));
	pr->fds0 = fd_count();
	if (via == VIA_RELAY) {
		pr->relayed = true;
		relay_start(&pr->rl, fds);
	} else {
		tcp_pair(fds);
	}
	for (int i = 0; i < 2; i++) {
		struct chan_auth a = { .token = tk };

		ck_assert_msg(chan_creds_new(&a, sides[i], &pr->cr[i], &err) == 0, "creds: %s",
			      err.msg);
		o[i] = (struct opener){ .fd = fds[i], .side = sides[i], .cr = pr->cr[i] };
	}
	ck_assert_int_eq(pthread_create(&t, NULL, opener_main, &o[1]), 0);
	opener_main(&o[0]);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(o[0].r == 0 && o[1].r == 0, "open: %s / %s", o[0].err.msg, o[1].err.msg);
	for (int i = 0; i < 2; i++)
		ck_assert_msg(chan_release_tls(o[i].c, &tls[i], &err) == 0, "release: %s", err.msg);
	ck_assert_msg(pump_new(&(struct pump_cfg){ .mode = smode,
						   .tcp = fds[0],
						   .tls = tls[0],
						   .timeout_ms = timeout_ms,
						   .what = "the receiver" },
			       &pr->src, &err) == 0,
		      "pump: %s", err.msg);
	ck_assert_msg(pump_new(&(struct pump_cfg){ .mode = dmode,
						   .tcp = fds[1],
						   .tls = tls[1],
						   .timeout_ms = timeout_ms,
						   .what = "the source" },
			       &pr->dst, &err) == 0,
		      "pump: %s", err.msg);
	pr->sfd = pump_criu_fd(pr->src);
	pr->dfd = pump_criu_fd(pr->dst);
	ck_assert_int_ge(pr->sfd, 0);
	ck_assert_int_ge(pr->dfd, 0);
	ck_assert_int_eq(pump_start(pr->src, &err), 0);
	ck_assert_int_eq(pump_start(pr->dst, &err), 0);
}

/* Everything freed and closed: as many fds open as before. */
static void pair_close(struct pair *pr)
{
	pump_free(pr->src);
	pump_free(pr->dst);
	if (pr->relayed)
		relay_end(&pr->rl);
	chan_creds_free(pr->cr[0]);
	chan_creds_free(pr->cr[1]);
	ck_assert_int_eq(fd_count(), pr->fds0);
}

/* The pump's result, once it ended (before deadline). */
static int join_by(struct pump *p, uint64_t deadline, ckpt_err *err, const char *who)
{
	while (!pump_ended(p, NULL) && now_us() < deadline)
		msleep(2);
	ck_assert_msg(pump_ended(p, NULL), "the %s's pump still runs", who);
	*err = (ckpt_err)CKPT_ERR_INIT;
	return pump_join(p, err);
}

/* ------------------------------------------------------------------ */
/* Playing CRIU by hand (lazy mode)                                   */
/* ------------------------------------------------------------------ */

static void ps_cmd(uint8_t *out, uint32_t cmd, uint64_t nr, uint64_t vaddr, uint64_t id)
{
	memset(out, 0, PS_IOV);
	memcpy(out, &cmd, 4); /* host order, as CRIU writes its struct */
	memcpy(out + 8, &nr, 8);
	memcpy(out + 16, &vaddr, 8);
	memcpy(out + 24, &id, 8);
}

static void put(int fd, const void *b, size_t n)
{
	ck_assert_int_eq(send_all(fd, b, n), 0);
}

/* Up to n bytes, until EOF, an error or ms pass: how many; *ret_end: 0 EOF, errno, -1 none. */
static size_t get(int fd, void *b, size_t n, unsigned ms, int *ret_end)
{
	uint64_t until = now_us() + (uint64_t)ms * 1000 * slow;
	size_t got = 0;

	*ret_end = -1;
	while (got < n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, poll_ms_until(until)) <= 0)
			break;
		r = read(fd, (uint8_t *)b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*ret_end = r ? errno : 0;
			break;
		}
		got += (size_t)r;
	}
	return got;
}

/* Exactly n bytes, equal to want. */
static void get_exact(int fd, const void *want, size_t n, const char *what)
{
	uint8_t *b = malloc(n);
	int end;

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(get(fd, b, n, 10000, &end) == n, "%s: short (end %d)", what, end);
	ck_assert_msg(!memcmp(b, want, n), "%s: other bytes", what);
	free(b);
}

/* Nothing to read for ms. */
static void get_nothing(int fd, unsigned ms, const char *what)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	ck_assert_msg(poll(&pf, 1, (int)ms) == 0, "%s: something came (revents %#x)", what,
		      pf.revents);
}

/* The end of a stream: EOF or a reset, within ms, and nothing before it. */
static void get_end(int fd, const char *what)
{
	uint8_t b[64];
	int end;

	ck_assert_msg(get(fd, b, sizeof(b), 10000, &end) == 0 && (end == 0 || end == ECONNRESET),
		      "%s: no end (%d)", what, end);
}

/*
 * The rest of the source's stream to CRIU's lazy page server after a failure,
 * before bytes of it already read: never a clean end on a command boundary
 * (CRIU would take it for the end of the session): it ends inside a command,
 * or its last command is an unknown one (all zero). And CRIU's writes fail.
 */
static void lazy_source_unclean(int fd, size_t before)
{
	static const uint8_t zero[PS_IOV];
	uint8_t b[4096];
	size_t got;
	int end;

	got = get(fd, b, sizeof(b), 10000, &end);
	ck_assert_msg(end == 0 || end == ECONNRESET, "no end of the stream to criu (%d, %zu bytes)",
		      end, got);
	if ((before + got) % PS_IOV == 0)
		ck_assert_msg(got >= PS_IOV && !memcmp(b + got - PS_IOV, zero, PS_IOV),
			      "the stream to criu ended cleanly after %zu commands",
			      (before + got) / PS_IOV);
	ck_assert_int_eq(send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT), -1);
	ck_assert_msg(errno == EPIPE || errno == ECONNRESET, "criu's write: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Copy mode                                                          */
/* ------------------------------------------------------------------ */

/*
 * 256 MiB through the two pumps in order, the reader pausing now and then so
 * that every buffer on the way fills and drains; the ends passed on; both
 * pumps end cleanly. A pump that misses a wake-up waits for its ping timer
 * (15 s at a 60 s timeout): the whole must take well under that.
 */
START_TEST(test_pass_bulk)
{
	uint64_t total = (uint64_t)(valgrind ? 32 : 256) * MIB, t0;
	struct pair pr;
	struct flow w = { .pat = 0, .shut = true }, r = { .pat = 0, .shut = true, .pace = true };
	ckpt_err err;
	double s;

	pair_open(&pr, PUMP_PASS, PUMP_PASS, 60000, VIA_TCP);
	w.fd = pr.sfd;
	w.len = total;
	r.fd = pr.dfd;
	t0 = now_us();
	flow_start(&w, writer_main);
	flow_start(&r, reader_main);
	flow_join(&r, within(25), "the reader");
	flow_join(&w, within(5), "the writer");
	s = (double)(r.t_end - t0) / 1e6;
	ck_assert_msg(!w.err, "write: %s", strerror(w.err));
	ck_assert_uint_eq(w.done, total);
	ck_assert_msg(!r.bad, "byte %llu altered", (unsigned long long)r.bad - 1);
	ck_assert_msg(r.eof && !r.err, "the reader's end: %s", strerror(r.err));
	ck_assert_uint_eq(r.done, total);
	ck_assert_msg(s < 20.0 * slow, "%llu MiB took %.1f s (%.0f MB/s): a missed wake-up?",
		      (unsigned long long)(total / MIB), s, (double)total / 1e6 / s);
	ck_assert_msg(r.max_read_us < (valgrind ? 80000000ull : 8000000ull),
		      "a read waited %.1f s (%.1f s in all)", (double)r.max_read_us / 1e6, s);
	/* the receiver's end came back to the source's criu */
	get_end(pr.sfd, "the source's criu");
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") == 0, "source: %s", err.msg);
	ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s", err.msg);
	ck_assert_uint_eq(pump_bytes_out(pr.src), total);
	ck_assert_uint_eq(pump_bytes_in(pr.dst), total);
	ck_assert_uint_eq(pump_bytes_in(pr.src), 0);
	ck_assert_uint_eq(pump_bytes_out(pr.dst), 0);
	pair_close(&pr);
}
END_TEST

/*
 * Both ways at once; one side ends its writing first (loop 0: the source's
 * criu, 1: the receiver's): its end reaches the other criu while the other
 * direction goes on, 5 MiB of it only after that end arrived.
 */
START_TEST(test_pass_both_ways)
{
	struct pair pr;
	struct flow w1 = { .pat = 0, .len = 4 * MIB, .shut = true }, r1 = { .pat = 0 },
		    w2 = { .pat = 1, .len = 8 * MIB, .shut = true, .wait_at = 3 * MIB },
		    r2 = { .pat = 1 };
	ckpt_err err;

	pair_open(&pr, PUMP_PASS, PUMP_PASS, 60000, VIA_TCP);
	/* w1 and r2 on the side that ends first, r1 and w2 on the other */
	w1.fd = r2.fd = _i ? pr.dfd : pr.sfd;
	r1.fd = w2.fd = _i ? pr.sfd : pr.dfd;
	w2.go = &r1.eof;
	flow_start(&r1, reader_main);
	flow_start(&r2, reader_main);
	flow_start(&w1, writer_main);
	flow_start(&w2, writer_main);
	flow_join(&w1, within(20), "the first writer");
	flow_join(&r1, within(20), "the first reader");
	ck_assert_msg(r1.eof && !r1.err && !r1.bad, "first reader: %s, bad %llu", strerror(r1.err),
		      (unsigned long long)r1.bad);
	ck_assert_uint_eq(r1.done, 4 * MIB);
	/* the other direction goes on: 5 MiB of it only after that end came (w2 waited for it) */
	flow_join(&w2, within(20), "the second writer");
	flow_join(&r2, within(20), "the second reader");
	ck_assert_msg(!w1.err && !w2.err, "writes: %s / %s", strerror(w1.err), strerror(w2.err));
	ck_assert_msg(r2.eof && !r2.err && !r2.bad, "second reader: %s, bad %llu", strerror(r2.err),
		      (unsigned long long)r2.bad);
	ck_assert_uint_eq(r2.done, 8 * MIB);
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") == 0, "source: %s", err.msg);
	ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s", err.msg);
	ck_assert_uint_eq(pump_bytes_out(_i ? pr.dst : pr.src), 4 * MIB);
	ck_assert_uint_eq(pump_bytes_in(_i ? pr.src : pr.dst), 4 * MIB);
	ck_assert_uint_eq(pump_bytes_out(_i ? pr.src : pr.dst), 8 * MIB);
	ck_assert_uint_eq(pump_bytes_in(_i ? pr.dst : pr.src), 8 * MIB);
	pair_close(&pr);
}
END_TEST

/*
 * A bit flipped deep in the stream by the network: the receiver's pump
 * refuses it (the data was altered) and both pumps fail at once; nothing
 * altered reaches the receiver's criu, whose stream ends; the source's criu,
 * still writing, gets EPIPE rather than hanging.
 */
START_TEST(test_tamper)
{
	struct pair pr;
	struct flow w = { .pat = 0, .len = UINT64_MAX }, r = { .pat = 0 };
	ckpt_err err;
	uint64_t t0;

	pair_open(&pr, PUMP_PASS, PUMP_PASS, 60000, VIA_RELAY);
	atomic_store(&pr.rl.flip_at, 6 * MIB);
	w.fd = pr.sfd;
	r.fd = pr.dfd;
	t0 = now_us();
	flow_start(&w, writer_main);
	flow_start(&r, reader_main);
	ck_assert_msg(join_by(pr.dst, within(20), &err, "receiver") < 0, "the receiver went on");
	ck_assert_msg_has(err, "altered in transit");
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") < 0, "the source went on");
	ck_assert_msg_has(err, "pages: ");
	flow_join(&r, within(10), "the receiver's criu");
	flow_join(&w, within(10), "the source's criu");
	ck_assert_msg(secs_since(t0) < 20.0 * slow, "%.1f s", secs_since(t0));
	ck_assert_uint_ne(atomic_load(&pr.rl.flipped), 0);
	ck_assert_msg(!r.bad, "altered byte %llu reached criu", (unsigned long long)r.bad - 1);
	ck_assert_msg(r.eof || r.err == ECONNRESET, "the receiver's criu: %s", strerror(r.err));
	ck_assert_uint_gt(r.done, 0);
	ck_assert_uint_lt(r.done, atomic_load(&pr.rl.flipped));
	ck_assert_msg(w.err == EPIPE || w.err == ECONNRESET, "the source's criu: %s",
		      strerror(w.err));
	pair_close(&pr);
}
END_TEST

/*
 * A relay that holds the connection open and passes nothing: an idle
 * connection lives on (pings) past the timeout, then once the relay holds,
 * both pumps fail after about the timeout (2 s), saying nothing was heard.
 */
START_TEST(test_silence)
{
	struct pair pr;
	struct flow w1 = { .pat = 0, .len = MIB }, r1 = { .pat = 0 }, w2 = { .pat = 1, .len = MIB },
		    r2 = { .pat = 1 };
	ckpt_err err;
	uint64_t t0, until;
	double s;

	pair_open(&pr, PUMP_PASS, PUMP_PASS, 2000, VIA_RELAY);
	w1.fd = r2.fd = pr.sfd;
	r1.fd = w2.fd = pr.dfd;
	flow_start(&w1, writer_main);
	flow_start(&w2, writer_main);
	flow_start(&r1, reader_main);
	flow_start(&r2, reader_main);
	flow_join(&w1, within(10), "writer");
	flow_join(&w2, within(10), "writer");
	until = within(10);
	while ((atomic_load(&r1.done) < MIB || atomic_load(&r2.done) < MIB) && now_us() < until)
		msleep(2);
	ck_assert_uint_eq(atomic_load(&r1.done), MIB);
	ck_assert_uint_eq(atomic_load(&r2.done), MIB);
	/* idle for longer than the timeout: the pings keep it alive */
	msleep(3000);
	ck_assert_msg(!pump_ended(pr.src, NULL) && !pump_ended(pr.dst, NULL),
		      "an idle connection failed");
	atomic_store(&pr.rl.hold, true);
	t0 = now_us();
	ck_assert_int_lt(join_by(pr.src, within(8), &err, "source"), 0);
	ck_assert_msg_has(err, "nothing heard from the receiver for 2.0 s");
	ck_assert_int_lt(join_by(pr.dst, within(8), &err, "receiver"), 0);
	ck_assert_msg_has(err, "nothing heard from the source for 2.0 s");
	s = secs_since(t0);
	ck_assert_msg(s >= 1.4 && s < 3.5 * slow, "failed after %.1f s", s);
	/* both criu ends see the end */
	flow_join(&r1, within(5), "reader");
	flow_join(&r2, within(5), "reader");
	ck_assert(!r1.bad && !r2.bad);
	ck_assert(r1.eof || r1.err == ECONNRESET);
	ck_assert(r2.eof || r2.err == ECONNRESET);
	pair_close(&pr);
}
END_TEST

/*
 * The receiver's criu stops reading for longer than the timeout while the
 * source has more to send: that is the local side's pace, not silence from
 * the peer (who is there and pinging): the transfer completes.
 */
START_TEST(test_stalled_reader)
{
	struct pair pr;
	struct flow w = { .pat = 0, .len = 16 * MIB, .shut = true }, r = { .pat = 0, .shut = true };
	uint8_t *b = malloc(MIB);
	ckpt_err err;
	int end;

	ck_assert_ptr_nonnull(b);
	pair_open(&pr, PUMP_PASS, PUMP_PASS, 2000, VIA_TCP);
	w.fd = pr.sfd;
	r.fd = pr.dfd;
	flow_start(&w, writer_main);
	ck_assert_uint_eq(get(pr.dfd, b, MIB, 10000, &end), MIB);
	ck_assert(!pat_diff(0, 0, b, MIB));
	msleep(3500); /* everything on the way full */
	ck_assert_msg(!pump_ended(pr.dst, NULL) && !pump_ended(pr.src, NULL),
		      "a pump gave up while its local criu was slow: %s",
		      pump_ended(pr.dst, NULL) ? (join_by(pr.dst, 0, &err, "receiver"), err.msg) :
						 (join_by(pr.src, 0, &err, "source"), err.msg));
	r.off0 = MIB;
	flow_start(&r, reader_main);
	flow_join(&r, within(20), "reader");
	flow_join(&w, within(5), "writer");
	free(b);
	ck_assert(!r.bad);
	ck_assert_uint_eq(r.done, 16 * MIB);
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") == 0, "source: %s", err.msg);
	ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s", err.msg);
	pair_close(&pr);
}
END_TEST

/*
 * The last pump to end sends its last bytes, its end frame and TLS's end
 * back to back, and the network may well hand them over in one piece (here
 * the relay holds them until the connection's end): the other pump passes the
 * bytes on and ends cleanly, the peer's end frame read before TLS's end. Loop:
 * 0 copy mode, the receiver's criu answering last (as CRIU's page server
 * answers the close); 1 lazy mode, the daemon gone first, then the source's
 * criu (its end reaching the receiver with TLS's end).
 */
START_TEST(test_end_at_once)
{
	uint8_t cmd[PS_IOV], four[4] = { 0 }, b[1000];
	struct pair pr;
	ckpt_err err;
	int end;

	if (_i == 0) {
		struct flow w = { .pat = 0, .len = 256 * 1024, .shut = true }, r = { .pat = 0 };

		pair_open(&pr, PUMP_PASS, PUMP_PASS, 60000, VIA_RELAY);
		w.fd = pr.sfd;
		r.fd = pr.dfd;
		flow_start(&w, writer_main);
		flow_start(&r, reader_main);
		flow_join(&w, within(10), "the writer");
		flow_join(&r, within(10), "the reader");
		ck_assert(r.eof && !r.bad && r.done == w.len);
		atomic_store(&pr.rl.batch[1], true);
		put(pr.dfd, pat[1], sizeof(b));
		shutdown(pr.dfd, SHUT_WR);
		ck_assert_msg(get(pr.sfd, b, sizeof(b), 10000, &end) == sizeof(b) &&
				      !memcmp(b, pat[1], sizeof(b)),
			      "the receiver's last bytes did not reach the source's criu (end %d)",
			      end);
		get_end(pr.sfd, "the source's criu");
	} else {
		pair_open(&pr, PUMP_LAZY_SOURCE, PUMP_LAZY_DEST, 60000, VIA_RELAY);
		ps_cmd(cmd, PS_IOV_CLOSE, 0, 0, 0);
		pump_commit(pr.dst);
		put(pr.dfd, cmd, sizeof(cmd));
		get_exact(pr.sfd, cmd, sizeof(cmd), "the close");
		put(pr.sfd, four, sizeof(four));
		get_exact(pr.dfd, four, sizeof(four), "the close's answer");
		pump_criu_fd_close(pr.dst);
		get_end(pr.sfd, "the source's criu");
		atomic_store(&pr.rl.batch[0], true);
		pump_criu_fd_close(pr.src);
	}
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") == 0, "source: %s", err.msg);
	ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s", err.msg);
	pair_close(&pr);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lazy mode                                                          */
/* ------------------------------------------------------------------ */

/*
 * The source's lazy page server after a failure, before the receiver's close
 * reached it: its stream never ends on a clean command boundary, and its
 * writes fail. Loop: 0 the receiver's pump aborted before any command; 1
 * after three commands (answered); 2 the network cut after three; 3 the
 * source's own pump aborted after three; 4 the daemon gone after three,
 * without its close.
 */
START_TEST(test_lazy_source_never_clean)
{
	uint8_t cmds[3 * PS_IOV], ans[PS_IOV + PAGE];
	struct pair pr;
	ckpt_err err;
	size_t n = 0;

	pair_open(&pr, PUMP_LAZY_SOURCE, PUMP_LAZY_DEST, 60000, _i == 2 ? VIA_RELAY : VIA_TCP);
	for (int i = 0; i < 3; i++)
		ps_cmd(cmds + i * PS_IOV, PS_IOV_GET, 1, 0x10000 + (uint64_t)i * PAGE, 0x101);
	if (_i > 0) {
		n = sizeof(cmds);
		put(pr.dfd, cmds, n);
		get_exact(pr.sfd, cmds, n, "the commands at the source");
		for (int i = 0; i < 3; i++) {
			memcpy(ans, cmds + i * PS_IOV, PS_IOV);
			memset(ans + PS_IOV, 0xa0 + i, PAGE);
			put(pr.sfd, ans, sizeof(ans));
			get_exact(pr.dfd, ans, sizeof(ans), "an answer at the daemon");
		}
	}
	if (_i == 2)
		relay_cut(&pr.rl);
	else if (_i == 3)
		pump_abort(pr.src);
	else if (_i == 4)
		pump_criu_fd_close(pr.dst);
	else
		pump_abort(pr.dst);
	lazy_source_unclean(pr.sfd, n);
	ck_assert_int_lt(join_by(pr.src, within(10), &err, "source"), 0);
	if (_i == 3)
		ck_assert_msg_has(err, "aborted");
	ck_assert_int_lt(join_by(pr.dst, within(10), &err, "receiver"), 0);
	if (_i < 2)
		ck_assert_msg_has(err, "aborted");
	if (_i == 4)
		ck_assert_msg_has(err, "criu lazy-pages closed its connection to the source before "
				       "the end");
	else
		get_end(pr.dfd, "the daemon"); /* its stream ends too */
	pair_close(&pr);
}
END_TEST

/*
 * The receiver's daemon: its commands go out whole (one split over two writes
 * waits for its second part), its close (loop 0: PS_IOV_CLOSE, 1:
 * PS_IOV_FORCE_CLOSE) waits for the commit while answers still flow (2: the
 * commit came first, the close goes at once); then the source's criu answers
 * the close and both ends close cleanly (3: the daemon's first).
 */
START_TEST(test_lazy_dest_holds_close)
{
	uint8_t cmds[3 * PS_IOV], ans[2][PS_IOV + PAGE], four[4] = { 0 };
	struct pair pr;
	ckpt_err err;

	pair_open(&pr, PUMP_LAZY_SOURCE, PUMP_LAZY_DEST, 60000, VIA_TCP);
	ps_cmd(cmds, PS_IOV_GET, 1, 0x1000, 0x101);
	ps_cmd(cmds + PS_IOV, PS_IOV_GET, 1, 0x2000, 0x101);
	ps_cmd(cmds + 2 * PS_IOV, _i == 1 ? PS_IOV_FORCE_CLOSE : PS_IOV_CLOSE, 0, 0, 0);
	if (_i == 2)
		pump_commit(pr.dst);
	/* a command in two parts: nothing of it goes before its end */
	put(pr.dfd, cmds, 10);
	get_nothing(pr.sfd, 300, "a part of a command");
	put(pr.dfd, cmds + 10, sizeof(cmds) - 10);
	get_exact(pr.sfd, cmds, 2 * PS_IOV, "the two GETs");
	for (int i = 0; i < 2; i++) {
		memcpy(ans[i], cmds + i * PS_IOV, PS_IOV);
		memset(ans[i] + PS_IOV, 0x5a + i, PAGE);
	}
	put(pr.sfd, ans, sizeof(ans));
	get_exact(pr.dfd, ans, sizeof(ans), "the answers");
	if (_i != 2) {
		/* the close waits for the commit */
		get_nothing(pr.sfd, 500, "the close before the commit");
		ck_assert(!pump_ended(pr.src, NULL) && !pump_ended(pr.dst, NULL));
		pump_commit(pr.dst);
	}
	get_exact(pr.sfd, cmds + 2 * PS_IOV, PS_IOV, "the close");
	put(pr.sfd, four, sizeof(four)); /* criu answers the close */
	if (_i < 3) {
		/* and exits; the daemon sees the end, and exits */
		pump_criu_fd_close(pr.src);
		get_exact(pr.dfd, four, sizeof(four), "the close's answer");
		get_end(pr.dfd, "the daemon");
		pump_criu_fd_close(pr.dst);
	} else {
		/* the daemon exits first, then criu, having seen the end */
		get_exact(pr.dfd, four, sizeof(four), "the close's answer");
		pump_criu_fd_close(pr.dst);
		get_end(pr.sfd, "the source's criu");
		pump_criu_fd_close(pr.src);
	}
	ck_assert_msg(join_by(pr.src, within(10), &err, "source") == 0, "source: %s", err.msg);
	ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s", err.msg);
	ck_assert_uint_eq(pump_bytes_out(pr.dst), sizeof(cmds));
	ck_assert_uint_eq(pump_bytes_in(pr.src), sizeof(cmds));
	ck_assert_uint_eq(pump_bytes_out(pr.src), sizeof(ans) + sizeof(four));
	ck_assert_uint_eq(pump_bytes_in(pr.dst), sizeof(ans) + sizeof(four));
	pair_close(&pr);
}
END_TEST

/*
 * The daemon sends its close and exits, and the restore is never committed:
 * the close never reaches the source, and once the receiver's pump is aborted
 * the source's stream ends uncleanly (its criu resumes the tree).
 */
START_TEST(test_lazy_dest_close_without_commit)
{
	uint8_t get_cmd[PS_IOV], close_cmd[PS_IOV], ans[PS_IOV + PAGE];
	struct pair pr;
	ckpt_err err;

	pair_open(&pr, PUMP_LAZY_SOURCE, PUMP_LAZY_DEST, 60000, VIA_TCP);
	ps_cmd(get_cmd, PS_IOV_GET, 1, 0x7000, 0x101);
	ps_cmd(close_cmd, PS_IOV_CLOSE, 0, 0, 0);
	put(pr.dfd, get_cmd, sizeof(get_cmd));
	get_exact(pr.sfd, get_cmd, sizeof(get_cmd), "the GET");
	memcpy(ans, get_cmd, PS_IOV);
	memset(ans + PS_IOV, 0x33, PAGE);
	put(pr.sfd, ans, sizeof(ans));
	get_exact(pr.dfd, ans, sizeof(ans), "the answer");
	put(pr.dfd, close_cmd, sizeof(close_cmd));
	pump_criu_fd_close(pr.dst); /* the daemon exits */
	get_nothing(pr.sfd, 500, "the close without a commit");
	ck_assert(!pump_ended(pr.src, NULL) && !pump_ended(pr.dst, NULL));
	pump_abort(pr.dst);
	lazy_source_unclean(pr.sfd, sizeof(get_cmd));
	ck_assert_int_lt(join_by(pr.dst, within(10), &err, "receiver"), 0);
	ck_assert_msg_has(err, "aborted");
	ck_assert_int_lt(join_by(pr.src, within(10), &err, "source"), 0);
	ck_assert_uint_eq(pump_bytes_in(pr.src), PS_IOV);
	pair_close(&pr);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Waiting costs nothing                                              */
/* ------------------------------------------------------------------ */

/* About what a pump's socketpair holds unread (its buffer sizes, as the system caps them). */
static size_t unix_capacity(void)
{
	static uint8_t chunk[64 * 1024];
	int sv[2], sz = 4 << 20;
	size_t n = 0;
	ssize_t w;

	sock_pair(sv);
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	while ((w = send(sv[0], chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
		n += (size_t)w;
	close(sv[0]);
	close(sv[1]);
	return n;
}

/*
 * A pump waiting (for the peer, for the commit, for its criu) sleeps in poll:
 * the process uses little CPU over 600 ms of it. Loop: 0 copy mode, the
 * source's criu gone (closed) after its data, the source's pump waiting for
 * the receiver's end; 1 lazy mode, the daemon gone after its close, the
 * receiver's pump waiting for the commit; 2 copy mode, the source's pump done
 * and gone (its TLS end read), the receiver's waiting for its criu to read the
 * rest (more than its socketpair holds, less than that and the pump's own
 * buffer for it).
 */
START_TEST(test_idle_no_spin)
{
	struct pair pr;
	struct flow w = { .pat = 0, .len = MIB, .shut = true }, r = { .pat = 0 };
	uint8_t b[PS_IOV];
	ckpt_err err;
	double c0, c1;
	int end;

	if (_i == 1) {
		pair_open(&pr, PUMP_LAZY_SOURCE, PUMP_LAZY_DEST, 60000, VIA_TCP);
		ps_cmd(b, PS_IOV_CLOSE, 0, 0, 0);
		put(pr.dfd, b, sizeof(b));
		pump_criu_fd_close(pr.dst);
	} else {
		pair_open(&pr, PUMP_PASS, PUMP_PASS, 60000, VIA_TCP);
		w.fd = pr.sfd;
		r.fd = pr.dfd;
		if (_i == 2) {
			shutdown(pr.dfd, SHUT_WR); /* the receiver's criu ends its side first */
			w.len = unix_capacity() + 128 * 1024;
		}
		flow_start(&w, writer_main);
		flow_join(&w, within(10), "the writer");
		if (_i == 0) {
			pump_criu_fd_close(pr.src);
			flow_start(&r, reader_main);
			flow_join(&r, within(10), "the reader");
			ck_assert(r.eof && !r.bad && r.done == MIB);
		} else {
			get_end(pr.sfd, "the source's criu");
			pump_criu_fd_close(pr.src);
			ck_assert_int_eq(join_by(pr.src, within(10), &err, "source"), 0);
		}
	}
	msleep(100);
	c0 = cpu_s();
	msleep(600);
	c1 = cpu_s();
	ck_assert_msg(c1 - c0 < 0.15 * slow, "%.2f s of CPU in 0.6 s of waiting", c1 - c0);
	if (_i == 0) {
		shutdown(pr.dfd, SHUT_WR);
		ck_assert_int_eq(join_by(pr.src, within(10), &err, "source"), 0);
		ck_assert_int_eq(join_by(pr.dst, within(10), &err, "receiver"), 0);
	} else if (_i == 1) {
		pump_abort(pr.dst);
		get(pr.sfd, b, sizeof(b), 10000, &end);
		ck_assert_int_lt(join_by(pr.dst, within(10), &err, "receiver"), 0);
		ck_assert_int_lt(join_by(pr.src, within(10), &err, "source"), 0);
	} else {
		flow_start(&r, reader_main);
		flow_join(&r, within(10), "the reader");
		ck_assert_msg(join_by(pr.dst, within(10), &err, "receiver") == 0, "receiver: %s",
			      err.msg);
		ck_assert_msg(r.eof && !r.bad && r.done == w.len, "reader: %s, %llu bytes",
			      strerror(r.err), (unsigned long long)r.done);
	}
	pair_close(&pr);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *pump_suite(void)
{
	Suite *s = suite_create("pump");
	TCase *tc;

	tc = tcase_create("pass");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pass_bulk);
	tcase_add_loop_test(tc, test_pass_both_ways, 0, 2);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_silence);
	tcase_add_test(tc, test_stalled_reader);
	tcase_add_loop_test(tc, test_end_at_once, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("lazy");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_lazy_source_never_clean, 0, 5);
	tcase_add_loop_test(tc, test_lazy_dest_holds_close, 0, 4);
	tcase_add_test(tc, test_lazy_dest_close_without_commit);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_idle_no_spin, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	ckpt_err err = CKPT_ERR_INIT;
	const char *pre = getenv("LD_PRELOAD");
	char p[300], cmd[300];
	uint8_t secret[32];
	SRunner *sr;
	int failed, fd;

	valgrind = getenv("CKPT_UNDER_VALGRIND") || (pre && strstr(pre, "vgpreload"));
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
	slow = 3;
#endif
	if (valgrind)
		slow = 10;
	pat_init();
	snprintf(run_dir, sizeof(run_dir), "/tmp/ckpt-test-pump.XXXXXX");
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	/* a token file by the rules: 64 hex digits, 0600, in a 0700 directory of ours */
	snprintf(p, sizeof(p), "%s/token", run_dir);
	memcpy(secret, pat[0], sizeof(secret));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	for (size_t i = 0; fd >= 0 && i < sizeof(secret); i++)
		dprintf(fd, "%02x", secret[i]);
	if (fd < 0 || close(fd) < 0 || chan_token_load(p, &tk, &err) < 0) {
		fprintf(stderr, "test_pump: token %s: %s\n", p, err.msg);
		return EXIT_FAILURE;
	}
	sr = srunner_create(pump_suite());
	if (!getenv("CK_FORK"))
		srunner_set_fork_status(sr, CK_FORK); /* CK_FORK=no: one process, for valgrind */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	chan_token_free(tk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_pump: could not remove %s\n", run_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
