/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt inspect: what a checkpoint holds, read from the images (no criu needed). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ckpt-cli.h"

static const char help_text[] =
	"Usage: ckpt inspect [--json] DIR\n"
	"\n"
	"Show what the checkpoint in DIR holds, read from its image files without\n"
	"running criu: the CRIU image format version, the process tree (pid, parent,\n"
	"command, state, threads, memory pages and bytes, open files) and CRIU's dump\n"
	"and restore statistics (frozen time, memory dump and write times, pages\n"
	"written). Images are treated as untrusted input.\n"
	"\n"
	"  --json         print libckpt's JSON rendering: {\"version\", \"total_bytes\",\n"
	"                 \"processes\": [{\"pid\", \"ppid\", \"comm\", \"state\", \"threads\",\n"
	"                 \"pages\", \"memory_bytes\", \"files\", ...}], \"dump_stats\", ...}\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit codes: 0 done; 1 DIR is missing, not a checkpoint, or an image is\n"
	"truncated or corrupt; 2 usage error.\n";

static const char *state_name(ckpt_task_state s)
{
	switch (s) {
	case CKPT_TASK_ALIVE:
		return "alive";
	case CKPT_TASK_DEAD:
		return "dead";
	case CKPT_TASK_STOPPED:
		return "stopped";
	case CKPT_TASK_ZOMBIE:
		return "zombie";
	default:
		return "unknown";
	}
}

static void print_stats(const ckpt_image_info *info, bool restore)
{
	static const ckpt_image_stat dump_keys[] = {
		CKPT_STAT_FREEZING_TIME,	 CKPT_STAT_FROZEN_TIME,	    CKPT_STAT_MEMDUMP_TIME,
		CKPT_STAT_MEMWRITE_TIME,	 CKPT_STAT_IRMAP_RESOLVE_TIME, CKPT_STAT_PAGES_SCANNED,
		CKPT_STAT_PAGES_SKIPPED_PARENT, CKPT_STAT_PAGES_WRITTEN,	    CKPT_STAT_PAGES_LAZY,
		CKPT_STAT_SHPAGES_SCANNED,	 CKPT_STAT_SHPAGES_WRITTEN,
	};
	static const ckpt_image_stat restore_keys[] = {
		CKPT_STAT_FORKING_TIME, CKPT_STAT_RESTORE_TIME, CKPT_STAT_PAGES_RESTORED,
		CKPT_STAT_PAGES_COMPARED, CKPT_STAT_PAGES_SKIPPED_COW,
	};
	const ckpt_image_stat *keys = restore ? restore_keys : dump_keys;
	size_t n = restore ? sizeof(restore_keys) / sizeof(restore_keys[0]) : sizeof(dump_keys) / sizeof(dump_keys[0]);

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

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	const char *dir;
	char hb[32];
	uint32_t ver;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_common_opt(cli, c))
			continue;
		if (c == 'h') {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
		return cli_getopt_error(cli, c, argv);
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing DIR (see `ckpt help inspect`)");
	if (optind + 1 < argc)
		return cli_usage_error(cli, "expected one DIR, got %d arguments", argc - optind);
	dir = argv[optind];
	if (ckpt_image_info_read(AT_FDCWD, dir, &info, &err) < 0)
		return cli_report(cli, &err, NULL);

	if (cli->json) {
		char *s = ckpt_image_info_to_json(info);

		if (!s) {
			ckpt_image_info_free(info);
			return cli_fail(cli, EXIT_FAILED, "out of memory");
		}
		printf("%s\n", s);
		ckpt_free(s);
		ckpt_image_info_free(info);
		return EXIT_OK;
	}

	ver = ckpt_image_info_version(info);
	printf("Checkpoint:  %s\n", dir);
	printf("Image format: CRIU images version %u%s\n", ver,
	       ver == 2 ? " (v1.1)" : ver == 3 ? " (v1.2)" : ver == 1 ? " (v1)" : "");
	printf("Total size:  %s (%llu bytes)\n", cli_human_bytes(ckpt_image_info_total_bytes(info), hb, sizeof(hb)),
	       (unsigned long long)ckpt_image_info_total_bytes(info));
	printf("Processes:   %zu\n\n", ckpt_image_info_nr_processes(info));
	printf("%-8s %-8s %-16s %-8s %7s %9s %12s %6s\n", "PID", "PPID", "COMM", "STATE", "THREADS", "PAGES",
	       "MEMORY", "FILES");
	for (size_t i = 0; i < ckpt_image_info_nr_processes(info); i++) {
		printf("%-8d %-8d %-16s %-8s %7zu %9llu %12s %6llu\n", (int)ckpt_image_info_pid(info, i),
		       (int)ckpt_image_info_ppid(info, i), ckpt_image_info_comm(info, i) ? ckpt_image_info_comm(info, i) : "?",
		       state_name(ckpt_image_info_state(info, i)), ckpt_image_info_nr_threads(info, i),
		       (unsigned long long)ckpt_image_info_pages(info, i),
		       cli_human_bytes(ckpt_image_info_memory_bytes(info, i), hb, sizeof(hb)),
		       (unsigned long long)ckpt_image_info_nr_files(info, i));
	}
	if (ckpt_image_info_has_dump_stats(info))
		print_stats(info, false);
	if (ckpt_image_info_has_restore_stats(info))
		print_stats(info, true);
	ckpt_image_info_free(info);
	return EXIT_OK;
}
