/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A main() for the fuzz targets in ordinary builds (any compiler): runs every
 * file named on the command line (directories: every regular file in them)
 * through LLVMFuzzerTestOneInput once. A crash or sanitizer report fails the
 * test; a file that cannot be read does too.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "cannot open %s\n", path);
		return 1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return 1;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		fprintf(stderr, "short read on %s\n", path);
		free(buf);
		return 1;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0, count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int n = scandir(argv[i], &ents, NULL, alphasort);

			for (int j = 0; j < n; j++) {
				char p[4096];

				if (ents[j]->d_name[0] != '.') {
					snprintf(p, sizeof(p), "%s/%s", argv[i], ents[j]->d_name);
					failed |= run_file(p);
					count++;
				}
				free(ents[j]);
			}
			if (n >= 0)
				free(ents);
			else
				failed = 1;
		} else {
			failed |= run_file(argv[i]);
			count++;
		}
	}
	printf("%d inputs run\n", count);
	return failed || count == 0;
}
