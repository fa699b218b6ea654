/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt checkpoint: dump a running process tree (runc's flags, runsc's rule:
 * an existing checkpoint is never overwritten without --force). The
 * library's transaction keeps half-made checkpoints away: a new or empty
 * --image-path is written through a staging dir renamed into place on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "archive-cli.h"
#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt checkpoint [FLAGS] PID\n"
	"\n"
	"Checkpoint the process tree rooted at PID into an images directory. Without\n"
	"--leave-running (or --pre-dump) the tree is killed once it is dumped.\n"
	"\n"
	"  --image-path DIR            images directory (default ./checkpoint); created 0700\n"
	"                              (its parents too). A directory that already holds a\n"
	"                              checkpoint is refused unless --force\n"
	"  --work-path DIR             where CRIU writes its log and stats (default: images dir)\n"
	"  --force                     dump over an existing checkpoint in --image-path\n"
	"  --follow-symlinks           follow symlinks in --image-path and --work-path\n"
	"  --check-only                look at the tree for what CRIU would refuse (a tty\n"
	"                              without --shell-job, established TCP, file locks,\n"
	"                              external unix peers, ...) and dump nothing; exit 1\n"
	"                              if anything was found\n"
	"  -R, --leave-running         keep the process tree running after the dump\n"
	"  --tcp-established           dump established TCP connections\n" CLI_CRIU_HELP
	"  --ext-unix-sk               allow external unix sockets\n"
	"  --shell-job                 the tree was started from a shell (has a controlling tty)\n"
	"  --file-locks                dump file locks\n"
	"  --page-server ADDRESS:PORT  send memory pages to a `ckpt page-server` there\n"
	"  --manage-cgroups-mode MODE  none, props, soft, full, strict, ignore or default\n"
	"  --empty-ns NS               do not dump namespace NS (network); repeatable\n"
	"  --pre-dump                  dump memory only, keep the tree running (for --parent-path)\n"
	"  --parent-path PATH          previous (pre-)dump, relative to the images dir (../pre)\n"
	"  --auto-dedup                deduplicate pages against the parent images\n"
	"  --lazy-pages                leave memory pages to be fetched lazily on restore\n"
	"  --status-fd FD              CRIU writes one byte to FD when it is ready\n"
	"  --lsm-profile TYPE:NAME     LSM profile to restore with\n"
	"  --network-lock METHOD       iptables, nftables or skip\n"
	"  -e, --export FILE           also write the checkpoint as an archive FILE (0600), as\n"
	"                              Podman, CRI-O and checkpointctl read them\n"
	"  -c, --compress ALGO         the archive's compression: zstd (default), gzip or none\n"
	"                              Without --image-path the images go to a private directory\n"
	"                              beside FILE, removed once the archive is complete\n"
	"  -k, --keep                  with --export and no --image-path: keep that directory\n"
	"  --json                      print the result as JSON on stdout\n"
	"  -q, --quiet                 no progress lines on stderr\n"
	"  -v, --verbose               libckpt's diagnostics on stderr\n"
	"  -h, --help                  this help\n"
	"\n"
	"A new or empty --image-path is written through .NAME.ckpt-tmp-XXXXXX beside it,\n"
	"renamed into place only when the dump succeeded; when CRIU fails, its log is kept\n"
	"as NAME.dump.log beside it. If the outcome is unknown (a timeout, criu gone) and\n"
	"the tree is gone, the images are kept where they were written, and named.\n"
	"\n"
	"Progress goes to stderr, one line per CRIU phase with the elapsed time, then\n"
	"\"checkpointed PID into DIR in S.SSSs (N bytes)\".\n"
	"JSON keys: pid, image_path, work_path, pre_dump, leave_running, elapsed_s, bytes,\n"
	"phases [{name, elapsed_s}], stats {frozen_time_us, memdump_time_us,\n"
	"memwrite_time_us, pages_written, ...} when CRIU wrote stats-dump.\n"
	"\n"
	"Exit codes: 0 done; 1 failed (PID not running, images dir already holds a\n"
	"checkpoint, CRIU failed); 2 usage error (bad flag or value, PID missing, 0 or\n"
	"not a number; nothing was dumped); 3 criu unusable; 4 timeout.\n";

