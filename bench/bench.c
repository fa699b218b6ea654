/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bench driver: ONE operation per invocation, so that the peak RSS
 * (getrusage(RUSAGE_SELF).ru_maxrss) and CPU time of the client are those of
 * that operation. Built twice from this file: bench_ckpt (links libckpt) and
 * bench_libcriu (links libcriu.so.2 from the private prefix, -DBENCH_LIBCRIU).
 *
 *   bench_X [--contender NAME] [--service SOCK] [--criu PATH] [--hold-mib N]
 *           [--prepare-ms N] [--verify WORKDIR] [--ckpt PATH] OP [ARGS]
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
 *     serve WORKDIR MIB PORT   the HTTP workload: fills MIB of memory like the
 *                              counter, writes WORKDIR/checksum.start once it
 *                              listens on 127.0.0.1:PORT; GET / answers "ok" and
 *                              the checksum of 16 pages spread over the memory,
 *                              GET /sum the checksum of all of it
 *     spawn-server WORKDIR MIB PORT   start `serve` like spawn, print its pid
 *     restore-kind KIND IMGDIR WORKDIR PORT
 *                              drop the page cache, restore the dumped server of
 *                              IMGDIR one way, time it to running, to its first
 *                              HTTP answer, to every page in; then check GET
 *                              /sum against WORKDIR/checksum.start and kill it.
 *                              KIND: libckpt-plain (ckpt_restore), libckpt-lazy
 *                              (ckpt_restore_lazy, if built with it), criu-cli-plain
 *                              (criu restore -d), criu-cli-lazy (criu lazy-pages
 *                              beside criu restore --lazy-pages -d), ckpt-cli-lazy
 *                              (ckpt restore --lazy -d; --ckpt PATH)
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
	const char *service, *criu, *op, *imgdir, *ckpt_cli;
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

/* Start argv (setsid, stdio /dev/null), wait for WORKDIR/checksum.start, print its pid. */
static int do_spawn(const char *wdir, char **argv)
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
		execv(argv[0], argv);
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

/* ------------------------------------------------------------------ */
/* The HTTP workload and the kinds of restore (issue 22)               */
/* ------------------------------------------------------------------ */

/* The counter's checksum (tests/helpers/counter.c): FNV-1a over 64-bit words. */
static uint64_t mem_sum(const uint64_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

#define SUM_SEED 1469598103934665603ull

static void answer(int fd, const uint64_t *mem, size_t n)
{
	char req[1024], body[96], out[256];
	size_t got = 0;
	ssize_t k;
	int len;

	while (got + 1 < sizeof(req) && (k = read(fd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)k;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = 0;
	if (!strncmp(req, "GET /sum ", 9)) {
		snprintf(body, sizeof(body), "%llu\n",
			 (unsigned long long)mem_sum(mem, n, SUM_SEED));
	} else {
		/* 16 pages spread over the memory: a few faults, as a real answer would take */
		uint64_t h = SUM_SEED;
		size_t words = 4096 / sizeof(uint64_t), pages = n / words;

		for (size_t i = 0; i < 16 && pages; i++)
			h = mem_sum(mem + (pages * i / 16) * words, words, h);
		snprintf(body, sizeof(body), "ok %016llx\n", (unsigned long long)h);
	}
	len = snprintf(out, sizeof(out),
		       "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       strlen(body), body);
	if (write(fd, out, (size_t)len) < 0)
		return;
}

static int do_serve(const char *wdir, size_t mib, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *mem, x = 0x9E3779B97F4A7C15ull;
	char path[4096], tmp[4096], buf[64];
	int one = 1, lfd, fd;

	signal(SIGPIPE, SIG_IGN);
	mem = mmap(NULL, n ? n * sizeof(uint64_t) : 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++) { /* xorshift64, as the counter: incompressible */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mem[i] = x;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 64) < 0)
		return 1;
	/* Ready once it listens: checksum.start, written whole (rename). */
	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)mem_sum(mem, n, SUM_SEED));
	snprintf(path, sizeof(path), "%s/checksum.start", wdir);
	snprintf(tmp, sizeof(tmp), "%s/.checksum.start.tmp", wdir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		return 1;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* EINTR, ECONNABORTED: keep serving */
		answer(fd, mem, n);
		close(fd);
	}
}

#ifndef BENCH_LIBCRIU
/* One GET on 127.0.0.1:port; 0 with the body in buf if answered 200, -1 if not (yet). */
static int http_get(int port, const char *what, char *buf, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 60, 0 };
	char req[128];
	size_t got = 0;
	ssize_t k;
	char *body;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), len;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", what);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	while (got + 1 < size && (k = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	buf[got] = 0;
	body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.0 200 ", 13) || !body)
		return -1;
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return 0;
}

