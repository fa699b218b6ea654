/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transport against a misbehaving criu (tests/helpers/fake-criu.c): every
 * fault maps to its CKPT_E* code, and in every case the call leaves no fd, no
 * child and no output behind. No root, no real criu.
 */
#include "rpc/transport.h"
#include "rpc/client.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef FAKE_CRIU
#error "FAKE_CRIU must name the fake-criu executable"
#endif

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

/* ------------------------------------------------------------------ */
/* Invariants: fds, children, silence                                  */
/* ------------------------------------------------------------------ */

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* No child of this process left: neither waitable nor listed by the kernel. */
static void assert_no_children(void)
{
	char path[128], buf[256];
	pid_t w;
	int fd;
	ssize_t n;

	errno = 0;
	w = waitpid(-1, NULL, WNOHANG);
	ck_assert_msg(w == -1 && errno == ECHILD, "a child is left (waitpid(-1) gave %d, errno %d)",
		      (int)w, errno);
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ck_assert_msg(n <= 0, "children listed: %.*s", (int)n, buf);
	}
}

typedef int (*call_fn)(ckpt_client *c, void *arg, ckpt_err *err);

/*
 * Run fn with fds 1 and 2 redirected into a pipe; assert that nothing was
 * written there, that the fd count is unchanged and that no child is left.
 */
static int call_checked(ckpt_client *c, call_fn fn, void *arg, ckpt_err *err)
{
	int p[2], saved1, saved2, before, after, r;
	char buf[4096];
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	before = fd_count();
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 10);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 10);
	ck_assert(saved1 >= 0 && saved2 >= 0);
	dup2(p[1], 1);
	dup2(p[1], 2);

	r = fn(c, arg, err);

	fflush(stdout);
	fflush(stderr);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	ck_assert_msg(n <= 0, "the library wrote %zd bytes to stdout/stderr: %.*s", n,
		      (int)(n > 0 ? n : 0), buf);
	after = fd_count();
	ck_assert_msg(after == before, "fd count %d before, %d after", before, after);
	assert_no_children();
	return r;
}

static int do_version(ckpt_client *c, void *arg, ckpt_err *err)
{
	return ckpt_criu_version(c, arg, err);
}

