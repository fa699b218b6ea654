/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the migration API without CRIU: the options' checks (the
 * token file read once by its rules, the TLS peers, the keys gone in
 * protocol version 2), the credentials of each side, the record (figures,
 * JSON), every refusal ckpt_migrate_source and ckpt_migrate_receive make
 * before anything is frozen or written, and the receiver's loop over
 * loopback TCP: a peer with the wrong token, one with a certificate of the
 * CA that names none of the accepted sources and one that is no migration
 * endpoint are refused and nothing is written; a source asking how a session
 * ended gets the answer of the durable record, even while idle connections
 * wait in authentication; the TCP options every migration socket gets
 * (mig_tcp_tune). The end-to-end tests with CRIU are tests/migrate/test_migrate.sh.
 */
#include "base/error.h"
#include "migrate/chan.h"
#include "migrate/migrate.h"

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

static char dir[256]; /* this test's (mode 0700) */
static char tok[300], tok2[300], tok_open[300], tok_short[300];
static char run_dir[256], tls_dir[300];
static char ca[300], rcv_cert[300], rcv_key[300], src_cert[300], src_key[300], mallory[300],
	mallory_key[300];

static void write_file(const char *p, const char *content, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

#define HEX_A "00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef\n"
#define HEX_B "fedcba9876543210fedcba9876543210ffeeddccbbaa99887766554433221100\n"

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ckpt-unit-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(tok, sizeof(tok), "%s/token", dir);
	snprintf(tok2, sizeof(tok2), "%s/token2", dir);
	snprintf(tok_open, sizeof(tok_open), "%s/token-open", dir);
	snprintf(tok_short, sizeof(tok_short), "%s/token-short", dir);
	/* 64 hex digits (32 bytes of secret), owner-only, in a directory of mode 0700 */
	write_file(tok, HEX_A, 0600);
	write_file(tok2, HEX_B, 0600);
	write_file(tok_open, HEX_A, 0644);
	write_file(tok_short, "0123456789abcdef\n", 0600);
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
	char missing[320], link[320];

	ck_assert_ptr_nonnull(m);
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, missing, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "nope");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, "", &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok_open, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "chmod 600");
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok_short, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "holds 8 bytes of secret (expected at least 32");
	snprintf(link, sizeof(link), "%s/sub", dir);
	ck_assert_int_eq(mkdir(link, 0700), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, link, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "not a regular file");
	/* dir itself is in /tmp, which others can write: they could replace it */
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, dir, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "which others can write");
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(tok, link), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, link, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "symlink");
	ck_assert_ptr_null(m->token); /* nothing loaded by the refusals */
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);
	ck_assert_ptr_nonnull(m->token);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok2, &err), 0); /* replaces it */
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, NULL, &err), 0);
	ck_assert_ptr_null(m->token);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(NULL, tok, &err), CKPT_EINVAL);

	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, tok, NULL, tok, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "certificate");
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, tok, missing, tok, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "nope");
	ck_assert_ptr_null(m->tls_cert);
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, ca, src_cert, src_key, &err), 0);
	ck_assert(mig_has_tls(m));
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, NULL, NULL, NULL, &err), 0);
	ck_assert(!mig_has_tls(m));

	/* gone in protocol version 2: told so, whatever the value */
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_PAGE_PORT, 7001, &err),
			 CKPT_ENOTSUP);
	ck_assert_msg_has(err, "CKPT_MIGRATE_OPT_PAGE_PORT is gone");
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_PAGE_PORT, 0, &err),
			 CKPT_ENOTSUP);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_TLS_NO_CN_VERIFY, 1, &err),
			 CKPT_ENOTSUP);
	ck_assert_msg_has(err, "ckpt_migrate_opts_add_tls_peer");
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_TLS_NO_CN_VERIFY, 0, &err),
			 CKPT_ENOTSUP);
	/* the authentication deadline of one connection */
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 0, &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "expected 1 to 86400000");
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, -5, &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 86400001LL,
						   &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 1, &err),
			 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 86400000LL,
						   &err),
			 0);
	ck_assert_uint_eq(m->auth_timeout_ms, 86400000u);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 2500, &err),
			 0);
	ck_assert_uint_eq(m->auth_timeout_ms, 2500);

	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_LAZY, 2, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_TIMEOUT_MS, 0, &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS, 0, &err),
			 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_STAGING_DIR, 1, &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(m, (ckpt_migrate_opt)999, 1, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIGRATE_OPT_STAGING_DIR, tok, &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "not a directory");
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIGRATE_OPT_STAGING_DIR, dir, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIGRATE_OPT_PAGE_PORT, "1", &err),
			 CKPT_EINVAL);
	ck_assert_int_eq(ckpt_migrate_opts_set_str(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, "1", &err),
			 CKPT_EINVAL);
	ckpt_migrate_opts_free(m);
	ckpt_migrate_opts_free(NULL);
}
END_TEST

