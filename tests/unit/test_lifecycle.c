/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lifecycle of criu and of a request's error, against the fake criu peer
 * (tests/helpers/fake-criu.c), no root and no real criu needed: every helper
 * criu forked is killed (however many, from whichever thread), a set deadline
 * bounds the whole call even when criu cannot be reaped, a busy service is
 * reported as busy, ckpt_err keeps its step, is untouched on success, and
 * says "unknown" for a wait status another reaper took.
 */
#include "rpc/transport.h"
#include "rpc/client.h"

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <limits.h>
#include <sys/wait.h>
#include <time.h>

#ifndef FAKE_CRIU
#error "FAKE_CRIU must name the fake-criu executable"
#endif

static ckpt_client *fake_client(const char *mode, unsigned timeout_ms, const char *out)
{
	ckpt_client *c = ckpt_client_new();
	char env_mode[128], env_out[256];
	const char *env[] = { env_mode, env_out, NULL };
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_ptr_nonnull(c);
	snprintf(env_mode, sizeof(env_mode), "FAKE_MODE=%s", mode);
	snprintf(env_out, sizeof(env_out), "FAKE_OUT=%s", out ? out : "/dev/null");
	ck_assert_msg(ckpt_client_set_criu_path(c, FAKE_CRIU, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(ckpt_client_set_env(c, env, &err), 0);
	if (timeout_ms)
		ck_assert_int_eq(ckpt_client_set_timeout_ms(c, timeout_ms, &err), 0);
	return c;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool proc_exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

static void assert_no_child_left(void)
{
	pid_t w;

	errno = 0;
	w = waitpid(-1, NULL, WNOHANG);
	ck_assert_msg(w == -1 && errno == ECHILD, "a child is left (waitpid gave %d, errno %d)",
		      (int)w, errno);
}

/* ------------------------------------------------------------------ */
/* Every process criu forked dies with it                              */
/* ------------------------------------------------------------------ */

/*
 * criu forks 600 helpers, 300 of them from a second thread, and hangs. At the
 * deadline every one of them must be killed (none cut short, none left because
 * of a cap, none missed under the other thread) and, as they are reparented to
 * us (a child subreaper, as runtimes are), reaped.
 */
START_TEST(helpers_all_killed)
{
	char out[] = "/tmp/ckpt-fake-out-XXXXXX";
	int fd = mkstemp(out);
	ckpt_client *c;
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver;
	pid_t pids[700];
	int n = 0;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	c = fake_client("forkmany:600", 10000,
			out); /* forking 600 under TSan and load takes seconds */
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ETIMEDOUT);
	f = fopen(out, "re");
	ck_assert_ptr_nonnull(f);
	while (n < 700 && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	fclose(f);
	unlink(out);
	ck_assert_int_eq(n, 600);
	for (int i = 0; i < n; i++)
		ck_assert_msg(!proc_exists(pids[i]), "helper %d of criu (#%d) is still there",
			      (int)pids[i], i);
	assert_no_child_left();
	ckpt_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Deadlines                                                           */
/* ------------------------------------------------------------------ */

struct tracer {
	pid_t tracer;
	pid_t criu;
};

/* Find our criu child and have a separate process ptrace it: then nobody but the tracer can reap it. */
static void *attach_tracer(void *arg)
{
	struct tracer *t = arg;

	for (int i = 0; i < 2000 && !t->criu; i++) {
		char path[64], buf[256];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(),
			 (int)getpid());
		f = fopen(path, "re");
		if (f && fgets(buf, sizeof(buf), f))
			t->criu = (pid_t)strtol(buf, NULL, 10);
		if (f)
			fclose(f);
		usleep(1000);
	}
	if (!t->criu)
		return NULL;
	{
		pid_t criu = t->criu, tracer = fork();

		if (tracer == 0) {
			if (ptrace(PTRACE_SEIZE, criu, NULL, NULL) < 0)
				_exit(1);
			sleep(6); /* never waits for it: until we exit, criu cannot be reaped by its parent */
			_exit(0);
		}
		t->tracer = tracer;
	}
	return NULL;
}

START_TEST(deadline_bounds_unreapable_criu)
{
	ckpt_client *c = fake_client("hang", 1000, NULL);
	ckpt_err err = CKPT_ERR_INIT;
	struct tracer t = { 0 };
	pthread_t th;
	unsigned ver;
	double t0, took;
	int st;

	ck_assert_int_eq(pthread_create(&th, NULL, attach_tracer, &t), 0);
	t0 = mono_s();
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ETIMEDOUT);
	took = mono_s() - t0;
	pthread_join(th, NULL);
	ck_assert_int_gt(t.criu, 0);
	ck_assert_msg(took < 1.0 + 2.0 + 0.5, "a 1 s deadline took %.2f s", took);
	/* the tracer goes: criu can be reaped now, by the client that kept it */
	ck_assert_int_eq(waitpid(t.tracer, &st, 0), t.tracer);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the tracer could not attach (0x%x)",
		      st);
	ckpt_client_free(c);
	ck_assert_msg(!proc_exists(t.criu), "criu %d was left behind", (int)t.criu);
	assert_no_child_left();
}
END_TEST

/* Dump, pre-dump, restore and page server have no deadline unless one is set. */
START_TEST(dump_has_no_default_deadline)
{
	char *dir = strdup("/tmp/ckpt-dl-XXXXXX");
	ckpt_client *c = fake_client("slow-ok:32", 0, NULL);
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	double t0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ckpt_opts_set_pid(o, getpid(), &err), 0);
	ck_assert_int_eq(ckpt_opts_set_images_dir(o, dir, &err), 0);
	t0 = mono_s();
	ck_assert_msg(ckpt_dump(c, o, &err) == 0, "%s", err.msg);
	ck_assert_double_ge(mono_s() - t0, 31.5); /* past the 30 s default of the queries */
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rmdir(dir);
	free(dir);
}
END_TEST

