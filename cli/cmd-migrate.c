/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt migrate: move a running process tree to a `ckpt receive` on another host. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt migrate --to HOST:PORT [--lazy] (--token-file F | --tls-*) [FLAGS] PID\n"
	"\n"
	"Move the process tree rooted at PID to the `ckpt receive` listening on HOST:PORT:\n"
	"checkpoint it, send it, restore it there, and only then let it go here. Until the\n"
	"receiver reports the restored tree running, any failure resumes the tree here, and\n"
	"the error names the stage (handshake, transfer, restore). If that report is lost\n"
	"after the restore was asked for, the tree stays frozen here (held by criu) and the\n"
	"receiver is asked again every 2 s: two running copies are worse than a stopped one.\n"
	"While held, a line says so every 30 s; SIGUSR1 says the destination runs it (the\n"
	"tree here is killed), SIGUSR2 resumes it here. SIGINT, SIGTERM and SIGHUP are\n"
	"ignored during a migration.\n"
	"\n"
	"  --to HOST:PORT              the receiver (required)\n"
	"  --lazy                      post-copy: the tree runs there at once and its memory\n"
	"                              follows on demand (needs fs.pipe-max-size of at least\n"
	"                              4194304 here, checked before anything is frozen)\n"
	"  --channel-timeout SEC       deadline of each control message (default 30), of\n"
	"                              unacknowledged data, and of silence on the pages stream\n"
	"  --staging-dir DIR           where the non-memory images are staged (default /tmp)\n"
	"  --tcp-established           migrate established TCP connections\n" CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was started from a shell\n"
	"  --file-locks                migrate file locks\n"
	"  --manage-cgroups-mode MODE  none, props, soft, full, strict, ignore or default\n"
	"  --empty-ns NS               do not dump namespace NS (network); the receiver must be\n"
	"                              given the same, and --veth to wire it\n"
	"  --network-lock METHOD       iptables, nftables or skip\n"
	"  --json                      the summary as JSON on stdout\n"
	"  -q, --quiet                 no progress lines\n"
	"  -v, --verbose               libckpt's diagnostics on stderr\n"
	"  -h, --help                  this help\n"
	"\n" CLI_MIG_AUTH_HELP "\n"
	"Ports: only PORT on the receiver. This host connects to it twice: the control\n"
	"channel, and the memory pages (copy and lazy alike), both inside TLS. This host\n"
	"listens on nothing; CRIU's page sockets are socketpairs relayed by ckpt.\n"
	"\n"
	"--lazy: once the tree runs on the receiver its memory lives here until every page\n"
	"is copied; if this host, its criu or the network fails before then, the copy there\n"
	"lacks those pages (the receiver kills it) and nothing can recover them. CRIU then\n"
	"resumes the tree here with its network locked: exit 1 with it unlocked when the\n"
	"receiver said it killed its copy, else exit 5 with it left locked. A line says\n"
	"when this host can go (\"the source can go\").\n"
	"\n"
	"Progress goes to stderr, one line per stage with bytes and rates; the summary\n"
	"(frozen, transfer, restore, downtime, total) to stdout. JSON keys: side, outcome\n"
	"(done, failed, unknown), stage, mode, peer, peer_versions, restored_pid,\n"
	"held_by_criu_pid, message, figures {total_us, handshake_us, frozen_us,\n"
	"transfer_us, restore_us, downtime_us, source_released_us, pages_done_us,\n"
	"page_bytes, image_bytes, image_files, control_bytes_out, control_bytes_in,\n"
	"page_rate_bps, image_rate_bps}.\n"
	"\n"
	"Exit codes: 0 the tree runs on the receiver and is gone here; 1 failed (the tree\n"
	"runs here, resumed or untouched); 2 usage error; 3 criu unusable; 4 timeout;\n"
	"5 outcome unknown (the message says what is known).\n";

enum {
	O_TO = 0x100,
	O_LAZY,
	O_STAGING_DIR,
};

static volatile sig_atomic_t decision_sig, ignored_sig;

static void on_decision(int sig)
{
	decision_sig = sig;
}

static void on_ignored(int sig)
{
	static const char note[] =
		"ckpt migrate: a termination signal is ignored during the migration (it ends "
		"by itself; when held, SIGUSR1 kills the source, SIGUSR2 resumes it)\n";

	ignored_sig = sig;
	if (write(STDERR_FILENO, note, sizeof(note) - 1) < 0) {
		/* nothing to do */
	}
}

struct held {
	struct cli *cli;
	struct timespec last;
	bool said;
};

static int decide(void *userdata, const ckpt_migrate_result *mg)
{
	struct held *h = userdata;

	if (decision_sig == SIGUSR1)
		return CKPT_MIGRATE_DECIDE_KILL_SOURCE;
	if (decision_sig == SIGUSR2)
		return CKPT_MIGRATE_DECIDE_RESUME_SOURCE;
	if (!h->said || cli_elapsed(&h->last) >= 30.0) {
		fprintf(stderr,
			"ckpt migrate: outcome unknown: the source tree is frozen, held by criu pid %d; the receiver "
			"%s may be running it. Asking it again; kill -USR1 %d if it runs there (the source is then "
			"killed), kill -USR2 %d to resume it here\n",
			(int)ckpt_migrate_result_held_by(mg), ckpt_migrate_result_peer(mg),
			(int)getpid(), (int)getpid());
		clock_gettime(CLOCK_MONOTONIC, &h->last);
		h->said = true;
	}
	return CKPT_MIGRATE_DECIDE_HOLD;
}