START_TEST(opts_tls_peers)
{
	static const char *const bad[] = { "",	"a b",	   "tab\there", "a,b", "*.example.com",
					   "*", "ctl\x01", "new\nline" };
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	char name[300];

	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(ckpt_migrate_opts_add_tls_peer(m, bad[i], &err) == CKPT_EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_msg_has(err,
				  "expected a DNS name, an address or a certificate's common name");
	}
	memset(name, 'a', sizeof(name));
	name[CHAN_PEER_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, name, &err), CKPT_EINVAL);
	name[CHAN_PEER_NAME_MAX] = '\0';
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, name, &err), 0);
	ck_assert_uint_eq(m->n_peers, 1);
	/* NULL clears the list */
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, NULL, &err), 0);
	ck_assert_uint_eq(m->n_peers, 0);
	/* up to 16 */
	for (int i = 0; i < CHAN_PEERS_MAX; i++) {
		snprintf(name, sizeof(name), "host-%d.example", i);
		ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, name, &err), 0);
	}
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, "one-more", &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "at most 16 peers");
	ck_assert_uint_eq(m->n_peers, CHAN_PEERS_MAX);
	ck_assert_str_eq(m->peers[15], "host-15.example");
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, NULL, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, "10.99.0.1", &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, "source", &err), 0);
	ck_assert_uint_eq(m->n_peers, 2);
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(NULL, "x", &err), CKPT_EINVAL);
	ckpt_migrate_opts_free(m); /* frees the names (valgrind) */
}
END_TEST

/* What each side accepts: the receiver names its sources; a source defaults to the host dialled. */
START_TEST(creds_of_each_side)
{
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	struct chan_creds *cr = NULL;

	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);
	ck_assert_int_eq(mig_creds(m, CHAN_ACCEPTING, NULL, &cr, &err), 0);
	ck_assert_msg(strstr(chan_creds_describe(cr), "a token"), "%s", chan_creds_describe(cr));
	chan_creds_free(cr);
	cr = NULL;
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, ca, rcv_cert, rcv_key, &err), 0);
	ck_assert_int_eq(mig_creds(m, CHAN_ACCEPTING, NULL, &cr, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "needs the identities of the peers");
	ck_assert_ptr_null(cr);
	ck_assert_int_eq(mig_creds(m, CHAN_CONNECTING, "10.99.0.1", &cr, &err), 0);
	ck_assert_str_eq(chan_creds_describe(cr), "mutual TLS (peers: 10.99.0.1) and a token");
	chan_creds_free(cr);
	cr = NULL;
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, "source", &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(m, "10.99.0.2", &err), 0);
	ck_assert_int_eq(mig_creds(m, CHAN_ACCEPTING, NULL, &cr, &err), 0);
	ck_assert_str_eq(chan_creds_describe(cr),
			 "mutual TLS (peers: source, 10.99.0.2) and a token");
	chan_creds_free(cr);
	cr = NULL;
	/* the names given win over the host dialled */
	ck_assert_int_eq(mig_creds(m, CHAN_CONNECTING, "10.99.0.1", &cr, &err), 0);
	ck_assert_str_eq(chan_creds_describe(cr),
			 "mutual TLS (peers: source, 10.99.0.2) and a token");
	chan_creds_free(cr);
	ckpt_migrate_opts_free(m);
}
END_TEST

