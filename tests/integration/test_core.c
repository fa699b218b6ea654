/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real CRIU, real processes: dump and restore a counter with dirtied memory
 * over swrk and over a `criu service` daemon; leave-running; bad input; no fd
 * or child left behind after many requests.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

static void file_exists(const char *dir, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(access(p, F_OK) == 0, "%s should exist", p);
}

/* Dump (killing the tree), check it is gone, restore, check it carries on with the same memory. */
static void dump_restore_cycle(ckpt_client *c, struct ctarget *t)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	unsigned long long sum_before = counter_checksum(t->pid, t->dir);
	long at_dump, after;
	pid_t restored = 0;
	int st;

	ck_assert_int_eq(sum_before, read_u64(t->dir, "checksum.start"));
	ck_assert_ok(ckpt_opts_set_pid(o, t->pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, t->imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);

	/* gone: CRIU killed it; as its subreaper we reap it at once */
	ck_assert_int_eq(waitpid(t->pid, &st, 0), t->pid);
	ck_assert(WIFSIGNALED(st));
	file_exists(t->imgs, "inventory.img");
	file_exists(t->imgs, "pstree.img");
	file_exists(t->imgs, "dump.log");
	at_dump = read_num(t->dir, "counter");
	msleep(200);
	ck_assert_int_eq(read_num(t->dir, "counter"), at_dump); /* nothing counts any more */

	/* restore: same pid, a child of ours, counting on from the dumped value */
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_eq(restored, t->pid);
	after = counter_wait(t->dir, at_dump + 3, 10000);
	ck_assert_int_ge(after, at_dump + 3);
	ck_assert_int_lt(after, at_dump + 200); /* carried on, did not start again from 0 */
	ck_assert_int_eq(counter_checksum(t->pid, t->dir), sum_before);
	file_exists(t->imgs, "restore.log");
	ckpt_opts_free(o);
}

