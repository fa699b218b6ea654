/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt inspect: what a checkpoint (images dir or any engine's archive) holds, without criu. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt inspect [FLAGS] DIR|ARCHIVE\n"
	"\n"
	"Show what a checkpoint holds, read from its image files without running criu:\n"
	"an images directory, or a checkpoint archive written by ckpt, Podman, CRI-O or\n"
	"containerd/Kubernetes (tar; plain, gzip or zstd). Always: the CRIU image format\n"
	"version, the processes (pid, parent, command, state, threads, memory pages and\n"
	"bytes, open files) and CRIU's dump and restore statistics; for an archive also\n"
	"the engine, container name, image, id, runtime, created and checkpointed times\n"
	"and sizes. Images and archives are treated as untrusted input. An archive's\n"
	"metadata and small images are extracted into a private directory (0700, checked)\n"
	"under $TMPDIR (or /tmp), removed after; memory pages are not, unless --ps-tree-cmd\n"
	"or --ps-tree-env needs them, and then at most 4 GiB in all (a bigger archive is\n"
	"refused, saying so). $TMPDIR must be yours or root's, and sticky if others can write it.\n"
	"\n"
	"  --ps-tree        the process tree\n"
	"  --ps-tree-cmd    the process tree with each process's command line (from its memory)\n"
	"  --ps-tree-env    the process tree with each process's environment (from its memory)\n"
	"  --files          open files of each process (and cwd, root, exe)\n"
	"  --sockets        sockets of each process\n"
	"  --mounts         the container's mounts (an archive's spec.dump)\n"
	"  --mems           memory maps of each process (as `crit x DIR mems`)\n"
	"  --all            all of the above\n"
	"  --json           print libckpt's JSON: for DIR {\"images_version\", \"total_bytes\",\n"
	"                   \"processes\": [{\"pid\", \"ppid\", \"comm\", \"state\", \"threads\", \"pages\",\n"
	"                   \"memory_bytes\", \"files\", [\"cmdline\", \"environment\", \"files\",\n"
	"                   \"sockets\", \"exe\", \"mems\"]}], \"dump_stats\", ...}; for an ARCHIVE\n"
	"                   {\"archive\", \"engine\", \"name\", \"id\", \"image\", \"runtime\", \"created\",\n"
	"                   \"checkpointed\", \"sizes\", \"mounts\", ..., \"checkpoint\": {as for DIR}}\n"
	"  -q, --quiet      no progress lines\n"
	"  -v, --verbose    libckpt's diagnostics on stderr\n"
	"  -h, --help       this help\n"
	"\n"
	"Exit codes: 0 done; 1 DIR or ARCHIVE is missing, not a checkpoint, refused as\n"
	"unsafe, or an image is truncated or corrupt; 2 usage error.\n";

enum {
	O_PS_TREE = 0x100,
	O_PS_TREE_CMD,
	O_PS_TREE_ENV,
	O_FILES,
	O_SOCKETS,
	O_MOUNTS,
	O_MEMS,
	O_ALL,
};

struct view {
	bool tree, cmd, env, files, sockets, mounts, mems;
};

static const char *state_name(ckpt_task_state s)
{
	switch (s) {
	case CKPT_TASK_ALIVE: return "alive";
	case CKPT_TASK_DEAD: return "dead";
	case CKPT_TASK_STOPPED: return "stopped";
	case CKPT_TASK_ZOMBIE: return "zombie";
	default: return "unknown";
	}
}

static void print_stats(const ckpt_image_info *info, bool restore)
{
	static const ckpt_image_stat dump_keys[] = {
		CKPT_STAT_FREEZING_TIME,	CKPT_STAT_FROZEN_TIME,
		CKPT_STAT_MEMDUMP_TIME,		CKPT_STAT_MEMWRITE_TIME,
		CKPT_STAT_IRMAP_RESOLVE_TIME,	CKPT_STAT_PAGES_SCANNED,
		CKPT_STAT_PAGES_SKIPPED_PARENT, CKPT_STAT_PAGES_WRITTEN,
		CKPT_STAT_PAGES_LAZY,		CKPT_STAT_SHPAGES_SCANNED,
		CKPT_STAT_SHPAGES_WRITTEN,
	};
	static const ckpt_image_stat restore_keys[] = {
		CKPT_STAT_FORKING_TIME,	  CKPT_STAT_RESTORE_TIME,      CKPT_STAT_PAGES_RESTORED,
		CKPT_STAT_PAGES_COMPARED, CKPT_STAT_PAGES_SKIPPED_COW,
	};
	const ckpt_image_stat *keys = restore ? restore_keys : dump_keys;
	size_t n = restore ? sizeof(restore_keys) / sizeof(restore_keys[0]) :
			     sizeof(dump_keys) / sizeof(dump_keys[0]);

	printf("\n%s statistics:\n", restore ? "Restore" : "Dump");
	for (size_t i = 0; i < n; i++) {
		const char *name = ckpt_image_stat_name(keys[i]);
		uint64_t v;

		if (!name || ckpt_image_info_stat(info, keys[i], &v) < 0)
			continue;
		if (keys[i] <= CKPT_STAT_MEMWRITE_TIME || keys[i] == CKPT_STAT_IRMAP_RESOLVE_TIME ||
		    keys[i] == CKPT_STAT_FORKING_TIME || keys[i] == CKPT_STAT_RESTORE_TIME)
			printf("  %-24s %10.3f ms\n", name, (double)v / 1000.0);
		else
			printf("  %-24s %10llu\n", name, (unsigned long long)v);
	}
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static json_object *jarr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* One process of the tree and its children, from the library's JSON. */
static void print_proc(json_object *procs, size_t idx, const struct view *v, const char *prefix,
		       bool last, unsigned depth)
{
	json_object *p = json_object_array_get_idx(procs, idx), *a;
	char pre[512], sub[512];
	size_t n = json_object_array_length(procs), nkids = 0, seen = 0;
	int64_t pid = jint(p, "pid");

	snprintf(pre, sizeof(pre), "%s%s", prefix, depth ? (last ? "└── " : "├── ") : "");
	snprintf(sub, sizeof(sub), "%s%s", prefix, depth ? (last ? "    " : "│   ") : "");
	printf("%s%lld %s", pre, (long long)pid, jstr(p, "comm") ? jstr(p, "comm") : "?");
	if (v->cmd) {
		a = jarr(p, "cmdline");
		printf("  [");
		for (size_t i = 0; a && i < json_object_array_length(a); i++)
			printf("%s%s", i ? " " : "",
			       json_object_get_string(json_object_array_get_idx(a, i)));
		printf("%s]", a ? "" : "not in these images");
	}
	printf("\n");
	if (v->env && (a = jarr(p, "environment"))) {
		printf("%s│ environment:\n", sub);
		for (size_t i = 0; i < json_object_array_length(a); i++)
			printf("%s│   %s\n", sub,
			       json_object_get_string(json_object_array_get_idx(a, i)));
	}
	if (v->files && (a = jarr(p, "files"))) {
		printf("%s│ open files:\n", sub);
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *f = json_object_array_get_idx(a, i);

			printf("%s│   %-5s %-9s %s\n", sub, jstr(f, "fd"), jstr(f, "type"),
			       jstr(f, "path"));
		}
	}
	if (v->sockets && (a = jarr(p, "sockets")) && json_object_array_length(a)) {
		printf("%s│ sockets:\n", sub);
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *s = json_object_array_get_idx(a, i);
			const char *fam = jstr(s, "family") ? jstr(s, "family") : "?";

			if (!strcmp(fam, "UNIX"))
				printf("%s│   %-5lld UNIX (%s) %s %s\n", sub,
				       (long long)jint(s, "fd"), jstr(s, "type"), jstr(s, "state"),
				       jstr(s, "name") && *jstr(s, "name") ? jstr(s, "name") : "@");
			else if (jstr(s, "local"))
				printf("%s│   %-5lld %s%s%s %s -> %s (send %lld, recv %lld)\n", sub,
				       (long long)jint(s, "fd"), jstr(s, "protocol"),
				       jstr(s, "state") ? " " : "",
				       jstr(s, "state") ? jstr(s, "state") : "", jstr(s, "local"),
				       jstr(s, "remote"), (long long)jint(s, "send_buf"),
				       (long long)jint(s, "recv_buf"));
			else
				printf("%s│   %-5lld %s (send %lld, recv %lld)\n", sub,
				       (long long)jint(s, "fd"), fam,
				       (long long)jint(s, "send_buf"),
				       (long long)jint(s, "recv_buf"));
		}
	}
	if (v->mems && (a = jarr(p, "mems"))) {
		printf("%s│ memory maps (exe %s):\n", sub, jstr(p, "exe") ? jstr(p, "exe") : "?");
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *m = json_object_array_get_idx(a, i);

			printf("%s│   %18s-%-18s %s %s\n", sub, jstr(m, "start"), jstr(m, "end"),
			       jstr(m, "prot"), jstr(m, "resource"));
		}
	}
	if (depth > 64)
		return;
	for (size_t i = 0; i < n; i++)
		if (i != idx && jint(json_object_array_get_idx(procs, i), "ppid") == pid)
			nkids++;
	for (size_t i = 0; i < n; i++) {
		if (i == idx || jint(json_object_array_get_idx(procs, i), "ppid") != pid)
			continue;
		seen++;
		print_proc(procs, i, v, sub, seen == nkids, depth + 1);
	}
}