/* ---- the record ---- */
START_TEST(record_figures_and_json)
{
	ckpt_migrate_result *mg = ckpt_migrate_result_new();
	json_object *j, *f, *v;
	uint64_t x = 0;
	char *s;

	ck_assert_ptr_nonnull(mg);
	ck_assert_int_eq(ckpt_migrate_result_outcome(mg), CKPT_MIGRATE_OUTCOME_NONE);
	ck_assert_int_eq(ckpt_migrate_result_lazy(mg), -1);
	ck_assert_int_eq(ckpt_migrate_result_stat(mg, CKPT_MIGRATE_STAT_DOWNTIME_US, &x),
			 CKPT_ENOTSUP);
	ck_assert_int_eq(ckpt_migrate_result_stat(mg, (ckpt_migrate_stat)77, &x), CKPT_EINVAL);
	ck_assert_ptr_null(ckpt_migrate_stat_name((ckpt_migrate_stat)77));
	ck_assert_str_eq(ckpt_migrate_stat_name(CKPT_MIGRATE_STAT_DOWNTIME_US), "downtime_us");
	mig_set(mg, FIG_DOWNTIME, 1234);
	mg->outcome = CKPT_MIGRATE_OUTCOME_DONE;
	mg->lazy = 1;
	mg->pid = 42;
	ck_assert_int_eq(ckpt_migrate_result_stat(mg, CKPT_MIGRATE_STAT_DOWNTIME_US, &x), 0);
	ck_assert_uint_eq(x, 1234);
	s = ckpt_migrate_result_to_json(mg);
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
	ckpt_migrate_result_free(mg);
}
END_TEST

/* ---- refusals before anything is frozen or sent ---- */

struct events {
	int n[16];
	char refused[4096]; /* the messages of the refusals, "; " between them */
	char listening[1024];
};

static void count_event(void *userdata, ckpt_migrate_event ev, const ckpt_migrate_result *mg)
{
	struct events *e = userdata;
	size_t l = strlen(e->refused);

	if ((int)ev >= 0 && (int)ev < 16)
		e->n[ev]++;
	if (ev == CKPT_MIGRATE_EV_REFUSED && l + 3 < sizeof(e->refused))
		snprintf(e->refused + l, sizeof(e->refused) - l, "%s; ",
			 ckpt_migrate_result_message(mg));
	if (ev == CKPT_MIGRATE_EV_LISTENING)
		snprintf(e->listening, sizeof(e->listening), "%s", ckpt_migrate_result_message(mg));
}

static int source_refused(ckpt_opts *o, ckpt_migrate_opts *m, const char *to, ckpt_client *c,
			  ckpt_err *err)
{
	ckpt_migrate_result *mg = ckpt_migrate_result_new();
	struct events ev;
	int r;

	memset(&ev, 0, sizeof(ev));
	ckpt_migrate_opts_set_progress(m, count_event, &ev, NULL);
	r = ckpt_migrate_source(c, o, m, to, mg, err);
	ck_assert_int_eq(ckpt_migrate_result_outcome(mg), CKPT_MIGRATE_OUTCOME_FAILED);
	ck_assert_int_eq(ev.n[CKPT_MIGRATE_EV_DONE], 1);
	ck_assert_int_eq(ev.n[CKPT_MIGRATE_EV_CONNECTED], 0);
	ckpt_migrate_opts_set_progress(m, NULL, NULL, NULL);
	ckpt_migrate_result_free(mg);
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
	/* TLS files that do not load: refused before anything is frozen, each file named */
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, ca, src_cert, rcv_key, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, src_cert);
	ck_assert_msg_has(err, rcv_key);
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, NULL, NULL, NULL, &err), 0);
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), 0);
	ck_assert_int_eq(source_refused(o, m, "127.0.0.1:7000", c, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "both hosts");
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, false, &err), 0);
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
	ckpt_migrate_result *mg = ckpt_migrate_result_new();
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
	ck_assert_int_eq(ckpt_migrate_result_outcome(mg), CKPT_MIGRATE_OUTCOME_FAILED);
	ck_assert_int_eq(ckpt_client_set_service(c, "/run/nothing.sock", &err), 0);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, p[0], mg, &err), CKPT_ENOTSUP);
	ck_assert_msg_has(err, "swrk");
	close(p[0]);
	close(p[1]);
	ckpt_migrate_result_free(mg);
	ckpt_migrate_opts_free(m);
	ckpt_opts_free(o);
	ckpt_client_free(c);
}
END_TEST

