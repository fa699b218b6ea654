/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_archive: one ckpt_archive_write of an images dir, or one
 * ckpt_archive_extract of an archive, timed.
 *   bench_archive IMAGES_DIR OUT LEVEL [THREADS [nosync]]
 *   bench_archive --extract ARCHIVE DEST_DIR   (the extracted dir is removed after)
 * Prints one JSON line: {"wall_s", "cpu_s", "in_bytes", "out_bytes"}.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <ckpt/ckpt.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long long dir_bytes(const char *dir)
{
	unsigned long long n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;

	while (d && (de = readdir(d)))
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			n += (unsigned long long)st.st_size;
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	ckpt_archive_write_opts o;
	ckpt_err err = CKPT_ERR_INIT;
	struct rusage ru;
	struct stat st;
	double t0, t1;

	ckpt_archive_write_opts_init(&o);
	if (argc == 4 && !strcmp(argv[1], "--extract")) {
		ckpt_archive *a = NULL;

		t0 = now();
		if (ckpt_archive_extract(argv[2], NULL, argv[3], 0, &a, &err) < 0) {
			fprintf(stderr, "bench_archive: %s\n", err.msg);
			return 1;
		}
		t1 = now();
		getrusage(RUSAGE_SELF, &ru);
		printf("{\"wall_s\": %.4f, \"cpu_s\": %.4f, \"in_bytes\": %llu, \"out_bytes\": %llu}\n",
		       t1 - t0,
		       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
			       ru.ru_stime.tv_usec / 1e6,
		       (unsigned long long)ckpt_archive_get_size(a, CKPT_ARCHIVE_SIZE_FILE),
		       (unsigned long long)ckpt_archive_get_size(a, CKPT_ARCHIVE_SIZE_EXPANDED));
		ckpt_archive_remove(a, NULL);
		ckpt_archive_free(a);
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: bench_archive IMAGES_DIR OUT LEVEL [THREADS]\n");
		return 2;
	}
	o.level = atoi(argv[3]);
	o.threads = argc > 4 ? (unsigned)atoi(argv[4]) : 0;
	o.no_fsync = argc > 5 && !strcmp(argv[5], "nosync");
	o.overwrite = true;
	t0 = now();
	if (ckpt_archive_write(AT_FDCWD, argv[1], argv[2], &o, &err) < 0) {
		fprintf(stderr, "bench_archive: %s\n", err.msg);
		return 1;
	}
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	if (stat(argv[2], &st) < 0)
		return 1;
	printf("{\"wall_s\": %.4f, \"cpu_s\": %.4f, \"in_bytes\": %llu, \"out_bytes\": %lld}\n",
	       t1 - t0,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6,
	       dir_bytes(argv[1]), (long long)st.st_size);
	return 0;
}
