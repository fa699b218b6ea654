/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the parts of the checkpoint archive code share (archive.c,
 * archive-write.c, archive-read.c, archive-meta.c): the bounds, the layout,
 * an archive read and one pass over it.
 *
 * The layout is the one Podman, CRI-O, containerd and checkpointctl share:
 * checkpoint/ (an explicit directory entry, then CRIU's images), config.dump
 * and spec.dump (JSON), stats-dump and dump.log at the top level.
 */
#ifndef CKPT_ARCHIVE_COMMON_H
#define CKPT_ARCHIVE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ckpt/ckpt.h>

struct archive;

#define AR_MAX_ENTRIES 1000000ull
#define AR_MAX_ENTRY (64ull << 30)
#define AR_MAX_TOTAL (256ull << 30)
#define AR_META_MAX (16u << 20) /* config.dump, spec.dump */
#define AR_DEPTH_MAX 32		/* directory levels of an entry */
#define AR_TEXT_MAX 512		/* a metadata value: longer is cut */
#define AR_MOUNTS_MAX 4096
#define AR_BUF (1u << 20)	     /* copy buffer */
#define AR_FREE_MARGIN (64ull << 20) /* left free on the target filesystem */

#define CHECKPOINT_DIR "checkpoint"

struct mount_ent {
	char *destination, *type, *source;
};

#define META_NR ((int)CKPT_ARCHIVE_WRITER_VERSION + 1)

struct ckpt_archive {
	char *path;
	ckpt_compression compression;
	ckpt_archive_engine engine;
	char *manager; /* io.container.manager as found */
	char *meta[META_NR];
	uint64_t size_checkpoint, size_pages, size_rootfs, size_total, n_entries, size_file;
	bool has_checkpoint_dir, has_inventory, has_config, has_spec;
	struct mount_ent *mounts;
	size_t n_mounts;
	/* extraction */
	int parent_fd; /* the dest dir, dup'd; -1 if not extracted */
	int root_fd;   /* the directory made in it, opened once and checked; -1 if none */
	char *name;    /* the directory made in it */
	char *dir;     /* dest/name */
};

/* One pass over an archive. */
struct reader {
	ckpt_archive *a;
	struct archive *ar;
	ckpt_archive_limits lim;
	unsigned flags;
	bool extract;
	int root_fd;	     /* the fresh directory, when extracting */
	uint64_t free_bytes; /* on its filesystem when we started */
	uint64_t written;    /* data bytes written (not sparse ones) */
	char *config, *spec; /* raw JSON */
	size_t config_len, spec_len;
	char *buf;
	char last[256]; /* the last entry's name, for messages about the stream */
	ckpt_err *err;
};

/* config.dump and spec.dump of the pass, interpreted into r->a (archive-meta.c). */
int ar_interpret(struct reader *r);

#endif
