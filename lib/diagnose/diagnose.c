/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRIU failure diagnosis, the engine (pure): the lines of CRIU's log kept
 * (lines.c), the table (table.c) applied to them, the decisive line, the
 * error lines and the hint; the option identifiers hints name, and their rewrite.
 */
#include <stdio.h>

#include "diagnose.h"
#include "lines.h"
#include "table.h"
#include "base/error.h"

/* ---- CRIU's log: the lines kept of it ---- */

/* Every substring a table entry triggers on or reads a detail from (defined below). */
static bool any_pattern(const struct line *l);

static void scan(struct ctx *c)
{
	const char *s = c->in->log, *end = s ? s + c->in->log_len : NULL;

	c->n = 0;
	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		struct line l = { .raw = s, .raw_len = (size_t)(e - s) };

		s = nl ? nl + 1 : end;
		if (l.raw_len && l.raw[l.raw_len - 1] == '\r')
			l.raw_len--;
		/* "(00.054016) " timestamp of log level 3 and up */
		if (l.raw_len > 2 && l.raw[0] == '(') {
			const char *t = memchr(l.raw, ')', l.raw_len > 24 ? 24 : l.raw_len);

			if (t && t + 1 < l.raw + l.raw_len && t[1] == ' ') {
				l.raw_len -= (size_t)(t + 2 - l.raw);
				l.raw = t + 2;
			}
		}
		if (!l.raw_len)
			continue;
		diag_line_classify(&l);
		if (l.level != L_ERROR && !diag_line_has(&l, "BUG at") && !any_pattern(&l))
			continue;
		if (c->n == MAX_LINES)
			memmove(c->lines, c->lines + 1, sizeof(c->lines[0]) * --c->n);
		c->lines[c->n++] = l;
	}
	c->end = c->n;
	for (size_t i = 0; i < c->n; i++)
		if (c->lines[i].flags & F_FAILED) {
			c->end = i;
			break;
		}
}

static void set_headline(struct diag_result *out, const char *s, size_t n)
{
	char tmp[CKPT_ERR_MSG_MAX];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	sanitize_copy(out->headline, sizeof(out->headline), tmp);
}

/* ---- the diagnosis: the table over the kept lines ---- */

static bool any_pattern(const struct line *l)
{
	size_t n;
	const struct entry *table = diag_entries(&n);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < ARRAY_SIZE(table[i].trig) && table[i].trig[j]; j++)
			if (diag_line_has(l, table[i].trig[j]))
				return true;
		for (size_t j = 0; j < ARRAY_SIZE(table[i].detail) && table[i].detail[j]; j++)
			if (diag_line_has(l, table[i].detail[j]))
				return true;
	}
	return false;
}

static const struct line *entry_hit(const struct ctx *c, const struct entry *e, size_t lim)
{
	for (size_t i = 0; i < lim; i++)
		for (size_t j = 0; j < ARRAY_SIZE(e->trig) && e->trig[j]; j++)
			if (diag_line_has(&c->lines[i], e->trig[j]))
				return &c->lines[i];
	return NULL;
}

/* Append one line to out->lines if it fits and is not there yet. */
static void add_line(struct diag_result *out, const struct line *l)
{
	char tmp[CKPT_ERR_LOG_MAX];
	size_t cur = strlen(out->lines), n = l->raw_len;
	const char *p = l->raw;

	while (n && *p == ' ')
		p++, n--;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	/* the same message again (each task, each retry) says nothing new */
	for (const char *s = out->lines; *s;) {
		size_t len = strcspn(s, "\n");

		if (len == n && !memcmp(s, tmp, n))
			return;
		s += len;
		if (*s)
			s++;
	}
	if (cur + (cur ? 1 : 0) + n + 1 > sizeof(out->lines)) {
		if (cur)
			return;
		n = sizeof(out->lines) - 1; /* the decisive line, cut */
		tmp[n] = '\0';
	}
	if (cur)
		out->lines[cur++] = '\n';
	sanitize_copy(out->lines + cur, sizeof(out->lines) - cur, tmp);
}

/* The table entry that explains the log (*ret_hit its line), or NULL. */
static const struct entry *find_entry(struct ctx *ctx, const struct diag_in *in,
				      const struct line **ret_hit)
{
	const struct entry *hit_e = NULL;
	const struct line *hit = NULL;
	unsigned opm = OPM(in->op);
	size_t n;
	const struct entry *table = diag_entries(&n);

	/* a table entry: lines before "... FAILED." first, then the rest */
	for (int pass = 0; pass < 2 && !hit_e; pass++) {
		size_t lim = pass == 0 ? ctx->end : ctx->n;

		for (size_t i = 0; i < n && !hit_e; i++) {
			const struct entry *e = &table[i];

			if (e->ops && !(e->ops & opm))
				continue;
			if (e->unless_opt && diag_opt_on(in->opts, e->unless_opt))
				continue;
			hit = entry_hit(ctx, e, lim);
			if (hit)
				hit_e = e;
		}
	}
	/* CRIU's pid clash without a log line: cr_errno EEXIST at restore */
	if (!hit_e && in->op == DIAG_OP_RESTORE && in->criu_errno == EEXIST) {
		for (size_t i = 0; i < n; i++)
			if (!strcmp(table[i].info.id, "pid-taken"))
				hit_e = &table[i];
	}

	*ret_hit = hit;
	return hit_e;
}