static void print_images(const char *what, ckpt_image_info *info, json_object *ij,
			 const struct view *v)
{
	uint32_t ver = ckpt_image_info_version(info);
	json_object *procs = jarr(ij, "processes");
	char hb[32];

	if (what)
		printf("Checkpoint:  %s\n", what);
	printf("Image format: CRIU images version %u%s\n", ver,
	       ver == 2 ? " (v1.1)" :
	       ver == 3 ? " (v1.2)" :
	       ver == 1 ? " (v1)" :
			  "");
	printf("Total size:  %s (%llu bytes)\n",
	       cli_human_bytes(ckpt_image_info_total_bytes(info), hb, sizeof(hb)),
	       (unsigned long long)ckpt_image_info_total_bytes(info));
	printf("Processes:   %zu\n\n", ckpt_image_info_nr_processes(info));
	printf("%-8s %-8s %-16s %-8s %7s %9s %12s %6s\n", "PID", "PPID", "COMM", "STATE", "THREADS",
	       "PAGES", "MEMORY", "FILES");
	for (size_t i = 0; i < ckpt_image_info_nr_processes(info); i++) {
		printf("%-8d %-8d %-16s %-8s %7zu %9llu %12s %6llu\n",
		       (int)ckpt_image_info_pid(info, i), (int)ckpt_image_info_ppid(info, i),
		       ckpt_image_info_comm(info, i) ? ckpt_image_info_comm(info, i) : "?",
		       state_name(ckpt_image_info_state(info, i)),
		       ckpt_image_info_nr_threads(info, i),
		       (unsigned long long)ckpt_image_info_pages(info, i),
		       cli_human_bytes(ckpt_image_info_memory_bytes(info, i), hb, sizeof(hb)),
		       (unsigned long long)ckpt_image_info_nr_files(info, i));
	}
	if (v->tree && procs) {
		size_t n = json_object_array_length(procs);

		printf("\nProcess tree:\n");
		/* Roots: the dumped tree's root (ppid 0) and any process whose parent is not in it. */
		for (size_t i = 0; i < n; i++) {
			int64_t ppid = jint(json_object_array_get_idx(procs, i), "ppid");
			bool parent_here = false;

			for (size_t k = 0; ppid && k < n; k++)
				parent_here |= k != i && jint(json_object_array_get_idx(procs, k),
							      "pid") == ppid;
			if (!parent_here)
				print_proc(procs, i, v, "", true, 0);
		}
	}
	if (ckpt_image_info_has_dump_stats(info))
		print_stats(info, false);
	if (ckpt_image_info_has_restore_stats(info))
		print_stats(info, true);
}