enum {
	O_IMAGE_PATH = 0x100,
	O_WORK_PATH,
	O_PAGE_SERVER,
	O_PRE_DUMP,
	O_PARENT_PATH,
	O_AUTO_DEDUP,
	O_LAZY_PAGES,
	O_STATUS_FD,
	O_LSM_PROFILE,
	O_FORCE,
	O_CHECK_ONLY,
};

struct progress {
	struct cli *cli;
	struct timespec start;
	json_object *phases;
};

static int on_notify(void *userdata, ckpt_notify *ev)
{
	struct progress *p = userdata;
	const char *name = ckpt_notify_name(ev);
	double t = cli_elapsed(&p->start);
	json_object *ph = json_object_new_object();

	cli_progress(p->cli, "  %.3fs %s", t, name ? name : "?");
	json_object_object_add(ph, "name", cli_json_str(name ? name : ""));
	json_object_object_add(ph, "elapsed_s", cli_json_seconds(t));
	json_object_array_add(p->phases, ph);
	return 0;
}

/* Split --image-path into an existing-or-created parent and a last component. */
static int split_image_path(struct cli *cli, const char *arg, char *parent, size_t psize,
			    char *name, size_t nsize)
{
	char buf[PATH_MAX];
	size_t l = strlen(arg);
	char *slash;

	if (l == 0 || l >= sizeof(buf))
		return cli_usage_error(cli, "--image-path '%s': not a usable path", arg);
	memcpy(buf, arg, l + 1);
	while (l > 1 && buf[l - 1] == '/')
		buf[--l] = '\0';
	slash = strrchr(buf, '/');
	if (!slash) {
		snprintf(parent, psize, ".");
		snprintf(name, nsize, "%s", buf);
	} else {
		*slash = '\0';
		snprintf(parent, psize, "%s", slash == buf ? "/" : buf);
		snprintf(name, nsize, "%s", slash + 1);
	}
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return cli_usage_error(
			cli,
			"--image-path '%s': must end in a directory name (not '.', '..' or '/')",
			arg);
	return 0;
}

static json_object *stats_json(const char *dir, struct cli *cli)
{
	static const ckpt_image_stat keys[] = {
		CKPT_STAT_FREEZING_TIME, CKPT_STAT_FROZEN_TIME,	  CKPT_STAT_MEMDUMP_TIME,
		CKPT_STAT_MEMWRITE_TIME, CKPT_STAT_PAGES_SCANNED, CKPT_STAT_PAGES_SKIPPED_PARENT,
		CKPT_STAT_PAGES_WRITTEN, CKPT_STAT_PAGES_LAZY,
	};
	ckpt_image_info *info = NULL;
	json_object *o;
	uint64_t frozen = 0, memdump = 0, memwrite = 0, written = 0;
	bool have = false;

	if (ckpt_image_info_read_stats(AT_FDCWD, dir, &info, NULL) < 0)
		return NULL;
	if (!ckpt_image_info_has_dump_stats(info)) {
		ckpt_image_info_free(info);
		return NULL;
	}
	o = json_object_new_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t v;

		if (ckpt_image_info_stat(info, keys[i], &v) == 0)
			json_object_object_add(o, ckpt_image_stat_name(keys[i]),
					       json_object_new_uint64(v));
	}
	have = ckpt_image_info_stat(info, CKPT_STAT_FROZEN_TIME, &frozen) == 0;
	ckpt_image_info_stat(info, CKPT_STAT_MEMDUMP_TIME, &memdump);
	ckpt_image_info_stat(info, CKPT_STAT_MEMWRITE_TIME, &memwrite);
	ckpt_image_info_stat(info, CKPT_STAT_PAGES_WRITTEN, &written);
	if (have)
		cli_progress(
			cli,
			"  frozen %.3fs, memory dump %.3fs, memory write %.3fs, %llu pages written",
			(double)frozen / 1e6, (double)memdump / 1e6, (double)memwrite / 1e6,
			(unsigned long long)written);
	ckpt_image_info_free(info);
	return o;
}

struct checkpoint_args {
	const char *image_path, *work_path;
	bool leave_running, pre_dump, force, parent, check_only;
	bool image_path_set, keep;
	struct cli_criu_flags criu;
	char private_images[PATH_MAX]; /* --export without --image-path: ours, removed after */
	pid_t pid;
	struct cli_export ex; /* --export */
};