/* The decisive line: CRIU's own, the table's hit, else the first error not a wrapper's, else any error. */
static const struct line *decisive_line(const struct ctx *ctx, const struct line *hit)
{
	const struct line *head = ctx->decisive ? ctx->decisive : hit;

	for (int want = 0; want < 2 && !head; want++)
		for (size_t i = 0; i < ctx->end && !head; i++) {
			const struct line *l = &ctx->lines[i];

			if (l->level != L_ERROR || (l->flags & (F_HARMLESS | F_FAILED)))
				continue;
			if (want == 0 && (l->flags & F_WRAPPER))
				continue;
			head = l;
		}
	return head;
}

bool diagnose(const struct diag_in *in, struct diag_result *out)
{
	struct ctx c = { .in = in };
	const struct entry *hit_e = NULL;
	const struct line *hit = NULL, *head = NULL;

	memset(out, 0, sizeof(*out));
	scan(&c);

	hit_e = find_entry(&c, in, &hit);

	if (hit_e) {
		out->id = hit_e->info.id;
		out->hint_opt = hit_e->info.hint_opt;
		if (hit_e->build)
			hit_e->build(&c, hit_e, hit, out);
		else
			snprintf(out->hint, sizeof(out->hint), "%s", hit_e->hint);
	}

	/* the decisive line */
	head = decisive_line(&c, hit);
	if (head)
		set_headline(out, head->msg, head->msg_len);
	else if (in->criu_errmsg && *in->criu_errmsg) {
		struct line l = { .raw = in->criu_errmsg,
				  .raw_len = strcspn(in->criu_errmsg, "\n") };

		diag_line_classify(&l);
		if (!(l.flags & F_HARMLESS))
			set_headline(out, l.msg, l.msg_len);
	}
	if (!hit_e && !out->headline[0]) {
		hit_e = diag_no_reason();
		out->id = hit_e->info.id;
		out->hint_opt = hit_e->info.hint_opt;
		hit_e->build(&c, hit_e, NULL, out);
	}

	/* the error lines: the decisive one, then the others in log order, harmless ones left out */
	if (head)
		add_line(out, head);
	for (size_t i = 0; i < c.n; i++) {
		const struct line *l = &c.lines[i];

		if (l == head || (l->flags & F_HARMLESS) ||
		    (l->level != L_ERROR && !any_pattern(l)))
			continue;
		add_line(out, l);
	}
	return hit_e != NULL && hit_e != diag_no_reason();
}

void diag_apply(ckpt_err *err, const struct diag_result *r)
{
	if (!err || !r)
		return;
	if (r->lines[0])
		snprintf(err->criu_log, sizeof(err->criu_log), "%s", r->lines);
	snprintf(err->hint, sizeof(err->hint), "%s", r->hint);
	err->hint_opt = r->hint_opt;
}

/* ---- option identifiers in hints ---- */

#define ID(k)         \
	{             \
		k, #k \
	}
