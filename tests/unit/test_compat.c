/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of lib/base/compat.h, the glibc fallbacks: the closefrom file action (the fallback
 * and whichever this glibc uses) against what a real child sees in /proc/self/fd, and the
 * errno descriptions.
 */
#include "base/compat.h"

#include <check.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Fds placed at fixed numbers, well above what the test itself has open. */
enum { KEEP = 61, CUT = 62, CLOSE_A = 63, CLOSE_B = 70, CLOEXEC_FD = 64 };

/* A copy of fd at exactly the number at (replacing what is there: CK_FORK=no runs reuse them). */
static void place(int fd, int at, bool cloexec)
{
	ck_assert_int_eq(dup3(fd, at, cloexec ? O_CLOEXEC : 0), at);
}

static void unplace_all(void)
{
	close(KEEP);
	close(CLOSE_A);
	close(CLOSE_B);
	close(CLOEXEC_FD);
}

static void place_all(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	place(fd, KEEP, false);
	place(fd, CLOSE_A, false);
	place(fd, CLOSE_B, false);
	place(fd, CLOEXEC_FD, true);
	close(fd);
}

/*
 * Spawn sh listing its fds, with the file actions fa plus stdout into a pipe, and return
 * which of the numbers 0..127 the child had open.
 */
static void child_fds(posix_spawn_file_actions_t *fa, bool open_fds[128])
{
	char *argv[] = { "sh", "-c", "cd /proc/self/fd && exec echo *", NULL };
	char buf[4096], *p, *end;
	int pfd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	/* the pipe's fds are below CUT, so the closefrom actions already in fa spare them */
	ck_assert_int_eq(posix_spawn_file_actions_adddup2(fa, pfd[1], 1), 0);
	ck_assert_int_eq(posix_spawn(&pid, "/bin/sh", fa, NULL, argv, environ), 0);
	close(pfd[1]);
	while ((n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(pfd[0]);
	buf[len] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sh failed: %#x", status);
	memset(open_fds, 0, 128 * sizeof(bool));
	for (p = buf; *p; p = end) {
		long fd = strtol(p, &end, 10);

		if (end == p)
			break;
		if (fd >= 0 && fd < 128)
			open_fds[fd] = true;
	}
}

typedef int (*closefrom_fn)(posix_spawn_file_actions_t *, int);

static void check_closefrom(closefrom_fn fn)
{
	posix_spawn_file_actions_t fa;
	bool open_fds[128];

	place_all();
	/* Without a closefrom the child sees the non-CLOEXEC fds: the test can see a leak. */
	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	child_fds(&fa, open_fds);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert(open_fds[KEEP] && open_fds[CLOSE_A] && open_fds[CLOSE_B]);
	ck_assert(!open_fds[CLOEXEC_FD]);

	/* From CUT up, none reaches the child; below it they stay. */
	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	ck_assert_int_eq(fn(&fa, CUT), 0);
	child_fds(&fa, open_fds);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(open_fds[KEEP], "fd %d below the cut was closed", KEEP);
	ck_assert_msg(!open_fds[CLOSE_A], "fd %d leaked into the child", CLOSE_A);
	ck_assert_msg(!open_fds[CLOSE_B], "fd %d leaked into the child", CLOSE_B);
	ck_assert(!open_fds[CLOEXEC_FD]);
	ck_assert(open_fds[0] && open_fds[1] && open_fds[2]);
	/* the fds of this process are untouched */
	ck_assert_int_ge(fcntl(CLOSE_A, F_GETFD), 0);
	ck_assert_int_ge(fcntl(CLOSE_B, F_GETFD), 0);
	unplace_all();
}

static int fallback_proc(posix_spawn_file_actions_t *fa, int lowfd)
{
	return compat_closefrom_actions(fa, lowfd, "/proc/self/fd");
}

/* the fallback's other way, when /proc cannot be read: fcntl up to RLIMIT_NOFILE */
static int fallback_probe(posix_spawn_file_actions_t *fa, int lowfd)
{
	return compat_closefrom_actions(fa, lowfd, "/nonexistent/fd");
}

START_TEST(test_closefrom_fallback)
{
	check_closefrom(fallback_proc);
}
END_TEST

START_TEST(test_closefrom_fallback_no_proc)
{
	check_closefrom(fallback_probe);
}
END_TEST

START_TEST(test_closefrom_selected)
{
	check_closefrom(compat_spawn_closefrom);
}
END_TEST

START_TEST(test_closefrom_bad_fd)
{
	posix_spawn_file_actions_t fa;

	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	ck_assert_int_eq(compat_closefrom_actions(&fa, -1, "/proc/self/fd"), EBADF);
	ck_assert_int_eq(compat_spawn_closefrom(&fa, -1), EBADF);
	posix_spawn_file_actions_destroy(&fa);
}
END_TEST

START_TEST(test_errno_desc)
{
	char buf[128], small[8];

	ck_assert_str_eq(compat_errno_desc(ENOENT, buf, sizeof(buf)), "No such file or directory");
	ck_assert_str_eq(compat_errno_desc(99999, buf, sizeof(buf)), "Unknown error 99999");
	ck_assert_str_eq(compat_errno_desc(EPERM, small, sizeof(small)), "Operati");
	ck_assert_ptr_eq(compat_errno_desc(EPERM, buf, sizeof(buf)), buf);
	/* the fallback says the same (in the C locale the tests run in) */
	ck_assert_str_eq(compat_errno_desc_fallback(ENOENT, buf, sizeof(buf)),
			 "No such file or directory");
	ck_assert_str_eq(compat_errno_desc_fallback(99999, buf, sizeof(buf)),
			 "Unknown error 99999");
	ck_assert_str_eq(compat_errno_desc_fallback(EPERM, small, sizeof(small)), "Operati");
}
END_TEST

static Suite *compat_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("closefrom");

	tcase_add_test(tc, test_closefrom_fallback);
	tcase_add_test(tc, test_closefrom_selected);
	tcase_add_test(tc, test_closefrom_fallback_no_proc);
	tcase_add_test(tc, test_closefrom_bad_fd);
	suite_add_tcase(s, tc);
	tc = tcase_create("errno");
	tcase_add_test(tc, test_errno_desc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(compat_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
