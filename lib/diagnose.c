/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CRIU failure signatures -> the decisive line, the error lines, and a cause + fix (a table, pure). */
#include <stdio.h>

#include "diagnose.h"
#include "error.h"
#include "opts.h"

/* ---- CRIU's log, line by line ---- */

enum { L_PLAIN, L_WARN, L_ERROR };
enum { F_HARMLESS = 1u << 0, F_WRAPPER = 1u << 1, F_FAILED = 1u << 2 };

struct line {
	const char *raw; /* the line without its timestamp */
	size_t raw_len;
	const char *msg; /* without pid prefix and "Error (file:line): " */
	size_t msg_len;
	int level;
	unsigned flags;
};

#define MAX_LINES 128 /* the last error (or signature) lines of the tail are kept */

struct ctx {
	const struct diag_in *in;
	struct line lines[MAX_LINES];
	size_t n;
	size_t end;		     /* lines before the first "... FAILED." marker (n if none) */
	const struct line *decisive; /* set by an entry whose decisive line is not its trigger */
};

static bool has(const struct line *l, const char *needle)
{
	return memmem(l->raw, l->raw_len, needle, strlen(needle)) != NULL;
}

static bool starts(const char *s, size_t n, const char *pre)
{
	size_t l = strlen(pre);

	return n >= l && memcmp(s, pre, l) == 0;
}

/* Lines CRIU logs on every run here, or after any failure, that never decide one. */
static const char *const harmless[] = {
	"rlimit: Can't setup RLIMIT_NOFILE", /* no CAP_SYS_RESOURCE: CRIU keeps its own limit */
	"Hardware breakpoints",
	"tables-save -V failed", /* kerndat's probes for iptables-save and friends */
	"tables-restore -V failed",
	"tables-legacy-save -V failed",
	"tables-legacy-restore -V failed",
	"execvp(\"iptables-save\"",
	"execvp(\"ip6tables-save\"",
	"execvp(\"iptables-legacy",
	"execvp(\"ip6tables-legacy",
	"Address already assigned", /* `ip` restoring lo's address, which exists already */
	"Dirty tracking is OFF",    /* a warning of criu check; pre-dump says it itself */
};

/* Lines that only repeat a failure logged before them. */
static const char *const wrappers[] = {
	") failed with -",    /* "Dump files (pid: N) failed with -1" */
	"exited, status=",    /* a helper program failed; its own output is the cause */
	"killed by signal",   /* the half-restored tree killed after the failure */
	"Unable to open fd=", /* after the reason a file could not be opened */
	"Can't open core data for", "Failed to lock TCP connection",
};

static const char *const failed_markers[] = {
	"Dumping FAILED",
	"Restoring FAILED",
	"Pre-dumping FAILED",
	"Lazy pages transfer FAILED",
};

/* Every substring a table entry triggers on or reads a detail from (defined below). */
static bool any_pattern(const struct line *l);

static void classify(struct line *l)
{
	const char *p = l->raw, *end = l->raw + l->raw_len;

	/* " 8785: " pid prefix of restored tasks' lines */
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p >= '0' && *p <= '9') {
		const char *q = p;

		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q + 1 < end && q[0] == ':' && q[1] == ' ')
			p = q + 2;
	}
	l->level = L_PLAIN;
	if (starts(p, (size_t)(end - p), "Error (") || starts(p, (size_t)(end - p), "Warn  (") ||
	    starts(p, (size_t)(end - p), "Warn (")) {
		const char *c = memmem(p, (size_t)(end - p), "): ", 3);

		l->level = p[0] == 'E' ? L_ERROR : L_WARN;
		if (c)
			p = c + 3;
	}
	l->msg = p;
	l->msg_len = (size_t)(end - p);
	l->flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(harmless); i++)
		if (has(l, harmless[i]))
			l->flags |= F_HARMLESS;
	for (size_t i = 0; i < ARRAY_SIZE(wrappers); i++)
		if (has(l, wrappers[i]))
			l->flags |= F_WRAPPER;
	for (size_t i = 0; i < ARRAY_SIZE(failed_markers); i++)
		if (starts(l->msg, l->msg_len, failed_markers[i]))
			l->flags |= F_FAILED;
}