static const struct {
	int key;
	const char *ident;
} idents[] = {
	ID(CKPT_OPT_LEAVE_RUNNING),
	ID(CKPT_OPT_LEAVE_STOPPED),
	ID(CKPT_OPT_EXT_UNIX_SK),
	ID(CKPT_OPT_TCP_ESTABLISHED),
	ID(CKPT_OPT_TCP_SKIP_IN_FLIGHT),
	ID(CKPT_OPT_TCP_CLOSE),
	ID(CKPT_OPT_EVASIVE_DEVICES),
	ID(CKPT_OPT_SHELL_JOB),
	ID(CKPT_OPT_FILE_LOCKS),
	ID(CKPT_OPT_TRACK_MEM),
	ID(CKPT_OPT_AUTO_DEDUP),
	ID(CKPT_OPT_LINK_REMAP),
	ID(CKPT_OPT_FORCE_IRMAP),
	ID(CKPT_OPT_RST_SIBLING),
	ID(CKPT_OPT_AUTO_EXT_MNT),
	ID(CKPT_OPT_EXT_SHARING),
	ID(CKPT_OPT_EXT_MASTERS),
	ID(CKPT_OPT_WEAK_SYSCTLS),
	ID(CKPT_OPT_LAZY_PAGES),
	ID(CKPT_OPT_ORPHAN_PTS_MASTER),
	ID(CKPT_OPT_MNTNS_COMPAT_MODE),
	ID(CKPT_OPT_SKIP_FILE_RWX_CHECK),
	ID(CKPT_OPT_UNPRIVILEGED),
	ID(CKPT_OPT_DISPLAY_STATS),
	ID(CKPT_OPT_TLS),
	ID(CKPT_OPT_TLS_NO_CN_VERIFY),
	ID(CKPT_OPT_FOLLOW_SYMLINKS),
	ID(CKPT_OPT_MANAGE_CGROUPS),
	ID(CKPT_OPT_OVERWRITE),
	ID(CKPT_OPT_SELF_DUMP),
	ID(CKPT_OPT_DEFER_CHECKS),
	ID(CKPT_OPT_KEEP_MODES),
	ID(CKPT_OPT_LOG_LEVEL),
	ID(CKPT_OPT_GHOST_LIMIT),
	ID(CKPT_OPT_TIMEOUT),
	ID(CKPT_OPT_CPU_CAP),
	ID(CKPT_OPT_STATUS_FD),
	ID(CKPT_OPT_EMPTY_NS),
	ID(CKPT_OPT_NETWORK_LOCK),
	ID(CKPT_OPT_PRE_DUMP_MODE),
	ID(CKPT_OPT_CGROUP_MODE),
	ID(CKPT_OPT_PIDFD_STORE_SK),
	ID(CKPT_OPT_LOG_FILE),
	ID(CKPT_OPT_ROOT),
	ID(CKPT_OPT_CGROUP_PROPS),
	ID(CKPT_OPT_CGROUP_PROPS_FILE),
	ID(CKPT_OPT_FREEZE_CGROUP),
	ID(CKPT_OPT_CGROUP_YARD),
	ID(CKPT_OPT_LSM_PROFILE),
	ID(CKPT_OPT_LSM_MOUNT_CONTEXT),
	ID(CKPT_OPT_CONFIG_FILE),
	ID(CKPT_OPT_TLS_CACERT),
	ID(CKPT_OPT_TLS_CACRL),
	ID(CKPT_OPT_TLS_CERT),
	ID(CKPT_OPT_TLS_KEY),
	ID(CKPT_OPT_EXTERNAL),
	ID(CKPT_OPT_SKIP_MNT),
	ID(CKPT_OPT_ENABLE_FS),
	ID(CKPT_OPT_IRMAP_SCAN_PATH),
	ID(CKPT_OPT_CGROUP_DUMP_CONTROLLER),
	ID(CKPT_OPT_EXEC_CMD),
	ID(CKPT_OPT_EXT_MOUNT),
	ID(CKPT_OPT_VETH),
	ID(CKPT_OPT_INHERIT_FD),
	ID(CKPT_OPT_JOIN_NS),
	ID(CKPT_OPT_CGROUP_ROOT),
	ID(CKPT_OPT_UNIX_SK_INO),
	ID(CKPT_OPT_PAGE_SERVER),
	ID(CKPT_OPT_PARENT_IMAGES),
	ID(CKPT_OPT_PID),
	ID(CKPT_OPT_IMAGES_DIR),
	ID(CKPT_OPT_WORK_DIR),
};

int diag_opt_from_identifier(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(idents); i++)
		if (strlen(idents[i].ident) == len && !memcmp(idents[i].ident, s, len))
			return idents[i].key;
	return 0;
}

const char *diag_opt_identifier(int key)
{
	for (size_t i = 0; i < ARRAY_SIZE(idents); i++)
		if (idents[i].key == key)
			return idents[i].ident;
	return NULL;
}

static bool ident_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

int diag_hint_rewrite(const char *hint, diag_spell_fn spell_of, void *userdata, char *buf,
		      size_t size, ckpt_err *err)
{
	size_t used = 0;

	assert_return(hint && buf, err, "hint rewrite: NULL argument");
	for (const char *p = hint; *p;) {
		const char *piece = p;
		size_t n = 1;

		if (!strncmp(p, "CKPT_OPT_", 9) && (p == hint || !ident_char(p[-1]))) {
			size_t len = 9;
			int key;
			const char *s;

			while (ident_char(p[len]))
				len++;
			key = diag_opt_from_identifier(p, len);
			s = key ? spell_of(userdata, key) : NULL;
			if (s) {
				piece = s;
				n = strlen(s);
			} else {
				n = len;
			}
			p += len;
		} else {
			p++;
		}
		if (used + n >= size)
			return err_set(err, CKPT_EINVAL,
				       "hint rewrite: a buffer of %zu bytes is too small", size);
		memcpy(buf + used, piece, n);
		used += n;
	}
	if (!size)
		return err_set(err, CKPT_EINVAL, "hint rewrite: a buffer of 0 bytes is too small");
	buf[used] = '\0';
	return 0;
}
