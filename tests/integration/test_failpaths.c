/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failure paths that must never harm, with real CRIU and real processes: a
 * criu reaped by the caller's own waitpid(-1) thread whose pid is then reused
 * (no stray SIGKILL), a restore that fails after the root was forked (no
 * zombie), a dump whose deadline passes after CRIU killed the target (the
 * images are kept, named, restorable), a deadline passing while the tree is
 * frozen in its cgroup (thawed), a process whose stdout is a file in its own
 * images dir (its mode untouched, it restores), the pty master of a restored
 * shell job without a callback.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

/* Our children (zombies included), as pids, into out (at most n); returns how many. */
static int children_of_self(pid_t *out, int n)
{
	char path[64], buf[8192];
	int k = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		for (char *s = strtok(buf, " \n"); s && k < n; s = strtok(NULL, " \n"))
			out[k++] = (pid_t)strtol(s, NULL, 10);
	fclose(f);
	return k;
}

/* No zombie child left: waitpid(-1, WNOHANG) finds nothing to reap. */
static void assert_no_zombie(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	/* WNOWAIT: only look; si_pid stays 0 when no child has exited */
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		ck_assert_msg(si.si_pid == 0, "a zombie child is left: pid %d", (int)si.si_pid);
}

/* Fork a child that sleeps, with the pid `want` if the kernel can be made to give it (ns_last_pid). */
static pid_t fork_sleeper_at(pid_t want)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");
		pid_t pid;

		ck_assert_ptr_nonnull(f);
		fprintf(f, "%d", (int)want - 1);
		fclose(f);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			execl("/bin/sleep", "sleep", "60", (char *)NULL);
			_exit(127);
		}
		if (pid == want)
			return pid;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ck_abort_msg("could not get pid %d again", (int)want);
	return -1;
}

/* ------------------------------------------------------------------ */
/* 1. Signals reach only our own processes                             */
/* ------------------------------------------------------------------ */

struct reaper {
	pid_t want;
	volatile int reaped;
};

/* The caller's own reaper, as a runtime runs one: waitpid(-1) until it has reaped `want`. */
static void *reap_any(void *arg)
{
	struct reaper *r = arg;

	for (int i = 0; i < 10000 && !r->reaped; i++) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p == r->want)
			r->reaped = 1;
		else
			usleep(1000);
	}
	return NULL;
}

/*
 * A prepared criu dies while idle; the caller's waitpid(-1) thread reaps it;
 * its pid is taken by a new process of the caller. Neither the next request
 * nor ckpt_client_free may signal that process.
 */
static void prepared_criu_pid_reused(bool then_request)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	struct reaper r = { 0 };
	pid_t kids[64], criu = 0, victim;
	pthread_t th;
	unsigned ver;
	int n;

	ck_assert_int_eq(children_of_self(kids, 64), 0);
	ck_assert_ok(ckpt_client_prepare(c, &err), err);
	/* our only child: the prepared criu (whatever its comm: criu here may be a wrapper script) */
	n = children_of_self(kids, 64);
	ck_assert_int_eq(n, 1);
	criu = kids[0];
	r.want = criu;
	ck_assert_int_eq(pthread_create(&th, NULL, reap_any, &r), 0);
	kill(criu, SIGKILL);
	pthread_join(th, NULL);
	ck_assert_msg(r.reaped, "the reaper thread did not reap criu %d", (int)criu);

	victim = fork_sleeper_at(criu);
	if (then_request) {
		/* the prepared criu is gone: the request must notice and start a new one */
		ck_assert_ok(ckpt_criu_version(c, &ver, &err), err);
		ck_assert_uint_ge(ver, 40000);
	}
	ckpt_client_free(c);
	msleep(100);
	ck_assert_msg(alive(victim), "pid %d (criu's old pid, now ours) was killed by the library",
		      (int)victim);
	kill_wait(victim);
	assert_no_zombie();
}

START_TEST(reaped_prepared_criu_then_free)
{
	prepared_criu_pid_reused(false);
}
END_TEST