static void scan(struct ctx *c)
{
	const char *s = c->in->log, *end = s ? s + c->in->log_len : NULL;

	c->n = 0;
	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		struct line l = { .raw = s, .raw_len = (size_t)(e - s) };

		s = nl ? nl + 1 : end;
		if (l.raw_len && l.raw[l.raw_len - 1] == '\r')
			l.raw_len--;
		/* "(00.054016) " timestamp of log level 3 and up */
		if (l.raw_len > 2 && l.raw[0] == '(') {
			const char *t = memchr(l.raw, ')', l.raw_len > 24 ? 24 : l.raw_len);

			if (t && t + 1 < l.raw + l.raw_len && t[1] == ' ') {
				l.raw_len -= (size_t)(t + 2 - l.raw);
				l.raw = t + 2;
			}
		}
		if (!l.raw_len)
			continue;
		classify(&l);
		if (l.level != L_ERROR && !has(&l, "BUG at") && !any_pattern(&l))
			continue;
		if (c->n == MAX_LINES)
			memmove(c->lines, c->lines + 1, sizeof(c->lines[0]) * --c->n);
		c->lines[c->n++] = l;
	}
	c->end = c->n;
	for (size_t i = 0; i < c->n; i++)
		if (c->lines[i].flags & F_FAILED) {
			c->end = i;
			break;
		}
}

/* The first kept line containing needle, among lines [0, lim); NULL if none. */
static const struct line *find(const struct ctx *c, const char *needle, size_t lim)
{
	for (size_t i = 0; i < lim && i < c->n; i++)
		if (has(&c->lines[i], needle))
			return &c->lines[i];
	return NULL;
}

/*
 * Copy the text between the first `pre` and the last `post` after it (the
 * end of the line if post is NULL) into buf, sanitized. False if not there.
 */
static bool cut(const struct line *l, const char *pre, const char *post, char *buf, size_t size)
{
	const char *end = l->raw + l->raw_len, *a = memmem(l->raw, l->raw_len, pre, strlen(pre)),
		   *b = end;
	char tmp[512];
	size_t n;

	if (!a || !size)
		return false;
	a += strlen(pre);
	if (post) {
		size_t pl = strlen(post);

		b = NULL;
		for (const char *p = a; p + pl <= end; p++)
			if (!memcmp(p, post, pl))
				b = p;
		if (!b)
			return false;
	}
	n = (size_t)(b - a) < sizeof(tmp) - 1 ? (size_t)(b - a) : sizeof(tmp) - 1;
	memcpy(tmp, a, n);
	tmp[n] = '\0';
	sanitize_copy(buf, size, tmp);
	return true;
}

static long cut_num(const struct line *l, const char *pre)
{
	char buf[32], *e;
	long v;

	if (!cut(l, pre, NULL, buf, sizeof(buf)))
		return -1;
	v = strtol(buf, &e, 10);
	return e == buf || v < 0 ? -1 : v;
}

/* CRIU logs paths relative to the root ("tmp/x"): give them back their slash. */
static void abs_path(char *buf, size_t size, const char *p)
{
	snprintf(buf, size, "%s%s", p[0] == '/' ? "" : "/", p);
}

static void set_headline(struct diag_result *out, const char *s, size_t n)
{
	char tmp[CKPT_ERR_MSG_MAX];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	sanitize_copy(out->headline, sizeof(out->headline), tmp);
}

/* ---- the table ---- */

#define OPM(op) (1u << (op))
#define DUMPS (OPM(DIAG_OP_DUMP) | OPM(DIAG_OP_PRE_DUMP))
#define RESTORES (OPM(DIAG_OP_RESTORE) | OPM(DIAG_OP_LAZY_PAGES))

struct entry;
typedef void (*build_fn)(struct ctx *c, const struct entry *e, const struct line *hit,
			 struct diag_result *out);

