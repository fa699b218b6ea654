/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading /proc: a process's stat line, ids and namespaces, and the probe the diagnosis uses. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "base/error.h"
#include "base/parse.h"

/* Read a whole small file (up to size-1 bytes) into buf, NUL-terminated; length or -1. */
ssize_t procfs_read(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t used = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	return (ssize_t)used;
}

/* /proc/PID/stat: "pid (comm) S ppid pgrp session ..."; comm may hold ')' and spaces. */
int procfs_stat(pid_t pid, struct procfs_stat *ret)
{
	char path[64], buf[1024], *open_, *close_;
	int ppid, pgrp, session;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	open_ = strchr(buf, '(');
	close_ = strrchr(buf, ')');
	if (!open_ || !close_ || close_ < open_)
		return -1;
	if (sscanf(close_ + 1, " %c %d %d %d", &ret->state, &ppid, &pgrp, &session) != 4)
		return -1;
	if (sscanf(close_ + 1, " %*c %*d %*d %*d %*d %*d %u", &ret->flags) != 1)
		ret->flags = 0;
	/* field 22, starttime: with the pid, it names one process for good */
	if (sscanf(close_ + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &ret->start) != 1)
		ret->start = 0;
	n = (size_t)(close_ - open_ - 1);
	if (n >= sizeof(ret->comm))
		n = sizeof(ret->comm) - 1;
	memcpy(ret->comm, open_ + 1, n);
	ret->comm[n] = '\0';
	for (char *p = ret->comm; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	ret->pid = pid;
	ret->ppid = ppid;
	ret->session = session;
	return 0;
}

#define PF_KTHREAD_ 0x00200000u /* include/linux/sched.h: "I am a kernel thread" */

int procfs_undumpable(pid_t pid, char *why, size_t size)
{
	struct procfs_stat st;

	if (pid == 1) {
		snprintf(why, size,
			 "pid 1 is the init of this pid namespace: freezing it stops everything "
			 "in it, this program and criu included");
		return 1;
	}
	if (procfs_stat(pid, &st) < 0)
		return 0;
	if ((st.flags & PF_KTHREAD_) || pid == 2 || st.ppid == 2) {
		snprintf(why, size,
			 "pid %d ('%s') is a kernel thread: it has no memory or files of its own "
			 "to checkpoint",
			 (int)pid, st.comm);
		return 1;
	}
	if (strcmp(st.comm, "criu") == 0) {
		snprintf(why, size, "pid %d is a criu process: CRIU does not checkpoint itself",
			 (int)pid);
		return 1;
	}
	return 0;
}

/* "Uid:\tR\tE\tS\tF" of /proc/PID/status (or Gid:), into ids[3]. */
int procfs_start_time(pid_t pid, int64_t *ret_seconds)
{
	struct procfs_stat st;
	struct timespec now, up;
	long hz = sysconf(_SC_CLK_TCK);

	if (procfs_stat(pid, &st) < 0)
		return -1;
	if (!st.start) {
		errno = EINVAL; /* a stat line without its start time */
		return -1;
	}
	if (hz <= 0 || clock_gettime(CLOCK_REALTIME, &now) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &up) < 0)
		return -1;
	*ret_seconds = (int64_t)now.tv_sec - (int64_t)up.tv_sec +
		       (int64_t)(st.start / (unsigned long long)hz);
	return 0;
}

int procfs_ids(pid_t pid, const char *key, unsigned ids[3])
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, key);
	if (!p || sscanf(p + strlen(key), " %u %u %u", &ids[0], &ids[1], &ids[2]) != 3)
		return -1;
	return 0;
}

ino_t procfs_ns_ino(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* ---- the probe of the diagnosis: what a pid is now ---- */

static int probe_proc(void *userdata, pid_t pid, struct diag_proc *ret)
{
	struct procfs_stat st;
	unsigned uids[3];

	(void)userdata;
	if (pid <= 0 || procfs_stat(pid, &st) < 0)
		return -1;
	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	ret->ppid = st.ppid;
	ret->state = st.state;
	ret->caller_child = st.ppid == getpid();
	snprintf(ret->comm, sizeof(ret->comm), "%s", st.comm);
	if (procfs_ids(pid, "Uid:", uids) == 0)
		ret->uid = uids[0];
	return 0;
}

const struct diag_probe diag_probe_proc = { .task = probe_proc, .userdata = NULL };

/* Does one of the socket inodes in inos appear in /proc/PID/net/FILE in state LISTEN (0A)? */
static int tcp_listens_in(pid_t pid, const char *file, const unsigned long *inos, size_t n)
{
	char path[64], line[512];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long ino = 0;
		unsigned st = 0;

		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) != 2)
			continue;
		for (size_t i = 0; st == 0x0A && i < n; i++)
			if (inos[i] == ino)
				found = 1;
	}
	fclose(f);
	return found;
}

