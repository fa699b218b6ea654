/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading /proc: a process's stat line, ids and namespaces, and the probe the diagnosis uses. */
#ifndef CKPT_PROCFS_H
#define CKPT_PROCFS_H

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "diagnose/diagnose.h"
#include "base/util.h"

struct procfs_stat {
	pid_t pid, ppid, session;
	char state;
	unsigned flags;		  /* the kernel's PF_* flags (field 9) */
	char comm[17];		  /* control characters replaced by '?' */
	unsigned long long start; /* clock ticks after boot: with the pid, one process for good */
};

/*
 * The one place /proc's paths are spelled: pid > 0 a process, or one of these.
 * Each function below reads NAME under it ("status", "fd/3", "ns/net",
 * "net/tcp6", "sys/fs/pipe-max-size" under the root) and fails as the
 * underlying call does (-1 or NULL, errno set).
 */
#define PROCFS_SELF 0		/* /proc/self */
#define PROCFS_THREAD_SELF (-1) /* /proc/thread-self */
#define PROCFS_ROOT (-2)	/* /proc itself (name NULL: the directory) */
/* "/proc/.../NAME" into buf (n bytes); -1 with ENAMETOOLONG if it does not fit. */
int procfs_path(char *buf, size_t n, pid_t pid, const char *name);
/* procfs_read of /proc/.../NAME. */
ssize_t procfs_read_at(pid_t pid, const char *name, char *buf, size_t size);
/* readlink of /proc/.../NAME into buf, NUL-terminated (size-1 bytes at most); its length or -1. */
ssize_t procfs_readlink_at(pid_t pid, const char *name, char *buf, size_t size);
int procfs_stat_at(pid_t pid, const char *name, struct stat *st);
/* open(2) of /proc/.../NAME with flags | O_CLOEXEC. */
int procfs_open_at(pid_t pid, const char *name, int flags);
DIR *procfs_opendir_at(pid_t pid, const char *name);
/* fopen(3) of /proc/.../NAME for reading, close-on-exec. */
FILE *procfs_fopen_at(pid_t pid, const char *name);

/* Read a whole small file (up to size-1 bytes) into buf, NUL-terminated; its length or -1. */
ssize_t procfs_read(const char *path, char *buf, size_t size);
/* /proc/PID/stat: "pid (comm) S ppid pgrp session ..." (comm may hold ')' and spaces). 0 or -1. */
int procfs_stat(pid_t pid, struct procfs_stat *ret);
/*
 * Is pid one a dump must never take, seen from the calling process: pid 1 (its
 * pid namespace's init), a kernel thread, or a criu. 1 with the reason in why,
 * 0 if none of these (or pid cannot be read: the dump says). The caller itself
 * is not refused: CRIU dumps its caller (a self-dump, libcriu's too).
 */
int procfs_undumpable(pid_t pid, char *why, size_t size);
/* The fix, for an error's hint. */
#define UNDUMPABLE_HINT                                                                    \
	"Checkpoint a process tree of its own: start the program in a session of its own " \
	"(setsid) or in a container, and give the pid of its root."
/* When pid started, in Unix seconds (its stat's start ticks and the boot time). 0 or -1. */
int procfs_start_time(pid_t pid, int64_t *ret_seconds);
/* "KEY\tR\tE\tS\tF" of /proc/PID/status (key "Uid:" or "Gid:"), into ids[3]. 0 or -1. */
int procfs_ids(pid_t pid, const char *key, unsigned ids[3]);
/* The inode of /proc/PID/ns/NS (pid 0: ours), 0 if it cannot be read. */
ino_t procfs_ns_ino(pid_t pid, const char *ns);

/*
 * Does process pid hold a TCP socket in state LISTEN (read from its fds and
 * /proc/PID/net/tcp and tcp6, in its network namespace)? 1, 0, or -1 when it
 * cannot be told.
 */
int procfs_tcp_listening(pid_t pid);

/* The diagnosis's probe (diagnose.h) that reads /proc of the calling process's pid namespace. */
extern const struct diag_probe diag_probe_proc;

#endif
