/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_restore_lazy against real CRIU: the tree runs before its memory is in,
 * carries on with the memory it had; progress and times; the session dir gone
 * once every page is in, the images unchanged; ckpt_lazy_free before then
 * kills the tree (and the daemon); the refusals (a service client, no
 * images dir, a dir without a checkpoint).
 */
#include "common.h"

/* Dump t (the counter goes), reaped; o keeps the images dir. */
static void dump(ckpt_client *c, struct ctarget *t, ckpt_opts *o)
{
	ckpt_err err = CKPT_ERR_INIT;
	int st;

	ck_assert_ok(ckpt_opts_set_pid(o, t->pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, t->imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert_int_eq(waitpid(t->pid, &st, 0), t->pid);
}

/* Entries of dir whose name starts with prefix. */
static int count_named(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

/* The pids in /proc/PID/task/PID/children (our children when pid is ours), into v; how many. */
static size_t children_of(pid_t pid, pid_t *v, size_t max)
{
	char path[96], buf[4096], *p = buf, *end;
	size_t n = 0;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	while (n < max) {
		long x = strtol(p, &end, 10);

		if (end == p)
			break;
		v[n++] = (pid_t)x;
		p = end;
	}
	return n;
}

/*
 * The criu lazy-pages our keeper (a child of ours) runs: its pid, 0 if none. Read from the
 * children lists only, so that it is found within a few milliseconds of the restore.
 */
static pid_t find_daemon(void)
{
	pid_t kids[64], grand[8];
	size_t nk = children_of(getpid(), kids, 64);

	for (size_t i = 0; i < nk; i++) {
		size_t ng = children_of(kids[i], grand, 8);

		for (size_t j = 0; j < ng; j++) {
			char path[64], buf[4096];
			ssize_t n;
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)grand[j]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			for (ssize_t k = 0; k < n; k++)
				if (!buf[k])
					buf[k] = ' ';
			if (strstr(buf, " lazy-pages -D "))
				return grand[j];
		}
	}
	return 0;
}

static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "3", 1), 1);
	close(fd);
}

START_TEST(lazy_restore_carries_on)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_lazy *lz = NULL;
	unsigned long long sum;
	uint64_t done = 0, total = 0, run_us = 0, done_us = 0;
	pid_t pid = 0;
	long at;

	ctarget_start(&t, 64);
	sum = counter_checksum(t.pid, t.dir);
	dump(c, &t, o);
	at = read_num(t.dir, "counter");
	ck_assert_ok(ckpt_restore_lazy(c, o, &pid, &lz, &err), err);
	ck_assert_ptr_nonnull(lz);
	ck_assert_int_eq(pid, t.pid); /* the same pid, a child of ours */
	ck_assert_int_ge(counter_wait(t.dir, at + 3, 10000), at + 3);
	ck_assert_int_eq(ckpt_lazy_wait(lz, 60000, &err), 0);
	ckpt_lazy_progress(lz, &done, &total);
	ck_assert_uint_ge(total, 64ull << 20);
	ck_assert_uint_eq(done, total);
	ck_assert_int_eq(ckpt_lazy_times(lz, &run_us, &done_us), 1);
	ck_assert_uint_gt(run_us, 0);
	ck_assert_uint_ge(done_us, run_us);
	ck_assert_int_eq(counter_checksum(pid, t.dir), sum);
	ck_assert_int_eq(count_named(t.imgs, ".ckpt-lazy-"), 0); /* nothing left in the images */
	ckpt_lazy_free(lz);
	ck_assert(alive(pid)); /* freed once every page is in: it runs on */
	ck_assert_int_ge(counter_wait(t.dir, read_num(t.dir, "counter") + 3, 10000), 0);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

START_TEST(lazy_free_before_the_pages_kills)
{
	struct ctarget t;
	ckpt_client *c = client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_lazy *lz = NULL;
	pid_t pid = 0, daemon;
	int st;

	ctarget_start(&t, 512);
	dump(c, &t, o);
	drop_caches(); /* the pages come from disk: seconds, not a blink */
	ck_assert_ok(ckpt_restore_lazy(c, o, &pid, &lz, &err), err);
	daemon = find_daemon();
	ck_assert_int_gt(daemon, 0);
	/* held: no page comes any more (the restore is done; what is not in stays out) */
	ck_assert_int_eq(kill(daemon, SIGSTOP), 0);
	msleep(300);
	ck_assert_int_eq(ckpt_lazy_wait(lz, 0, &err), 1);
	ckpt_lazy_free(lz); /* the pages are not in: the tree goes, the daemon too */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_int_eq(find_daemon(), 0);
	ck_assert_int_eq(count_named(t.imgs, "pages-"), 1); /* the images are kept */
	t.pid = 0;
	ckpt_opts_free(o);
	ckpt_client_free(c);
	ctarget_end(&t);
}
END_TEST

START_TEST(lazy_refusals)
{
	ckpt_client *c = client_new();
	ckpt_client *svc = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_lazy *lz = (ckpt_lazy *)&err; /* set to NULL on failure */
	char *empty = tmpdir_new("lazy-empty");
	pid_t pid = 0;

	ck_assert_int_eq(ckpt_restore_lazy(c, o, &pid, &lz, &err), CKPT_EINVAL);
	ck_assert_ptr_null(lz);
	ck_assert_msg(strstr(err.msg, "no images directory"), "%s", err.msg);
	ck_assert_ok(ckpt_opts_set_images_dir(o, empty, &err), err);
	ck_assert_int_eq(ckpt_restore_lazy(c, o, &pid, &lz, &err), CKPT_EIMAGES);
	ck_assert_msg(strstr(err.msg, "holds no checkpoint"), "%s", err.msg);
	ck_assert_int_eq(count_named(empty, ".ckpt-lazy-"), 0);
	ck_assert_ok(ckpt_client_set_service(svc, "/run/nonexistent-criu.sock", &err), err);
	ck_assert_int_eq(ckpt_restore_lazy(svc, o, &pid, &lz, &err), CKPT_ENOTSUP);
	ck_assert_msg(strstr(err.msg, "swrk"), "%s", err.msg);
	ck_assert_int_eq(ckpt_lazy_wait(NULL, 0, &err), CKPT_EINVAL);
	ckpt_lazy_free(NULL);
	rm_rf(empty);
	free(empty);
	ckpt_opts_free(o);
	ckpt_client_free(svc);
	ckpt_client_free(c);
}
END_TEST

int main(void)
{
	RUN_TESTS("lazy", 300, lazy_restore_carries_on, lazy_free_before_the_pages_kills,
		  lazy_refusals);
}