/* One of checkpoint's own flags into o and a: EXIT_OK, -1 after --help, or a usage error's exit code. */
static int checkpoint_opt(struct cli *cli, ckpt_opts *o, struct checkpoint_args *a, int c,
			  const char *arg, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	unsigned long ul;
	int r = EXIT_OK;

	switch (c) {
	case 'h': fputs(help_text, stdout); return -1;
	case O_IMAGE_PATH:
		a->image_path = arg;
		a->image_path_set = true;
		break;
	case 'k': a->keep = true; break;
	case O_WORK_PATH: a->work_path = arg; break;
	case O_FORCE: a->force = true; break;
	case O_CHECK_ONLY: a->check_only = true; break;
	case 'e': a->ex.file = arg; break;
	case 'c': a->ex.compress = arg; break;
	case 'R':
		a->leave_running = true;
		r = ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err) < 0 ?
			    cli_usage_error(cli, "%s", err.msg) :
			    0;
		break;
	case O_AUTO_DEDUP: r = cli_set_bool(cli, o, CKPT_OPT_AUTO_DEDUP, "--auto-dedup"); break;
	case O_LAZY_PAGES: r = cli_set_bool(cli, o, CKPT_OPT_LAZY_PAGES, "--lazy-pages"); break;
	case O_PRE_DUMP: a->pre_dump = true; break;
	case O_PAGE_SERVER:
		if (ckpt_opts_set_page_server(o, arg, &err) < 0)
			r = cli_bad_value(cli, "--page-server", arg, &err);
		break;
	case O_PARENT_PATH:
		a->parent = true;
		if (ckpt_opts_set_parent_images(o, arg, &err) < 0)
			r = cli_bad_value(cli, "--parent-path", arg, &err);
		break;
	case O_LSM_PROFILE:
		if (ckpt_opts_set_str(o, CKPT_OPT_LSM_PROFILE, arg, &err) < 0)
			r = cli_bad_value(cli, "--lsm-profile", arg, &err);
		break;
	case O_STATUS_FD:
		if (!cli_parse_uint(arg, INT_MAX, &ul) || fcntl((int)ul, F_GETFD) < 0)
			r = cli_usage_error(cli, "--status-fd '%s': not an open file descriptor",
					    arg);
		else if (ckpt_opts_set_int(o, CKPT_OPT_STATUS_FD, (int64_t)ul, &err) < 0)
			r = cli_bad_value(cli, "--status-fd", arg, &err);
		break;
	default: r = cli_getopt_error(cli, c, argv, cli_checkpoint_options); break;
	}
	return r;
}

/* checkpoint's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_checkpoint_options[] = {
	{ "image-path", required_argument, NULL, O_IMAGE_PATH },
	{ "work-path", required_argument, NULL, O_WORK_PATH },
	{ "leave-running", no_argument, NULL, 'R' },
	{ "page-server", required_argument, NULL, O_PAGE_SERVER },
	{ "pre-dump", no_argument, NULL, O_PRE_DUMP },
	{ "parent-path", required_argument, NULL, O_PARENT_PATH },
	{ "auto-dedup", no_argument, NULL, O_AUTO_DEDUP },
	{ "lazy-pages", no_argument, NULL, O_LAZY_PAGES },
	{ "status-fd", required_argument, NULL, O_STATUS_FD },
	{ "lsm-profile", required_argument, NULL, O_LSM_PROFILE },
	{ "force", no_argument, NULL, O_FORCE },
	{ "check-only", no_argument, NULL, O_CHECK_ONLY },
	{ "export", required_argument, NULL, 'e' },
	{ "compress", required_argument, NULL, 'c' },
	{ "keep", no_argument, NULL, 'k' },
	{ "follow-symlinks", no_argument, NULL, OPT_FOLLOW_SYMLINKS },
	CLI_CRIU_LONGOPTS,
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into o and a; EXIT_OK, or the exit code of a usage error (reported). */
static int checkpoint_parse(struct cli *cli, int argc, char **argv, ckpt_opts *o,
			    struct checkpoint_args *a)
{
	int c, r = EXIT_OK;

	a->image_path = "checkpoint";
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "Re:c:k", cli_checkpoint_options,
				NULL)) != -1) {
		if ((r = cli_criu_opt(cli, o, &a->criu, c, optarg)) > 0)
			continue;
		if (r < 0)
			return -r;
		r = checkpoint_opt(cli, o, a, c, optarg, argv);
		if (r)
			return r;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing PID (see `ckpt help checkpoint`)");
	if (optind + 1 < argc)
		return cli_usage_error(cli, "expected one PID, got %d arguments", argc - optind);
	if (!cli_parse_pid(argv[optind], &a->pid))
		return cli_usage_error(cli, "PID '%s': not a process id (a positive integer)",
				       argv[optind]);
	return EXIT_OK;
}