static ckpt_client *fake_client(const char *mode, unsigned timeout_ms)
{
	ckpt_client *c = ckpt_client_new();
	char env_mode[128];
	const char *env[] = { env_mode, NULL };
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_ptr_nonnull(c);
	snprintf(env_mode, sizeof(env_mode), "FAKE_MODE=%s", mode);
	ck_assert_msg(ckpt_client_set_criu_path(c, FAKE_CRIU, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(ckpt_client_set_env(c, env, &err), 0);
	ck_assert_int_eq(ckpt_client_set_timeout_ms(c, timeout_ms, &err), 0);
	return c;
}

/* A VERSION request against the fake in mode; returns the code, err filled. */
static int version_in_mode(const char *mode, unsigned timeout_ms, unsigned *ver, ckpt_err *err)
{
	ckpt_client *c = fake_client(mode, timeout_ms);
	unsigned v = 0;
	int r = call_checked(c, do_version, &v, err);

	ckpt_client_free(c);
	if (ver)
		*ver = v;
	return r;
}

/* ------------------------------------------------------------------ */
/* Each fault mode to its code                                         */
/* ------------------------------------------------------------------ */

static const struct {
	const char *mode;
	int code;
	const char *msg; /* a fragment of the message */
} modes[] = {
	/* exit 0 with no answer: what no criu does (/bin/true does): criu unusable */
	{ "exit0", CKPT_ECRIU_EXEC, "exited with status 0 without answering" },
	{ "exit1", CKPT_ECRIU_DIED, "exited with status 1" },
	{ "segv", CKPT_ECRIU_DIED, "killed by signal 11" },
	{ "close-after-read", CKPT_ECRIU_EXEC, "exited with status 0 without answering" },
	{ "close-after-notify", CKPT_ECRIU_DIED, "" },
	{ "garbage", CKPT_EPROTO, "not a valid criu_resp" },
	{ "truncated", CKPT_EPROTO, "not a valid criu_resp" },
	{ "missing-required", CKPT_EPROTO, "not a valid criu_resp" },
	{ "badenum", CKPT_EPROTO, "unknown type 999" },
	{ "notify-null", CKPT_EPROTO, "NOTIFY reply without a notification" },
	{ "wrongtype", CKPT_EPROTO, "answered a VERSION request with DUMP" },
	{ "fds", CKPT_EPROTO, "3 fds attached" },
	{ "oversized", CKPT_ETOOBIG, "above the 1048576 byte cap" },
};

START_TEST(test_fault_mode)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 12345;
	int r = version_in_mode(modes[_i].mode, 5000, &ver, &err);

	ck_assert_msg(r == modes[_i].code, "mode %s: got %d (%s), wanted %d", modes[_i].mode, r,
		      err.msg, modes[_i].code);
	ck_assert_int_eq(err.code, r);
	ck_assert_msg_has(err, "version");
	ck_assert_msg_has(err, modes[_i].msg);
	ck_assert_uint_eq(ver, 0); /* outputs untouched on failure */
	if (!strcmp(modes[_i].mode, "segv")) {
		ck_assert(WIFSIGNALED(err.wait_status));
		ck_assert_int_eq(WTERMSIG(err.wait_status), SIGSEGV);
	} else if (!strcmp(modes[_i].mode, "exit1")) {
		ck_assert(WIFEXITED(err.wait_status));
		ck_assert_int_eq(WEXITSTATUS(err.wait_status), 1);
	}
}
END_TEST

START_TEST(test_hang_times_out)
{
	ckpt_err err = CKPT_ERR_INIT;
	uint64_t t0 = now_us(), dt;
	int r = version_in_mode("hang", 500, NULL, &err);

	dt = now_us() - t0;
	ck_assert_msg(r == CKPT_ETIMEDOUT, "got %d (%s)", r, err.msg);
	ck_assert_msg(dt >= 450 * 1000 && dt < 2500 * 1000, "returned after %llu us",
		      (unsigned long long)dt);
	ck_assert_msg_has(err, "criu was killed");
}
END_TEST

START_TEST(test_version_ok)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;

	ck_assert_int_eq(version_in_mode("version:4.2.1", 5000, &ver, &err), 0);
	ck_assert_uint_eq(ver, 40201);
}
END_TEST

/* The floor (refusing criu < 3.17) is the lead's: for now the number is parsed and returned. */
START_TEST(test_version_old)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;

	ck_assert_int_eq(version_in_mode("version:3.16.0", 5000, &ver, &err), 0);
	ck_assert_uint_eq(ver, 31600);

	/* the preflight refuses it, naming the version (the VERSION request comes first) */
	ckpt_client *c = fake_client("version:3.16.0", 5000);
	ck_assert_int_eq(ckpt_check(c, &err), CKPT_ECRIU_VERSION);
	ck_assert_msg(strstr(err.msg, "3.16.0") && strstr(err.msg, "3.17"), "%s", err.msg);
	ckpt_client_free(c);
}
END_TEST

START_TEST(test_version_nonsense)
{
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(version_in_mode("version:4.100.0", 5000, NULL, &err), CKPT_EPROTO);
	ck_assert_int_eq(version_in_mode("version:-1.2.0", 5000, NULL, &err), CKPT_EPROTO);
}
END_TEST

/* ------------------------------------------------------------------ */
/* What reaches criu: environment (F18) and fds (F19)                  */
/* ------------------------------------------------------------------ */

