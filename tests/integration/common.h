/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the real-CRIU integration tests. */
#ifndef CKPT_TEST_COMMON_H
#define CKPT_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ckpt/ckpt.h>

/* Paths handed over by CTest's environment. */
static inline const char *test_criu(void)
{
	const char *c = getenv("CKPT_CRIU");

	ck_assert_msg(c && *c, "CKPT_CRIU must name a working criu (scripts/provision-criu.sh)");
	return c;
}

static inline const char *test_counter_bin(void)
{
	const char *c = getenv("CKPT_TEST_COUNTER");

	ck_assert_msg(c && *c, "CKPT_TEST_COUNTER must name the counter helper");
	return c;
}

static inline void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A fresh temporary directory (0700). */
static inline char *tmpdir_new(const char *tag)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "/tmp/ckpt-test-%s-XXXXXX", tag), 0);
	ck_assert_ptr_nonnull(mkdtemp(p));
	return p;
}

static inline void rm_rf(const char *path)
{
	char *cmd;

	if (asprintf(&cmd, "rm -rf '%s'", path) >= 0) {
		if (system(cmd) != 0) {
		}
		free(cmd);
	}
}

/* Become a child subreaper, so dumped trees are reaped at once (PID 1 here is slow). */
static inline void be_subreaper(void)
{
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Start the counter helper in its own session with /dev/null for stdio. */
static inline pid_t counter_start(const char *dir, unsigned mib)
{
	char mibs[16];
	pid_t pid;

	snprintf(mibs, sizeof(mibs), "%u", mib);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* nothing of the test process (Check's deleted temp file...) goes along */
		syscall(__NR_close_range, 3, ~0U, 0); /* close_range(): glibc 2.34 */
		execl(test_counter_bin(), "counter", dir, mibs, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static inline long read_num(const char *dir, const char *name)
{
	char path[4096], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

static inline unsigned long long read_u64(const char *dir, const char *name)
{
	char path[4096], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

/* Wait until the counter reaches at least `min` (or give up after ms). */
static inline long counter_wait(const char *dir, long min, long ms)
{
	long v = -1;

	for (long t = 0; t < ms; t += 10) {
		v = read_num(dir, "counter");
		if (v >= min)
			return v;
		msleep(10);
	}
	return v;
}

/* Ask the counter for its memory checksum and wait for it. */
static inline unsigned long long counter_checksum(pid_t pid, const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/checksum", dir);
	unlink(path);
	ck_assert_int_eq(kill(pid, SIGUSR1), 0);
	for (int i = 0; i < 500; i++) {
		if (access(path, R_OK) == 0)
			return read_u64(dir, "checksum");
		msleep(10);
	}
	ck_abort_msg("counter %d did not write its checksum", (int)pid);
	return 0;
}

static inline bool alive(pid_t pid)
{
	char path[64], st = 0;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	r = fscanf(f, "%*d (%*[^)]) %c", &st);
	fclose(f);
	return r == 1 && st != 'Z' && st != 'X';
}

static inline void kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the opendir fd */
}

/* Children of this process, zombies included. */
static inline int count_children(void)
{
	char path[64], buf[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		for (char *s = strtok(buf, " \n"); s; s = strtok(NULL, " \n"))
			n++;
	fclose(f);
	return n;
}

/*
 * A shell job on a new pty: `sh -c script` in its own session with the pty as
 * its controlling terminal and stdio. Returns its pid; the master goes to *ret_master.
 */
static inline pid_t pty_shell_start(const char *script, int *ret_master)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	const char *slave_name;
	pid_t pid;

	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave_name = ptsname(master);
	ck_assert_ptr_nonnull(slave_name);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setsid();
		int slave = open(slave_name, O_RDWR); /* becomes the controlling terminal */

		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		syscall(__NR_close_range, 3, ~0U, 0); /* close_range(): glibc 2.34 */
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	msleep(300);
	*ret_master = master;
	return pid;
}

/* Read from a pty master until `want` shows up (or 5 s pass). */
static inline bool pty_expect(int master, const char *want)
{
	char buf[512];
	size_t used = 0;

	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < 500; i++) {
		ssize_t n = read(master, buf + used, sizeof(buf) - 1 - used);

		if (n > 0) {
			used += (size_t)n;
			buf[used] = '\0';
			if (strstr(buf, want))
				return true;
		} else {
			msleep(10);
		}
		if (used >= sizeof(buf) - 1)
			used = 0;
	}
	return false;
}

/* A counter (its state files in dir) and an images dir, both fresh; ended: killed, removed. */
struct ctarget {
	char *dir;  /* the counter's state files */
	char *imgs; /* images dir */
	pid_t pid;
};

static inline void ctarget_start(struct ctarget *t, unsigned mib)
{
	be_subreaper();
	t->dir = tmpdir_new("state");
	t->imgs = tmpdir_new("imgs");
	t->pid = counter_start(t->dir, mib);
	ck_assert_int_ge(counter_wait(t->dir, 5, 20000), 5);
}

static inline void ctarget_end(struct ctarget *t)
{
	if (t->pid > 0 && alive(t->pid))
		kill_wait(t->pid);
	rm_rf(t->dir);
	rm_rf(t->imgs);
	free(t->dir);
	free(t->imgs);
}

static inline ckpt_client *client_new(void)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(ckpt_client_set_criu_path(c, test_criu(), &err) == 0, "%s", err.msg);
	ck_assert_int_eq(ckpt_client_set_timeout_ms(c, 60000, &err), 0);
	return c;
}

/* Run tests as one suite with one real-CRIU test case; the process's exit code says if all passed. */
static inline int run_tests(const char *suite, int timeout_s, const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(suite);
	TCase *tc = tcase_create("real-criu");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, timeout_s);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#define RUN_TESTS(suite, timeout_s, ...)                                                        \
	do {                                                                                    \
		const TTest *const tests_[] = { __VA_ARGS__ };                                  \
		return run_tests(suite, timeout_s, tests_, sizeof(tests_) / sizeof(tests_[0])); \
	} while (0)

#define ck_assert_ok(expr, err)                                                           \
	ck_assert_msg((expr) == 0, "%s failed: %s [%s] %s", #expr, (err).msg, (err).step, \
		      (err).criu_log)

#endif
