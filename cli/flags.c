/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: getopt, the common flags, and flag values each checked by a library setter. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt-cli.h"

bool cli_parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

bool cli_parse_pid(const char *s, pid_t *ret)
{
	unsigned long v;

	if (!cli_parse_uint(s, INT_MAX, &v) || v == 0)
		return false;
	*ret = (pid_t)v;
	return true;
}

int cli_set_cgroup_mode(struct cli *cli, ckpt_opts *o, const char *value)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_cgroup_mode mode;

	if (ckpt_cgroup_mode_from_string(value, &mode, &err) < 0 ||
	    ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, mode, &err) < 0)
		return cli_bad_value(cli, "--manage-cgroups-mode", value, &err);
	return 0;
}

int cli_add_empty_ns(struct cli *cli, ckpt_opts *o, uint32_t *mask, const char *value)
{
	ckpt_err err = CKPT_ERR_INIT;
	uint32_t m = 0;

	if (ckpt_ns_mask_from_string(value, &m, &err) < 0 ||
	    ckpt_opts_set_empty_ns(o, *mask | m, &err) < 0)
		return cli_bad_value(cli, "--empty-ns", value, &err);
	*mask |= m;
	return 0;
}

int cli_set_network_lock(struct cli *cli, ckpt_opts *o, const char *value)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_network_lock m;

	if (ckpt_network_lock_from_string(value, &m, &err) < 0 ||
	    ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, m, &err) < 0)
		return cli_bad_value(cli, "--network-lock", value, &err);
	return 0;
}

int cli_set_bool(struct cli *cli, ckpt_opts *o, ckpt_opt key, const char *flag)
{
	ckpt_err err = CKPT_ERR_INIT;

	if (ckpt_opts_set_bool(o, key, true, &err) < 0)
		return cli_usage_error(cli, "%s: %s", flag, err.msg);
	return 0;
}

/* One of the flags naming a CRIU switch to turn on: its key, or -1. */
static int criu_bool_key(int c, const char **flag)
{
	static const struct {
		int c;
		ckpt_opt key;
		const char *flag;
	} bools[] = {
		{ OPT_UNPRIVILEGED, CKPT_OPT_UNPRIVILEGED, "--unprivileged" },
		{ OPT_TCP_CLOSE, CKPT_OPT_TCP_CLOSE, "--tcp-close" },
		{ OPT_TCP_ESTABLISHED, CKPT_OPT_TCP_ESTABLISHED, "--tcp-established" },
		{ OPT_EXT_UNIX_SK, CKPT_OPT_EXT_UNIX_SK, "--ext-unix-sk" },
		{ OPT_SHELL_JOB, CKPT_OPT_SHELL_JOB, "--shell-job" },
		{ OPT_FILE_LOCKS, CKPT_OPT_FILE_LOCKS, "--file-locks" },
		{ OPT_FOLLOW_SYMLINKS, CKPT_OPT_FOLLOW_SYMLINKS, "--follow-symlinks" },
	};

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (bools[i].c == c) {
			*flag = bools[i].flag;
			return (int)bools[i].key;
		}
	}
	return -1;
}

int cli_criu_opt(struct cli *cli, ckpt_opts *o, struct cli_criu_flags *f, int c, const char *arg)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned long level;
	const char *flag;
	int key, r;

	if (cli_common_opt(cli, c))
		return 1;
	if (f->n_given < sizeof(f->given) / sizeof(f->given[0])) {
		f->given[f->n_given].c = c;
		f->given[f->n_given].arg = arg;
		f->n_given++;
	}
	if ((key = criu_bool_key(c, &flag)) >= 0) {
		if (c == OPT_SHELL_JOB)
			f->shell_job = true;
		return cli_set_bool(cli, o, (ckpt_opt)key, flag) ? -EXIT_USAGE : 1;
	}
	switch (c) {
	case OPT_LOG_LEVEL:
		if (!cli_parse_uint(arg, 4, &level))
			return -cli_usage_error(cli, "--log-level '%s': expected 0, 1, 2, 3 or 4",
						arg);
		if (ckpt_opts_set_int(o, CKPT_OPT_LOG_LEVEL, (int64_t)level, &err) < 0)
			return -cli_bad_value(cli, "--log-level", arg, &err);
		return 1;
	case OPT_CGROUPS_MODE: r = cli_set_cgroup_mode(cli, o, arg); break;
	case OPT_EMPTY_NS: r = cli_add_empty_ns(cli, o, &f->ns_mask, arg); break;
	case OPT_NETWORK_LOCK: r = cli_set_network_lock(cli, o, arg); break;
	default: return 0;
	}
	return r ? -r : 1;
}

int cli_set_work_dir(struct cli *cli, ckpt_opts *o, const char *work_path)
{
	ckpt_err err = CKPT_ERR_INIT;
	int e = cli_mkdir_p(work_path, 0700);

	if (e < 0)
		return cli_fail(cli, EXIT_FAILED, "--work-path '%s': %s", work_path,
				cli_strerror(-e));
	if (ckpt_opts_set_work_dir(o, work_path, &err) < 0)
		return cli_report(cli, &err, NULL);
	return 0;
}

int cli_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t l = strlen(path);

	if (l == 0 || l >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, l + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- getopt, and the flags every command takes ---- */

void cli_getopt_reset(void)
{
	optind = 0; /* glibc: full re-initialisation */
	opterr = 0; /* unknown flags are reported by cli_getopt_error */
}

/* Edit distance of a and b (each at most 63 bytes; more: "far"). */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la > 63 || lb > 63)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The flag of opts nearest to the unknown "--name[=value]" (at most 2 edits, or a unique prefix), or NULL. */
static const char *nearest_flag(const char *arg, const struct option *opts)
{
	char name[64];
	const char *best = NULL;
	unsigned best_d = 3;
	size_t l;

	if (!opts || strncmp(arg, "--", 2) != 0)
		return NULL;
	l = strcspn(arg + 2, "=");
	if (l == 0 || l >= sizeof(name))
		return NULL;
	memcpy(name, arg + 2, l);
	name[l] = '\0';
	for (const struct option *o = opts; o->name; o++) {
		unsigned d = distance(name, o->name);

		if (strncmp(o->name, name, l) == 0 && l >= 3)
			d = 1; /* a prefix that getopt found ambiguous */
		if (d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	return best;
}

int cli_getopt_error(struct cli *cli, int c, char **argv, const struct option *opts)
{
	const char *flag = argv[optind - 1], *near;

	if (c == ':')
		return cli_usage_error(cli, "flag '%s' needs a value (see `ckpt help %s`)", flag,
				       cli->cmd ? cli->cmd : "");
	if (optopt > 0 && optopt < 0x100)
		return cli_usage_error(cli, "unknown flag '-%c' (see `ckpt %s%s`)", optopt,
				       cli->cmd ? "help " : "--help", cli->cmd ? cli->cmd : "");
	near = nearest_flag(flag, opts);
	if (near)
		return cli_usage_error(cli,
				       "unknown flag '%s': did you mean --%s? (see `ckpt %s%s`)",
				       flag, near, cli->cmd ? "help " : "--help",
				       cli->cmd ? cli->cmd : "");
	return cli_usage_error(cli, "unknown flag '%s' (see `ckpt %s%s`)", flag,
			       cli->cmd ? "help " : "--help", cli->cmd ? cli->cmd : "");
}

int cli_common_opt(struct cli *cli, int c)
{
	switch (c) {
	case OPT_JSON: cli->json = true; return 1;
	case 'q': cli->quiet = true; return 1;
	case 'v': cli->verbose++; return 1;
	default: return 0;
	}
}