/* posix_spawn argv, stdin and stdout on /dev/null, fd3 (if >= 0) as its fd 3. */
static pid_t spawn_fd3(char **argv, int fd3, int out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = out >= 0 ? posix_spawn_file_actions_adddup2(&fa, out, 1) :
			       posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (r == 0 && fd3 >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	if (r == 0)
		r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r == 0 ? pid : -1;
}

static int wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A pipe whose ends are above fd 3, close-on-exec (the child gets one as fd 3 or 1). */
static int pipe_high(int p[2])
{
	int q[2];

	if (pipe2(q, O_CLOEXEC) < 0)
		return -1;
	p[0] = fcntl(q[0], F_DUPFD_CLOEXEC, 10);
	p[1] = fcntl(q[1], F_DUPFD_CLOEXEC, 10);
	close(q[0]);
	close(q[1]);
	return p[0] < 0 || p[1] < 0 ? -1 : 0;
}

static int drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, "3\n", 2) != 2) {
		close(fd);
		return -1;
	}
	return close(fd);
}

struct kind_run {
	const char *kind, *img, *wdir;
	int port;
	pid_t pid, daemon;
	double t0, t_run, t_all;
	uint64_t lazy_done, lazy_total;
	char err[1024];
};

static void set_err(struct kind_run *k, const char *what, int r)
{
	if (!k->err[0])
		snprintf(k->err, sizeof(k->err), "%s: %d", what, r);
}

static int read_pid(const char *path)
{
	char buf[32];

	return read_file(path, buf, sizeof(buf)) == 0 ? atoi(buf) : 0;
}

/* criu restore -d, alone or beside criu lazy-pages (they meet at W/lazy-pages.socket). */
static int kind_criu_cli(struct kind_run *k, const char *criu, bool lazy)
{
	char w[4096], pidf[4096], fd3[] = "3";
	/* plain: the NULL after pidf ends it; lazy: --lazy-pages -W w follow */
	char *rs[] = { (char *)criu,
		       "restore",
		       "-d",
		       "-D",
		       (char *)k->img,
		       "-o",
		       "restore.log",
		       "--pidfile",
		       pidf,
		       lazy ? "--lazy-pages" : NULL,
		       "-W",
		       w,
		       NULL };
	int p[2] = { -1, -1 }, r;
	pid_t rp;
	char ready;

	snprintf(w, sizeof(w), "%s/lazy-w", k->wdir);
	snprintf(pidf, sizeof(pidf), "%s/restored.pid", k->wdir);
	mkdir(w, 0700);
	unlink(pidf);
	if (lazy) {
		char sock[4200];
		char *lp[] = { (char *)criu,  "lazy-pages",
			       "-D",	      (char *)k->img,
			       "-W",	      w,
			       "-o",	      "lazy-pages.log",
			       "--status-fd", fd3,
			       NULL };

		snprintf(sock, sizeof(sock), "%s/lazy-pages.socket", w);
		unlink(sock);
		if (pipe_high(p) < 0)
			return -1;
		k->t0 = now_ms();
		k->daemon = spawn_fd3(lp, p[1], -1);
		close(p[1]);
		/* --status-fd: a \0 once it listens on the socket */
		r = k->daemon > 0 && read(p[0], &ready, 1) == 1 ? 0 : -1;
		close(p[0]);
		if (r < 0) {
			set_err(k, "criu lazy-pages did not come up (see lazy-w/lazy-pages.log)",
				r);
			return -1;
		}
	} else {
		k->t0 = now_ms();
	}
	rp = spawn_fd3(rs, -1, -1);
	r = rp > 0 ? wait_exit(rp) : -1;
	k->t_run = now_ms();
	k->pid = read_pid(pidf);
	if (r != 0) {
		set_err(k, "criu restore exit", r);
		return -1;
	}
	return 0;
}