/* A receiver with TLS naming no source would take any certificate of the CA: it does not start. */
START_TEST(receive_tls_needs_peers)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ckpt_client *c = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_migrate_result *mg = ckpt_migrate_result_new();
	ckpt_err err = CKPT_ERR_INIT;
	struct events ev;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char base[300];

	memset(&ev, 0, sizeof(ev));
	snprintf(base, sizeof(base), "%s/recv", dir);
	ck_assert_int_eq(mkdir(base, 0700), 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(ckpt_opts_set_images_dir(o, base, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(m, ca, rcv_cert, rcv_key, &err), 0);
	ck_assert_int_eq(
		ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS, 2000, &err), 0);
	ckpt_migrate_opts_set_progress(m, count_event, &ev, NULL);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, l, mg, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "mutual TLS needs the identities of the peers to accept");
	ck_assert_int_eq(ckpt_migrate_result_outcome(mg), CKPT_MIGRATE_OUTCOME_FAILED);
	ck_assert_int_eq(ev.n[CKPT_MIGRATE_EV_LISTENING], 0);
	ck_assert_int_eq(ev.n[CKPT_MIGRATE_EV_DONE], 1);
	/* with a token too: the same */
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(m, tok, &err), 0);
	ck_assert_int_eq(ckpt_migrate_receive(c, o, m, l, mg, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "identities of the peers");
	ck_assert_int_eq(ev.n[CKPT_MIGRATE_EV_LISTENING], 0);
	ck_assert(dir_empty(base));
	close(l);
	ckpt_migrate_result_free(mg);
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
	ckpt_migrate_result *mg;
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

/* A receiver's options: the token file tok, a 2 s channel timeout, the accept deadline. */
static void rcv_init(struct rcv_thread *t, unsigned accept_ms)
{
	ckpt_err err = CKPT_ERR_INIT;

	memset(t, 0, sizeof(*t));
	t->err.version = CKPT_ERR_VERSION;
	snprintf(t->base, sizeof(t->base), "%s/recv", dir);
	ck_assert_int_eq(mkdir(t->base, 0700), 0);
	t->c = ckpt_client_new();
	t->o = ckpt_opts_new();
	t->m = ckpt_migrate_opts_new();
	t->mg = ckpt_migrate_result_new();
	ck_assert_int_eq(ckpt_opts_set_images_dir(t->o, t->base, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(t->m, tok, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(t->m, CKPT_MIGRATE_OPT_TIMEOUT_MS, 2000, &err),
			 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(t->m, CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS,
						   accept_ms, &err),
			 0);
	ckpt_migrate_opts_set_progress(t->m, count_event, &t->ev, NULL);
}

/* Listen on 127.0.0.1 and run ckpt_migrate_receive on a thread. */
static void rcv_go(struct rcv_thread *t)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(t->lfd, 64), 0);
	ck_assert_int_eq(getsockname(t->lfd, (struct sockaddr *)&a, &al), 0);
	t->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&t->th, NULL, rcv_main, t), 0);
}

static void rcv_end(struct rcv_thread *t)
{
	pthread_join(t->th, NULL);
	close(t->lfd);
	ckpt_migrate_result_free(t->mg);
	ckpt_migrate_opts_free(t->m);
	ckpt_opts_free(t->o);
	ckpt_client_free(t->c);
}

