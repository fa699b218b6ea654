/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's source side: handshake, the dump held at post-dump while
 * the images go over and the receiver restores, the decision (CRIU kills or
 * resumes the tree), lost answers, and the figures.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "client.h"
#include "log.h"
#include "migrate.h"
#include "procfs.h"
#include "pump.h"
#include "recover.h"
#include "swrk.h"

#define PAGE_BYTES_PER_PAGE 4096u

struct src {
	ckpt_client *c;
	const ckpt_opts *o;
	const ckpt_migrate_opts *m;
	ckpt_migration *mg;
	char host[256];
	uint16_t port;
	bool lazy;
	uint8_t session[CHAN_SESSION_SIZE];
	int ctl_fd;
	struct chan_creds *cr; /* loaded once: every connection of this migration */
	struct chan *ch;
	struct pump *pump; /* CRIU's pages (the dump's page client, or its lazy page server) */
	struct proc target;
	/* the private staging dir: images/, work/, cpu/ */
	char staging[PATH_MAX];
	int staging_fd, img_fd, work_fd, cpu_fd;
	int conf_fd; /* lazy: the configuration file criu reads (by fd) */
	/* the dump, while it runs */
	struct conn *conn;
	struct conn_watch watch;
	struct notify_table table;
	/* what happened */
	ckpt_err fail; /* why the source refused or failed (copied to the caller's err) */
	bool have_fail;
	bool post_dump_seen, acked, refused, restore_sent, running, dest_failed, pages_done,
		chan_broken;
	bool decided; /* the decide callback or a resolve chose */
	bool dest_killed_copy;
	bool keep_logs; /* a failure keeps the staging dir's CRIU logs (the dump's own failure) */
	uint64_t lazy_bytes; /* what the receiver says arrived lazily */
	uint64_t t_start, t_hs, t_predump, t_postdump, t_ready, t_restore_sent, t_running,
		t_pages_done, t_end;
};

static int src_fail(struct src *s, const char *stage, int code, const char *fmt, ...)
	_printf_(4, 5);
static int src_fail(struct src *s, const char *stage, int code, const char *fmt, ...)
{
	va_list ap;
	char msg[CKPT_ERR_MSG_MAX];

	if (s->have_fail)
		return code; /* the first reason is the one */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&s->fail, code, "%s", msg);
	err_at(&s->fail, stage, code);
	mig_stage(s->mg, stage);
	s->have_fail = true;
	return code;
}

/* Keep a library failure (e) as the reason, under stage. */
static int src_fail_err(struct src *s, const char *stage, const ckpt_err *e)
{
	if (s->have_fail)
		return e->code;
	err_copy(&s->fail, e);
	snprintf(s->fail.step, sizeof(s->fail.step), "%s", stage);
	mig_stage(s->mg, stage);
	s->have_fail = true;
	return e->code;
}

/* ---- before anything is frozen ---- */

/* --lazy: CRIU's lazy page server needs a big pipe (docs/migration.md, "Pipe size"). */
static int check_pipe_size(ckpt_err *err)
{
	char *buf = NULL, *cap;
	unsigned long long max = 0, eff = 0;
	size_t len;
	int r;

	r = read_small_file("/proc/self/status", 65536, &buf, &len);
	if (r == 0 && (cap = strstr(buf, "\nCapEff:")))
		eff = strtoull(cap + 8, NULL, 16);
	free(buf);
	if (eff & (1ull << 24)) /* CAP_SYS_RESOURCE: the kernel lets any pipe size through */
		return 0;
	buf = NULL;
	r = read_small_file("/proc/sys/fs/pipe-max-size", 64, &buf, &len);
	if (r == 0)
		max = strtoull(buf, NULL, 10);
	free(buf);
	if (r < 0)
		return err_sys(err, CKPT_ESYS, -r,
			       "--lazy: cannot read /proc/sys/fs/pipe-max-size");
	if (max >= MIG_LAZY_PIPE_MIN)
		return 0;
	r = err_set(
		err, CKPT_ENOTSUP,
		"--lazy: /proc/sys/fs/pipe-max-size is %llu; CRIU's lazy page server needs %d (or "
		"CAP_SYS_RESOURCE), else it fails after the tree is frozen",
		max, MIG_LAZY_PIPE_MIN);
	if (err)
		snprintf(
			err->hint, sizeof(err->hint),
			"raise it on the source before migrating: sysctl -w fs.pipe-max-size=%d (nothing was "
			"frozen)",
			MIG_LAZY_PIPE_MIN);
	return r;
}

/*
 * The staging dir's parent: what is staged there is what the receiver
 * restores, as root. Another user who can rename entries in it could swap in
 * a directory of their own between mkdtemp and our open: it must be ours or
 * root's, and writable by nobody else unless sticky.
 */
