/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a checkpoint holds, read from its images without CRIU: processes,
 * memory, files and CRIU's statistics. See ckpt_image_info(3).
 */
#ifndef CKPT_CKPT_IMAGES_H
#define CKPT_CKPT_IMAGES_H

#include <ckpt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A CRIU images directory read without CRIU: the image format version,
 * the processes (pid, comm, threads, memory pages, open descriptors) and
 * the statistics CRIU wrote (stats-dump, stats-restore). The images do not
 * record which CRIU release wrote them.
 *
 * Images are untrusted input. Files are opened with O_NOFOLLOW and must be
 * regular files; each is capped at 64 MiB and each entry at 16 MiB, and the
 * total work of one call is bounded. A file that is missing (when needed),
 * truncated, of the wrong magic, too big or not decodable is CKPT_EBADIMG
 * with a message naming the file (and the offset, or the magic found and
 * expected). A directory that cannot be used as such, or an image file that
 * is a symlink or not a regular file, is CKPT_EIMAGES.
 */
typedef struct ckpt_image_info ckpt_image_info;

/*
 * Read the images directory at path, relative to dirfd (AT_FDCWD or an open
 * directory, borrowed); path NULL or "" reads dirfd itself. inventory.img,
 * pstree.img and core-PID.img of every process must exist; a process's
 * ids, pagemap, pages and fdinfo images may be absent (counted as zero).
 */
CKPT_EXPORT int ckpt_image_info_read(int dirfd, const char *path, ckpt_image_info **ret,
				     ckpt_err *err);
/*
 * Read only CRIU's statistics (stats-dump, stats-restore) from a directory:
 * CRIU writes them into its work directory, the images directory unless
 * another work dir was set. Neither file there is CKPT_EBADIMG. The result
 * has no processes, and version 0 unless an inventory.img is there too.
 */
CKPT_EXPORT int ckpt_image_info_read_stats(int dirfd, const char *path, ckpt_image_info **ret,
					   ckpt_err *err);
/* Accepts NULL. */
CKPT_EXPORT void ckpt_image_info_free(ckpt_image_info *info);

/* inventory.img's img_version: CRIU's image format (1, 2 = v1.1, 3 = v1.2); 0 if none. */
CKPT_EXPORT uint32_t ckpt_image_info_version(const ckpt_image_info *info);
/* The sum of the sizes of the regular *.img files in the directory, in bytes. */
CKPT_EXPORT uint64_t ckpt_image_info_total_bytes(const ckpt_image_info *info);

/*
 * Processes, indexed 0..n-1 in pstree.img order (the root first). For an
 * index out of range the getters return -1 (pid, ppid), NULL (comm) or 0.
 */
CKPT_EXPORT size_t ckpt_image_info_nr_processes(const ckpt_image_info *info);
CKPT_EXPORT pid_t ckpt_image_info_pid(const ckpt_image_info *info, size_t i);
/* 0 for the root of the dumped tree. */
CKPT_EXPORT pid_t ckpt_image_info_ppid(const ckpt_image_info *info, size_t i);
/* Borrowed from info; control characters replaced by '?'. */
CKPT_EXPORT const char *ckpt_image_info_comm(const ckpt_image_info *info, size_t i);

/* A task's state when dumped; values are CRIU's and pinned. */
typedef enum ckpt_task_state {
	CKPT_TASK_UNKNOWN = 0,
	CKPT_TASK_ALIVE = 1,
	CKPT_TASK_DEAD = 2, /* a zombie: CRIU records zombies so */
	CKPT_TASK_STOPPED = 3,
	CKPT_TASK_ZOMBIE = 6,
} ckpt_task_state;
/* CKPT_TASK_UNKNOWN also for a value this library does not know. */
CKPT_EXPORT ckpt_task_state ckpt_image_info_state(const ckpt_image_info *info, size_t i);
/* What CRIU recorded: a dead task's wait status (exit(7) is 0x700), else 0. */
CKPT_EXPORT uint32_t ckpt_image_info_exit_code(const ckpt_image_info *info, size_t i);
CKPT_EXPORT size_t ckpt_image_info_nr_threads(const ckpt_image_info *info, size_t i);
/* Pages of memory stored in this directory (not those left in a parent). */
CKPT_EXPORT uint64_t ckpt_image_info_pages(const ckpt_image_info *info, size_t i);
/* Bytes of memory stored: the size of the process's pages-N.img. */
CKPT_EXPORT uint64_t ckpt_image_info_memory_bytes(const ckpt_image_info *info, size_t i);
/* Open file descriptors (the entries of its fdinfo-N.img). */
CKPT_EXPORT uint64_t ckpt_image_info_nr_files(const ckpt_image_info *info, size_t i);

