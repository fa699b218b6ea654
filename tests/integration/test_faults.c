/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults with real CRIU and real processes: criu killed with SIGKILL in the
 * middle of a dump, the target exiting during the dump, an images dir on a
 * read-only or a full filesystem. In every case: a distinct error, no fd or
 * child left, no directory that looks like a checkpoint, and the target (if
 * it was not the one that went away) runs on and can be dumped afterwards.
 */
#include <pthread.h>
#include <sys/mount.h>

#include "common.h"

struct killer {
	pid_t spare; /* our child that is not criu: the target */
	long delay_ms;
	volatile int started; /* set at CRIU's pre-dump notification */
	pid_t killed;
};

static int dump_started(void *ud, ckpt_notify *ev)
{
	(void)ev;
	__atomic_store_n(&((struct killer *)ud)->started, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Once the dump has started, let criu work delay_ms, then SIGKILL it (our child that is not the target). */
static void *kill_criu(void *arg)
{
	struct killer *k = arg;

	for (int i = 0; i < 20000 && !__atomic_load_n(&k->started, __ATOMIC_SEQ_CST); i++)
		usleep(500);
	for (int i = 0; i < 2000 && !k->killed; i++) {
		char path[64], buf[512];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		f = fopen(path, "re");
		if (f && fgets(buf, sizeof(buf), f)) {
			for (char *s = strtok(buf, " \n"); s; s = strtok(NULL, " \n")) {
				pid_t p = atoi(s);

				if (p != k->spare && p > 0) {
					msleep(k->delay_ms);
					kill(p, SIGKILL);
					k->killed = p;
					break;
				}
			}
		}
		if (f)
			fclose(f);
		usleep(500);
	}
	return NULL;
}

START_TEST(criu_killed_mid_dump)
{
	static const long delays[] = { 5, 40,
				       100 }; /* after pre-dump; the dump of 512 MiB takes longer */
	char *dir, *imgs;
	pid_t pid;

	be_subreaper();
	dir = tmpdir_new("kst");
	pid = counter_start(dir, 512); /* big enough that the dump takes a while */
	ck_assert_int_ge(counter_wait(dir, 3, 20000), 3);
	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		ckpt_client *c = client_new();
		ckpt_err err = CKPT_ERR_INIT;
		ckpt_opts *o = ckpt_opts_new();
		struct killer k = { .spare = pid, .delay_ms = delays[i] };
		int fds, kids;
		pthread_t th;
		char p[512];
		int r;
		long v;

		imgs = tmpdir_new("kimg");
		ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
		ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
		ck_assert_ok(ckpt_client_set_notify(c, "pre-dump", dump_started, &k, &err), err);
		fds = count_fds();
		kids = count_children();
		ck_assert_int_eq(pthread_create(&th, NULL, kill_criu, &k), 0);
		r = ckpt_dump(c, o, &err);
		pthread_join(th, NULL);
		ck_assert_int_gt(k.killed, 0);
		ck_assert_msg(r == CKPT_ECRIU_DIED, "delay %ld ms: %d %s", delays[i], r, err.msg);
		ck_assert_msg(strstr(err.msg, "signal 9"), "%s", err.msg);
		/* the target is alive and runs on; nothing left behind */
		ck_assert(alive(pid));
		v = read_num(dir, "counter");
		ck_assert_int_ge(counter_wait(dir, v + 3, 10000), v + 3);
		snprintf(p, sizeof(p), "%s/inventory.img", imgs);
		ck_assert_int_ne(access(p, F_OK), 0);
		ck_assert_int_eq(count_fds(), fds);
		/*
		 * criu was killed from outside, not by the library: a helper it had forked
		 * (its kernel probes fork) is orphaned to the nearest subreaper, us, which
		 * reaps it as any subreaper must. The library reaped criu itself.
		 */
		for (int n = 0; n < 100 && count_children() > kids; n++) {
			pid_t z = waitpid(-1, NULL, WNOHANG);

			ck_assert_int_ne(z, pid);
			if (z <= 0)
				msleep(10);
		}
		ck_assert_int_eq(count_children(), kids);
		ckpt_opts_free(o);
		ckpt_client_free(c);
		rm_rf(imgs);
		free(imgs);
	}
	/* and a later dump of it succeeds */
	{
		ckpt_client *c = client_new();
		ckpt_err err = CKPT_ERR_INIT;
		ckpt_opts *o = ckpt_opts_new();

		imgs = tmpdir_new("kimg");
		ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
		ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
		ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
		ck_assert_ok(ckpt_dump(c, o, &err), err);
		ck_assert(alive(pid));
		ckpt_opts_free(o);
		ckpt_client_free(c);
		rm_rf(imgs);
		free(imgs);
	}
	kill_wait(pid);
	rm_rf(dir);
	free(dir);
}
END_TEST

static int kill_target(void *ud, ckpt_notify *ev)
{
	(void)ev;
	kill(*(pid_t *)ud, SIGKILL);
	return 0;
}

START_TEST(target_exits_during_dump)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("xst"), *imgs = tmpdir_new("ximg"), p[512];
	pid_t pid;
	int kids;

	be_subreaper();
	pid = counter_start(dir, 1);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	kids = count_children();
	ck_assert_ok(ckpt_client_set_notify(c, "pre-dump", kill_target, &pid, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	/* CRIU either reports the vanished task or, having lost it mid-seize, dies */
	int r = ckpt_dump(c, o, &err);
	ck_assert_msg(r == CKPT_ECRIU || r == CKPT_ECRIU_DIED, "%d: %s", r, err.msg);
	snprintf(p, sizeof(p), "%s/inventory.img", imgs);
	ck_assert_int_ne(access(p, F_OK), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(count_children(), kids - 1);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

/* An images dir on a tmpfs mounted with `opts`: the dump fails, the target runs on. */
static void dump_onto_mount(const char *opts, bool read_only, const char *want)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("mst"), *mnt = tmpdir_new("mnt"), p[512];
	pid_t pid;
	long v;

	be_subreaper();
	pid = counter_start(dir, 16);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	ck_assert_int_eq(mount("tmpfs", mnt, "tmpfs", read_only ? MS_RDONLY : 0, opts), 0);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, mnt, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ECRIU);
	ck_assert_msg(strstr(err.criu_log, want) || strstr(err.msg, want), "'%s' not in: %s / %s",
		      want, err.msg, err.criu_log);
	ck_assert(alive(pid));
	v = read_num(dir, "counter");
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	snprintf(p, sizeof(p), "%s/inventory.img", mnt);
	ck_assert_int_ne(access(p, F_OK), 0);
	kill_wait(pid);
	ckpt_opts_free(o); /* closes its fd of the images dir */
	ck_assert_int_eq(umount(mnt), 0);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(mnt);
	free(dir);
	free(mnt);
}

START_TEST(full_filesystem)
{
	dump_onto_mount("size=1m,mode=0700", false, "No space left");
}
END_TEST

START_TEST(read_only_filesystem)
{
	/* CRIU cannot even open its log there */
	dump_onto_mount("size=1m,mode=0700", true, "");
}
END_TEST

/* 8 threads, each with its own client and options, dump and restore distinct processes at once. */
struct worker {
	pid_t pid;
	char *dir, *imgs;
	int rc;
	char msg[600];
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	ckpt_client *c = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	pid_t restored = 0;
	long v;

	w->rc = -1;
	if (!c || !o)
		goto out;
	if (ckpt_client_set_criu_path(c, getenv("CKPT_CRIU"), &err) < 0 ||
	    ckpt_opts_set_pid(o, w->pid, &err) < 0 ||
	    ckpt_opts_set_int(o, CKPT_OPT_LOG_LEVEL, 4, &err) < 0 ||
	    ckpt_opts_set_images_dir(o, w->imgs, &err) < 0 || ckpt_dump(c, o, &err) < 0)
		goto out;
	waitpid(w->pid, NULL, 0);
	v = read_num(w->dir, "counter");
	if (ckpt_restore(c, o, &restored, &err) < 0)
		goto out;
	if (restored != w->pid) {
		snprintf(w->msg, sizeof(w->msg), "restored %d, not %d", (int)restored, (int)w->pid);
		goto out;
	}
	for (int i = 0; i < 500 && read_num(w->dir, "counter") < v + 3; i++)
		msleep(10);
	w->rc = read_num(w->dir, "counter") >= v + 3 ? 0 : -2;
out:
	if (w->rc == -1)
		snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	return NULL;
}

START_TEST(eight_threads)
{
	enum { N = 8 };
	struct worker w[N];
	pthread_t th[N];
	int fds, kids;

	be_subreaper();
	for (int i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].dir = tmpdir_new("tst");
		w[i].imgs = tmpdir_new("timg");
		w[i].pid = counter_start(w[i].dir, 8);
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_ge(counter_wait(w[i].dir, 3, 10000), 3);
	fds = count_fds();
	kids = count_children();
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N; i++)
		ck_assert_msg(w[i].rc == 0, "worker %d (pid %d): %d %s", i, (int)w[i].pid, w[i].rc,
			      w[i].msg);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(count_children(), kids);
	for (int i = 0; i < N; i++) {
		kill_wait(w[i].pid);
		rm_rf(w[i].dir);
		rm_rf(w[i].imgs);
		free(w[i].dir);
		free(w[i].imgs);
	}
}
END_TEST

int main(void)
{
	RUN_TESTS("faults", 300, criu_killed_mid_dump, target_exits_during_dump, full_filesystem,
		  read_only_filesystem, eight_threads);
}
