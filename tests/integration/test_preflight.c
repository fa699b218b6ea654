/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dump preflight and the diagnosis against real processes and real CRIU:
 * for each failure the preflight can see, a process that has it
 * (tests/helpers/diag-target.c); the preflight must report it (and nothing
 * once the fix is set), and a real dump of the same process must fail with
 * the diagnosis of the same id, from CRIU's live log. At restore: a pid held
 * by the running original or by our own unreaped zombie (the probe names the
 * holder), and a file of an open fd gone.
 *
 * These run CRIU: run them under the shared lock (flock /tmp/ckpt-criu.lock).
 * The unit is linked with the library's objects to reach lib/diagnose/diagnose.h.
 */
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"
#include "diagnose/diagnose.h"
#include "proc/procfs.h"
#include "rpc/opts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *diag_target_bin(void)
{
	const char *c = getenv("CKPT_TEST_DIAG_TARGET");

	ck_assert_msg(c && *c, "CKPT_TEST_DIAG_TARGET must name the diag-target helper");
	return c;
}

struct target {
	pid_t child; /* ours: the target itself, or its tty master holder */
	pid_t pid;   /* the one to dump */
	char *dir;
};

/* Start diag-target [-n] DIR/pid MODE [ARG] (in a new network namespace if netns), wait for its pid. */
static void target_start(struct target *t, bool session, bool netns, const char *mode,
			 const char *arg)
{
	char pidfile[4096];

	t->dir = tmpdir_new("pft");
	snprintf(pidfile, sizeof(pidfile), "%s/pid", t->dir);
	t->child = fork();
	ck_assert_int_ge(t->child, 0);
	if (t->child == 0) {
		const char *argv[8];
		int n = 0;

		if (netns && unshare(CLONE_NEWNET) < 0)
			_exit(126);
		argv[n++] = "diag-target";
		if (!session)
			argv[n++] = "-n";
		argv[n++] = pidfile;
		argv[n++] = mode;
		if (arg)
			argv[n++] = arg;
		argv[n] = NULL;
		execv(diag_target_bin(), (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		long v = read_num(t->dir, "pid");

		if (v > 0) {
			t->pid = (pid_t)v;
			return;
		}
		msleep(10);
	}
	ck_abort_msg("diag-target %s did not start", mode);
}

static void target_stop(struct target *t)
{
	if (t->pid > 0)
		kill(-t->pid, SIGKILL); /* its process group: children (the uid mode's) too */
	if (t->pid > 0)
		kill(t->pid, SIGKILL);
	if (t->child > 0) {
		kill(t->child, SIGKILL);
		waitpid(t->child, NULL, 0);
	}
	/* orphans of the tree came to us (subreaper): reap them */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	rm_rf(t->dir);
	free(t->dir);
}

static ckpt_opts *opts_for(pid_t pid, const char *imgs)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_ptr_nonnull(o);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	if (imgs)
		ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	return o;
}

static ckpt_preflight *preflight(const ckpt_client *c, const ckpt_opts *o)
{
	ckpt_preflight *p = NULL;
	ckpt_err err = CKPT_ERR_INIT;

	ck_assert_ok(ckpt_preflight_dump(c, o, &p, &err), err);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* The index of the first finding with this id, or -1. */
static long finding(const ckpt_preflight *p, const char *id)
{
	for (size_t i = 0; i < ckpt_preflight_nr_findings(p); i++)
		if (!strcmp(ckpt_preflight_id(p, i), id))
			return (long)i;
	return -1;
}

static void show(const ckpt_preflight *p)
{
	for (size_t i = 0; i < ckpt_preflight_nr_findings(p); i++)
		fprintf(stderr, "  finding %s: %s\n", ckpt_preflight_id(p, i),
			ckpt_preflight_what(p, i));
}

/* Diagnose a failed request from CRIU's live log (as the failure path will). */
static void live_diag(const ckpt_err *err, enum diag_op op, const ckpt_opts *o,
		      struct diag_result *r)
{
	struct diag_opts d;
	struct diag_in in = {
		.op = op, .criu_errno = err->criu_errno, .probe = &diag_probe_proc, .opts = &d
	};
	char *buf = malloc(256 * 1024);
	FILE *f;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(err->code, CKPT_ECRIU);
	ck_assert_msg(err->log_path[0], "no log path in the error: %s", err->msg);
	f = fopen(err->log_path, "re");
	ck_assert_msg(f, "cannot open %s", err->log_path);
	in.log_len = fread(buf, 1, 256 * 1024, f);
	fclose(f);
	in.log = buf;
	opts_to_diag(o, &d);
	diagnose(&in, r);
	fprintf(stderr, "  live %s: headline: %s\n    hint: %s\n", r->id ? r->id : "-", r->headline,
		r->hint);
	ck_assert_msg(!strstr(r->headline, "RLIMIT"), "the rlimit line is the headline");
	free(buf);
}

/* Dump and expect CRIU to fail with the diagnosis `id`; returns nothing, checks the hint's part. */
static void dump_fails_with(ckpt_client *c, const ckpt_opts *o, const char *id,
			    const char *hint_part)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct diag_result r;

	ck_assert_msg(ckpt_dump(c, o, &err) == CKPT_ECRIU, "the dump did not fail as CRIU: %s",
		      err.msg);
	live_diag(&err, DIAG_OP_DUMP, o, &r);
	ck_assert_msg(r.id && !strcmp(r.id, id), "diagnosis %s, expected %s (headline %s)", r.id,
		      id, r.headline);
	ck_assert_msg(strstr(r.hint, hint_part), "hint '%s' lacks '%s'", r.hint, hint_part);
}

/* A directory holding only sh and ip: criu's PATH without iptables, whatever the machine has. */
static char *hide_iptables_dir(void)
{
	char *d = tmpdir_new("nopt"), path[4096];

	snprintf(path, sizeof(path), "%s/sh", d);
	ck_assert_int_eq(symlink("/bin/sh", path), 0);
	snprintf(path, sizeof(path), "%s/ip", d);
	ck_assert_int_eq(
		symlink(access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip", path), 0);
	return d;
}

static void client_hide_iptables(ckpt_client *c, const char *dir)
{
	char env[4200];
	const char *envp[] = { env, NULL };
	ckpt_err err = CKPT_ERR_INIT;

	snprintf(env, sizeof(env), "PATH=%s", dir);
	ck_assert_ok(ckpt_client_set_env(c, envp, &err), err);
}

START_TEST(clean_tree)
{
	ckpt_client *c = client_new();
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	char *json;

	be_subreaper();
	target_start(&t, true, false, "sleep", NULL);
	o = opts_for(t.pid, NULL);
	p = preflight(c, o);
	show(p);
	ck_assert_uint_eq(ckpt_preflight_nr_tasks(p), 1);
	ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
	/* nothing was done to it: still sleeping, not stopped or frozen */
	ck_assert(alive(t.pid));
	json = ckpt_preflight_to_json(p);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(strstr(json, "\"findings\":[]") && strstr(json, "\"tasks\":1"), "%s", json);
	ckpt_free(json);
	/* out of range */
	ck_assert_int_eq(ckpt_preflight_kind(p, 0), 0);
	ck_assert_int_eq(ckpt_preflight_pid(p, 0), -1);
	ck_assert_ptr_null(ckpt_preflight_id(p, 0));
	ck_assert_ptr_null(ckpt_preflight_what(p, 7));
	ckpt_preflight_free(p);
	ckpt_preflight_free(NULL);
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
}
END_TEST

START_TEST(bad_input)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_preflight *p = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	pid_t gone;

	ck_assert_int_eq(ckpt_preflight_dump(NULL, o, &p, &err), CKPT_EINVAL);
	ck_assert_msg(strstr(err.msg, "no target pid set"), "%s", err.msg);
	ck_assert_int_eq(ckpt_preflight_dump(NULL, NULL, &p, &err), CKPT_EINVAL);
	gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	ck_assert_ok(ckpt_opts_set_pid(o, gone, &err), err);
	ck_assert_int_eq(ckpt_preflight_dump(NULL, o, &p, &err), CKPT_ENOTARGET);
	ck_assert_msg(strstr(err.msg, "no such process"), "%s", err.msg);
	ck_assert_ptr_null(p);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(not_session_leader)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg");
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	long i;

	be_subreaper();
	target_start(&t, false, false, "sleep", NULL);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "shell-job");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_NOT_SESSION_LEADER);
	ck_assert_int_eq(ckpt_preflight_pid(p, i), t.pid);
	ck_assert_int_eq(ckpt_preflight_hint_opt(p, i), CKPT_OPT_SHELL_JOB);
	ck_assert_ptr_nonnull(strstr(ckpt_preflight_what(p, i), "is not a session leader"));
	ck_assert_ptr_nonnull(strstr(ckpt_preflight_hint(p, i), "CKPT_OPT_SHELL_JOB"));
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "shell-job", "CKPT_OPT_SHELL_JOB");
	ck_assert(alive(t.pid));

	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_SHELL_JOB, true, &err), err);
	p = preflight(c, o);
	ck_assert_int_eq(finding(p, "shell-job"), -1);
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(tty)
{
	ckpt_client *c = client_new();
	char *imgs = tmpdir_new("pfimg");
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	long i;

	be_subreaper();
	target_start(&t, true, false, "tty", NULL);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "shell-job");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_TTY);
	ck_assert_ptr_nonnull(strstr(ckpt_preflight_what(p, i), "/dev/pts/"));
	ck_assert_ptr_nonnull(strstr(ckpt_preflight_what(p, i), "master is outside the tree"));
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "shell-job", "CKPT_OPT_SHELL_JOB");
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(file_locks)
{
	static const char *const modes[] = { "flock", "posix-lock" };

	be_subreaper();
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		ckpt_client *c = client_new();
		ckpt_err err = CKPT_ERR_INIT;
		char *imgs = tmpdir_new("pfimg"), file[4096];
		struct target t;
		ckpt_opts *o;
		ckpt_preflight *p;
		long i;

		snprintf(file, sizeof(file), "/tmp/ckpt-test-lock-%d", (int)getpid());
		target_start(&t, true, false, modes[m], file);
		o = opts_for(t.pid, imgs);
		p = preflight(c, o);
		show(p);
		i = finding(p, "file-locks");
		ck_assert_int_ge(i, 0);
		ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_FILE_LOCK);
		ck_assert_msg(strstr(ckpt_preflight_what(p, i), file), "%s",
			      ckpt_preflight_what(p, i));
		ck_assert_msg(strstr(ckpt_preflight_what(p, i), m ? "POSIX" : "FLOCK"), "%s",
			      ckpt_preflight_what(p, i));
		ckpt_preflight_free(p);
		dump_fails_with(c, o, "file-locks", "CKPT_OPT_FILE_LOCKS");
		ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_FILE_LOCKS, true, &err), err);
		p = preflight(c, o);
		ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
		ckpt_preflight_free(p);
		ckpt_opts_free(o);
		target_stop(&t);
		unlink(file);
		ckpt_client_free(c);
		rm_rf(imgs);
		free(imgs);
	}
}
END_TEST

