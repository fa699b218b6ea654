/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Options to request (pure): the CriuReq, criu's numbers for the fds it is handed, the log name. */
#include <stdio.h>
#include <stdlib.h>

#include "request.h"
#include "swrk.h"

const char *request_log_default(CriuReqType t)
{
	switch (t) {
	case CRIU_REQ_TYPE__DUMP: return "dump.log";
	case CRIU_REQ_TYPE__PRE_DUMP: return "pre-dump.log";
	case CRIU_REQ_TYPE__RESTORE: return "restore.log";
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD: return "page-server.log";
	case CRIU_REQ_TYPE__CPUINFO_DUMP: return "cpuinfo-dump.log";
	case CRIU_REQ_TYPE__CPUINFO_CHECK: return "cpuinfo-check.log";
	default: return NULL;
	}
}

/* Number the fds the request hands to criu as criu will see them (swrk only). */
static int map_fds(struct request *rq, CriuOpts *pb, const struct request_env *env, ckpt_err *err)
{
	size_t n = pb->n_inherit_fd + (pb->ps && pb->ps->has_fd ? 1 : 0);

	if (!n && !(pb->has_rst_sibling && pb->rst_sibling))
		return 0;
	if (!env->swrk)
		return err_set(
			err, CKPT_ENOTSUP,
			"service: inherit-fd, page-server fd and restore-sibling work only with a spawned criu "
			"(swrk)");
	if (n > ARRAY_SIZE(rq->fds))
		return err_set(err, CKPT_EINVAL, "%zu fds to hand to criu (at most %zu)", n,
			       ARRAY_SIZE(rq->fds));
	for (size_t i = 0; i < pb->n_inherit_fd; i++) {
		rq->fds[rq->n_fds].src = pb->inherit_fd[i]->fd;
		rq->fds[rq->n_fds].dst = SWRK_PASS_BASE + (int)rq->n_fds;
		pb->inherit_fd[i]->fd = rq->fds[rq->n_fds++].dst;
	}
	if (pb->ps && pb->ps->has_fd) {
		rq->fds[rq->n_fds].src = pb->ps->fd;
		rq->fds[rq->n_fds].dst = SWRK_PASS_BASE + (int)rq->n_fds;
		pb->ps->fd = rq->fds[rq->n_fds++].dst;
	}
	return 0;
}

int request_build(struct request *rq, CriuReqType type, const ckpt_opts *o,
		  const struct request_env *env, ckpt_err *err)
{
	const char *def = request_log_default(type);
	CriuOpts *pb;
	int r;

	memset(rq, 0, sizeof(*rq));
	criu_req__init(&rq->req);
	criu_features__init(&rq->features);
	rq->req.type = type;
	pb = opts_pb_for_request(o, env->images_fd, env->work_fd, err);
	if (!pb)
		return CKPT_ENOMEM;
	rq->req.opts = pb;
	if (type == CRIU_REQ_TYPE__PAGE_SERVER && !pb->ps) {
		/* ckpt_page_server_start sends the block, even empty; it is pb's, freed with it */
		pb->ps = malloc(sizeof(*pb->ps));
		if (!pb->ps)
			return err_set(err, CKPT_ENOMEM, "page server: out of memory");
		criu_page_server_info__init(pb->ps);
	}
	if (type == CRIU_REQ_TYPE__RESTORE && env->swrk && env->rst_sibling &&
	    !(o && o->rst_sibling_set)) {
		/* the restored tree becomes the caller's child, not an orphan of the exiting criu */
		pb->has_rst_sibling = 1;
		pb->rst_sibling = 1;
	}
	r = map_fds(rq, pb, env, err);
	if (r < 0)
		return r;
	if (!pb->log_file && def && (env->images_fd >= 0 || env->work_fd >= 0)) {
		pb->log_file = strdup(def);
		if (!pb->log_file)
			return err_set(err, CKPT_ENOMEM, "out of memory");
	}
	if (pb->log_file)
		snprintf(rq->log_name, sizeof(rq->log_name), "%s", pb->log_file);
	if (env->notify) {
		pb->has_notify_scripts = 1;
		pb->notify_scripts = 1;
	}
	return 0;
}

void request_free(struct request *rq)
{
	if (rq->req.opts)
		criu_opts__free_unpacked(rq->req.opts, NULL);
	rq->req.opts = NULL;
	rq->req.features = NULL;
}

void request_drop_opts(struct request *rq)
{
	if (rq->req.opts)
		criu_opts__free_unpacked(rq->req.opts, NULL);
	rq->req.opts = NULL;
}

void request_keep_open(struct request *rq)
{
	rq->req.has_keep_open = rq->req.keep_open = true;
}

void request_features(struct request *rq, bool mem_track, bool lazy_pages, bool pidfd_store)
{
	/* only the features asked about are named (as CRIU's own clients do) */
	rq->features.has_mem_track = rq->features.mem_track = mem_track;
	rq->features.has_lazy_pages = rq->features.lazy_pages = lazy_pages;
	rq->features.has_pidfd_store = rq->features.pidfd_store = pidfd_store;
	rq->req.features = &rq->features;
}

void request_notify_ack(CriuReq *req, bool success)
{
	criu_req__init(req);
	req->type = CRIU_REQ_TYPE__NOTIFY;
	req->has_notify_success = true;
	req->notify_success = success;
}

void request_wait_pid(CriuReq *req, pid_t pid)
{
	criu_req__init(req);
	req->type = CRIU_REQ_TYPE__WAIT_PID;
	req->has_pid = true;
	req->pid = pid;
}

int request_page_socket(const struct request *rq)
{
	const CriuOpts *pb = rq->req.opts;

	return pb && pb->ps && pb->ps->has_fd ? pb->ps->fd : -1;
}

int request_pass_fd(struct request *rq, int fd, int *ret_criu_fd, ckpt_err *err)
{
	if (rq->n_fds >= ARRAY_SIZE(rq->fds))
		return err_set(err, CKPT_EINVAL, "%zu fds to hand to criu (at most %zu)",
			       rq->n_fds + 1, ARRAY_SIZE(rq->fds));
	rq->fds[rq->n_fds].src = fd;
	rq->fds[rq->n_fds].dst = SWRK_PASS_BASE + (int)rq->n_fds;
	*ret_criu_fd = rq->fds[rq->n_fds++].dst;
	return 0;
}

int request_set_config_file(struct request *rq, const char *path, ckpt_err *err)
{
	char *copy = strdup(path);

	if (!copy || !rq->req.opts) {
		free(copy);
		return err_set(err, CKPT_ENOMEM, "out of memory");
	}
	free(rq->req.opts->config_file);
	rq->req.opts->config_file = copy;
	return 0;
}
