/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bench driver: ONE operation per invocation, so that the peak RSS
 * (getrusage(RUSAGE_SELF).ru_maxrss) and CPU time of the client are those of
 * that operation. Built twice from this file: bench_ckpt (links libckpt) and
 * bench_libcriu (links libcriu.so.2 from the private prefix, -DBENCH_LIBCRIU).
 *
 *   bench_X [--contender NAME] [--service SOCK] [--criu PATH] [--hold-mib N]
 *           [--prepare-ms N] [--verify WORKDIR] OP [ARGS]
 *
 * OP: version | check | feature-check | dump PID IMGDIR | dump-lr PID IMGDIR |
 *     restore IMGDIR
 * bench_ckpt only (helpers, not contenders):
 *     exec -- ARGV...          spawn ARGV, wait4 it: wall, its CPU and peak RSS
 *     spawn WORKDIR MIB        start the workload (setsid, stdio /dev/null),
 *                              wait for WORKDIR/checksum.start, print its pid
 *     stats IMGDIR             CRIU's stats-dump through ckpt_image_info_read_stats
 *     fill FILE                machine limit for restores: mmap anonymous memory
 *                              and read() FILE into it; prints MiB/s
 *     verify PID WORKDIR       the --verify check for a process restored by a CLI
 *     reaper -- ARGV...        PR_SET_CHILD_SUBREAPER, run ARGV, reap every orphan
 *
 * Prints one JSON line: {op, contender, wall_ms, client_cpu_ms, peak_rss_kib, ok, ...}.
 * --verify: after a restore (outside the timed region), SIGUSR1 the restored
 * pid and check that WORKDIR/checksum equals WORKDIR/checksum.start; ok is
 * false if it does not. The restored process is then killed and, if it is our
 * child, reaped; otherwise we wait until whoever is its parent has reaped it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_LIBCRIU
#include <criu/criu.h>
#else
#include <ckpt/ckpt.h>
#endif

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec * 1e3 + ru->ru_utime.tv_usec / 1e3 + ru->ru_stime.tv_sec * 1e3 +
	       ru->ru_stime.tv_usec / 1e3;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Wait until pid is gone (reaped by whoever is its parent), up to ms. */
