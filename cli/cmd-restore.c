/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt restore: restore a process tree. We become a child subreaper first,
 * so the restored root (criu's sibling, i.e. our child, in swrk mode) and
 * any orphans of its tree are ours to reap. Without --detach we wait for
 * the root and exit with its status, as runc does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "archive-cli.h"
#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt restore [FLAGS]\n"
	"\n"
	"Restore the process tree checkpointed in an images directory. Without\n"
	"--detach, wait for it and exit with its exit status (128+N if killed by\n"
	"signal N); SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to it.\n"
	"\n"
	"  --image-path DIR            images directory (default ./checkpoint)\n"
	"  --work-path DIR             where CRIU writes its log (default: images dir)\n"
	"  --follow-symlinks           follow symlinks in --image-path and --work-path\n"
	"  -i, --import FILE           restore from a checkpoint archive (`ckpt checkpoint --export`):\n"
	"                              extracted into a fresh 0700 directory inside --image-path\n"
	"                              (default: beside FILE), removed after the restore\n"
	"  -k, --keep                  with --import: keep the extracted directory\n"
	"  --auto-dedup                punch the restored memory out of the images as it is read\n"
	"  --lsm-profile TYPE:NAME     the LSM profile to restore the tree with\n"
	"  --lsm-mount-context CTX     the SELinux mount context of the restored mounts\n"
	"  --no-subreaper              do not become the restored tree's subreaper (runc's flag)\n"
	"  --ignore-recorded-flags     do not apply the flags the checkpoint recorded (ckpt-flags\n"
	"                              beside its images: --tcp-established, --shell-job, ...);\n"
	"                              by default each not given here is applied, and named\n"
	"  -d, --detach                do not wait: print the restored pid and exit 0\n"
	"  --pid-file FILE             write the restored pid to FILE\n"
	"  --tcp-established           restore established TCP connections\n" CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was a shell job: give it our stdin/out/err\n"
	"  --file-locks                restore file locks\n"
	"  --manage-cgroups-mode MODE  none, props, soft, full, strict, ignore or default\n"
	"  --empty-ns NS               namespace NS (network) is set up by the caller; repeatable\n"
	"  --network-lock METHOD       iptables, nftables or skip\n"
	"  --inherit-fd FD:RESOURCE    give our FD to the restored tree in place of RESOURCE\n"
	"                              (e.g. 3:pipe:[12345]); repeatable\n"
	"  --lazy                      instant restore: the tree runs as soon as CRIU has set it\n"
	"                              up, its memory follows from the images (libckpt runs criu\n"
	"                              lazy-pages); ckpt stays until every page is in (with\n"
	"                              --detach too), and if one cannot be, kills the tree\n"
	"  --lazy-pages                fetch memory lazily from a criu lazy-pages you run\n"
	"  --veth NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX\n"
	"                              with --empty-ns network: wire the new namespace (lo up,\n"
	"                              a veth pair, both addresses, a default route via the host)\n"
	"  --json                      print {pid, image_path, detached[, exit_code]} on stdout\n"
	"  -q, --quiet                 no progress lines\n"
	"  -v, --verbose               libckpt's diagnostics on stderr\n"
	"  -h, --help                  this help\n"
	"\n"
	"Exit codes: the restored tree's status without --detach; else 0 done;\n"
	"1 failed (images dir missing, unreadable or without a checkpoint, CRIU failed);\n"
	"2 usage error; 3 criu unusable; 4 timeout.\n";

enum {
	O_IMAGE_PATH = 0x100,
	O_WORK_PATH,
	O_PID_FILE,
	O_INHERIT_FD,
	O_LAZY_PAGES,
	O_VETH,
	O_IGNORE_RECORDED,
	O_AUTO_DEDUP,
	O_LSM_PROFILE,
	O_LSM_MOUNT_CONTEXT,
	O_NO_SUBREAPER,
	O_LAZY,
};

static volatile sig_atomic_t restored_pid;

static void forward_signal(int sig)
{
	if (restored_pid > 0)
		kill((pid_t)restored_pid, sig);
}

static int parse_inherit_fd(struct cli *cli, ckpt_opts *o, const char *arg)
{
	ckpt_err err = CKPT_ERR_INIT;
	const char *colon = strchr(arg, ':');
	char num[16];
	unsigned long fd;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(num) || !colon[1])
		return cli_usage_error(cli, "--inherit-fd '%s': expected FD:RESOURCE", arg);
	memcpy(num, arg, (size_t)(colon - arg));
	num[colon - arg] = '\0';
	if (!cli_parse_uint(num, INT_MAX, &fd))
		return cli_usage_error(
			cli, "--inherit-fd '%s': '%s' is not a file descriptor number", arg, num);
	if (fcntl((int)fd, F_GETFD) < 0)
		return cli_usage_error(cli, "--inherit-fd '%s': fd %lu is not open", arg, fd);
	if (ckpt_opts_add_inherit_fd(o, (int)fd, colon + 1, &err) < 0)
		return cli_bad_value(cli, "--inherit-fd", arg, &err);
	return 0;
}

