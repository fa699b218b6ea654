/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* glibc fallbacks: calls newer than glibc 2.31, chosen by CMake checks (CKPT_HAVE_*). */
#ifndef CKPT_COMPAT_H
#define CKPT_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Namespace flags older glibc headers lack (CLONE_NEWTIME: glibc 2.36, Linux 5.6). */
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/*
 * The fallback of compat_spawn_closefrom (below), compiled everywhere so the unit tests run
 * it on any glibc. posix_spawn runs no code of ours in the child, so it closes there what is
 * open here now: one close action for every fd >= lowfd that is open in this process without
 * FD_CLOEXEC (the others close at exec anyway), listed from fd_dir (/proc/self/fd) or, when
 * that cannot be read, probed with fcntl(F_GETFD) up to RLIMIT_NOFILE. An fd that another
 * thread opens without O_CLOEXEC after this call and before posix_spawn can still reach the
 * child; libckpt's own fds are all CLOEXEC. Returns 0 or an errno value, as the
 * posix_spawn_file_actions_* calls do.
 */
static inline int compat_closefrom_actions(posix_spawn_file_actions_t *fa, int lowfd,
					   const char *fd_dir)
{
	struct rlimit rl;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (lowfd < 0)
		return EBADF;
	d = opendir(fd_dir); /* O_CLOEXEC: glibc's opendir sets it */
	if (d) {
		while (r == 0 && (de = readdir(d))) {
			char *end;
			long fd = strtol(de->d_name, &end, 10);
			int flags;

			if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || fd < lowfd ||
			    fd == dirfd(d))
				continue;
			flags = fcntl((int)fd, F_GETFD);
			if (flags >= 0 && !(flags & FD_CLOEXEC))
				r = posix_spawn_file_actions_addclose(fa, (int)fd);
		}
		closedir(d);
		return r;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (1u << 20))
		rl.rlim_cur = 1u << 20;
	for (int fd = lowfd; r == 0 && fd < (int)rl.rlim_cur; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags >= 0 && !(flags & FD_CLOEXEC))
			r = posix_spawn_file_actions_addclose(fa, fd);
	}
	return r;
}

/*
 * A file action that closes every fd >= lowfd in the child:
 * posix_spawn_file_actions_addclosefrom_np (glibc 2.34), else compat_closefrom_actions.
 * Returns 0 or an errno value; the caller must not spawn when it fails (fds would leak).
 */
static inline int compat_spawn_closefrom(posix_spawn_file_actions_t *fa, int lowfd)
{
#ifdef CKPT_HAVE_ADDCLOSEFROM_NP
	return posix_spawn_file_actions_addclosefrom_np(fa, lowfd);
#else
	return compat_closefrom_actions(fa, lowfd, "/proc/self/fd");
#endif
}

/* The fallback of compat_errno_desc, compiled everywhere (for the unit tests). */
static inline char *compat_errno_desc_fallback(int errnum, char *buf, size_t size)
{
	char tmp[128];
	const char *s = strerror_r(errnum, tmp, sizeof(tmp)); /* the GNU strerror_r */

	snprintf(buf, size, "%s", s);
	return buf;
}

/*
 * errno's description ("No such file or directory") into buf, "Unknown error N" for a value
 * glibc does not know; returns buf. strerrordesc_np (glibc 2.32, never translated) else the
 * GNU strerror_r (translated with LC_MESSAGES). Thread-safe either way.
 */
static inline char *compat_errno_desc(int errnum, char *buf, size_t size)
{
#ifdef CKPT_HAVE_STRERRORDESC_NP
	const char *s = strerrordesc_np(errnum);

	if (s)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "Unknown error %d", errnum);
	return buf;
#else
	return compat_errno_desc_fallback(errnum, buf, size);
#endif
}

#endif /* CKPT_COMPAT_H */
