/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's source side while the dump is held at post-dump: the
 * images sent, the receiver's READY, the restore asked for there (copy), the
 * lazy session's messages, a lost answer resolved over a new connection, and
 * the dump's notify callback that drives it all.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>

#include "pump.h"
#include "source-int.h"
#include "proc/procfs.h"
#include "rpc/client.h"

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
	mig_event(s->m, s->mg, CKPT_MIGRATE_EV_RUNNING, "restore: pid %d runs on %s", (int)res->pid,
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
		s->m, s->mg, CKPT_MIGRATE_EV_HELD,
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
			mig_event(s->m, s->mg, CKPT_MIGRATE_EV_RUNNING,
				  "restore: the receiver says pid %d runs there", (int)s->mg->pid);
			return 0;
		}
		if (ans == 2) {
			s->mg->held_by = 0;
			return -1;
		}
		if (s->m->decide) {
			d = s->m->decide(s->m->decide_ud, s->mg);
			if (d == CKPT_MIGRATE_DECIDE_KILL_SOURCE) {
				s->decided = true;
				s->running = true;
				s->t_running = now_us();
				s->mg->held_by = 0;
				return 0;
			}
			if (d == CKPT_MIGRATE_DECIDE_RESUME_SOURCE) {
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
	mig_event(s->m, s->mg, CKPT_MIGRATE_EV_IMAGES, "images: %u files, %.1f KiB in %.3f s%s%s",
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
		mig_event(s->m, s->mg, CKPT_MIGRATE_EV_DUMPED,
			  "pages: %.1f MiB to %s in %.3f s (%.1f MB/s)", (double)sent / 1048576.0,
			  s->mg->peer, (double)took / 1e6,
			  took ? (double)sent / (double)took : 0.0);
	} else {
		mig_event(s->m, s->mg, CKPT_MIGRATE_EV_DUMPED, "dumped in %.3f s%s",
			  (double)took / 1e6,
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
void src_on_channel(void *userdata)
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
					s->m, s->mg, CKPT_MIGRATE_EV_PAGES_DONE,
					"pages: every page is at %s: %.1f MiB in %.3f s (%.1f MB/s)",
					s->mg->peer, (double)s->lazy_bytes / 1048576.0,
					(double)(s->t_pages_done - s->t_restore_sent) / 1e6,
					(double)s->lazy_bytes /
						(double)(s->t_pages_done - s->t_restore_sent));
			else
				mig_event(s->m, s->mg, CKPT_MIGRATE_EV_PAGES_DONE,
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
	s->watch = (struct conn_watch){ .fd = chan_fd(s->ch), .fn = src_on_channel, .userdata = s };
	s->conn->watch = &s->watch;
	if (chan_pending(s->ch))
		src_on_channel(s);
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

int src_notify(void *userdata, ckpt_notify *ev)
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
