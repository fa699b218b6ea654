/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt receive: accept one migration from a `ckpt migrate` and restore it here. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	"  --page-port N               the page port, PAGE (default PORT+1; same on both hosts)\n"
	"  --channel-timeout SEC       deadline of each control message (default 30)\n"
	"  --accept-timeout SEC        give up when no migration arrived in SEC (default: wait)\n"
	"  --resolve-timeout SEC       after restoring, how long to answer a source that lost\n"
	"                              the answer (default 60)\n"
	"  --pid-file FILE             write the restored pid to FILE\n"
	"  --tcp-established           restore established TCP connections\n" CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was a shell job\n"
	"  --file-locks                restore file locks\n"
	"  --manage-cgroups-mode MODE  soft, full, strict or ignore\n"
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
	"Ports (only these): PORT (--listen) carries the control channel. The pages:\n"
	"  copy, --token-file only:  a second connection to PORT (no other port)\n"
	"  copy, TLS:                CRIU's page server here on ADDR, port PAGE\n"
	"  lazy:                     this host connects to the source's CRIU lazy page\n"
	"                            server on port PAGE of the source (the source listens)\n"
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
	O_TCP_ESTABLISHED,
	O_EXT_UNIX_SK,
	O_SHELL_JOB,
	O_FILE_LOCKS,
	O_CGROUPS_MODE,
	O_EMPTY_NS,
	O_NETWORK_LOCK,
	O_VETH,
};

static int write_pid_file(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	fprintf(f, "%d", (int)pid);
	{
		int e = fchmod(fd, 0644) < 0 ? errno : 0;

		if (fclose(f) != 0 && !e)
			e = errno;
		if (!e && rename(tmp, path) < 0)
			e = errno;
		if (e) {
			unlink(tmp);
			return -e;
		}
	}
	return 0;
}