struct entry {
	struct diag_entry_info info; /* id, where, cause, hint_opt */
	unsigned ops;		     /* OPM() bits; 0: any */
	int unless_opt;	       /* skip the entry when this bool option is on: its fix is in place */
	const char *trig[6];   /* a kept line containing any of these triggers the entry */
	const char *detail[4]; /* more lines the entry reads details from */
	const char *hint;      /* the hint, or NULL when build() writes it */
	build_fn build;
};

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

		if (has(l, ": not found") && (has(l, "tables") || has(l, "nft")) &&
		    cut(l, ": ", ": not found", buf, sizeof(buf))) {
			const char *name = strrchr(buf, ' ');

			snprintf(tool, sizeof(tool), "%s", name ? name + 1 : buf);
			t = l;
		} else if (has(l, "execvp(\"") && has(l, "tables-restore") &&
			   !(l->flags & F_HARMLESS) &&
			   cut(l, "execvp(\"", "\", ", tool, sizeof(tool))) {
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

	if (!cut(hit, "peer name: ", NULL, peer, sizeof(peer)) || !strcmp(peer, "(null)"))
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
	long pid = hit ? cut_num(hit, "Can't fork for ") : -1;
	struct diag_proc p;
	const char *later =
		"or checkpoint the tree in a pid namespace of its own, so its pids cannot clash";

	if (pid <= 0) {
		HINT("A pid the images need is taken by another process: often the original tree, still running "
		     "after a leave-running dump, or a zombie not yet reaped. Stop or reap it and restore again, %s.",
		     later);
		return;
	}
	if (!c->in->probe || !c->in->probe->proc ||
	    c->in->probe->proc(c->in->probe->userdata, (pid_t)pid, &p) < 0) {
		if (c->in->probe && c->in->probe->proc)
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
	const struct line *l = find(c, "Unable to open fd=", c->end);
	long fd = l ? cut_num(l, "Unable to open fd=") : -1;

	if (fd >= 0)
		snprintf(buf, size, " (fd %ld)", fd);
	else
		buf[0] = '\0';
}

static void b_file_gone(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	char path[256] = "", file[260], fd[32];

	if (!cut(hit, "Can't open file ", " on restore: ", path, sizeof(path)))
		cut(hit, "Can't open file ", ": ", path, sizeof(path));
	abs_path(file, sizeof(file), path);
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
	bool mode = has(hit, " has bad mode ");

	cut(hit, "File ", mode ? " has bad mode " : " has bad size ", path, sizeof(path));
	abs_path(file, sizeof(file), path);
	fd_note(c, fd, sizeof(fd));
	cut(hit, mode ? " has bad mode " : " has bad size ", " (expect ", now, sizeof(now));
	cut(hit, " (expect ", ")", was, sizeof(was));
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

	cut(hit, "Can't dump ghost file ", " of ", path, sizeof(path));
	cut(hit, " of ", " size", size, sizeof(size));
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
	else if (c->in->probe && c->in->probe->proc &&
		 c->in->probe->proc(c->in->probe->userdata, (pid_t)pid, &p) == 0)
		snprintf(buf, size, uid ? "Task %ld ('%s', uid %u)" : "Task %ld ('%s')", pid,
			 p.comm, (unsigned)p.uid);
	else
		snprintf(buf, size, "Task %ld", pid);
}

static void b_other_uid(struct ctx *c, const struct entry *e, const struct line *hit,
			struct diag_result *out)
{
	const struct line *w = find(c, "Dump core (pid: ", c->n);
	char who[128];

	task_note(c, w ? cut_num(w, "Dump core (pid: ") : -1, true, who, sizeof(who));
	HINT("%s runs as another user, and criu lacks CAP_SYS_RESOURCE to read its resource limits: run criu "
	     "with CAP_SYS_RESOURCE (full root), or checkpoint a tree whose tasks all run as one user. "
	     "CKPT_OPT_UNPRIVILEGED does not help here.",
	     who);
}

static void b_shm(struct ctx *c, const struct entry *e, const struct line *hit,
		  struct diag_result *out)
{
	char who[128];

	task_note(c, cut_num(hit, "Task "), false, who, sizeof(who));
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
	long v = cut_num(hit, "Not supported images version ");

	HINT("The images have format version %ld, which this criu cannot read (it reads 1 and 2, CRIU 3.x and "
	     "4.x write 2): they come from another CRIU. Restore with the CRIU that made them.",
	     v);
}

static void b_magic(struct ctx *c, const struct entry *e, const struct line *hit,
		    struct diag_result *out)
{
	char file[128] = "An image file";

	cut(hit, "Magic doesn't match for ", NULL, file, sizeof(file));
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

static bool any_pattern(const struct line *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(table[i].trig) && table[i].trig[j]; j++)
			if (has(l, table[i].trig[j]))
				return true;
		for (size_t j = 0; j < ARRAY_SIZE(table[i].detail) && table[i].detail[j]; j++)
			if (has(l, table[i].detail[j]))
				return true;
	}
	return false;
}

