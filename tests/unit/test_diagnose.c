/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/diagnose/ (diagnose.c, table.c): the table run over every CRIU log recorded from a real
 * failure (tests/fixtures/criu-logs, made by its record.sh), over log lines
 * taken from CRIU's source for the failures that cannot be provoked here, and
 * the hint rewriting for a command line.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diagnose/diagnose.h"
#include "base/error.h"
#include "rpc/opts.h"

#define BIT(k) (1ull << (k))

static char *slurp(const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/criu-logs/%s", CKPT_FIXTURES_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "fixture %s missing", path);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf; /* not NUL-terminated on purpose: diagnose takes a length */
}

/* A probe that knows one process, as a test sets it up. */
struct fake {
	struct diag_proc p;
	bool exists;
	int calls;
};

static int fake_proc(void *userdata, pid_t pid, struct diag_proc *ret)
{
	struct fake *f = userdata;

	f->calls++;
	if (!f->exists || pid != f->p.pid)
		return -1;
	*ret = f->p;
	return 0;
}

/* No CKPT_OPT_ identifier is left unknown: a hint rewritten for the CLI names flags only. */
static void check_rewrite(const char *hint)
{
	char buf[2 * CKPT_ERR_HINT_MAX];
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_msg(ckpt_hint_rewrite(hint, NULL, NULL, buf, sizeof(buf), &err) == 0, "%s",
		      err.msg);
	ck_assert_msg(!strstr(buf, "CKPT_OPT_"), "an unknown option identifier in '%s'", buf);
}

struct fixture {
	const char *log;
	enum diag_op op;
	int criu_errno;
	uint64_t bools; /* the options the recorded request had */
	const char *id;
	const char *headline; /* a part of the headline */
	const char *hint[3];  /* parts of the hint */
	int hint_opt;
};

