/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt: the archive side of checkpoint (--export) and restore (--import), cli/cmd-archive.c. */
#ifndef CKPT_ARCHIVE_CLI_H
#define CKPT_ARCHIVE_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ckpt-cli.h"

/* checkpoint --export FILE [--compress zstd|gzip|none] */
struct cli_export {
	const char *file;     /* NULL: no export */
	const char *compress; /* NULL: zstd */
	int64_t created;      /* the process's start time, read before the dump */
};

/* restore --import FILE [--keep] */
struct cli_import {
	const char *file; /* NULL: no import */
	bool keep;	  /* keep the extracted directory */
	bool done;
	ckpt_archive *archive;
	char images[PATH_MAX]; /* DIR/checkpoint of the extracted archive, for messages */
	int images_fd;	       /* the same, opened through the extraction: what the restore reads */
};

/*
 * checkpoint, before the dump (pid known, nothing dumped yet): check
 * --compress and that FILE does not exist (a pre-dump cannot be exported);
 * note when pid started. Returns
 * 0 or an exit code (usage error or failure, reported).
 */
int cli_export_begin(struct cli *cli, struct cli_export *ex, pid_t pid, bool pre_dump);
/*
 * checkpoint, after a successful dump into images_dir (CRIU's stats in
 * work_dir if not NULL): write the archive. client (may be NULL) tells the
 * CRIU version. Returns 0 or an exit code (reported).
 */
int cli_export_finish(struct cli *cli, struct cli_export *ex, const char *images_dir,
		      const char *work_dir, ckpt_client *client);

/*
 * restore, before it: extract FILE into a fresh 0700 directory inside
 * parent_dir (--image-path; NULL: beside FILE), refuse a container
 * archive, and point *image_path at the extracted images. Returns 0 or an
 * exit code (reported).
 */
int cli_import_begin(struct cli *cli, struct cli_import *im, const char *parent_dir,
		     const char **image_path, int *images_fd);
/*
 * restore, after it (restored: it succeeded): remove the extracted
 * directory unless --keep; after a failure it is kept for a look at
 * restore.log, and said so. Safe to call more than once.
 */
void cli_import_end(struct cli *cli, struct cli_import *im, bool restored);

#endif