START_TEST(reaped_prepared_criu_then_request)
{
	prepared_criu_pid_reused(true);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. A failed restore leaves no zombie and no stray process           */
/* ------------------------------------------------------------------ */

/* A process in its own session holding `file` open as fd 3 (mode r). */
static pid_t holder_start(const char *file)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR), fd = open(file, O_RDONLY);

		setsid();
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		dup2(fd, 3);
		syscall(__NR_close_range, 4, ~0U, 0); /* no glibc wrapper before 2.34 */
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	msleep(200);
	return pid;
}

START_TEST(failed_restore_no_zombie)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("frimg"), *dir = tmpdir_new("frst"), file[512];
	int kids, fds;
	pid_t pid, restored = -1;
	FILE *f;

	be_subreaper();
	snprintf(file, sizeof(file), "%s/held", dir);
	f = fopen(file, "we");
	fputs("data\n", f);
	fclose(f);
	pid = holder_start(file);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	unlink(file); /* the restore fails in the forked root, opening fd 3 */

	kids = count_children();
	fds = count_fds();
	/* no callback, no netns setup: the README's plain restore */
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_ECRIU);
	ck_assert_int_eq(restored, -1);
	ck_assert_int_eq(count_children(), kids);
	assert_no_zombie();
	ck_assert(!alive(pid));
	ck_assert_int_eq(count_fds(), fds);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(dir);
	free(imgs);
	free(dir);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. An unknown outcome never destroys what may be the only copy      */
/* ------------------------------------------------------------------ */

/*
 * The work dir holds a FIFO named stats-dump: CRIU opens it to write its
 * statistics after it killed the dumped tree and before it replies, and
 * blocks there. The deadline passes: criu is killed, the outcome is unknown,
 * and the tree is gone. The images must be kept, named, and restorable.
 */
static void deadline_after_target_killed(bool by_path)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("ukst"), *work = tmpdir_new("ukwork"), *parent = tmpdir_new("ukpar");
	char imgs[512], fifo[600], p[800];
	pid_t pid, restored;
	long v;
	int dfd = -1, r;

	be_subreaper();
	snprintf(fifo, sizeof(fifo), "%s/stats-dump", work);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pid = counter_start(dir, 4);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	ck_assert_ok(ckpt_client_set_timeout_ms(c, 4000, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_work_dir(o, work, &err), err);
	if (by_path) {
		/* a new directory: the library dumps into a staging dir and renames it on success */
		snprintf(imgs, sizeof(imgs), "%s/ckpt", parent);
		ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	} else {
		snprintf(imgs, sizeof(imgs), "%s", parent);
		dfd = open(imgs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_ok(ckpt_opts_set_images_dir_fd(o, dfd, &err), err);
	}
	r = ckpt_dump(c, o, &err);
	ck_assert_int_eq(r, CKPT_ETIMEDOUT);
	ck_assert_int_eq(waitpid(pid, NULL, 0),
			 pid); /* CRIU had killed it: the images are the only copy */
	ck_assert_msg(err.flags & CKPT_ERR_F_OUTCOME_UNKNOWN, "flags 0x%x: %s", err.flags, err.msg);
	ck_assert_msg(err.flags & CKPT_ERR_F_TARGET_GONE, "flags 0x%x: %s", err.flags, err.msg);
	ck_assert_msg(err.flags & CKPT_ERR_F_IMAGES_KEPT, "flags 0x%x: %s", err.flags, err.msg);
	ck_assert_msg(strstr(err.msg, err.images_path) && strstr(err.msg, "ckpt inspect"),
		      "the message names neither the kept images nor how to check them: %s",
		      err.msg);
	snprintf(p, sizeof(p), "%s/inventory.img", err.images_path);
	ck_assert_msg(access(p, F_OK) == 0, "%s is gone", p);
	if (by_path) /* a staging dir is never renamed into place on an unknown outcome */
		ck_assert_int_ne(access(imgs, F_OK), 0);
	else
		ck_assert_str_eq(err.images_path, imgs);

	/* they were complete: restore from where they were kept, and the counter carries on */
	unlink(fifo);
	v = read_num(dir, "counter");
	ckpt_opts *ro = ckpt_opts_new();
	ck_assert_ok(ckpt_opts_set_images_dir(ro, err.images_path, &err), err);
	ck_assert_ok(ckpt_restore(c, ro, &restored, &err), err);
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	kill_wait(restored);
	ckpt_opts_free(ro);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	if (dfd >= 0)
		close(dfd);
	rm_rf(dir);
	rm_rf(work);
	rm_rf(parent);
	free(dir);
	free(work);
	free(parent);
}

START_TEST(deadline_after_target_killed_path)
{
	deadline_after_target_killed(true);
}
END_TEST

START_TEST(deadline_after_target_killed_fd)
{
	deadline_after_target_killed(false);
}
END_TEST

static int stall(void *ud, ckpt_notify *ev)
{
	(void)ev;
	msleep(*(long *)ud);
	return 0;
}

static char freezer_state(const char *cg)
{
	char path[512], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/freezer.state", cg);
	f = fopen(path, "re");
	if (!f)
		return '?';
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0];
}

