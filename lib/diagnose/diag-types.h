/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU failure diagnosis, its vocabulary: a failure to diagnose (the request, its options, a look
 * at the live system), what a diagnosis gives, and the table's entries as others see them.
 */
#ifndef CKPT_DIAGNOSE_TYPES_H
#define CKPT_DIAGNOSE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ckpt/err.h>

/* The request that failed. */
enum diag_op {
	DIAG_OP_OTHER = 0,
	DIAG_OP_DUMP,
	DIAG_OP_PRE_DUMP,
	DIAG_OP_RESTORE,
	DIAG_OP_CHECK,
	DIAG_OP_PAGE_SERVER,
	DIAG_OP_LAZY_PAGES,
	DIAG_OP_FEATURE_CHECK,
};

/* What the request asked for: the options a diagnosis depends on. */
struct diag_opts {
	uint64_t bools;	  /* bit k set: the bool option k (CKPT_OPT_* below 64) was set true */
	int network_lock; /* a ckpt_network_lock, 0 when unset (CRIU's default: iptables) */
	pid_t pid;	  /* the dump's target, 0 if none */
};

/* What a probe saw of one process. */
struct diag_proc {
	pid_t pid;
	pid_t ppid;
	uid_t uid;	   /* real uid */
	char state;	   /* /proc/PID/stat's state: R S D Z T t X I */
	bool caller_child; /* its parent is the calling process */
	char comm[17];	   /* control characters replaced by '?' */
};

/* Looks at the live system, each answering 0 with *ret filled, or negative when it cannot tell. */
struct diag_probe {
	int (*task)(void *userdata, pid_t pid, struct diag_proc *ret);
	void *userdata;
};

/* One failure to diagnose. Only log and op matter much; the rest may be 0/NULL. */
struct diag_in {
	enum diag_op op;
	const char *log; /* CRIU's log or its tail; need not be NUL-terminated */
	size_t log_len;
	int criu_errno;			/* CRIU's cr_errno, 0 if none */
	const char *criu_errmsg;	/* CRIU's cr_errmsg (its first error line), NULL if none */
	const struct diag_opts *opts;	/* NULL: no option set */
	const struct diag_probe *probe; /* NULL: no look at the live system */
};

struct diag_result {
	/* CRIU's decisive line as a message (no timestamp, pid or "Error (file:line): "); "" if none */
	char headline[CKPT_ERR_MSG_MAX];
	/*
	 * CRIU's error lines as logged (no timestamp), decisive first, '\n' between, harmless
	 * ones left out
	 */
	char lines[CKPT_ERR_LOG_MAX];
	/* cause and fix, naming options as CKPT_OPT_*; "" if no entry matched */
	char hint[CKPT_ERR_HINT_MAX];
	int hint_opt;	/* the ckpt_opt key the fix is about, 0 if the fix is no option */
	const char *id; /* the table entry ("shell-job", ...), NULL if none matched */
};

/* The entries of the table (table.c), for docs and tests: id, where, and a one-line cause. */
struct diag_entry_info {
	const char *id;
	const char *where; /* "dump", "restore", "dump, restore", ... */
	const char *cause;
	int hint_opt;
};
size_t diag_table_size(void);
const struct diag_entry_info *diag_table_entry(size_t i);

#endif
