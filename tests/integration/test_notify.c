/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Notifications against real CRIU: the order CRIU sends them in, a failing
 * callback aborting a dump (the target runs on), and inherit-fd carrying a
 * restored process's stdin and stdout on pipes the caller holds.
 */
#include "common.h"

struct seen {
	char names[32][32];
	pid_t pids[32];
	int n;
	const char *fail_at;
};

static int record(void *ud, ckpt_notify *ev)
{
	struct seen *s = ud;

	if (s->n < 32) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", ckpt_notify_name(ev));
		s->pids[s->n] = ckpt_notify_pid(ev);
		s->n++;
	}
	return s->fail_at && !strcmp(s->fail_at, ckpt_notify_name(ev)) ? -5 : 0;
}

static int index_of(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return -1;
}

static void dump_seen(const struct seen *s, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int i = 0; i < s->n; i++)
		snprintf(buf + strlen(buf), n - strlen(buf), "%s ", s->names[i]);
}

START_TEST(order_dump_restore)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir, *imgs, list[1024];
	struct seen d = { 0 }, r = { 0 };
	pid_t pid, restored;

	be_subreaper();
	dir = tmpdir_new("nstate");
	imgs = tmpdir_new("nimgs");
	pid = counter_start(dir, 1);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	ck_assert_ok(ckpt_client_set_notify(c, NULL, record, &d, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	dump_seen(&d, list, sizeof(list));
	/* CRIU's order for a dump: pre-dump before post-dump, nothing unknown in between */
	ck_assert_msg(index_of(&d, "pre-dump") == 0, "dump notifications: %s", list);
	ck_assert_msg(index_of(&d, "post-dump") > 0, "dump notifications: %s", list);

	ck_assert_ok(ckpt_client_set_notify(c, NULL, record, &r, &err), err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	dump_seen(&r, list, sizeof(list));
	/*
	 * CRIU 4.2's order for a tree without namespaces of its own (setup-namespaces comes
	 * only when the restored tree has some): pre-restore, post-restore (with the pid),
	 * pre-resume, post-resume.
	 */
	ck_assert_msg(!strcmp(list, "pre-restore post-restore pre-resume post-resume "),
		      "restore notifications: %s", list);
	ck_assert_int_eq(r.pids[1], restored);
	ck_assert_int_ge(counter_wait(dir, read_num(dir, "counter") + 2, 5000), 0);
	kill_wait(restored);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

/* A callback that fails at pre-dump aborts the dump; the target keeps running. */
START_TEST(failing_callback_aborts)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("fstate"), *imgs = tmpdir_new("fimgs"), p[512];
	struct seen s = { .fail_at = "pre-dump" };
	pid_t pid;
	long v;

	be_subreaper();
	pid = counter_start(dir, 1);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	ck_assert_ok(ckpt_client_set_notify(c, "pre-dump", record, &s, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ECALLBACK);
	ck_assert_msg(strstr(err.msg, "pre-dump"), "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "-5"), "%s", err.msg);
	ck_assert_int_eq(s.n, 1);
	ck_assert(alive(pid));
	v = read_num(dir, "counter");
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	snprintf(p, sizeof(p), "%s/inventory.img", imgs);
	ck_assert_int_ne(access(p, F_OK), 0);
	kill_wait(pid);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

static unsigned long fd_ino(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

/* A restored `sh -c 'read x; echo got $x'` reads from and writes to pipes passed with inherit-fd. */
START_TEST(inherit_fd_pipes)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("iimgs"), key_in[64], key_out[64], buf[64] = "";
	int in[2], out[2], in2[2], out2[2];
	pid_t pid, restored;
	ssize_t n;

	be_subreaper();
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(null, 2);
		execl("/bin/sh", "sh", "-c", "read x; echo got $x", (char *)NULL);
		_exit(127);
	}
	msleep(300); /* blocked in read */
	snprintf(key_in, sizeof(key_in), "pipe:[%lu]", fd_ino(in[0]));
	snprintf(key_out, sizeof(key_out), "pipe:[%lu]", fd_ino(out[1]));
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);

	ck_assert_int_eq(pipe2(in2, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out2, O_CLOEXEC), 0);
	ck_assert_ok(ckpt_opts_add_inherit_fd(o, in2[0], key_in, &err), err);
	ck_assert_ok(ckpt_opts_add_inherit_fd(o, out2[1], key_out, &err), err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	close(in2[0]);
	close(out2[1]);
	ck_assert_int_eq(write(in2[1], "hello\n", 6), 6);
	close(in2[1]);
	n = read(out2[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "got hello\n");
	int st;
	ck_assert_int_eq(waitpid(restored, &st, 0), restored);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(out2[0]);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

struct pts_take {
	int fd;
	int count;
};

static int take_pts(void *ud, ckpt_notify *ev)
{
	struct pts_take *t = ud;

	t->count++;
	t->fd = ckpt_notify_take_fd(ev);
	return t->fd >= 0 ? 0 : -1;
}

/* A shell job on a pty, restored with its pty master handed to us through orphan-pts-master. */
START_TEST(orphan_pts_master)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("ptsimg");
	struct pts_take t = { .fd = -1 };
	pid_t pid, restored;
	int master, fds_before;

	be_subreaper();
	pid = pty_shell_start("read x; echo got-$x; sleep 5", &master);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_SHELL_JOB, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	close(master); /* the old terminal is gone for good */

	fds_before = count_fds();
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_ORPHAN_PTS_MASTER, true, &err), err);
	ck_assert_ok(ckpt_client_set_notify(c, "orphan-pts-master", take_pts, &t, &err), err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_eq(t.count, 1);
	ck_assert_int_ge(t.fd, 0);
	ck_assert(fcntl(t.fd, F_GETFD) & FD_CLOEXEC);  /* ours now, and CLOEXEC */
	ck_assert_int_eq(count_fds(), fds_before + 1); /* exactly the one we took */
	ck_assert_int_eq(write(t.fd, "hi\n", 3), 3);
	ck_assert_msg(pty_expect(t.fd, "got-hi"),
		      "the restored shell did not answer on the new pty");
	kill_wait(restored);
	close(t.fd);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

int main(void)
{
	RUN_TESTS("notify", 240, order_dump_restore, failing_callback_aborts, inherit_fd_pipes,
		  orphan_pts_master);
}