static int dial(uint16_t port)
{
	int fd = -1;

	ck_assert_int_eq(mig_connect("127.0.0.1", port, 2000, &fd, NULL), 0);
	return fd;
}

/* The credentials of a source (on the test's thread): a token file, or TLS files and a peer. */
struct client {
	struct chan_token *token;
	struct chan_creds *cr;
};

static void client_token(struct client *cl, const char *file)
{
	struct chan_auth a = { 0 };
	ckpt_err err = CKPT_ERR_INIT;

	memset(cl, 0, sizeof(*cl));
	ck_assert_msg(chan_token_load(file, &cl->token, &err) == 0, "%s", err.msg);
	a.token = cl->token;
	ck_assert_msg(chan_creds_new(&a, CHAN_CONNECTING, &cl->cr, &err) == 0, "%s", err.msg);
}

static void client_tls(struct client *cl, const char *cert, const char *key, const char *peer)
{
	struct chan_auth a = {
		.tls_cacert = ca, .tls_cert = cert, .tls_key = key, .peers = &peer, .n_peers = 1
	};
	ckpt_err err = CKPT_ERR_INIT;

	memset(cl, 0, sizeof(*cl));
	ck_assert_msg(chan_creds_new(&a, CHAN_CONNECTING, &cl->cr, &err) == 0, "%s", err.msg);
}

static void client_free(struct client *cl)
{
	chan_creds_free(cl->cr);
	chan_token_free(cl->token);
}

START_TEST(receiver_refuses_and_writes_nothing)
{
	struct rcv_thread t;
	struct client bad;
	struct chan *ch = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	int fd;

	rcv_init(&t, 2500);
	rcv_go(&t);
	/* the wrong token */
	client_token(&bad, tok2);
	fd = dial(t.port);
	ck_assert_int_eq(chan_open(fd, CHAN_CONNECTING, bad.cr, 2000, &ch, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "TLS keyed by the token failed");
	ck_assert_ptr_null(ch);
	close(fd);
	client_free(&bad);
	/* no migration endpoint at all */
	fd = dial(t.port);
	ck_assert_int_eq(write(fd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	close(fd);
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT); /* it listened on until its accept deadline */
	ck_assert_msg(strstr(t.err.msg, "no migration arrived"), "%s", t.err.msg);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_LISTENING], 1);
	ck_assert_msg(strstr(t.ev.listening, "accepts sources with a token"), "%s", t.ev.listening);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_REFUSED], 2);
	ck_assert_msg(strstr(t.ev.refused, "holds another token"), "%s", t.ev.refused);
	ck_assert_msg(strstr(t.ev.refused, "is not a ckpt migration endpoint"), "%s", t.ev.refused);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_ACCEPTED], 0);
	ck_assert(dir_empty(t.base));
}
END_TEST

/* A source asking about a session: the answer of the record, acked when it says "running". */
static int ask_resolve(uint16_t port, const struct chan_creds *cr, unsigned timeout_ms,
		       const uint8_t session[CHAN_SESSION_SIZE], struct chan_result *res,
		       ckpt_err *err)
{
	struct chan *ch = NULL;
	struct chan_msg msg;
	int fd = dial(port), r;

	r = chan_open(fd, CHAN_CONNECTING, cr, timeout_ms, &ch, err);
	if (r == 0)
		r = chan_send_resolve(ch, session, err);
	if (r == 0)
		r = chan_expect(ch, CHAN_MSG_RESULT, &msg, err);
	if (r == 0) {
		*res = msg.u.result;
		if (res->status == CHAN_RESULT_RUNNING)
			r = chan_send_ack(ch, CHAN_ACK_COMMITTED, err);
	}
	chan_free(ch);
	close(fd);
	return r;
}