static const struct line *entry_hit(const struct ctx *c, const struct entry *e, size_t lim)
{
	for (size_t i = 0; i < lim; i++)
		for (size_t j = 0; j < ARRAY_SIZE(e->trig) && e->trig[j]; j++)
			if (has(&c->lines[i], e->trig[j]))
				return &c->lines[i];
	return NULL;
}

/* Append one line to out->lines if it fits and is not there yet. */
static void add_line(struct diag_result *out, const struct line *l)
{
	char tmp[CKPT_ERR_LOG_MAX];
	size_t cur = strlen(out->lines), n = l->raw_len;
	const char *p = l->raw;

	while (n && *p == ' ')
		p++, n--;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	/* the same message again (each task, each retry) says nothing new */
	for (const char *s = out->lines; *s;) {
		size_t len = strcspn(s, "\n");

		if (len == n && !memcmp(s, tmp, n))
			return;
		s += len;
		if (*s)
			s++;
	}
	if (cur + (cur ? 1 : 0) + n + 1 > sizeof(out->lines)) {
		if (cur)
			return;
		n = sizeof(out->lines) - 1; /* the decisive line, cut */
		tmp[n] = '\0';
	}
	if (cur)
		out->lines[cur++] = '\n';
	sanitize_copy(out->lines + cur, sizeof(out->lines) - cur, tmp);
}

/* The table entry that explains the log (*ret_hit its line), or NULL. */
static const struct entry *find_entry(struct ctx *ctx, const struct diag_in *in,
				      const struct line **ret_hit)
{
	const struct entry *hit_e = NULL;
	const struct line *hit = NULL;
	unsigned opm = OPM(in->op);

	/* a table entry: lines before "... FAILED." first, then the rest */
	for (int pass = 0; pass < 2 && !hit_e; pass++) {
		size_t lim = pass == 0 ? ctx->end : ctx->n;

		for (size_t i = 0; i < ARRAY_SIZE(table) && !hit_e; i++) {
			const struct entry *e = &table[i];

			if (e->ops && !(e->ops & opm))
				continue;
			if (e->unless_opt && diag_opt_on(in->opts, e->unless_opt))
				continue;
			hit = entry_hit(ctx, e, lim);
			if (hit)
				hit_e = e;
		}
	}
	/* CRIU's pid clash without a log line: cr_errno EEXIST at restore */
	if (!hit_e && in->op == DIAG_OP_RESTORE && in->criu_errno == EEXIST) {
		for (size_t i = 0; i < ARRAY_SIZE(table); i++)
			if (!strcmp(table[i].info.id, "pid-taken"))
				hit_e = &table[i];
	}

	*ret_hit = hit;
	return hit_e;
}

/* The decisive line: CRIU's own, the table's hit, else the first error not a wrapper's, else any error. */
static const struct line *decisive_line(const struct ctx *ctx, const struct line *hit)
{
	const struct line *head = ctx->decisive ? ctx->decisive : hit;

	for (int want = 0; want < 2 && !head; want++)
		for (size_t i = 0; i < ctx->end && !head; i++) {
			const struct line *l = &ctx->lines[i];

			if (l->level != L_ERROR || (l->flags & (F_HARMLESS | F_FAILED)))
				continue;
			if (want == 0 && (l->flags & F_WRAPPER))
				continue;
			head = l;
		}
	return head;
}

bool diagnose(const struct diag_in *in, struct diag_result *out)
{
	struct ctx c = { .in = in };
	const struct entry *hit_e = NULL;
	const struct line *hit = NULL, *head = NULL;

	memset(out, 0, sizeof(*out));
	scan(&c);

	hit_e = find_entry(&c, in, &hit);

	if (hit_e) {
		out->id = hit_e->info.id;
		out->hint_opt = hit_e->info.hint_opt;
		if (hit_e->build)
			hit_e->build(&c, hit_e, hit, out);
		else
			snprintf(out->hint, sizeof(out->hint), "%s", hit_e->hint);
	}

	/* the decisive line */
	head = decisive_line(&c, hit);
	if (head)
		set_headline(out, head->msg, head->msg_len);
	else if (in->criu_errmsg && *in->criu_errmsg) {
		struct line l = { .raw = in->criu_errmsg,
				  .raw_len = strcspn(in->criu_errmsg, "\n") };

		classify(&l);
		if (!(l.flags & F_HARMLESS))
			set_headline(out, l.msg, l.msg_len);
	}
	if (!hit_e && !out->headline[0]) {
		hit_e = &no_reason;
		out->id = hit_e->info.id;
		out->hint_opt = hit_e->info.hint_opt;
		hit_e->build(&c, hit_e, NULL, out);
	}

	/* the error lines: the decisive one, then the others in log order, harmless ones left out */
	if (head)
		add_line(out, head);
	for (size_t i = 0; i < c.n; i++) {
		const struct line *l = &c.lines[i];

		if (l == head || (l->flags & F_HARMLESS) ||
		    (l->level != L_ERROR && !any_pattern(l)))
			continue;
		add_line(out, l);
	}
	return hit_e != NULL && hit_e != &no_reason;
}

