/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt version: libckpt's version and the version of the criu it drives. */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt version [--json]\n"
	"\n"
	"Print libckpt's version and the version of the criu that would be used.\n"
	"(`ckpt --version` prints libckpt's alone, without running criu.)\n"
	"\n"
	"  --json         print {\"ckpt\": \"X.Y.Z\", \"ckpt_version_number\": N,\n"
	"                 \"criu\": \"X.Y.Z\", \"criu_version_number\": N}\n"
	"  -v, --verbose  libckpt's diagnostics on stderr\n"
	"  -q, --quiet    no progress lines\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit codes: 0 done; 1 failed; 2 usage error; 3 criu unusable (libckpt's\n"
	"version is printed anyway); 4 timeout.\n";

/* version's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_version_options[] = {
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_version(struct cli *cli, int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	unsigned v = 0;
	char criu[32] = "";
	int c, r;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, cli_version_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		if (c == 'h') {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
		return cli_getopt_error(cli, c, argv, cli_version_options);
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!cli->json)
		printf("ckpt %s\n", ckpt_version());
	fflush(stdout);
	r = cli_client(cli, &client);
	if (r == EXIT_OK) {
		if (ckpt_criu_version(client, &v, &err) < 0)
			r = cli_report(cli, &err, NULL);
		else
			snprintf(criu, sizeof(criu), "%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
	}
	ckpt_client_free(client);
	if (r != EXIT_OK)
		return r;
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "ckpt", cli_json_str(ckpt_version()));
		json_object_object_add(j, "ckpt_version_number",
				       json_object_new_int64(ckpt_version_number()));
		json_object_object_add(j, "criu", cli_json_str(criu));
		json_object_object_add(j, "criu_version_number", json_object_new_int64(v));
		cli_print_json(j);
	} else {
		printf("criu %s\n", criu);
	}
	return EXIT_OK;
}
