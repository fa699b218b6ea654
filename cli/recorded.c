/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt: the flags a restore needs as the dump had them, recorded beside the
 * images (CLI_RECORDED_FILE) and applied by `ckpt restore` unless given. The
 * file is read as untrusted input (an archive's may come from anyone): only
 * the flags of the table below are applied, each through the setter its flag
 * uses; anything else is named and ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt-cli.h"

static const struct {
	int c;
	const char *flag;
	bool value; /* takes a value */
} recordable[] = {
	{ OPT_TCP_ESTABLISHED, "--tcp-established", false },
	{ OPT_TCP_CLOSE, "--tcp-close", false },
	{ OPT_SHELL_JOB, "--shell-job", false },
	{ OPT_FILE_LOCKS, "--file-locks", false },
	{ OPT_EXT_UNIX_SK, "--ext-unix-sk", false },
	{ OPT_NETWORK_LOCK, "--network-lock", true },
	{ OPT_EMPTY_NS, "--empty-ns", true },
};
#define N_RECORDABLE (sizeof(recordable) / sizeof(recordable[0]))
#define MAX_RECORD 4096

static int recordable_index(int c)
{
	for (size_t i = 0; i < N_RECORDABLE; i++)
		if (recordable[i].c == c)
			return (int)i;
	return -1;
}

static bool given(const struct cli_criu_flags *f, int c)
{
	for (size_t i = 0; i < f->n_given; i++)
		if (f->given[i].c == c)
			return true;
	return false;
}

int cli_recorded_write(const char *images_dir, const struct cli_criu_flags *f)
{
	char text[MAX_RECORD];
	size_t len = 0;
	int dfd, fd, e = 0;

	len += (size_t)snprintf(text, sizeof(text),
				"# the flags of `ckpt checkpoint` a restore needs; `ckpt restore` "
				"applies them unless given\n");
	for (size_t i = 0; i < f->n_given; i++) {
		int k = recordable_index(f->given[i].c);

		if (k < 0 || len >= sizeof(text))
			continue;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s%s\n",
					recordable[k].flag, recordable[k].value ? " " : "",
					recordable[k].value ? f->given[i].arg : "");
	}
	if (len >= sizeof(text))
		return -E2BIG;
	dfd = open(images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	unlinkat(dfd, CLI_RECORDED_FILE, 0); /* one left by a dump this one replaced */
	fd = openat(dfd, CLI_RECORDED_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		e = errno ? errno : EIO;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	close(dfd);
	return -e;
}

/* The record's text into buf (NUL-terminated); false if there is none (or not a plain file). */
static bool read_record(int dirfd, char *buf, size_t size)
{
	int fd = openat(dirfd, CLI_RECORDED_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;
	struct stat st;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Each line of a record: its table index and value, or -1 for a line that is no recordable flag. */
static int parse_line(char *line, const char **value)
{
	char *sp = strchr(line, ' ');

	*value = NULL;
	if (sp) {
		*sp = '\0';
		*value = sp + 1;
	}
	for (size_t i = 0; i < N_RECORDABLE; i++)
		if (!strcmp(line, recordable[i].flag) && recordable[i].value == (*value != NULL))
			return (int)i;
	return -1;
}

bool cli_recorded_read(int dirfd, char *buf, size_t size)
{
	char text[MAX_RECORD], *save = NULL, *line;
	size_t len = 0;

	buf[0] = '\0';
	if (!read_record(dirfd, text, sizeof(text)))
		return false;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *v;
		int k;

		if (line[0] == '#' || !line[0] || (k = parse_line(line, &v)) < 0)
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s%s%s",
					len ? " " : "", recordable[k].flag, v ? " " : "",
					v ? v : "");
		if (len >= size)
			break;
	}
	return true;
}

int cli_recorded_apply(struct cli *cli, int dirfd, ckpt_opts *o, struct cli_criu_flags *f,
		       char *applied, size_t size)
{
	char text[MAX_RECORD], *save = NULL, *line;
	size_t len = 0;

	applied[0] = '\0';
	if (!read_record(dirfd, text, sizeof(text)))
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char whole[80];
		const char *v;
		int k, r;

		if (line[0] == '#' || !line[0])
			continue;
		snprintf(whole, sizeof(whole), "%s", line); /* parse_line cuts it at the value */
		if ((k = parse_line(line, &v)) < 0) {
			fprintf(stderr,
				"%s %s: warning: %s: '%s' is no flag a restore takes: ignored\n",
				cli->prog, cli->cmd, CLI_RECORDED_FILE, whole);
			continue;
		}
		if (given(f, recordable[k].c))
			continue; /* the command line wins */
		r = cli_criu_opt(cli, o, f, recordable[k].c, v);
		if (r < 0) {
			/* reported as the flag's; say where the value came from, and the way out */
			fprintf(stderr,
				"%s %s: that value is from %s beside the images, recorded at "
				"checkpoint (--ignore-recorded-flags skips it)\n",
				cli->prog, cli->cmd, CLI_RECORDED_FILE);
			return -r;
		}
		len += (size_t)snprintf(applied + len, len < size ? size - len : 0, "%s%s%s%s",
					len ? " " : "", recordable[k].flag, v ? " " : "",
					v ? v : "");
		if (len >= size)
			applied[size - 1] = '\0';
	}
	if (applied[0])
		cli_progress(cli,
			     "applying %s (recorded at checkpoint; --ignore-recorded-flags: not)",
			     applied);
	return 0;
}
