/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU failure diagnosis, the table (pure): every failure signature CRIU
 * logs, with its cause and the hint that fixes it, the builders of the
 * hints that read details from the log or the live system, and the
 * table's accessors.
 */
#include <stdio.h>

#include <ckpt/keys.h>

#include "table.h"
#include "base/error.h"

/* ---- the table ---- */

#define DUMPS (OPM(DIAG_OP_DUMP) | OPM(DIAG_OP_PRE_DUMP))
#define RESTORES (OPM(DIAG_OP_RESTORE) | OPM(DIAG_OP_LAZY_PAGES))

#define HINT(...) snprintf(out->hint, sizeof(out->hint), __VA_ARGS__)

static void b_shell_job(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	if (c->in->op == DIAG_OP_RESTORE)
		HINT("The images hold a shell job: a terminal the tree shared with the shell it was started from. "
		     "Restore with CKPT_OPT_SHELL_JOB as well, from a terminal the restored tree can take over.");
	else
		HINT("The tree was started from a shell: its root is not a session leader, or it uses a terminal "
		     "whose other end is outside the tree. Set CKPT_OPT_SHELL_JOB (and again at restore), or start "
		     "the program in a session of its own without a terminal (setsid, stdio not a tty).");
}

static void b_network_lock(struct ctx *c, const struct entry *e, const struct line *hit,
			   struct diag_result *out)
{
	char tool[64] = "";
	const struct line *t = NULL;

	/* the helper that was missing: "sh: 1: iptables: not found" or execvp("iptables-restore", ...) */
	for (size_t i = 0; i < c->end && !tool[0]; i++) {
		const struct line *l = &c->lines[i];
		char buf[128];

		if (diag_line_has(l, ": not found") &&
		    (diag_line_has(l, "tables") || diag_line_has(l, "nft")) &&
		    diag_line_cut(l, ": ", ": not found", buf, sizeof(buf))) {
			const char *name = strrchr(buf, ' ');

			snprintf(tool, sizeof(tool), "%s", name ? name + 1 : buf);
			t = l;
		} else if (diag_line_has(l, "execvp(\"") && diag_line_has(l, "tables-restore") &&
			   !(l->flags & F_HARMLESS) &&
			   diag_line_cut(l, "execvp(\"", "\", ", tool, sizeof(tool))) {
			t = l;
		}
	}
	if (t) {
		c->decisive = t; /* the missing program is the decisive line */
		HINT("CRIU's network lock (iptables, its default) runs %s, which criu cannot find on its PATH. "
		     "Set CKPT_OPT_NETWORK_LOCK=nftables, or =skip when nothing can reach the tree's network during "
		     "the checkpoint, or install iptables.",
		     tool);
	} else {
		HINT("CRIU's network lock (iptables, its default) failed: iptables is missing or cannot change the "
		     "rules here. Set CKPT_OPT_NETWORK_LOCK=nftables, or =skip when nothing can reach the tree's "
		     "network during the checkpoint.");
	}
}

static void b_unix_half(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	char peer[256];

	if (!diag_line_cut(hit, "peer name: ", NULL, peer, sizeof(peer)) || !strcmp(peer, "(null)"))
		snprintf(peer, sizeof(peer), "a socket without a name");
	HINT("A stream unix socket of the tree is connected to %s, outside the tree; CRIU cannot checkpoint one "
	     "end of a stream connection. Close it before the dump, or name the socket's inode with "
	     "CKPT_OPT_UNIX_SK_INO (the dump preflight, ckpt_preflight_dump, shows it) and hand a socket back at restore "
	     "with CKPT_OPT_INHERIT_FD.",
	     peer);
}

