/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's receiving side, the CRIU it runs for the pages: CRIU's page
 * server on a swrk kept open for WAIT_PID (copy mode), and `criu lazy-pages`
 * (lazy mode), each on its end of the pump's socketpair.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "pump.h"
#include "receive-int.h"
#include "proc/procfs.h"
#include "rpc/client.h"
#include "rpc/swrk.h"

/* The fds criu lazy-pages gets. */
#define LP_FD_IMAGES 4
#define LP_FD_WORK 5
#define LP_FD_PS 6
#define LP_FD_STATUS 7

/* ---- CRIU's page server (copy mode) ---- */

int rcv_page_server_start(struct rcv *r, ckpt_err *err)
{
	struct request_env env = { .swrk = true, .images_fd = r->img_fd, .work_fd = r->work_fd };
	CriuResp *resp = NULL;
	int64_t level;
	int rc;

	r->ps_opts = ckpt_opts_new();
	if (!r->ps_opts)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	if (ckpt_opts_get_int(r->o, CKPT_OPT_LOG_LEVEL, &level, NULL) == 1)
		ckpt_opts_set_int(r->ps_opts, CKPT_OPT_LOG_LEVEL, level, NULL);
	/* CRIU's page server reads the pump's socketpair: it listens on nothing */
	rc = opts_set_page_socket(r->ps_opts, pump_criu_fd(r->pump), err);
	if (rc == 0)
		rc = request_build(&r->ps_rq, CRIU_REQ_TYPE__PAGE_SERVER_CHLD, r->ps_opts, &env,
				   err);
	if (rc < 0)
		return rc;
	request_keep_open(&r->ps_rq);
	call_init(&r->ps_call, r->c, "page server", false);
	r->ps_call.lp.dirfd = r->work_fd;
	r->ps_call.lp.name = r->ps_rq.log_name;
	r->ps_call.opts = r->ps_opts;
	rc = call_open(&r->ps_call, &r->ps_rq, &r->ps_conn, err);
	if (rc < 0)
		return rc;
	pump_criu_fd_close(r->pump); /* criu has it: its close must reach the pump */
	r->ps_open = true;
	r->ps_conn.deadline_us = now_us() + (uint64_t)r->m->timeout_ms * 1000;
	rc = exchange_run(&r->ps_call.x, &r->ps_conn, &r->ps_rq.req, &resp, err);
	if (rc < 0)
		return rc;
	/* CRIU answers PAGE_SERVER_CHLD as PAGE_SERVER, once the server has its socket */
	if (!resp->success)
		rc = reply_failed("page server", &r->ps_rq.req, resp, &r->ps_call.lp, r->ps_opts,
				  err);
	else if (!resp->ps || !resp->ps->has_pid || resp->ps->pid <= 0)
		rc = err_set(err, CKPT_EPROTO,
			     "page server: criu's reply names no page server pid");
	else
		r->ps_pid = resp->ps->pid;
	criu_resp__free_unpacked(resp, NULL);
	return rc;
}

/* WAIT_PID: the page server must have received every page and exited 0. */
int rcv_page_server_wait(struct rcv *r, ckpt_err *err)
{
	CriuReq req;
	CriuResp *resp = NULL;
	int rc, st;

	request_wait_pid(&req, r->ps_pid);
	r->ps_conn.deadline_us = now_us() + (uint64_t)r->m->timeout_ms * 1000;
	rc = exchange_run(&r->ps_call.x, &r->ps_conn, &req, &resp, err);
	if (rc < 0)
		return rc;
	st = resp->has_status ? resp->status : -1;
	if (!resp->success)
		rc = err_set(err, CKPT_ECRIU, "page server: criu cannot wait for it (pid %d)",
			     (int)r->ps_pid);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = err_set(
			err, CKPT_ECRIU,
			"CRIU's page server (pid %d) ended with %s %d: not every page arrived (see %s/work/%s)",
			(int)r->ps_pid, WIFEXITED(st) ? "exit code" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), r->sess_path,
			r->ps_rq.log_name);
	criu_resp__free_unpacked(resp, NULL);
	return rc;
}

