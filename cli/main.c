/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: subcommand dispatch and the global flags. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt-cli.h"

static int cmd_help(struct cli *cli, int argc, char **argv);

enum { G_CRIU = 0x2000, G_SERVICE, G_TIMEOUT };

/* The global flags (before the command). */
static const struct option global_options[] = {
	{ "criu", required_argument, NULL, G_CRIU },
	{ "service", required_argument, NULL, G_SERVICE },
	{ "timeout", required_argument, NULL, G_TIMEOUT },
	{ "version", no_argument, NULL, 'V' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static const struct command commands[] = {
	{ "checkpoint", cmd_checkpoint,
	  "checkpoint a running process tree into an images directory", cli_checkpoint_options },
	{ "restore", cmd_restore, "restore a process tree from an images directory",
	  cli_restore_options },
	{ "check", cmd_check, "check that the kernel and criu can checkpoint and restore",
	  cli_check_options },
	{ "features", cmd_features, "show which optional CRIU features work here",
	  cli_features_options },
	{ "version", cmd_version, "show the versions of libckpt and criu", cli_version_options },
	{ "page-server", cmd_page_server, "receive a checkpoint's memory over the network",
	  cli_page_server_options },
	{ "inspect", cmd_inspect, "show what a checkpoint holds", cli_inspect_options },
	{ "migrate", cmd_migrate, "move a running process tree to a `ckpt receive` on another host",
	  cli_migrate_options },
	{ "receive", cmd_receive, "receive a migrated process tree and restore it here",
	  cli_receive_options },
	{ "token", cmd_token, "make a migration token (`ckpt token new FILE`)", cli_token_options },
	{ "help", cmd_help, "show help for a command", NULL },
};

/*
 * `ckpt __flags [COMMAND]`, for the completion scripts (not in --help): the
 * commands and the global flags, or COMMAND's flags; one a line, "--name" and
 * "--name=" for one that takes a value. Read from the tables getopt uses, so
 * completion cannot drift from what ckpt takes.
 */
static int list_flags(int argc, char **argv)
{
	const struct option *opts = global_options;

	if (argc > 1) {
		opts = NULL;
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(commands[i].name, argv[1]))
				opts = commands[i].opts;
		if (!opts && strcmp(argv[1], "help") != 0)
			return EXIT_USAGE;
	} else {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			printf("%s\n", commands[i].name);
	}
	for (; opts && opts->name; opts++)
		printf("--%s%s\n", opts->name, opts->has_arg == required_argument ? "=" : "");
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ckpt [GLOBAL FLAGS] COMMAND [FLAGS] [ARGS]\n"
		"\n"
		"Checkpoint and restore Linux process trees with CRIU (libckpt %s).\n"
		"\n"
		"Commands:\n",
		ckpt_version());
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Global flags (before the command):\n"
		"  --criu PATH         the criu binary to run (default: $CKPT_CRIU, else the build's\n"
		"                      configured criu, else criu on $PATH)\n"
		"  --service SOCKET    talk to a `criu service` daemon on SOCKET instead\n"
		"  --timeout SECONDS   deadline of each CRIU request (default: none for checkpoint,\n"
		"                      restore and page-server; 30 for queries; 0: none)\n"
		"  --json              machine-readable output on stdout (also after the command)\n"
		"  -q, --quiet         no progress lines\n"
		"  -v, --verbose       libckpt's diagnostics on stderr (twice: debug)\n"
		"  -h, --help          this help\n"
		"  -V, --version       libckpt's version\n"
		"\n"
		"Exit codes:\n"
		"  0  done\n"
		"  1  the operation failed (including: the target pid is not running,\n"
		"     the images directory already holds a checkpoint)\n"
		"  2  usage error: unknown flag, bad value, missing or malformed argument\n"
		"  3  criu is missing or unusable (not found, too old, service unreachable)\n"
		"  4  timeout: criu did not finish before the deadline\n"
		"  5  migrate/receive: where the tree runs is not known for sure\n"
		"  6  a library the command needs is not installed (GnuTLS, libarchive, libnl:\n"
		"     the message names the package)\n"
		"\n"
		"Run `ckpt help COMMAND` or `ckpt COMMAND --help` for a command's flags.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	char help[] = "--help";
	char *av[3];
	const struct command *cmd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error(cli, "expected one command name, got %d arguments",
				       argc - 1);
	cmd = find_command(argv[1]);
	if (!cmd || cmd->run == cmd_help) {
		if (cmd)
			return usage(stdout), EXIT_OK;
		return cli_usage_error(cli, "unknown command '%s' (see `ckpt --help`)", argv[1]);
	}
	av[0] = argv[1];
	av[1] = help;
	av[2] = NULL;
	cli->cmd = cmd->name;
	cli_getopt_reset();
	return cmd->run(cli, 2, av);
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "ckpt", .cmd = NULL, .timeout_s = -1 };

	opterr = 0;
	const struct command *cmd;
	unsigned long v;
	int c;

	if (argc > 1 && !strcmp(argv[1], "__flags"))
		return list_flags(argc - 1, argv + 1);
	/* '+': stop at the first non-option, the subcommand. */
	while ((c = getopt_long(argc, argv, "+" CLI_COMMON_SHORTOPTS "V", global_options, NULL)) !=
	       -1) {
		if (cli_common_opt(&cli, c))
			continue;
		switch (c) {
		case G_CRIU: cli.criu = optarg; break;
		case G_SERVICE: cli.service = optarg; break;
		case G_TIMEOUT:
			if (!cli_parse_uint(optarg, UINT_MAX / 1000, &v))
				return cli_usage_error(
					&cli,
					"--timeout: '%s' is not a number of seconds (0 to %u)",
					optarg, UINT_MAX / 1000);
			cli.timeout_s = (long)v;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V':
			if (cli.json) {
				printf("{ \"ckpt\": \"%s\" }\n", ckpt_version());
			} else {
				printf("ckpt %s\n", ckpt_version());
			}
			return EXIT_OK;
		default: return cli_getopt_error(&cli, c, argv, global_options);
		}
	}
	if (cli.criu && cli.service)
		return cli_usage_error(&cli, "--criu and --service exclude each other");
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return cli_usage_error(&cli, "unknown command '%s' (see `ckpt --help`)",
				       argv[optind]);
	cli.cmd = cmd->name;
	argc -= optind;
	argv += optind;
	cli_getopt_reset();
	return cmd->run(&cli, argc, argv);
}
