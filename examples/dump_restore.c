/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main job, end to end: start a counter process, checkpoint it with
 * libckpt (the process is gone), restore it, and watch it carry on counting
 * from where it was.
 *
 *   dump_restore [IMAGES_DIR]
 *
 * criu is found through $CKPT_CRIU or $PATH (scripts/provision-criu.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ckpt/ckpt.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The process we checkpoint: counts ten times a second into a file. */
static void counter(const char *file)
{
	unsigned long n = 0;

	for (;;) {
		FILE *f = fopen(file, "w");

		if (f) {
			fprintf(f, "%lu\n", ++n);
			fclose(f);
		}
		sleep_ms(100);
	}
}

static long read_counter(const char *file)
{
	long v = -1;
	FILE *f = fopen(file, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int fail(const char *what, const ckpt_err *err)
{
	fprintf(stderr, "%s failed: %s\n", what, err->msg);
	if (err->criu_log[0])
		fprintf(stderr, "CRIU's log says:\n%s\n", err->criu_log);
	return 1;
}

int main(int argc, char **argv)
{
	char images[] = "/tmp/ckpt-demo-XXXXXX", file[128];
	const char *dir = argc > 1 ? argv[1] : mkdtemp(images);
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client;
	ckpt_opts *opts;
	unsigned version;
	pid_t pid, restored;
	long before, after;

	if (!dir || (argc > 1 && mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		perror("images dir");
		return 1;
	}
	/* Reap the dumped tree at once, as runc does (PID 1 may be slow to). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(file, sizeof(file), "%s.counter", dir);

	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid(); /* its own session, no terminal: an ordinary daemon-like process */
		dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		counter(file);
	}
	sleep_ms(1500);

	client = ckpt_client_new();
	opts = ckpt_opts_new();
	if (!client || !opts)
		return 1;
	if (ckpt_criu_version(client, &version, &err) < 0)
		return fail("criu version", &err);
	printf("libckpt %s, CRIU %u.%u.%u\n", ckpt_version(), version / 10000, version / 100 % 100,
	       version % 100);

	before = read_counter(file);
	printf("counter process %d is running: count %ld\n", (int)pid, before);
	if (ckpt_opts_set_pid(opts, pid, &err) < 0 || ckpt_opts_set_images_dir(opts, dir, &err) < 0)
		return fail("options", &err);
	if (ckpt_dump(client, opts, &err) < 0) {
		kill(pid, SIGKILL);
		return fail("checkpoint", &err);
	}
	waitpid(pid, NULL, 0);
	before = read_counter(file);
	printf("checkpointed into %s at count %ld; process %d is gone (kill -0: %s)\n", dir, before,
	       (int)pid, kill(pid, 0) < 0 ? "no such process" : "still there!");
	sleep_ms(1000);
	printf("one second later the count is still %ld\n", read_counter(file));

	if (ckpt_restore(client, opts, &restored, &err) < 0)
		return fail("restore", &err);
	printf("restored as pid %d\n", (int)restored);
	sleep_ms(1000);
	after = read_counter(file);
	printf("one second later the count is %ld: it carried on from %ld\n", after, before);

	kill(restored, SIGKILL);
	waitpid(restored, NULL, 0);
	ckpt_opts_free(opts);
	ckpt_client_free(client);
	unlink(file);
	if (after <= before || after > before + 50) {
		fprintf(stderr, "the restored process did not carry on as expected\n");
		return 1;
	}
	printf("done: the process was checkpointed, restored, and carried on.\n");
	return 0;
}