START_TEST(swrk_dump_restore)
{
	struct ctarget t;
	ckpt_client *c = client_new();

	ctarget_start(&t, 16);
	dump_restore_cycle(c, &t);
	/* the restored process is our child: we can reap it */
	kill(t.pid, SIGKILL);
	ck_assert_int_eq(waitpid(t.pid, NULL, 0), t.pid);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

START_TEST(swrk_two_cycles)
{
	struct ctarget t;
	ckpt_client *c = client_new();

	ctarget_start(&t, 4);
	dump_restore_cycle(c, &t);
	/* second cycle into a fresh dir */
	rm_rf(t.imgs);
	ck_assert_int_eq(mkdir(t.imgs, 0700), 0);
	dump_restore_cycle(c, &t);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

START_TEST(swrk_leave_running)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	long before, after;

	ctarget_start(&t, 16);
	before = read_num(t.dir, "counter");
	ck_assert_ok(ckpt_opts_set_pid(o, t.pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, t.imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert(alive(t.pid));
	after = counter_wait(t.dir, before + 5, 5000);
	ck_assert_int_ge(after, before + 5);
	ck_assert_int_eq(counter_checksum(t.pid, t.dir), read_u64(t.dir, "checksum.start"));
	file_exists(t.imgs, "inventory.img");
	/* the dumped images restore once the original is gone */
	kill_wait(t.pid);
	pid_t restored = 0;
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_eq(restored, t.pid);
	ck_assert_int_ge(counter_wait(t.dir, after + 3, 5000), after + 3);
	kill_wait(restored);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

/* A `criu service` daemon of our own on a temporary socket. */
static pid_t service_start(const char *sock, const char *workdir)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (chdir(workdir) < 0)
			_exit(126);
		execl(test_criu(), "criu", "service", "--address", sock, "-o", "service.log", "-W",
		      workdir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
		msleep(10);
	ck_assert_msg(access(sock, F_OK) == 0, "criu service did not create %s", sock);
	return pid;
}

START_TEST(service_requests)
{
	struct ctarget t;
	char *sdir = tmpdir_new("svc"), sock[256];
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned v = 0;
	pid_t svc;

	ctarget_start(&t, 16);
	snprintf(sock, sizeof(sock), "%s/criu.sock", sdir);
	svc = service_start(sock, sdir);
	ck_assert_ok(ckpt_client_set_service(c, sock, &err), err);
	ck_assert_ok(ckpt_criu_version(c, &v, &err), err);
	ck_assert_uint_ge(v, 40200);
	ck_assert_ok(ckpt_check(c, &err), err);
	dump_restore_cycle(c, &t);
	/* restored through the service, the tree is reparented to us (the subreaper) */
	kill(t.pid, SIGKILL);
	ck_assert_int_eq(waitpid(t.pid, NULL, 0), t.pid);
	kill_wait(svc);
	ckpt_client_free(c);
	rm_rf(sdir);
	free(sdir);
	ctarget_end(&t);
}
END_TEST

START_TEST(version_and_check)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned v = 0;
	uint32_t have = 0;

	ck_assert_ok(ckpt_criu_version(c, &v, &err), err);
	ck_assert_uint_ge(v, 40200);
	ck_assert_ok(ckpt_check(c, &err), err);
	ck_assert_ok(ckpt_feature_check(c, CKPT_FEATURE_LAZY_PAGES | CKPT_FEATURE_MEM_TRACK, &have,
					&err),
		     err);
	/* userfaultfd works on these machines; soft-dirty (memory tracking) is off in this kernel */
	ck_assert(have & CKPT_FEATURE_LAZY_PAGES);
	ckpt_client_free(c);
}
END_TEST

/* ---- bad input: each a distinct code and a message naming the input ---- */

START_TEST(bad_pid)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("badpid");
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0); /* a pid that surely does not run now */
	ck_assert_int_eq(ckpt_opts_set_pid(o, 0, &err), CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "0"));
	ck_assert_ok(ckpt_opts_set_pid(o, child, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ENOTARGET);
	ck_assert_int_eq(err.code, CKPT_ENOTARGET);
	char want[32];
	snprintf(want, sizeof(want), "pid %d", (int)child);
	ck_assert_msg(strstr(err.msg, want), "message should name the pid: %s", err.msg);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(bad_images_dir)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_int_eq(ckpt_opts_set_images_dir(o, "/nonexistent/ckpt-images", &err),
			 CKPT_EIMAGES);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/ckpt-images"));
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_int_eq(ckpt_opts_set_images_dir(o, "/etc/hostname", &err), CKPT_EIMAGES);
	ck_assert_ptr_nonnull(strstr(err.msg, "/etc/hostname"));
	ckpt_opts_free(o);
}
END_TEST

START_TEST(bad_criu_path)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *d = tmpdir_new("criu"), path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/criu", d);
	fd = open(path, O_WRONLY | O_CREAT, 0644); /* not executable */
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* whether it can run is for exec to say (by our effective ids): the request fails, naming it */
	ck_assert_int_eq(ckpt_client_set_criu_path(c, path, &err), 0);
	unsigned ver;
	ck_assert_int_eq(ckpt_criu_version(c, &ver, &err), CKPT_ECRIU_EXEC);
	/* under valgrind posix_spawn cannot report exec's errno: the child's exit 127 says it */
	if (!getenv("CKPT_UNDER_VALGRIND")) {
		ck_assert_ptr_nonnull(strstr(err.msg, path));
		ck_assert_int_eq(err.sys_errno, EACCES);
	}
	ck_assert_int_eq(ckpt_client_set_criu_path(c, "/nonexistent/criu", &err), CKPT_ECRIU_EXEC);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/criu"));
	ckpt_client_free(c);
	rm_rf(d);
	free(d);
}
END_TEST

START_TEST(bad_service_socket)
{
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned v;

	ck_assert_ok(ckpt_client_set_service(c, "/nonexistent/criu.sock", &err), err);
	ck_assert_int_eq(ckpt_criu_version(c, &v, &err), CKPT_ESERVICE);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/criu.sock"));
	ckpt_client_free(c);
}
END_TEST

/* A dump CRIU refuses (a file lock without file-locks): the target runs on, nothing looks valid. */
START_TEST(failed_dump_keeps_target)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("flock"), *state = tmpdir_new("flockst"), cmd[512], p[512];
	pid_t pid;

	be_subreaper();
	snprintf(p, sizeof(p), "%s/lock", state);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(cmd, sizeof(cmd), "exec 9>%s; flock 9; while :; do sleep 0.05; done", p);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	msleep(300);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ECRIU);
	ck_assert_msg(strstr(err.msg, "dump"), "%s", err.msg);
	ck_assert_msg(strstr(err.log_path, "dump.log"), "log path: %s", err.log_path);
	ck_assert_msg(err.criu_log[0], "CRIU's error lines should be there");
	ck_assert(alive(pid));
	snprintf(p, sizeof(p), "%s/inventory.img", imgs);
	ck_assert_int_ne(access(p, F_OK), 0);
	/* and with file-locks it works */
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_FILE_LOCKS, true, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert(alive(pid));
	kill_wait(pid);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(state);
	free(imgs);
	free(state);
}
END_TEST