static void print_archive(json_object *aj, const struct view *v)
{
	static const struct {
		const char *key, *label;
	} rows[] = {
		{ "engine", "Engine" },
		{ "name", "Name" },
		{ "image", "Image" },
		{ "id", "ID" },
		{ "runtime", "Runtime" },
		{ "created", "Created" },
		{ "checkpointed", "Checkpointed" },
		{ "pod", "Pod" },
		{ "namespace", "Namespace" },
		{ "criu_version", "CRIU" },
		{ "libckpt_version", "libckpt" },
		{ "compression", "Compression" },
	};
	json_object *sizes = NULL, *mounts = jarr(aj, "mounts");
	char hb[32];

	printf("Archive:     %s\n", jstr(aj, "archive"));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (jstr(aj, rows[i].key))
			printf("  %-13s %s\n", rows[i].label, jstr(aj, rows[i].key));
	json_object_object_get_ex(aj, "sizes", &sizes);
	printf("  %-13s %s", "Checkpoint",
	       cli_human_bytes((uint64_t)jint(sizes, "checkpoint"), hb, sizeof(hb)));
	printf(" (memory pages %s)\n",
	       cli_human_bytes((uint64_t)jint(sizes, "memory_pages"), hb, sizeof(hb)));
	if (jint(sizes, "rootfs_diff"))
		printf("  %-13s %s\n", "Rootfs diff",
		       cli_human_bytes((uint64_t)jint(sizes, "rootfs_diff"), hb, sizeof(hb)));
	printf("  %-13s %s in %lld entries (file %s)\n", "Expanded",
	       cli_human_bytes((uint64_t)jint(sizes, "expanded"), hb, sizeof(hb)),
	       (long long)jint(aj, "entries"),
	       cli_human_bytes((uint64_t)jint(sizes, "file"), hb, sizeof(hb)));
	printf("  %-13s %s\n", "Restore with", jstr(aj, "restore_with"));
	if (v->mounts) {
		size_t n = mounts ? json_object_array_length(mounts) : 0;

		printf("  Mounts:%s\n", n ? "" : " none in spec.dump");
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(mounts, i);

			printf("    %-28s %-10s %s\n", jstr(m, "destination"), jstr(m, "type"),
			       jstr(m, "source"));
		}
	}
	printf("\n");
}

