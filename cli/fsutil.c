/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: small file and directory helpers (no library state involved). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt-cli.h"

uint64_t cli_dir_bytes(const char *path)
{
	struct dirent *de;
	uint64_t total = 0;
	DIR *d = opendir(path);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static int write_pid_file(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	fprintf(f, "%d", (int)pid);
	{
		int e = fchmod(fd, 0644) < 0 ? errno : 0;

		if (fclose(f) != 0 && !e)
			e = errno;
		if (!e && rename(tmp, path) < 0)
			e = errno;
		if (e) {
			unlink(tmp);
			return -e;
		}
	}
	return 0;
}

void cli_write_pid_file(struct cli *cli, const char *path, pid_t pid)
{
	int e = write_pid_file(path, pid);

	if (e < 0)
		fprintf(stderr, "%s %s: warning: --pid-file '%s': %s\n", cli->prog, cli->cmd, path,
			cli_strerror(-e));
}
