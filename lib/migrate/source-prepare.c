/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's source side, before anything is frozen: the checks of the
 * host (the pipe size a lazy dump needs), the private staging directory, the
 * handshake with the receiver (CPU info, versions) and the pages connection;
 * and the reason the source refused or failed, kept for every phase (src_fail).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pump.h"
#include "source-int.h"
#include "proc/procfs.h"

/* ---- why the source refused or failed ---- */

int src_fail(struct src *s, const char *stage, int code, const char *fmt, ...)
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
int src_fail_err(struct src *s, const char *stage, const ckpt_err *e)
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
int src_check_pipe_size(ckpt_err *err)
{
	char buf[4096], *cap;
	unsigned long long max = 0, eff = 0;
	int r;

	if (procfs_read_at(PROCFS_SELF, "status", buf, sizeof(buf)) > 0 &&
	    (cap = strstr(buf, "\nCapEff:")))
		eff = strtoull(cap + 8, NULL, 16);
	if (eff & (1ull << 24)) /* CAP_SYS_RESOURCE: the kernel lets any pipe size through */
		return 0;
	if (procfs_read_at(PROCFS_ROOT, "sys/fs/pipe-max-size", buf, 64) <= 0)
		return err_sys(err, CKPT_ESYS, errno,
			       "--lazy: cannot read /proc/sys/fs/pipe-max-size");
	max = strtoull(buf, NULL, 10);
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

int src_staging_make(struct src *s, ckpt_err *err)
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
void src_staging_end(struct src *s, bool keep_logs)
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

int src_handshake(struct src *s, ckpt_err *err)
{
	struct chan_hello h = { 0 };
	struct chan_msg msg = { 0 }; /* chan_expect fills it; zeroed for the analyzer */
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
int src_pages_connection(struct src *s, ckpt_err *err)
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