START_TEST(tcp_established)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg"), *nopt = hide_iptables_dir();
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	long i;

	be_subreaper();
	target_start(&t, true, false, "tcp", NULL);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "tcp-established");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_TCP_ESTABLISHED);
	ck_assert_msg(strstr(ckpt_preflight_what(p, i), "TCP 127.0.0.1:") &&
			      strstr(ckpt_preflight_what(p, i), "established"),
		      "%s", ckpt_preflight_what(p, i));
	ck_assert_int_eq(ckpt_preflight_hint_opt(p, i), CKPT_OPT_TCP_ESTABLISHED);
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "tcp-established", "CKPT_OPT_TCP_ESTABLISHED");

	/* with tcp-established and CRIU's default lock, the lock's iptables must be on criu's PATH */
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_TCP_ESTABLISHED, true, &err), err);
	client_hide_iptables(c, nopt);
	p = preflight(c, o);
	show(p);
	ck_assert_int_eq(finding(p, "tcp-established"), -1);
	i = finding(p, "network-lock");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_NETWORK_LOCK_TOOL);
	ck_assert_msg(strstr(ckpt_preflight_what(p, i), "iptables is not on criu's PATH"), "%s",
		      ckpt_preflight_what(p, i));
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "network-lock", "runs iptables,");

	/* the lock skipped: nothing left to report */
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_SKIP, &err),
		     err);
	p = preflight(c, o);
	ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(nopt);
	free(imgs);
	free(nopt);
}
END_TEST