/* Every log record.sh made, with what the library must make of it. */
static const struct fixture fixtures[] = {
	{ "session-leader.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "shell-job",
	  "is not a session leader",
	  { "CKPT_OPT_SHELL_JOB", "started from a shell" },
	  CKPT_OPT_SHELL_JOB },
	{ "session-leader-v4.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "shell-job",
	  "is not a session leader",
	  { "CKPT_OPT_SHELL_JOB" },
	  CKPT_OPT_SHELL_JOB },
	{ "tty-no-master.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "shell-job",
	  "without correspond master peer",
	  { "CKPT_OPT_SHELL_JOB" },
	  CKPT_OPT_SHELL_JOB },
	{ "tty-restore.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "shell-job",
	  "without correspond master peer",
	  { "Restore with CKPT_OPT_SHELL_JOB" },
	  CKPT_OPT_SHELL_JOB },
	{ "flock.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "file-locks",
	  "Some file locks are hold",
	  { "CKPT_OPT_FILE_LOCKS" },
	  CKPT_OPT_FILE_LOCKS },
	{ "posix-lock.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "file-locks",
	  "Some file locks are hold",
	  { "CKPT_OPT_FILE_LOCKS" },
	  CKPT_OPT_FILE_LOCKS },
	{ "tcp-dump.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "tcp-established",
	  "Connected TCP socket, consider",
	  { "CKPT_OPT_TCP_ESTABLISHED", "CKPT_OPT_TCP_CLOSE" },
	  CKPT_OPT_TCP_ESTABLISHED },
	{ "tcp-lock-no-iptables.log",
	  DIAG_OP_DUMP,
	  0,
	  BIT(CKPT_OPT_TCP_ESTABLISHED),
	  "network-lock",
	  "iptables: not found",
	  { "runs iptables,", "CKPT_OPT_NETWORK_LOCK=nftables" },
	  CKPT_OPT_NETWORK_LOCK },
	{ "netns-lock-no-iptables.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "network-lock",
	  "execvp(\"iptables-restore\"",
	  { "runs iptables-restore,", "CKPT_OPT_NETWORK_LOCK=nftables" },
	  CKPT_OPT_NETWORK_LOCK },
	{ "shm-host-ipc.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "shm-host-ipc",
	  "doesn't live in IPC ns",
	  { "SysV shared memory", "IPC namespace of its own" },
	  0 },
	{ "other-uid.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "other-uid",
	  "Can't get rlimit 0",
	  { "runs as another user", "CAP_SYS_RESOURCE" },
	  0 },
	{ "pre-dump-no-soft-dirty.log",
	  DIAG_OP_PRE_DUMP,
	  0,
	  0,
	  "soft-dirty",
	  "Tracking memory is not available",
	  { "soft-dirty", "single dump" },
	  0 },
	{ "ext-unix-sk.log",
	  DIAG_OP_DUMP,
	  0,
	  0,
	  "ext-unix-sk",
	  "External socket is used",
	  { "CKPT_OPT_EXT_UNIX_SK" },
	  CKPT_OPT_EXT_UNIX_SK },
	{ "unix-stream-half.log",
	  DIAG_OP_DUMP,
	  0,
	  BIT(CKPT_OPT_EXT_UNIX_SK),
	  "unix-stream-half",
	  "Can't dump half of stream unix connection",
	  { "peer.sock", "CKPT_OPT_UNIX_SK_INO" },
	  CKPT_OPT_UNIX_SK_INO },
	{ "tcp-restore.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "tcp-established-restore",
	  "Connected TCP socket in image",
	  { "restore with CKPT_OPT_TCP_ESTABLISHED" },
	  CKPT_OPT_TCP_ESTABLISHED },
	{ "pid-taken.log",
	  DIAG_OP_RESTORE,
	  EEXIST,
	  0,
	  "pid-taken",
	  "Can't fork for ",
	  { "which the images need", "leave-running" },
	  0 },
	{ "file-gone.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "file-gone",
	  "file-gone.txt on restore: No such file",
	  { "/tmp/", "file-gone.txt, open in the checkpointed tree (fd 3), no longer exists" },
	  0 },
	{ "file-size.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "file-changed",
	  "has bad size",
	  { "file-size.txt", "(now 8 bytes, was 4)" },
	  0 },
	{ "file-mode.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "file-changed",
	  "has bad mode",
	  { "file-mode.txt", "now 0600, was 0644", "CKPT_OPT_SKIP_FILE_RWX_CHECK" },
	  CKPT_OPT_SKIP_FILE_RWX_CHECK },
	{ "lazy-no-daemon.log",
	  DIAG_OP_RESTORE,
	  0,
	  BIT(CKPT_OPT_LAZY_PAGES),
	  "lazy-pages-daemon",
	  "connect to lazy-pages.socket failed",
	  { "lazy-pages daemon", "CKPT_OPT_LAZY_PAGES" },
	  CKPT_OPT_LAZY_PAGES },
	{ "images-version.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "images-version",
	  "Not supported images version 3",
	  { "format version 3", "reads 1 and 2" },
	  0 },
	{ "images-magic.log",
	  DIAG_OP_RESTORE,
	  0,
	  0,
	  "images-magic",
	  "Magic doesn't match for core-",
	  { "core-", "wrong magic" },
	  0 },
};

START_TEST(recorded_logs)
{
	const struct fixture *f = &fixtures[_i];
	struct diag_opts opts = { .bools = f->bools };
	struct diag_result r;
	struct diag_in in = { .op = f->op, .criu_errno = f->criu_errno, .opts = &opts };
	char *log = slurp(f->log, &in.log_len);
	bool known;

	in.log = log;
	known = diagnose(&in, &r);
	ck_assert_msg(known, "%s: no entry matched (headline '%s')", f->log, r.headline);
	ck_assert_msg(!strcmp(r.id, f->id), "%s: entry %s, expected %s", f->log, r.id, f->id);
	ck_assert_msg(strstr(r.headline, f->headline), "%s: headline '%s' lacks '%s'", f->log,
		      r.headline, f->headline);
	for (size_t i = 0; i < 3 && f->hint[i]; i++)
		ck_assert_msg(strstr(r.hint, f->hint[i]), "%s: hint '%s' lacks '%s'", f->log,
			      r.hint, f->hint[i]);
	ck_assert_int_eq(r.hint_opt, f->hint_opt);
	/* CRIU's RLIMIT_NOFILE line is in every one of these logs: never the headline, never listed */
	ck_assert_msg(!strstr(r.headline, "RLIMIT"), "%s: the rlimit line is the headline", f->log);
	ck_assert_msg(!strstr(r.lines, "RLIMIT_NOFILE"), "%s: the rlimit line is listed", f->log);
	/* the decisive line is the first of the error lines, as logged (with CRIU's "Error (...)") */
	ck_assert_msg(r.lines[0] && strstr(r.lines, r.headline) &&
			      strcspn(r.lines, "\n") >= strlen(r.headline) &&
			      strstr(r.lines, r.headline) < r.lines + strcspn(r.lines, "\n"),
		      "%s: the decisive line is not first in '%s'", f->log, r.lines);
	ck_assert_msg(!strstr(r.lines, "(00."), "%s: a timestamp kept in '%s'", f->log, r.lines);
	check_rewrite(r.hint);
	free(log);
}
END_TEST

