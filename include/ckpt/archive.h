/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives, the format Podman, CRI-O, containerd and
 * checkpointctl share: write one from an images directory, read and extract
 * any engine's. See ckpt_archive(3).
 */
#ifndef CKPT_CKPT_ARCHIVE_H
#define CKPT_CKPT_ARCHIVE_H

#include <ckpt/images.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A checkpoint leaves its machine as an archive: the layout Podman, CRI-O,
 * containerd/Kubernetes and checkpointctl share (a tar, optionally gzip- or
 * zstd-compressed, holding checkpoint/ with CRIU's images, config.dump and
 * spec.dump (JSON), stats-dump, and for containers rootfs-diff.tar and
 * more). libckpt writes such archives from an images directory and reads
 * any engine's.
 *
 * Archives are untrusted input. Reading one accepts only regular files and
 * directories whose names stay inside the archive (no absolute names, no
 * "..", no links, no devices), counts and sizes are capped (see
 * ckpt_archive_limits), and extraction goes into a fresh 0700 directory
 * that the library creates; it never writes anywhere else. A refused
 * archive is CKPT_EBADIMG (malformed, truncated, hostile entry) or
 * CKPT_ETOOBIG (over a cap), with a message naming the archive, the entry
 * and the cap.
 */

/* Compression of an archive. Values pinned. */
typedef enum ckpt_compression {
	CKPT_COMPRESSION_NONE = 0,
	CKPT_COMPRESSION_GZIP = 1,
	CKPT_COMPRESSION_ZSTD = 2,
	CKPT_COMPRESSION_XZ = 3,    /* read only */
	CKPT_COMPRESSION_BZIP2 = 4, /* read only */
} ckpt_compression;
/* "none", "gzip", "zstd" (also "xz", "bzip2"); anything else is an error naming it. */
CKPT_EXPORT int ckpt_compression_from_string(const char *name, ckpt_compression *out,
					     ckpt_err *err);
CKPT_EXPORT const char *ckpt_compression_name(ckpt_compression c); /* NULL if invalid */

#define CKPT_ARCHIVE_WRITE_VERSION 1
typedef struct ckpt_archive_write_opts {
	unsigned version;	      /* CKPT_ARCHIVE_WRITE_VERSION */
	ckpt_compression compression; /* none, gzip or zstd (the default) */
	int level;		      /* 0: the compressor's default (zstd 3, gzip 6) */
	unsigned threads;	      /* zstd workers; 0: one per online CPU */
	const char *name;	      /* config.dump "name"; NULL: the root process's comm */
	int64_t created_time;	      /* when the process started, Unix seconds; 0: unknown */
	int64_t checkpointed_time;    /* when it was dumped; 0: inventory.img's mtime */
	const char *criu_version;     /* the CRIU that dumped it ("4.2.1"); NULL: not recorded */
	int stats_dirfd;	      /* where stats-dump and dump.log are; -1: the images dir */
	const char *stats_path;	      /* relative to stats_dirfd; NULL: stats_dirfd itself */
	bool overwrite;		      /* replace an existing archive file */
	bool no_fsync;		      /* rename without fsync first (as tar and Podman do): faster,
					 but a crash may leave an incomplete file at the name */
} ckpt_archive_write_opts;
/*
 * Fill opts with the defaults above and this header's version: the way to
 * start one (set what differs after). CKPT_ARCHIVE_WRITE_OPTS_INIT, the same
 * as a positional initializer, is deprecated: a field added later would
 * shift it.
 */
CKPT_EXPORT void ckpt_archive_write_opts_init(ckpt_archive_write_opts *opts);
#define CKPT_ARCHIVE_WRITE_OPTS_INIT                                                           \
	{                                                                                      \
		CKPT_ARCHIVE_WRITE_VERSION, CKPT_COMPRESSION_ZSTD, 0, 0, NULL, 0, 0, NULL, -1, \
			NULL, false, false                                                     \
	}

/*
 * When process pid started, in Unix seconds, for ckpt_archive_write_opts'
 * created_time: read it before the dump, while the process runs.
 * CKPT_ENOTARGET when there is no such process.
 */