START_TEST(external_unix)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg"), *sdir = tmpdir_new("pfsock"), sock[4096], dgram[4200];
	struct target peer, t, d;
	ckpt_opts *o;
	ckpt_preflight *p;
	unsigned long ino;
	const char *w;
	long i;

	be_subreaper();
	/* the peer, outside the dumped tree: a stream listener and a bound datagram socket */
	snprintf(sock, sizeof(sock), "%s/peer.sock", sdir);
	snprintf(dgram, sizeof(dgram), "%s.dgram", sock);
	target_start(&peer, true, false, "unix-listen", sock);

	/* a stream connection to it: CRIU cannot dump half of one, even with ext-unix-sk */
	target_start(&t, true, false, "unix-connect", sock);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "unix-stream-half");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_EXT_UNIX_SK);
	ck_assert_int_eq(ckpt_preflight_hint_opt(p, i), CKPT_OPT_UNIX_SK_INO);
	w = ckpt_preflight_what(p, i);
	ck_assert_msg(strstr(w, "stream unix socket") && strstr(w, sock), "%s", w);
	ck_assert_int_eq(sscanf(strstr(w, "(inode ") + 7, "%lu", &ino), 1);
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "ext-unix-sk", "CKPT_OPT_EXT_UNIX_SK");
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_EXT_UNIX_SK, true, &err), err);
	p = preflight(c, o);
	ck_assert_int_ge(finding(p, "unix-stream-half"), 0);
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "unix-stream-half", "peer.sock");
	/* declared external by its inode: the preflight has nothing to say */
	ck_assert_ok(ckpt_opts_add_unix_sk_ino(o, (uint32_t)ino, &err), err);
	p = preflight(c, o);
	ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&t);

	/* a datagram socket connected to the named peer: ext-unix-sk fixes it */
	target_start(&d, true, false, "unix-dgram", dgram);
	o = opts_for(d.pid, NULL);
	p = preflight(c, o);
	show(p);
	i = finding(p, "ext-unix-sk");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_hint_opt(p, i), CKPT_OPT_EXT_UNIX_SK);
	ck_assert_msg(strstr(ckpt_preflight_what(p, i), "datagram unix socket"), "%s",
		      ckpt_preflight_what(p, i));
	ckpt_preflight_free(p);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_EXT_UNIX_SK, true, &err), err);
	p = preflight(c, o);
	ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&d);
	target_stop(&peer);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(sdir);
	free(imgs);
	free(sdir);
}
END_TEST