static int wait_restored(pid_t pid)
{
	int status, code = EXIT_FAILED;

	for (;;) {
		pid_t w = waitpid(-1, &status, 0);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nothing left */
		}
		if (w != pid)
			continue; /* an orphan of the tree, reaped as subreaper */
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			code = 128 + WTERMSIG(status);
		break;
	}
	return code;
}

struct restore_args {
	const char *image_path, *work_path, *pid_file, *veth;
	bool image_path_set, detach, ignore_recorded, no_subreaper, lazy, lazy_pages;
	double elapsed;		 /* the restore request, seconds */
	char abs_path[PATH_MAX]; /* image_path made absolute before the restore */
	char applied[256];	 /* the recorded flags applied */
	struct cli_criu_flags criu;
	struct cli_import im; /* --import */
};

/* restore's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_restore_options[] = {
	{ "image-path", required_argument, NULL, O_IMAGE_PATH },
	{ "work-path", required_argument, NULL, O_WORK_PATH },
	{ "detach", no_argument, NULL, 'd' },
	{ "pid-file", required_argument, NULL, O_PID_FILE },
	{ "inherit-fd", required_argument, NULL, O_INHERIT_FD },
	{ "lazy-pages", no_argument, NULL, O_LAZY_PAGES },
	{ "lazy", no_argument, NULL, O_LAZY },
	{ "veth", required_argument, NULL, O_VETH },
	{ "import", required_argument, NULL, 'i' },
	{ "keep", no_argument, NULL, 'k' },
	{ "ignore-recorded-flags", no_argument, NULL, O_IGNORE_RECORDED },
	{ "auto-dedup", no_argument, NULL, O_AUTO_DEDUP },
	{ "lsm-profile", required_argument, NULL, O_LSM_PROFILE },
	{ "lsm-mount-context", required_argument, NULL, O_LSM_MOUNT_CONTEXT },
	{ "no-subreaper", no_argument, NULL, O_NO_SUBREAPER },
	{ "follow-symlinks", no_argument, NULL, OPT_FOLLOW_SYMLINKS },
	CLI_CRIU_LONGOPTS,
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into o and a; EXIT_OK, -1 after --help, or the exit code of a usage error (reported). */
static int restore_parse(struct cli *cli, int argc, char **argv, ckpt_opts *o,
			 struct restore_args *a)
{
	ckpt_err err = CKPT_ERR_INIT;
	int c, r = EXIT_OK;

	a->image_path = "checkpoint";
	a->im.images_fd = -1;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "di:k", cli_restore_options,
				NULL)) != -1) {
		if ((r = cli_criu_opt(cli, o, &a->criu, c, optarg)) > 0)
			continue;
		if (r < 0)
			return -r;
		switch (c) {
		case 'h': fputs(help_text, stdout); return -1;
		case 'd': a->detach = true; break;
		case O_IMAGE_PATH:
			a->image_path = optarg;
			a->image_path_set = true;
			break;
		case 'i': a->im.file = optarg; break;
		case 'k': a->im.keep = true; break;
		case O_IGNORE_RECORDED: a->ignore_recorded = true; break;
		case O_AUTO_DEDUP:
			r = cli_set_bool(cli, o, CKPT_OPT_AUTO_DEDUP, "--auto-dedup");
			break;
		case O_LSM_PROFILE:
		case O_LSM_MOUNT_CONTEXT:
			if (ckpt_opts_set_str(o,
					      c == O_LSM_PROFILE ? CKPT_OPT_LSM_PROFILE :
								   CKPT_OPT_LSM_MOUNT_CONTEXT,
					      optarg, &err) < 0)
				r = cli_bad_value(cli,
						  c == O_LSM_PROFILE ? "--lsm-profile" :
								       "--lsm-mount-context",
						  optarg, &err);
			break;
		case O_NO_SUBREAPER: a->no_subreaper = true; break;
		case O_WORK_PATH: a->work_path = optarg; break;
		case O_PID_FILE: a->pid_file = optarg; break;
		case O_LAZY_PAGES:
			a->lazy_pages = true;
			r = cli_set_bool(cli, o, CKPT_OPT_LAZY_PAGES, "--lazy-pages");
			break;
		case O_LAZY: a->lazy = true; break;
		case O_INHERIT_FD: r = parse_inherit_fd(cli, o, optarg); break;
		case O_VETH: a->veth = optarg; break;
		default: r = cli_getopt_error(cli, c, argv, cli_restore_options); break;
		}
		if (r)
			return r;
	}
	if (optind < argc)
		return cli_usage_error(
			cli,
			"unexpected argument '%s' (restore takes no PID; see `ckpt help restore`)",
			argv[optind]);
	if (a->im.keep && !a->im.file)
		return cli_usage_error(cli, "--keep needs --import FILE");
	if (a->lazy && a->lazy_pages)
		return cli_usage_error(
			cli,
			"--lazy runs criu lazy-pages itself; --lazy-pages is for one you run: give one of them");
	return EXIT_OK;
}