/* Target, images dir (its parents made 0700), work dir and --force into o. */
static int checkpoint_prepare(struct cli *cli, ckpt_opts *o, struct checkpoint_args *a)
{
	char pdir[PATH_MAX], name[NAME_MAX + 1];
	ckpt_err err = CKPT_ERR_INIT;
	int r;

	if (kill(a->pid, 0) < 0 && errno == ESRCH)
		return cli_fail(cli, EXIT_FAILED, "pid %d: no such process", (int)a->pid);
	if ((r = cli_refuse_own_tree(cli, a->pid)))
		return r;
	if (!a->check_only && (r = cli_export_begin(cli, &a->ex, a->pid, a->pre_dump)))
		return r;
	if (!a->check_only && a->ex.file && !a->image_path_set) {
		/* the archive is the output: the images go to a private directory beside it */
		char *slash = strrchr(a->ex.file, '/');
		int n = slash ? snprintf(a->private_images, sizeof(a->private_images),
					 "%.*s/.ckpt-export-XXXXXX", (int)(slash - a->ex.file),
					 a->ex.file) :
				snprintf(a->private_images, sizeof(a->private_images),
					 ".ckpt-export-XXXXXX");

		if (n < 0 || (size_t)n >= sizeof(a->private_images))
			return cli_usage_error(cli, "--export '%s': path too long", a->ex.file);
		if (!mkdtemp(a->private_images)) {
			int e = errno;

			a->private_images[0] = '\0';
			return cli_fail(
				cli, EXIT_FAILED,
				"--export '%s': cannot make a directory for the images beside it: %s",
				a->ex.file, cli_strerror(e));
		}
		a->image_path = a->private_images;
	} else if (a->keep) {
		return cli_usage_error(cli, "--keep: only with --export and no --image-path");
	}
	if (ckpt_opts_set_pid(o, a->pid, &err) < 0)
		return cli_report(cli, &err, NULL);
	if (a->pre_dump || a->parent)
		ckpt_opts_set_bool(o, CKPT_OPT_TRACK_MEM, true, NULL);
	if (a->force)
		ckpt_opts_set_bool(o, CKPT_OPT_OVERWRITE, true, NULL);
	if ((r = split_image_path(cli, a->image_path, pdir, sizeof(pdir), name, sizeof(name))))
		return r;
	if (cli_mkdir_p(pdir, 0700) < 0)
		return cli_fail(cli, EXIT_FAILED, "cannot create '%s': %s", pdir,
				cli_strerror(errno));
	if (ckpt_opts_set_images_dir(o, a->image_path, &err) < 0)
		return cli_report(cli, &err, NULL);
	if (a->work_path && (r = cli_set_work_dir(cli, o, a->work_path)))
		return r;
	return EXIT_OK;
}

/* --check-only: what the dump would fail on, seen before anything is frozen. */
static int checkpoint_check_only(struct cli *cli, ckpt_client *client, ckpt_opts *o,
				 const struct checkpoint_args *a)
{
	size_t n;
	int r = cli_preflight(cli, client, o, a->pid, true, &n);

	return r ? r : n ? EXIT_FAILED : EXIT_OK;
}

static void checkpoint_report(struct cli *cli, const struct checkpoint_args *a,
			      struct progress *prog)
{
	double elapsed = cli_elapsed(&prog->start);
	uint64_t bytes = cli_dir_bytes(a->image_path);
	json_object *stats = stats_json(a->work_path ? a->work_path : a->image_path, cli);
	bool removed = a->private_images[0] && !a->keep; /* only the archive is left */
	char hb[32];

