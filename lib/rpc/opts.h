/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options object: the CriuOpts message to send, the directories, and libckpt's own switches. */
#ifndef CKPT_OPTS_H
#define CKPT_OPTS_H

#include <ckpt/ckpt.h>

#include "base/error.h"
#include "diagnose/diagnose.h"
#include "images/imgdir.h"
#include "rpc.pb-c.h"

struct ckpt_opts {
	CriuOpts *pb; /* what is sent, less the directories; freed with criu_opts__free_unpacked */
	struct dirspec images, work;
	bool follow_symlinks; /* CKPT_OPT_FOLLOW_SYMLINKS */
	bool rst_sibling_set; /* the caller chose rst_sibling explicitly */
	bool overwrite;	      /* CKPT_OPT_OVERWRITE */
	bool self_dump;	      /* CKPT_OPT_SELF_DUMP */
	bool defer_checks;    /* CKPT_OPT_DEFER_CHECKS */
	bool keep_modes;      /* CKPT_OPT_KEEP_MODES */
};

/*
 * A copy of o's CriuOpts for one request, with the directories CRIU is to
 * use: images_fd (-1: none) and work_fd (-1: none). NULL on ENOMEM (err set).
 */
CriuOpts *opts_pb_for_request(const struct ckpt_opts *o, int images_fd, int work_fd, ckpt_err *err);
/* An empty CriuOpts for requests that carry no user options. */
CriuOpts *opts_pb_new(void);
/* Grow a repeated field of pb by one zeroed element; the slot or NULL (ENOMEM or too many). */
void *opts_rep_grow(CriuOpts *pb, const char *field, size_t elem);
/* Is fd an open file descriptor? 0 or CKPT_EINVAL naming what. */
int opts_check_fd(const char *what, int64_t fd, ckpt_err *err);
/*
 * The page server's socket is the connected fd (ours, numbered for criu by
 * request_build): ps.fd, which CRIU takes under swrk (a dump's page client, a
 * page server); the address and port are cleared.
 */
int opts_set_page_socket(ckpt_opts *o, int fd, ckpt_err *err);
/* What a diagnosis needs of the options (o may be NULL: nothing set). */
void opts_to_diag(const ckpt_opts *o, struct diag_opts *d);
/* Does s hold a control character? */
bool has_control_chars(const char *s);

#endif