int procfs_tcp_listening(pid_t pid)
{
	char path[64], link[64];
	unsigned long inos[256];
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r4, r6;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (n < ARRAY_SIZE(inos) && (de = readdir(d))) {
		ssize_t l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (l > 8 && (link[l] = '\0', !strncmp(link, "socket:[", 8)))
			inos[n++] = strtoul(link + 8, NULL, 10);
	}
	closedir(d);
	if (!n)
		return 0;
	r4 = tcp_listens_in(pid, "tcp", inos, n);
	r6 = tcp_listens_in(pid, "tcp6", inos, n);
	if (r4 > 0 || r6 > 0)
		return 1;
	return r4 < 0 && r6 < 0 ? -1 : 0;
}

/* ckpt_ns_mask_of_pid: which namespaces of pid differ from ours (ckpt.h). */
int ckpt_ns_mask_of_pid(pid_t pid, uint32_t *mask, ckpt_err *err)
{
	_cleanup_close_ int self = -1, target = -1;
	char path[64];
	uint32_t m = 0;
	size_t i, n;
	const struct ns_kind *kinds = ns_kinds_all(&n);

	assert_return(pid > 0, err, "pid %d is not valid; expected a pid > 0", (int)pid);
	assert_return(mask, err, "namespaces of pid %d: the output mask pointer is NULL", (int)pid);

	snprintf(path, sizeof(path), "/proc/%d/ns", (int)pid);
	target = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return err_sys(err, CKPT_ENOTARGET, errno,
				       "namespaces of pid %d: no such process (%s)", (int)pid,
				       path);
		if (errno == EACCES || errno == EPERM)
			return err_sys(err, CKPT_EPERM, errno,
				       "namespaces of pid %d: cannot open %s", (int)pid, path);
		return err_sys(err, CKPT_ESYS, errno, "namespaces of pid %d: cannot open %s",
			       (int)pid, path);
	}
	self = open("/proc/self/ns", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (self < 0)
		return err_sys(
			err, CKPT_ESYS, errno,
			"namespaces of pid %d: cannot open /proc/self/ns (is /proc mounted?)",
			(int)pid);

	for (i = 0; i < n; i++) {
		const struct ns_kind *k = &kinds[i];
		struct stat ours, theirs;

		if (fstatat(self, k->proc, &ours, 0) < 0) {
			if (errno == ENOENT)
				continue; /* this kernel has no such namespace */
			return err_sys(err, CKPT_ESYS, errno,
				       "namespaces of pid %d: cannot stat /proc/self/ns/%s",
				       (int)pid, k->proc);
		}
		if (fstatat(target, k->proc, &theirs, 0) < 0) {
			if (errno == ENOENT || errno == ESRCH)
				return err_sys(
					err, CKPT_ENOTARGET, errno,
					"namespaces of pid %d: the process is gone or a zombie (%s/%s)",
					(int)pid, path, k->proc);
			if (errno == EACCES || errno == EPERM)
				return err_sys(err, CKPT_EPERM, errno,
					       "namespaces of pid %d: cannot stat %s/%s", (int)pid,
					       path, k->proc);
			return err_sys(err, CKPT_ESYS, errno,
				       "namespaces of pid %d: cannot stat %s/%s", (int)pid, path,
				       k->proc);
		}
		if (ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev)
			m |= k->flag;
	}
	*mask = m;
	return 0;
}

/* ---- the one place /proc's paths are spelled ---- */

int procfs_path(char *buf, size_t n, pid_t pid, const char *name)
{
	int r;

	if (pid == PROCFS_ROOT)
		r = snprintf(buf, n, "/proc%s%s", name ? "/" : "", name ? name : "");
	else if (pid == PROCFS_SELF)
		r = snprintf(buf, n, "/proc/self/%s", name);
	else if (pid == PROCFS_THREAD_SELF)
		r = snprintf(buf, n, "/proc/thread-self/%s", name);
	else
		r = snprintf(buf, n, "/proc/%d/%s", (int)pid, name);
	if (r < 0 || (size_t)r >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

ssize_t procfs_read_at(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[128];

	if (procfs_path(path, sizeof(path), pid, name) < 0)
		return -1;
	return procfs_read(path, buf, size);
}

ssize_t procfs_readlink_at(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[128];
	ssize_t n;

	if (!size || procfs_path(path, sizeof(path), pid, name) < 0)
		return -1;
	n = readlink(path, buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int procfs_stat_at(pid_t pid, const char *name, struct stat *st)
{
	char path[128];

	if (procfs_path(path, sizeof(path), pid, name) < 0)
		return -1;
	return stat(path, st);
}

int procfs_open_at(pid_t pid, const char *name, int flags)
{
	char path[128];

	if (procfs_path(path, sizeof(path), pid, name) < 0)
		return -1;
	return open(path, flags | O_CLOEXEC);
}

DIR *procfs_opendir_at(pid_t pid, const char *name)
{
	char path[128];

	if (procfs_path(path, sizeof(path), pid, name) < 0)
		return NULL;
	return opendir(path);
}

FILE *procfs_fopen_at(pid_t pid, const char *name)
{
	char path[128];

	if (procfs_path(path, sizeof(path), pid, name) < 0)
		return NULL;
	return fopen(path, "re");
}