static bool have_cap_sys_resource(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			eff = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return eff >> 24 & 1;
}

START_TEST(other_uid_child)
{
	ckpt_client *c = client_new();
	char *imgs = tmpdir_new("pfimg");
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	long i;

	be_subreaper();
	target_start(&t, true, false, "uid", "65534");
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	ck_assert_uint_eq(ckpt_preflight_nr_tasks(p), 2); /* the root and its child */
	i = finding(p, "other-uid");
	if (have_cap_sys_resource()) {
		ck_assert_int_eq(i, -1); /* nothing stops CRIU then */
	} else {
		ck_assert_int_ge(i, 0);
		ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_OTHER_UID);
		ck_assert_int_ne(ckpt_preflight_pid(p, i), t.pid); /* the child, not the root */
		ck_assert_msg(strstr(ckpt_preflight_what(p, i), "runs as uid 65534"), "%s",
			      ckpt_preflight_what(p, i));
		dump_fails_with(c, o, "other-uid", "uid 65534) runs as another user");
	}
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(sysv_shm)
{
	ckpt_client *c = client_new();
	char *imgs = tmpdir_new("pfimg");
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	long i;

	be_subreaper();
	target_start(&t, true, false, "shm", NULL);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "shm-host-ipc");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_SYSV_SHM);
	ck_assert_msg(strstr(ckpt_preflight_what(p, i), "SysV shared memory"), "%s",
		      ckpt_preflight_what(p, i));
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "shm-host-ipc", "IPC namespace of its own");
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(netns_lock_tool)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg"), *nopt = hide_iptables_dir();
	struct target t;
	ckpt_opts *o;
	ckpt_preflight *p;
	char *json;
	long i;

	be_subreaper();
	target_start(&t, true, true, "sleep", NULL);
	client_hide_iptables(c, nopt);
	o = opts_for(t.pid, imgs);
	p = preflight(c, o);
	show(p);
	i = finding(p, "network-lock");
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(ckpt_preflight_kind(p, i), CKPT_FINDING_NETWORK_LOCK_TOOL);
	ck_assert_int_eq(ckpt_preflight_hint_opt(p, i), CKPT_OPT_NETWORK_LOCK);
	ck_assert_msg(strstr(ckpt_preflight_what(p, i), "iptables-restore is not on criu's PATH") &&
			      strstr(ckpt_preflight_what(p, i), "its own network namespace"),
		      "%s", ckpt_preflight_what(p, i));
	ck_assert_ptr_nonnull(strstr(ckpt_preflight_hint(p, i), "CKPT_OPT_NETWORK_LOCK=nftables"));
	json = ckpt_preflight_to_json(p);
	ck_assert_msg(json && strstr(json, "\"id\":\"network-lock\"") &&
			      strstr(json, "\"hint_opt\":106"),
		      "%s", json);
	ckpt_free(json);
	ckpt_preflight_free(p);
	dump_fails_with(c, o, "network-lock", "runs iptables-restore");

	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err),
		     err);
	p = preflight(c, o);
	ck_assert_uint_eq(ckpt_preflight_nr_findings(p), 0);
	ckpt_preflight_free(p);
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(nopt);
	free(imgs);
	free(nopt);
}
END_TEST