	cli_progress(cli, "%s pid %d into %s in %.3fs (%llu bytes, %s)",
		     a->pre_dump ? "pre-dumped" : "checkpointed", (int)a->pid,
		     removed ? a->ex.file : a->image_path, elapsed, (unsigned long long)bytes,
		     cli_human_bytes(bytes, hb, sizeof(hb)));
	if (cli->json) {
		json_object *j = json_object_new_object();
		char *abs = realpath(a->image_path, NULL), *arch = NULL;

		if (a->ex.file)
			arch = realpath(a->ex.file, NULL);
		json_object_object_add(j, "pid", json_object_new_int(a->pid));
		json_object_object_add(j, "image_path",
				       removed ? NULL : cli_json_str(abs ? abs : a->image_path));
		json_object_object_add(j, "archive",
				       a->ex.file ? cli_json_str(arch ? arch : a->ex.file) : NULL);
		free(arch);
		json_object_object_add(j, "work_path",
				       a->work_path ? cli_json_str(a->work_path) : NULL);
		json_object_object_add(j, "pre_dump", json_object_new_boolean(a->pre_dump));
		json_object_object_add(j, "leave_running",
				       json_object_new_boolean(a->leave_running || a->pre_dump));
		json_object_object_add(j, "elapsed_s", cli_json_seconds(elapsed));
		json_object_object_add(j, "bytes", json_object_new_uint64(bytes));
		json_object_object_add(j, "phases", json_object_get(prog->phases));
		json_object_object_add(j, "stats", stats);
		stats = NULL;
		free(abs);
		cli_print_json(j);
	}
	json_object_put(stats);
}

int cmd_checkpoint(struct cli *cli, int argc, char **argv)
{
	struct checkpoint_args a = { 0 };
	struct progress prog = { .cli = cli };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_client *client = NULL;
	ckpt_opts *o = ckpt_opts_new();
	int r;

	if (!o)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	r = checkpoint_parse(cli, argc, argv, o, &a);
	if (r < 0) {
		r = EXIT_OK; /* --help */
		goto out;
	}
	if (r || (r = checkpoint_prepare(cli, o, &a)) || (r = cli_client(cli, &client)))
		goto out;
	if (a.check_only) {
		r = checkpoint_check_only(cli, client, o, &a);
		goto out;
	}
	prog.phases = json_object_new_array();
	if (ckpt_client_set_notify(client, NULL, on_notify, &prog, &err) < 0) {
		r = cli_report(cli, &err, NULL);
		goto out;
	}
	if (!a.pre_dump) {
		/* what dumps that died beside it left (a crash, an OOM kill): removed, and said */
		uint64_t freed = 0;
		unsigned dirs = 0;
		char hb[32];

		if (ckpt_images_reap_staging(a.image_path, &freed, &dirs, NULL) == 0 && dirs)
			cli_progress(
				cli,
				"removed %u staging director%s left by dumps that died beside %s (%s freed)",
				dirs, dirs == 1 ? "y" : "ies", a.image_path,
				cli_human_bytes(freed, hb, sizeof(hb)));
	}
	cli_progress(cli, "%s pid %d into %s%s", a.pre_dump ? "pre-dumping" : "checkpointing",
		     (int)a.pid, a.image_path,
		     a.leave_running || a.pre_dump ? " (leaving it running)" : "");
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	if ((a.pre_dump ? ckpt_pre_dump(client, o, &err) : ckpt_dump(client, o, &err)) < 0) {
		r = cli_report(cli, &err, NULL);
		/* the private directory stays only if it holds images that may be the only copy */
		if (a.private_images[0] && !(err.flags & CKPT_ERR_F_IMAGES_KEPT))
			rmdir(a.private_images);
		goto out;
	}
	if (!a.pre_dump && (r = cli_recorded_write(a.image_path, &a.criu)) < 0)
		fprintf(stderr,
			"%s %s: warning: cannot record the flags a restore needs in %s/%s: %s\n",
			cli->prog, cli->cmd, a.image_path, CLI_RECORDED_FILE, cli_strerror(-r));
	if ((r = cli_export_finish(cli, &a.ex, a.image_path, a.work_path, client))) {
		if (a.private_images[0])
			fprintf(stderr,
				"%s %s: the images are kept in %s (the tree may be gone: they can be its only copy)\n",
				cli->prog, cli->cmd, a.private_images);
		goto out;
	}
	checkpoint_report(cli, &a, &prog);
	if (a.private_images[0] && !a.keep) {
		if (cli_rm_tree(a.private_images) < 0)
			fprintf(stderr, "%s %s: warning: cannot remove %s: %s\n", cli->prog,
				cli->cmd, a.private_images, cli_strerror(errno));
	} else if (a.private_images[0]) {
		cli_progress(cli, "the images are kept in %s (--keep)", a.private_images);
	}
	r = EXIT_OK;
out:
	json_object_put(prog.phases);
	ckpt_client_free(client);
	ckpt_opts_free(o);
	return r;
}
