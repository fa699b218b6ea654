/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: human and --json rendering of results and errors, exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static void vprefixed(struct cli *cli, const char *fmt, va_list ap)
{
	if (cli->cmd)
		fprintf(stderr, "%s %s: ", cli->prog, cli->cmd);
	else
		fprintf(stderr, "%s: ", cli->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed(cli, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_fail(struct cli *cli, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed(cli, fmt, ap);
	va_end(ap);
	if (cli->json) {
		char msg[1024];
		json_object *o = json_object_new_object(), *e = json_object_new_object();

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(e, "exit_code", json_object_new_int(code));
		json_object_object_add(o, "error", e);
		cli_print_json(o);
	}
	return code;
}

int cli_bad_value(struct cli *cli, const char *flag, const char *value, const ckpt_err *err)
{
	return cli_usage_error(cli, "%s '%s': %s", flag, value,
			       err && err->msg[0] ? err->msg : "invalid value");
}

int cli_exit_code(int code)
{
	switch (code) {
	case CKPT_OK:
		return EXIT_OK;
	case CKPT_ECRIU_EXEC:
	case CKPT_ECRIU_VERSION:
	case CKPT_ESERVICE:
		return EXIT_CRIU;
	case CKPT_ETIMEDOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_FAILED;
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

int cli_report(struct cli *cli, const ckpt_err *err, const char *log_path)
{
	char msg[CKPT_ERR_MSG_MAX];
	const char *lp = log_path ? log_path : err->log_path;
	int code = cli_exit_code(err->code);

	snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : ckpt_strerror(err->code));
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
	if (lp && *lp)
		fprintf(stderr, "see %s\n", lp);

	if (cli->json) {
		json_object *o = json_object_new_object(), *e = json_object_new_object();
		json_object *lines = json_object_new_array();
		const char *s = err->criu_log;

		json_object_object_add(e, "code", json_object_new_int(err->code));
		json_object_object_add(e, "name", json_object_new_string(ckpt_strerror(err->code)));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(e, "step", json_object_new_string(err->step));
		json_object_object_add(e, "criu_errno", json_object_new_int(err->criu_errno));
		json_object_object_add(e, "sys_errno", json_object_new_int(err->sys_errno));
		json_object_object_add(e, "log_path", lp && *lp ? json_object_new_string(lp) : NULL);
		while (*s) {
			size_t n = strcspn(s, "\n");

			json_object_array_add(lines, json_object_new_string_len(s, (int)n));
			s += n;
			if (*s == '\n')
				s++;
		}
		json_object_object_add(e, "criu_log", lines);
		json_object_object_add(e, "exit_code", json_object_new_int(code));
		json_object_object_add(o, "error", e);
		cli_print_json(o);
	}
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

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
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