/* Restore while the pid is taken: by the running original, then by our own unreaped zombie. */
START_TEST(pid_taken_at_restore)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg");
	struct target t;
	struct diag_result r;
	ckpt_opts *o;
	pid_t restored;

	be_subreaper();
	target_start(&t, true, false, "sleep", NULL);
	o = opts_for(t.pid, imgs);
	ck_assert_ok(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert(alive(t.pid));
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_ECRIU);
	ck_assert_int_eq(err.criu_errno, EEXIST);
	live_diag(&err, DIAG_OP_RESTORE, o, &r);
	ck_assert_str_eq(r.id, "pid-taken");
	ck_assert_msg(strstr(r.headline, "Can't fork for"), "%s", r.headline);
	ck_assert_msg(strstr(r.hint, "taken by the running process 'diag-target' (state S") &&
			      strstr(r.hint, ", a child of this process"),
		      "%s", r.hint);

	/* the original dies but is not reaped: the pid is held by our zombie */
	kill(t.pid, SIGKILL);
	for (int i = 0; i < 200 && alive(t.pid); i++)
		msleep(10);
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_ECRIU);
	live_diag(&err, DIAG_OP_RESTORE, o, &r);
	ck_assert_str_eq(r.id, "pid-taken");
	ck_assert_msg(strstr(r.hint, "a zombie child of this process") &&
			      strstr(r.hint, "waitpid()"),
		      "%s", r.hint);

	/* reaped: the restore works */
	waitpid(t.child, NULL, 0);
	t.child = 0;
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_eq(restored, t.pid);
	kill_wait(restored);
	t.pid = 0;
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

START_TEST(file_gone_at_restore)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	char *imgs = tmpdir_new("pfimg"), *dir = tmpdir_new("pffile"), file[4200];
	struct target t;
	struct diag_result r;
	ckpt_opts *o;
	pid_t restored;

	be_subreaper();
	snprintf(file, sizeof(file), "%s/data.txt", dir);
	target_start(&t, true, false, "open", file);
	o = opts_for(t.pid, imgs);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(t.child, NULL, 0);
	t.child = 0;
	ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_ECRIU);
	live_diag(&err, DIAG_OP_RESTORE, o, &r);
	ck_assert_str_eq(r.id, "file-gone");
	ck_assert_msg(strstr(r.hint, file) && strstr(r.hint, "no longer exists"), "%s", r.hint);
	ck_assert_msg(strstr(r.headline, "data.txt"), "%s", r.headline);
	t.pid = 0;
	ckpt_opts_free(o);
	target_stop(&t);
	ckpt_client_free(c);
	rm_rf(imgs);
	rm_rf(dir);
	free(imgs);
	free(dir);
}
END_TEST

int main(void)
{
	RUN_TESTS("preflight", 300, clean_tree, bad_input, not_session_leader, tty, file_locks,
		  tcp_established, external_unix, other_uid_child, sysv_shm, netns_lock_tool,
		  pid_taken_at_restore, file_gone_at_restore);
}
