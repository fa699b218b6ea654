/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers: monotonic time, bounded reads of small files, the PATH search. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int poll_ms_until(uint64_t deadline_us)
{
	uint64_t now, ms;

	if (!deadline_us)
		return -1;
	now = now_us();
	if (now >= deadline_us)
		return 0;
	ms = (deadline_us - now + 999) / 1000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int read_small_file_errno(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0, cap = 4096;
	char *buf, *nb;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int path_search_errno(const char *name, const char *path, char **ret)
{
	char buf[PATH_MAX];

	if (!path || !*path)
		path = CKPT_DEFAULT_PATH;
	while (*path) {
		size_t l = strcspn(path, ":");
		struct stat st;

		if (l > 0 && path[0] == '/' && l + strlen(name) + 2 <= sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, path, name);
			/* executable by us, judged by the effective ids as exec will (not access()) */
			if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) &&
			    faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0) {
				*ret = strdup(buf);
				return *ret ? 0 : -ENOMEM;
			}
		}
		path += l;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

int path_absolute_errno(const char *path, char **ret)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		*ret = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (asprintf(ret, "%s/%s", cwd, path) < 0)
			*ret = NULL;
	}
	return *ret ? 0 : -ENOMEM;
}

void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