/* Statistics keys (values pinned: CRIU's field number, +100 for restore). Times in µs. */
typedef enum ckpt_image_stat {
	/* stats-dump */
	CKPT_STAT_FREEZING_TIME = 1,
	CKPT_STAT_FROZEN_TIME = 2,
	CKPT_STAT_MEMDUMP_TIME = 3,
	CKPT_STAT_MEMWRITE_TIME = 4,
	CKPT_STAT_PAGES_SCANNED = 5,
	CKPT_STAT_PAGES_SKIPPED_PARENT = 6,
	CKPT_STAT_PAGES_WRITTEN = 7,
	CKPT_STAT_IRMAP_RESOLVE_TIME = 8,
	CKPT_STAT_PAGES_LAZY = 9,
	CKPT_STAT_PAGE_PIPES = 10,
	CKPT_STAT_PAGE_PIPE_BUFS = 11,
	CKPT_STAT_SHPAGES_SCANNED = 12,
	CKPT_STAT_SHPAGES_SKIPPED_PARENT = 13,
	CKPT_STAT_SHPAGES_WRITTEN = 14,
	/* stats-restore */
	CKPT_STAT_PAGES_COMPARED = 101,
	CKPT_STAT_PAGES_SKIPPED_COW = 102,
	CKPT_STAT_FORKING_TIME = 103,
	CKPT_STAT_RESTORE_TIME = 104,
	CKPT_STAT_PAGES_RESTORED = 105,
} ckpt_image_stat;

CKPT_EXPORT bool ckpt_image_info_has_dump_stats(const ckpt_image_info *info);
CKPT_EXPORT bool ckpt_image_info_has_restore_stats(const ckpt_image_info *info);
/*
 * One statistic into *ret_value: 0; CKPT_ENOTSUP if the images do not hold
 * it (no stats file, or a CRIU that did not record it); CKPT_EINVAL for a
 * key unknown to this library.
 */
CKPT_EXPORT int ckpt_image_info_stat(const ckpt_image_info *info, ckpt_image_stat key,
				     uint64_t *ret_value);
/* The key's name ("frozen_time_us"), or NULL for an unknown key. */
CKPT_EXPORT const char *ckpt_image_stat_name(ckpt_image_stat key);

/* JSON rendering (json-c) of all of the above; free with ckpt_free. NULL on ENOMEM. */
CKPT_EXPORT char *ckpt_image_info_to_json(const ckpt_image_info *info);

/* More of a checkpoint than ckpt_image_info_read reads (flags for ckpt_image_info_read_detail). */
enum {
	CKPT_IMAGE_READ_CMDLINE = 1u << 0, /* argv of each process, from its memory pages */
	CKPT_IMAGE_READ_ENV = 1u << 1,	   /* environment of each process, from its memory */
	CKPT_IMAGE_READ_FILES = 1u << 2,   /* open files, cwd, root, exe (files.img, fs, mm) */
	CKPT_IMAGE_READ_SOCKETS = 1u << 3, /* sockets of each process */
	CKPT_IMAGE_READ_MEMS = 1u << 4,	   /* memory maps (as `crit x DIR mems`) */
	CKPT_IMAGE_READ_ALL = 0x1f,
};
/*
 * ckpt_image_info_read plus the details asked for in flags; they appear in
 * ckpt_image_info_to_json ("cmdline", "environment", "files", "sockets",
 * "exe" and "mems" of each process). Page counts are read from CRIU 4.2's
 * pagemap field and from the one older CRIU used. argv and the environment
 * are read only as far as these images hold the pages (at most 256 KiB).
 */
CKPT_EXPORT int ckpt_image_info_read_detail(int dirfd, const char *path, unsigned flags,
					    ckpt_image_info **ret, ckpt_err *err);
/* argv joined with spaces (read with CKPT_IMAGE_READ_CMDLINE), or NULL if not read. */
CKPT_EXPORT const char *ckpt_image_info_cmdline(const ckpt_image_info *info, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_IMAGES_H */
