/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt checkpoint --export and ckpt restore --import: archives through the library. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive-cli.h"

int cli_export_begin(struct cli *cli, struct cli_export *ex, pid_t pid, bool pre_dump)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_compression c;
	struct stat st;

	if (!ex->file)
		return ex->compress ? cli_usage_error(cli, "--compress needs --export FILE") : 0;
	if (pre_dump)
		return cli_usage_error(
			cli, "--export: a pre-dump holds memory only; export a full checkpoint");
	if (!*ex->file)
		return cli_usage_error(cli, "--export: an empty file name");
	if (ex->compress && ckpt_compression_from_string(ex->compress, &c, &err) < 0)
		return cli_bad_value(cli, "--compress", ex->compress, &err);
	if (ex->compress && c != CKPT_COMPRESSION_NONE && c != CKPT_COMPRESSION_GZIP &&
	    c != CKPT_COMPRESSION_ZSTD)
		return cli_usage_error(cli, "--compress '%s': expected zstd, gzip or none",
				       ex->compress);
	if (lstat(ex->file, &st) == 0)
		return cli_fail(cli, EXIT_FAILED, "--export '%s': exists; refusing to overwrite it",
				ex->file);
	/* when the process started, asked now while it runs; unknown (0) is no failure */
	if (ckpt_archive_created_time(pid, &ex->created, NULL) < 0)
		ex->created = 0;
	return 0;
}

int cli_export_finish(struct cli *cli, struct cli_export *ex, const char *images_dir,
		      const char *work_dir, ckpt_client *client)
{
	ckpt_archive_write_opts o;
	ckpt_err err = CKPT_ERR_INIT;
	struct timespec start;
	char version[32], hb[32];
	unsigned v;
	struct stat st;

	ckpt_archive_write_opts_init(&o);
	if (!ex->file)
		return 0;
	if (ex->compress)
		ckpt_compression_from_string(ex->compress, &o.compression, NULL);
	o.created_time = ex->created;
	if (client && ckpt_criu_version(client, &v, NULL) == 0) {
		snprintf(version, sizeof(version), "%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
		o.criu_version = version;
	}
	if (work_dir) {
		o.stats_dirfd = AT_FDCWD;
		o.stats_path = work_dir;
	}
	cli_progress(cli, "exporting %s to %s (%s)", images_dir, ex->file,
		     ckpt_compression_name(o.compression));
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (ckpt_archive_write(AT_FDCWD, images_dir, ex->file, &o, &err) < 0) {
		fprintf(stderr,
			"%s %s: the checkpoint is complete in '%s', but the export failed\n",
			cli->prog, cli->cmd, images_dir);
		return cli_report(cli, &err, NULL);
	}
	if (stat(ex->file, &st) == 0)
		cli_progress(cli, "exported to %s in %.3fs (%s)", ex->file, cli_elapsed(&start),
			     cli_human_bytes((uint64_t)st.st_size, hb, sizeof(hb)));
	return 0;
}

int cli_import_begin(struct cli *cli, struct cli_import *im, const char *parent_dir,
		     const char **image_path, int *images_fd)
{
	ckpt_err err = CKPT_ERR_INIT;
	char parent[PATH_MAX];
	struct timespec start;

	if (!im->file)
		return 0;
	if (parent_dir) {
		if (cli_mkdir_p(parent_dir, 0700) < 0)
			return cli_fail(cli, EXIT_FAILED, "--image-path '%s': cannot create it: %s",
					parent_dir, cli_strerror(errno));
		snprintf(parent, sizeof(parent), "%s", parent_dir);
	} else {
		const char *slash = strrchr(im->file, '/');

		if (!slash)
			snprintf(parent, sizeof(parent), ".");
		else if (slash == im->file)
			snprintf(parent, sizeof(parent), "/");
		else
			snprintf(parent, sizeof(parent), "%.*s", (int)(slash - im->file), im->file);
	}
	cli_progress(cli, "importing %s into %s", im->file, parent);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (ckpt_archive_extract(im->file, NULL, parent, 0, &im->archive, &err) < 0)
		return cli_report(cli, &err, NULL);
	if (ckpt_archive_check_restorable(im->archive, &err) < 0) {
		ckpt_archive_remove(im->archive, NULL);
		ckpt_archive_free(im->archive);
		im->archive = NULL;
		return cli_report(cli, &err, NULL);
	}
	snprintf(im->images, sizeof(im->images), "%s/checkpoint", ckpt_archive_dir(im->archive));
	/* the restore reads through the directory the extraction made, never by name */
	if (ckpt_archive_open_images(im->archive, &im->images_fd, &err) < 0) {
		ckpt_archive_remove(im->archive, NULL);
		ckpt_archive_free(im->archive);
		im->archive = NULL;
		return cli_report(cli, &err, NULL);
	}
	cli_progress(cli, "extracted %s into %s in %.3fs", im->file, ckpt_archive_dir(im->archive),
		     cli_elapsed(&start));
	*image_path = im->images;
	*images_fd = im->images_fd;
	return 0;
}

void cli_import_end(struct cli *cli, struct cli_import *im, bool restored)
{
	ckpt_err err = CKPT_ERR_INIT;

	if (im->images_fd >= 0) {
		close(im->images_fd);
		im->images_fd = -1;
	}
	if (!im->archive || im->done)
		goto out;
	im->done = true;
	if (im->keep || !restored) {
		fprintf(stderr, "%s %s: %s the extracted checkpoint in '%s'\n", cli->prog, cli->cmd,
			restored ? "kept" : "the restore failed; kept",
			ckpt_archive_dir(im->archive));
		goto out;
	}
	if (ckpt_archive_remove(im->archive, &err) < 0)
		fprintf(stderr, "%s %s: warning: %s\n", cli->prog, cli->cmd, err.msg);
out:
	if (im->archive && im->done) {
		ckpt_archive_free(im->archive);
		im->archive = NULL;
	}
}
