/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Options to request, pure: the CriuReq of one operation, with the fds it
 * hands to criu numbered as criu will see them, CRIU's log file name, and
 * notifications turned on when the call needs them. No I/O.
 */
#ifndef CKPT_REQUEST_H
#define CKPT_REQUEST_H

#include <limits.h>

#include "conn.h"
#include "opts.h"

struct request {
	CriuReq req; /* type and opts (owned); features point into this struct */
	CriuFeatures features;
	struct fdpass fds[64]; /* the caller's fds criu gets, and their numbers in criu */
	size_t n_fds;
	char log_name[NAME_MAX + 1]; /* CRIU's log file in the work dir, "" if none */
};

struct request_env {
	bool swrk;	  /* spawned criu: inherit-fd, ps.fd and rst_sibling are possible */
	bool notify;	  /* turn on CRIU's notifications */
	bool rst_sibling; /* a restore's default rst_sibling (swrk), unless the caller chose */
	int images_fd;	  /* the images dir for this request, -1: none */
	int work_fd;	  /* the work dir, -1: none (CRIU uses the images dir) */
};

/* The default name of CRIU's log for a request type, or NULL for requests without one. */
const char *request_log_default(CriuReqType type);
/* Build the request of type from o (may be NULL). */
int request_build(struct request *rq, CriuReqType type, const ckpt_opts *o,
		  const struct request_env *env, ckpt_err *err);
void request_free(struct request *rq);

/* The request carries no options (VERSION: CRIU wants none). */
void request_drop_opts(struct request *rq);
/* The swrk stays for more requests after this one (keep_open). */
void request_keep_open(struct request *rq);
/* FEATURE_CHECK: the features asked about. */
void request_features(struct request *rq, bool mem_track, bool lazy_pages, bool pidfd_store);
/* A WAIT_PID request for pid (req: the caller's, no options). */
void request_wait_pid(CriuReq *req, pid_t pid);
/* The answer to a notification: go on (success) or abort. */
void request_notify_ack(CriuReq *req, bool success);
/* The page socket as criu numbers it (ps.fd after request_build), -1 if none. */
int request_page_socket(const struct request *rq);
/* Hand criu one more fd of ours (swrk): *ret_criu_fd is its number in criu. */
int request_pass_fd(struct request *rq, int fd, int *ret_criu_fd, ckpt_err *err);
/* CRIU's configuration file for this request, applied after the RPC options. */
int request_set_config_file(struct request *rq, const char *path, ckpt_err *err);

#endif