static bool wait_gone(pid_t pid, int ms)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d", (int)pid);
	for (int i = 0; i < ms; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return true;
		if (access(p, F_OK) != 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* SIGUSR1 the restored pid; its checksum must equal checksum.start. Kills it after. */
static bool verify_restored(pid_t pid, const char *wdir, char *why, size_t whysz)
{
	char path[4096], start[64], sum[64];
	bool ok = false;

	snprintf(path, sizeof(path), "%s/checksum.start", wdir);
	if (read_file(path, start, sizeof(start)) < 0) {
		snprintf(why, whysz, "no %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/checksum", wdir);
	unlink(path); /* a stale one from an earlier run must not count */
	if (pid <= 0 || kill(pid, SIGUSR1) < 0) {
		snprintf(why, whysz, "restored pid %d: kill: %s", (int)pid, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/checksum", wdir);
	for (int i = 0; i < 30000; i++) { /* up to 30 s: 1 GiB checksum */
		if (read_file(path, sum, sizeof(sum)) == 0 && sum[0]) {
			ok = strcmp(sum, start) == 0;
			if (!ok)
				snprintf(why, whysz, "checksum %.20s != start %.20s", sum, start);
			goto out;
		}
		usleep(1000);
	}
	snprintf(why, whysz, "restored pid %d wrote no checksum", (int)pid);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		if (!wait_gone(pid, 10000) && ok) {
			ok = false;
			snprintf(why, whysz, "restored pid %d not reaped", (int)pid);
		}
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* The operation, through libckpt or libcriu                           */
/* ------------------------------------------------------------------ */

struct cfg {
	const char *service, *criu, *op, *imgdir;
	pid_t pid;
	int prepare_ms;
	char err[1024];
	pid_t restored;
	unsigned version;
	uint32_t features;
	double t_req; /* when the request itself starts */
	struct rusage ru_req;
};

static void mark_request(struct cfg *c)
{
	getrusage(RUSAGE_SELF, &c->ru_req);
	c->t_req = now_ms();
}

#ifdef BENCH_LIBCRIU
/* libcriu: the global-options API, as its users (crun) use it. */
static int run_op(struct cfg *c)
{
	int r, dfd = -1;

	if (criu_init_opts() < 0) {
		snprintf(c->err, sizeof(c->err), "criu_init_opts failed");
		return -1;
	}
	if (c->service)
		criu_set_service_address(c->service);
	/* else swrk: libcriu execlp()s "criu" from PATH (the runner puts ours first) */
	mark_request(c);

	if (!strcmp(c->op, "version")) {
		r = criu_get_version();
		if (r > 0)
			c->version = (unsigned)r;
	} else if (!strcmp(c->op, "check")) {
		r = criu_check();
	} else if (!strcmp(c->op, "feature-check")) {
		struct criu_feature_check f = { .mem_track = true,
						.lazy_pages = true,
						.pidfd_store = true };

		r = criu_feature_check(&f, sizeof(f));
		if (r == 0)
			c->features = (f.mem_track ? 1 : 0) | (f.lazy_pages ? 2 : 0) |
				      (f.pidfd_store ? 4 : 0);
	} else {
		dfd = open(c->imgdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (dfd < 0) {
			snprintf(c->err, sizeof(c->err), "open %s: %s", c->imgdir, strerror(errno));
			return -1;
		}
		criu_set_images_dir_fd(dfd);
		if (!strcmp(c->op, "restore")) {
			criu_set_log_file("restore.log");
			r = c->service ? criu_restore() : criu_restore_child();
			if (r > 0) {
				c->restored = r;
				r = 0;
			}
		} else {
			criu_set_log_file("dump.log");
			criu_set_pid(c->pid);
			criu_set_leave_running(!strcmp(c->op, "dump-lr"));
			r = criu_dump();
		}
		close(dfd);
	}
	if (r < 0)
		snprintf(c->err, sizeof(c->err), "libcriu: %d (%s)", r, strerror(-r));
	return r < 0 ? -1 : 0;
}
#else
static int run_op(struct cfg *c)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *cl = ckpt_client_new();
	ckpt_opts *o = NULL;
	int r;

	if (!cl)
		return -1;
	if (c->service)
		r = ckpt_client_set_service(cl, c->service, &err);
	else
		r = ckpt_client_set_criu_path(cl, c->criu, &err);
	if (r < 0)
		goto out;
	if (c->prepare_ms >= 0) {
		/* not timed: what a runtime does while the workload still runs */
		r = ckpt_client_prepare(cl, &err);
		if (r < 0)
			goto out;
		if (c->prepare_ms > 0)
			usleep((useconds_t)c->prepare_ms * 1000);
	}
	mark_request(c);

	if (!strcmp(c->op, "version")) {
		r = ckpt_criu_version(cl, &c->version, &err);
	} else if (!strcmp(c->op, "check")) {
		r = ckpt_check(cl, &err);
	} else if (!strcmp(c->op, "feature-check")) {
		r = ckpt_feature_check(cl,
				       CKPT_FEATURE_MEM_TRACK | CKPT_FEATURE_LAZY_PAGES |
					       CKPT_FEATURE_PIDFD_STORE,
				       &c->features, &err);
	} else {
		o = ckpt_opts_new();
		r = o ? ckpt_opts_set_images_dir(o, c->imgdir, &err) : CKPT_ENOMEM;
		if (r < 0)
			goto out;
		if (!strcmp(c->op, "restore")) {
			r = ckpt_restore(cl, o, &c->restored, &err);
		} else {
			r = ckpt_opts_set_pid(o, c->pid, &err);
			if (r == 0)
				r = ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING,
						       !strcmp(c->op, "dump-lr"), &err);
			if (r == 0)
				r = ckpt_dump(cl, o, &err);
		}
	}
out:
	if (r < 0)
		snprintf(c->err, sizeof(c->err), "libckpt: %s: %s %s", ckpt_strerror(r), err.msg,
			 err.criu_log);
	ckpt_opts_free(o);
	ckpt_client_free(cl);
	return r < 0 ? -1 : 0;
}
#endif

/* ------------------------------------------------------------------ */
/* Helpers (bench_ckpt only, but harmless in both)                     */
/* ------------------------------------------------------------------ */

static int do_exec(const char *contender, const char *op, char **argv)
{
	struct rusage ru;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;
	double t0, t1;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0) {
		fprintf(stderr, "bench: spawn %s: %s\n", argv[0], strerror(r));
		return 1;
	}
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	t0 = now_ms();
	if (r == 0)
		r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "bench: spawn %s: %s\n", argv[0], strerror(r));
		return 1;
	}
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	t1 = now_ms();
	printf("{\"op\":");
	json_str(op);
	printf(",\"contender\":");
	json_str(contender);
	printf(",\"wall_ms\":%.3f,\"client_cpu_ms\":%.3f,\"peak_rss_kib\":%ld,\"ok\":%s,\"exit\":%d}\n",
	       t1 - t0, cpu_ms(&ru), ru.ru_maxrss,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "true" : "false",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int do_spawn(const char *wl, const char *wdir, const char *mib)
{
	char path[4096], buf[64];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/checksum.start", wdir);
	unlink(path);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		execl(wl, wl, wdir, mib, "20", (char *)NULL);
		_exit(127);
	}
	/* Our exit orphans the workload: the subreaper above us adopts it. */
	for (int i = 0; i < 60000; i++) {
		if (read_file(path, buf, sizeof(buf)) == 0 && buf[0]) {
			printf("%d\n", (int)pid);
			return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	fprintf(stderr, "bench: workload did not start\n");
	kill(pid, SIGKILL);
	return 1;
}

static int do_fill(const char *file)
{
	struct stat sb;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	char *mem;
	size_t off = 0;
	double t0, t1;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return 1;
	t0 = now_ms();
	mem = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, mem + off, (size_t)sb.st_size - off);

		if (n <= 0)
			return 1;
		off += (size_t)n;
	}
	t1 = now_ms();
	printf("{\"fill_ms\":%.3f,\"bytes\":%lld,\"mib_s\":%.1f}\n", t1 - t0, (long long)sb.st_size,
	       sb.st_size / 1048576.0 / ((t1 - t0) / 1e3));
	munmap(mem, (size_t)sb.st_size);
	close(fd);
	return 0;
}

static int do_reaper(char **argv)
{
	pid_t pid, w;
	int st, rc = 1;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("bench reaper: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (w == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
	}
	return rc;
}

#ifndef BENCH_LIBCRIU
static int do_stats(const char *dir)
{
	ckpt_image_info *info = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	static const ckpt_image_stat keys[] = { CKPT_STAT_FREEZING_TIME, CKPT_STAT_FROZEN_TIME,
						CKPT_STAT_MEMDUMP_TIME, CKPT_STAT_MEMWRITE_TIME,
						CKPT_STAT_PAGES_WRITTEN };
	bool first = true;

	if (ckpt_image_info_read_stats(AT_FDCWD, dir, &info, &err) < 0) {
		printf("{\"error\":");
		json_str(err.msg);
		printf("}\n");
		return 0;
	}
	putchar('{');
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t v;

		if (ckpt_image_info_stat(info, keys[i], &v) == 0) {
			printf("%s\"%s\":%llu", first ? "" : ",", ckpt_image_stat_name(keys[i]),
			       (unsigned long long)v);
			first = false;
		}
	}
	printf("}\n");
	ckpt_image_info_free(info);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	struct cfg c = { .prepare_ms = -1 };
	const char *contender = NULL, *verify = NULL;
	long hold_mib = 0;
	struct rusage r0, r1;
	double t0, t1;
	char *hold = NULL;
	int i = 1, rc;
	bool ok;

	c.criu = getenv("CKPT_CRIU");
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(a, "--contender"))
			contender = argv[++i];
		else if (!strcmp(a, "--service"))
			c.service = argv[++i];
		else if (!strcmp(a, "--criu"))
			c.criu = argv[++i];
		else if (!strcmp(a, "--hold-mib"))
			hold_mib = atol(argv[++i]);
		else if (!strcmp(a, "--prepare-ms"))
			c.prepare_ms = atoi(argv[++i]);
		else if (!strcmp(a, "--verify"))
			verify = argv[++i];
		else
			goto usage;
	}
	if (i >= argc)
		goto usage;
	c.op = argv[i++];

	if (!strcmp(c.op, "exec") && i < argc)
		return do_exec(contender ? contender : "exec",
			       argv[i][0] == '-' ? argv[i] + 1 : "exec",
			       argv + i + (argv[i][0] == '-' ? 1 : 0));
	if (!strcmp(c.op, "spawn") && i + 2 < argc)
		return do_spawn(argv[i], argv[i + 1], argv[i + 2]);
	if (!strcmp(c.op, "fill") && i < argc)
		return do_fill(argv[i]);
	if (!strcmp(c.op, "verify") && i + 1 < argc) {
		char why[512] = "";
		bool v = verify_restored(atoi(argv[i]), argv[i + 1], why, sizeof(why));

		printf("{\"verified\":%s,\"why\":", v ? "true" : "false");
		json_str(why);
		printf("}\n");
		return 0;
	}
	if (!strcmp(c.op, "reaper") && i < argc)
		return do_reaper(argv + i);
#ifndef BENCH_LIBCRIU
	if (!strcmp(c.op, "stats") && i < argc)
		return do_stats(argv[i]);
#endif
	if (!strcmp(c.op, "dump") || !strcmp(c.op, "dump-lr")) {
		if (i + 1 >= argc)
			goto usage;
		c.pid = atoi(argv[i]);
		c.imgdir = argv[i + 1];
	} else if (!strcmp(c.op, "restore")) {
		if (i >= argc)
			goto usage;
		c.imgdir = argv[i];
	} else if (strcmp(c.op, "version") && strcmp(c.op, "check") &&
		   strcmp(c.op, "feature-check")) {
		goto usage;
	}
#ifdef BENCH_LIBCRIU
	if (!contender)
		contender = c.service ? "libcriu-service" : "libcriu-swrk";
#else
	if (!contender)
		contender = c.service ? "libckpt-service" : "libckpt-swrk";
#endif

	if (hold_mib > 0) { /* a big caller: touch every page so it is resident */
		size_t n = (size_t)hold_mib << 20;

		hold = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (hold == MAP_FAILED)
			return 1;
		for (size_t k = 0; k < n; k += 4096)
			hold[k] = (char)k | 1;
	}

	/* Timed from the request (after ckpt_client_prepare and its wait, if any). */
	rc = run_op(&c);
	t1 = now_ms();
	getrusage(RUSAGE_SELF, &r1);
	t0 = c.t_req ? c.t_req : t1;
	r0 = c.t_req ? c.ru_req : r1;
	ok = rc == 0;

	char why[512] = "";
	if (ok && verify && !strcmp(c.op, "restore"))
		ok = verify_restored(c.restored, verify, why, sizeof(why));
	else if (!ok && c.restored > 0)
		kill(c.restored, SIGKILL);

	printf("{\"op\":");
	json_str(c.op);
	printf(",\"contender\":");
	json_str(contender);
	printf(",\"wall_ms\":%.3f,\"client_cpu_ms\":%.3f,\"peak_rss_kib\":%ld,\"ok\":%s", t1 - t0,
	       cpu_ms(&r1) - cpu_ms(&r0), r1.ru_maxrss, ok ? "true" : "false");
	if (c.version)
		printf(",\"criu_version\":%u", c.version);
	if (!strcmp(c.op, "feature-check") && rc == 0)
		printf(",\"features\":%u", c.features);
	if (c.restored > 0)
		printf(",\"restored_pid\":%d", (int)c.restored);
	if (verify && !strcmp(c.op, "restore"))
		printf(",\"verified\":%s", ok ? "true" : "false");
	if (c.err[0] || why[0]) {
		printf(",\"error\":");
		json_str(c.err[0] ? c.err : why);
	}
	printf("}\n");
	munmap(hold, (size_t)hold_mib << 20);
	return 0;
usage:
	fprintf(stderr, "usage: see the comment at the top of bench/bench.c\n");
	return 2;
}