/* Every log record.sh made (its MANIFEST) has a row above: none is recorded and left untested. */
START_TEST(every_recording_checked)
{
	char path[4096], line[1024];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/criu-logs/MANIFEST", CKPT_FIXTURES_DIR);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char name[256];
		bool found = false;

		line[strcspn(line, "\t")] = '\0';
		snprintf(name, sizeof(name), "%s.log", line);
		for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
			found |= !strcmp(fixtures[i].log, name);
		ck_assert_msg(found, "%s is recorded but not checked", name);
		n++;
	}
	fclose(f);
	ck_assert_uint_eq(n, ARRAY_SIZE(fixtures));
}
END_TEST

/* The rlimit line is in every recorded log, and first in all but one: never the headline. */
START_TEST(rlimit_never_headline)
{
	static const char *const logs[] = { "session-leader.log", "pid-taken.log",
					    "file-gone.log" };

	for (size_t i = 0; i < ARRAY_SIZE(logs); i++) {
		struct diag_result r;
		struct diag_in in = { .op = DIAG_OP_DUMP };
		char *log = slurp(logs[i], &in.log_len);

		in.log = log;
		/* as libcriu and ops.c see it: CRIU's cr_errmsg is its FIRST error line, the rlimit one */
		in.criu_errmsg =
			"Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: "
			"Operation not permitted";
		diagnose(&in, &r);
		ck_assert_msg(r.headline[0] && !strstr(r.headline, "RLIMIT"), "%s: headline '%s'",
			      logs[i], r.headline);
		free(log);
	}
	/* a log of nothing but harmless lines: no headline rather than the harmless one */
	{
		const char *log =
			"Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: "
			"Operation not permitted\nWarn  (criu/kerndat.c:1799): Hardware breakpoints don't "
			"seem to work (status=0)\n";
		struct diag_in in = { .op = DIAG_OP_DUMP,
				      .log = log,
				      .log_len = strlen(log),
				      .criu_errmsg = "rlimit: Can't setup RLIMIT_NOFILE for self" };
		struct diag_result r;

		ck_assert(!diagnose(&in, &r));
		ck_assert_str_eq(r.headline, "");
		ck_assert_str_eq(r.id, "no-reason");
		ck_assert_int_eq(r.hint_opt, CKPT_OPT_LOG_LEVEL);
		ck_assert_ptr_nonnull(strstr(r.hint, "CKPT_OPT_LOG_LEVEL=4"));
	}
}
END_TEST

/* The fix already in the request: the entry is not offered again. */
START_TEST(fix_already_set)
{
	struct diag_opts opts = { .bools = BIT(CKPT_OPT_SHELL_JOB) };
	struct diag_in in = { .op = DIAG_OP_DUMP, .opts = &opts };
	struct diag_result r;
	char *log = slurp("session-leader.log", &in.log_len);

	in.log = log;
	ck_assert(!diagnose(&in, &r));
	ck_assert_ptr_null(r.id);
	ck_assert_str_eq(r.hint, "");
	ck_assert_ptr_nonnull(
		strstr(r.headline, "is not a session leader")); /* still the headline */
	free(log);
}
END_TEST

