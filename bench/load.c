/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest program that links the library: what loading it costs a caller.
 * Built twice: bench_load_ckpt (libckpt) and bench_load_libcriu (libcriu.so.2,
 * -DBENCH_LIBCRIU). run.sh times each from exec to exit and takes its peak RSS
 * from wait4() (bench_ckpt --capture exec).
 *
 *   bench_load_X                 one trivial call, no CRIU (ckpt_version /
 *                                criu_init_opts + criu_free_opts)
 *   bench_load_X version [SOCK]  ask CRIU for its version: over swrk (libckpt
 *                                spawns $CKPT_CRIU, libcriu execlp()s "criu"
 *                                from PATH), or over the service at SOCK
 *
 * bench_exec_timer ARGV... (-DBENCH_TIMER, links no library): spawns ARGV with its
 * stdout on a pipe, wait4()s it, prints {"wall_ms", "peak_rss_kib" (ru_maxrss),
 * "client_cpu_ms", "ok", "child": the program's line}. It is the spawner of the
 * load rows because it is smaller than either program: its own RSS is the floor
 * of the child's ru_maxrss (see below), and that floor must not hide the library.
 *
 * The program prints one JSON line: {"hwm_kib":N,"ok":bool}: VmHWM from /proc/self/status,
 * the peak RSS of this program's own memory since exec. wait4()'s ru_maxrss,
 * which run.sh also records, is never below the spawner's RSS (Linux carries
 * the high-water mark of the memory an execve() replaces into ru_maxrss) and
 * includes the criu swrk child it reaped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BENCH_TIMER
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	char out[512] = "";
	int p[2], st, r;
	ssize_t n;
	pid_t pid;
	double t0, t1;

	if (argc < 2 || pipe2(p, O_CLOEXEC) < 0 || posix_spawn_file_actions_init(&fa) != 0)
		return 2;
	r = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	t0 = now_ms();
	if (r == 0)
		r = posix_spawn(&pid, argv[1], &fa, NULL, argv + 1, environ);
	if (r != 0) {
		fprintf(stderr, "bench_exec_timer: %s: %s\n", argv[1], strerror(r));
		return 1;
	}
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	t1 = now_ms();
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1); /* after the clock: one short line */
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
	printf("{\"wall_ms\":%.3f,\"client_cpu_ms\":%.3f,\"peak_rss_kib\":%ld,\"ok\":%s", t1 - t0,
	       ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
		       ru.ru_stime.tv_usec / 1e3,
	       ru.ru_maxrss, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "true" : "false");
	if (out[0] == '{' && out[strlen(out) - 1] == '}')
		printf(",\"child\":%s", out);
	printf("}\n");
	return 0;
}
#else /* the program */

#ifdef BENCH_LIBCRIU
#include <criu/criu.h>
#else
#include <ckpt/ckpt.h>
#endif

#ifdef BENCH_LIBCRIU
static int trivial(void)
{
	if (criu_init_opts() < 0)
		return -1;
	criu_free_opts();
	return 0;
}

static int version(const char *sock)
{
	int v;

	if (criu_init_opts() < 0)
		return -1;
	if (sock)
		criu_set_service_address(sock);
	v = criu_get_version();
	criu_free_opts();
	return v > 0 ? 0 : -1;
}
#else
static int trivial(void)
{
	return ckpt_version()[0] ? 0 : -1;
}

static int version(const char *sock)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *c = ckpt_client_new();
	unsigned v = 0;
	int r;

	if (!c)
		return -1;
	if (sock)
		r = ckpt_client_set_service(c, sock, &err);
	else
		r = ckpt_client_set_criu_path(c, getenv("CKPT_CRIU"), &err);
	if (r == 0)
		r = ckpt_criu_version(c, &v, &err);
	ckpt_client_free(c);
	return r;
}
#endif

static long vm_hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1 && !strcmp(argv[1], "version"))
		r = version(argc > 2 ? argv[2] : NULL);
	else
		r = trivial();
	printf("{\"hwm_kib\":%ld,\"ok\":%s}\n", vm_hwm_kib(), r == 0 ? "true" : "false");
	return r == 0 ? 0 : 1;
}
#endif /* BENCH_TIMER */
