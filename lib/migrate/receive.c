/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's receiving side: accept and authenticate, check (versions,
 * criu check, CPU), one session (the pages connection, the images, the
 * restore, the lazy pages, the source's last word), answers to a source
 * that lost ours, and the figures. The parts share receive.h.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gate.h"
#include "dl-gnutls.h"
#include "pump.h"
#include "receive-int.h"
#include "images/imgdir.h"
#include "rpc/call.h"
#include "rpc/client.h"

enum { CONT = 1 }; /* serve_connection: refused; listen on */

/* ---- one session ---- */

static void session_free(struct rcv *r)
{
	rcv_session_unlock(r);
	rcv_page_server_end(r, false);
	pump_free(r->pump);
	r->pump = NULL;
	rcv_daemon_kill(r);
	chan_free(r->ch);
	r->ch = NULL;
	if (r->ctl_fd >= 0)
		close(r->ctl_fd);
	r->ctl_fd = -1;
}

/* The session failed before the tree ran here: nothing of it stays but CRIU's logs and the record. */
static int session_fail(struct rcv *r, const char *stage, int code, ckpt_err *err)
{
	struct chan_result res = { .status = CHAN_RESULT_FAILED, .code = code };

	if (r->pump)
		pump_abort(
			r->pump); /* before the daemon can close cleanly: the source resumes its tree */
	rcv_daemon_kill(r);
	rcv_page_server_end(r, false);
	rcv_record_write(r, "failed");
	if (r->ch) {
		snprintf(res.stage, sizeof(res.stage), "%s", stage);
		bool say_log = err && err->log_path[0] && !strstr(err->msg, err->log_path);

		snprintf(res.msg, sizeof(res.msg), "%s%s%s%s",
			 err && err->msg[0] ? err->msg : ckpt_strerror(code),
			 say_log ? " (log on the receiver: " : "", say_log ? err->log_path : "",
			 say_log ? ")" : "");
		chan_send_result(r->ch, &res, NULL);
	}
	rcv_session_dirs_end(r, true);
	err_at(err, stage, code);
	mig_stage(r->mg, stage);
	r->mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
	return code;
}

static int refuse(struct rcv *r, struct chan *ch, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct rcv *r, struct chan *ch, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	chan_send_error(ch, CKPT_EPERM, "handshake", msg);
	mig_event(r->m, r->mg, CKPT_MIGRATE_EV_REFUSED, "refused %s: %s", chan_peer(ch), msg);
	return CONT;
}

/* The checks of a source's HELLO; 0, or CONT after refusing it (the session dir removed). */
static int check_source(struct rcv *r, const struct chan_hello *h)
{
	ckpt_err e = CKPT_ERR_INIT;
	unsigned v = 0;
	uint32_t have = 0;

	if (h->role != CHAN_ROLE_SOURCE || (h->mode != CHAN_MODE_COPY && h->mode != CHAN_MODE_LAZY))
		return refuse(r, r->ch, "expected a migration source's HELLO (role %u, mode %u)",
			      h->role, h->mode);
	if (ckpt_criu_version(r->c, &v, &e) < 0)
		return refuse(r, r->ch, "criu version here: %s", e.msg);
	r->criu_version = v;
	if (v < h->criu_version)
		return refuse(
			r, r->ch,
			"criu %u.%u.%u here is older than the source's %s: restore needs the same or "
			"a newer CRIU",
			v / 10000, v / 100 % 100, v % 100, h->criu_version_str);
	if (ckpt_check(r->c, &e) < 0)
		return refuse(r, r->ch, "criu check failed here: %s", e.msg);
	if (h->cpuinfo_len) {
		ckpt_opts *co = ckpt_opts_new();
		int fd, cpu_fd, rc = -1;

		if (mkdirat(r->sess_fd, "cpu", 0700) == 0 &&
		    (cpu_fd = openat(r->sess_fd, "cpu",
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			fd = openat(cpu_fd, "cpuinfo.img",
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd >= 0 &&
			    write(fd, h->cpuinfo, h->cpuinfo_len) == (ssize_t)h->cpuinfo_len &&
			    co && ckpt_opts_set_images_dir_fd(co, cpu_fd, &e) == 0)
				rc = ckpt_cpuinfo_check(r->c, co, &e);
			if (fd >= 0)
				close(fd);
			close(cpu_fd);
		}
		ckpt_opts_free(co);
		mig_remove_flat(r->sess_fd, "cpu");
		if (rc < 0)
			return refuse(r, r->ch, "CPU check failed: %s",
				      e.msg[0] ? e.msg : "cannot write cpuinfo.img");
	}
	if (h->mode == CHAN_MODE_LAZY &&
	    (ckpt_feature_check(r->c, CKPT_FEATURE_LAZY_PAGES, &have, &e) < 0 ||
	     !(have & CKPT_FEATURE_LAZY_PAGES)))
		return refuse(r, r->ch, "lazy pages (userfaultfd) do not work here%s%s",
			      e.msg[0] ? ": " : "", e.msg);
	return 0;
}

static int send_hello(struct rcv *r, struct chan *ch, uint8_t role, ckpt_err *err)
{
	struct chan_hello h = { 0 };

	mig_hello_versions(&h, r->criu_version);
	h.role = role;
	h.mode = r->lazy ? CHAN_MODE_LAZY : CHAN_MODE_COPY;
	memcpy(h.session, r->session, sizeof(h.session));
	return chan_send_hello(ch, &h, err);
}

static void answer_resolve(struct rcv *r, struct chan *ch, const uint8_t *session);

/*
 * The next authenticated connection before the deadline (0: none), its first
 * message read; refusals on the way are reported (CKPT_MIGRATE_EV_REFUSED).
 */
static int next_conn(struct rcv *r, uint64_t deadline, struct gate_item *it, ckpt_err *err)
{
	for (;;) {
		int rc = gate_next(r->gate, deadline, it, err);

		if (rc < 0)
			return rc;
		if (it->kind == GATE_CONN)
			return 0;
		mig_event(r->m, r->mg, CKPT_MIGRATE_EV_REFUSED, "refused a connection from %s: %s",
			  it->host, it->text);
	}
}

/*
 * A connection that is not the one expected now: a question is answered, a
 * second source is told we are busy.
 */
static void not_now(struct rcv *r, struct gate_item *it)
{
	if (it->first.type == CHAN_MSG_RESOLVE) {
		answer_resolve(r, it->ch, it->first.u.resolve.session);
	} else {
		chan_send_error(it->ch, CKPT_EPERM, "handshake",
				"this receiver is busy with another migration");
		mig_event(r->m, r->mg, CKPT_MIGRATE_EV_REFUSED,
			  "refused %s (%s): busy with another migration", chan_addr(it->ch),
			  chan_peer(it->ch));
	}
	gate_item_close(it);
}

/*
 * The session's pages connection: authenticated, from the control peer's
 * address, naming this session; its TLS session goes to a pump whose other
 * end CRIU gets (its page server, or criu lazy-pages).
 */
static int accept_pages(struct rcv *r, ckpt_err *err)
{
	uint64_t deadline = now_us() + (uint64_t)r->m->timeout_ms * 1000;
	struct pump_cfg pc = { .tcp = -1 };
	struct gate_item it;
	int rc;

	for (;;) {
		const struct chan_hello *h = &it.first.u.hello;

		rc = next_conn(r, deadline, &it, err);
		if (rc < 0) {
			if (rc == CKPT_ETIMEDOUT)
				err_set(err, rc,
					"the source's pages connection did not come within %u ms",
					r->m->timeout_ms);
			return rc;
		}
		if (it.first.type == CHAN_MSG_HELLO && h->role == CHAN_ROLE_PAGES &&
		    !memcmp(h->session, r->session, CHAN_SESSION_SIZE) &&
		    !strcmp(it.host, r->peer_host))
			break;
		if (it.first.type == CHAN_MSG_HELLO && h->role == CHAN_ROLE_PAGES) {
			chan_send_error(it.ch, CKPT_EPERM, "handshake",
					"a pages connection for no session of this receiver's, or "
					"from another address than its source");
			mig_event(r->m, r->mg, CKPT_MIGRATE_EV_REFUSED,
				  "refused a pages connection from %s: not from this session's "
				  "source (%s)",
				  it.host, r->peer_host);
			gate_item_close(&it);
			continue;
		}
		not_now(r, &it);
	}
	rc = send_hello(r, it.ch, CHAN_ROLE_RECEIVER, err);
	if (rc == 0)
		rc = chan_release_tls(it.ch, &pc.tls, err);
	if (rc < 0) {
		gate_item_close(&it);
		return rc;
	}
	pc = (struct pump_cfg){ .mode = r->lazy ? PUMP_LAZY_DEST : PUMP_PASS,
				.tcp = it.fd,
				.tls = pc.tls,
				.timeout_ms = r->m->timeout_ms,
				.what = r->mg->peer };
	rc = pump_new(&pc, &r->pump, err); /* the socket and the session are the pump's */
	if (rc == 0)
		rc = pump_start(r->pump, err);
	return rc;
}

/* Answer "how did session X end?" from the records; a source that hears "running" acks it. */
static void answer_resolve(struct rcv *r, struct chan *ch, const uint8_t *session)
{
	struct chan_result res = { .status = CHAN_RESULT_UNKNOWN };
	char hex[2 * CHAN_SESSION_SIZE + 1], rec[64];
	struct chan_msg msg;
	int pid = 0;

	mig_session_hex(session, hex);
	rcv_record_read(r, hex, rec, sizeof(rec));
	if (sscanf(rec, "running %d", &pid) == 1 || sscanf(rec, "committed %d", &pid) == 1) {
		res.status = CHAN_RESULT_RUNNING;
		res.pid = pid;
	} else if (!strcmp(rec, "failed") || !strcmp(rec, "receiving") || !strcmp(rec, "images")) {
		/* it never ran here, and never will: its connection is gone */
		res.status = CHAN_RESULT_FAILED;
		res.code = CKPT_ECRIU;
		snprintf(res.stage, sizeof(res.stage), "restore");
		snprintf(res.msg, sizeof(res.msg), "session %s did not run here", hex);
	} else {
		snprintf(res.msg, sizeof(res.msg), "session %s: %s", hex,
			 rec[0] ? rec : "no record here");
	}
	if (chan_send_result(ch, &res, NULL) < 0)
		return;
	if (res.status == CHAN_RESULT_RUNNING && chan_expect(ch, CHAN_MSG_ACK, &msg, NULL) == 0 &&
	    msg.u.ack.decision == CHAN_ACK_COMMITTED) {
		char line[32];

		snprintf(line, sizeof(line), "committed %d", pid);
		if (!strcmp(hex, r->hex))
			rcv_record_write(r, "%s", line);
	}
}

/*
 * The tree runs here; the source's last word (ACK) did not come. Answer
 * RESOLVE for this session until it is acked or the window closes: 1 acked.
 */
static int resolve_window(struct rcv *r)
{
	uint64_t deadline = now_us() + (uint64_t)r->m->resolve_timeout_ms * 1000;
	char rec[64];

	for (;;) {
		ckpt_err e = CKPT_ERR_INIT;
		struct gate_item it;

		rcv_record_read(r, r->hex, rec, sizeof(rec));
		if (!strncmp(rec, "committed", 9))
			return 1;
		if (next_conn(r, deadline, &it, &e) < 0)
			return 0;
		not_now(r, &it);
	}
}

/* Our HELLO, the pages connection, and (copy mode) CRIU's page server on it. */
static int session_handshake(struct rcv *r, ckpt_err *err)
{
	int rc;

	rc = send_hello(r, r->ch, CHAN_ROLE_RECEIVER, err);
	if (rc == 0)
		rc = accept_pages(r, err);
	if (rc == 0 && !r->lazy)
		rc = rcv_page_server_start(r, err);
	if (rc < 0)
		return session_fail(r, "handshake", rc, err);
	r->t_hs = now_us();
	mig_set(r->mg, FIG_HANDSHAKE, r->t_hs - r->t_accept);
	mig_stage(r->mg, "transfer");
	mig_event(r->m, r->mg, CKPT_MIGRATE_EV_ACCEPTED, "accepted a %s migration from %s (%s), %s",
		  r->lazy ? "lazy" : "copy", r->mg->peer, r->mg->peer_versions, chan_cipher(r->ch));
	return 0;
}

/*
 * The images (copy mode: the pages arrive meanwhile through CRIU's page
 * server, lazy: the daemon started), READY said, and the source's RESTORE
 * into *msg.
 */
static int session_images(struct rcv *r, struct chan_msg *msg, ckpt_err *err)
{
	struct chan_rx rx;
	struct chan_limits lim = { .max_files = r->m->max_files, .max_total = r->m->max_bytes };
	struct chan_result res = { 0 };
	int rc;

	chan_set_timeout(r->ch, r->m->timeout_ms * 20u > r->m->timeout_ms ? r->m->timeout_ms * 20u :
									    r->m->timeout_ms);
	rc = chan_recv_files(r->ch, r->img_fd, &lim, &rx, err);
	chan_set_timeout(r->ch, r->m->timeout_ms);
	if (rc < 0)
		return session_fail(r, "transfer", rc, err);
	mig_set(r->mg, FIG_IMAGE_BYTES, rx.total);
	mig_set(r->mg, FIG_IMAGE_FILES, rx.files);
	if (!r->lazy) {
		rc = rcv_page_server_wait(r, err);
		rcv_page_server_end(r, rc == 0);
		if (rc < 0)
			return session_fail(r, "transfer", rc, err);
		r->page_bytes = rcv_pages_bytes(r->img_fd);
		mig_set(r->mg, FIG_PAGE_BYTES, r->page_bytes);
	} else {
		rc = rcv_daemon_start(r, err);
		if (rc < 0)
			return session_fail(r, "transfer", rc, err);
	}
	r->t_ready = now_us();
	mig_set(r->mg, FIG_TRANSFER, r->t_ready - r->t_hs);
	rcv_record_write(r, "images");
	res.status = CHAN_RESULT_READY;
	if (!r->lazy)
		snprintf(res.msg, sizeof(res.msg), "%.1f MiB of pages here",
			 (double)r->page_bytes / 1048576.0);
	rc = chan_send_result(r->ch, &res, err);
	if (rc == 0)
		rc = chan_expect(r->ch, CHAN_MSG_RESTORE, msg, err);
	if (rc < 0)
		return session_fail(r,
				    err && err->step[0] && strcmp(err->step, "recv") ? err->step :
										       "transfer",
				    rc, err);
	mig_event(r->m, r->mg, CKPT_MIGRATE_EV_IMAGES, "images: %u files, %.1f KiB", rx.files,
		  (double)rx.total / 1024.0);
	return 0;
}

/* Lazy: the source's RESTORE must say lazy (its pages come through the pump, already running). */
static int session_lazy_check(struct rcv *r, const struct chan_msg *msg, ckpt_err *err)
{
	int rc;

	if (!(msg->u.restore.flags & CHAN_RESTORE_F_LAZY)) {
		rc = err_set(err, CKPT_EPROTO,
			     "the source asked for a copy-mode restore in a lazy session");
		return session_fail(r, "restore", rc, err);
	}
	return 0;
}

/* The restore from the session's images; *ret_pid the tree's root, running here. */
static int session_restore(struct rcv *r, const struct chan_msg *msg, pid_t *ret_pid, ckpt_err *err)
{
	struct chan_result res;
	ckpt_opts *ro = NULL;
	pid_t pid = 0;
	int rc;

	mig_stage(r->mg, "restore");
	if (r->lazy && (rc = session_lazy_check(r, msg, err)) < 0)
		return rc;
	rcv_record_write(r, "restoring");
	r->t_restore = now_us();
	rc = ckpt_opts_clone(r->o, &ro, err);
	if (rc == 0)
		rc = ckpt_opts_set_images_dir_fd(ro, r->img_fd, err);
	if (rc == 0)
		rc = ckpt_opts_set_work_dir_fd(ro, r->work_fd, err);
	if (rc == 0 && r->lazy)
		rc = ckpt_opts_set_bool(ro, CKPT_OPT_LAZY_PAGES, true, err);
	if (rc == 0)
		rc = ckpt_restore(r->c, ro, &pid, err);
	ckpt_opts_free(ro);
	if (rc < 0) {
		err_prefix(err, "restore of the migrated tree");
		if (err && strstr(err->msg, "Can't fork for "))
			/* the source holds its tree, frozen, until this restore is done: never "stop it" */
			err_hint(
				err, 0,
				"A pid the migrated tree needs is taken here: on one host, by the frozen "
				"source itself, which must not be stopped. Migrate a tree that is the init "
				"of a pid namespace of its own (start it under `unshare -pf`), so its pids "
				"cannot clash; the source runs on.");
		if (err && !err->log_path[0])
			snprintf(err->log_path, sizeof(err->log_path), "%s/work/restore.log",
				 r->sess_path);
		return session_fail(r, "restore", rc, err);
	}
	/* it runs here */
	r->restored = pid;
	r->mg->pid = pid;
	r->t_running = now_us();
	mig_set(r->mg, FIG_RESTORE, r->t_running - r->t_restore);
	rcv_record_write(r, "running %d", (int)pid);
	if (r->lazy)
		pump_commit(r->pump);
	res = (struct chan_result){ .status = CHAN_RESULT_RUNNING, .pid = pid };
	chan_send_result(r->ch, &res, NULL);
	mig_stage(r->mg, r->lazy ? "pages" : "decision");
	mig_event(r->m, r->mg, CKPT_MIGRATE_EV_RUNNING, "restore: pid %d runs here", (int)pid);
	*ret_pid = pid;
	return 0;
}

/* Lazy: every page comes over, then the daemon exits; a tree that lacks pages is killed. */
static int session_pages(struct rcv *r, pid_t pid, ckpt_err *err)
{
	struct chan_result res;
	ckpt_err re = CKPT_ERR_INIT;
	int st = 0, rc;

	while (!proc_reap(&r->daemon, now_us() + 3600ull * 1000 * 1000))
		;
	if (r->daemon.status_known)
		st = r->daemon.status;
	rc = pump_join(r->pump, &re);
	mig_set(r->mg, FIG_PAGE_BYTES, pump_bytes_in(r->pump));
	if (rc < 0 || !r->daemon.status_known || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		/* the tree's memory did not all arrive: that copy is corrupt, and goes */
		struct proc t;

		if (rc == 0)
			err_set(&re, CKPT_ECRIU,
				"criu lazy-pages failed (see %s/work/lazy-pages.log)",
				r->sess_path);
		err_copy(err, &re);
		if (proc_adopt_child_errno(&t, pid) == 0 && !t.reaped) {
			proc_signal_errno(&t, SIGKILL);
			proc_reap(&t, now_us() + CALL_REAP_GRACE_US);
			proc_close(&t);
			err_append(err, "; the restored tree (pid %d) lacked pages and was killed",
				   (int)pid);
		}
		r->mg->pid = 0;
		return session_fail(r, "pages", err ? err->code : CKPT_ECRIU, err);
	}
	r->t_pages_done = now_us();
	mig_set(r->mg, FIG_PAGES_DONE, r->t_pages_done - r->t_start);
	res = (struct chan_result){ .status = CHAN_RESULT_PAGES_DONE, .pid = pid };
	/* the source's CRIU does not count what its lazy server sent: say it (docs/migration.md) */
	snprintf(res.msg, sizeof(res.msg), "%llu bytes",
		 (unsigned long long)pump_bytes_in(r->pump));
	chan_send_result(r->ch, &res, NULL);
	mig_event(r->m, r->mg, CKPT_MIGRATE_EV_PAGES_DONE, "pages: every page is here (%.1f MiB)",
		  (double)pump_bytes_in(r->pump) / 1048576.0);
	return 0;
}

/* The source's last word (ACK), or RESOLVE answered until it comes: the final return. */
static int session_decision(struct rcv *r, pid_t pid, ckpt_err *err)
{
	struct chan_msg msg;
	int rc = 0;

	mig_stage(r->mg, "decision");
	if (chan_expect(r->ch, CHAN_MSG_ACK, &msg, NULL) == 0) {
		if (msg.u.ack.decision == CHAN_ACK_COMMITTED) {
			rcv_record_write(r, "committed %d", (int)pid);
			r->mg->outcome = CKPT_MIGRATE_OUTCOME_DONE;
		} else {
			r->mg->outcome = CKPT_MIGRATE_OUTCOME_UNKNOWN;
			rc = err_set(
				err, CKPT_ECALLBACK,
				"the source resumed its tree although it runs here too (pid %d): keep one",
				(int)pid);
		}
	} else if (resolve_window(r)) {
		r->mg->outcome = CKPT_MIGRATE_OUTCOME_DONE;
	} else {
		r->mg->outcome = CKPT_MIGRATE_OUTCOME_UNKNOWN;
		rc = err_set(
			err, CKPT_ETIMEDOUT,
			"the tree runs here (pid %d), but the source's final word did not come: it may still hold "
			"its copy frozen",
			(int)pid);
		if (err)
			err->flags |= CKPT_ERR_F_OUTCOME_UNKNOWN;
	}
	rcv_session_dirs_end(r, true);
	mig_stage(r->mg, r->mg->outcome == CKPT_MIGRATE_OUTCOME_DONE ? "done" : "decision");
	return r->mg->outcome == CKPT_MIGRATE_OUTCOME_DONE ? 0 : rc;
}

/* After the handshake: pages, images, restore, decision. The return is final (no more listening). */
static int run_session(struct rcv *r, ckpt_err *err)
{
	struct chan_msg msg;
	pid_t pid = 0;
	int rc;

	rcv_record_write(r, "receiving");
	rc = session_handshake(r, err);
	if (rc == 0)
		rc = session_images(r, &msg, err);
	if (rc == 0)
		rc = session_restore(r, &msg, &pid, err);
	if (rc == 0 && r->lazy)
		rc = session_pages(r, pid, err);
	if (rc < 0)
		return rc;
	return session_decision(r, pid, err);
}

/*
 * One authenticated connection (the gate's item, taken over): 0 or <0 when a
 * migration ran (final), CONT when it was refused or was a question.
 */
static int serve_connection(struct rcv *r, struct gate_item *it, ckpt_err *err)
{
	ckpt_err e = CKPT_ERR_INIT;
	struct chan_msg msg = it->first;
	struct chan_hello h;
	int rc;

	r->ctl_fd = it->fd;
	r->ch = it->ch;
	it->fd = -1;
	it->ch = NULL;
	r->t_accept = now_us();
	if (msg.type == CHAN_MSG_RESOLVE) {
		answer_resolve(r, r->ch, msg.u.resolve.session);
		return CONT;
	}
	if (msg.type != CHAN_MSG_HELLO || msg.u.hello.role != CHAN_ROLE_SOURCE)
		return refuse(r, r->ch, "expected a migration source's HELLO, got %s",
			      chan_type_name(msg.type));
	h = msg.u.hello;
	memcpy(r->session, h.session, sizeof(r->session));
	mig_session_hex(r->session, r->hex);
	r->lazy = h.mode == CHAN_MODE_LAZY;
	r->mg->lazy = r->lazy;
	mig_note_peer(r->mg, r->ch, &h);
	snprintf(r->peer_host, sizeof(r->peer_host), "%s", it->host);
	/* authenticated: from here on a private directory for the session */
	if (rcv_session_dirs(r, &e) < 0)
		return refuse(r, r->ch, "%s", e.msg);
	rc = check_source(r, &h);
	if (rc == CONT) {
		rcv_session_dirs_end(r, false);
		return CONT;
	}
	return run_session(r, err);
}

/* The address listen_fd listens on (a TCP socket), into r->listen_host and r->listen_port. */
static int listen_address(struct rcv *r, int listen_fd, ckpt_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
	    getsockname(listen_fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return err_set(err, CKPT_EINVAL, "receive: fd %d is not a listening TCP socket",
			       listen_fd);
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, r->listen_host,
			  sizeof(r->listen_host));
		r->listen_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, r->listen_host,
			  sizeof(r->listen_host));
		r->listen_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
}

int ckpt_migrate_receive(ckpt_client *c, const ckpt_opts *o, const ckpt_migrate_opts *m,
			 int listen_fd, ckpt_migrate_result *mg, ckpt_err *err)
{
	struct rcv r = { .c = c,
			 .o = o,
			 .m = m,
			 .mg = mg,
			 .listen_fd = listen_fd,
			 .base = DIR_REF_INIT,
			 .ctl_fd = -1,
			 .sess_fd = -1,
			 .img_fd = -1,
			 .work_fd = -1,
			 .lock_fd = -1,
			 .daemon = PROC_INIT };
	int rc;

	assert_return(c && o && m && mg, err, "receive: NULL argument");
	rc = dl_need_gnutls(err); /* GnuTLS, loaded now if it was not */
	if (rc < 0)
		return rc;
	mig_reset(mg, true);
	r.t_start = now_us();
	mig_stage(mg, "handshake");
	rc = mig_auth_check(m, err);
	if (rc < 0)
		goto out;
	if (c->service_path) {
		rc = err_set(
			err, CKPT_ENOTSUP,
			"receive: needs a criu spawned by libckpt (swrk), not a criu service: the page server "
			"takes a connected socket, and criu lazy-pages is run by libckpt");
		goto out;
	}
	if (!o->images.path) {
		rc = err_set(
			err, CKPT_EINVAL,
			"receive: no images directory set by path (ckpt_opts_set_images_dir): each migration gets "
			"a private directory in it");
		goto out;
	}
	rc = listen_address(&r, listen_fd, err);
	if (rc < 0)
		goto out;
	rc = mig_creds(m, CHAN_ACCEPTING, NULL, &r.cr, err);
	if (rc < 0)
		goto out;
	rc = dir_ref_open(&o->images, "receive: images-dir", o->follow_symlinks, &r.base, err);
	if (rc == 0)
		rc = dir_check_private(&r.base, "receive", err);
	if (rc < 0)
		goto out;
	rcv_clean_stale(&r);
	{
		unsigned auth_ms = m->auth_timeout_ms ? m->auth_timeout_ms : MIG_DEFAULT_AUTH_MS;
		struct gate_cfg gc = { .listen_fd = listen_fd,
				       .cr = r.cr,
				       .auth_timeout_ms = auth_ms < m->timeout_ms ? auth_ms :
										    m->timeout_ms,
				       .timeout_ms = m->timeout_ms };

		rc = gate_new(&gc, &r.gate, err);
		if (rc < 0)
			goto out;
	}
	mig_event(m, mg, CKPT_MIGRATE_EV_LISTENING, "listening on %s:%u; accepts sources with %s",
		  r.listen_host, r.listen_port, chan_creds_describe(r.cr));
	r.accept_deadline =
		m->accept_timeout_ms ? r.t_start + (uint64_t)m->accept_timeout_ms * 1000 : 0;
	for (;;) {
		struct gate_item it;

		rc = next_conn(&r, r.accept_deadline, &it, err);
		if (rc == CKPT_ETIMEDOUT)
			err_set(err, rc, "receive: no migration arrived in time");
		if (rc < 0)
			goto out;
		rc = serve_connection(&r, &it, err);
		gate_item_close(&it);
		if (r.ch) {
			mig_set(mg, FIG_CTL_OUT, chan_wire_out(r.ch));
			mig_set(mg, FIG_CTL_IN, chan_wire_in(r.ch));
		}
		session_free(&r);
		if (rc != CONT)
			break;
	}
out:
	if (mg->outcome == CKPT_MIGRATE_OUTCOME_NONE)
		mg->outcome = CKPT_MIGRATE_OUTCOME_FAILED;
	mig_set(mg, FIG_TOTAL, now_us() - r.t_start);
	mig_event(m, mg, CKPT_MIGRATE_EV_DONE, "%s", rc == 0 ? "done" : err ? err->msg : "failed");
	session_free(&r);
	gate_free(r.gate);
	chan_creds_free(r.cr);
	dir_ref_close(&r.base);
	return rc;
}
