/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt migrate / ckpt receive: the flags both take (authentication, ports, timeouts), progress and summary. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

int cli_mig_init(struct cli *cli, struct cli_mig *j)
{
	*j = (struct cli_mig){ .prog.cli = cli };
	/*
	 * This process holds secrets (the token's keys, TLS session keys): no
	 * core dump, no ptrace by other processes of the same user.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	j->o = ckpt_opts_new();
	j->m = ckpt_migrate_opts_new();
	j->mg = ckpt_migrate_result_new();
	if (!j->o || !j->m || !j->mg)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	return 0;
}

void cli_mig_fini(struct cli_mig *j)
{
	ckpt_client_free(j->client);
	ckpt_migrate_result_free(j->mg);
	ckpt_migrate_opts_free(j->m);
	ckpt_opts_free(j->o);
}

int cli_mig_opt(struct cli *cli, struct cli_mig *j, int c, const char *arg)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned long v;
	int r = cli_criu_opt(cli, j->o, &j->criu, c, arg);

	if (r)
		return r;
	switch (c) {
	case OPT_MIG_TOKEN_FILE:
		if (ckpt_migrate_opts_set_token_file(j->m, arg, &err) < 0)
			return -cli_bad_value(cli, "--token-file", arg, &err);
		j->token = true;
		return 1;
	case OPT_MIG_TLS_CACERT: j->cacert = arg; return 1;
	case OPT_MIG_TLS_CERT: j->cert = arg; return 1;
	case OPT_MIG_TLS_KEY: j->key = arg; return 1;
	case OPT_MIG_TLS_CACRL:
		if (ckpt_migrate_opts_set_str(j->m, CKPT_MIGRATE_OPT_TLS_CACRL, arg, &err) < 0)
			return -cli_bad_value(cli, "--tls-cacrl", arg, &err);
		return 1;
	case OPT_MIG_TLS_PEER:
		if (ckpt_migrate_opts_add_tls_peer(j->m, arg, &err) < 0)
			return -cli_bad_value(cli, "--tls-peer", arg, &err);
		j->peers++;
		return 1;
	case OPT_MIG_TLS_NO_CN_VERIFY:
		return -cli_usage_error(
			cli,
			"--tls-no-cn-verify is gone: it let any certificate of the CA through; name "
			"the peer's certificate with --tls-peer NAME instead");
	case OPT_MIG_PAGE_PORT:
		return -cli_usage_error(
			cli,
			"--page-port is gone: the memory pages take a second connection to PORT, "
			"inside the same TLS session keys; no other port is opened (drop the flag)");
	case OPT_MIG_CHANNEL_TIMEOUT:
		if (!cli_parse_uint(arg, 86400, &v) || v == 0 ||
		    ckpt_migrate_opts_set_int(j->m, CKPT_MIGRATE_OPT_TIMEOUT_MS, (int64_t)v * 1000,
					      &err) < 0)
			return -cli_usage_error(
				cli, "--channel-timeout '%s': expected seconds (1 to 86400)", arg);
		return 1;
	default: return 0;
	}
}

int cli_mig_getopt(struct cli *cli, struct cli_mig *j, int argc, char **argv,
		   const struct option *longopts)
{
	int c, r;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		r = cli_mig_opt(cli, j, c, optarg);
		if (r < 0)
			return r;
		if (r == 0)
			return c;
	}
	return 0;
}

int cli_mig_finish_auth(struct cli *cli, struct cli_mig *j)
{
	ckpt_err err = CKPT_ERR_INIT;

	if (j->cacert || j->cert || j->key) {
		if (!j->cacert || !j->cert || !j->key)
			return cli_usage_error(
				cli,
				"mutual TLS needs all three of --tls-cacert, --tls-cert and --tls-key "
				"(%s is missing)",
				!j->cacert ? "--tls-cacert" :
				!j->cert   ? "--tls-cert" :
					     "--tls-key");
		if (ckpt_migrate_opts_set_tls(j->m, j->cacert, j->cert, j->key, &err) < 0)
			return cli_usage_error(cli, "TLS files: %s", err.msg);
	} else if (j->peers) {
		return cli_usage_error(cli, "--tls-peer needs mutual TLS (--tls-cacert, --tls-cert "
					    "and --tls-key)");
	} else if (!j->token) {
		return cli_usage_error(
			cli,
			"refusing to run unauthenticated: give --token-file FILE or --tls-cacert, "
			"--tls-cert and --tls-key (a receiver restores whatever images reach it, as "
			"root)");
	}
	return 0;
}

static const char *rate(uint64_t bytes_per_s, char *buf, size_t n)
{
	snprintf(buf, n, "%.1f MB/s", (double)bytes_per_s / 1e6);
	return buf;
}

static bool fig(const ckpt_migrate_result *mg, ckpt_migrate_stat key, uint64_t *v)
{
	return ckpt_migrate_result_stat(mg, key, v) == 0;
}

void cli_mig_progress(void *userdata, ckpt_migrate_event ev, const ckpt_migrate_result *mg)
{
	struct cli_mig_progress *p = userdata;
	const char *msg = ckpt_migrate_result_message(mg);

	if (ev == CKPT_MIGRATE_EV_DONE)
		return; /* the summary says it */
	cli_progress(p->cli, "[%7.3fs] %s", cli_elapsed(&p->start), msg && *msg ? msg : "?");
}

