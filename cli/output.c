/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: human and --json rendering of results and errors, exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min, c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, min = 0x80, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, min = 0x800, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, min = 0x10000, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/*
 * A JSON string of the n bytes at s, valid UTF-8 whatever they hold: json-c's
 * serializer copies bytes as they are, and a path, a comm or a CRIU log line
 * may hold any; a byte that does not start a valid sequence becomes U+FFFD.
 * NULL s: JSON null.
 */
void *cli_json_strn(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	json_object *j;
	char *buf;
	size_t o = 0;

	if (!s)
		return NULL;
	buf = malloc(n * 3 + 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);

		if (k) {
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_object_new_string_len(buf, (int)o);
	free(buf);
	return j;
}

void *cli_json_str(const char *s)
{
	return s ? cli_json_strn(s, strlen(s)) : NULL;
}

/*
 * {"error": {...}} on stdout for --json, every key the man page lists always
 * present (null when it does not apply). err may be NULL (a failure of ckpt's own).
 */
static void print_error_json(const ckpt_err *err, const char *msg, const char *log_path,
			     const char *hint, int exit_code)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	json_object *lines = json_object_new_array();
	const char *s = err ? err->criu_log : "";

	json_object_object_add(e, "code", err ? json_object_new_int(err->code) : NULL);
	json_object_object_add(e, "name", err ? cli_json_str(ckpt_strerror(err->code)) : NULL);
	json_object_object_add(e, "message", cli_json_str(msg));
	json_object_object_add(e, "step", err && err->step[0] ? cli_json_str(err->step) : NULL);
	json_object_object_add(e, "criu_errno", json_object_new_int(err ? err->criu_errno : 0));
	json_object_object_add(e, "sys_errno", json_object_new_int(err ? err->sys_errno : 0));
	json_object_object_add(e, "log_path",
			       log_path && *log_path ? cli_json_str(log_path) : NULL);
	while (*s) {
		size_t n = strcspn(s, "\n");

		json_object_array_add(lines, cli_json_strn(s, n));
		s += n;
		if (*s == '\n')
			s++;
	}
	json_object_object_add(e, "criu_log", lines);
	json_object_object_add(e, "hint", hint && *hint ? cli_json_str(hint) : NULL);
	json_object_object_add(e, "hint_flag",
			       err && err->hint_opt ? cli_json_str(cli_flag_of(err->hint_opt)) :
						      NULL);
	json_object_object_add(e, "images_kept",
			       err && (err->flags & CKPT_ERR_F_IMAGES_KEPT) ?
				       cli_json_str(err->images_path) :
				       NULL);
	json_object_object_add(e, "outcome_unknown",
			       json_object_new_boolean(err &&
						       (err->flags & CKPT_ERR_F_OUTCOME_UNKNOWN)));
	json_object_object_add(e, "exit_code", json_object_new_int(exit_code));
	json_object_object_add(o, "error", e);
	cli_print_json(o);
}

