/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the parts of the images reader share (image-file.c, images-detail.c,
 * images-files.c, images.c, images-get.c): the bounds, CRIU's magics and
 * values, what a read keeps, and the read of one image file.
 */
#ifndef CKPT_IMAGES_INT_H
#define CKPT_IMAGES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <protobuf-c/protobuf-c.h>

#include <ckpt/ckpt.h>

/* Bounds of one call. */
#define IMG_FILE_MAX (64u << 20)	  /* one metadata file */
#define IMG_ENTRY_MAX (16u << 20)	  /* one entry */
#define IMG_READ_MAX (512ull << 20)	  /* all metadata read by one call */
#define IMG_ALLOC_MAX ((size_t)256 << 20) /* live protobuf-c allocations */
#define IMG_PROCS_MAX 65536u		  /* processes in pstree.img */
#define IMG_DIRENTS_MAX (1u << 20)	  /* directory entries looked at */
#define IMG_TEXT_MAX 256		  /* comm, run id: longer is cut */
#define IMG_PATH_MAX 4096		  /* a path in files.img: longer is cut */
#define IMG_ARGS_MAX (256u << 10)	  /* argv or environment read from memory */
#define IMG_FILES_MAX (1u << 20)	  /* entries of files.img */
#define IMG_VMAS_MAX (1u << 20)		  /* memory maps of one process */

/* CRIU's magics (criu/include/magic.h). */
#define IMG_COMMON_MAGIC 0x54564319u
#define IMG_SERVICE_MAGIC 0x55105940u
#define INVENTORY_MAGIC 0x58313116u
#define PSTREE_MAGIC 0x50273030u
#define FDINFO_MAGIC 0x56213732u
#define PAGEMAP_MAGIC 0x56084025u
#define CORE_MAGIC 0x55053847u
#define IDS_MAGIC 0x54432030u
#define STATS_MAGIC 0x57093306u
#define FILES_MAGIC 0x56303138u
#define FS_MAGIC 0x51403912u
#define MM_MAGIC 0x57492820u

/* CRIU's fd_types (images/fdinfo.proto). */
enum {
	FD_UND = 0,
	FD_REG = 1,
	FD_PIPE = 2,
	FD_FIFO = 3,
	FD_INETSK = 4,
	FD_UNIXSK = 5,
	FD_EVENTFD = 6,
	FD_EVENTPOLL = 7,
	FD_INOTIFY = 8,
	FD_SIGNALFD = 9,
	FD_PACKETSK = 10,
	FD_TTY = 11,
	FD_FANOTIFY = 12,
	FD_NETLINKSK = 13,
	FD_NS = 14,
	FD_TUNF = 15,
	FD_EXT = 16,
	FD_TIMERFD = 17,
	FD_MEMFD = 18,
	FD_BPFMAP = 19,
	FD_PIDFD = 20,
};

/* vma_entry.status (criu/include/image.h). */
#define VMA_AREA_REGULAR (1u << 0)
#define VMA_AREA_STACK (1u << 1)
#define VMA_AREA_VSYSCALL (1u << 2)
#define VMA_AREA_VDSO (1u << 3)
#define VMA_AREA_HEAP (1u << 5)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define VMA_AREA_SYSVIPC (1u << 10)
#define VMA_AREA_SOCKET (1u << 11)
#define VMA_AREA_VVAR (1u << 12)
#define VMA_AREA_AIORING (1u << 13)
#define VMA_AREA_MEMFD (1u << 14)

/* pagemap_entry.flags (criu/include/pagemap.h). */
#define PE_PARENT (1u << 0)
#define PE_LAZY (1u << 1) /* may be restored lazily; not counted apart */
#define PE_PRESENT (1u << 2)

struct img_proc {
	uint32_t pid, ppid, pgid, sid;
	size_t nr_threads;
	char *comm;
	uint32_t state, exit_code;
	bool has_files_id;
	uint32_t files_id;
	bool has_pagemap;
	uint32_t pages_id;
	uint64_t pages, pages_parent; /* stored here, left in a parent dir */
	uint64_t memory_bytes;
	uint64_t nr_files;

	/* With CKPT_IMAGE_READ_* detail. */
	bool has_argv, has_env;
	char *argv, *env; /* NUL-separated, as in memory */
	size_t argv_len, env_len;
	char *cmdline; /* argv joined with spaces, control characters as '?' */
	bool has_mm;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint32_t exe_id;
	struct pm_run *runs; /* the pagemap, to find argv and env in pages-N.img */
	size_t n_runs;
	struct img_vma *vmas;
	size_t n_vmas;
	bool has_fs;
	uint32_t cwd_id, root_id;
	struct img_fd *fds;
	size_t n_fds;
};

struct pm_run {
	uint64_t vaddr, nr_pages;
	uint64_t page_off; /* its first page's index in pages-N.img, if present */
	bool present;
};

struct img_vma {
	uint64_t start, end, pgoff, shmid;
	uint32_t prot, flags, status;
};

struct img_fd {
	uint32_t fd, type, id;
};

/* One entry of files.img, reduced to what is shown. */
struct img_fent {
	uint32_t id, type;
	char *path; /* regular file or fifo path, unix socket name */
	bool socket;
	uint32_t family, sk_type, proto, state, ino, peer;
	uint32_t sndbuf, rcvbuf;
	uint16_t src_port, dst_port;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint32_t pipe_id;
};

