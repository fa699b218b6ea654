/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the migration API without CRIU: the options' checks, the
 * record (figures, JSON), every refusal ckpt_migrate_source and
 * ckpt_migrate_receive make before anything is frozen or written, and the
 * receiver's loop over loopback TCP: a peer with the wrong token and one
 * that is no migration endpoint are refused and nothing is written, and a
 * source asking how a session ended gets the answer of the durable record;
 * the TCP options every migration socket gets (mig_tcp_tune).
 * The end-to-end tests with CRIU are tests/migrate/test_migrate.sh.
 */
#include "error.h"
#include "channel.h"
#include "migrate.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

static char dir[256];
static char tok[300], tok2[300], tok_open[300], tok_short[300];

static void write_file(const char *p, const char *content, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ckpt-unit-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(tok, sizeof(tok), "%s/token", dir);
	snprintf(tok2, sizeof(tok2), "%s/token2", dir);
	snprintf(tok_open, sizeof(tok_open), "%s/token-open", dir);
	snprintf(tok_short, sizeof(tok_short), "%s/token-short", dir);
	write_file(tok, "0123456789abcdef0123456789abcdef\n", 0600);
	write_file(tok2, "another secret, not the first one\n", 0600);
	write_file(tok_open, "0123456789abcdef0123456789abcdef\n", 0644);
	write_file(tok_short, "short\n", 0600);
}

static void rm_rf(const char *p)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
	rm_rf(dir);
}

static bool dir_empty(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	bool empty = true;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

/* ---- options ---- */

START_TEST(opts_checked_when_set)
{
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	char missing[320];

	ck_assert_ptr_nonnull(m);
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, missing, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "nope");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok_open, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "chmod 600");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok_short, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "16");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, dir, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);

	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, tok, NULL, tok, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "certificate");
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, tok, missing, tok, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "nope");

	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_PAGE_PORT, 0, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_PAGE_PORT, 70000, &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_PAGE_PORT, 7001, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_LAZY, 2, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_TIMEOUT_MS, 0, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_ACCEPT_TIMEOUT_MS, 0, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_STAGING_DIR, 1, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, (ckpt_migrate_opt)999, 1, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIG_STAGING_DIR, tok, &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "not a directory");
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIG_STAGING_DIR, dir, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIG_PAGE_PORT, "1", &err), CKPT_EINVAL);
	ckpt_migrate_opts_free(m);
	ckpt_migrate_opts_free(NULL);
}
END_TEST

/* ---- the record ---- */

START_TEST(record_figures_and_json)
{
	ckpt_migration *mg = ckpt_migration_new();
	json_object *j, *f, *v;
	uint64_t x = 0;
	char *s;

	ck_assert_ptr_nonnull(mg);
	ck_assert_int_eq(ckpt_migration_outcome(mg), CKPT_MIG_NONE);
	ck_assert_int_eq(ckpt_migration_lazy(mg), -1);
	ck_assert_int_eq(ckpt_migration_stat(mg, CKPT_MIG_STAT_DOWNTIME_US, &x), CKPT_ENOTSUP);
	ck_assert_int_eq(ckpt_migration_stat(mg, (ckpt_mig_stat)77, &x), CKPT_EINVAL);
	ck_assert_ptr_null(ckpt_migration_stat_name((ckpt_mig_stat)77));
	ck_assert_str_eq(ckpt_migration_stat_name(CKPT_MIG_STAT_DOWNTIME_US), "downtime_us");
	mig_set(mg, FIG_DOWNTIME, 1234);
	mg->outcome = CKPT_MIG_DONE;
	mg->lazy = 1;
	mg->pid = 42;
	ck_assert_int_eq(ckpt_migration_stat(mg, CKPT_MIG_STAT_DOWNTIME_US, &x), 0);
	ck_assert_uint_eq(x, 1234);
	s = ckpt_migration_to_json(mg);
	ck_assert_ptr_nonnull(s);
	j = json_tokener_parse(s);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "outcome", &v));
	ck_assert_str_eq(json_object_get_string(v), "done");
	ck_assert(json_object_object_get_ex(j, "mode", &v));
	ck_assert_str_eq(json_object_get_string(v), "lazy");
	ck_assert(json_object_object_get_ex(j, "restored_pid", &v));
	ck_assert_int_eq(json_object_get_int(v), 42);
	ck_assert(json_object_object_get_ex(j, "figures", &f));
	ck_assert(json_object_object_get_ex(f, "downtime_us", &v));
	ck_assert_int_eq(json_object_get_int64(v), 1234);
	ck_assert(
		json_object_object_get_ex(f, "total_us", &v)); /* every key, null when not known */
	ck_assert(json_object_is_type(v, json_type_null));
	json_object_put(j);
	ckpt_free(s);
	ckpt_migration_free(mg);
}
END_TEST

