/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt receive: accept one migration from a `ckpt migrate` and restore it here. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt receive --listen ADDR:PORT (--token-file F | --tls-*) [FLAGS]\n"
	"\n"
	"Wait for one `ckpt migrate --to HOST:PORT` and restore the tree it sends. A peer\n"
	"that fails authentication or the checks (protocol and CRIU versions, criu check,\n"
	"CPU, page port) is refused, nothing is written for it, and the receiver listens on.\n"
	"It then serves that one migration and exits; the restored tree keeps running.\n"
	"\n"
	"  --listen ADDR:PORT          where to listen (required; 0.0.0.0:PORT for all)\n"
	"  --image-path DIR            base directory (default /var/lib/ckpt/receive, 0700):\n"
	"                              each migration gets DIR/SESSION/{images,work} (the images\n"
	"                              are removed at the end, CRIU's logs kept in work/) and\n"
	"                              DIR/SESSION.state, the record a source asks about when\n"
	"                              it lost the answer\n"
	"  --channel-timeout SEC       deadline of each control message (default 30), of\n"
	"                              unacknowledged data, and of silence on the pages stream\n"
	"  --auth-timeout SEC          deadline of one connection's authentication (default 10,\n"
	"                              at most --channel-timeout); connections authenticate\n"
	"                              concurrently (at most 32 from one address, 128 in all)\n"
	"  --accept-timeout SEC        give up when no migration arrived in SEC (default: wait)\n"
	"  --resolve-timeout SEC       after restoring, how long to answer a source that lost\n"
	"                              the answer (default 60)\n"
	"  --pid-file FILE             write the restored pid to FILE\n"
	"  --tcp-established           restore established TCP connections\n" CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was a shell job\n"
	"  --file-locks                restore file locks\n"
	"  --manage-cgroups-mode MODE  none, props, soft, full, strict, ignore or default\n"
	"  --empty-ns NS               namespace NS (network) is not in the images (as at the source)\n"
	"  --network-lock METHOD       iptables, nftables or skip\n"
	"  --veth NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX\n"
	"                              with --empty-ns network: wire the new namespace (lo up,\n"
	"                              a veth pair, both addresses, a default route via the host)\n"
	"  --json                      the summary as JSON on stdout\n"
	"  -q, --quiet                 no progress lines\n"
	"  -v, --verbose               libckpt's diagnostics on stderr\n"
	"  -h, --help                  this help\n"
	"\n" CLI_MIG_AUTH_HELP "\n"
	"Ports: only PORT (--listen). The source connects to it twice, the control channel\n"
	"and the memory pages, both inside TLS; a pages connection is taken only from the\n"
	"control connection's address and for its session. CRIU listens on nothing.\n"
	"\n"
	"JSON keys as `ckpt migrate` (side \"receiver\").\n"
	"\n"
	"Exit codes: 0 the tree runs here; 1 failed (nothing of it runs here); 2 usage\n"
	"error; 3 criu unusable; 4 no migration in --accept-timeout; 5 the tree runs here\n"
	"but the source's final word was lost (it may still hold its copy frozen).\n";

enum {
	O_LISTEN = 0x100,
	O_IMAGE_PATH,
	O_ACCEPT_TIMEOUT,
	O_RESOLVE_TIMEOUT,
	O_PID_FILE,
	O_VETH,
	O_AUTH_TIMEOUT,
};

struct receive_args {
	const char *listen_at, *image_path, *veth, *pid_file;
};

/* --accept-timeout, --resolve-timeout or --auth-timeout into m: EXIT_OK or the exit code of a usage error. */
static int set_timeout(struct cli *cli, ckpt_migrate_opts *m, int c, const char *arg)
{
	bool accept = c == O_ACCEPT_TIMEOUT;
	unsigned long v;

	if (c == O_AUTH_TIMEOUT) {
		if (!cli_parse_uint(arg, 86400, &v) || v == 0)
			return cli_usage_error(
				cli, "--auth-timeout '%s': expected seconds (1 to 86400)", arg);
		ckpt_migrate_opts_set_int(m, CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS, (int64_t)v * 1000,
					  NULL);
		return EXIT_OK;
	}

	if (!cli_parse_uint(arg, 86400, &v) || (!accept && v == 0))
		return cli_usage_error(cli, "%s '%s': expected seconds (%s to 86400)",
				       accept ? "--accept-timeout" : "--resolve-timeout", arg,
				       accept ? "0" : "1");
	ckpt_migrate_opts_set_int(m,
				  accept ? CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS :
					   CKPT_MIGRATE_OPT_RESOLVE_TIMEOUT_MS,
				  (int64_t)v * 1000, NULL);
	return EXIT_OK;
}