/* SIGUSR1/SIGUSR2 decide a held tree; the termination signals are ignored. */
static void migrate_signals(void)
{
	struct sigaction sa = { .sa_handler = on_decision };
	struct sigaction si = { .sa_handler = on_ignored };

	sigemptyset(&sa.sa_mask);
	sigemptyset(&si.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGINT, &si, NULL);
	sigaction(SIGTERM, &si, NULL);
	sigaction(SIGHUP, &si, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stderr must not end a migration half-way */
}

struct migrate_args {
	const char *to;
	bool lazy;
	pid_t pid;
};

/* migrate's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_migrate_options[] = {
	{ "to", required_argument, NULL, O_TO },
	{ "lazy", no_argument, NULL, O_LAZY },
	{ "staging-dir", required_argument, NULL, O_STAGING_DIR },
	CLI_MIG_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into j and a; EXIT_OK, -1 after --help, or the exit code of a usage error (reported). */
static int migrate_parse(struct cli *cli, int argc, char **argv, struct cli_mig *j,
			 struct migrate_args *a)
{
	ckpt_err err = CKPT_ERR_INIT;
	int c, r;

	while ((c = cli_mig_getopt(cli, j, argc, argv, cli_migrate_options)) > 0) {
		r = 0;
		switch (c) {
		case 'h': fputs(help_text, stdout); return -1;
		case O_TO: a->to = optarg; break;
		case O_LAZY:
			a->lazy = true;
			ckpt_migrate_opts_set_int(j->m, CKPT_MIGRATE_OPT_LAZY, 1, NULL);
			break;
		case O_STAGING_DIR:
			if (ckpt_migrate_opts_set_str(j->m, CKPT_MIGRATE_OPT_STAGING_DIR, optarg,
						      &err) < 0)
				r = cli_bad_value(cli, "--staging-dir", optarg, &err);
			break;
		default: r = cli_getopt_error(cli, c, argv, cli_migrate_options); break;
		}
		if (r)
			return r;
	}
	if (c < 0)
		return -c;
	if (!a->to)
		return cli_usage_error(
			cli, "--to HOST:PORT is required (the `ckpt receive` on the other host)");
	if (optind >= argc)
		return cli_usage_error(cli, "missing PID (see `ckpt help migrate`)");
	if (optind + 1 < argc)
		return cli_usage_error(cli, "expected one PID, got %d arguments", argc - optind);
	if (!cli_parse_pid(argv[optind], &a->pid))
		return cli_usage_error(cli, "PID '%s': not a process id (a positive integer)",
				       argv[optind]);
	if ((r = cli_refuse_own_tree(cli, a->pid)))
		return r;
	if ((r = cli_mig_finish_auth(cli, j)))
		return r;
	if (ckpt_opts_set_pid(j->o, a->pid, &err) < 0)
		return cli_report(cli, &err, NULL);
	return EXIT_OK;
}

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	struct cli_mig j;
	struct migrate_args a = { 0 };
	struct held held = { .cli = cli };
	char what[512];
	int r;

	if ((r = cli_mig_init(cli, &j)))
		goto out;
	r = migrate_parse(cli, argc, argv, &j, &a);
	if (r < 0) {
		r = EXIT_OK; /* --help */
		goto out;
	}
	if (r || (r = cli_client(cli, &j.client)))
		goto out;
	ckpt_migrate_opts_set_progress(j.m, cli_mig_progress, &j.prog, NULL);
	ckpt_migrate_opts_set_decide(j.m, decide, &held, NULL);
	{
		/* what the dump would fail on, refused before anything is frozen or sent */
		size_t n;

		if ((r = cli_preflight(cli, j.client, j.o, a.pid, false, &n)))
			goto out;
		if (n) {
			r = cli_fail(
				cli, EXIT_FAILED,
				"refused: the dump would fail on %zu problem(s) above (nothing was "
				"frozen or sent); fix them, or give the flags the hints name",
				n);
			goto out;
		}
	}
	migrate_signals();
	cli_progress(cli, "migrating pid %d to %s (%s)", (int)a.pid, a.to,
		     a.lazy ? "lazy" : "copy");
	clock_gettime(CLOCK_MONOTONIC, &j.prog.start);
	if (ckpt_migrate_source(j.client, j.o, j.m, a.to, j.mg, &err) < 0) {
		r = cli_mig_failed(cli, &j, &err,
				   ckpt_migrate_result_outcome(j.mg) == CKPT_MIGRATE_OUTCOME_NONE ?
					   NULL :
				   ckpt_migrate_result_outcome(j.mg) ==
						   CKPT_MIGRATE_OUTCOME_UNKNOWN ?
					   "migration: outcome unknown" :
					   "migration failed; the tree runs here");
		goto out;
	}
	/* the address the user gave; who answered there is in the handshake line and --json's peer */
	snprintf(what, sizeof(what), "migrated pid %d to %s (%s): it runs there as pid %d",
		 (int)a.pid, a.to, a.lazy ? "lazy" : "copy", (int)ckpt_migrate_result_pid(j.mg));
	cli_mig_summary(cli, j.mg, what);
	r = EXIT_OK;
out:
	cli_mig_fini(&j);
	return r;
}
