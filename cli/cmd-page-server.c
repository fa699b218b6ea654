/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt page-server: the receiving side of a migration (criu page-server). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt page-server --image-path DIR --address ADDRESS --port PORT\n"
	"\n"
	"Start a CRIU page server that writes the memory pages a remote\n"
	"`ckpt checkpoint --page-server ADDRESS:PORT` sends into DIR. It runs in the\n"
	"background until that dump connects and ends; its pid and port are printed.\n"
	"\n"
	"UNAUTHENTICATED AND IN THE CLEAR, as `criu page-server`: the first connection\n"
	"to ADDRESS:PORT, from anyone, writes pages into DIR, and the pages cross the\n"
	"network readable by anyone on the path. Use it on a network you trust, with\n"
	"the address of that network; a restore of DIR trusts those pages. For a\n"
	"migration across a network you do not trust, use `ckpt migrate` and `ckpt\n"
	"receive` (every byte in TLS, peers authenticated).\n"
	"\n"
	"  --image-path DIR   where to write the pages (created 0700 if missing)\n"
	"  --address ADDRESS  the address to listen on (required: 0.0.0.0 is every address)\n"
	"  --port PORT        port to listen on (0: CRIU picks one and it is printed)\n"
	"  --work-path DIR    where CRIU writes page-server.log (default: images dir)\n"
	"  --json             print {\"pid\": N, \"port\": N, \"image_path\": DIR}\n"
	"  -q, --quiet        no progress lines\n"
	"  -v, --verbose      libckpt's diagnostics on stderr\n"
	"  -h, --help         this help\n"
	"\n"
	"Exit codes: 0 started; 1 failed; 2 usage error; 3 criu unusable; 4 timeout.\n";

enum { O_IMAGE_PATH = 0x100, O_ADDRESS, O_PORT, O_WORK_PATH };

struct page_server_args {
	const char *image_path, *address, *work_path;
	unsigned long port;
};

/* page-server's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_page_server_options[] = {
	{ "image-path", required_argument, NULL, O_IMAGE_PATH },
	{ "address", required_argument, NULL, O_ADDRESS },
	{ "port", required_argument, NULL, O_PORT },
	{ "work-path", required_argument, NULL, O_WORK_PATH },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into a; EXIT_OK, -1 after --help, or the exit code of a usage error (reported). */
static int page_server_parse(struct cli *cli, int argc, char **argv, struct page_server_args *a)
{
	const char *port_arg = NULL;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, cli_page_server_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		switch (c) {
		case 'h': fputs(help_text, stdout); return -1;
		case O_IMAGE_PATH: a->image_path = optarg; break;
		case O_ADDRESS: a->address = optarg; break;
		case O_WORK_PATH: a->work_path = optarg; break;
		case O_PORT:
			port_arg = optarg;
			if (!cli_parse_uint(optarg, 65535, &a->port))
				return cli_usage_error(
					cli, "--port '%s': not a port number (0 to 65535)", optarg);
			break;
		default: return cli_getopt_error(cli, c, argv, cli_page_server_options);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!a->image_path)
		return cli_usage_error(cli, "--image-path is required");
	if (!port_arg)
		return cli_usage_error(cli, "--port is required (0 lets CRIU pick one)");
	if (!a->address)
		return cli_usage_error(
			cli,
			"--address is required: the page server is unauthenticated, so name the "
			"one address to listen on (a network you trust; 0.0.0.0 for every address)");
	return EXIT_OK;
}

static void page_server_print(struct cli *cli, const struct page_server_args *a, pid_t pid,
			      int port)
{
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "pid", json_object_new_int(pid));
		json_object_object_add(j, "port", json_object_new_int(port));
		json_object_object_add(j, "address", a->address ? cli_json_str(a->address) : NULL);
		json_object_object_add(j, "image_path", cli_json_str(a->image_path));
		cli_print_json(j);
	} else {
		printf("page server pid %d listening on %s:%d, writing into %s\n", (int)pid,
		       a->address ? a->address : "*", port, a->image_path);
	}
}

int cmd_page_server(struct cli *cli, int argc, char **argv)
{
	struct page_server_args a = { 0 };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	ckpt_opts *o = NULL;
	pid_t pid = 0;
	int r, ret_port = 0;

	r = page_server_parse(cli, argc, argv, &a);
	if (r)
		return r < 0 ? EXIT_OK : r;
	o = ckpt_opts_new();
	if (!o)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	if (ckpt_opts_set_page_server_addr(o, a.address, (int)a.port, &err) < 0) {
		r = cli_bad_value(cli, "--address", a.address ? a.address : "", &err);
		goto out;
	}
	if (cli_mkdir_p(a.image_path, 0700) < 0) {
		r = cli_fail(cli, EXIT_FAILED, "--image-path '%s': %s", a.image_path,
			     cli_strerror(errno));
		goto out;
	}
	if (ckpt_opts_set_images_dir(o, a.image_path, &err) < 0 ||
	    (a.work_path && ckpt_opts_set_work_dir(o, a.work_path, &err) < 0)) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	if ((r = cli_client(cli, &client)))
		goto out;
	if (a.port)
		fprintf(stderr,
			"ckpt page-server: warning: unauthenticated and in the clear: whoever "
			"connects first to %s:%lu writes the pages a restore of %s will trust\n",
			a.address, a.port, a.image_path);
	else
		fprintf(stderr,
			"ckpt page-server: warning: unauthenticated and in the clear: whoever "
			"connects first to %s, on the port printed below, writes the pages a "
			"restore of %s will trust\n",
			a.address, a.image_path);
	if (ckpt_page_server_start(client, o, &pid, &ret_port, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	page_server_print(cli, &a, pid, ret_port ? ret_port : (int)a.port);
	r = EXIT_OK;
out:
	ckpt_client_free(client);
	ckpt_opts_free(o);
	return r;
}