/* receive's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_receive_options[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "image-path", required_argument, NULL, O_IMAGE_PATH },
	{ "accept-timeout", required_argument, NULL, O_ACCEPT_TIMEOUT },
	{ "resolve-timeout", required_argument, NULL, O_RESOLVE_TIMEOUT },
	{ "pid-file", required_argument, NULL, O_PID_FILE },
	{ "veth", required_argument, NULL, O_VETH },
	{ "auth-timeout", required_argument, NULL, O_AUTH_TIMEOUT },
	CLI_MIG_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into j and a; EXIT_OK, -1 after --help, or the exit code of a usage error (reported). */
static int receive_parse(struct cli *cli, int argc, char **argv, struct cli_mig *j,
			 struct receive_args *a)
{
	int c, r;

	a->image_path = "/var/lib/ckpt/receive";
	while ((c = cli_mig_getopt(cli, j, argc, argv, cli_receive_options)) > 0) {
		r = 0;
		switch (c) {
		case 'h': fputs(help_text, stdout); return -1;
		case O_LISTEN: a->listen_at = optarg; break;
		case O_IMAGE_PATH: a->image_path = optarg; break;
		case O_ACCEPT_TIMEOUT:
		case O_AUTH_TIMEOUT:
		case O_RESOLVE_TIMEOUT: r = set_timeout(cli, j->m, c, optarg); break;
		case O_PID_FILE: a->pid_file = optarg; break;
		case O_VETH: a->veth = optarg; break;
		default: r = cli_getopt_error(cli, c, argv, cli_receive_options); break;
		}
		if (r)
			return r;
	}
	if (c < 0)
		return -c;
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s' (see `ckpt help receive`)",
				       argv[optind]);
	if (!a->listen_at)
		return cli_usage_error(cli, "--listen ADDR:PORT is required");
	if ((r = cli_mig_finish_auth(cli, j)))
		return r;
	if (j->cacert && !j->peers)
		return cli_usage_error(
			cli,
			"mutual TLS needs --tls-peer NAME: the certificate names of the sources "
			"to accept (without it, any certificate the CA signed would be let in)");
	if (a->veth && !(j->criu.ns_mask & CLONE_NEWNET))
		return cli_usage_error(cli, "--veth '%s' needs --empty-ns network", a->veth);
	return EXIT_OK;
}

/* The images dir, the client and its veth, the listening socket (*lfd). */
static int receive_prepare(struct cli *cli, struct cli_mig *j, const struct receive_args *a,
			   int *lfd)
{
	ckpt_err err = CKPT_ERR_INIT;
	int r;

	if (cli_mkdir_p(a->image_path, 0700) < 0)
		return cli_fail(cli, EXIT_FAILED, "--image-path '%s': %s", a->image_path,
				cli_strerror(errno));
	if (ckpt_opts_set_images_dir(j->o, a->image_path, &err) < 0)
		return cli_report(cli, &err, NULL);
	if ((r = cli_client(cli, &j->client)))
		return r;
	if (a->veth && ckpt_client_set_netns_veth_spec(j->client, a->veth, &err) < 0)
		return cli_bad_value(cli, "--veth", a->veth, &err);
	if (ckpt_migrate_listen(a->listen_at, lfd, &err) < 0)
		return err.code == CKPT_ESYS ? cli_report(cli, &err, NULL) :
					       cli_bad_value(cli, "--listen", a->listen_at, &err);
	return EXIT_OK;
}

int cmd_receive(struct cli *cli, int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct cli_mig j;
	struct receive_args a = { 0 };
	char what[512];
	int r, lfd = -1;

	if ((r = cli_mig_init(cli, &j)))
		goto out;
	r = receive_parse(cli, argc, argv, &j, &a);
	if (r < 0) {
		r = EXIT_OK; /* --help */
		goto out;
	}
	if (r || (r = receive_prepare(cli, &j, &a, &lfd)))
		goto out;
	signal(SIGPIPE, SIG_IGN); /* a closed stderr must not end a migration half-way */
	ckpt_migrate_opts_set_progress(j.m, cli_mig_progress, &j.prog, NULL);
	clock_gettime(CLOCK_MONOTONIC, &j.prog.start);
	r = ckpt_migrate_receive(j.client, j.o, j.m, lfd, j.mg, &err);
	if (ckpt_migrate_result_pid(j.mg) > 0 && a.pid_file)
		cli_write_pid_file(cli, a.pid_file, ckpt_migrate_result_pid(j.mg));
	if (r < 0) {
		r = cli_mig_failed(
			cli, &j, &err,
			ckpt_migrate_result_outcome(j.mg) == CKPT_MIGRATE_OUTCOME_UNKNOWN ?
				"received: the tree runs here, but the source's final word was lost" :
				NULL);
		goto out;
	}
	snprintf(what, sizeof(what), "received a %s migration from %s: it runs here as pid %d",
		 ckpt_migrate_result_lazy(j.mg) == 1 ? "lazy" : "copy",
		 ckpt_migrate_result_peer(j.mg), (int)ckpt_migrate_result_pid(j.mg));
	cli_mig_summary(cli, j.mg, what);
	r = EXIT_OK;
out:
	if (lfd >= 0)
		close(lfd);
	cli_mig_fini(&j);
	return r;
}