/*
 * Where the caller's session leader is outside its pid namespace (a CI runner in a container,
 * session 0), CRIU says so instead of "not a session leader"; the fix is the same shell-job.
 */
START_TEST(session_leader_outside_pidns)
{
	static const char log[] =
		"(00.012) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"
		"(00.035) Error (criu/cr-dump.c:1528): A session leader of 12462(12462) is outside of its pid namespace\n"
		"(00.036) Error (criu/cr-dump.c:1975): Dumping FAILED.\n";
	struct diag_in in = { .op = DIAG_OP_DUMP, .log = log, .log_len = sizeof(log) - 1 };
	struct diag_result r;

	ck_assert(diagnose(&in, &r));
	ck_assert_str_eq(r.id, "shell-job");
	ck_assert_int_eq(r.hint_opt, CKPT_OPT_SHELL_JOB);
	ck_assert_ptr_nonnull(strstr(r.headline, "outside of its pid namespace"));
}
END_TEST

/* pid taken at restore: the probe names the holder. */
START_TEST(pid_taken_holder)
{
	struct diag_probe probe = { .task = fake_proc };
	struct diag_in in = { .op = DIAG_OP_RESTORE, .criu_errno = EEXIST, .probe = &probe };
	struct diag_result r;
	struct fake f = { .exists = true };
	char *log = slurp("pid-taken.log", &in.log_len);
	const char *s = memmem(log, in.log_len, "Can't fork for ", 15);
	pid_t pid;

	ck_assert_ptr_nonnull(s);
	pid = (pid_t)atoi(s + 15);
	probe.userdata = &f;
	in.log = log;

	f.p = (struct diag_proc){ .pid = pid, .ppid = 1, .state = 'S', .comm = "diag-target" };
	ck_assert(diagnose(&in, &r));
	ck_assert_int_eq(f.calls, 1);
	ck_assert_msg(strstr(r.hint,
			     "taken by the running process 'diag-target' (state S, parent 1)"),
		      "%s", r.hint);

	f.p = (struct diag_proc){
		.pid = pid, .ppid = getpid(), .state = 'Z', .caller_child = true, .comm = "sleep"
	};
	ck_assert(diagnose(&in, &r));
	ck_assert_msg(strstr(r.hint, "'sleep', a zombie child of this process") &&
			      strstr(r.hint, "waitpid()"),
		      "%s", r.hint);

	f.p = (struct diag_proc){ .pid = pid, .ppid = 1, .state = 'Z', .comm = "sleep" };
	ck_assert(diagnose(&in, &r));
	ck_assert_msg(strstr(r.hint, "a zombie its parent (pid 1) has not reaped"), "%s", r.hint);

	f.exists = false;
	ck_assert(diagnose(&in, &r));
	ck_assert_msg(strstr(r.hint, "is free now"), "%s", r.hint);

	in.probe = NULL;
	ck_assert(diagnose(&in, &r));
	ck_assert_msg(strstr(r.hint, "is taken: often by the original process"), "%s", r.hint);

	/* no log at all (service mode, log unreadable): cr_errno EEXIST alone says it */
	in.log = NULL;
	in.log_len = 0;
	ck_assert(diagnose(&in, &r));
	ck_assert_str_eq(r.id, "pid-taken");
	free(log);
}
END_TEST

/* other uid and SysV shm: the probe names the task. */
START_TEST(task_named_by_probe)
{
	struct fake f = { .exists = true };
	struct diag_probe probe = { .task = fake_proc, .userdata = &f };
	struct diag_in in = { .op = DIAG_OP_DUMP, .probe = &probe };
	struct diag_result r;
	char *log = slurp("other-uid.log", &in.log_len);
	const char *s = memmem(log, in.log_len, "Dump core (pid: ", 16);

	ck_assert_ptr_nonnull(s);
	f.p = (struct diag_proc){
		.pid = atoi(s + 16), .uid = 65534, .state = 'S', .comm = "diag-target"
	};
	in.log = log;
	ck_assert(diagnose(&in, &r));
	ck_assert_msg(strstr(r.hint, "('diag-target', uid 65534) runs as another user"), "%s",
		      r.hint);
	free(log);
}
END_TEST

