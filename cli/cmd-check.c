/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt check: can this kernel and criu checkpoint and restore? */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt check [--all] [--json]\n"
	"\n"
	"Ask CRIU whether the kernel supports checkpoint/restore (criu check).\n"
	"\n"
	"  --all          also run CRIU's feature check and show its table (see `ckpt features`)\n"
	"  --json         print {\"ok\": true[, \"features\": {...}]} on stdout\n"
	"  -q, --quiet    print nothing on success\n"
	"  -v, --verbose  libckpt's diagnostics on stderr\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit codes: 0 the check passed; 1 it failed; 2 usage error; 3 criu unusable;\n"
	"4 timeout.\n";

int cmd_features_query(struct cli *cli, ckpt_client *client, uint32_t *ret_have);
void cmd_features_print(struct cli *cli, uint32_t have, void *json_parent);

/* check's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_check_options[] = {
	{ "all", no_argument, NULL, 'a' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_check(struct cli *cli, int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	bool all = false;
	uint32_t have = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "a", cli_check_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		if (c == 'h') {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
		if (c == 'a') {
			all = true;
			continue;
		}
		return cli_getopt_error(cli, c, argv, cli_check_options);
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if ((r = cli_client(cli, &client)))
		return r;
	if (ckpt_check(client, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	if (all && (r = cmd_features_query(cli, client, &have)))
		goto out;
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "ok", json_object_new_boolean(true));
		if (all)
			cmd_features_print(cli, have, j);
		cli_print_json(j);
	} else {
		if (!cli->quiet)
			printf("Looks good: this kernel and criu can checkpoint and restore.\n");
		if (all)
			cmd_features_print(cli, have, NULL);
	}
	r = EXIT_OK;
out:
	ckpt_client_free(client);
	return r;
}
