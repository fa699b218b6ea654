/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's source side: the dump (its options, the lazy page socket,
 * its figures, what the receiver still says after it), and
 * ckpt_migrate_source step by step: the checks, the handshake, the dump run
 * (held at post-dump by source-held.c), its outcome (CRIU killed or resumed
 * the tree) and the end. The parts share source.h.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "dl-gnutls.h"
#include "pump.h"
#include "source-int.h"
#include "base/log.h"
#include "ops/recover.h"
#include "proc/procfs.h"
#include "rpc/call.h"
#include "rpc/client.h"

#define PAGE_BYTES_PER_PAGE 4096u

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
	int r;

	r = ckpt_opts_clone(s->o, &d, err);
	if (r < 0)
		return r;
	r = ckpt_opts_set_images_dir_fd(d, s->img_fd, err);
	if (r == 0)
		r = ckpt_opts_set_work_dir_fd(d, s->work_fd, err);
	if (r == 0 && s->lazy)
		r = ckpt_opts_set_bool(d, CKPT_OPT_LAZY_PAGES, true, err);
	if (r == 0)
		r = opts_set_page_socket(d, pump_criu_fd(s->pump), err);
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
	int ps = request_page_socket(rq), conf, n;

	if (ps < 0)
		return err_set(err, CKPT_EPROTO, "lazy dump: no page socket in the request");
	n = snprintf(line, sizeof(line), "ps-socket %d\n", ps);
	s->conf_fd = openat(s->work_fd, "lazy-ps.conf",
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->conf_fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "lazy dump: '%s/work/lazy-ps.conf'",
			       s->staging);
	if (write(s->conf_fd, line, (size_t)n) != n || lseek(s->conf_fd, 0, SEEK_SET) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "lazy dump: '%s/work/lazy-ps.conf'",
			       s->staging);
	if (request_pass_fd(rq, s->conf_fd, &conf, err) < 0)
		return CKPT_EINVAL;
	snprintf(line, sizeof(line), "fd/%d", conf);
	procfs_path(path, sizeof(path), PROCFS_SELF, line); /* criu's own fd table */
	return request_set_config_file(rq, path, err);
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
		src_on_channel(s);
	}
}

/* ---- ckpt_migrate_source, step by step ---- */

/* The checks: nothing is frozen or sent before these pass. */
static int source_checks(struct src *s, const char *to, ckpt_err *err)
{
	const ckpt_opts *o = s->o;
	const ckpt_migrate_opts *m = s->m;
	char why[256];
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
	if (s->lazy && (r = src_check_pipe_size(err)) < 0)
		return r;
	if (proc_open_errno(&s->target, o->pb->pid) == -ESRCH)
		return err_set(err, CKPT_ENOTARGET, "migrate: pid %d: no such process",
			       (int)o->pb->pid);
	if (procfs_undumpable(o->pb->pid, why, sizeof(why))) {
		err_set(err, CKPT_EINVAL, "migrate: refused: %s (nothing was frozen)", why);
		err_hint(err, 0, UNDUMPABLE_HINT);
		return CKPT_EINVAL;
	}
	return src_staging_make(s, err);
}

/* The handshake with the receiver at to, and the pages connection. */
static int source_handshake(struct src *s, const char *to, ckpt_err *err)
{
	ckpt_err e = CKPT_ERR_INIT;
	int r;

	r = src_handshake(s, &e);
	if (r == 0)
		r = src_pages_connection(s, &e);
	if (r < 0) {
		err_prefix(&e, "%s", to);
		err_copy(err, &e);
		err_at(err, "handshake", r);
		return r;
	}
	s->t_hs = now_us();
	mig_set(s->mg, FIG_HANDSHAKE, s->t_hs - s->t_start);
	mig_event(s->m, s->mg, CKPT_MIGRATE_EV_CONNECTED,
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
	mig_event(s->m, s->mg, CKPT_MIGRATE_EV_SOURCE_RELEASED,
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
	s->mg->outcome = CKPT_MIGRATE_OUTCOME_DONE;
	mig_stage(s->mg, "done");
	return 0;
}

/* The lazy session failed after our point of no return: CRIU resumed the tree, network locked. */
static int outcome_lazy_failed(struct src *s, ckpt_err *err)
{
	ckpt_migrate_result *mg = s->mg;
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
		mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
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
	mg->outcome = CKPT_MIGRATE_OUTCOME_UNKNOWN;
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
	s->mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
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
	s->mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
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
		s->mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
	} else if (!alive && s->acked) {
		s->mg->outcome =
			CKPT_MIGRATE_OUTCOME_DONE; /* acked, and the tree is gone: it runs on the receiver */
		mig_stage(s->mg, "done");
		s->keep_logs = false;
		r = 0;
	} else {
		err_append(err, "; outcome unknown: the tree %s here and the receiver %s",
			   alive ? "still exists" : "is gone",
			   s->running ? "runs it" : "may not run it");
		if (err)
			err->flags |= CKPT_ERR_F_OUTCOME_UNKNOWN;
		s->mg->outcome = CKPT_MIGRATE_OUTCOME_UNKNOWN;
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
	ckpt_migrate_result *mg = s->mg;

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
	src_staging_end(s, r < 0 && s->keep_logs);
	mig_event(s->m, mg, CKPT_MIGRATE_EV_DONE, "%s",
		  r == 0 ? "done" :
		  err	 ? err->msg :
			   "failed");
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
			const char *to, ckpt_migrate_result *mg, ckpt_err *err)
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
	r = dl_need_gnutls(err); /* GnuTLS, loaded now if it was not */
	if (r < 0)
		return r;
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
		mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
		if (s.ch)
			chan_send_error(s.ch, r, mg->stage, err ? err->msg : "the source gave up");
		s.keep_logs = false;
	}
	source_end(&s, &call, &rq, dopts, r, err);
	return r;
}