/* Failures that cannot be provoked on this machine: lines as CRIU's source writes them. */
struct synthetic {
	enum diag_op op;
	const char *log;
	const char *id;
	const char *hint;
	int hint_opt;
};

static const struct synthetic synthetics[] = {
	{ DIAG_OP_DUMP,
	  "Error (criu/tty.c:1830): tty: Found dangling tty with sid 100 pgid 100 (pts) on peer fd 0.\n"
	  "Task attached to shell terminal. Consider using --shell-job option. More details on "
	  "http://criu.org/Simple_loop\nError (criu/cr-dump.c:2128): Dumping FAILED.\n",
	  "shell-job", "CKPT_OPT_SHELL_JOB", CKPT_OPT_SHELL_JOB },
	{ DIAG_OP_RESTORE,
	  "Error (criu/sk-unix.c:1912): unix: External socket found in image. Consider using the "
	  "--ext-unix-sk option to allow restoring it.\nError (criu/cr-restore.c:2324): Restoring FAILED.\n",
	  "ext-unix-sk-restore", "restore with CKPT_OPT_EXT_UNIX_SK", CKPT_OPT_EXT_UNIX_SK },
	{ DIAG_OP_DUMP,
	  "Error (criu/sk-unix.c:888): unix: Can't dump name-less external socket.\nError (criu/sk-unix.c:889): "
	  "unix: 5\nError (criu/cr-dump.c:2128): Dumping FAILED.\n",
	  "unix-nameless", "CKPT_OPT_UNIX_SK_INO", CKPT_OPT_UNIX_SK_INO },
	{ DIAG_OP_RESTORE, "Error (criu/image.c:93): Need to set the --tcp-close options.\n",
	  "tcp-close-restore", "CKPT_OPT_TCP_CLOSE", CKPT_OPT_TCP_CLOSE },
	{ DIAG_OP_DUMP,
	  "Error (criu/netfilter.c:233): CRIU was built without libnftables support\n"
	  "Error (criu/cr-dump.c:2128): Dumping FAILED.\n",
	  "network-lock-nftables", "CKPT_OPT_NETWORK_LOCK=iptables", CKPT_OPT_NETWORK_LOCK },
	{ DIAG_OP_DUMP,
	  "Error (criu/files-reg.c:1031): Can't dump ghost file /var/tmp/big of 104857600 size, increase limit\n"
	  "Error (criu/cr-dump.c:2128): Dumping FAILED.\n",
	  "ghost-limit", "/var/tmp/big (104857600 bytes)", CKPT_OPT_GHOST_LIMIT },
	{ DIAG_OP_PRE_DUMP,
	  "Error (criu/mem.c:371): BUG at criu/mem.c:371\nError (criu/cr-dump.c:1922): Pre-dumping FAILED.\n",
	  "soft-dirty", "pre-dump needs", 0 },
	{ DIAG_OP_DUMP,
	  "Error (criu/config.c:1130): Tracking memory is not available. Consider omitting "
	  "--track-mem option.\n",
	  "soft-dirty", "unset CKPT_OPT_TRACK_MEM", CKPT_OPT_TRACK_MEM },
	{ DIAG_OP_RESTORE,
	  "Error (criu/uffd.c:314): uffd: Unable to open an userfaultfd descriptor: Function not implemented\n"
	  "Error (criu/cr-restore.c:2324): Restoring FAILED.\n",
	  "lazy-pages-uffd", "CKPT_OPT_LAZY_PAGES", CKPT_OPT_LAZY_PAGES },
	{ DIAG_OP_RESTORE,
	  "Error (criu/arch/x86/cpu.c:297): CPU capabilities do not match run time\n"
	  "Error (criu/cr-restore.c:2324): Restoring FAILED.\n",
	  "cpu-mismatch", "SIGILL", 0 },
	{ DIAG_OP_DUMP,
	  "Error (criu/seize.c:635): Unable to freeze cgroup /sys/fs/cgroup/ctr (100 x 100ms attempts, timeout: 10s)\n"
	  "Error (criu/cr-dump.c:2128): Dumping FAILED.\n",
	  "cgroup-freeze", "CKPT_OPT_FREEZE_CGROUP", CKPT_OPT_FREEZE_CGROUP },
	{ DIAG_OP_RESTORE,
	  /* from a crun restore on this machine (../shared/runtimes.md) */
	  "Error (criu/mount.c:3141): mnt: No mapping for 109:(null) mountpoint\n"
	  "Error (criu/cr-restore.c:2324): Restoring FAILED.\n",
	  "ext-mount", "CKPT_OPT_EXT_MOUNT", CKPT_OPT_EXT_MOUNT },
	{ DIAG_OP_RESTORE,
	  /* restore lines of a tree in its own netns, lock nftables: all harmless, then the real one */
	  "Error (criu/util.c:642): execvp(\"iptables-restore\", ...) failed: No such file or directory\n"
	  " 30000: Error (criu/util.c:1723): iptables-restore -V failed\n"
	  "Error: ipv4: Address already assigned.\n"
	  " 30000: Error (criu/files-reg.c:2353): Can't open file etc/app.conf on restore: No such file or directory\n"
	  " 30000: Error (criu/files.c:1221): Unable to open fd=4 id=0x7\n"
	  "Error (criu/cr-restore.c:2324): Restoring FAILED.\n",
	  "file-gone", "/etc/app.conf, open in the checkpointed tree (fd 4)", 0 },
};