START_TEST(receiver_answers_from_its_records)
{
	struct rcv_thread t;
	struct client good;
	struct chan_result res;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t s1[CHAN_SESSION_SIZE], s2[CHAN_SESSION_SIZE], s3[CHAN_SESSION_SIZE];
	char hex[2 * CHAN_SESSION_SIZE + 1], p[400];

	memset(s1, 0x11, sizeof(s1));
	memset(s2, 0x22, sizeof(s2));
	memset(s3, 0x33, sizeof(s3));
	rcv_init(&t, 3000);
	mig_session_hex(s1, hex);
	snprintf(p, sizeof(p), "%s/%s.state", t.base, hex);
	write_file(p, "running 4242\n", 0600);
	mig_session_hex(s2, hex);
	snprintf(p, sizeof(p), "%s/%s.state", t.base, hex);
	write_file(p, "images\n", 0600);
	rcv_go(&t);
	client_token(&good, tok);

	ck_assert_msg(ask_resolve(t.port, good.cr, 2000, s1, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.status, CHAN_RESULT_RUNNING);
	ck_assert_int_eq(res.pid, 4242);
	ck_assert_msg(ask_resolve(t.port, good.cr, 2000, s2, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.status,
			 CHAN_RESULT_FAILED); /* its connection is gone: it never runs here */
	ck_assert_msg(ask_resolve(t.port, good.cr, 2000, s3, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.status, CHAN_RESULT_UNKNOWN); /* no record: not known here */
	client_free(&good);
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_ACCEPTED], 0);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_REFUSED], 0);
}
END_TEST

/* A TLS receiver answers the source it names, and refuses Mallory's certificate of the same CA. */
START_TEST(receiver_tls_names_its_sources)
{
	struct rcv_thread t;
	struct client src, mal;
	struct chan_result res;
	struct chan *ch = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t s[CHAN_SESSION_SIZE];
	int fd;

	memset(s, 0x44, sizeof(s));
	rcv_init(&t, 3000);
	ck_assert_int_eq(ckpt_migrate_opts_set_token_file(t.m, NULL, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_set_tls(t.m, ca, rcv_cert, rcv_key, &err), 0);
	ck_assert_int_eq(ckpt_migrate_opts_add_tls_peer(t.m, "source", &err), 0);
	rcv_go(&t);
	client_tls(&mal, mallory, mallory_key, "127.0.0.1");
	fd = dial(t.port);
	ck_assert_int_eq(chan_open(fd, CHAN_CONNECTING, mal.cr, 2000, &ch, &err), CKPT_EPERM);
	ck_assert_msg_has(err, "the peer refused our TLS certificate");
	close(fd);
	client_free(&mal);
	client_tls(&src, src_cert, src_key, "127.0.0.1");
	ck_assert_msg(ask_resolve(t.port, src.cr, 2000, s, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(res.status, CHAN_RESULT_UNKNOWN);
	client_free(&src);
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT);
	ck_assert_msg(strstr(t.ev.listening, "mutual TLS (peers: source)"), "%s", t.ev.listening);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_REFUSED], 1);
	ck_assert_msg(strstr(t.ev.refused, "CN=mallory"), "%s", t.ev.refused);
	ck_assert_msg(strstr(t.ev.refused, "names none of the peers this side accepts"), "%s",
		      t.ev.refused);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_ACCEPTED], 0);
	ck_assert(dir_empty(t.base));
}
END_TEST

/*
 * Twenty connections opened and left silent: each waits for its own
 * authentication deadline (10 s) on a thread of its own, and a source's
 * question is answered at once, not after them.
 */