static void b_pid_taken(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	long pid = hit ? diag_line_cut_num(hit, "Can't fork for ") : -1;
	struct diag_proc p;
	const char *later =
		"or checkpoint the tree in a pid namespace of its own, so its pids cannot clash";

	if (pid <= 0) {
		HINT("A pid the images need is taken by another process: often the original tree, still running "
		     "after a leave-running dump, or a zombie not yet reaped. Stop or reap it and restore again, %s.",
		     later);
		return;
	}
	if (!c->in->probe || !c->in->probe->task ||
	    c->in->probe->task(c->in->probe->userdata, (pid_t)pid, &p) < 0) {
		if (c->in->probe && c->in->probe->task)
			HINT("Pid %ld, which the images need, was taken when CRIU forked it and is free now: a "
			     "short-lived process or a zombie being reaped held it. Restore again, %s.",
			     pid, later);
		else
			HINT("Pid %ld, which the images need, is taken: often by the original process, still running "
			     "after a leave-running dump, or by a zombie not yet reaped. Stop or reap it and restore "
			     "again, %s.",
			     pid, later);
		return;
	}
	if (p.state == 'Z' && p.caller_child)
		HINT("Pid %ld, which the images need, is held by '%s', a zombie child of this process that has "
		     "not been reaped: waitpid() it, then restore again.",
		     pid, p.comm);
	else if (p.state == 'Z')
		HINT("Pid %ld, which the images need, is held by '%s', a zombie its parent (pid %d) has not reaped "
		     "yet: wait for the reap and restore again, %s.",
		     pid, p.comm, (int)p.ppid, later);
	else
		HINT("Pid %ld, which the images need, is taken by the running process '%s' (state %c, parent %d%s): "
		     "often the original, still running after a leave-running dump. Stop it and restore again, %s.",
		     pid, p.comm, p.state ? p.state : '?', (int)p.ppid,
		     p.caller_child ? ", a child of this process" : "", later);
}

/* "fd N" from the "Unable to open fd=N id=..." line that follows a file failure, or "" */
static void fd_note(const struct ctx *c, char *buf, size_t size)
{
	const struct line *l = diag_line_find(c, "Unable to open fd=", c->end);
	long fd = l ? diag_line_cut_num(l, "Unable to open fd=") : -1;

	if (fd >= 0)
		snprintf(buf, size, " (fd %ld)", fd);
	else
		buf[0] = '\0';
}

static void b_file_gone(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	char path[256] = "", file[260], fd[32];

	if (!diag_line_cut(hit, "Can't open file ", " on restore: ", path, sizeof(path)))
		diag_line_cut(hit, "Can't open file ", ": ", path, sizeof(path));
	diag_abs_path(file, sizeof(file), path);
	fd_note(c, fd, sizeof(fd));
	HINT("The file %s, open in the checkpointed tree%s, no longer exists: put it back at that path before "
	     "restoring. For a file deleted while still open, dump with CKPT_OPT_LINK_REMAP (and "
	     "CKPT_OPT_GHOST_LIMIT for big ones) so the images carry it.",
	     file, fd);
}

static void b_file_changed(struct ctx *c, const struct entry *e, const struct line *hit,
			   struct diag_result *out)
{
	char path[256] = "", file[260], fd[32], now[32] = "?", was[32] = "?";
	bool mode = diag_line_has(hit, " has bad mode ");

	diag_line_cut(hit, "File ", mode ? " has bad mode " : " has bad size ", path, sizeof(path));
	diag_abs_path(file, sizeof(file), path);
	fd_note(c, fd, sizeof(fd));
	diag_line_cut(hit, mode ? " has bad mode " : " has bad size ", " (expect ", now,
		      sizeof(now));
	diag_line_cut(hit, " (expect ", ")", was, sizeof(was));
	if (mode) { /* 0100600: the permission bits are what changed */
		snprintf(now, sizeof(now), "%04lo", strtoul(now, NULL, 8) & 07777);
		snprintf(was, sizeof(was), "%04lo", strtoul(was, NULL, 8) & 07777);
	}
	if (mode) {
		out->hint_opt = CKPT_OPT_SKIP_FILE_RWX_CHECK;
		HINT("The file %s, open in the checkpointed tree%s, changed mode since the dump (now %s, was %s): "
		     "change it back, or set CKPT_OPT_SKIP_FILE_RWX_CHECK to skip CRIU's check of it.",
		     file, fd, now, was);
	} else {
		HINT("The file %s, open in the checkpointed tree%s, changed since the dump (now %s bytes, was %s): "
		     "put back the version the tree had open; CRIU refuses a file that changed under the process.",
		     file, fd, now, was);
	}
}