START_TEST(source_lines)
{
	const struct synthetic *t = &synthetics[_i];
	struct diag_in in = { .op = t->op, .log = t->log, .log_len = strlen(t->log) };
	struct diag_result r;

	ck_assert_msg(diagnose(&in, &r), "%s: no entry", t->id);
	ck_assert_str_eq(r.id, t->id);
	ck_assert_msg(strstr(r.hint, t->hint), "%s: hint '%s' lacks '%s'", t->id, r.hint, t->hint);
	ck_assert_int_eq(r.hint_opt, t->hint_opt);
	ck_assert_msg(!strstr(r.headline, "FAILED") && !strstr(r.headline, "-V failed"),
		      "%s: headline '%s'", t->id, r.headline);
	check_rewrite(r.hint);
}
END_TEST

/* A failure the table does not know: the first error that is neither harmless nor a wrapper. */
START_TEST(unknown_failure)
{
	const char *log =
		"Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"
		"Error (criu/proc_parse.c:100): Can't parse /proc/1/smaps: Invalid argument\n"
		"Error (criu/cr-dump.c:1621): Dump mappings (pid: 1) failed with -1\n"
		"Error (criu/cr-dump.c:1975): Dumping FAILED.\n"
		"Error (criu/cr-dump.c:1999): something after the end\n";
	struct diag_in in = { .op = DIAG_OP_DUMP, .log = log, .log_len = strlen(log) };
	struct diag_result r;

	ck_assert(!diagnose(&in, &r));
	ck_assert_ptr_null(r.id);
	ck_assert_str_eq(r.hint, "");
	ck_assert_int_eq(r.hint_opt, 0);
	ck_assert_str_eq(r.headline, "Can't parse /proc/1/smaps: Invalid argument");
	ck_assert_str_eq(
		r.lines,
		"Error (criu/proc_parse.c:100): Can't parse /proc/1/smaps: Invalid argument\n"
		"Error (criu/cr-dump.c:1621): Dump mappings (pid: 1) failed with -1\n"
		"Error (criu/cr-dump.c:1975): Dumping FAILED.\n"
		"Error (criu/cr-dump.c:1999): something after the end");

	/* only a wrapper line: it is better than nothing */
	log = "Error (criu/cr-dump.c:1621): Dump mappings (pid: 1) failed with -1\nError (x.c:1): Dumping FAILED.\n";
	in.log = log;
	in.log_len = strlen(log);
	ck_assert(!diagnose(&in, &r));
	ck_assert_str_eq(r.headline, "Dump mappings (pid: 1) failed with -1");

	/* no log, a message from CRIU: that is the headline */
	in.log = NULL;
	in.log_len = 0;
	in.criu_errmsg = "Error (criu/x.c:1): the reason\n";
	ck_assert(!diagnose(&in, &r));
	ck_assert_str_eq(r.headline, "the reason");
	ck_assert_str_eq(r.lines, "");
}
END_TEST