static json_object *parse_owned(char *s)
{
	json_object *o = s ? json_tokener_parse(s) : NULL;

	ckpt_free(s);
	return o;
}

/* inspect's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_inspect_options[] = {
	{ "ps-tree", no_argument, NULL, O_PS_TREE },
	{ "ps-tree-cmd", no_argument, NULL, O_PS_TREE_CMD },
	{ "ps-tree-env", no_argument, NULL, O_PS_TREE_ENV },
	{ "files", no_argument, NULL, O_FILES },
	{ "sockets", no_argument, NULL, O_SOCKETS },
	{ "mounts", no_argument, NULL, O_MOUNTS },
	{ "mems", no_argument, NULL, O_MEMS },
	{ "all", no_argument, NULL, O_ALL },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* The flags into v and the path; EXIT_OK, -1 after --help, or the exit code of a usage error (reported). */
static int inspect_parse(struct cli *cli, int argc, char **argv, struct view *v,
			 const char **ret_path)
{
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, cli_inspect_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		switch (c) {
		case 'h': fputs(help_text, stdout); return -1;
		case O_PS_TREE: v->tree = true; break;
		case O_PS_TREE_CMD: v->tree = v->cmd = true; break;
		case O_PS_TREE_ENV: v->tree = v->env = true; break;
		case O_FILES: v->tree = v->files = true; break;
		case O_SOCKETS: v->tree = v->sockets = true; break;
		case O_MOUNTS: v->mounts = true; break;
		case O_MEMS: v->tree = v->mems = true; break;
		case O_ALL: *v = (struct view){ true, true, true, true, true, true, true }; break;
		default: return cli_getopt_error(cli, c, argv, cli_inspect_options);
		}
	}
	if (optind >= argc || !argv[optind])
		return cli_usage_error(cli, "missing DIR or ARCHIVE (see `ckpt help inspect`)");
	if (optind + 1 < argc)
		return cli_usage_error(cli, "expected one DIR or ARCHIVE, got %d arguments",
				       argc - optind);
	*ret_path = argv[optind];
	return EXIT_OK;
}

/* What --ps-tree-cmd and --ps-tree-env extract of an archive at most (its pages included). */
#define INSPECT_CAP (4ULL << 30)