/* Version, check and feature check keep a default deadline (30 s). */
START_TEST(queries_keep_a_deadline)
{
	ckpt_client *c = fake_client("hang", 0, NULL);
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver;
	double t0 = mono_s(), took;

	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ETIMEDOUT);
	took = mono_s() - t0;
	ck_assert_msg(took > 29.0 && took < 33.0, "the default query deadline took %.1f s", took);
	ckpt_client_free(c);
	assert_no_child_left();
}
END_TEST

/* ------------------------------------------------------------------ */
/* A busy service                                                      */
/* ------------------------------------------------------------------ */

struct acceptor {
	int lfd;
	int delay_ms;
};

/* Accept after a delay and answer one VERSION request as criu would. */
static void *accept_late(void *arg)
{
	struct acceptor *a = arg;
	uint8_t buf[4096];
	int fd;
	ssize_t n;

	usleep((useconds_t)a->delay_ms * 1000);
	/* drain the backlog: the fillers first, then the library's connection */
	for (;;) {
		fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return NULL;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 200) <= 0) {
				close(fd);
				continue;
			}
			n = recv(fd, buf, sizeof(buf), 0);
		}
		if (n > 0) {
			CriuResp resp = CRIU_RESP__INIT;
			CriuVersion v = CRIU_VERSION__INIT;
			uint8_t out[256];

			v.major_number = 4;
			v.minor_number = 2;
			resp.type = CRIU_REQ_TYPE__VERSION;
			resp.success = 1;
			resp.version = &v;
			n = (ssize_t)criu_resp__pack(&resp, out);
			ck_assert_int_eq(send(fd, out, (size_t)n, MSG_NOSIGNAL), n);
			close(fd);
			return NULL;
		}
		close(fd);
	}
}

/* A listening socket with a full backlog; the fillers' fds go to fill[] (n returned). */
static int full_service(const char *path, int *fill, int max)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), n = 0;

	ck_assert_int_ge(lfd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	while (n < max) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			close(fd);
			break;
		}
		fill[n++] = fd;
	}
	ck_assert_int_lt(n, max);
	return lfd;
}

START_TEST(busy_service_is_busy)
{
	char path[] = "/tmp/ckpt-busy.sock";
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	int fill[64], n, lfd;

	memset(fill, 0xff, sizeof(fill));
	lfd = full_service(path, fill, 64);
	unsigned ver;
	double t0;

	ck_assert_int_eq(ckpt_client_set_service(c, path, &err), 0);
	ck_assert_int_eq(ckpt_client_set_timeout_ms(c, 1500, &err), 0);
	t0 = mono_s();
	int r = ckpt_criu_version(c, &ver, &err);
	ck_assert_msg(r == CKPT_ESERVICE || r == CKPT_ETIMEDOUT, "%d: %s", r, err.msg);
	ck_assert_msg(strstr(err.msg, "busy"), "not reported as busy: %s", err.msg);
	ck_assert_double_ge(mono_s() - t0, 1.4); /* retried until the deadline */
	ck_assert_str_eq(err.step, "connect");
	for (n = 0; n < 64 && fill[n] >= 0; n++)
		close(fill[n]);
	close(lfd);
	unlink(path);
	ckpt_client_free(c);
}
END_TEST