/* 256 KiB of CRIU's level-4 chatter, control characters, no final newline, a line cut at the start. */
START_TEST(big_and_hostile_log)
{
	size_t cap = 300 * 1024, n = 0;
	char *log = malloc(cap);
	struct diag_in in = { .op = DIAG_OP_DUMP };
	struct diag_result r;

	ck_assert_ptr_nonnull(log);
	n += (size_t)snprintf(log + n, cap - n,
			      "ut of a line cut by the tail: Error (criu/x.c:1): nothing\n");
	for (int i = 0; n < 260 * 1024; i++)
		n += (size_t)snprintf(log + n, cap - n,
				      "(%02d.%06d) Error (criu/y.c:%d): spam %d\n", i / 1000000,
				      i % 1000000, i, i);
	n += (size_t)snprintf(
		log + n, cap - n,
		"(99.000001) Error (criu/file-lock.c:110): Some file locks are hold by dumping tasks! "
		"\x1b[31mYou\x7f can try --file-locks to dump them.\n(99.000002) Error (criu/cr-dump.c:1975): "
		"Dumping FAILED.");
	in.log = log;
	in.log_len = n;
	ck_assert(diagnose(&in, &r));
	ck_assert_str_eq(r.id, "file-locks");
	for (const char *p = r.headline; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "a control character in the headline");
	for (const char *p = r.lines; *p; p++)
		ck_assert_msg(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f),
			      "a control character in the lines");
	ck_assert_uint_lt(strlen(r.lines), sizeof(r.lines));

	/* binary junk: no crash, no read past the length */
	for (size_t i = 0; i < n; i++)
		log[i] = (char)(i * 131 + 7);
	diagnose(&in, &r);
	in.log_len = 1;
	diagnose(&in, &r);
	free(log);
}
END_TEST

START_TEST(table_ids)
{
	size_t n = diag_table_size();

	ck_assert_uint_ge(n, 20);
	ck_assert_ptr_null(diag_table_entry(n));
	for (size_t i = 0; i < n; i++) {
		const struct diag_entry_info *e = diag_table_entry(i);

		ck_assert_ptr_nonnull(e);
		ck_assert(e->id && *e->id && e->where && *e->where && e->cause && *e->cause);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(diag_table_entry(j)->id, e->id), "id %s twice", e->id);
		if (e->hint_opt)
			ck_assert_ptr_nonnull(diag_opt_identifier(e->hint_opt));
	}
}
END_TEST

static const char *cli_spell(void *userdata, ckpt_opt key)
{
	(void)userdata;
	return key == CKPT_OPT_RST_SIBLING ? "--restore-sibling-flag" : NULL;
}

START_TEST(hint_rewrite)
{
	char buf[256];
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_int_eq(
		ckpt_hint_rewrite("Set CKPT_OPT_SHELL_JOB (and CKPT_OPT_NETWORK_LOCK=nftables).",
				  NULL, NULL, buf, sizeof(buf), &err),
		0);
	ck_assert_str_eq(buf, "Set --shell-job (and --network-lock=nftables).");
	ck_assert_int_eq(ckpt_hint_rewrite("CKPT_OPT_RST_SIBLING, CKPT_OPT_TCP_CLOSE", cli_spell,
					   NULL, buf, sizeof(buf), &err),
			 0);
	ck_assert_str_eq(buf, "--restore-sibling-flag, --tcp-close");
	ck_assert_int_eq(ckpt_hint_rewrite("name it with CKPT_OPT_UNIX_SK_INO.", NULL, NULL, buf,
					   sizeof(buf), &err),
			 0);
	ck_assert_str_eq(buf, "name it with --ext-unix-sk=INODE.");
	/* not an option, or part of a longer word: left alone */
	ck_assert_int_eq(ckpt_hint_rewrite("CKPT_OPT_NOPE XCKPT_OPT_SHELL_JOB CKPT_OPT_", NULL,
					   NULL, buf, sizeof(buf), &err),
			 0);
	ck_assert_str_eq(buf, "CKPT_OPT_NOPE XCKPT_OPT_SHELL_JOB CKPT_OPT_");
	ck_assert_int_eq(ckpt_hint_rewrite("", NULL, NULL, buf, 1, &err), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(ckpt_hint_rewrite("use CKPT_OPT_SHELL_JOB", NULL, NULL, buf, 10, &err),
			 CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "10 bytes is too small"));
	ck_assert_int_eq(ckpt_hint_rewrite(NULL, NULL, NULL, buf, 10, &err), CKPT_EINVAL);
	/* every key has an identifier that maps back */
	for (int k = 1; k < 600; k++)
		if (ckpt_opt_name((ckpt_opt)k)) {
			const char *id = diag_opt_identifier(k);

			ck_assert_msg(id, "key %d has no identifier", k);
			ck_assert_int_eq(diag_opt_from_identifier(id, strlen(id)), k);
		}
}
END_TEST