/* A private copy of the fake in a temp dir, so it reads its mode from fake-mode there. */
static void fake_copy(char *dir, size_t size, const char *mode)
{
	char path[PATH_MAX], buf[65536];
	int in, out, mfd;
	ssize_t n;

	snprintf(dir, size, "/tmp/ckpt-fake-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/criu", dir);
	in = open(FAKE_CRIU, O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	ck_assert(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	snprintf(path, sizeof(path), "%s/fake-mode", dir);
	mfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert(mfd >= 0);
	ck_assert_int_eq(write(mfd, mode, strlen(mode)), (ssize_t)strlen(mode));
	close(mfd);
}

static void fake_copy_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/criu", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fake-mode", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fake-out", dir);
	unlink(path);
	rmdir(dir);
}

static char *slurp(const char *path)
{
	static char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "cannot open %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void set_hostile_env(void)
{
	setenv("CRIU_CONFIG_FILE", "/tmp/evil.conf", 1);
	setenv("CRIU_LIBS_DIR", "/tmp/evil-plugins", 1);
	setenv("CR_IPTABLES", "/tmp/evil-iptables", 1);
	setenv("HOME", "/tmp/evil-home", 1);
	setenv("CRIU_FAULT", "1", 1);
}

static void clear_hostile_env(void)
{
	unsetenv("CRIU_CONFIG_FILE");
	unsetenv("CRIU_LIBS_DIR");
	unsetenv("CR_IPTABLES");
	unsetenv("CRIU_FAULT");
}

/* The default environment: a bare PATH, nothing of the caller's. */
START_TEST(test_env_default)
{
	char dir[64], path[PATH_MAX], out[PATH_MAX];
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;
	const char *env;

	set_hostile_env();
	fake_copy(dir, sizeof(dir), "envdump");
	snprintf(path, sizeof(path), "%s/criu", dir);
	snprintf(out, sizeof(out), "%s/fake-out", dir);
	ck_assert_int_eq(ckpt_client_set_criu_path(c, path, &err), 0);
	ck_assert_msg(call_checked(c, do_version, &ver, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(ver, 40201);
	env = slurp(out);
	ck_assert_msg(!strstr(env, "CRIU") && !strstr(env, "CR_IPTABLES") &&
			      !strstr(env, "HOME=") && !strstr(env, "evil"),
		      "the caller's environment reached criu:\n%s", env);
	ck_assert_msg(!strncmp(env, "PATH=", 5) && strchr(env, '\n') == env + strlen(env) - 1,
		      "criu's environment is not a bare PATH:\n%s", env);
	ckpt_client_free(c);
	fake_copy_remove(dir);
	clear_hostile_env();
}
END_TEST

/* An explicit environment: exactly that one. */
START_TEST(test_env_explicit)
{
	char dir[64], out[PATH_MAX], want[PATH_MAX * 2];
	char outvar[PATH_MAX + 16];
	const char *env[] = { "FAKE_MODE=envdump", outvar, NULL };
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;

	set_hostile_env();
	fake_copy(dir, sizeof(dir), "exit1"); /* the env's FAKE_MODE wins */
	snprintf(out, sizeof(out), "%s/out-explicit", dir);
	snprintf(outvar, sizeof(outvar), "FAKE_OUT=%s", out);
	ck_assert_int_eq(ckpt_client_set_criu_path(c, FAKE_CRIU, &err), 0);
	ck_assert_int_eq(ckpt_client_set_env(c, env, &err), 0);
	ck_assert_msg(call_checked(c, do_version, &ver, &err) == 0, "%s", err.msg);
	snprintf(want, sizeof(want), "FAKE_MODE=envdump\n%s\n", outvar);
	ck_assert_str_eq(slurp(out), want);
	unlink(out);
	ckpt_client_free(c);
	fake_copy_remove(dir);
	clear_hostile_env();
}
END_TEST

/* 50 fds open without CLOEXEC in the caller: criu sees 0, 1, 2 and its socket only. */
START_TEST(test_fd_leak_into_criu)
{
	char dir[64], out[PATH_MAX], outvar[PATH_MAX + 16];
	const char *env[] = { "FAKE_MODE=fddump", outvar, NULL };
	int fds[50];
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;
	const char *list;

	for (int i = 0; i < 50; i++) {
		fds[i] = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: on purpose */
		ck_assert(fds[i] >= 0);
	}
	fake_copy(dir, sizeof(dir), "fddump");
	snprintf(out, sizeof(out), "%s/out-fds", dir);
	snprintf(outvar, sizeof(outvar), "FAKE_OUT=%s", out);
	ck_assert_int_eq(ckpt_client_set_criu_path(c, FAKE_CRIU, &err), 0);
	ck_assert_int_eq(ckpt_client_set_env(c, env, &err), 0);
	ck_assert_msg(call_checked(c, do_version, &ver, &err) == 0, "%s", err.msg);
	list = slurp(out);
	ck_assert_msg(!strcmp(list, "0\n1\n2\n3\n"), "criu's fds:\n%s", list);
	unlink(out);
	for (int i = 0; i < 50; i++)
		close(fds[i]);
	ckpt_client_free(c);
	fake_copy_remove(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* criu missing or not runnable (F1)                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_criu_missing)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char dir[64], path[PATH_MAX];
	unsigned ver = 0;

	ck_assert_int_eq(ckpt_client_set_criu_path(c, "/nonexistent/criu", &err), CKPT_ECRIU_EXEC);
	ck_assert_msg_has(err, "/nonexistent/criu");
	/* set while present, gone by the call */
	fake_copy(dir, sizeof(dir), "version:4.2.1");
	snprintf(path, sizeof(path), "%s/criu", dir);
	ck_assert_int_eq(ckpt_client_set_criu_path(c, path, &err), 0);
	unlink(path);
	ck_assert_int_eq(call_checked(c, do_version, &ver, &err), CKPT_ECRIU_EXEC);
	ck_assert_msg_has(err, path);
	fake_copy_remove(dir);
	ckpt_client_free(c);
}
END_TEST

START_TEST(test_criu_not_executable)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char dir[64], path[PATH_MAX];
	unsigned ver = 0;

	fake_copy(dir, sizeof(dir), "version:4.2.1");
	snprintf(path, sizeof(path), "%s/criu", dir);
	ck_assert_int_eq(chmod(path, 0644), 0);
	/* whether it can be executed is for exec to say (by our effective ids): the request names the errno */
	ck_assert_int_eq(ckpt_client_set_criu_path(c, path, &err), 0);
	{
		int r = call_checked(c, do_version, &ver, &err);

		/* under valgrind, posix_spawn cannot report exec's errno: the child exits 127 instead */
		if (r == CKPT_ECRIU_EXEC && WIFEXITED(err.wait_status) &&
		    WEXITSTATUS(err.wait_status) == 127 && getenv("CKPT_UNDER_VALGRIND")) {
			ckpt_client_free(c);
			fake_copy_remove(dir);
			return;
		}
		ck_assert_int_eq(r, CKPT_ECRIU_EXEC);
	}
	ck_assert_msg_has(err, path);
	ck_assert_int_eq(err.sys_errno, EACCES);
	ck_assert_str_eq(err.step, "spawn");
	ck_assert_int_eq(ckpt_client_set_criu_path(c, dir, &err),
			 CKPT_ECRIU_EXEC); /* a directory */
	ck_assert_msg_has(err, "not a regular file");
	/* executable, but not a program: exec fails in the child */
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(truncate(path, 0), 0);
	{
		int fd = open(path, O_WRONLY | O_CLOEXEC);

		ck_assert_int_eq(write(fd, "not an ELF\n", 11), 11);
		close(fd);
	}
	ck_assert_int_eq(ckpt_client_set_criu_path(c, path, &err), 0);
	{
		int r = call_checked(c, do_version, &ver, &err);

		ck_assert_msg(r == CKPT_ECRIU_EXEC || r == CKPT_ECRIU_DIED, "got %d (%s)", r,
			      err.msg);
	}
	fake_copy_remove(dir);
	ckpt_client_free(c);
}
END_TEST

START_TEST(test_criu_env_missing)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned ver = 0;

	setenv("CKPT_CRIU", "/nonexistent/criu-from-env", 1);
	ck_assert_int_eq(call_checked(c, do_version, &ver, &err), CKPT_ECRIU_EXEC);
	ck_assert_msg_has(err, "/nonexistent/criu-from-env");
	unsetenv("CKPT_CRIU");
	ckpt_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Notifications                                                       */
/* ------------------------------------------------------------------ */

struct notes {
	char seen[256];
	const char *fail_on; /* NULL: never fail */
};

static int note_cb(void *userdata, ckpt_notify *ev)
{
	struct notes *n = userdata;
	size_t l = strlen(n->seen);

	snprintf(n->seen + l, sizeof(n->seen) - l, "%s%s", l ? "," : "", ckpt_notify_name(ev));
	return n->fail_on && !strcmp(n->fail_on, ckpt_notify_name(ev)) ? -1 : 0;
}

struct dump_arg {
	ckpt_opts *o;
};

static int do_dump(ckpt_client *c, void *arg, ckpt_err *err)
{
	return ckpt_dump(c, ((struct dump_arg *)arg)->o, err);
}

static int dump_with_notes(struct notes *n, ckpt_err *err)
{
	ckpt_client *c = fake_client("notify-then-ok", 5000);
	char dir[] = "/tmp/ckpt-img-XXXXXX";
	struct dump_arg a;
	int r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	a.o = ckpt_opts_new();
	ck_assert_int_eq(ckpt_opts_set_pid(a.o, getpid(), err), 0);
	ck_assert_msg(ckpt_opts_set_images_dir(a.o, dir, err) == 0, "%s", err->msg);
	ck_assert_int_eq(ckpt_client_set_notify(c, NULL, note_cb, n, err), 0);
	r = call_checked(c, do_dump, &a, err);
	ckpt_opts_free(a.o);
	ckpt_client_free(c);
	rmdir(dir);
	return r;
}

START_TEST(test_notify_ok)
{
	struct notes n = { "", NULL };
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_msg(dump_with_notes(&n, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(n.seen, "pre-dump,post-dump");
}
END_TEST

START_TEST(test_notify_callback_fails)
{
	struct notes n = { "", "post-dump" };
	ckpt_err err = CKPT_ERR_INIT;
	int r = dump_with_notes(&n, &err);

	ck_assert_msg(r == CKPT_ECALLBACK, "got %d (%s)", r, err.msg);
	ck_assert_int_eq(err.code, CKPT_ECALLBACK);
	ck_assert_msg_has(err, "'post-dump'");
	ck_assert_str_eq(n.seen, "pre-dump,post-dump");
}
END_TEST

START_TEST(test_notify_first_fails)
{
	struct notes n = { "", "pre-dump" };
	ckpt_err err = CKPT_ERR_INIT;
	int r = dump_with_notes(&n, &err);

	ck_assert_msg(r == CKPT_ECALLBACK, "got %d (%s)", r, err.msg);
	ck_assert_msg_has(err, "'pre-dump'");
	ck_assert_str_eq(n.seen, "pre-dump"); /* criu gave up: post-dump never came */
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads (F15, small): distinct clients, concurrently                */
/* ------------------------------------------------------------------ */

#define N_THREADS 8
#define N_REQS 50

struct thr {
	int failures;
	char first_err[CKPT_ERR_MSG_MAX];
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	ckpt_client *c = ckpt_client_new();
	const char *env[] = { "FAKE_MODE=version:4.2.1", NULL };

	if (!c || ckpt_client_set_criu_path(c, FAKE_CRIU, NULL) < 0 ||
	    ckpt_client_set_env(c, env, NULL) < 0 ||
	    ckpt_client_set_timeout_ms(c, 10000, NULL) < 0) {
		t->failures = N_REQS;
		ckpt_client_free(c);
		return NULL;
	}
	for (int i = 0; i < N_REQS; i++) {
		ckpt_err err = CKPT_ERR_INIT;
		unsigned v = 0;

		if (ckpt_criu_version(c, &v, &err) < 0 || v != 40201) {
			if (!t->failures++)
				snprintf(t->first_err, sizeof(t->first_err), "%s (v=%u)", err.msg,
					 v);
		}
	}
	ckpt_client_free(c);
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[N_THREADS];
	struct thr t[N_THREADS];
	int before = fd_count();

	memset(t, 0, sizeof(t));
	for (int i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N_THREADS; i++)
		ck_assert_msg(t[i].failures == 0, "thread %d: %d failures, first: %s", i,
			      t[i].failures, t[i].first_err);
	ck_assert_int_eq(fd_count(), before);
	assert_no_children();
}
END_TEST

/* 200 sequential requests: flat fd count, no zombies (F16, small). */
START_TEST(test_sequential)
{
	ckpt_client *c = fake_client("version:4.2.1", 5000);
	int before = fd_count();

	for (int i = 0; i < 200; i++) {
		ckpt_err err = CKPT_ERR_INIT;
		unsigned v = 0;

		ck_assert_msg(ckpt_criu_version(c, &v, &err) == 0, "request %d: %s", i, err.msg);
	}
	ck_assert_int_eq(fd_count(), before);
	assert_no_children();
	ckpt_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* resp_decode directly                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_resp_decode_edges)
{
	ckpt_err err = CKPT_ERR_INIT;
	CriuResp *resp = NULL;
	static const uint8_t ok[] = { 0x08, 0x0a, 0x10, 0x01, 0x52, 0x04, 0x08, 0x04, 0x10, 0x02 };
	static const uint8_t restore_nopid[] = { 0x08, 0x02, 0x10, 0x01 };
	static const uint8_t version_nover[] = { 0x08, 0x0a, 0x10, 0x01 };
	uint8_t *big;

	ck_assert_int_eq(resp_decode(ok, sizeof(ok), &resp, &err), 0);
	ck_assert_int_eq(resp->version->major_number, 4);
	criu_resp__free_unpacked(resp, NULL);
	ck_assert_int_eq(resp_decode(ok, 0, &resp, &err), CKPT_EPROTO);
	ck_assert_int_eq(resp_decode(restore_nopid, sizeof(restore_nopid), &resp, &err),
			 CKPT_EPROTO);
	ck_assert_int_eq(resp_decode(version_nover, sizeof(version_nover), &resp, &err),
			 CKPT_EPROTO);
	big = calloc(1, CKPT_MAX_MSG + 1);
	ck_assert_int_eq(resp_decode(big, CKPT_MAX_MSG + 1, &resp, &err), CKPT_ETOOBIG);
	free(big);
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("fake-criu");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_fault_mode, 0, (int)ARRAY_SIZE(modes));
	tcase_add_test(tc, test_hang_times_out);
	tcase_add_test(tc, test_version_ok);
	tcase_add_test(tc, test_version_old);
	tcase_add_test(tc, test_version_nonsense);
	tcase_add_test(tc, test_env_default);
	tcase_add_test(tc, test_env_explicit);
	tcase_add_test(tc, test_fd_leak_into_criu);
	tcase_add_test(tc, test_criu_missing);
	tcase_add_test(tc, test_criu_not_executable);
	tcase_add_test(tc, test_criu_env_missing);
	tcase_add_test(tc, test_notify_ok);
	tcase_add_test(tc, test_notify_callback_fails);
	tcase_add_test(tc, test_notify_first_fails);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_sequential);
	tcase_add_test(tc, test_resp_decode_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	/* SIGPIPE stays at its default: the library must never raise it. */
	signal(SIGPIPE, SIG_DFL);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