START_TEST(busy_service_then_accepts)
{
	char path[] = "/tmp/ckpt-busy2.sock";
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	int fill[64], n, lfd;

	memset(fill, 0xff, sizeof(fill));
	lfd = full_service(path, fill, 64);
	struct acceptor a = { lfd, 300 };
	pthread_t th;
	unsigned ver = 0;

	ck_assert_int_eq(ckpt_client_set_service(c, path, &err), 0);
	ck_assert_int_eq(ckpt_client_set_timeout_ms(c, 5000, &err), 0);
	/* the acceptor drains the fillers after 300 ms; then our connection gets through */
	ck_assert_int_eq(pthread_create(&th, NULL, accept_late, &a), 0);
	ck_assert_msg(ckpt_criu_version(c, &ver, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(ver, 40200);
	pthread_join(th, NULL);
	for (n = 0; n < 64 && fill[n] >= 0; n++)
		close(fill[n]);
	close(lfd);
	unlink(path);
	ckpt_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ckpt_err is trustworthy                                             */
/* ------------------------------------------------------------------ */

START_TEST(step_survives)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *c;
	unsigned ver;

	c = fake_client("exit1", 5000, NULL);
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ECRIU_DIED);
	ck_assert_msg(err.step[0], "criu died, and the step is empty: %s", err.msg);
	ckpt_client_free(c);

	c = fake_client("hang", 500, NULL);
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ETIMEDOUT);
	ck_assert_msg(!strcmp(err.step, "recv"), "a timeout waiting for the reply has step '%s'",
		      err.step);
	ckpt_client_free(c);

	c = fake_client("close-after-read", 5000, NULL);
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ECRIU_EXEC);
	ck_assert_msg(!strcmp(err.step, "recv"), "step '%s'", err.step);
	ckpt_client_free(c);

	c = ckpt_client_new();
	ck_assert_int_eq(ckpt_client_set_service(c, "/tmp/ckpt-no-such.sock", &err), 0);
	ck_assert_int_eq(ckpt_client_prepare(c, &err), CKPT_ESERVICE);
	ck_assert_msg(!strcmp(err.step, "connect"), "prepare's step '%s'", err.step);
	ckpt_client_free(c);
}
END_TEST

START_TEST(nothing_written_on_success)
{
	ckpt_err err, ref;
	ckpt_client *c;
	unsigned ver;

	memset(&err, 0xa5, sizeof(err));
	err.version = CKPT_ERR_VERSION;
	ref = err;
	c = fake_client("version:4.2.1", 5000, NULL);
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), 0);
	ck_assert_msg(!memcmp(&err, &ref, sizeof(err)),
		      "a successful version request wrote into ckpt_err");
	/* check: VERSION kept open is refused by this criu (it answers one request), so check falls back */
	ck_assert_int_eq(ckpt_check(c, &err), 0);
	ck_assert_msg(!memcmp(&err, &ref, sizeof(err)),
		      "a check that fell back and succeeded left an error");
	ck_assert_int_eq(ckpt_client_prepare(c, &err), 0);
	ck_assert_msg(!memcmp(&err, &ref, sizeof(err)), "prepare wrote into ckpt_err");
	ckpt_client_free(c);
}
END_TEST

/* SIGCHLD ignored: the kernel reaps criu itself, and its status is gone. Say so. */
START_TEST(stolen_status_is_unknown)
{
	ckpt_client *c = fake_client("close-then-exit1", 5000, NULL);
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver;

	signal(SIGCHLD, SIG_IGN);
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ECRIU_DIED);
	ck_assert_msg(strstr(err.msg, "unknown"), "a status nobody saw is reported as: %s",
		      err.msg);
	ck_assert_msg(!strstr(err.msg, "status 0"), "%s", err.msg);
	ck_assert_int_eq(err.wait_status, 0);
	ckpt_client_free(c);
	signal(SIGCHLD, SIG_DFL);
}
END_TEST

/*
 * Real uid 65534, effective uid 0 (a setuid-root caller): access(X_OK) judges
 * by the real uid and says no (criu sits in a 0700 root directory), yet exec
 * works. Setting the path and the request must both succeed.
 */
START_TEST(criu_executable_by_euid)
{
	char dir[] = "/tmp/ckpt-euid-XXXXXX", path[PATH_MAX], cmd[PATH_MAX * 2];
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/criu", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", FAKE_CRIU, path);
	ck_assert_int_eq(system(cmd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ckpt_client *c;
		ckpt_err err = CKPT_ERR_INIT;
		unsigned ver = 0;

		if (setresuid(65534, 0, 0) < 0)
			_exit(10);
		if (access(path, X_OK) == 0)
			_exit(9); /* the premise: access() refuses it */
		c = fake_client("version:4.2.1", 5000, NULL);
		if (ckpt_client_set_criu_path(c, path, &err) < 0 ||
		    ckpt_criu_version(c, &ver, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			_exit(11);
		}
		ckpt_client_free(c);
		_exit(ver == 40201 ? 0 : 12);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed with status 0x%x",
		      st);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("fake-criu");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, helpers_all_killed);
	tcase_add_test(tc, deadline_bounds_unreapable_criu);
	tcase_add_test(tc, busy_service_is_busy);
	tcase_add_test(tc, busy_service_then_accepts);
	tcase_add_test(tc, step_survives);
	tcase_add_test(tc, nothing_written_on_success);
	tcase_add_test(tc, stolen_status_is_unknown);
	tcase_add_test(tc, criu_executable_by_euid);
	suite_add_tcase(s, tc);
	/* these wait 30 s each: only where CKPT_TEST_SLOW is set (the plain build in CI) */
	if (getenv("CKPT_TEST_SLOW")) {
		TCase *slow = tcase_create("default-deadlines");

		tcase_set_timeout(slow, 120);
		tcase_add_test(slow, dump_has_no_default_deadline);
		tcase_add_test(slow, queries_keep_a_deadline);
		suite_add_tcase(s, slow);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