/* 200 requests in one process: no fd and no child left behind. */
START_TEST(no_leaks_200_requests)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	int fds = count_fds(), kids = count_children();
	unsigned v;

	for (int i = 0; i < 200; i++) {
		if (i % 20 == 0)
			ck_assert_ok(ckpt_check(c, &err), err);
		else
			ck_assert_ok(ckpt_criu_version(c, &v, &err), err);
	}
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_children(), kids);
	ckpt_client_free(c);
}
END_TEST

/* A criu started ahead serves the next request; an unused one is killed and reaped by free. */
START_TEST(prepared_client)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	int fds, kids;
	unsigned v;

	ctarget_start(&t, 4);
	fds = count_fds();
	kids = count_children();
	ck_assert_ok(ckpt_client_prepare(c, &err), err);
	ck_assert_int_eq(count_children(), kids + 1);
	ck_assert_ok(ckpt_criu_version(c, &v, &err), err);
	ck_assert_int_eq(count_children(), kids);
	ck_assert_ok(ckpt_client_prepare(c, &err), err);
	dump_restore_cycle(c, &t); /* the dump uses the prepared criu, the restore a new one */
	ck_assert_ok(ckpt_client_prepare(c, &err), err);
	ckpt_client_free(c);
	ck_assert_int_eq(count_children(), kids);
	ck_assert_int_eq(count_fds(), fds);
	ctarget_end(&t);
}
END_TEST