static void vfail(struct cli *cli, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vfail(struct cli *cli, int code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cli->cmd)
		fprintf(stderr, "%s %s: %s\n", cli->prog, cli->cmd, msg);
	else
		fprintf(stderr, "%s: %s\n", cli->prog, msg);
	if (cli->json)
		print_error_json(NULL, msg, NULL, NULL, code);
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(cli, EXIT_USAGE, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_fail(struct cli *cli, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(cli, code, fmt, ap);
	va_end(ap);
	return code;
}

int cli_bad_value(struct cli *cli, const char *flag, const char *value, const ckpt_err *err)
{
	return cli_usage_error(cli, "%s '%s': %s", flag, value,
			       err && err->msg[0] ? err->msg : "invalid value");
}

/* How ckpt spells an option in a hint: its own flag, or what to do where it has none. */
struct spelling {
	char buf[128];
};

static const char *cli_spell(void *userdata, ckpt_opt key)
{
	static const struct {
		ckpt_opt key;
		const char *flag;
	} own[] = {
		{ CKPT_OPT_IMAGES_DIR, "--image-path" },
		{ CKPT_OPT_WORK_DIR, "--work-path" },
		{ CKPT_OPT_PARENT_IMAGES, "--parent-path" },
		{ CKPT_OPT_OVERWRITE, "--force" },
		{ CKPT_OPT_PAGE_SERVER, "--page-server" },
		{ CKPT_OPT_CGROUP_MODE, "--manage-cgroups-mode" },
		{ CKPT_OPT_INHERIT_FD, "--inherit-fd" },
		{ CKPT_OPT_UNIX_SK_INO, "--ext-unix-sk" },
		{ CKPT_OPT_FOLLOW_SYMLINKS, "--follow-symlinks" },
	};
	static const ckpt_opt same[] = {
		CKPT_OPT_LEAVE_RUNNING, CKPT_OPT_TCP_ESTABLISHED, CKPT_OPT_TCP_CLOSE,
		CKPT_OPT_EXT_UNIX_SK,	CKPT_OPT_SHELL_JOB,	  CKPT_OPT_FILE_LOCKS,
		CKPT_OPT_LAZY_PAGES,	CKPT_OPT_AUTO_DEDUP,	  CKPT_OPT_UNPRIVILEGED,
		CKPT_OPT_LOG_LEVEL,	CKPT_OPT_NETWORK_LOCK,	  CKPT_OPT_EMPTY_NS,
		CKPT_OPT_STATUS_FD,	CKPT_OPT_LSM_PROFILE,
	};
	struct spelling *sp = userdata;
	const char *name = ckpt_opt_name(key);

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i].key == key)
			return own[i].flag;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (same[i] == key)
			return NULL; /* "--" + CRIU's name, which is ckpt's too */
	if (!name)
		return NULL;
	snprintf(sp->buf, sizeof(sp->buf),
		 "CRIU's --%s (ckpt has no flag for it: use criu, or libckpt's CKPT_OPT_*)", name);
	return sp->buf;
}

/* The library's words for what the CLI spells as a flag, and that flag. */
static const struct {
	const char *lib, *flag;
} cli_words_tab[] = {
	{ "ckpt_client_set_criu_path()", "--criu PATH" },
	{ "ckpt_client_set_timeout_ms()", "--timeout SECONDS" },
};

/* In place: each of cli_words_tab's library words in buf becomes its flag (what fits). */
static void cli_words(char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(cli_words_tab) / sizeof(cli_words_tab[0]); i++) {
		size_t ll = strlen(cli_words_tab[i].lib), fl = strlen(cli_words_tab[i].flag);
		char *p;

		while ((p = strstr(buf, cli_words_tab[i].lib)) != NULL) {
			size_t tail = strlen(p + ll);

			if ((size_t)(p - buf) + fl + tail + 1 > size)
				break;
			memmove(p + fl, p + ll, tail + 1);
			memcpy(p, cli_words_tab[i].flag, fl);
		}
	}
}

int cli_hint(const char *hint, char *buf, size_t size)
{
	struct spelling sp;
	int r;

	buf[0] = '\0';
	if (!hint || !*hint)
		return 0;
	r = ckpt_hint_rewrite(hint, cli_spell, &sp, buf, size, NULL);
	if (r < 0)
		snprintf(buf, size, "%s", hint);
	cli_words(buf, size);
	return 0;
}

const char *cli_flag_of(ckpt_opt key)
{
	static __thread struct spelling sp;
	static __thread char buf[160];
	const char *s;

	if (key == 0)
		return NULL;
	s = cli_spell(&sp, key);
	if (s)
		return strncmp(s, "CRIU's", 6) == 0 ? NULL : s; /* no flag of ckpt's */
	snprintf(buf, sizeof(buf), "--%s", ckpt_opt_name(key) ? ckpt_opt_name(key) : "?");
	return buf;
}

const char *cli_strerror(int errnum)
{
	static __thread char buf[128];

	return strerror_r(errnum, buf, sizeof(buf)); /* the GNU strerror_r: a static text or buf */
}

int cli_exit_code(int code)
{
	switch (code) {
	case CKPT_OK: return EXIT_OK;
	case CKPT_ECRIU_EXEC:
	case CKPT_ECRIU_VERSION:
	case CKPT_ESERVICE: return EXIT_CRIU;
	case CKPT_ETIMEDOUT: return EXIT_TIMEOUT;
	case CKPT_EMISSINGLIB: return EXIT_MISSINGLIB;
	default: return EXIT_FAILED;
	}
}

