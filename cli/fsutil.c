/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: small file and directory helpers (no library state involved). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

/* The parent pid and name of pid from /proc/PID/stat; -1 if it cannot be read. */
static pid_t parent_of(pid_t pid, char *name, size_t size)
{
	char path[64], buf[512], *open_, *close_;
	int ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	open_ = strchr(buf, '(');
	close_ = strrchr(buf, ')');
	if (!open_ || !close_ || close_ < open_ || sscanf(close_ + 1, " %*c %d", &ppid) != 1)
		return -1;
	snprintf(name, size, "%.*s", (int)(close_ - open_ - 1), open_ + 1);
	return ppid;
}

int cli_refuse_own_tree(struct cli *cli, pid_t pid)
{
	char name[64] = "", up_name[64];
	pid_t p = getpid();

	if (pid <= 1)
		return 0; /* init: the library refuses it, as init */
	if (pid == p)
		return cli_fail(cli, EXIT_FAILED,
				"refused: pid %d is this ckpt itself (nothing was frozen)",
				(int)pid);
	for (int depth = 0; p > 1 && depth < 4096; depth++) {
		p = parent_of(p, up_name, sizeof(up_name));
		if (p == pid) {
			parent_of(pid, name, sizeof(name));
			fprintf(stderr,
				"%s %s: refused: pid %d ('%s') is an ancestor of this ckpt: its tree "
				"holds ckpt and the criu it runs (nothing was frozen)\n"
				"hint: Checkpoint a process tree of its own: start the program in a "
				"session of its own (setsid) or in a container, and give the pid of its "
				"root.\n",
				cli->prog, cli->cmd, (int)pid, name);
			return EXIT_FAILED;
		}
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int cli_rm_tree(const char *path)
{
	/* depth first, never following a symlink out of the tree, not crossing mounts */
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
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