/* Security of the images dir: shared dirs refused, files owner-only, foreign image versions refused. */
START_TEST(images_dir_policy)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char p[512];
	struct stat st;
	unsigned char buf[64];
	int fd;

	ctarget_start(&t, 1);
	ck_assert_ok(ckpt_opts_set_pid(o, t.pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, t.imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
	/* a world-writable dir written in place (it is not empty) is refused */
	snprintf(p, sizeof(p), "%s/README", t.imgs);
	ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	ck_assert_int_eq(chmod(t.imgs, 0777), 0);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_EIMAGES);
	ck_assert_msg(strstr(err.msg, "writable by everyone") && strstr(err.msg, t.imgs), "%s",
		      err.msg);
	ck_assert(alive(t.pid));
	ck_assert_int_eq(unlink(p), 0);
	/* an empty one is replaced by a staging dir of ours: the checkpoint is 0700, whatever the dir was */
	{
		char *par = tmpdir_new("wwpar"), dir[512];

		snprintf(dir, sizeof(dir), "%s/ckpt", par);
		ck_assert_int_eq(mkdir(dir, 0777), 0);
		ck_assert_int_eq(chmod(dir, 0777), 0);
		ckpt_opts *o2 = NULL;
		ck_assert_ok(ckpt_opts_clone(o, &o2, &err), err);
		ck_assert_ok(ckpt_opts_set_images_dir(o2, dir, &err), err);
		ck_assert_ok(ckpt_dump(c, o2, &err), err);
		ck_assert_int_eq(stat(dir, &st), 0);
		ck_assert_int_eq(st.st_mode & 07777, 0700);
		snprintf(p, sizeof(p), "%s/inventory.img", dir);
		ck_assert_int_eq(access(p, F_OK), 0);
		ckpt_opts_free(o2);
		rm_rf(par);
		free(par);
	}
	ck_assert_int_eq(chmod(t.imgs, 0700), 0);
	/* a separate work dir: CRIU's log there becomes owner-only, nothing else of the dir is touched */
	char *work = tmpdir_new("work"), keep[512];
	snprintf(keep, sizeof(keep), "%s/keep.txt", work);
	ck_assert_int_eq(close(open(keep, O_WRONLY | O_CREAT, 0644)), 0);
	ck_assert_int_eq(chmod(keep, 0644), 0);
	ck_assert_ok(ckpt_opts_set_work_dir(o, work, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert_int_eq(stat(keep, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	snprintf(p, sizeof(p), "%s/dump.log", work);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_msg((st.st_mode & 077) == 0, "work dir dump.log is mode %04o",
		      st.st_mode & 07777);
	rm_rf(work);
	free(work);
	ck_assert_ok(ckpt_opts_clear(o, CKPT_OPT_WORK_DIR, &err), err);
	snprintf(p, sizeof(p), "%s/inventory.img", t.imgs);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_msg((st.st_mode & 077) == 0, "inventory.img is mode %04o", st.st_mode & 07777);
	snprintf(p, sizeof(p), "%s/pstree.img", t.imgs);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_msg((st.st_mode & 077) == 0, "pstree.img is mode %04o", st.st_mode & 07777);
	/* a second dump into the same dir is refused, the first left as it was */
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_EEXIST);
	snprintf(p, sizeof(p), "%s/inventory.img", t.imgs);
	ck_assert_int_eq(access(p, F_OK), 0);

	/* an inventory of another image format version: restore refuses it, naming the version */
	kill_wait(t.pid);
	fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(read(fd, buf, sizeof(buf)), 10);
	ck_assert_msg(buf[8] == 0x08 && buf[9] == 0x02, "img_version is the first field, = 2");
	buf[9] = 0x05;
	ck_assert_int_eq(pwrite(fd, buf + 9, 1, 9), 1);
	close(fd);
	pid_t restored = 0;
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_EBADIMG);
	ck_assert_msg(strstr(err.msg, "version 5"), "%s", err.msg);
	ck_assert(!alive(t.pid));
	ckpt_opts_free(o);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

/* Service mode checks the daemon's credentials (SO_PEERCRED) before sending anything. */
START_TEST(service_peer_credentials)
{
	char *d = tmpdir_new("cred"), sock[256];
	ckpt_client *c = ckpt_client_new();
	ckpt_err err = CKPT_ERR_INIT;
	unsigned v;
	pid_t pid;

	ck_assert_int_eq(chmod(d, 0777), 0);
	snprintf(sock, sizeof(sock), "%s/impostor.sock", d);
	pid = fork();
	if (pid == 0) {
		/* an impostor listening as nobody: it must never get a request */
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd;

		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(126);
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0)
			_exit(125);
		for (;;) {
			int k = accept(fd, NULL, NULL);
			char buf[4096];

			if (k >= 0 && recv(k, buf, sizeof(buf), 0) > 0)
				_exit(99); /* got a request: the check failed */
		}
	}
	for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
		msleep(10);
	ck_assert_ok(ckpt_client_set_service(c, sock, &err), err);
	ck_assert_ok(ckpt_client_set_timeout_ms(c, 500, &err), err);
	ck_assert_int_eq(ckpt_criu_version(c, &v, &err), CKPT_EPERM);
	ck_assert_msg(strstr(err.msg, "uid 65534") && strstr(err.msg, sock), "%s", err.msg);
	/* naming that uid as trusted lets the request through (this impostor then exits 99) */
	ck_assert_ok(ckpt_client_set_service_uid(c, 65534, &err), err);
	ck_assert_int_ne(ckpt_criu_version(c, &v, &err), CKPT_EPERM);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 99);
	ckpt_client_free(c);
	rm_rf(d);
	free(d);
}
END_TEST

/* A request above the size limit is refused before criu starts; the target runs on. */
START_TEST(oversized_request)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	int kids;

	ctarget_start(&t, 1);
	ck_assert_ok(ckpt_opts_set_pid(o, t.pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, t.imgs, &err), err);
	for (int i = 0; i < 60000; i++) {
		char ext[64];

		snprintf(ext, sizeof(ext), "mnt[/some/long/mount/point/%06d]:key%06d", i, i);
		ck_assert_ok(ckpt_opts_add_str(o, CKPT_OPT_EXTERNAL, ext, &err), err);
	}
	kids = count_children();
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ETOOBIG);
	ck_assert_msg(strstr(err.msg, "bytes"), "%s", err.msg);
	ck_assert_int_eq(count_children(), kids); /* no criu was started */
	ck_assert(alive(t.pid));
	ckpt_opts_free(o);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

int main(void)
{
	RUN_TESTS("core", 240, version_and_check, swrk_dump_restore, swrk_two_cycles,
		  swrk_leave_running, service_requests, bad_pid, bad_images_dir, bad_criu_path,
		  bad_service_socket, failed_dump_keeps_target, no_leaks_200_requests,
		  prepared_client, images_dir_policy, service_peer_credentials, oversized_request);
}