/* ---- refusals before anything is frozen or sent ---- */

struct events {
	int n[16];
};

static void count_event(void *userdata, ckpt_mig_event ev, const ckpt_migration *mg)
{
	struct events *e = userdata;

	(void)mg;
	if ((int)ev >= 0 && (int)ev < 16)
		e->n[ev]++;
}

static int source_refused(ckpt_opts *o, ckpt_migrate_opts *m, const char *to, ckpt_client *c,
			  ckpt_err *err)
{
	ckpt_migration *mg = ckpt_migration_new();
	struct events ev = { { 0 } };
	int r;

	ckpt_migrate_opts_set_progress(m, count_event, &ev, NULL);
	r = ckpt_migrate_source(c, o, m, to, mg, err);
	ck_assert_int_eq(ckpt_migration_outcome(mg), CKPT_MIG_FAILED);
	ck_assert_int_eq(ev.n[CKPT_MIG_EV_DONE], 1);
	ck_assert_int_eq(ev.n[CKPT_MIG_EV_CONNECTED], 0);
	ckpt_migrate_opts_set_progress(m, NULL, NULL, NULL);
	ckpt_migration_free(mg);
	return r;
}

START_TEST(source_refusals)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	pid_t dead;

	ck_assert_int_eq(ckpt_migrate_source(c, o, m, NULL, NULL, &err), CKPT_EINVAL);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "unauthenticated");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "no target pid");
	ck_assert_int_eq(ckpt_opts_set_pid(o, getpid(), &err), 0);
	ck_assert_int_eq(source_refused(o, m, "nonsense", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "nonsense");
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:0", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "port 0");
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_LAZY, 1, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "TLS");
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIG_LAZY, 0, &err), 0);
	ck_assert_int_eq(ckpt_opts_set_leave_running(o, true, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "both hosts");
	ck_assert_int_eq(ckpt_opts_set_leave_running(o, false, &err), 0);
	dead = fork();
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	ck_assert_int_eq(ckpt_opts_set_pid(o, dead, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_ENOTARGET);
	ck_assert_int_eq(ckpt_client_set_service(c, "/run/nothing.sock", &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_ENOTSUP);
	ckpt_migrate_opts_free(m);
	ckpt_opts_free(o);
	ckpt_client_free(c);
}
END_TEST

START_TEST(listen_and_receive_refusals)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_migration *mg = ckpt_migration_new();
	ckpt_err err = CKPT_ERR_INIT;
	int fd = -1, p[2];

	ck_assert_int_eq(ckpt_migrate_listen("not an address", &fd, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_listen("127.0.0.1:0", &fd, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "port 0");
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, 0, mg, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "unauthenticated");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, 0, mg, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "images directory");
	ck_assert_int_eq(ckpt_opts_set_images_dir(o, dir, &err), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, p[0], mg, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "listening TCP socket");
	ck_assert_int_eq(ckpt_migration_outcome(mg), CKPT_MIG_FAILED);
	ck_assert_int_eq(ckpt_client_set_service(c, "/run/nothing.sock", &err), 0);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, p[0], mg, &err), CKPT_ENOTSUP);
	ck_assert_msg_has(err, "swrk");
	close(p[0]);
	close(p[1]);
	ckpt_migration_free(mg);
	ckpt_migrate_opts_free(m);
	ckpt_opts_free(o);
	ckpt_client_free(c);
}
END_TEST

