/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests other than dumps: what the rest of lib/ops calls besides the public API. */
#ifndef CKPT_OPS_H
#define CKPT_OPS_H

#include <sys/types.h>

#include <ckpt/ckpt.h>

/*
 * ckpt_restore, with on_root (may be NULL) told the restored root's pid as
 * soon as CRIU names it (setup-namespaces, before the tree's memory is
 * restored), in the calling thread.
 */
int restore_run(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid,
		void (*on_root)(void *userdata, pid_t pid), void *userdata, ckpt_err *err);

#endif