void diag_apply(ckpt_err *err, const struct diag_result *r)
{
	if (!err || !r)
		return;
	if (r->lines[0])
		snprintf(err->criu_log, sizeof(err->criu_log), "%s", r->lines);
	snprintf(err->hint, sizeof(err->hint), "%s", r->hint);
	err->hint_opt = r->hint_opt;
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

/* ---- what the request asked for ---- */

void diag_opts_from(struct diag_opts *d, const ckpt_opts *o)
{
	int64_t v;

	memset(d, 0, sizeof(*d));
	if (!o)
		return;
	for (int k = 1; k < 64; k++)
		if (ckpt_opts_get_int(o, (ckpt_opt)k, &v, NULL) == 1 && v)
			d->bools |= 1ull << k;
	if (ckpt_opts_get_int(o, CKPT_OPT_NETWORK_LOCK, &v, NULL) == 1)
		d->network_lock = (int)v;
	if (ckpt_opts_get_int(o, CKPT_OPT_PID, &v, NULL) == 1)
		d->pid = (pid_t)v;
}

/* ---- option identifiers in hints ---- */

#define ID(k)         \
	{             \
		k, #k \
	}
static const struct {
	int key;
	const char *ident;
} idents[] = {
	ID(CKPT_OPT_LEAVE_RUNNING),
	ID(CKPT_OPT_LEAVE_STOPPED),
	ID(CKPT_OPT_EXT_UNIX_SK),
	ID(CKPT_OPT_TCP_ESTABLISHED),
	ID(CKPT_OPT_TCP_SKIP_IN_FLIGHT),
	ID(CKPT_OPT_TCP_CLOSE),
	ID(CKPT_OPT_EVASIVE_DEVICES),
	ID(CKPT_OPT_SHELL_JOB),
	ID(CKPT_OPT_FILE_LOCKS),
	ID(CKPT_OPT_TRACK_MEM),
	ID(CKPT_OPT_AUTO_DEDUP),
	ID(CKPT_OPT_LINK_REMAP),
	ID(CKPT_OPT_FORCE_IRMAP),
	ID(CKPT_OPT_RST_SIBLING),
	ID(CKPT_OPT_AUTO_EXT_MNT),
	ID(CKPT_OPT_EXT_SHARING),
	ID(CKPT_OPT_EXT_MASTERS),
	ID(CKPT_OPT_WEAK_SYSCTLS),
	ID(CKPT_OPT_LAZY_PAGES),
	ID(CKPT_OPT_ORPHAN_PTS_MASTER),
	ID(CKPT_OPT_MNTNS_COMPAT_MODE),
	ID(CKPT_OPT_SKIP_FILE_RWX_CHECK),
	ID(CKPT_OPT_UNPRIVILEGED),
	ID(CKPT_OPT_DISPLAY_STATS),
	ID(CKPT_OPT_TLS),
	ID(CKPT_OPT_TLS_NO_CN_VERIFY),
	ID(CKPT_OPT_FOLLOW_SYMLINKS),
	ID(CKPT_OPT_MANAGE_CGROUPS),
	ID(CKPT_OPT_OVERWRITE),
	ID(CKPT_OPT_SELF_DUMP),
	ID(CKPT_OPT_DEFER_CHECKS),
	ID(CKPT_OPT_KEEP_MODES),
	ID(CKPT_OPT_LOG_LEVEL),
	ID(CKPT_OPT_GHOST_LIMIT),
	ID(CKPT_OPT_TIMEOUT),
	ID(CKPT_OPT_CPU_CAP),
	ID(CKPT_OPT_STATUS_FD),
	ID(CKPT_OPT_EMPTY_NS),
	ID(CKPT_OPT_NETWORK_LOCK),
	ID(CKPT_OPT_PRE_DUMP_MODE),
	ID(CKPT_OPT_CGROUP_MODE),
	ID(CKPT_OPT_PIDFD_STORE_SK),
	ID(CKPT_OPT_LOG_FILE),
	ID(CKPT_OPT_ROOT),
	ID(CKPT_OPT_CGROUP_PROPS),
	ID(CKPT_OPT_CGROUP_PROPS_FILE),
	ID(CKPT_OPT_FREEZE_CGROUP),
	ID(CKPT_OPT_CGROUP_YARD),
	ID(CKPT_OPT_LSM_PROFILE),
	ID(CKPT_OPT_LSM_MOUNT_CONTEXT),
	ID(CKPT_OPT_CONFIG_FILE),
	ID(CKPT_OPT_TLS_CACERT),
	ID(CKPT_OPT_TLS_CACRL),
	ID(CKPT_OPT_TLS_CERT),
	ID(CKPT_OPT_TLS_KEY),
	ID(CKPT_OPT_EXTERNAL),
	ID(CKPT_OPT_SKIP_MNT),
	ID(CKPT_OPT_ENABLE_FS),
	ID(CKPT_OPT_IRMAP_SCAN_PATH),
	ID(CKPT_OPT_CGROUP_DUMP_CONTROLLER),
	ID(CKPT_OPT_EXEC_CMD),
	ID(CKPT_OPT_EXT_MOUNT),
	ID(CKPT_OPT_VETH),
	ID(CKPT_OPT_INHERIT_FD),
	ID(CKPT_OPT_JOIN_NS),
	ID(CKPT_OPT_CGROUP_ROOT),
	ID(CKPT_OPT_UNIX_SK_INO),
	ID(CKPT_OPT_PAGE_SERVER),
	ID(CKPT_OPT_PARENT_IMAGES),
	ID(CKPT_OPT_PID),
	ID(CKPT_OPT_IMAGES_DIR),
	ID(CKPT_OPT_WORK_DIR),
};

int diag_opt_from_identifier(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(idents); i++)
		if (strlen(idents[i].ident) == len && !memcmp(idents[i].ident, s, len))
			return idents[i].key;
	return 0;
}