/* ---- the receiver's loop, without CRIU ---- */

struct rcv_thread {
	pthread_t th;
	ckpt_client *c;
	ckpt_opts *o;
	ckpt_migrate_opts *m;
	ckpt_migration *mg;
	int lfd;
	int r;
	ckpt_err err;
	struct events ev;
	char base[300];
	uint16_t port;
};

static void *rcv_main(void *arg)
{
	struct rcv_thread *t = arg;

	t->r = ckpt_migrate_receive(t->c, t->o, t->m, t->lfd, t->mg, &t->err);
	return NULL;
}

static void rcv_start(struct rcv_thread *t, unsigned accept_ms)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	ckpt_err err = CKPT_ERR_INIT;

	memset(t, 0, sizeof(*t));
	t->err.version = CKPT_ERR_VERSION;
	snprintf(t->base, sizeof(t->base), "%s/recv", dir);
	ck_assert_int_eq(mkdir(t->base, 0700), 0);
	t->c = ckpt_client_new();
	t->o = ckpt_opts_new();
	t->m = ckpt_migrate_opts_new();
	t->mg = ckpt_migration_new();
	ck_assert_int_eq(ckpt_opts_set_images_dir(t->o, t->base, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(t->m, tok, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(t->m, CKPT_MIG_TIMEOUT_MS, 2000, &err), 0);
	ck_assert_int_eq(
		ckpt_migrate_opts_set_int(t->m, CKPT_MIG_ACCEPT_TIMEOUT_MS, accept_ms, &err), 0);
	ckpt_migrate_opts_set_progress(t->m, count_event, &t->ev, NULL);
	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(t->lfd, 8), 0);
	ck_assert_int_eq(getsockname(t->lfd, (struct sockaddr *)&a, &al), 0);
	t->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&t->th, NULL, rcv_main, t), 0);
}

static void rcv_end(struct rcv_thread *t)
{
	pthread_join(t->th, NULL);
	close(t->lfd);
	ckpt_migration_free(t->mg);
	ckpt_migrate_opts_free(t->m);
	ckpt_opts_free(t->o);
	ckpt_client_free(t->c);
}

static int dial(uint16_t port)
{
	char host[32];
	int fd = -1;

	snprintf(host, sizeof(host), "127.0.0.1");
	ck_assert_int_eq(mig_connect(host, port, 2000, &fd, NULL), 0);
	return fd;
}

