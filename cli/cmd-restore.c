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
	"  -d, --detach                do not wait: print the restored pid and exit 0\n"
	"  --pid-file FILE             write the restored pid to FILE\n"
	"  --tcp-established           restore established TCP connections\n"
	CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was a shell job: give it our stdin/out/err\n"
	"  --file-locks                restore file locks\n"
	"  --manage-cgroups-mode MODE  soft, full, strict or ignore\n"
	"  --empty-ns NS               namespace NS (network) is set up by the caller; repeatable\n"
	"  --network-lock METHOD       iptables, nftables or skip\n"
	"  --inherit-fd FD:RESOURCE    give our FD to the restored tree in place of RESOURCE\n"
	"                              (e.g. 3:pipe:[12345]); repeatable\n"
	"  --lazy-pages                fetch memory pages lazily\n"
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
	O_TCP_ESTABLISHED,
	O_EXT_UNIX_SK,
	O_SHELL_JOB,
	O_FILE_LOCKS,
	O_CGROUPS_MODE,
	O_EMPTY_NS,
	O_NETWORK_LOCK,
	O_INHERIT_FD,
	O_LAZY_PAGES,
	O_VETH,
};

static volatile sig_atomic_t restored_pid;

static void forward_signal(int sig)
{
	if (restored_pid > 0)
		kill((pid_t)restored_pid, sig);
}

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
		return cli_usage_error(cli, "--inherit-fd '%s': '%s' is not a file descriptor number", arg, num);
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

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "image-path", required_argument, NULL, O_IMAGE_PATH },
		{ "work-path", required_argument, NULL, O_WORK_PATH },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, O_PID_FILE },
		{ "tcp-established", no_argument, NULL, O_TCP_ESTABLISHED },
		{ "ext-unix-sk", no_argument, NULL, O_EXT_UNIX_SK },
		{ "shell-job", no_argument, NULL, O_SHELL_JOB },
		{ "file-locks", no_argument, NULL, O_FILE_LOCKS },
		{ "manage-cgroups-mode", required_argument, NULL, O_CGROUPS_MODE },
		{ "empty-ns", required_argument, NULL, O_EMPTY_NS },
		{ "network-lock", required_argument, NULL, O_NETWORK_LOCK },
		{ "inherit-fd", required_argument, NULL, O_INHERIT_FD },
		{ "lazy-pages", no_argument, NULL, O_LAZY_PAGES },
		{ "veth", required_argument, NULL, O_VETH },
		CLI_CRIU_LONGOPTS,
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	ckpt_opts *o = ckpt_opts_new();
	const char *image_path = "checkpoint", *work_path = NULL, *pid_file = NULL, *veth = NULL;
	bool detach = false, shell_job = false;
	struct timespec start;
	uint32_t ns_mask = 0;
	pid_t pid = 0;
	int c, r = EXIT_OK;

	if (!o)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "d", longopts, NULL)) != -1) {
		if (cli_common_opt(cli, c))
			continue;
		if ((r = cli_criu_opt(cli, o, c, optarg)) != 0) {
			if (r < 0) {
				r = -r;
				goto out;
			}
			r = EXIT_OK;
			continue;
		}
		switch (c) {
		case 'h':
			fputs(help_text, stdout);
			goto out;
		case 'd':
			detach = true;
			break;
		case O_IMAGE_PATH:
			image_path = optarg;
			break;
		case O_WORK_PATH:
			work_path = optarg;
			break;
		case O_PID_FILE:
			pid_file = optarg;
			break;
		case O_TCP_ESTABLISHED:
			r = cli_set_bool(cli, o, CKPT_OPT_TCP_ESTABLISHED, "--tcp-established");
			break;
		case O_EXT_UNIX_SK:
			r = cli_set_bool(cli, o, CKPT_OPT_EXT_UNIX_SK, "--ext-unix-sk");
			break;
		case O_SHELL_JOB:
			shell_job = true;
			r = cli_set_bool(cli, o, CKPT_OPT_SHELL_JOB, "--shell-job");
			break;
		case O_FILE_LOCKS:
			r = cli_set_bool(cli, o, CKPT_OPT_FILE_LOCKS, "--file-locks");
			break;
		case O_LAZY_PAGES:
			r = cli_set_bool(cli, o, CKPT_OPT_LAZY_PAGES, "--lazy-pages");
			break;
		case O_CGROUPS_MODE:
			r = cli_set_cgroup_mode(cli, o, optarg);
			break;
		case O_EMPTY_NS:
			r = cli_add_empty_ns(cli, o, &ns_mask, optarg);
			break;
		case O_NETWORK_LOCK:
			r = cli_set_network_lock(cli, o, optarg);
			break;
		case O_INHERIT_FD:
			r = parse_inherit_fd(cli, o, optarg);
			break;
		case O_VETH:
			veth = optarg;
			break;
		default:
			r = cli_getopt_error(cli, c, argv);
			break;
		}
		if (r)
			goto out;
	}
	if (optind < argc) {
		r = cli_usage_error(cli, "unexpected argument '%s' (restore takes no PID; see `ckpt help restore`)",
				    argv[optind]);
		goto out;
	}
	if (ckpt_opts_set_images_dir(o, image_path, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	if (work_path && (r = cli_set_work_dir(cli, o, work_path)))
		goto out;
	if ((r = cli_client(cli, &client)))
		goto out;
	if (veth && !(ns_mask & CLONE_NEWNET)) {
		r = cli_usage_error(cli, "--veth '%s' needs --empty-ns network", veth);
		goto out;
	}
	if (veth && ckpt_client_set_netns_veth_spec(client, veth, &err) < 0) {
		r = cli_bad_value(cli, "--veth", veth, &err);
		goto out;
	}
	if (shell_job && ckpt_client_set_criu_stdio(client, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	/* The restored tree is re-parented to us, and so are its orphans. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		r = cli_fail(cli, EXIT_FAILED, "prctl(PR_SET_CHILD_SUBREAPER): %s", cli_strerror(errno));
		goto out;
	}

	cli_progress(cli, "restoring from %s", image_path);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (ckpt_restore(client, o, &pid, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	cli_progress(cli, "restored pid %d from %s in %.3fs", (int)pid, image_path, cli_elapsed(&start));
	if (pid_file) {
		int e = write_pid_file(pid_file, pid);

		if (e < 0)
			fprintf(stderr, "%s %s: warning: --pid-file '%s': %s\n", cli->prog, cli->cmd, pid_file,
				cli_strerror(-e));
	}
	if (detach) {
		if (cli->json) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "pid", json_object_new_int(pid));
			json_object_object_add(j, "image_path", json_object_new_string(image_path));
			json_object_object_add(j, "detached", json_object_new_boolean(true));
			cli_print_json(j);
		} else {
			printf("%d\n", (int)pid);
			fflush(stdout);
		}
		r = EXIT_OK;
		goto out;
	}

	/* Attached: pass termination signals on, reap everything, exit with the root's status. */
	{
		struct sigaction sa = { .sa_handler = forward_signal };
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

		restored_pid = pid;
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	ckpt_client_free(client);
	client = NULL;
	r = wait_restored(pid);
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "pid", json_object_new_int(pid));
		json_object_object_add(j, "image_path", json_object_new_string(image_path));
		json_object_object_add(j, "detached", json_object_new_boolean(false));
		json_object_object_add(j, "exit_code", json_object_new_int(r));
		cli_print_json(j);
	}
out:
	ckpt_client_free(client);
	ckpt_opts_free(o);
	return r;
}