/*
 * CRIU freezes the tree in its freezer cgroup and holds it at post-dump;
 * the deadline passes there and criu is killed. The tree must run on,
 * thawed, and a later dump must work.
 */
START_TEST(deadline_while_frozen_thaws)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("fzst"), *imgs = tmpdir_new("fzimg"), cg[256], path[300];
	long sleep_ms = 3000, v;
	pid_t pid;
	FILE *f;

	be_subreaper();
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/freezer/ckpt-test-%d", (int)getpid());
	ck_assert_int_eq(mkdir(cg, 0755), 0);
	pid = counter_start(dir, 1);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);

	ck_assert_ok(ckpt_client_set_timeout_ms(c, 2000, &err), err);
	ck_assert_ok(ckpt_client_set_notify(c, "post-dump", stall, &sleep_ms, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_str(o, CKPT_OPT_FREEZE_CGROUP, cg, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ETIMEDOUT);
	ck_assert_msg(err.flags & CKPT_ERR_F_OUTCOME_UNKNOWN, "flags 0x%x: %s", err.flags, err.msg);
	ck_assert_msg(!(err.flags & CKPT_ERR_F_TARGET_GONE), "flags 0x%x: %s", err.flags, err.msg);
	ck_assert(alive(pid));
	ck_assert_msg(freezer_state(cg) == 'T', "the freezer cgroup is left %c", freezer_state(cg));
	v = read_num(dir, "counter");
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);

	/* and it can be dumped afterwards */
	ckpt_client_set_notify(c, "post-dump", NULL, NULL, NULL);
	ckpt_client_set_timeout_ms(c, 60000, NULL);
	rm_rf(imgs);
	free(imgs);
	imgs = tmpdir_new("fzimg2");
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	kill_wait(pid);
	rmdir(cg);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

/* A counter in a network namespace of its own (orphaned to us, a subreaper): its pid. */
static pid_t counter_start_in_netns(const char *dir)
{
	pid_t pid = fork();
	FILE *f;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(126);
		counter_start(dir, 1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	f = popen("pgrep -n -x counter", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	pclose(f);
	return pid;
}

/* The nftables tables named CRIU-* in pid's network namespace. */
static int criu_tables_in(pid_t pid)
{
	char cmd[128];
	int n = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nsenter -t %d -n nft list tables | grep -c ' CRIU-'", (int)pid);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

struct lock_seen {
	pid_t pid;
	int tables;
};

/* At post-dump the network is locked: count CRIU's tables, then stall past the deadline. */
static int count_then_stall(void *ud, ckpt_notify *ev)
{
	struct lock_seen *l = ud;

	(void)ev;
	l->tables = criu_tables_in(l->pid);
	msleep(3000);
	return 0;
}

/*
 * A tree in its own network namespace, locked by CRIU with nftables, and the
 * deadline passes at post-dump: CRIU's lock table must not be left behind.
 */
START_TEST(deadline_while_locked_unlocks)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("nlst"), *imgs = tmpdir_new("nlimg");
	struct lock_seen seen = { 0, -1 };
	uint32_t mask;
	long v;

	be_subreaper();
	seen.pid = counter_start_in_netns(dir);
	ck_assert_ok(ckpt_client_set_timeout_ms(c, 2000, &err), err);
	ck_assert_ok(ckpt_client_set_notify(c, "post-dump", count_then_stall, &seen, &err), err);
	ck_assert_ok(ckpt_ns_mask_from_string("network", &mask, &err), err);
	ck_assert_ok(ckpt_opts_set_empty_ns(o, mask, &err), err);
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err),
		     err);
	ck_assert_ok(ckpt_opts_set_pid(o, seen.pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ETIMEDOUT);
	ck_assert_int_eq(seen.tables, 1); /* CRIU had locked it */
	ck_assert(alive(seen.pid));
	ck_assert_msg(criu_tables_in(seen.pid) == 0, "CRIU's lock table is left: %s", err.msg);
	/*
	 * The library removed the table ("was removed"), or CRIU did: it sees its socket close
	 * an instant before it is killed and may undo its own lock first (seen under ASan, where
	 * the library is slower). Either way no table is left, and the error never says one is.
	 */
	ck_assert_msg(!strstr(err.msg, "is left") && !strstr(err.msg, "could not be searched"),
		      "%s", err.msg);
	v = read_num(dir, "counter");
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	kill_wait(seen.pid);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. Only CRIU's own files are touched                                */
/* ------------------------------------------------------------------ */

/* A shell whose stdout is IMGS/out.log (0644, made by us), printing a number each 50 ms. */
static pid_t logger_start(const char *imgs)
{
	char log[512];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/out.log", imgs);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR),
		    out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setsid();
		fchmod(out, 0644);
		dup2(nul, 0);
		dup2(out, 1);
		dup2(nul, 2);
		syscall(__NR_close_range, 3, ~0U, 0); /* no glibc wrapper before 2.34 */
		execl("/bin/sh", "sh", "-c",
		      "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

START_TEST(stdout_in_images_dir)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("logimg"), log[512], inv[512];
	struct stat st;
	pid_t pid, restored;
	off_t size;

	be_subreaper();
	snprintf(log, sizeof(log), "%s/out.log", imgs);
	snprintf(inv, sizeof(inv), "%s/inventory.img", imgs);
	pid = logger_start(imgs);
	msleep(300);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	/* the shell and its sleep child, both killed by CRIU and ours to reap (we are their subreaper) */
	while (waitpid(-1, NULL, 0) > 0)
		;
	ck_assert_int_eq(stat(log, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0644, "out.log's mode was changed to %04o",
		      st.st_mode & 07777);
	ck_assert_int_eq(stat(inv, &st), 0); /* what CRIU made for this dump is owner-only */
	ck_assert_int_eq(st.st_mode & 077, 0);
	size = file_size(log);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	msleep(500);
	ck_assert_msg(file_size(log) > size, "the restored shell does not write to out.log");
	kill_wait(restored);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 7. The pty master without a notification callback                  */
/* ------------------------------------------------------------------ */

START_TEST(pts_master_without_callback)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("ptsimg2");
	pid_t pid, restored;
	int master, fd, fds;

	be_subreaper();
	pid = pty_shell_start("read x; echo got-$x; sleep 5", &master);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_SHELL_JOB, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	close(master);

	fds = count_fds();
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_ORPHAN_PTS_MASTER, true, &err), err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	fd = ckpt_client_take_pts_master(c);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ckpt_client_take_pts_master(c), -1); /* taken once */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(count_fds(), fds + 1);
	ck_assert_int_eq(write(fd, "hi\n", 3), 3);
	ck_assert_msg(pty_expect(fd, "got-hi"), "the restored shell did not answer on the pty");
	kill_wait(restored);
	close(fd);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

int main(void)
{
	RUN_TESTS("failpaths", 240, reaped_prepared_criu_then_free,
		  reaped_prepared_criu_then_request, failed_restore_no_zombie,
		  deadline_after_target_killed_path, deadline_after_target_killed_fd,
		  deadline_while_frozen_thaws, deadline_while_locked_unlocks, stdout_in_images_dir,
		  pts_master_without_callback);
}
