/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU's log, line by line (pure): what one line is (its level, its message, harmless, a
 * wrapper or a FAILED marker) and the readers of the kept lines that the table's builders use.
 */
#include <stdio.h>

#include "lines.h"
#include "base/error.h"

bool diag_line_has(const struct line *l, const char *needle)
{
	return memmem(l->raw, l->raw_len, needle, strlen(needle)) != NULL;
}

static bool starts(const char *s, size_t n, const char *pre)
{
	size_t l = strlen(pre);

	return n >= l && memcmp(s, pre, l) == 0;
}

/* Lines CRIU logs on every run here, or after any failure, that never decide one. */
static const char *const harmless[] = {
	"rlimit: Can't setup RLIMIT_NOFILE", /* no CAP_SYS_RESOURCE: CRIU keeps its own limit */
	"Hardware breakpoints",
	"tables-save -V failed", /* kerndat's probes for iptables-save and friends */
	"tables-restore -V failed",
	"tables-legacy-save -V failed",
	"tables-legacy-restore -V failed",
	"execvp(\"iptables-save\"",
	"execvp(\"ip6tables-save\"",
	"execvp(\"iptables-legacy",
	"execvp(\"ip6tables-legacy",
	"Address already assigned", /* `ip` restoring lo's address, which exists already */
	"Dirty tracking is OFF",    /* a warning of criu check; pre-dump says it itself */
};

/* Lines that only repeat a failure logged before them. */
static const char *const wrappers[] = {
	") failed with -",    /* "Dump files (pid: N) failed with -1" */
	"exited, status=",    /* a helper program failed; its own output is the cause */
	"killed by signal",   /* the half-restored tree killed after the failure */
	"Unable to open fd=", /* after the reason a file could not be opened */
	"Can't open core data for", "Failed to lock TCP connection",
};

static const char *const failed_markers[] = {
	"Dumping FAILED",
	"Restoring FAILED",
	"Pre-dumping FAILED",
	"Lazy pages transfer FAILED",
};

void diag_line_classify(struct line *l)
{
	const char *p = l->raw, *end = l->raw + l->raw_len;

	/* " 8785: " pid prefix of restored tasks' lines */
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p >= '0' && *p <= '9') {
		const char *q = p;

		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q + 1 < end && q[0] == ':' && q[1] == ' ')
			p = q + 2;
	}
	l->level = L_PLAIN;
	if (starts(p, (size_t)(end - p), "Error (") || starts(p, (size_t)(end - p), "Warn  (") ||
	    starts(p, (size_t)(end - p), "Warn (")) {
		const char *c = memmem(p, (size_t)(end - p), "): ", 3);

		l->level = p[0] == 'E' ? L_ERROR : L_WARN;
		if (c)
			p = c + 3;
	}
	l->msg = p;
	l->msg_len = (size_t)(end - p);
	l->flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(harmless); i++)
		if (diag_line_has(l, harmless[i]))
			l->flags |= F_HARMLESS;
	for (size_t i = 0; i < ARRAY_SIZE(wrappers); i++)
		if (diag_line_has(l, wrappers[i]))
			l->flags |= F_WRAPPER;
	for (size_t i = 0; i < ARRAY_SIZE(failed_markers); i++)
		if (starts(l->msg, l->msg_len, failed_markers[i]))
			l->flags |= F_FAILED;
}

/* The first kept line containing needle, among lines [0, lim); NULL if none. */
const struct line *diag_line_find(const struct ctx *c, const char *needle, size_t lim)
{
	for (size_t i = 0; i < lim && i < c->n; i++)
		if (diag_line_has(&c->lines[i], needle))
			return &c->lines[i];
	return NULL;
}

/*
 * Copy the text between the first `pre` and the last `post` after it (the
 * end of the line if post is NULL) into buf, sanitized. False if not there.
 */
bool diag_line_cut(const struct line *l, const char *pre, const char *post, char *buf, size_t size)
{
	const char *end = l->raw + l->raw_len, *a = memmem(l->raw, l->raw_len, pre, strlen(pre)),
		   *b = end;
	char tmp[512];
	size_t n;

	if (!a || !size)
		return false;
	a += strlen(pre);
	if (post) {
		size_t pl = strlen(post);

		b = NULL;
		for (const char *p = a; p + pl <= end; p++)
			if (!memcmp(p, post, pl))
				b = p;
		if (!b)
			return false;
	}
	n = (size_t)(b - a) < sizeof(tmp) - 1 ? (size_t)(b - a) : sizeof(tmp) - 1;
	memcpy(tmp, a, n);
	tmp[n] = '\0';
	sanitize_copy(buf, size, tmp);
	return true;
}

long diag_line_cut_num(const struct line *l, const char *pre)
{
	char buf[32], *e;
	long v;

	if (!diag_line_cut(l, pre, NULL, buf, sizeof(buf)))
		return -1;
	v = strtol(buf, &e, 10);
	return e == buf || v < 0 ? -1 : v;
}

/* CRIU logs paths relative to the root ("tmp/x"): give them back their slash. */
void diag_abs_path(char *buf, size_t size, const char *p)
{
	snprintf(buf, size, "%s%s", p[0] == '/' ? "" : "/", p);
}