/* The message without a trailing " (log: PATH)", which is printed apart. */
static void strip_log_suffix(char *msg, const char *path)
{
	char suffix[sizeof(((ckpt_err *)0)->log_path) + 16];
	size_t l = strlen(msg), sl;

	if (!path || !*path)
		return;
	snprintf(suffix, sizeof(suffix), " (log: %s)", path);
	sl = strlen(suffix);
	if (l >= sl && strcmp(msg + l - sl, suffix) == 0)
		msg[l - sl] = '\0';
}

/* The preflight's JSON in the CLI's words: each finding's hint with flags, hint_flag for hint_opt. */
static void preflight_json(const ckpt_preflight *p)
{
	char *j = ckpt_preflight_to_json(p);
	json_object *o = j ? json_tokener_parse(j) : NULL, *findings;

	ckpt_free(j);
	if (!o)
		return;
	if (json_object_object_get_ex(o, "findings", &findings)) {
		for (size_t i = 0; i < json_object_array_length(findings); i++) {
			json_object *f = json_object_array_get_idx(findings, i);
			char hint[2 * CKPT_ERR_HINT_MAX + 512];
			const char *flag = cli_flag_of((ckpt_opt)ckpt_preflight_hint_opt(p, i));

			cli_hint(ckpt_preflight_hint(p, i), hint, sizeof(hint));
			json_object_object_add(f, "hint", hint[0] ? cli_json_str(hint) : NULL);
			json_object_object_del(f, "hint_opt");
			json_object_object_add(f, "hint_flag", flag ? cli_json_str(flag) : NULL);
		}
	}
	cli_print_json(o);
}

int cli_preflight(struct cli *cli, ckpt_client *client, const ckpt_opts *o, pid_t pid, bool json,
		  size_t *ret_n)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_preflight *p = NULL;
	size_t n;

	*ret_n = 0;
	if (ckpt_preflight_dump(client, o, &p, &err) < 0)
		return cli_report(cli, &err, NULL);
	n = ckpt_preflight_nr_findings(p);
	for (size_t i = 0; i < n; i++) {
		char hint[2 * CKPT_ERR_HINT_MAX + 512];

		fprintf(stderr, "pid %d: %s\n", (int)ckpt_preflight_pid(p, i),
			ckpt_preflight_what(p, i));
		if (cli_hint(ckpt_preflight_hint(p, i), hint, sizeof(hint)) == 0 && hint[0])
			fprintf(stderr, "  hint: %s\n", hint);
	}
	cli_progress(cli, "checked %zu task(s) of pid %d: %zu problem(s) a dump would fail on",
		     ckpt_preflight_nr_tasks(p), (int)pid, n);
	if (json && cli->json)
		preflight_json(p);
	ckpt_preflight_free(p);
	*ret_n = n;
	return 0;
}

void *cli_json_seconds(double s)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.6f", s);
	return json_object_new_double_s(s, buf);
}

int cli_report(struct cli *cli, const ckpt_err *err, const char *log_path)
{
	char msg[CKPT_ERR_MSG_MAX], hint[2 * CKPT_ERR_HINT_MAX + 512];
	const char *lp = log_path ? log_path : err->log_path;
	int code = cli_exit_code(err->code);

	if (lp && *lp && access(lp, F_OK) < 0)
		lp = NULL; /* criu never wrote it: pointing there only misleads */

	/* the message in the CLI's words too: "(CKPT_OPT_OVERWRITE)" reads "(--force)" */
	cli_hint(err->msg[0] ? err->msg : ckpt_strerror(err->code), msg, sizeof(msg));
	strip_log_suffix(msg, err->log_path);
	fprintf(stderr, "%s %s: %s\n", cli->prog, cli->cmd ? cli->cmd : "", msg);
	if (err->criu_log[0]) {
		const char *s = err->criu_log;

		while (*s) {
			size_t n = strcspn(s, "\n");

			fprintf(stderr, "    %.*s\n", (int)n, s);
			s += n;
			if (*s == '\n')
				s++;
		}
	}
	cli_hint(err->hint, hint, sizeof(hint));
	if (hint[0])
		fprintf(stderr, "hint: %s\n", hint);
	if (lp && *lp)
		fprintf(stderr, "see %s\n", lp);
	if (cli->json)
		print_error_json(err, msg, lp, hint, code);
	return code;
}

void cli_progress(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_json(void *jobj)
{
	json_object *o = jobj;

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(o);
}

const char *cli_human_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

double cli_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}
