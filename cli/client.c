/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: the ckpt_client of every command, from the global flags (--criu, --service, -v). */
#include <stdio.h>
#include <stdlib.h>

#include "ckpt-cli.h"

static void log_to_stderr(void *userdata, int level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	(void)userdata;
	fprintf(stderr, "ckpt: libckpt %s: %s\n", level >= 0 && level <= 3 ? names[level] : "?",
		line);
}

int cli_client(struct cli *cli, ckpt_client **ret)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *c = ckpt_client_new();
	int r = 0;

	if (!c) {
		fprintf(stderr, "%s %s: out of memory\n", cli->prog, cli->cmd);
		return EXIT_FAILED;
	}
	if (cli->service)
		r = ckpt_client_set_service(c, cli->service, &err);
	else if (cli->criu)
		r = ckpt_client_set_criu_path(c, cli->criu, &err);
	if (r == 0 && cli->timeout_s >= 0)
		r = ckpt_client_set_timeout_ms(c, (unsigned)(cli->timeout_s * 1000), &err);
	if (r == 0 && cli->verbose)
		r = ckpt_client_set_log(c, cli->verbose > 1 ? CKPT_LOG_DEBUG : CKPT_LOG_INFO,
					log_to_stderr, NULL);
	if (r < 0) {
		ckpt_client_free(c);
		r = cli_report(cli, &err, NULL);
		/* A --criu that is not an executable is "criu unusable", whatever the code. */
		return cli->criu && !cli->service && r == EXIT_FAILED ? EXIT_CRIU : r;
	}
	*ret = c;
	return EXIT_OK;
}
