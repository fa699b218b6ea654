/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU's log, line by line (private to lib/diagnose/): a line, the lines one diagnosis keeps,
 * and their readers, which the table's builders use.
 */
#ifndef CKPT_DIAGNOSE_LINES_H
#define CKPT_DIAGNOSE_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct diag_in;

enum { L_PLAIN, L_WARN, L_ERROR };
enum { F_HARMLESS = 1u << 0, F_WRAPPER = 1u << 1, F_FAILED = 1u << 2 };

struct line {
	const char *raw; /* the line without its timestamp */
	size_t raw_len;
	const char *msg; /* without pid prefix and "Error (file:line): " */
	size_t msg_len;
	int level;
	unsigned flags;
};

#define MAX_LINES 128 /* the last error (or signature) lines of the tail are kept */

struct ctx {
	const struct diag_in *in;
	struct line lines[MAX_LINES];
	size_t n;
	size_t end;		     /* lines before the first "... FAILED." marker (n if none) */
	const struct line *decisive; /* set by an entry whose decisive line is not its trigger */
};

/* Set the level, msg and flags of a line whose raw text is set. */
void diag_line_classify(struct line *l);

/* What the table's builders read of the kept lines (each described where it is defined). */
bool diag_line_has(const struct line *l, const char *needle);
const struct line *diag_line_find(const struct ctx *c, const char *needle, size_t lim);
bool diag_line_cut(const struct line *l, const char *pre, const char *post, char *buf, size_t size);
long diag_line_cut_num(const struct line *l, const char *pre);
void diag_abs_path(char *buf, size_t size, const char *p);

#endif