CKPT_EXPORT int ckpt_archive_created_time(pid_t pid, int64_t *ret_time, ckpt_err *err);

/*
 * Write the checkpoint in the images directory dirfd/path (path NULL or "":
 * dirfd itself) as an archive at archive_path: checkpoint/ with the images,
 * config.dump and spec.dump saying what a process checkpoint can (the
 * command line read from the images, the times, runtime "libckpt" and its
 * version, the CRIU version), and stats-dump and dump.log at the top level.
 * The archive is written 0600 into a temporary file beside archive_path,
 * fsync'd (unless opts->no_fsync) and renamed into place only when
 * complete; an existing file is refused (CKPT_EEXIST) unless
 * opts->overwrite. opts NULL: the defaults. An incremental checkpoint
 * (pages in a parent directory) is refused.
 */
CKPT_EXPORT int ckpt_archive_write(int dirfd, const char *path, const char *archive_path,
				   const ckpt_archive_write_opts *opts, ckpt_err *err);

#define CKPT_ARCHIVE_LIMITS_VERSION 1
/* Caps on what reading an archive accepts; 0 takes the default. */
typedef struct ckpt_archive_limits {
	unsigned version;	  /* CKPT_ARCHIVE_LIMITS_VERSION */
	uint64_t max_entries;	  /* default 1,000,000 */
	uint64_t max_entry_bytes; /* one entry, default 64 GiB */
	uint64_t max_total_bytes; /* all entries expanded, default 256 GiB */
} ckpt_archive_limits;
/*
 * Fill limits with the defaults (0) and this header's version.
 * CKPT_ARCHIVE_LIMITS_INIT, a positional initializer, is deprecated.
 */
CKPT_EXPORT void ckpt_archive_limits_init(ckpt_archive_limits *limits);
#define CKPT_ARCHIVE_LIMITS_INIT                     \
	{                                            \
		CKPT_ARCHIVE_LIMITS_VERSION, 0, 0, 0 \
	}

typedef struct ckpt_archive ckpt_archive;

/*
 * Read an archive (tar; plain, gzip, zstd, xz or bzip2, told by its magic)
 * through once: check every entry against the rules and caps, and keep its
 * metadata (config.dump, spec.dump) and sizes. limits NULL: the defaults.
 */
CKPT_EXPORT int ckpt_archive_read(const char *archive_path, const ckpt_archive_limits *limits,
				  ckpt_archive **ret, ckpt_err *err);

/* ckpt_archive_extract flags */
enum {
	/* pages-*.img and the *.tar entries become files of their size with no data (sparse) */
	CKPT_ARCHIVE_SKIP_BULK = 1u << 0,
};
/*
 * The same, extracting the archive into a fresh 0700 directory
 * "ckpt-archive-XXXXXX" made inside dest_dir (which must exist); the
 * directory is named by ckpt_archive_dir. dest_dir must be owned by the
 * caller or root and writable by nobody else unless it has the sticky bit
 * (CKPT_EPERM otherwise: another user could swap what is extracted); the
 * directory made is opened once and checked (ours, 0700, empty), and
 * everything is extracted through that fd. On failure nothing is left.
 */
CKPT_EXPORT int ckpt_archive_extract(const char *archive_path, const ckpt_archive_limits *limits,
				     const char *dest_dir, unsigned flags, ckpt_archive **ret,
				     ckpt_err *err);
/* Accepts NULL. Does not remove an extracted directory (see ckpt_archive_remove). */
CKPT_EXPORT void ckpt_archive_free(ckpt_archive *a);
/* Remove the directory ckpt_archive_extract made, with all it holds. */
CKPT_EXPORT int ckpt_archive_remove(ckpt_archive *a, ckpt_err *err);
/* The extracted directory (its images are in checkpoint/), or NULL. */
CKPT_EXPORT const char *ckpt_archive_dir(const ckpt_archive *a);
/*
 * The extracted images (checkpoint/), opened through the directory the
 * extraction made and checked, never reopened by name: *ret_fd (CLOEXEC,
 * the caller's) is for ckpt_opts_set_images_dir_fd, so that a restore reads
 * exactly what was extracted.
 */
CKPT_EXPORT int ckpt_archive_open_images(const ckpt_archive *a, int *ret_fd, ckpt_err *err);

