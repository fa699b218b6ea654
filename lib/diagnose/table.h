/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU failure diagnosis, the table (private to lib/diagnose/): its entries and what the engine
 * (diagnose.c) reads of them.
 */
#ifndef CKPT_DIAGNOSE_TABLE_H
#define CKPT_DIAGNOSE_TABLE_H

#include <stddef.h>

#include "diag-types.h"
#include "lines.h"

#define OPM(op) (1u << (op))

struct entry;
typedef void (*build_fn)(struct ctx *c, const struct entry *e, const struct line *hit,
			 struct diag_result *out);

struct entry {
	struct diag_entry_info info; /* id, where, cause, hint_opt */
	unsigned ops;		     /* OPM() bits; 0: any */
	int unless_opt;	       /* skip the entry when this bool option is on: its fix is in place */
	const char *trig[6];   /* a kept line containing any of these triggers the entry */
	const char *detail[4]; /* more lines the entry reads details from */
	const char *hint;      /* the hint, or NULL when build() writes it */
	build_fn build;
};

/* The table's entries, in order, *n of them; and no-reason, the entry that is not in it. */
const struct entry *diag_entries(size_t *n);
const struct entry *diag_no_reason(void);

#endif