static void b_ghost(struct ctx *c, const struct entry *e, const struct line *hit,
		    struct diag_result *out)
{
	char path[256] = "?", size[32] = "?";

	diag_line_cut(hit, "Can't dump ghost file ", " of ", path, sizeof(path));
	diag_line_cut(hit, " of ", " size", size, sizeof(size));
	HINT("The tree holds %s (%s bytes) open after it was deleted; CRIU keeps such files in the images, but "
	     "this one is above its ghost limit: raise CKPT_OPT_GHOST_LIMIT above its size.",
	     path, size);
}

/* "Dump core (pid: N)" / "Task N with": which task, with what the probe knows of it */
static void task_note(const struct ctx *c, long pid, bool uid, char *buf, size_t size)
{
	struct diag_proc p;

	if (pid <= 0)
		snprintf(buf, size, "A task of the tree");
	else if (c->in->probe && c->in->probe->task &&
		 c->in->probe->task(c->in->probe->userdata, (pid_t)pid, &p) == 0)
		snprintf(buf, size, uid ? "Task %ld ('%s', uid %u)" : "Task %ld ('%s')", pid,
			 p.comm, (unsigned)p.uid);
	else
		snprintf(buf, size, "Task %ld", pid);
}

static void b_other_uid(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	const struct line *w = diag_line_find(c, "Dump core (pid: ", c->n);
	char who[128];

	task_note(c, w ? diag_line_cut_num(w, "Dump core (pid: ") : -1, true, who, sizeof(who));
	HINT("%s runs as another user, and criu lacks CAP_SYS_RESOURCE to read its resource limits: run criu "
	     "with CAP_SYS_RESOURCE (full root), or checkpoint a tree whose tasks all run as one user. "
	     "CKPT_OPT_UNPRIVILEGED does not help here.",
	     who);
}

static void b_shm(struct ctx *c, const struct entry *e, const struct line *hit,
		  struct diag_result *out)
{
	char who[128];

	task_note(c, diag_line_cut_num(hit, "Task "), false, who, sizeof(who));
	HINT("%s uses SysV shared memory of the host's IPC namespace, which CRIU cannot checkpoint (PostgreSQL "
	     "does this): run the tree in an IPC namespace of its own (unshare --ipc, or a container).",
	     who);
}

static void b_soft_dirty(struct ctx *c, const struct entry *e, const struct line *hit,
			 struct diag_result *out)
{
	if (c->in->op == DIAG_OP_PRE_DUMP) {
		out->hint_opt = 0;
		HINT("This kernel has no soft-dirty memory tracking, which a pre-dump needs: do a single dump "
		     "instead, and shorten the freeze with CKPT_OPT_LAZY_PAGES or a page server if it matters.");
	} else {
		HINT("This kernel has no soft-dirty memory tracking: unset CKPT_OPT_TRACK_MEM (and drop the "
		     "pre-dumps) and do a single dump.");
	}
}

static void b_images_version(struct ctx *c, const struct entry *e, const struct line *hit,
			     struct diag_result *out)
{
	long v = diag_line_cut_num(hit, "Not supported images version ");

	HINT("The images have format version %ld, which this criu cannot read (it reads 1 and 2, CRIU 3.x and "
	     "4.x write 2): they come from another CRIU. Restore with the CRIU that made them.",
	     v);
}

static void b_magic(struct ctx *c, const struct entry *e, const struct line *hit,
		    struct diag_result *out)
{
	char file[128] = "An image file";

	diag_line_cut(hit, "Magic doesn't match for ", NULL, file, sizeof(file));
	HINT("%s is not the CRIU image it should be (wrong magic number): the images are damaged, incomplete, "
	     "or from a CRIU with another format. Dump again, or restore with the CRIU that made them.",
	     file);
}

