/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * After a dump that ended without an answer while its tree still runs:
 * undo what CRIU may have left holding it, the frozen freezer cgroup and
 * the nftables network-lock table in the tree's own network namespace.
 */
#ifndef CKPT_RECOVER_H
#define CKPT_RECOVER_H

#include "rpc/opts.h"
#include "proc/proc.h"

/* What was done (or what the caller must do) is appended to err->msg. */
void recover_after_dump(const ckpt_opts *o, const struct proc *target, ckpt_err *err);

#endif