/* ckpt restore --lazy -d: prints the pid once the tree runs, exits once every page is in. */
static int kind_ckpt_cli(struct kind_run *k, const char *ckpt, const char *criu)
{
	char *rs[] = { (char *)ckpt,   "--criu",       (char *)criu, "restore", "--lazy",
		       "--image-path", (char *)k->img, "-d",	     NULL };
	char line[256];
	size_t got = 0;
	ssize_t n;
	int p[2];

	if (pipe_high(p) < 0)
		return -1;
	k->t0 = now_ms();
	k->daemon = spawn_fd3(rs, -1, p[1]);
	close(p[1]);
	while (got + 1 < sizeof(line) && (n = read(p[0], line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		line[got] = 0;
		if (strchr(line, '\n'))
			break;
	}
	k->t_run = now_ms();
	close(p[0]); /* the rest of its output: none expected */
	line[got] = 0;
	k->pid = (pid_t)strtol(line + strcspn(line, "0123456789"), NULL, 10);
	if (k->daemon <= 0 || k->pid <= 0) {
		set_err(k, "ckpt restore --lazy printed no pid", (int)got);
		return -1;
	}
	return 0;
}

static int kind_libckpt(struct kind_run *k, struct cfg *c, bool lazy, void **lazy_ret)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *cl = ckpt_client_new();
	ckpt_opts *o = ckpt_opts_new();
	int r = cl && o ? 0 : CKPT_ENOMEM;

	if (r == 0)
		r = ckpt_client_set_criu_path(cl, c->criu, &err);
	if (r == 0)
		r = ckpt_opts_set_images_dir(o, k->img, &err);
	if (r == 0) {
		k->t0 = now_ms();
		if (!lazy) {
			r = ckpt_restore(cl, o, &k->pid, &err);
		} else {
#ifdef BENCH_HAVE_LAZY
			ckpt_lazy *l = NULL;

			r = ckpt_restore_lazy(cl, o, &k->pid, &l, &err);
			*lazy_ret = l;
#else
			(void)lazy_ret;
			snprintf(err.msg, sizeof(err.msg),
				 "built without ckpt_restore_lazy (include/ckpt has no such API)");
			r = CKPT_EINVAL;
#endif
		}
		k->t_run = now_ms();
	}
	if (r < 0)
		snprintf(k->err, sizeof(k->err), "libckpt: %s: %s %s", ckpt_strerror(r), err.msg,
			 err.criu_log);
	ckpt_opts_free(o);
	ckpt_client_free(cl);
	return r < 0 ? -1 : 0;
}

static int do_restore_kind(struct cfg *c, const char *kind, const char *img, const char *wdir,
			   int port)
{
	struct kind_run k = { .kind = kind, .img = img, .wdir = wdir, .port = port };
	bool lazy = strstr(kind, "-lazy") != NULL, dropped, verified = false;
	char buf[512], start[64], path[4096];
	void *lz = NULL;
	double t_ans = 0;
	int r;

	/* CLI-restored trees are orphaned when the CLI exits: we adopt and reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	dropped = drop_caches() == 0;
	if (!strcmp(kind, "libckpt-plain") || !strcmp(kind, "libckpt-lazy"))
		r = kind_libckpt(&k, c, lazy, &lz);
	else if (!strcmp(kind, "criu-cli-plain") || !strcmp(kind, "criu-cli-lazy"))
		r = kind_criu_cli(&k, c->criu, lazy);
	else if (!strcmp(kind, "ckpt-cli-lazy") && c->ckpt_cli)
		r = kind_ckpt_cli(&k, c->ckpt_cli, c->criu);
	else
		return fprintf(stderr, "bench: restore-kind: unknown kind %s\n", kind), 2;

	if (r == 0) { /* the first answer: connect + GET in a tight loop */
		for (int i = 0; i < 600000; i++) {
			if (http_get(port, "/", buf, sizeof(buf)) == 0) {
				t_ans = now_ms();
				break;
			}
			usleep(100);
		}
		if (!t_ans) {
			set_err(&k, "no HTTP answer within 60 s", 0);
			r = -1;
		}
	}
	if (r == 0 && lazy) { /* every page in */
		if (!strcmp(kind, "libckpt-lazy")) {
#ifdef BENCH_HAVE_LAZY
			ckpt_err err = CKPT_ERR_INIT;
			int w = ckpt_lazy_wait(lz, 300000, &err);

			k.t_all = now_ms();
			ckpt_lazy_progress(lz, &k.lazy_done, &k.lazy_total);
			if (w != 0) {
				snprintf(k.err, sizeof(k.err), "ckpt_lazy_wait: %d: %s", w,
					 err.msg);
				r = -1;
			}
#endif
		} else {
			int x = wait_exit(
				k.daemon); /* criu lazy-pages / ckpt -d: exits when done */

			k.t_all = now_ms();
			k.daemon = 0;
			if (x != 0) {
				set_err(&k,
					!strncmp(kind, "criu", 4) ? "criu lazy-pages exit" :
								    "ckpt restore --lazy -d exit",
					x);
				r = -1;
			}
		}
	} else {
		k.t_all = k.t_run;
	}
	if (r == 0) { /* outside the clock: all of the memory as before the dump */
		snprintf(path, sizeof(path), "%s/checksum.start", wdir);
		if (read_file(path, start, sizeof(start)) < 0)
			set_err(&k, "no checksum.start", 0);
		else if (http_get(port, "/sum", buf, sizeof(buf)) < 0)
			set_err(&k, "GET /sum failed", 0);
		else if (strcmp(buf, start))
			snprintf(k.err, sizeof(k.err), "checksum %.20s != start %.20s", buf, start);
		else
			verified = true;
	}
	if (k.pid > 0) {
		kill(k.pid, SIGKILL);
		if (!wait_gone(k.pid, 10000))
			set_err(&k, "restored server not reaped", (int)k.pid);
	}
	if (k.daemon > 0) {
		kill(k.daemon, SIGKILL);
		wait_exit(k.daemon);
	}
#ifdef BENCH_HAVE_LAZY
	ckpt_lazy_free(lz);
#endif
	while (waitpid(-1, NULL, WNOHANG) > 0) /* anything else we adopted */
		;

	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"op\":\"restore-kind\",\"contender\":");
	json_str(kind);
	printf(",\"ok\":%s,\"verified\":%s,\"dropped_caches\":%s",
	       r == 0 && verified ? "true" : "false", verified ? "true" : "false",
	       dropped ? "true" : "false");
	if (r == 0)
		printf(",\"wall_ms\":%.3f,\"running_ms\":%.3f,\"first_answer_ms\":%.3f,"
		       "\"all_pages_ms\":%.3f",
		       k.t_run - k.t0, k.t_run - k.t0, t_ans - k.t0, k.t_all - k.t0);
	if (k.lazy_total)
		printf(",\"lazy_done_bytes\":%llu,\"lazy_total_bytes\":%llu",
		       (unsigned long long)k.lazy_done, (unsigned long long)k.lazy_total);
	printf(",\"peak_rss_kib\":%ld", ru.ru_maxrss);
	if (k.err[0]) {
		printf(",\"error\":");
		json_str(k.err);
	}
	printf("}\n");
	return 0;
}
#endif

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
		else if (!strcmp(a, "--ckpt"))
			c.ckpt_cli = argv[++i];
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
	if (!strcmp(c.op, "spawn") && i + 2 < argc) {
		char *wl[] = { argv[i], argv[i + 1], argv[i + 2], "20", NULL };

		return do_spawn(argv[i + 1], wl);
	}
	if (!strcmp(c.op, "spawn-server") && i + 2 < argc) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *sv[] = { self, "serve", argv[i], argv[i + 1], argv[i + 2], NULL };

		if (n <= 0)
			return 1;
		self[n] = 0;
		return do_spawn(argv[i], sv);
	}
	if (!strcmp(c.op, "serve") && i + 2 < argc)
		return do_serve(argv[i], strtoul(argv[i + 1], NULL, 10), atoi(argv[i + 2]));
#ifndef BENCH_LIBCRIU
	if (!strcmp(c.op, "restore-kind") && i + 3 < argc)
		return do_restore_kind(&c, argv[i], argv[i + 1], argv[i + 2], atoi(argv[i + 3]));
#endif
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