/* Who wrote an archive, as checkpointctl tells it (spec.dump's io.container.manager). Pinned. */
typedef enum ckpt_archive_engine {
	CKPT_ENGINE_UNKNOWN = 0, /* no spec.dump */
	CKPT_ENGINE_LIBCKPT = 1,
	CKPT_ENGINE_PODMAN = 2,
	CKPT_ENGINE_CRIO = 3,
	CKPT_ENGINE_CONTAINERD = 4, /* any other manager, as checkpointctl */
} ckpt_archive_engine;
CKPT_EXPORT ckpt_archive_engine ckpt_archive_get_engine(const ckpt_archive *a);
/* "libckpt", "Podman", "CRI-O", "containerd", "unknown". */
CKPT_EXPORT const char *ckpt_archive_engine_name(ckpt_archive_engine e);
CKPT_EXPORT ckpt_compression ckpt_archive_get_compression(const ckpt_archive *a);

/* Metadata keys. Values pinned. */
typedef enum ckpt_archive_key {
	CKPT_ARCHIVE_NAME = 1, /* the container's (or process's) name */
	CKPT_ARCHIVE_ID = 2,
	CKPT_ARCHIVE_IMAGE = 3,	       /* the container image */
	CKPT_ARCHIVE_RUNTIME = 4,      /* "crun", "runc", "libckpt" */
	CKPT_ARCHIVE_CREATED = 5,      /* RFC 3339 */
	CKPT_ARCHIVE_CHECKPOINTED = 6, /* RFC 3339 */
	CKPT_ARCHIVE_POD = 7,
	CKPT_ARCHIVE_NAMESPACE = 8,
	CKPT_ARCHIVE_CRIU_VERSION = 9,
	CKPT_ARCHIVE_WRITER_VERSION = 10, /* libckpt's version in a libckpt archive */
} ckpt_archive_key;
/* Borrowed from a (control characters replaced), or NULL if the archive does not say. */
CKPT_EXPORT const char *ckpt_archive_get(const ckpt_archive *a, ckpt_archive_key key);

typedef enum ckpt_archive_size {
	CKPT_ARCHIVE_SIZE_CHECKPOINT = 1,  /* regular files under checkpoint/ */
	CKPT_ARCHIVE_SIZE_PAGES = 2,	   /* checkpoint/pages-*.img */
	CKPT_ARCHIVE_SIZE_ROOTFS_DIFF = 3, /* rootfs-diff.tar */
	CKPT_ARCHIVE_SIZE_EXPANDED = 4,	   /* all regular files */
	CKPT_ARCHIVE_SIZE_ENTRIES = 5,	   /* the number of entries */
	CKPT_ARCHIVE_SIZE_FILE = 6,	   /* the archive file itself */
} ckpt_archive_size;
/* The size in bytes (a count for ENTRIES); 0 for an unknown key. */
CKPT_EXPORT uint64_t ckpt_archive_get_size(const ckpt_archive *a, ckpt_archive_size key);

/*
 * Can libckpt restore this archive? 0 for a process checkpoint (libckpt's,
 * or a bare checkpoint/ with inventory.img); CKPT_ENOTSUP for a container
 * checkpoint, naming the engine and the tool that restores it; CKPT_EBADIMG
 * if it holds no checkpoint/inventory.img.
 */
CKPT_EXPORT int ckpt_archive_check_restorable(const ckpt_archive *a, ckpt_err *err);
/* The images of an extracted archive, as ckpt_image_info_read_detail; stats from the top level. */
CKPT_EXPORT int ckpt_archive_image_info(const ckpt_archive *a, unsigned flags,
					ckpt_image_info **ret, ckpt_err *err);
/*
 * JSON: {"archive", "compression", "engine", "name", "id", "image", "runtime",
 * "created", "checkpointed", "pod", "namespace", "criu_version", "sizes": {...},
 * "entries", "mounts": [{"destination", "type", "source"}], "restore_with"}.
 * Free with ckpt_free; NULL on ENOMEM.
 */
CKPT_EXPORT char *ckpt_archive_to_json(const ckpt_archive *a);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_ARCHIVE_H */