/* An archive extracted (*ar, removed by the caller), its checkpoint read (*info), itself as JSON (*aj). */
static int inspect_archive(struct cli *cli, const char *path, const struct view *v, unsigned flags,
			   ckpt_archive **ar, ckpt_image_info **info, json_object **aj)
{
	ckpt_archive_limits lim;
	ckpt_err err = CKPT_ERR_INIT;
	const char *tmp = getenv("TMPDIR");
	bool pages = v->cmd || v->env;

	ckpt_archive_limits_init(&lim);
	/* argv and the environment are in the pages: only then extract them, and not without end */
	if (pages)
		lim.max_total_bytes = INSPECT_CAP;
	if (ckpt_archive_extract(path, &lim, tmp && *tmp ? tmp : "/tmp",
				 pages ? 0 : CKPT_ARCHIVE_SKIP_BULK, ar, &err) < 0) {
		if (pages && err.code == CKPT_ETOOBIG)
			snprintf(
				err.hint, sizeof(err.hint),
				"--ps-tree-cmd and --ps-tree-env extract the memory pages, at most "
				"%llu GiB: inspect without them, or restore it with --import --keep",
				(unsigned long long)(INSPECT_CAP >> 30));
		return cli_report(cli, &err, NULL);
	}
	if (ckpt_archive_image_info(*ar, flags, info, &err) < 0)
		return cli_report(cli, &err, NULL);
	*aj = parse_owned(ckpt_archive_to_json(*ar));
	if (!*aj)
		return cli_fail(cli, EXIT_FAILED, "out of memory");
	return EXIT_OK;
}

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	ckpt_archive *ar = NULL;
	json_object *ij = NULL, *aj = NULL;
	struct view v = { 0 };
	unsigned flags = 0;
	const char *path = NULL;
	struct stat st;
	char recorded[512] = "";
	bool has_recorded = false;
	int r;

	r = inspect_parse(cli, argc, argv, &v, &path);
	if (r)
		return r < 0 ? EXIT_OK : r;
	if (!path) /* never: inspect_parse sets it when it returns 0 (said for gcc -fanalyzer) */
		return EXIT_USAGE;
	flags = (v.cmd ? CKPT_IMAGE_READ_CMDLINE : 0) | (v.env ? CKPT_IMAGE_READ_ENV : 0) |
		(v.files ? CKPT_IMAGE_READ_FILES : 0) | (v.sockets ? CKPT_IMAGE_READ_SOCKETS : 0) |
		(v.mems ? CKPT_IMAGE_READ_MEMS : 0);

	if (stat(path, &st) < 0)
		return cli_fail(cli, EXIT_FAILED,
				"'%s': %s (expected an images directory or a checkpoint archive)",
				path, cli_strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if ((r = inspect_archive(cli, path, &v, flags, &ar, &info, &aj)))
			goto out;
	} else if (ckpt_image_info_read_detail(AT_FDCWD, path, flags, &info, &err) < 0) {
		return cli_report(cli, &err, NULL);
	}
	ij = parse_owned(ckpt_image_info_to_json(info));
	if (!ij) {
		r = cli_fail(cli, EXIT_FAILED, "out of memory");
		goto out;
	}
	{
		/* the flags a restore needs, as `ckpt checkpoint` recorded them beside the images */
		char dir[PATH_MAX];
		int dfd;

		if (ar)
			snprintf(dir, sizeof(dir), "%s/checkpoint", ckpt_archive_dir(ar));
		else
			snprintf(dir, sizeof(dir), "%s", path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		has_recorded = dfd >= 0 && cli_recorded_read(dfd, recorded, sizeof(recorded));
		if (dfd >= 0)
			close(dfd);
		json_object_object_add(ij, "recorded_flags",
				       has_recorded ? cli_json_str(recorded) : NULL);
	}

	if (cli->json) {
		if (aj) {
			json_object_object_add(aj, "checkpoint", ij);
			ij = NULL;
			cli_print_json(aj);
			aj = NULL;
		} else {
			cli_print_json(ij);
			ij = NULL;
		}
		goto out;
	}
	if (aj)
		print_archive(aj, &v);
	else if (v.mounts)
		printf("Mounts:      none (an images directory has no spec.dump)\n");
	print_images(aj ? NULL : path, info, ij, &v);
	printf("\nRestore flags: %s\n",
	       !has_recorded ? "not recorded (not made by `ckpt checkpoint`): give them by hand" :
	       recorded[0]   ? recorded :
			       "none needed");
	if (has_recorded && recorded[0])
		printf("               (recorded at checkpoint; `ckpt restore` applies them)\n");
out:
	json_object_put(ij);
	json_object_put(aj);
	ckpt_image_info_free(info);
	if (ar && ckpt_archive_remove(ar, &err) < 0)
		fprintf(stderr, "%s %s: warning: %s\n", cli->prog, cli->cmd, err.msg);
	ckpt_archive_free(ar);
	return r;
}