/* The statistics, in the order of stat_descs[] (images-get.c). */
enum {
	ST_FREEZING,
	ST_FROZEN,
	ST_MEMDUMP,
	ST_MEMWRITE,
	ST_PAGES_SCANNED,
	ST_PAGES_SKIPPED_PARENT,
	ST_PAGES_WRITTEN,
	ST_IRMAP,
	ST_PAGES_LAZY,
	ST_PAGE_PIPES,
	ST_PAGE_PIPE_BUFS,
	ST_SHPAGES_SCANNED,
	ST_SHPAGES_SKIPPED_PARENT,
	ST_SHPAGES_WRITTEN,
	ST_PAGES_COMPARED,
	ST_PAGES_SKIPPED_COW,
	ST_FORKING,
	ST_RESTORE,
	ST_PAGES_RESTORED,
	ST_NR
};

struct ckpt_image_info {
	bool has_inventory;
	uint32_t img_version;
	bool has_fdinfo_per_id, fdinfo_per_id;
	bool has_ns_per_id, ns_per_id;
	bool has_lsmtype;
	uint32_t lsmtype;
	bool has_root_cg_set;
	uint32_t root_cg_set;
	bool has_dump_uptime;
	uint64_t dump_uptime;
	bool has_pre_dump_mode;
	uint32_t pre_dump_mode;
	bool has_tcp_close, tcp_close;
	bool has_network_lock_method;
	uint32_t network_lock_method;
	char *dump_criu_run_id;

	size_t n_procs;
	struct img_proc *procs;

	bool has_dump_stats, has_restore_stats;
	bool stat_has[ST_NR];
	uint64_t stat_val[ST_NR];

	uint64_t total_bytes;

	unsigned flags;		/* CKPT_IMAGE_READ_* asked for */
	struct img_fent *files; /* files.img, sorted by id */
	size_t n_files;
};

/* protobuf-c's allocations of one read, from a budget (budget_alloc, image-file.c). */
struct budget {
	size_t live, max;
	bool denied; /* a request over the budget */
	bool oom;    /* malloc failed */
};

/* One read of a directory. */
struct rd {
	int dfd;	     /* the images directory, owned */
	char dir[256];	     /* how messages name it */
	uint64_t read_total; /* metadata bytes read so far */
	struct budget budget;
	ProtobufCAllocator pa;
	unsigned flags; /* CKPT_IMAGE_READ_* */
	ckpt_err *err;
};

/* One image file, read whole. */
struct img_file {
	char name[64];
	uint8_t *buf;
	size_t len, off;
};

/* ---- image-file.c: one read of a directory, one image file ---- */

/*
 * Start a read of dirfd/path (path NULL or "": dirfd itself), its errors into err and its
 * allocations from a fresh budget: 0 or a negative code; img_rd_close it either way.
 */
int img_rd_open(struct rd *rd, int dirfd, const char *path, ckpt_err *err);
void img_rd_close(struct rd *rd);
void img_file_release(struct img_file *f);
/* A whole image file: 0, 1 if it does not exist and !must_exist, or a negative code. */
int img_load(struct rd *rd, const char *name, bool must_exist, struct img_file *f);
/* Check the magic (after an optional common/service head magic). */
int img_magic(struct rd *rd, struct img_file *f, uint32_t want);
/* The next entry of f: 1 with *ret set, 0 at the end of the file, or a negative code. */
int img_next(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
	     ProtobufCMessage **ret);
/* The first entry of a file that must have one. */
int img_first(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
	      ProtobufCMessage **ret);
/*
 * img_load, img_magic and img_first of one file: 0 with *ret (free it, and release f, after),
 * 1 if it does not exist and !must_exist, or a negative code (f released).
 */
int img_load_first(struct rd *rd, const char *name, bool must_exist, uint32_t magic,
		   const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret, struct img_file *f);
/* img_load_first of a process's optional KIND-ID.img (f->name is its name). */
int img_load_proc(struct rd *rd, const char *kind, uint32_t id, uint32_t magic,
		  const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret, struct img_file *f);
/* A message img_next or img_first unpacked, freed (NULL: nothing). */
void img_msg_free(struct rd *rd, void *m);
/* A copy of untrusted text: control characters and DEL become '?', cut at IMG_TEXT_MAX. */
char *img_text_dup(const char *s);

/* ---- images-files.c: the files every read takes ---- */

int img_read_inventory(struct rd *rd, ckpt_image_info *info, bool must_exist);
int img_read_pstree(struct rd *rd, ckpt_image_info *info);
/* One process: core, ids, pagemap, pages, fdinfo, and the detail rd->flags ask for. */
int img_read_proc(struct rd *rd, struct img_proc *p);
/* stats-dump or stats-restore. Returns 0, 1 if there is none, or a negative code. */
int img_read_stats_file(struct rd *rd, ckpt_image_info *info, bool restore);

/* ---- images-detail.c: what CKPT_IMAGE_READ_* asks for ---- */

int img_read_mm(struct rd *rd, struct img_proc *p);
int img_read_fs(struct rd *rd, struct img_proc *p);
/* argv and environment, from the memory the process had them in. */
int img_read_args(struct rd *rd, struct img_proc *p);
/* files.img, into info->files sorted by id. */
int img_read_files(struct rd *rd, ckpt_image_info *info);
void img_fent_free(struct img_fent *e);
/* The entry of files.img with that id, or NULL. */
const struct img_fent *img_fent_find(const ckpt_image_info *info, uint32_t id);

#endif
