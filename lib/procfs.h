/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading /proc: a process's stat line, ids and namespaces, and the probe the diagnosis uses. */
#ifndef CKPT_PROCFS_H
#define CKPT_PROCFS_H

#include <sys/types.h>

#include "diagnose.h"
#include "util.h"

struct procfs_stat {
	pid_t pid, ppid, session;
	char state;
	char comm[17];		  /* control characters replaced by '?' */
	unsigned long long start; /* clock ticks after boot: with the pid, one process for good */
};

/* Read a whole small file (up to size-1 bytes) into buf, NUL-terminated; its length or -1. */
ssize_t procfs_read(const char *path, char *buf, size_t size);
/* /proc/PID/stat: "pid (comm) S ppid pgrp session ..." (comm may hold ')' and spaces). 0 or -1. */
int procfs_stat(pid_t pid, struct procfs_stat *ret);
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
