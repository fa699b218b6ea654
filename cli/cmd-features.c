/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt features: which of CRIU's optional features work here. */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt features [--json]\n"
	"\n"
	"Run CRIU's feature check and show, as a table, which optional features work\n"
	"with this kernel and criu:\n"
	"  mem_track     memory change tracking (soft-dirty), for --pre-dump and --parent-path\n"
	"  lazy_pages    userfaultfd-based lazy restore, for --lazy-pages\n"
	"  pidfd_store   pidfd store, for pid reuse detection between pre-dumps\n"
	"\n"
	"  --json         print {\"mem_track\": bool, \"lazy_pages\": bool, \"pidfd_store\": bool}\n"
	"  -v, --verbose  libckpt's diagnostics on stderr\n"
	"  -q, --quiet    no progress lines\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit codes: 0 done (whatever the answers); 1 the check failed; 2 usage error;\n"
	"3 criu unusable; 4 timeout.\n";

static const struct {
	const char *name;
	uint32_t bit;
	const char *what;
} features[] = {
	{ "mem_track", CKPT_FEATURE_MEM_TRACK,
	  "memory change tracking (pre-dump, incremental dumps)" },
	{ "lazy_pages", CKPT_FEATURE_LAZY_PAGES, "lazy restore of memory (userfaultfd)" },
	{ "pidfd_store", CKPT_FEATURE_PIDFD_STORE, "pidfd store (pid reuse detection)" },
};

int cmd_features_query(struct cli *cli, ckpt_client *client, uint32_t *ret_have);
void cmd_features_print(struct cli *cli, uint32_t have, void *json_parent);

int cmd_features_query(struct cli *cli, ckpt_client *client, uint32_t *ret_have)
{
	ckpt_err err = CKPT_ERR_INIT;

	if (ckpt_feature_check(client,
			       CKPT_FEATURE_MEM_TRACK | CKPT_FEATURE_LAZY_PAGES |
				       CKPT_FEATURE_PIDFD_STORE,
			       ret_have, &err) < 0)
		return cli_report(cli, &err, NULL);
	return EXIT_OK;
}

/* Human table on stdout, or keys added to json_parent (a json_object *) under "features". */
void cmd_features_print(struct cli *cli, uint32_t have, void *json_parent)
{
	if (json_parent) {
		json_object *f = json_object_new_object();

		for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
			json_object_object_add(f, features[i].name,
					       json_object_new_boolean(have & features[i].bit));
		json_object_object_add(json_parent, "features", f);
		return;
	}
	printf("%-12s %-4s %s\n", "FEATURE", "OK", "WHAT");
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		printf("%-12s %-4s %s\n", features[i].name, have & features[i].bit ? "yes" : "no",
		       features[i].what);
}

/* features's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_features_options[] = {
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_features(struct cli *cli, int argc, char **argv)
{
	ckpt_client *client = NULL;
	uint32_t have = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, cli_features_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		if (c == 'h') {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
		return cli_getopt_error(cli, c, argv, cli_features_options);
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if ((r = cli_client(cli, &client)))
		return r;
	r = cmd_features_query(cli, client, &have);
	if (r == EXIT_OK) {
		if (cli->json) {
			json_object *j = json_object_new_object(), *f;

			cmd_features_print(cli, have, j);
			/* flat object: the features are the document */
			f = json_object_get(json_object_object_get(j, "features"));
			json_object_put(j);
			cli_print_json(f);
		} else {
			cmd_features_print(cli, have, NULL);
		}
	}
	ckpt_client_free(client);
	return r;
}