/* An archive extracted, the images and work dirs into o, the client and its stdio and veth. */
static int restore_prepare(struct cli *cli, ckpt_opts *o, struct restore_args *a,
			   ckpt_client **ret_client)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client;
	int r, fd = -1;

	if ((r = cli_import_begin(cli, &a->im, a->image_path_set ? a->image_path : NULL,
				  &a->image_path, &fd)))
		return r;
	if (fd >= 0 ? ckpt_opts_set_images_dir_fd(o, fd, &err) < 0 :
		      ckpt_opts_set_images_dir(o, a->image_path, &err) < 0)
		return cli_report(cli, &err, NULL);
	if (!a->ignore_recorded) {
		/* the flags the dump was made with, where the images are (an import's: its fd) */
		int dfd = fd >= 0 ? fd : open(a->image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = dfd >= 0 ? cli_recorded_apply(cli, dfd, o, &a->criu, a->applied,
						  sizeof(a->applied)) :
			       0;
		if (dfd >= 0 && dfd != fd)
			close(dfd);
		if (r)
			return r;
	}
	if (a->veth && !(a->criu.ns_mask & CLONE_NEWNET))
		return cli_usage_error(cli, "--veth '%s' needs --empty-ns network", a->veth);
	if (a->work_path && (r = cli_set_work_dir(cli, o, a->work_path)))
		return r;
	if ((r = cli_client(cli, &client)))
		return r;
	*ret_client = client;
	if (a->veth && ckpt_client_set_netns_veth_spec(client, a->veth, &err) < 0)
		return cli_bad_value(cli, "--veth", a->veth, &err);
	if (a->criu.shell_job && ckpt_client_set_criu_stdio(client, STDIN_FILENO, STDOUT_FILENO,
							    STDERR_FILENO, &err) < 0)
		return cli_report(cli, &err, NULL);
	/* The restored tree is re-parented to us, and so are its orphans (runc's default too). */
	if (!a->no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return cli_fail(cli, EXIT_FAILED, "prctl(PR_SET_CHILD_SUBREAPER): %s",
				cli_strerror(errno));
	return EXIT_OK;
}

static void restore_print(struct cli *cli, const struct restore_args *a, pid_t pid, int exit_code)
{
	json_object *j;

	if (!cli->json) {
		if (a->detach) {
			printf("%d\n", (int)pid);
			fflush(stdout);
		}
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "pid", json_object_new_int(pid));
	json_object_object_add(j, "image_path",
			       cli_json_str(a->abs_path[0] ? a->abs_path : a->image_path));
	json_object_object_add(j, "elapsed_s", cli_json_seconds(a->elapsed));
	json_object_object_add(j, "recorded_flags_applied",
			       a->applied[0] ? cli_json_str(a->applied) : NULL);
	json_object_object_add(j, "detached", json_object_new_boolean(a->detach));
	if (!a->detach)
		json_object_object_add(j, "exit_code", json_object_new_int(exit_code));
	cli_print_json(j);
}

/* Attached: pass termination signals on, reap everything, return the root's status. */
static int restore_wait(pid_t pid)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	restored_pid = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	return wait_restored(pid);
}