const char *diag_opt_identifier(int key)
{
	for (size_t i = 0; i < ARRAY_SIZE(idents); i++)
		if (idents[i].key == key)
			return idents[i].ident;
	return NULL;
}

static bool ident_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

int ckpt_hint_rewrite(const char *hint, ckpt_opt_spell_fn spell, void *userdata, char *buf,
		      size_t size, ckpt_err *err)
{
	size_t used = 0;
	char flag[64];

	assert_return(hint && buf, err, "hint rewrite: NULL argument");
	for (const char *p = hint; *p;) {
		const char *piece = p;
		size_t n = 1;

		if (!strncmp(p, "CKPT_OPT_", 9) && (p == hint || !ident_char(p[-1]))) {
			size_t len = 9;
			int key;

			while (ident_char(p[len]))
				len++;
			key = diag_opt_from_identifier(p, len);
			if (key) {
				const char *s = spell ? spell(userdata, (ckpt_opt)key) : NULL;

				if (!s) {
					const char *name = ckpt_opt_name((ckpt_opt)key);
					const char *sp = strchr(name, ' ');

					/* "ext-unix-sk inode": a flag with an argument, --ext-unix-sk=INODE */
					if (sp) {
						int w = snprintf(flag, sizeof(flag),
								 "--%.*s=", (int)(sp - name), name);

						for (const char *q = sp + 1;
						     *q && w + 1 < (int)sizeof(flag); q++)
							flag[w++] = (char)(*q >= 'a' && *q <= 'z' ?
										   *q - 32 :
										   *q);
						flag[w] = '\0';
					} else {
						snprintf(flag, sizeof(flag), "--%s", name);
					}
					s = flag;
				}
				piece = s;
				n = strlen(s);
				p += len;
			} else {
				n = len;
				p += len;
			}
		} else {
			p++;
		}
		if (used + n >= size)
			return err_set(err, CKPT_EINVAL,
				       "hint rewrite: a buffer of %zu bytes is too small", size);
		memcpy(buf + used, piece, n);
		used += n;
	}
	if (!size)
		return err_set(err, CKPT_EINVAL, "hint rewrite: a buffer of 0 bytes is too small");
	buf[used] = '\0';
	return 0;
}