static int staging_parent_check(const char *parent, ckpt_err *err)
{
	struct stat st;

	if (stat(parent, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "staging dir '%s'", parent);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return err_set(
			err, CKPT_EPERM,
			"staging dir '%s' is owned by uid %u: that user could swap the images "
			"staged there (expected a directory of yours or root's)",
			parent, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return err_set(err, CKPT_EPERM,
			       "staging dir '%s' has mode %04o: others can write it without the "
			       "sticky bit, and could swap the images staged there (expected a "
			       "directory only you can write, or a sticky one such as /tmp)",
			       parent, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int staging_make(struct src *s, ckpt_err *err)
{
	const char *parent = s->m->staging_dir ? s->m->staging_dir : "/tmp";
	struct stat st;
	int r;

	r = staging_parent_check(parent, err);
	if (r < 0)
		return r;
	if (snprintf(s->staging, sizeof(s->staging), "%s/ckpt-migrate-XXXXXX", parent) >=
	    (int)sizeof(s->staging))
		return err_set(err, CKPT_EINVAL, "staging dir '%s': path too long", parent);
	if (!mkdtemp(s->staging)) {
		int e = errno;

		s->staging[0] = '\0';
		return err_sys(err, CKPT_EIMAGES, e, "cannot make a staging directory in '%s'",
			       parent);
	}
	s->staging_fd = open(s->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->staging_fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "staging directory '%s'", s->staging);
	if (fstat(s->staging_fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700 || st.st_nlink != 2)
		return err_set(
			err, CKPT_EPERM,
			"staging directory '%s' is not ours, 0700 and empty once opened: it was "
			"swapped; refused",
			s->staging);
	if (mkdirat(s->staging_fd, "images", 0700) < 0 ||
	    mkdirat(s->staging_fd, "work", 0700) < 0 || mkdirat(s->staging_fd, "cpu", 0700) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "staging directory '%s'", s->staging);
	s->img_fd =
		openat(s->staging_fd, "images", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	s->work_fd = openat(s->staging_fd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	s->cpu_fd = openat(s->staging_fd, "cpu", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->img_fd < 0 || s->work_fd < 0 || s->cpu_fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "staging directory '%s'", s->staging);
	return 0;
}

/* Success: nothing stays. Failure: only CRIU's logs (work/) stay, and are named. */
static void staging_end(struct src *s, bool keep_logs)
{
	if (s->staging_fd < 0)
		return;
	mig_remove_flat(s->staging_fd, "images");
	mig_remove_flat(s->staging_fd, "cpu");
	if (!keep_logs) {
		mig_remove_flat(s->staging_fd, "work");
		close(s->staging_fd);
		s->staging_fd = -1;
		rmdir(s->staging);
		return;
	}
	close(s->staging_fd);
	s->staging_fd = -1;
}

/* CPUINFO_DUMP into cpu/, read back for the HELLO. */
static int cpuinfo_blob(struct src *s, uint8_t **ret, uint32_t *ret_len, ckpt_err *err)
{
	ckpt_opts *co = ckpt_opts_new();
	struct stat st;
	uint8_t *buf = NULL;
	int fd = -1, r;

	if (!co)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	r = ckpt_opts_set_images_dir_fd(co, s->cpu_fd, err);
	if (r == 0)
		r = ckpt_cpuinfo_dump(s->c, co, err);
	ckpt_opts_free(co);
	if (r < 0)
		return r;
	fd = openat(s->cpu_fd, "cpuinfo.img", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CHAN_CPUINFO_MAX) {
		r = err_set(err, CKPT_EBADIMG,
			    "cpuinfo dump: cpuinfo.img is missing or larger than %d bytes",
			    CHAN_CPUINFO_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = err_set(err, CKPT_ENOMEM, "out of memory");
		goto out;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		r = err_sys(err, CKPT_EBADIMG, errno, "cpuinfo dump: cannot read cpuinfo.img");
		goto out;
	}
	*ret = buf;
	*ret_len = (uint32_t)st.st_size;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

static int handshake(struct src *s, ckpt_err *err)
{
	struct chan_hello h = { 0 };
	struct chan_msg msg;
	uint8_t *cpu = NULL;
	uint32_t cpu_len = 0;
	unsigned criu_version = 0;
	int r;

	r = ckpt_criu_version(s->c, &criu_version, err);
	if (r == 0)
		r = cpuinfo_blob(s, &cpu, &cpu_len, err);
	if (r == 0)
		r = chan_session_new(s->session, err);
	if (r < 0)
		goto out;
	r = mig_connect(s->host, s->port, s->m->timeout_ms, &s->ctl_fd, err);
	if (r == 0)
		r = chan_open(s->ctl_fd, CHAN_CONNECTING, s->cr, s->m->timeout_ms, &s->ch, err);
	if (r < 0)
		goto out;
	mig_hello_versions(&h, criu_version);
	h.role = CHAN_ROLE_SOURCE;
	h.mode = s->lazy ? CHAN_MODE_LAZY : CHAN_MODE_COPY;
	memcpy(h.session, s->session, sizeof(h.session));
	h.cpuinfo = cpu;
	h.cpuinfo_len = cpu_len;
	r = chan_send_hello(s->ch, &h, err);
	if (r == 0)
		r = chan_expect(s->ch, CHAN_MSG_HELLO, &msg, err);
	if (r < 0)
		goto out;
	mig_note_peer(s->mg, s->ch, &msg.u.hello);
	if (msg.u.hello.role != CHAN_ROLE_RECEIVER ||
	    memcmp(msg.u.hello.session, s->session, CHAN_SESSION_SIZE)) {
		r = err_set(err, CKPT_EPROTO,
			    "migration peer %s did not answer as the receiver of this session",
			    chan_peer(s->ch));
		goto out;
	}
	if (msg.u.hello.check_code < 0) {
		r = err_set(err, msg.u.hello.check_code, "the receiver %s refused: %s",
			    chan_peer(s->ch), msg.u.hello.check_msg);
		goto out;
	}
out:
	free(cpu);
	return r;
}

/*
 * The second connection, authenticated as the first and bound to the session
 * by its id: CRIU's pages go through it, carried by a pump between a
 * socketpair CRIU gets and this TLS session (pump.h).
 */
static int pages_connection(struct src *s, ckpt_err *err)
{
	struct chan_hello h = { 0 };
	struct pump_cfg pc = { .tcp = -1 };
	struct chan *ch = NULL;
	struct chan_msg msg;
	int fd = -1, r;

	r = mig_connect(s->host, s->port, s->m->timeout_ms, &fd, err);
	if (r == 0)
		r = chan_open(fd, CHAN_CONNECTING, s->cr, s->m->timeout_ms, &ch, err);
	if (r < 0)
		goto fail;
	mig_hello_versions(&h, 0);
	h.role = CHAN_ROLE_PAGES;
	h.mode = s->lazy ? CHAN_MODE_LAZY : CHAN_MODE_COPY;
	memcpy(h.session, s->session, sizeof(h.session));
	r = chan_send_hello(ch, &h, err);
	if (r == 0)
		r = chan_expect(ch, CHAN_MSG_HELLO, &msg, err);
	if (r == 0 && (msg.u.hello.role != CHAN_ROLE_RECEIVER ||
		       memcmp(msg.u.hello.session, s->session, CHAN_SESSION_SIZE)))
		r = err_set(err, CKPT_EPROTO,
			    "the receiver's page connection answered for another session");
	if (r == 0)
		r = chan_release_tls(ch, &pc.tls, err);
	if (r < 0)
		goto fail;
	ch = NULL;
	pc = (struct pump_cfg){ .mode = s->lazy ? PUMP_LAZY_SOURCE : PUMP_PASS,
				.tcp = fd,
				.tls = pc.tls,
				.timeout_ms = s->m->timeout_ms,
				.what = s->mg->peer };
	r = pump_new(&pc, &s->pump, err); /* fd and the session are the pump's from here */
	if (r == 0)
		r = pump_start(s->pump, err);
	return r;
fail:
	chan_free(ch);
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- while the dump is held at post-dump ---- */

static int send_images(struct src *s, ckpt_err *err)
{
	DIR *d;
	struct dirent *e;
	int fd, r = 0;

	fd = fcntl(s->img_fd, F_DUPFD_CLOEXEC, 3);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(err, CKPT_EIMAGES, errno,
			       "cannot list the staged images in '%s/images'", s->staging);
	}
	rewinddir(d);
	while (r == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		r = chan_send_file(s->ch, s->img_fd, e->d_name, err);
	}
	closedir(d);
	if (r == 0)
		r = chan_send_files_done(s->ch, err);
	return r;
}

/*
 * One RESULT, bounded by timeout_ms: 0 with it in res; 1 when the peer sent
 * ERROR instead (res then says FAILED with its stage and text); <0 when the
 * channel failed (no answer).
 */
static int recv_result(struct src *s, unsigned timeout_ms, struct chan_result *res, ckpt_err *err)
{
	struct chan_msg msg;
	int r;

	chan_set_timeout(s->ch, timeout_ms);
	r = chan_recv(s->ch, &msg, err);
	chan_set_timeout(s->ch, s->m->timeout_ms);
	if (r < 0)
		return r;
	if (msg.type == CHAN_MSG_RESULT) {
		*res = msg.u.result;
		return 0;
	}
	if (msg.type == CHAN_MSG_ERROR) {
		*res = (struct chan_result){ .status = CHAN_RESULT_FAILED,
					     .code = msg.u.error.code };
		snprintf(res->stage, sizeof(res->stage), "%s", msg.u.error.stage);
		snprintf(res->msg, sizeof(res->msg), "%s", msg.u.error.msg);
		return 1;
	}
	return err_set(err, CKPT_EPROTO, "the receiver %s sent %s (expected a RESULT)", s->mg->peer,
		       chan_type_name(msg.type));
}

static void note_running(struct src *s, const struct chan_result *res)
{
	s->running = true;
	s->t_running = now_us();
	s->mg->pid = res->pid;
	mig_stage(s->mg, s->lazy ? "pages" : "decision");
	mig_event(s->m, s->mg, CKPT_MIG_EV_RUNNING, "restore: pid %d runs on %s", (int)res->pid,
		  s->mg->peer);
}

static void note_dest_failure(struct src *s, const struct chan_result *res)
{
	s->dest_failed = true;
	if (s->running)
		s->dest_killed_copy = true; /* the receiver killed the copy it could not complete */
	src_fail(s, res->stage[0] ? res->stage : "restore", res->code < 0 ? res->code : CKPT_ECRIU,
		 "the receiver %s failed at %s: %s", s->mg->peer,
		 res->stage[0] ? res->stage : "restore", res->msg);
}

/* Ask the receiver over a new connection how the session ended: 1 running, 2 failed, 0 unknown or unreachable. */
static int resolve_once(struct src *s)
{
	ckpt_err e = CKPT_ERR_INIT;
	struct chan *rc = NULL;
	struct chan_msg msg;
	int fd = -1, ans = 0;

	if (mig_connect(s->host, s->port, s->m->timeout_ms, &fd, &e) < 0)
		goto out;
	if (chan_open(fd, CHAN_CONNECTING, s->cr, s->m->timeout_ms, &rc, &e) < 0)
		goto out;
	if (chan_send_resolve(rc, s->session, &e) < 0 ||
	    chan_expect(rc, CHAN_MSG_RESULT, &msg, &e) < 0)
		goto out;
	if (msg.u.result.status == CHAN_RESULT_RUNNING) {
		s->mg->pid = msg.u.result.pid;
		if (chan_send_ack(rc, CHAN_ACK_COMMITTED, &e) == 0)
			ans = 1;
	} else if (msg.u.result.status == CHAN_RESULT_FAILED) {
		note_dest_failure(s, &msg.u.result);
		chan_send_ack(rc, CHAN_ACK_RESUMED, &e);
		ans = 2;
	}
out:
	chan_free(rc);
	if (fd >= 0)
		close(fd);
	return ans;
}

/*
 * The answer to RESTORE was lost: CRIU stays blocked at post-dump (the tree
 * frozen) while the receiver is asked again; 0 kills the source (the
 * receiver runs it), -1 resumes it.
 */
static int hold_and_resolve(struct src *s)
{
	s->chan_broken = true;
	s->mg->held_by = s->conn->criu.pid;
	mig_stage(s->mg, "decision");
	mig_event(
		s->m, s->mg, CKPT_MIG_EV_HELD,
		"outcome unknown: the receiver's answer to the restore was lost; the source tree is frozen, held by "
		"criu pid %d; the receiver %s may be running it; asking it again",
		(int)s->conn->criu.pid, s->mg->peer);
	for (;;) {
		int ans = resolve_once(s), d;

		if (ans == 1) {
			s->running = true;
			s->t_running = now_us();
			s->decided = true;
			s->mg->held_by = 0;
			mig_event(s->m, s->mg, CKPT_MIG_EV_RUNNING,
				  "restore: the receiver says pid %d runs there", (int)s->mg->pid);
			return 0;
		}
		if (ans == 2) {
			s->mg->held_by = 0;
			return -1;
		}
		if (s->m->decide) {
			d = s->m->decide(s->m->decide_ud, s->mg);
			if (d == CKPT_MIG_KILL_SOURCE) {
				s->decided = true;
				s->running = true;
				s->t_running = now_us();
				s->mg->held_by = 0;
				return 0;
			}
			if (d == CKPT_MIG_RESUME_SOURCE) {
				s->decided = true;
				s->mg->held_by = 0;
				src_fail(
					s, "decision", CKPT_ECALLBACK,
					"the source was resumed by the caller's decision while the outcome at the "
					"receiver %s was unknown: check that the receiver does not run it too",
					s->mg->peer);
				return -1;
			}
		}
		poll(NULL, 0, MIG_RESOLVE_PERIOD_MS);
	}
}

static uint64_t pages_sent_so_far(struct src *s)
{
	return s->pump && !s->lazy ? pump_bytes_out(s->pump) : 0;
}

/* The images to the receiver, and its READY: 0, or -1 with the dump refused (the tree resumes). */
static int send_images_ready(struct src *s)
{
	ckpt_err e = CKPT_ERR_INIT;
	struct chan_result res;
	int r;

	r = send_images(s, &e);
	if (r == 0)
		r = recv_result(s, s->m->timeout_ms, &res, &e);
	if (r >= 0 && res.status != CHAN_RESULT_READY) {
		if (res.status == CHAN_RESULT_FAILED)
			note_dest_failure(s, &res);
		else
			r = err_set(
				&e, CKPT_EPROTO,
				"the receiver answered the images with status %u (expected ready)",
				res.status);
		r = r < 0 ? r : -1;
	}
	if (r < 0) {
		if (!s->have_fail) {
			err_prefix(&e, "sending the images to %s", s->mg->peer);
			src_fail_err(s, "transfer", &e);
		}
		chan_send_error(s->ch, s->fail.code, "transfer", s->fail.msg);
		s->refused = true;
		return -1;
	}
	s->t_ready = now_us();
	mig_set(s->mg, FIG_IMAGE_BYTES, chan_file_bytes_out(s->ch));
	mig_set(s->mg, FIG_IMAGE_FILES, chan_files_out(s->ch));
	mig_event(s->m, s->mg, CKPT_MIG_EV_IMAGES, "images: %u files, %.1f KiB in %.3f s%s%s",
		  chan_files_out(s->ch), (double)chan_file_bytes_out(s->ch) / 1024.0,
		  (double)(s->t_ready - s->t_postdump) / 1e6, res.msg[0] ? "; " : "", res.msg);
	return 0;
}

/* Copy mode: ask the receiver to restore; 0 when it runs there (or resolving says so), else -1. */
static int ask_restore(struct src *s)
{
	struct chan_restore rs = { .flags = 0 };
	ckpt_err e = CKPT_ERR_INIT;
	struct chan_result res;
	int r;

	s->t_restore_sent = now_us();
	s->restore_sent = true;
	r = chan_send_restore(s->ch, &rs, &e);
	if (r == 0)
		r = recv_result(s, s->m->timeout_ms * 20u, &res, &e);
	if (r >= 0 && res.status == CHAN_RESULT_RUNNING) {
		note_running(s, &res);
		s->acked = true;
		return 0;
	}
	if (r >= 0) {
		/* the receiver said the restore failed: nothing of it runs there */
		if (res.status == CHAN_RESULT_FAILED)
			note_dest_failure(s, &res);
		else
			src_fail(s, "restore", CKPT_EPROTO,
				 "the receiver answered the restore with status %u", res.status);
		s->refused = true;
		return -1;
	}
	/* no answer: the receiver may be running it */
	r = hold_and_resolve(s);
	if (r == 0)
		s->acked = true;
	else
		s->refused = true;
	return r;
}

/* post-dump: the tree is dumped and frozen; the images go over, then (copy) the restore there. */
static int on_post_dump(struct src *s)
{
	uint64_t sent, took;
	bool failed = false;

	s->t_postdump = now_us();
	s->post_dump_seen = true;
	if (s->lazy && pump_ended(s->pump, &failed) && failed) {
		/* the pages connection is gone: the lazy pages could never be served */
		ckpt_err e = CKPT_ERR_INIT;

		pump_join(s->pump, &e);
		src_fail_err(s, "transfer", &e);
		chan_send_error(s->ch, s->fail.code, "transfer", s->fail.msg);
		s->refused = true;
		return -1;
	}
	s->conn->deadline_us =
		0; /* held: the decision is ours, and waits on the network, not on a clock */
	took = s->t_postdump - (s->t_predump ? s->t_predump : s->t_hs);
	sent = pages_sent_so_far(s);
	mig_stage(s->mg, "transfer");
	if (sent) {
		mig_set(s->mg, FIG_PAGE_BYTES, sent);
		mig_event(s->m, s->mg, CKPT_MIG_EV_DUMPED,
			  "pages: %.1f MiB to %s in %.3f s (%.1f MB/s)", (double)sent / 1048576.0,
			  s->mg->peer, (double)took / 1e6,
			  took ? (double)sent / (double)took : 0.0);
	} else {
		mig_event(s->m, s->mg, CKPT_MIG_EV_DUMPED, "dumped in %.3f s%s", (double)took / 1e6,
			  s->lazy ? " (pages stay here until the receiver asks for them)" : "");
	}
	if (send_images_ready(s) < 0)
		return -1;
	mig_stage(s->mg, "restore");
	if (s->lazy) {
		/* the point of no return: CRIU keeps the network locked and serves the pages from here on */
		s->acked = true;
		return 0;
	}
	return ask_restore(s);
}

/* Lazy: what the receiver says while CRIU serves the pages (the dump's connection is waited on). */
static void on_channel(void *userdata)
{
	struct src *s = userdata;

	do {
		ckpt_err e = CKPT_ERR_INIT;
		struct chan_msg msg;

		if (chan_recv(s->ch, &msg, &e) < 0) {
			s->chan_broken = true;
			s->watch.fd = -1;
			return;
		}
		if (msg.type == CHAN_MSG_ERROR) {
			struct chan_result res = { .status = CHAN_RESULT_FAILED,
						   .code = msg.u.error.code };

			snprintf(res.stage, sizeof(res.stage), "%s", msg.u.error.stage);
			snprintf(res.msg, sizeof(res.msg), "%s", msg.u.error.msg);
			note_dest_failure(s, &res);
			s->watch.fd = -1;
			return;
		}
		if (msg.type != CHAN_MSG_RESULT) {
			s->chan_broken = true;
			s->watch.fd = -1;
			return;
		}
		if (msg.u.result.status == CHAN_RESULT_RUNNING && !s->running) {
			note_running(s, &msg.u.result);
		} else if (msg.u.result.status == CHAN_RESULT_PAGES_DONE) {
			char *end = NULL;
			unsigned long long bytes = strtoull(msg.u.result.msg, &end, 10);

			s->pages_done = true;
			s->t_pages_done = now_us();
			if (end && end != msg.u.result.msg && !strcmp(end, " bytes"))
				s->lazy_bytes = bytes;
			if (s->lazy_bytes && s->t_pages_done > s->t_restore_sent)
				mig_event(
					s->m, s->mg, CKPT_MIG_EV_PAGES_DONE,
					"pages: every page is at %s: %.1f MiB in %.3f s (%.1f MB/s)",
					s->mg->peer, (double)s->lazy_bytes / 1048576.0,
					(double)(s->t_pages_done - s->t_restore_sent) / 1e6,
					(double)s->lazy_bytes /
						(double)(s->t_pages_done - s->t_restore_sent));
			else
				mig_event(s->m, s->mg, CKPT_MIG_EV_PAGES_DONE,
					  "pages: every page is at %s", s->mg->peer);
		} else if (msg.u.result.status == CHAN_RESULT_FAILED) {
			note_dest_failure(s, &msg.u.result);
		}
	} while (chan_pending(s->ch));
}

/* Lazy: CRIU's lazy page server is about to serve (through our pump): the receiver may restore. */
static int on_status_ready(struct src *s)
{
	struct chan_restore rs = { .flags = CHAN_RESTORE_F_LAZY };
	ckpt_err e = CKPT_ERR_INIT;

	/*
	 * CRIU ignores a configuration file it cannot open: its lazy page
	 * server would then listen on a TCP port of every address, serving the
	 * frozen tree's memory to whoever connects first. It listens before it
	 * says status-ready, so a listener now is that case: refuse (CRIU's lazy
	 * session fails and it resumes the tree).
	 */
	if (procfs_tcp_listening(s->conn->criu.pid) != 0) {
		src_fail(s, "transfer", CKPT_ECRIU,
			 "criu's lazy page server did not take the socket it was given (it listens "
			 "on a TCP port, or that cannot be told): refused, the tree is resumed");
		return -1;
	}
	s->t_restore_sent = now_us();
	if (chan_send_restore(s->ch, &rs, &e) < 0) {
		/* the receiver cannot have started: refusing makes CRIU's lazy server fail, and CRIU resumes */
		err_prefix(&e, "asking %s for the restore", s->mg->peer);
		src_fail_err(s, "restore", &e);
		return -1;
	}
	s->restore_sent = true;
	s->watch = (struct conn_watch){ .fd = chan_fd(s->ch), .fn = on_channel, .userdata = s };
	s->conn->watch = &s->watch;
	if (chan_pending(s->ch))
		on_channel(s);
	return 0;
}

static const struct notify_slot *user_slot(const struct notify_table *t, const char *name)
{
	const struct notify_slot *any = NULL;

	for (size_t i = 0; i < t->n; i++) {
		if (!t->v[i].name)
			any = &t->v[i];
		else if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	}
	return any;
}

static int src_notify(void *userdata, ckpt_notify *ev)
{
	struct src *s = userdata;
	const char *name = ckpt_notify_name(ev);
	const struct notify_slot *slot = user_slot(&s->c->notify, name);

	if (slot) {
		int r = slot->fn(slot->userdata, ev);

		if (r < 0) {
			src_fail(
				s, s->post_dump_seen ? "decision" : "transfer", CKPT_ECALLBACK,
				"the '%s' notification callback failed (returned %d); criu resumes the tree",
				name, r);
			if (!strcmp(name, "post-dump")) {
				s->post_dump_seen = true;
				s->refused = true;
			}
			return r;
		}
	}
	if (!strcmp(name, "pre-dump"))
		s->t_predump = now_us();
	else if (!strcmp(name, "post-dump"))
		return on_post_dump(s);
	else if (!strcmp(name, "status-ready") && s->lazy)
		return on_status_ready(s);
	return 0;
}

/* ---- the dump ---- */

/*
 * The user's options plus what migration needs: the staging dirs, and CRIU's
 * end of the pump's socketpair as its page socket: ps.fd for a copy dump's
 * page client; for a lazy dump, whose page server CRIU's RPC would put on a
 * TCP port of its own (ps.fd is ignored with lazy_pages), the same fd is
 * handed over and named in a configuration file (dump_lazy_socket).
 */
static int dump_opts(struct src *s, ckpt_opts **ret, ckpt_err *err)
{
	ckpt_opts *d = NULL;
	CriuOpts *pb;
	int r;

	r = ckpt_opts_clone(s->o, &d, err);
	if (r < 0)
		return r;
	r = ckpt_opts_set_images_dir_fd(d, s->img_fd, err);
	if (r == 0)
		r = ckpt_opts_set_work_dir_fd(d, s->work_fd, err);
	if (r == 0 && s->lazy)
		r = ckpt_opts_set_bool(d, CKPT_OPT_LAZY_PAGES, true, err);
	if (r == 0) {
		pb = d->pb;
		if (pb->ps)
			criu_page_server_info__free_unpacked(pb->ps, NULL);
		pb->ps = malloc(sizeof(*pb->ps));
		if (!pb->ps) {
			r = err_set(err, CKPT_ENOMEM, "out of memory");
		} else {
			criu_page_server_info__init(pb->ps);
			pb->ps->has_fd = true;
			pb->ps->fd = pump_criu_fd(s->pump);
		}
	}
	if (r < 0) {
		ckpt_opts_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

/*
 * Lazy: CRIU's RPC reads only ps.port with lazy_pages, but a configuration
 * file named in the request is applied after the RPC options
 * (criu/cr-service.c, config_file): "ps-socket N" there makes the lazy page
 * server serve on fd N (cr_page_server, "Reusing ps socket") instead of
 * listening on a port. N is the number criu sees for the pump's end (ps.fd,
 * numbered by request_build). A configuration file can carry action-script:
 * it reaches criu as an fd of ours (a file in the private staging dir, opened
 * once), named /proc/self/fd/M, never by a path another user could swap.
 */
static int dump_lazy_socket(struct src *s, struct request *rq, ckpt_err *err)
{
	char path[64], line[32];
	CriuOpts *pb = rq->req.opts;
	int n;

	if (!pb->ps || !pb->ps->has_fd)
		return err_set(err, CKPT_EPROTO, "lazy dump: no page socket in the request");
	if (rq->n_fds >= ARRAY_SIZE(rq->fds))
		return err_set(err, CKPT_EINVAL, "lazy dump: too many fds for criu");
	n = snprintf(line, sizeof(line), "ps-socket %d\n", pb->ps->fd);
	s->conf_fd = openat(s->work_fd, "lazy-ps.conf",
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->conf_fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "lazy dump: '%s/work/lazy-ps.conf'",
			       s->staging);
	if (write(s->conf_fd, line, (size_t)n) != n || lseek(s->conf_fd, 0, SEEK_SET) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "lazy dump: '%s/work/lazy-ps.conf'",
			       s->staging);
	rq->fds[rq->n_fds].src = s->conf_fd;
	rq->fds[rq->n_fds].dst = SWRK_PASS_BASE + (int)rq->n_fds;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rq->fds[rq->n_fds].dst);
	rq->n_fds++;
	free(pb->config_file);
	pb->config_file = strdup(path);
	if (!pb->config_file)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	return 0;
}

static void read_dump_stats(struct src *s, uint64_t t_reply)
{
	ckpt_image_info *info = NULL;
	uint64_t frozen = 0, freezing = 0, written = 0, lazy = 0;
	uint64_t t_freeze = s->t_predump ? s->t_predump : s->t_hs;

	if (ckpt_image_info_read_stats(s->work_fd, NULL, &info, NULL) == 0) {
		/*
		 * CRIU's clock: when it began to freeze (the frozen time ends
		 * just before its reply). A lazy dump's server resets the
		 * statistics, so only a copy dump's are taken, and only when
		 * they fall between our pre-dump and post-dump.
		 */
		if (!s->lazy && ckpt_image_info_stat(info, CKPT_STAT_FROZEN_TIME, &frozen) == 0 &&
		    ckpt_image_info_stat(info, CKPT_STAT_FREEZING_TIME, &freezing) == 0 &&
		    frozen + freezing < t_reply && t_reply - frozen - freezing >= t_freeze &&
		    (!s->t_postdump || t_reply - frozen - freezing <= s->t_postdump))
			t_freeze = t_reply - frozen - freezing;
		ckpt_image_info_stat(info, CKPT_STAT_PAGES_WRITTEN, &written);
		ckpt_image_info_stat(info, CKPT_STAT_PAGES_LAZY, &lazy);
		if (s->lazy && lazy && !s->lazy_bytes)
			mig_set(s->mg, FIG_PAGE_BYTES, lazy * PAGE_BYTES_PER_PAGE);
		else if (!s->lazy && written)
			mig_set(s->mg, FIG_PAGE_BYTES, written * PAGE_BYTES_PER_PAGE);
		ckpt_image_info_free(info);
	}
	if (s->t_predump && t_freeze < s->t_predump)
		t_freeze = s->t_predump;
	if (s->lazy && s->lazy_bytes)
		mig_set(s->mg, FIG_PAGE_BYTES, s->lazy_bytes);
	/* the figures */
	if (s->t_ready) {
		mig_set(s->mg, FIG_TRANSFER, s->t_ready - t_freeze);
		if (s->t_ready > s->t_postdump)
			mig_set(s->mg, FIG_IMAGE_RATE,
				s->mg->fig[FIG_IMAGE_BYTES] * 1000000ull /
					(s->t_ready - s->t_postdump));
	}
	if (s->running && s->t_running > s->t_restore_sent && s->t_restore_sent) {
		mig_set(s->mg, FIG_RESTORE, s->t_running - s->t_restore_sent);
		mig_set(s->mg, FIG_DOWNTIME, s->t_running - t_freeze);
	}
	mig_set(s->mg, FIG_FROZEN, t_reply - t_freeze);
	if (s->mg->have[FIG_PAGE_BYTES]) {
		uint64_t span = s->lazy ? (s->t_pages_done ? s->t_pages_done : t_reply) -
						  s->t_restore_sent :
					  s->t_postdump - t_freeze;

		if (span)
			mig_set(s->mg, FIG_PAGE_RATE,
				s->mg->fig[FIG_PAGE_BYTES] * 1000000ull / span);
	}
}

/*
 * After a lazy dump: what the receiver still has to say, until the channel
 * timeout. DRAIN_PAGES_DONE: running, then pages done (the good end);
 * DRAIN_VERDICT: after our lazy session failed, whether the receiver killed
 * its copy (RESULT failed), or every page had reached it; both end early on
 * a failure or a closed channel.
 */
enum drain { DRAIN_PAGES_DONE, DRAIN_VERDICT };

static bool drain_more(const struct src *s, enum drain want)
{
	if (s->chan_broken || s->dest_failed)
		return false;
	return want == DRAIN_VERDICT ? !s->pages_done : !s->running || !s->pages_done;
}

static void drain_channel(struct src *s, enum drain want)
{
	uint64_t until = now_us() + (uint64_t)s->m->timeout_ms * 1000;

	while (drain_more(s, want) && now_us() < until) {
		struct pollfd p = { .fd = chan_fd(s->ch), .events = POLLIN };

		if (!chan_pending(s->ch) && poll(&p, 1, poll_ms_until(until)) <= 0)
			break;
		s->watch.fd = chan_fd(s->ch);
		on_channel(s);
	}
}

/* ---- ckpt_migrate_source, step by step ---- */

/* The checks: nothing is frozen or sent before these pass. */
static int source_checks(struct src *s, const char *to, ckpt_err *err)
{
	const ckpt_opts *o = s->o;
	const ckpt_migrate_opts *m = s->m;
	int r;

	r = mig_auth_check(m, err);
	if (r < 0)
		return r;
	if (s->c->service_path)
		return err_set(
			err, CKPT_ENOTSUP,
			"migrate: needs a criu spawned by libckpt (swrk), not a criu service");
	if (!o->pb->has_pid)
		return err_set(err, CKPT_EINVAL, "migrate: no target pid set (ckpt_opts_set_pid)");
	if ((o->pb->has_leave_running && o->pb->leave_running) ||
	    (o->pb->has_leave_stopped && o->pb->leave_stopped))
		return err_set(
			err, CKPT_EINVAL,
			"migrate: leave-running and leave-stopped are refused: the tree would run on both hosts");
	r = ckpt_parse_address_port(to, s->host, sizeof(s->host), &s->port, err);
	if (r < 0)
		return r;
	if (!s->host[0] || s->port == 0)
		return err_set(err, CKPT_EINVAL,
			       "migrate: '%s': expected HOST:PORT of a `ckpt receive`", to);
	r = mig_creds(m, CHAN_CONNECTING, s->host, &s->cr, err);
	if (r < 0)
		return r;
	if (s->lazy && (r = check_pipe_size(err)) < 0)
		return r;
	if (proc_open(&s->target, o->pb->pid) == -ESRCH)
		return err_set(err, CKPT_ENOTARGET, "migrate: pid %d: no such process",
			       (int)o->pb->pid);
	return staging_make(s, err);
}

/* The handshake with the receiver at to, and the pages connection. */
static int source_handshake(struct src *s, const char *to, ckpt_err *err)
{
	ckpt_err e = CKPT_ERR_INIT;
	int r;

	r = handshake(s, &e);
	if (r == 0)
		r = pages_connection(s, &e);
	if (r < 0) {
		err_prefix(&e, "%s", to);
		err_copy(err, &e);
		err_at(err, "handshake", r);
		return r;
	}
	s->t_hs = now_us();
	mig_set(s->mg, FIG_HANDSHAKE, s->t_hs - s->t_start);
	mig_event(s->m, s->mg, CKPT_MIG_EV_CONNECTED,
		  "handshake: receiver %s (%s), %s mode, %s, criu check and cpu ok", s->mg->peer,
		  s->mg->peer_versions, s->lazy ? "lazy" : "copy", chan_cipher(s->ch));
	chan_set_timeout(s->ch, s->m->timeout_ms);
	return 0;
}

/* The dump's options and request, our notify table on call. */
static int dump_prepare(struct src *s, struct call *call, struct request *rq, ckpt_opts **dopts,
			ckpt_err *err)
{
	struct request_env env;
	int r;

	r = dump_opts(s, dopts, err);
	if (r < 0)
		return r;
	env = (struct request_env){
		.swrk = true, .notify = true, .images_fd = s->img_fd, .work_fd = s->work_fd
	};
	r = request_build(rq, CRIU_REQ_TYPE__DUMP, *dopts, &env, err);
	if (r == 0 && s->lazy)
		r = dump_lazy_socket(s, rq, err);
	if (r < 0)
		return r;
	if (notify_table_set(&s->table, NULL, src_notify, s, err) < 0)
		return CKPT_ENOMEM;
	call->x.table = &s->table;
	call->opts = *dopts;
	call->lp.dirfd = s->work_fd;
	call->lp.name = rq->log_name;
	return 0;
}

/*
 * Run the dump, held at post-dump while the images go over (the notify
 * callbacks do the transfer): *ret_result is CRIU's answer. Negative when
 * criu could not be started (nothing was frozen; e says why).
 */
static int dump_run(struct src *s, struct call *call, struct request *rq, int *ret_result,
		    ckpt_err *e)
{
	struct conn conn = CONN_INIT;
	CriuResp *resp = NULL;
	int r;

	r = call_open(call, rq, &conn, e);
	if (r < 0)
		return r;
	/* criu has its end of the socketpair: ours goes, so that its close reaches the pump */
	pump_criu_fd_close(s->pump);
	s->conn = &conn;
	r = call_exchange(call, &conn, rq, &resp, e);
	conn.watch = NULL;
	s->t_end = now_us();
	if (resp)
		criu_resp__free_unpacked(resp, NULL);
	call_close(call, &conn, r);
	s->conn = NULL;
	*ret_result = r;
	return 0;
}

/* CRIU killed the tree (copy) or served every page and then killed it (lazy). */
static int outcome_committed(struct src *s)
{
	s->keep_logs = false;
	mig_set(s->mg, FIG_RELEASED, s->t_end - s->t_start);
	mig_event(s->m, s->mg, CKPT_MIG_EV_SOURCE_RELEASED,
		  "the source tree is gone: the source can go");
	if (s->lazy) {
		ckpt_err pe = CKPT_ERR_INIT;

		drain_channel(s, DRAIN_PAGES_DONE);
		/* CRIU's answer to the receiver's close must reach it: the pump ends by itself */
		if (pump_join(s->pump, &pe) < 0)
			log_at(&s->c->log, CKPT_LOG_WARNING, "migrate: the pages stream ended: %s",
			       pe.msg);
	}
	read_dump_stats(s, s->t_end);
	if (s->pages_done)
		mig_set(s->mg, FIG_PAGES_DONE, s->t_pages_done - s->t_start);
	if (!s->chan_broken && !s->decided) {
		ckpt_err ae = CKPT_ERR_INIT;

		chan_send_ack(s->ch, CHAN_ACK_COMMITTED, &ae);
	}
	s->mg->outcome = CKPT_MIG_DONE;
	mig_stage(s->mg, "done");
	return 0;
}

/* The lazy session failed after our point of no return: CRIU resumed the tree, network locked. */
static int outcome_lazy_failed(struct src *s, ckpt_err *err)
{
	ckpt_migration *mg = s->mg;
	const char *there;
	char here[200], when[64];
	bool alive;
	int r;

	/*
	 * The receiver learns of the failure through its relay, kills a copy
	 * it ran and says so: that word comes after CRIU's reply here, so wait
	 * for it (the channel timeout at most) before judging.
	 */
	if (s->restore_sent)
		drain_channel(s, DRAIN_VERDICT);
	alive = !proc_exited(&s->target);
	read_dump_stats(s, s->t_end);
	if (alive && (!s->running || s->dest_killed_copy)) {
		ckpt_err ae = CKPT_ERR_INIT;

		if (!s->have_fail)
			src_fail(
				s, "restore", CKPT_ECRIU,
				"the lazy page transfer to %s failed before the restored tree ran there",
				mg->peer);
		err_copy(err, &s->fail);
		err_append(err, "(the source tree was resumed)");
		s->keep_logs = false;
		recover_after_dump(s->o, &s->target, err);
		if (!s->chan_broken)
			chan_send_ack(s->ch, CHAN_ACK_RESUMED, &ae);
		mg->outcome = CKPT_MIG_FAILED;
		return s->fail.code ? s->fail.code : CKPT_ECRIU;
	}
	if (s->running && s->pages_done && !s->dest_failed)
		there = "every page had reached it, so that copy is whole and runs";
	else if (s->dest_killed_copy)
		there = "it lacked pages and the receiver killed it";
	else if (s->running)
		there = "it lacks the pages not copied yet, which are lost to it, and the receiver's "
			"word on it was lost (a receiver kills such a copy: check there)";
	else
		there = "the receiver did not say whether it runs it";
	if (alive)
		snprintf(here, sizeof(here),
			 "CRIU resumed the source tree here (pid %d) with all its memory, its "
			 "network still locked by CRIU and left so: decide which copy to keep",
			 (int)s->target.pid);
	else
		snprintf(here, sizeof(here), "the source tree is gone");
	if (mg->pid > 0)
		snprintf(when, sizeof(when), "the restored tree ran there (pid %d)", (int)mg->pid);
	else
		snprintf(when, sizeof(when), "the restore there was asked for");
	r = err_set(err, CKPT_ECRIU, "the lazy page transfer to %s failed after %s: %s; %s",
		    mg->peer, when, there, here);
	err_at(err, "pages", r);
	if (err)
		err->flags |= CKPT_ERR_F_OUTCOME_UNKNOWN;
	mig_stage(mg, "pages");
	mg->outcome = CKPT_MIG_UNKNOWN;
	return r;
}

/* We refused post-dump (or status-ready): CRIU resumed the tree and unlocked its network. */
static int outcome_refused(struct src *s, const ckpt_err *e, ckpt_err *err)
{
	ckpt_err ae = CKPT_ERR_INIT;

	read_dump_stats(s, s->t_end);
	if (!s->have_fail)
		src_fail_err(s, "transfer", e);
	if (s->restore_sent || s->dest_failed)
		s->keep_logs =
			false; /* the dump went well: the log that matters is the receiver's */
	err_copy(err, &s->fail);
	err_append(err, "(the source tree was resumed by criu)");
	if (!s->chan_broken && s->restore_sent && s->dest_failed)
		chan_send_ack(s->ch, CHAN_ACK_RESUMED, &ae);
	s->mg->outcome = CKPT_MIG_FAILED;
	return err->code ? err->code : CKPT_ECALLBACK;
}

/* The dump itself failed (the page connection included): CRIU resumed the tree. */
static int outcome_dump_failed(struct src *s, int r, const ckpt_err *e, ckpt_err *err)
{
	read_dump_stats(s, s->t_end);
	err_copy(err, e);
	err_prefix(err, "the dump with its pages streamed to %s failed", s->mg->peer);
	err_at(err, "transfer", r);
	mig_stage(s->mg, "transfer");
	chan_send_error(s->ch, r, "transfer", err ? err->msg : "the dump failed");
	s->mg->outcome = CKPT_MIG_FAILED;
	return r;
}

/* Criu went away or talked nonsense: what is known from the tree and the receiver. */
static int outcome_criu_gone(struct src *s, int r, const ckpt_err *e, ckpt_err *err)
{
	bool alive = !proc_exited(&s->target);

	err_copy(err, e);
	if (alive && !s->acked) {
		err_append(err, "; the source tree still runs");
		recover_after_dump(s->o, &s->target, err);
		chan_send_error(s->ch, r, "transfer", "the source's criu failed");
		s->mg->outcome = CKPT_MIG_FAILED;
	} else if (!alive && s->acked) {
		s->mg->outcome =
			CKPT_MIG_DONE; /* acked, and the tree is gone: it runs on the receiver */
		mig_stage(s->mg, "done");
		s->keep_logs = false;
		r = 0;
	} else {
		err_append(err, "; outcome unknown: the tree %s here and the receiver %s",
			   alive ? "still exists" : "is gone",
			   s->running ? "runs it" : "may not run it");
		if (err)
			err->flags |= CKPT_ERR_F_OUTCOME_UNKNOWN;
		s->mg->outcome = CKPT_MIG_UNKNOWN;
	}
	return r;
}

/* What happened, from the dump's result r (e its error) and what the channel said. */
static int dump_outcome(struct src *s, int r, const ckpt_err *e, ckpt_err *err)
{
	if (r == 0 && s->acked)
		return outcome_committed(s);
	if (s->lazy && s->acked)
		return outcome_lazy_failed(s, err);
	if (s->refused || (r == CKPT_ECALLBACK && s->post_dump_seen))
		return outcome_refused(s, e, err);
	if (!s->post_dump_seen && !call_outcome_unknown(r))
		return outcome_dump_failed(s, r, e, err);
	return outcome_criu_gone(s, r, e, err);
}

/* The figures, the event, the staging dir kept or removed, everything freed and closed. */
static void source_end(struct src *s, struct call *call, struct request *rq, ckpt_opts *dopts,
		       int r, ckpt_err *err)
{
	ckpt_migration *mg = s->mg;

	if (s->ch) {
		mig_set(mg, FIG_CTL_OUT, chan_wire_out(s->ch));
		mig_set(mg, FIG_CTL_IN, chan_wire_in(s->ch));
	}
	mig_set(mg, FIG_TOTAL, now_us() - s->t_start);
	if (r < 0 && mg->stage[0] && strcmp(mg->stage, "done"))
		err_prefix(
			err, "%s",
			mg->stage); /* the stage first: handshake, transfer, restore, pages, decision */
	if (r < 0 && s->keep_logs && err && s->staging[0])
		snprintf(err->log_path, sizeof(err->log_path), "%s/work/%s", s->staging,
			 rq->log_name[0] ? rq->log_name : "dump.log");
	staging_end(s, r < 0 && s->keep_logs);
	mig_event(s->m, mg, CKPT_MIG_EV_DONE, "%s", r == 0 ? "done" : err ? err->msg : "failed");
	exchange_done(&call->x);
	notify_table_free(&s->table);
	request_free(rq);
	ckpt_opts_free(dopts);
	pump_free(s->pump);
	chan_free(s->ch);
	chan_creds_free(s->cr);
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	if (s->img_fd >= 0)
		close(s->img_fd);
	if (s->work_fd >= 0)
		close(s->work_fd);
	if (s->cpu_fd >= 0)
		close(s->cpu_fd);
	if (s->conf_fd >= 0)
		close(s->conf_fd);
	proc_close(&s->target);
}

int ckpt_migrate_source(ckpt_client *c, const ckpt_opts *o, const ckpt_migrate_opts *m,
			const char *to, ckpt_migration *mg, ckpt_err *err)
{
	struct src s = { .c = c,
			 .o = o,
			 .m = m,
			 .mg = mg,
			 .ctl_fd = -1,
			 .target = PROC_INIT,
			 .staging_fd = -1,
			 .img_fd = -1,
			 .work_fd = -1,
			 .cpu_fd = -1,
			 .conf_fd = -1,
			 .keep_logs = true };
	ckpt_opts *dopts = NULL;
	struct request rq;
	struct call call;
	ckpt_err e = CKPT_ERR_INIT;
	int r, result = 0;

	assert_return(c && o && m && to && mg, err, "migrate: NULL argument");
	memset(&rq, 0, sizeof(rq));
	s.fail.version = CKPT_ERR_VERSION;
	mig_reset(mg, false);
	s.t_start = now_us();
	s.lazy = m->lazy;
	mg->lazy = s.lazy;
	mig_stage(mg, "handshake");
	call_init(&call, c, "dump", false);

	r = source_checks(&s, to, err);
	if (r == 0)
		r = source_handshake(&s, to, err);
	if (r == 0) {
		mig_stage(mg, "transfer");
		r = dump_prepare(&s, &call, &rq, &dopts, err);
	}
	if (r == 0 && (r = dump_run(&s, &call, &rq, &result, &e)) < 0)
		err_copy(err, &e);
	if (r == 0) {
		r = dump_outcome(&s, result, &e, err);
	} else {
		/* nothing was frozen: the tree runs on untouched */
		mg->outcome = CKPT_MIG_FAILED;
		if (s.ch)
			chan_send_error(s.ch, r, mg->stage, err ? err->msg : "the source gave up");
		s.keep_logs = false;
	}
	source_end(&s, &call, &rq, dopts, r, err);
	return r;
}