START_TEST(receiver_not_held_by_idle_connections)
{
	struct rcv_thread t;
	struct client good;
	struct chan_result res;
	ckpt_err err = CKPT_ERR_INIT;
	uint8_t s[CHAN_SESSION_SIZE];
	char hex[2 * CHAN_SESSION_SIZE + 1], p[400];
	int idle[20];
	uint64_t t0;

	memset(s, 0x55, sizeof(s));
	rcv_init(&t, 5000);
	ck_assert_int_eq(ckpt_migrate_opts_set_int(t.m, CKPT_MIGRATE_OPT_TIMEOUT_MS, 10000, &err),
			 0);
	ck_assert_int_eq(
		ckpt_migrate_opts_set_int(t.m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, 10000, &err), 0);
	mig_session_hex(s, hex);
	snprintf(p, sizeof(p), "%s/%s.state", t.base, hex);
	write_file(p, "committed 777\n", 0600);
	rcv_go(&t);
	client_token(&good, tok);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		idle[i] = dial(t.port);
	/* one of them says half a preamble and stops */
	ck_assert_int_eq(write(idle[0], "ckpt-m", 6), 6);
	t0 = now_us();
	ck_assert_msg(ask_resolve(t.port, good.cr, 3000, s, &res, &err) == 0, "%s", err.msg);
	ck_assert_msg(now_us() - t0 < 3 * 1000 * 1000, "answered after %llu ms",
		      (unsigned long long)(now_us() - t0) / 1000);
	ck_assert_int_eq(res.status, CHAN_RESULT_RUNNING);
	ck_assert_int_eq(res.pid, 777);
	/* and again, while they still wait */
	t0 = now_us();
	ck_assert_msg(ask_resolve(t.port, good.cr, 3000, s, &res, &err) == 0, "%s", err.msg);
	ck_assert_uint_lt(now_us() - t0, 3 * 1000 * 1000);
	for (size_t i = 0; i < ARRAY_SIZE(idle); i++)
		close(idle[i]);
	client_free(&good);
	rcv_end(&t);
	ck_assert_int_eq(t.r, CKPT_ETIMEDOUT);
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_ACCEPTED], 0);
	/* the idle ones, refused when they closed (a reset: they left our preamble unread) */
	ck_assert_int_eq(t.ev.n[CKPT_MIGRATE_EV_REFUSED], 20);
	ck_assert_msg(strstr(t.ev.refused, "refused a connection from 127.0.0.1: migration peer"),
		      "%s", t.ev.refused);
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
	char cmd[600];
	int failed;

	signal(SIGPIPE, SIG_IGN);
	snprintf(run_dir, sizeof(run_dir), "/tmp/ckpt-unit-migrate-run.XXXXXX");
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(tls_dir, sizeof(tls_dir), "%s/tls", run_dir);
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", CKPT_GEN_CERTS, tls_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_migrate: %s failed\n", cmd);
		return EXIT_FAILURE;
	}
	snprintf(ca, sizeof(ca), "%s/ca.pem", tls_dir);
	snprintf(rcv_cert, sizeof(rcv_cert), "%s/receiver.pem", tls_dir);
	snprintf(rcv_key, sizeof(rcv_key), "%s/receiver-key.pem", tls_dir);
	snprintf(src_cert, sizeof(src_cert), "%s/source.pem", tls_dir);
	snprintf(src_key, sizeof(src_key), "%s/source-key.pem", tls_dir);
	snprintf(mallory, sizeof(mallory), "%s/mallory.pem", tls_dir);
	snprintf(mallory_key, sizeof(mallory_key), "%s/mallory-key.pem", tls_dir);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, opts_checked_when_set);
	tcase_add_test(tc, opts_tls_peers);
	tcase_add_test(tc, creds_of_each_side);
	tcase_add_test(tc, record_figures_and_json);
	tcase_add_test(tc, source_refusals);
	tcase_add_test(tc, listen_and_receive_refusals);
	tcase_add_test(tc, receive_tls_needs_peers);
	tcase_add_test(tc, receiver_refuses_and_writes_nothing);
	tcase_add_test(tc, receiver_answers_from_its_records);
	tcase_add_test(tc, receiver_tls_names_its_sources);
	tcase_add_test(tc, receiver_not_held_by_idle_connections);
	tcase_add_test(tc, tcp_sockets_get_the_channel_timeout);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", run_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_migrate: could not remove %s\n", run_dir);
	return failed ? 1 : 0;
}