void rcv_page_server_end(struct rcv *r, bool ok)
{
	if (r->ps_open) {
		call_close(&r->ps_call, &r->ps_conn,
			   ok ? 0 : CKPT_ESYS); /* a failure kills it and what it forked */
		exchange_done(&r->ps_call.x);
		r->ps_open = false;
	}
	request_free(&r->ps_rq);
	ckpt_opts_free(r->ps_opts);
	r->ps_opts = NULL;
}

/* ---- criu lazy-pages (lazy mode) ---- */

int rcv_daemon_start(struct rcv *r, ckpt_err *err)
{
	_cleanup_free_ char *criu = NULL;
	char level[8] = "-v2", images[32], work[32];
	char *argv[] = { "criu",	   "lazy-pages",  "-D", images,	       "-W", work,
			 "--page-server",  "--ps-socket", "6",	"--status-fd", "7",  "-o",
			 "lazy-pages.log", level,	  NULL };
	struct spawn_cfg cfg;
	struct fdpass fds[4];
	int pipefd[2] = { -1, -1 }, rc;
	int64_t lv;
	struct pollfd p[2];
	char c;

	/* the directories as criu sees them: the fds it is given */
	_Static_assert(LP_FD_IMAGES == 4 && LP_FD_WORK == 5, "fd/4 and fd/5 below");
	if (procfs_path(images, sizeof(images), PROCFS_SELF, "fd/4") < 0 ||
	    procfs_path(work, sizeof(work), PROCFS_SELF, "fd/5") < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy-pages: the directories' paths");
	if (ckpt_opts_get_int(r->o, CKPT_OPT_LOG_LEVEL, &lv, NULL) == 1)
		snprintf(level, sizeof(level), "-v%d", (int)lv);
	rc = client_criu_path(r->c, &criu, err);
	if (rc < 0)
		return rc;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_sys(err, CKPT_ESYS, errno, "lazy pages: pipe");
	fds[0] = (struct fdpass){ r->img_fd, LP_FD_IMAGES };
	fds[1] = (struct fdpass){ r->work_fd, LP_FD_WORK };
	fds[2] = (struct fdpass){ pump_criu_fd(r->pump), LP_FD_PS };
	fds[3] = (struct fdpass){ pipefd[1], LP_FD_STATUS };
	cfg = (struct spawn_cfg){ .criu = criu, .env = r->c->env, .stdio = r->c->stdio };
	rc = criu_spawn_argv(&cfg, argv, fds, 4, &r->daemon, err);
	close(pipefd[1]);
	pump_criu_fd_close(r->pump);
	if (rc < 0) {
		close(pipefd[0]);
		return rc;
	}
	/* its status byte: the images were read and the socket for the restore listens */
	p[0] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = r->daemon.pidfd, .events = POLLIN };
	do
		rc = poll(p, 2, (int)r->m->timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && (p[0].revents & POLLIN) && read(pipefd[0], &c, 1) == 1)
		rc = 0;
	else
		rc = err_set(err, rc == 0 ? CKPT_ETIMEDOUT : CKPT_ECRIU,
			     "criu lazy-pages did not get ready (%s; see %s/work/lazy-pages.log)",
			     rc == 0 ? "no status byte in time" : "it exited", r->sess_path);
	close(pipefd[0]);
	return rc;
}

void rcv_daemon_kill(struct rcv *r)
{
	if (r->daemon.pid > 0 && !r->daemon.reaped) {
		proc_signal_errno(&r->daemon, SIGKILL);
		if (!proc_reap(&r->daemon, now_us() + CALL_REAP_GRACE_US)) {
			struct proc_set left = { 0 };

			if (proc_set_add_errno(&left, &r->daemon) == 0) {
				r->daemon = (struct proc)PROC_INIT;
				client_keep_unreaped(r->c, &left);
			}
			proc_set_free(&left);
		}
	}
	proc_close(&r->daemon);
}