static void b_lazy_daemon(struct ctx *c, const struct entry *e, const struct line *hit,
			  struct diag_result *out)
{
	HINT("A lazy-pages restore needs CRIU's lazy-pages daemon (criu lazy-pages) running first on the same "
	     "work dir, with the dump's page server as its source: start it before the restore, or restore "
	     "without CKPT_OPT_LAZY_PAGES.");
}

static void b_no_reason(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	HINT("CRIU failed without logging why at this log level: set CKPT_OPT_LOG_LEVEL=4 and look at "
	     "its full log.");
}

/* Every entry; the first whose trigger is in the log (before "... FAILED.") wins. */
static const struct entry table[] = {
	{ { "shell-job", "dump, restore",
	    "the tree was started from a shell: not a session leader, or a terminal shared with outside",
	    CKPT_OPT_SHELL_JOB },
	  DUMPS | RESTORES,
	  CKPT_OPT_SHELL_JOB,
	  { "is not a session leader", "is outside of its pid namespace",
	    "Task attached to shell terminal", "Found dangling tty",
	    "without correspond master peer" },
	  { 0 },
	  NULL,
	  b_shell_job },
	{ { "file-locks", "dump", "a task holds flock or POSIX file locks", CKPT_OPT_FILE_LOCKS },
	  DUMPS,
	  CKPT_OPT_FILE_LOCKS,
	  { "Some file locks are hold by dumping tasks" },
	  { 0 },
	  "A task of the tree holds file locks (flock or POSIX; a lock fd inherited from a wrapper such as "
	  "flock(1) counts too): set CKPT_OPT_FILE_LOCKS to checkpoint them, and again at restore.",
	  NULL },
	{ { "tcp-established", "dump", "the tree has established TCP connections",
	    CKPT_OPT_TCP_ESTABLISHED },
	  DUMPS,
	  CKPT_OPT_TCP_ESTABLISHED,
	  { "Connected TCP socket, consider using" },
	  { 0 },
	  "The tree has established TCP connections: set CKPT_OPT_TCP_ESTABLISHED to checkpoint them (and "
	  "again at restore), or CKPT_OPT_TCP_CLOSE to drop them.",
	  NULL },
	{ { "tcp-established-restore", "restore", "the images hold established TCP connections",
	    CKPT_OPT_TCP_ESTABLISHED },
	  RESTORES,
	  CKPT_OPT_TCP_ESTABLISHED,
	  { "Connected TCP socket in image" },
	  { 0 },
	  "The images hold established TCP connections (dumped with tcp-established): restore with "
	  "CKPT_OPT_TCP_ESTABLISHED as well, or with CKPT_OPT_TCP_CLOSE to restore them closed.",
	  NULL },
	{ { "tcp-close-restore", "restore", "the images were dumped with tcp-close",
	    CKPT_OPT_TCP_CLOSE },
	  RESTORES,
	  CKPT_OPT_TCP_CLOSE,
	  { "Need to set the --tcp-close option" },
	  { 0 },
	  "The images were dumped with tcp-close: restore with CKPT_OPT_TCP_CLOSE as well.",
	  NULL },
	{ { "network-lock-nftables", "dump, restore", "CRIU's nftables network lock failed",
	    CKPT_OPT_NETWORK_LOCK },
	  0,
	  0,
	  { "Locking network failed using nftables", "Locking connection failed using nftables",
	    "built without libnftables support" },
	  { 0 },
	  "CRIU's nftables network lock failed (this criu may be built without libnftables, or the kernel "
	  "lacks nf_tables): set CKPT_OPT_NETWORK_LOCK=iptables with iptables installed, or =skip when "
	  "nothing can reach the tree's network during the checkpoint.",
	  NULL },
	{ { "network-lock", "dump, restore",
	    "the default network lock needs iptables, missing here", CKPT_OPT_NETWORK_LOCK },
	  0,
	  0,
	  { "Iptables configuration failed", "Locking network failed: iptables",
	    "Unlocking network failed: iptables" },
	  { ": not found", "execvp(\"" },
	  NULL,
	  b_network_lock },
	{ { "unix-stream-half", "dump", "a stream unix socket connected to a peer outside the tree",
	    CKPT_OPT_UNIX_SK_INO },
	  DUMPS,
	  0,
	  { "Can't dump half of stream unix connection" },
	  { 0 },
	  NULL,
	  b_unix_half },
	{ { "unix-nameless", "dump", "a datagram unix socket connected to a nameless peer outside",
	    CKPT_OPT_UNIX_SK_INO },
	  DUMPS,
	  0,
	  { "Can't dump name-less external socket" },
	  { 0 },
	  "A unix socket of the tree is connected to a peer outside it that has no name, which CRIU cannot "
	  "reconnect: close it before the dump, or name the socket's inode with CKPT_OPT_UNIX_SK_INO and hand "
	  "a socket back at restore with CKPT_OPT_INHERIT_FD.",
	  NULL },
	{ { "ext-unix-sk", "dump", "a unix socket connected to a peer outside the tree",
	    CKPT_OPT_EXT_UNIX_SK },
	  DUMPS,
	  CKPT_OPT_EXT_UNIX_SK,
	  { "External socket is used" },
	  { 0 },
	  "A unix socket of the tree is connected to a peer outside it. Set CKPT_OPT_EXT_UNIX_SK to dump it as "
	  "external (a datagram socket whose peer has a name); a stream connection must be closed before the "
	  "dump, or its inode named with CKPT_OPT_UNIX_SK_INO and a socket handed back at restore with "
	  "CKPT_OPT_INHERIT_FD.",
	  NULL },
	{ { "ext-unix-sk-restore", "restore",
	    "the images hold a unix socket connected outside the tree", CKPT_OPT_EXT_UNIX_SK },
	  RESTORES,
	  CKPT_OPT_EXT_UNIX_SK,
	  { "External socket found in image" },
	  { 0 },
	  "The images hold a unix socket connected to a peer outside the tree: restore with "
	  "CKPT_OPT_EXT_UNIX_SK as well, with the peer back at its path (or a socket given with "
	  "CKPT_OPT_INHERIT_FD).",
	  NULL },
	{ { "pid-taken", "restore", "a pid the images need is taken (the original, or a zombie)",
	    0 },
	  RESTORES,
	  0,
	  { "Can't fork for " },
	  { 0 },
	  NULL,
	  b_pid_taken },
	{ { "file-gone", "restore", "a file the tree had open no longer exists", 0 },
	  RESTORES,
	  0,
	  { "on restore: No such file or directory", "Can't open file " },
	  { "Unable to open fd=" },
	  NULL,
	  b_file_gone },
	{ { "file-changed", "restore",
	    "a file the tree had open changed size or mode since the dump", 0 },
	  RESTORES,
	  0,
	  { " has bad size ", " has bad mode " },
	  { "Unable to open fd=" },
	  NULL,
	  b_file_changed },
	{ { "ghost-limit", "dump", "a deleted open file is above the ghost limit",
	    CKPT_OPT_GHOST_LIMIT },
	  DUMPS,
	  0,
	  { "Can't dump ghost file " },
	  { 0 },
	  NULL,
	  b_ghost },
	{ { "other-uid", "dump", "a task of another uid, and no CAP_SYS_RESOURCE", 0 },
	  DUMPS,
	  0,
	  { "Can't get rlimit " },
	  { "Dump core (pid: " },
	  NULL,
	  b_other_uid },
	{ { "shm-host-ipc", "dump", "SysV shared memory of the host's IPC namespace", 0 },
	  DUMPS,
	  0,
	  { "with SysVIPC shmem map" },
	  { 0 },
	  NULL,
	  b_shm },
	{ { "soft-dirty", "pre-dump", "a kernel without soft-dirty memory tracking",
	    CKPT_OPT_TRACK_MEM },
	  DUMPS,
	  0,
	  { "Tracking memory is not available", "BUG at criu/mem.c" },
	  { 0 },
	  NULL,
	  b_soft_dirty },
	{ { "lazy-pages-daemon", "restore",
	    "lazy pages without a lazy-pages daemon on the work dir", CKPT_OPT_LAZY_PAGES },
	  RESTORES,
	  0,
	  { "connect to lazy-pages.socket failed", "No lazy-pages socket" },
	  { 0 },
	  NULL,
	  b_lazy_daemon },
	{ { "lazy-pages-uffd", "dump, restore", "a kernel without a usable userfaultfd",
	    CKPT_OPT_LAZY_PAGES },
	  0,
	  0,
	  { "Unable to open an userfaultfd descriptor", "Failed to get uffd API",
	    "Incompatible uffd API" },
	  { 0 },
	  "The kernel offers no usable userfaultfd (not built in, or vm.unprivileged_userfaultfd=0 for an "
	  "unprivileged criu), which lazy pages need: go without CKPT_OPT_LAZY_PAGES; "
	  "ckpt_feature_check(CKPT_FEATURE_LAZY_PAGES) tells beforehand.",
	  NULL },
	{ { "images-version", "restore", "images of a format this criu cannot read", 0 },
	  0,
	  0,
	  { "Not supported images version " },
	  { 0 },
	  NULL,
	  b_images_version },
	{ { "images-magic", "restore", "an image file of the wrong kind or format", 0 },
	  0,
	  0,
	  { "Magic doesn't match for " },
	  { 0 },
	  NULL,
	  b_magic },
	{ { "cpu-mismatch", "restore", "images made on a CPU with features this one lacks", 0 },
	  RESTORES,
	  0,
	  { "CPU capabilities do not match run time", "CPU instruction capabilities do not match",
	    "CPU xsave size mismatch", "CPU xsave max size mismatch",
	    "FPU feature required by image", "CPU xfeatures has unsupported bits" },
	  { 0 },
	  "The images were made on a CPU with features this one lacks; restored, the tree would die of SIGILL. "
	  "Restore on a compatible CPU: CRIU's cpuinfo dump at the source and cpuinfo check here compare them "
	  "before a move.",
	  NULL },
	{ { "cgroup-freeze", "dump", "the freezer cgroup could not freeze the tree",
	    CKPT_OPT_FREEZE_CGROUP },
	  DUMPS,
	  0,
	  { "Unable to freeze cgroup", "Unknown freezer state" },
	  { 0 },
	  "The freezer cgroup could not freeze the tree (a task stuck in uninterruptible sleep, or a cgroup v2 "
	  "freezer shared with other tasks): retry, or dump without CKPT_OPT_FREEZE_CGROUP so CRIU stops the "
	  "tasks itself; CKPT_OPT_CGROUP_MODE=soft or =ignore if a second checkpoint trips over the first's cgroups.",
	  NULL },
	{ { "ext-mount", "restore", "an external (bind) mount without a mapping at restore",
	    CKPT_OPT_EXT_MOUNT },
	  RESTORES,
	  0,
	  { "No mapping for " },
	  { 0 },
	  "A mount of the tree came from outside it (a bind mount from the host) and has no mapping at restore: "
	  "give it with CKPT_OPT_EXT_MOUNT (ckpt_opts_add_ext_mount), under the key it had at dump.",
	  NULL },
};

/* Always last, not in the table: CRIU logged no error line that says anything. */
static const struct entry no_reason = {
	{ "no-reason", "any", "CRIU gave no reason (libcriu's -52 with errno 0)",
	  CKPT_OPT_LOG_LEVEL },
	0,
	0,
	{ 0 },
	{ 0 },
	NULL,
	b_no_reason,
};

const struct entry *diag_entries(size_t *n)
{
	*n = ARRAY_SIZE(table);
	return table;
}

const struct entry *diag_no_reason(void)
{
	return &no_reason;
}

size_t diag_table_size(void)
{
	return ARRAY_SIZE(table) + 1;
}

const struct diag_entry_info *diag_table_entry(size_t i)
{
	if (i < ARRAY_SIZE(table))
		return &table[i].info;
	return i == ARRAY_SIZE(table) ? &no_reason.info : NULL;
}