void cli_mig_summary(struct cli *cli, const ckpt_migrate_result *mg, const char *what)
{
	uint64_t v, b, r;
	char hb[32], hr[32];

	if (cli->json) {
		/* pretty, as every other --json output */
		char *j = ckpt_migrate_result_to_json(mg);
		json_object *o = j ? json_tokener_parse(j) : NULL;

		if (o)
			cli_print_json(o);
		else if (j)
			printf("%s\n", j);
		fflush(stdout);
		ckpt_free(j);
		return;
	}
	printf("%s\n", what);
	if (fig(mg, CKPT_MIGRATE_STAT_FROZEN_US, &v))
		printf("  frozen     %8.3f s\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_TRANSFER_US, &v)) {
		printf("  transfer   %8.3f s", (double)v / 1e6);
		if (fig(mg, CKPT_MIGRATE_STAT_PAGE_BYTES, &b))
			printf("  pages %s%s%s", cli_human_bytes(b, hb, sizeof(hb)),
			       fig(mg, CKPT_MIGRATE_STAT_PAGE_RATE, &r) ? " at " : "",
			       fig(mg, CKPT_MIGRATE_STAT_PAGE_RATE, &r) ? rate(r, hr, sizeof(hr)) :
									  "");
		if (fig(mg, CKPT_MIGRATE_STAT_IMAGE_BYTES, &b) &&
		    fig(mg, CKPT_MIGRATE_STAT_IMAGE_FILES, &v))
			printf("; images %llu files, %s", (unsigned long long)v,
			       cli_human_bytes(b, hb, sizeof(hb)));
		printf("\n");
	}
	if (fig(mg, CKPT_MIGRATE_STAT_RESTORE_US, &v))
		printf("  restore    %8.3f s\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_DOWNTIME_US, &v))
		printf("  downtime   %8.3f s\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_PAGES_DONE_US, &v))
		printf("  all pages  %8.3f s after the start\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_SOURCE_RELEASED_US, &v))
		printf("  source released %.3f s after the start\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_TOTAL_US, &v))
		printf("  total      %8.3f s\n", (double)v / 1e6);
	if (fig(mg, CKPT_MIGRATE_STAT_CONTROL_BYTES_OUT, &v) &&
	    fig(mg, CKPT_MIGRATE_STAT_CONTROL_BYTES_IN, &b))
		printf("  control channel %s out, %s in\n", cli_human_bytes(v, hb, sizeof(hb)),
		       cli_human_bytes(b, hr, sizeof(hr)));
	fflush(stdout);
}

int cli_mig_failed(struct cli *cli, const struct cli_mig *j, const ckpt_err *err, const char *what)
{
	int r;

	if (what && !cli->json)
		cli_mig_summary(cli, j->mg, what);
	r = cli_report(cli, err, NULL);
	if (ckpt_migrate_result_outcome(j->mg) == CKPT_MIGRATE_OUTCOME_UNKNOWN)
		r = EXIT_UNKNOWN;
	return r;
}