START_TEST(receiver_refuses_and_writes_nothing)
{
	struct rcv_thread t;
	struct chan_auth bad = { .token_file = tok2 };
	struct chan *ch = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	int fd;

	rcv_start(&t, 2500);
	/* the wrong token */
	fd = dial(t.port);
	ck_assert_int_eq(chan_open(fd, CHAN_CONNECTING, &bad, 2000, &ch, &err), CKPT_EPERM);
	close(fd);
	/* no migration endpoint at all */
	fd = dial(t.port);
	ck_assert_int_eq(write(fd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	close(fd);
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT); /* it listened on until its accept deadline */
	ck_assert_msg(strstr(t.err.msg, "no migration arrived"), "%s", t.err.msg);
	ck_assert_int_eq(t.ev.n[CKPT_MIG_EV_REFUSED], 2);
	ck_assert_int_eq(t.ev.n[CKPT_MIG_EV_ACCEPTED], 0);
	ck_assert(dir_empty(t.base));
}
END_TEST

/* A source asking about a session: the answer of the record, acked when it says "running". */
static int ask_resolve(uint16_t port, const uint8_t session[CHAN_SESSION_SIZE],
		       struct chan_result *res)
{
	struct chan_auth good = { .token_file = tok };
	struct chan *ch = NULL;
	struct chan_msg msg;
	ckpt_err err = CKPT_ERR_INIT;
	int fd = dial(port), r;

	r = chan_open(fd, CHAN_CONNECTING, &good, 2000, &ch, &err);
	if (r == 0)
		r = chan_send_resolve(ch, session, &err);
	if (r == 0)
		r = chan_expect(ch, CHAN_MSG_RESULT, &msg, &err);
	if (r == 0) {
		*res = msg.u.result;
		if (res->status == CHAN_RESULT_RUNNING)
			r = chan_send_ack(ch, CHAN_ACK_COMMITTED, &err);
	}
	chan_free(ch);
	close(fd);
	return r;
}

START_TEST(receiver_answers_from_its_records)
{
	struct rcv_thread t;
	struct chan_result res;
	uint8_t s1[CHAN_SESSION_SIZE], s2[CHAN_SESSION_SIZE], s3[CHAN_SESSION_SIZE];
	char hex[2 * CHAN_SESSION_SIZE + 1], p[400];

	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	memset(s3, 0x33, sizeof(s3));
	rcv_start(&t, 3000);
	mig_session_hex(s1, hex);
	snprintf(p, sizeof(p), "%s/%s.state", t.base, hex);
	write_file(p, "running 4242\n", 0600);
	mig_session_hex(s2, hex);
	snprintf(p, sizeof(p), "%s/%s.state", t.base, hex);
	write_file(p, "images\n", 0600);

	ck_assert_int_eq(ask_resolve(t.port, s1, &res), 0);
	ck_assert_int_eq(res.status, CHAN_RESULT_RUNNING);
	ck_assert_int_eq(res.pid, 4242);
	ck_assert_int_eq(ask_resolve(t.port, s2, &res), 0);
	ck_assert_int_eq(res.status,
			 CHAN_RESULT_FAILED); /* its connection is gone: it never runs here */
	ck_assert_int_eq(ask_resolve(t.port, s3, &res), 0);
	ck_assert_int_eq(res.status, CHAN_RESULT_UNKNOWN); /* no record: not known here */
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT);
	ck_assert_int_eq(t.ev.n[CKPT_MIG_EV_ACCEPTED], 0);
}
END_TEST

/* mig_tcp_tune: TCP_USER_TIMEOUT = the channel timeout, keepalive probes that end about then */
static void check_tuned(int fd, int user, int idle, int intvl, int cnt)
{
	int v;
	socklen_t l = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &l), 0);
	ck_assert_int_eq(v, user);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l), 0);
	ck_assert_int_eq(v, idle);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, &l), 0);
	ck_assert_int_eq(v, intvl);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &l), 0);
	ck_assert_int_eq(v, cnt);
}

START_TEST(tcp_sockets_get_the_channel_timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	ckpt_err err = CKPT_ERR_INIT;
	int l, fd, p[2];

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	/* 5 s: probes from 2 s, 1 s apart, 3 of them: 5 s */
	ck_assert_int_eq(mig_connect("127.0.0.1", ntohs(sa.sin_port), 5000, &fd, &err), 0);
	check_tuned(fd, 5000, 2, 1, 3);
	close(fd);
	/* the default, 30 s: from 5 s, 2 s apart, 13 of them: 31 s */
	ck_assert_int_eq(mig_connect("127.0.0.1", ntohs(sa.sin_port), 30000, &fd, &err), 0);
	check_tuned(fd, 30000, 5, 2, 13);
	close(fd);
	close(l);
	/* a failure names the socket and the option */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(mig_tcp_tune(p[0], 5000, "the test's pipe", &err), CKPT_ESYS);
	ck_assert_ptr_nonnull(strstr(err.msg, "the test's pipe: setsockopt SO_KEEPALIVE"));
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc = tcase_create("migrate");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, opts_checked_when_set);
	tcase_add_test(tc, record_figures_and_json);
	tcase_add_test(tc, source_refusals);
	tcase_add_test(tc, listen_and_receive_refusals);
	tcase_add_test(tc, receiver_refuses_and_writes_nothing);
	tcase_add_test(tc, receiver_answers_from_its_records);
	tcase_add_test(tc, tcp_sockets_get_the_channel_timeout);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