START_TEST(opts_and_apply)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	struct diag_opts d;
	struct diag_result r = { .hint = "the hint",
				 .lines = "a\nb",
				 .hint_opt = CKPT_OPT_FILE_LOCKS };
	int64_t v = -1;

	opts_to_diag(NULL, &d);
	ck_assert_uint_eq(d.bools, 0);
	ck_assert_int_eq(ckpt_opts_get_int(o, CKPT_OPT_SHELL_JOB, &v, &err), 0);
	ck_assert_int_eq(v, -1);
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_SHELL_JOB, true, &err), 0);
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_FILE_LOCKS, false, &err), 0);
	ck_assert_int_eq(
		ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err), 0);
	ck_assert_int_eq(ckpt_opts_set_pid(o, 4242, &err), 0);
	ck_assert_int_eq(ckpt_opts_get_int(o, CKPT_OPT_FILE_LOCKS, &v, &err), 1);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(ckpt_opts_get_int(o, CKPT_OPT_PID, &v, &err), 1);
	ck_assert_int_eq(v, 4242);
	ck_assert_int_eq(ckpt_opts_get_int(o, CKPT_OPT_ROOT, &v, &err), CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "'root' is not a bool or int option"));
	ck_assert_int_eq(ckpt_opts_get_int(o, (ckpt_opt)999, &v, &err), CKPT_EINVAL);
	opts_to_diag(o, &d);
	ck_assert(diag_opt_on(&d, CKPT_OPT_SHELL_JOB));
	ck_assert(!diag_opt_on(&d, CKPT_OPT_FILE_LOCKS)); /* set, but false */
	ck_assert_int_eq(d.network_lock, CKPT_NETWORK_LOCK_NFTABLES);
	ck_assert_int_eq(d.pid, 4242);
	ckpt_opts_free(o);

	err.version = 1;
	diag_apply(&err, &r);
	ck_assert_str_eq(err.hint, "the hint");
	ck_assert_str_eq(err.criu_log, "a\nb");
	ck_assert_int_eq(err.hint_opt, CKPT_OPT_FILE_LOCKS);
	ck_assert_uint_eq(err.version, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("diagnose");
	TCase *tc = tcase_create("diagnose");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, recorded_logs, 0, ARRAY_SIZE(fixtures));
	tcase_add_test(tc, every_recording_checked);
	tcase_add_test(tc, rlimit_never_headline);
	tcase_add_test(tc, fix_already_set);
	tcase_add_test(tc, session_leader_outside_pidns);
	tcase_add_test(tc, pid_taken_holder);
	tcase_add_test(tc, task_named_by_probe);
	tcase_add_loop_test(tc, source_lines, 0, ARRAY_SIZE(synthetics));
	tcase_add_test(tc, unknown_failure);
	tcase_add_test(tc, big_and_hostile_log);
	tcase_add_test(tc, table_ids);
	tcase_add_test(tc, hint_rewrite);
	tcase_add_test(tc, opts_and_apply);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