int cmd_receive(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "image-path", required_argument, NULL, O_IMAGE_PATH },
		{ "accept-timeout", required_argument, NULL, O_ACCEPT_TIMEOUT },
		{ "resolve-timeout", required_argument, NULL, O_RESOLVE_TIMEOUT },
		{ "pid-file", required_argument, NULL, O_PID_FILE },
		{ "tcp-established", no_argument, NULL, O_TCP_ESTABLISHED },
		{ "ext-unix-sk", no_argument, NULL, O_EXT_UNIX_SK },
		{ "shell-job", no_argument, NULL, O_SHELL_JOB },
		{ "file-locks", no_argument, NULL, O_FILE_LOCKS },
		{ "manage-cgroups-mode", required_argument, NULL, O_CGROUPS_MODE },
		{ "empty-ns", required_argument, NULL, O_EMPTY_NS },
		{ "network-lock", required_argument, NULL, O_NETWORK_LOCK },
		{ "veth", required_argument, NULL, O_VETH },
		CLI_MIG_LONGOPTS,
		CLI_CRIU_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	ckpt_opts *o = ckpt_opts_new();
	ckpt_migrate_opts *m = ckpt_migrate_opts_new();
	ckpt_migration *mg = ckpt_migration_new();
	struct cli_mig_tls tls = { 0 };
	struct cli_mig_progress prog = { .cli = cli };
	const char *listen_at = NULL, *image_path = "/var/lib/ckpt/receive", *veth = NULL,
		   *pid_file = NULL;
	bool token = false;
	uint32_t ns_mask = 0;
	unsigned long v;
	int c, r = EXIT_OK, lfd = -1;

	if (!o || !m || !mg) {
		r = cli_fail(cli, EXIT_FAILED, "out of memory");
		goto out;
	}
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_common_opt(cli, c))
			continue;
		if ((r = cli_criu_opt(cli, o, c, optarg)) != 0 ||
		    (r = cli_mig_opt(cli, m, &tls, c, optarg)) != 0) {
			if (r < 0) {
				r = -r;
				goto out;
			}
			if (c == OPT_MIG_TOKEN_FILE)
				token = true;
			r = EXIT_OK;
			continue;
		}
		switch (c) {
		case 'h': fputs(help_text, stdout); goto out;
		case O_LISTEN: listen_at = optarg; break;
		case O_IMAGE_PATH: image_path = optarg; break;
		case O_ACCEPT_TIMEOUT:
		case O_RESOLVE_TIMEOUT:
			if (!cli_parse_uint(optarg, 86400, &v) ||
			    (c == O_RESOLVE_TIMEOUT && v == 0))
				r = cli_usage_error(cli, "%s '%s': expected seconds (%s to 86400)",
						    c == O_ACCEPT_TIMEOUT ? "--accept-timeout" :
									    "--resolve-timeout",
						    optarg, c == O_ACCEPT_TIMEOUT ? "0" : "1");
			else
				ckpt_migrate_opts_set_int(m,
							  c == O_ACCEPT_TIMEOUT ?
								  CKPT_MIG_ACCEPT_TIMEOUT_MS :
								  CKPT_MIG_RESOLVE_TIMEOUT_MS,
							  (int64_t)v * 1000, NULL);
			break;
		case O_PID_FILE: pid_file = optarg; break;
		case O_TCP_ESTABLISHED:
			r = cli_set_bool(cli, o, CKPT_OPT_TCP_ESTABLISHED, "--tcp-established");
			break;
		case O_EXT_UNIX_SK:
			r = cli_set_bool(cli, o, CKPT_OPT_EXT_UNIX_SK, "--ext-unix-sk");
			break;
		case O_SHELL_JOB:
			r = cli_set_bool(cli, o, CKPT_OPT_SHELL_JOB, "--shell-job");
			break;
		case O_FILE_LOCKS:
			r = cli_set_bool(cli, o, CKPT_OPT_FILE_LOCKS, "--file-locks");
			break;
		case O_CGROUPS_MODE: r = cli_set_cgroup_mode(cli, o, optarg); break;
		case O_EMPTY_NS: r = cli_add_empty_ns(cli, o, &ns_mask, optarg); break;
		case O_NETWORK_LOCK: r = cli_set_network_lock(cli, o, optarg); break;
		case O_VETH: veth = optarg; break;
		default: r = cli_getopt_error(cli, c, argv); break;
		}
		if (r)
			goto out;
	}
	if (optind < argc) {
		r = cli_usage_error(cli, "unexpected argument '%s' (see `ckpt help receive`)",
				    argv[optind]);
		goto out;
	}
	if (!listen_at) {
		r = cli_usage_error(cli, "--listen ADDR:PORT is required");
		goto out;
	}
	if ((r = cli_mig_finish_auth(cli, m, &tls, token)))
		goto out;
	if (veth && !(ns_mask & CLONE_NEWNET)) {
		r = cli_usage_error(cli, "--veth '%s' needs --empty-ns network", veth);
		goto out;
	}
	if (cli_mkdir_p(image_path, 0700) < 0) {
		r = cli_fail(cli, EXIT_FAILED, "--image-path '%s': %s", image_path,
			     cli_strerror(errno));
		goto out;
	}
	if (ckpt_opts_set_images_dir(o, image_path, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	if ((r = cli_client(cli, &client)))
		goto out;
	if (veth && ckpt_client_set_netns_veth_spec(client, veth, &err) < 0) {
		r = cli_bad_value(cli, "--veth", veth, &err);
		goto out;
	}
	if (ckpt_migrate_listen(listen_at, &lfd, &err) < 0) {
		r = err.code == CKPT_ESYS ? cli_report(cli, &err, NULL) :
					    cli_bad_value(cli, "--listen", listen_at, &err);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed stderr must not end a migration half-way */
	ckpt_migrate_opts_set_progress(m, cli_mig_progress, &prog, NULL);
	cli_progress(cli, "listening on %s for a migration", listen_at);
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	r = ckpt_migrate_receive(client, o, m, lfd, mg, &err);
	if (ckpt_migration_pid(mg) > 0 && pid_file) {
		int e = write_pid_file(pid_file, ckpt_migration_pid(mg));

		if (e < 0)
			fprintf(stderr, "%s %s: warning: --pid-file '%s': %s\n", cli->prog,
				cli->cmd, pid_file, cli_strerror(-e));
	}
	if (r < 0) {
		if (!cli->json && ckpt_migration_outcome(mg) == CKPT_MIG_UNKNOWN)
			cli_mig_summary(
				cli, mg,
				"received: the tree runs here, but the source's final word was lost");
		r = cli_report(cli, &err, NULL);
		if (ckpt_migration_outcome(mg) == CKPT_MIG_UNKNOWN)
			r = EXIT_UNKNOWN;
		goto out;
	}
	{
		char what[512];

		snprintf(what, sizeof(what),
			 "received a %s migration from %s: it runs here as pid %d",
			 ckpt_migration_lazy(mg) == 1 ? "lazy" : "copy", ckpt_migration_peer(mg),
			 (int)ckpt_migration_pid(mg));
		cli_mig_summary(cli, mg, what);
	}
	r = EXIT_OK;
out:
	if (lfd >= 0)
		close(lfd);
	ckpt_client_free(client);
	ckpt_migration_free(mg);
	ckpt_migrate_opts_free(m);
	ckpt_opts_free(o);
	return r;
}