/* --lazy: the pages' end, waited for beside the tree (attached) or before exiting (detached). */
struct lazy_watch {
	struct cli *cli;
	ckpt_lazy *lazy;
	const char *image_path;
	ckpt_err err;
	int rc; /* ckpt_lazy_wait's */
};

static void lazy_report_done(struct lazy_watch *w)
{
	uint64_t run_us = 0, done_us = 0, bytes = 0;

	if (w->rc < 0)
		return;
	ckpt_lazy_times(w->lazy, &run_us, &done_us);
	ckpt_lazy_progress(w->lazy, &bytes, NULL);
	cli_progress(w->cli, "every page is in: %.1f MiB after %.3fs; %s may go",
		     (double)bytes / 1048576.0, (double)done_us / 1e6, w->image_path);
}

static void *lazy_watch_thread(void *arg)
{
	struct lazy_watch *w = arg;

	w->rc = ckpt_lazy_wait(w->lazy, -1, &w->err);
	lazy_report_done(w);
	return NULL;
}

static int restore_lazy(struct cli *cli, ckpt_client *client, ckpt_opts *o, struct restore_args *a,
			const struct timespec *start)
{
	struct lazy_watch w = { .cli = cli, .image_path = a->image_path, .err = CKPT_ERR_INIT };
	ckpt_err err = CKPT_ERR_INIT;
	pthread_t t;
	pid_t pid = 0;
	int r = EXIT_OK;

	if (ckpt_restore_lazy(client, o, &pid, &w.lazy, &err) < 0)
		return cli_report(cli, &err, NULL);
	a->elapsed = cli_elapsed(start);
	cli_progress(cli, "restored pid %d from %s: running after %.3fs, its memory follows",
		     (int)pid, a->image_path, a->elapsed);
	if (a->pid_file)
		cli_write_pid_file(cli, a->pid_file, pid);
	if (a->detach) {
		restore_print(cli, a, pid, 0); /* the pid now: it runs */
		w.rc = ckpt_lazy_wait(w.lazy, -1, &w.err);
		lazy_report_done(&w);
	} else if (pthread_create(&t, NULL, lazy_watch_thread, &w) == 0) {
		r = restore_wait(pid);
		pthread_join(t, NULL);
		if (w.rc >= 0)
			restore_print(cli, a, pid, r);
	} else {
		w.rc = ckpt_lazy_wait(w.lazy, -1, &w.err);
		lazy_report_done(&w);
		r = w.rc < 0 ? EXIT_FAILED : restore_wait(pid);
		if (w.rc >= 0)
			restore_print(cli, a, pid, r);
	}
	if (w.rc < 0) {
		/* the tree was killed (by the library, before any page went missing): reap it */
		if (a->detach)
			(void)wait_restored(pid);
		r = cli_report(cli, &w.err, NULL);
	} else if (a->detach) {
		r = EXIT_OK;
	}
	ckpt_lazy_free(w.lazy); /* its directory first: it may be inside an import's */
	cli_import_end(cli, &a->im, w.rc == 0);
	return r;
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	struct restore_args a = { 0 };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	ckpt_opts *o = ckpt_opts_new();
	struct timespec start;
	pid_t pid = 0;
	int r;

	if (!o)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	r = restore_parse(cli, argc, argv, o, &a);
	if (r < 0) {
		r = EXIT_OK; /* --help */
		goto out;
	}
	if (r || (r = restore_prepare(cli, o, &a, &client)))
		goto out;
	cli_progress(cli, "restoring from %s", a.image_path);
	if (!realpath(a.image_path, a.abs_path))
		a.abs_path[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (a.lazy) {
		r = restore_lazy(cli, client, o, &a, &start);
		goto out;
	}
	if (ckpt_restore(client, o, &pid, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	a.elapsed = cli_elapsed(&start);
	cli_progress(cli, "restored pid %d from %s in %.3fs", (int)pid, a.image_path, a.elapsed);
	cli_import_end(cli, &a.im, true);
	if (a.pid_file)
		cli_write_pid_file(cli, a.pid_file, pid);
	if (a.detach) {
		restore_print(cli, &a, pid, 0);
		r = EXIT_OK;
		goto out;
	}
	ckpt_client_free(client);
	client = NULL;
	r = restore_wait(pid);
	restore_print(cli, &a, pid, r);
out:
	cli_import_end(cli, &a.im, false);
	ckpt_client_free(client);
	ckpt_opts_free(o);
	return r;
}
