/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: what a CRIU images directory holds (`ckpt inspect`),
 * read with protobuf-c from our own minimal description of CRIU's image
 * files (proto/images/).
 *
 * An image file is a magic, then entries. The magic is one 32-bit word for
 * inventory.img; other files (image format v1.1 and later) put
 * IMG_COMMON_MAGIC, or IMG_SERVICE_MAGIC for the stats files, in front of
 * their own. Each entry is a 32-bit size, in the dumping host's byte order
 * as CRIU writes it, followed by that many bytes of protobuf. pages-N.img is
 * raw memory without a magic; only its size is used.
 *
 * Images are untrusted: every file is opened O_NOFOLLOW|O_NONBLOCK and must
 * be regular, sizes are capped (file, entry, all the metadata read by one
 * call), and protobuf-c allocates from a budget, so that no input can make
 * a call read or allocate without bound.
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "images.h"
#include "archive-int.h"
#include "jsonw.h"
#include "images/core.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/files.pb-c.h"
#include "images/fs.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/inventory.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/stats.pb-c.h"

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

/* The statistics, in the order of stat_descs[]. */
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

static const struct stat_desc {
	ckpt_image_stat key;
	const char *name;
	bool restore;
} stat_descs[ST_NR] = {
	[ST_FREEZING] = { CKPT_STAT_FREEZING_TIME, "freezing_time_us", false },
	[ST_FROZEN] = { CKPT_STAT_FROZEN_TIME, "frozen_time_us", false },
	[ST_MEMDUMP] = { CKPT_STAT_MEMDUMP_TIME, "memdump_time_us", false },
	[ST_MEMWRITE] = { CKPT_STAT_MEMWRITE_TIME, "memwrite_time_us", false },
	[ST_PAGES_SCANNED] = { CKPT_STAT_PAGES_SCANNED, "pages_scanned", false },
	[ST_PAGES_SKIPPED_PARENT] = { CKPT_STAT_PAGES_SKIPPED_PARENT, "pages_skipped_parent",
				      false },
	[ST_PAGES_WRITTEN] = { CKPT_STAT_PAGES_WRITTEN, "pages_written", false },
	[ST_IRMAP] = { CKPT_STAT_IRMAP_RESOLVE_TIME, "irmap_resolve_time_us", false },
	[ST_PAGES_LAZY] = { CKPT_STAT_PAGES_LAZY, "pages_lazy", false },
	[ST_PAGE_PIPES] = { CKPT_STAT_PAGE_PIPES, "page_pipes", false },
	[ST_PAGE_PIPE_BUFS] = { CKPT_STAT_PAGE_PIPE_BUFS, "page_pipe_bufs", false },
	[ST_SHPAGES_SCANNED] = { CKPT_STAT_SHPAGES_SCANNED, "shpages_scanned", false },
	[ST_SHPAGES_SKIPPED_PARENT] = { CKPT_STAT_SHPAGES_SKIPPED_PARENT, "shpages_skipped_parent",
					false },
	[ST_SHPAGES_WRITTEN] = { CKPT_STAT_SHPAGES_WRITTEN, "shpages_written", false },
	[ST_PAGES_COMPARED] = { CKPT_STAT_PAGES_COMPARED, "pages_compared", true },
	[ST_PAGES_SKIPPED_COW] = { CKPT_STAT_PAGES_SKIPPED_COW, "pages_skipped_cow", true },
	[ST_FORKING] = { CKPT_STAT_FORKING_TIME, "forking_time_us", true },
	[ST_RESTORE] = { CKPT_STAT_RESTORE_TIME, "restore_time_us", true },
	[ST_PAGES_RESTORED] = { CKPT_STAT_PAGES_RESTORED, "pages_restored", true },
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

/* ---- protobuf-c allocations from a budget ---- */

union budget_hdr {
	size_t size;
	max_align_t align;
};

struct budget {
	size_t live, max;
	bool denied; /* a request over the budget */
	bool oom;    /* malloc failed */
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	union budget_hdr *h;

	if (size > b->max - b->live || size > SIZE_MAX - sizeof(*h)) {
		b->denied = true;
		return NULL;
	}
	h = malloc(sizeof(*h) + size);
	if (!h) {
		b->oom = true;
		return NULL;
	}
	h->size = size;
	b->live += size;
	return h + 1;
}

static void budget_free(void *data, void *p)
{
	struct budget *b = data;
	union budget_hdr *h;

	if (!p)
		return;
	h = (union budget_hdr *)p - 1;
	assert(b->live >= h->size);
	b->live -= h->size;
	free(h);
}

/* ---- one read of a directory ---- */

struct rd {
	int dfd;	     /* the images directory, owned */
	char dir[256];	     /* how messages name it */
	uint64_t read_total; /* metadata bytes read so far */
	struct budget budget;
	ProtobufCAllocator pa;
	unsigned flags; /* CKPT_IMAGE_READ_* */
	ckpt_err *err;
};

struct img_file {
	char name[64];
	uint8_t *buf;
	size_t len, off;
};

static void img_file_release(struct img_file *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
}

/*
 * Open and read a whole image file. Returns 0, 1 if it does not exist and
 * !must_exist, or a negative code.
 */
static int img_load(struct rd *rd, const char *name, bool must_exist, struct img_file *f)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t got = 0;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);

	fd = openat(rd->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			if (!must_exist)
				return 1;
			return err_set(rd->err, CKPT_EBADIMG, "%s/%s: missing", rd->dir, name);
		}
		if (errno == ELOOP)
			return err_set(rd->err, CKPT_EIMAGES, "%s/%s: is a symlink, refused",
				       rd->dir, name);
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s/%s: cannot open", rd->dir, name);
	}
	if (fstat(fd, &st) < 0)
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s/%s: fstat", rd->dir, name);
	if (!S_ISREG(st.st_mode))
		return err_set(rd->err, CKPT_EIMAGES, "%s/%s: not a regular file", rd->dir, name);
	if (st.st_size > IMG_FILE_MAX)
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: %" PRIu64 " bytes, over the %u MiB cap of an image file",
			       rd->dir, name, (uint64_t)st.st_size, IMG_FILE_MAX >> 20);
	if (rd->read_total + (uint64_t)st.st_size > IMG_READ_MAX)
		return err_set(rd->err, CKPT_ETOOBIG,
			       "%s/%s: over %llu MiB of image metadata, more than one read takes",
			       rd->dir, name, IMG_READ_MAX >> 20);

	f->buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!f->buf)
		return err_set(rd->err, CKPT_ENOMEM, "%s/%s: out of memory", rd->dir, name);
	/* Read at most what fstat said: a file growing meanwhile is cut there. */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, f->buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			img_file_release(f);
			return err_sys(rd->err, CKPT_EIMAGES, e, "%s/%s: read", rd->dir, name);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	f->len = got;
	rd->read_total += got;
	return 0;
}

static const char *magic_name(uint32_t magic)
{
	switch (magic) {
	case INVENTORY_MAGIC: return "inventory";
	case PSTREE_MAGIC: return "pstree";
	case FDINFO_MAGIC: return "fdinfo";
	case PAGEMAP_MAGIC: return "pagemap";
	case CORE_MAGIC: return "core";
	case IDS_MAGIC: return "ids";
	case STATS_MAGIC: return "stats";
	default: return "?";
	}
}

static bool take_u32(struct img_file *f, uint32_t *v)
{
	if (f->len - f->off < sizeof(*v))
		return false;
	memcpy(v, f->buf + f->off, sizeof(*v));
	f->off += sizeof(*v);
	return true;
}

/* Check the magic (after an optional common/service head magic). */
static int img_magic(struct rd *rd, struct img_file *f, uint32_t want)
{
	uint32_t m;

	if (!take_u32(f, &m))
		goto short_file;
	if (m == IMG_COMMON_MAGIC || m == IMG_SERVICE_MAGIC) {
		if (!take_u32(f, &m))
			goto short_file;
	}
	if (m != want)
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: bad magic 0x%08" PRIx32 ", expected 0x%08" PRIx32 " (%s)",
			       rd->dir, f->name, m, want, magic_name(want));
	return 0;

short_file:
	return err_set(rd->err, CKPT_EBADIMG,
		       "%s/%s: truncated at offset %zu: no magic (%zu bytes)", rd->dir, f->name,
		       f->off, f->len);
}

/*
 * The next entry of f as a message of descriptor d: 1 with *ret set, 0 at
 * the end of the file, or a negative code.
 */
static int img_next(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
		    ProtobufCMessage **ret)
{
	size_t at = f->off, left;
	uint32_t size;
	ProtobufCMessage *m;

	if (f->off == f->len)
		return 0;
	if (!take_u32(f, &size))
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: truncated entry at offset %zu: %zu bytes, no size", rd->dir,
			       f->name, at, f->len - at);
	if (size > IMG_ENTRY_MAX)
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: entry at offset %zu claims %" PRIu32
			       " bytes, over the %u MiB cap of an entry",
			       rd->dir, f->name, at, size, IMG_ENTRY_MAX >> 20);
	left = f->len - f->off;
	if (size > left)
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: truncated entry at offset %zu: %" PRIu32
			       " bytes announced, %zu left",
			       rd->dir, f->name, at, size, left);

	rd->budget.denied = rd->budget.oom = false;
	m = protobuf_c_message_unpack(d, &rd->pa, size, f->buf + f->off);
	if (!m) {
		if (rd->budget.oom)
			return err_set(rd->err, CKPT_ENOMEM, "%s/%s: out of memory", rd->dir,
				       f->name);
		return err_set(rd->err, CKPT_EBADIMG,
			       "%s/%s: entry at offset %zu is not a valid %s%s", rd->dir, f->name,
			       at, d->short_name,
			       rd->budget.denied ? " (over the memory cap)" : "");
	}
	f->off += size;
	*ret = m;
	return 1;
}

static void msg_free(struct rd *rd, void *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, &rd->pa);
}

/* The first entry of a file that must have one. */
static int img_first(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
		     ProtobufCMessage **ret)
{
	int r = img_next(rd, f, d, ret);

	if (r == 0)
		return err_set(rd->err, CKPT_EBADIMG, "%s/%s: no entry", rd->dir, f->name);
	return r < 0 ? r : 0;
}

/* A copy of untrusted text: control characters and DEL become '?', cut at IMG_TEXT_MAX. */
static char *text_dup(const char *s)
{
	size_t n = strnlen(s, IMG_TEXT_MAX), i;
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		d[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	d[n] = '\0';
	return d;
}

/* ---- the files ---- */

static int read_inventory(struct rd *rd, ckpt_image_info *info, bool must_exist)
{
	struct img_file f;
	CkptImg__Inventory *inv = NULL;
	int r;

	r = img_load(rd, "inventory.img", must_exist, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, INVENTORY_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__inventory__descriptor, (ProtobufCMessage **)&inv);
	if (r < 0)
		goto out;
	if (!inv->has_img_version) {
		r = err_set(rd->err, CKPT_EBADIMG, "%s/inventory.img: no img_version", rd->dir);
		goto out;
	}
	info->has_inventory = true;
	info->img_version = inv->img_version;
	info->has_fdinfo_per_id = inv->has_fdinfo_per_id;
	info->fdinfo_per_id = inv->fdinfo_per_id;
	info->has_ns_per_id = inv->has_ns_per_id;
	info->ns_per_id = inv->ns_per_id;
	info->has_lsmtype = inv->has_lsmtype;
	info->lsmtype = inv->lsmtype;
	info->has_root_cg_set = inv->has_root_cg_set;
	info->root_cg_set = inv->root_cg_set;
	info->has_dump_uptime = inv->has_dump_uptime;
	info->dump_uptime = inv->dump_uptime;
	info->has_pre_dump_mode = inv->has_pre_dump_mode;
	info->pre_dump_mode = inv->pre_dump_mode;
	info->has_tcp_close = inv->has_tcp_close;
	info->tcp_close = inv->tcp_close;
	info->has_network_lock_method = inv->has_network_lock_method;
	info->network_lock_method = inv->network_lock_method;
	if (inv->dump_criu_run_id) {
		info->dump_criu_run_id = text_dup(inv->dump_criu_run_id);
		if (!info->dump_criu_run_id) {
			r = err_set(rd->err, CKPT_ENOMEM, "inventory: out of memory");
			goto out;
		}
	}
	r = 0;
out:
	msg_free(rd, inv);
	img_file_release(&f);
	return r;
}

static int read_pstree(struct rd *rd, ckpt_image_info *info)
{
	struct img_file f;
	size_t cap = 0;
	int r;

	r = img_load(rd, "pstree.img", true, &f);
	if (r < 0)
		return r;
	r = img_magic(rd, &f, PSTREE_MAGIC);
	if (r < 0)
		goto out;
	for (;;) {
		CkptImg__Pstree *e = NULL;
		struct img_proc *p;
		size_t at = f.off;

		r = img_next(rd, &f, &ckpt_img__pstree__descriptor, (ProtobufCMessage **)&e);
		if (r <= 0)
			break;
		if (!e->has_pid || e->pid == 0 || e->pid > INT32_MAX || e->ppid > INT32_MAX) {
			r = err_set(rd->err, CKPT_EBADIMG,
				    "%s/pstree.img: entry at offset %zu: no valid pid", rd->dir,
				    at);
			msg_free(rd, e);
			break;
		}
		if (info->n_procs == IMG_PROCS_MAX) {
			r = err_set(rd->err, CKPT_EBADIMG, "%s/pstree.img: more than %u processes",
				    rd->dir, IMG_PROCS_MAX);
			msg_free(rd, e);
			break;
		}
		if (info->n_procs == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct img_proc *np = reallocarray(info->procs, ncap, sizeof(*np));

			if (!np) {
				r = err_set(rd->err, CKPT_ENOMEM, "pstree: out of memory");
				msg_free(rd, e);
				break;
			}
			info->procs = np;
			cap = ncap;
		}
		p = &info->procs[info->n_procs++];
		memset(p, 0, sizeof(*p));
		p->pid = e->pid;
		p->ppid = e->ppid;
		p->pgid = e->pgid;
		p->sid = e->sid;
		p->nr_threads = e->n_threads;
		msg_free(rd, e);
	}
	if (r == 0 && info->n_procs == 0)
		r = err_set(rd->err, CKPT_EBADIMG, "%s/pstree.img: no processes", rd->dir);
out:
	img_file_release(&f);
	return r < 0 ? r : 0;
}

static int read_core(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	CkptImg__Core *core = NULL;
	int r;

	snprintf(name, sizeof(name), "core-%" PRIu32 ".img", p->pid);
	r = img_load(rd, name, true, &f);
	if (r < 0)
		return r;
	r = img_magic(rd, &f, CORE_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__core__descriptor, (ProtobufCMessage **)&core);
	if (r < 0)
		goto out;
	if (!core->tc) {
		r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: no task core", rd->dir, name);
		goto out;
	}
	p->comm = text_dup(core->tc->comm ? core->tc->comm : "");
	if (!p->comm) {
		r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	p->state = core->tc->task_state;
	p->exit_code = core->tc->exit_code;
	if (core->ids && core->ids->has_files_id) {
		p->has_files_id = true;
		p->files_id = core->ids->files_id;
	}
	r = 0;
out:
	msg_free(rd, core);
	img_file_release(&f);
	return r;
}

static int read_ids(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	CkptImg__KobjIds *ids = NULL;
	int r;

	snprintf(name, sizeof(name), "ids-%" PRIu32 ".img", p->pid);
	r = img_load(rd, name, false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, IDS_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__kobj_ids__descriptor, (ProtobufCMessage **)&ids);
	if (r < 0)
		goto out;
	if (ids->has_files_id) {
		p->has_files_id = true;
		p->files_id = ids->files_id;
	}
out:
	msg_free(rd, ids);
	img_file_release(&f);
	return r;
}

static int read_pagemap(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	CkptImg__PagemapHead *head = NULL;
	int r;

	snprintf(name, sizeof(name), "pagemap-%" PRIu32 ".img", p->pid);
	r = img_load(rd, name, false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, PAGEMAP_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__pagemap_head__descriptor, (ProtobufCMessage **)&head);
	if (r < 0)
		goto out;
	if (!head->has_pages_id) {
		r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: no pages_id", rd->dir, name);
		goto out;
	}
	p->has_pagemap = true;
	p->pages_id = head->pages_id;
	for (;;) {
		CkptImg__PagemapEntry *e = NULL;
		uint64_t nr, vaddr;
		uint32_t flags;
		size_t at = f.off;
		bool over = false;

		r = img_next(rd, &f, &ckpt_img__pagemap_entry__descriptor, (ProtobufCMessage **)&e);
		if (r <= 0)
			break;
		/* As CRIU reads entries of older images. */
		nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
		vaddr = e->vaddr;
		flags = e->flags;
		if (e->has_in_parent && e->in_parent)
			flags |= PE_PARENT;
		else if (!e->has_flags)
			flags = PE_PRESENT;
		msg_free(rd, e);

		if (flags & PE_PRESENT)
			over |= __builtin_add_overflow(p->pages, nr, &p->pages);
		if (flags & PE_PARENT)
			over |= __builtin_add_overflow(p->pages_parent, nr, &p->pages_parent);
		if (over) {
			r = err_set(rd->err, CKPT_EBADIMG,
				    "%s/%s: entry at offset %zu: the page count overflows", rd->dir,
				    name, at);
			break;
		}
		if (rd->flags & (CKPT_IMAGE_READ_CMDLINE | CKPT_IMAGE_READ_ENV)) {
			struct pm_run *nr_runs =
				reallocarray(p->runs, p->n_runs + 1, sizeof(*p->runs));

			if (!nr_runs) {
				r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
				break;
			}
			p->runs = nr_runs;
			p->runs[p->n_runs++] = (struct pm_run){
				.vaddr = vaddr,
				.nr_pages = nr,
				.present = flags & PE_PRESENT,
				.page_off = p->pages - ((flags & PE_PRESENT) ? nr : 0),
			};
		}
	}
out:
	msg_free(rd, head);
	img_file_release(&f);
	return r < 0 ? r : 0;
}

/* Size of pages-N.img (raw memory, not read); 0 if there is none. */
static int stat_pages(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "pages-%" PRIu32 ".img", p->pages_id);
	if (fstatat(rd->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s/%s: fstatat", rd->dir, name);
	}
	if (S_ISLNK(st.st_mode))
		return err_set(rd->err, CKPT_EIMAGES, "%s/%s: is a symlink, refused", rd->dir,
			       name);
	if (!S_ISREG(st.st_mode))
		return err_set(rd->err, CKPT_EIMAGES, "%s/%s: not a regular file", rd->dir, name);
	p->memory_bytes = (uint64_t)st.st_size;
	return 0;
}

static int read_fdinfo(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	int r;

	snprintf(name, sizeof(name), "fdinfo-%" PRIu32 ".img", p->files_id);
	r = img_load(rd, name, false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, FDINFO_MAGIC);
	if (r < 0)
		goto out;
	for (;;) {
		CkptImg__Fdinfo *e = NULL;

		r = img_next(rd, &f, &ckpt_img__fdinfo__descriptor, (ProtobufCMessage **)&e);
		if (r <= 0)
			break;
		if (rd->flags & (CKPT_IMAGE_READ_FILES | CKPT_IMAGE_READ_SOCKETS)) {
			struct img_fd *nf = reallocarray(p->fds, p->n_fds + 1, sizeof(*p->fds));

			if (!nf) {
				msg_free(rd, e);
				r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
				break;
			}
			p->fds = nf;
			p->fds[p->n_fds++] = (struct img_fd){ e->fd, e->type, e->id };
		}
		msg_free(rd, e);
		p->nr_files++;
	}
out:
	img_file_release(&f);
	return r < 0 ? r : 0;
}

/* ---- detail: memory maps, argv and environment, cwd and root, files.img ---- */

static int read_mm(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	CkptImg__MmEntry *mm = NULL;
	int r;

	snprintf(name, sizeof(name), "mm-%" PRIu32 ".img", p->pid);
	r = img_load(rd, name, false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, MM_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__mm_entry__descriptor, (ProtobufCMessage **)&mm);
	if (r < 0)
		goto out;
	p->has_mm = true;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	p->env_start = mm->mm_env_start;
	p->env_end = mm->mm_env_end;
	p->exe_id = mm->exe_file_id;
	if ((rd->flags & CKPT_IMAGE_READ_MEMS) && mm->n_vmas) {
		if (mm->n_vmas > IMG_VMAS_MAX) {
			r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: more than %u memory maps",
				    rd->dir, name, IMG_VMAS_MAX);
			goto out;
		}
		p->vmas = calloc(mm->n_vmas, sizeof(*p->vmas));
		if (!p->vmas) {
			r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
			goto out;
		}
		for (size_t i = 0; i < mm->n_vmas; i++) {
			const CkptImg__VmaEntry *v = mm->vmas[i];

			p->vmas[i] = (struct img_vma){ v->start, v->end,   v->pgoff, v->shmid,
						       v->prot,	 v->flags, v->status };
		}
		p->n_vmas = mm->n_vmas;
	}
out:
	msg_free(rd, mm);
	img_file_release(&f);
	return r;
}

static int read_fs(struct rd *rd, struct img_proc *p)
{
	char name[64];
	struct img_file f;
	CkptImg__FsEntry *fs = NULL;
	int r;

	snprintf(name, sizeof(name), "fs-%" PRIu32 ".img", p->pid);
	r = img_load(rd, name, false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, FS_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__fs_entry__descriptor, (ProtobufCMessage **)&fs);
	if (r < 0)
		goto out;
	p->has_fs = true;
	p->cwd_id = fs->cwd_id;
	p->root_id = fs->root_id;
out:
	msg_free(rd, fs);
	img_file_release(&f);
	return r;
}

/*
 * Copy [start, end) of the process's memory out of pages-N.img, as far as
 * the pages are stored here (not in a parent, not lazy), at most
 * IMG_ARGS_MAX bytes. *ret is NULL when nothing could be read.
 */
static int read_mem(struct rd *rd, struct img_proc *p, uint64_t start, uint64_t end, char **ret,
		    size_t *ret_len)
{
	const uint64_t psz = (uint64_t)sysconf(_SC_PAGESIZE);
	char name[64];
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *buf;
	size_t len = 0, want;
	uint64_t at = start;

	*ret = NULL;
	*ret_len = 0;
	if (!p->has_pagemap || end <= start)
		return 0;
	want = end - start > IMG_ARGS_MAX ? IMG_ARGS_MAX : (size_t)(end - start);
	snprintf(name, sizeof(name), "pages-%" PRIu32 ".img", p->pages_id);
	fd = openat(rd->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return err_set(rd->err, CKPT_EIMAGES, "%s/%s: is a symlink, refused",
				       rd->dir, name);
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s/%s: cannot open", rd->dir, name);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(rd->err, CKPT_EIMAGES, "%s/%s: not a regular file", rd->dir, name);
	buf = malloc(want);
	if (!buf)
		return err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
	while (len < want) {
		const struct pm_run *run = NULL;
		uint64_t off, chunk;
		ssize_t n;

		for (size_t i = 0; i < p->n_runs; i++) {
			const struct pm_run *c = &p->runs[i];

			if (at >= c->vaddr && c->nr_pages <= (UINT64_MAX - c->vaddr) / psz &&
			    at < c->vaddr + c->nr_pages * psz) {
				run = c;
				break;
			}
		}
		if (!run || !run->present)
			break;
		if (run->page_off > UINT64_MAX / psz)
			break;
		off = run->page_off * psz + (at - run->vaddr);
		chunk = run->vaddr + run->nr_pages * psz - at;
		if (chunk > want - len)
			chunk = want - len;
		if (off >= (uint64_t)st.st_size || off > INT64_MAX)
			break;
		n = pread(fd, buf + len, (size_t)chunk, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		at += (uint64_t)n;
	}
	if (!len) {
		free(buf);
		return 0;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static bool memchr_nonzero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return true;
	return false;
}

/* argv and environment, from the memory the process had them in. */
static int read_args(struct rd *rd, struct img_proc *p)
{
	int r;

	if (!p->has_mm)
		return 0;
	if (rd->flags & CKPT_IMAGE_READ_CMDLINE) {
		r = read_mem(rd, p, p->arg_start, p->arg_end, &p->argv, &p->argv_len);
		if (r < 0)
			return r;
		if (p->argv && !memchr_nonzero(p->argv, p->argv_len)) {
			free(p->argv); /* no argv there: zeroed pages */
			p->argv = NULL;
		}
		p->has_argv = p->argv != NULL;
		if (p->argv) {
			size_t n = p->argv_len;

			while (n && p->argv[n - 1] == '\0')
				n--;
			p->cmdline = malloc(n + 1);
			if (!p->cmdline)
				return err_set(rd->err, CKPT_ENOMEM, "cmdline: out of memory");
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)p->argv[i];

				p->cmdline[i] = c == 0		      ? ' ' :
						c < 0x20 || c == 0x7f ? '?' :
									(char)c;
			}
			p->cmdline[n] = '\0';
		}
	}
	if (rd->flags & CKPT_IMAGE_READ_ENV) {
		r = read_mem(rd, p, p->env_start, p->env_end, &p->env, &p->env_len);
		if (r < 0)
			return r;
		if (p->env && !memchr_nonzero(p->env, p->env_len)) {
			free(p->env);
			p->env = NULL;
		}
		p->has_env = p->env != NULL;
	}
	return 0;
}

static void fent_free(struct img_fent *e)
{
	free(e->path);
}

static int fent_cmp(const void *a, const void *b)
{
	const struct img_fent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct img_fent *fent_find(const ckpt_image_info *info, uint32_t id)
{
	struct img_fent key = { .id = id };

	if (!info->files)
		return NULL;
	return bsearch(&key, info->files, info->n_files, sizeof(key), fent_cmp);
}

/* An address of a socket image: the words hold the bytes as the dumping host kept them. */
static void sk_addr(char *dst, uint32_t family, const uint32_t *words, size_t n)
{
	uint8_t bytes[16] = { 0 };

	if (words && n)
		memcpy(bytes, words, (n > 4 ? 4 : n) * sizeof(uint32_t));
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, bytes, dst, INET6_ADDRSTRLEN))
		snprintf(dst, INET6_ADDRSTRLEN, "?");
}

static char *path_dup(const char *s, size_t n)
{
	char *d;

	if (n > IMG_PATH_MAX)
		n = IMG_PATH_MAX;
	d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int fent_from(const CkptImg__File *fe, struct img_fent *e)
{
	const CkptImg__SkOpts *opts = NULL;

	memset(e, 0, sizeof(*e));
	e->id = fe->id;
	e->type = fe->type;
	if (fe->reg && fe->reg->name) {
		e->path = path_dup(fe->reg->name, strlen(fe->reg->name));
		if (!e->path)
			return -ENOMEM;
	} else if (fe->isk) {
		e->socket = true;
		e->family = fe->isk->family;
		e->sk_type = fe->isk->type;
		e->proto = fe->isk->proto;
		e->state = fe->isk->state;
		e->ino = fe->isk->ino;
		e->src_port = (uint16_t)fe->isk->src_port;
		e->dst_port = (uint16_t)fe->isk->dst_port;
		sk_addr(e->src, e->family, fe->isk->src_addr, fe->isk->n_src_addr);
		sk_addr(e->dst, e->family, fe->isk->dst_addr, fe->isk->n_dst_addr);
		opts = fe->isk->opts;
	} else if (fe->usk) {
		e->socket = true;
		e->family = AF_UNIX;
		e->sk_type = fe->usk->type;
		e->state = fe->usk->state;
		e->ino = fe->usk->ino;
		e->peer = fe->usk->peer;
		opts = fe->usk->opts;
		if (fe->usk->has_name && fe->usk->name.len) {
			const ProtobufCBinaryData *nm = &fe->usk->name;

			e->path = path_dup((const char *)nm->data, nm->len);
			if (!e->path)
				return -ENOMEM;
			if (nm->data[0] == '\0') /* abstract */
				e->path[0] = '@';
		}
	} else if (fe->psk) {
		e->socket = true;
		e->family = AF_PACKET;
		e->sk_type = fe->psk->type;
		e->proto = fe->psk->protocol;
		opts = fe->psk->opts;
	} else if (fe->nlsk) {
		e->socket = true;
		e->family = AF_NETLINK;
		e->proto = fe->nlsk->protocol;
		e->ino = fe->nlsk->ino;
		opts = fe->nlsk->opts;
	} else if (fe->pipe) {
		e->pipe_id = fe->pipe->pipe_id;
	} else if (fe->fifo) {
		e->pipe_id = fe->fifo->pipe_id;
		e->ino = fe->fifo->regf_id; /* the fifo's path is this regular-file entry's */
	}
	if (opts) {
		e->sndbuf = opts->so_sndbuf;
		e->rcvbuf = opts->so_rcvbuf;
	}
	return 0;
}

static int read_files(struct rd *rd, ckpt_image_info *info)
{
	struct img_file f;
	size_t cap = 0;
	int r;

	r = img_load(rd, "files.img", false, &f);
	if (r)
		return r > 0 ? 0 : r;
	r = img_magic(rd, &f, FILES_MAGIC);
	if (r < 0)
		goto out;
	for (;;) {
		CkptImg__File *fe = NULL;

		r = img_next(rd, &f, &ckpt_img__file__descriptor, (ProtobufCMessage **)&fe);
		if (r <= 0)
			break;
		if (info->n_files == IMG_FILES_MAX) {
			msg_free(rd, fe);
			r = err_set(rd->err, CKPT_EBADIMG, "%s/files.img: more than %u entries",
				    rd->dir, IMG_FILES_MAX);
			break;
		}
		if (info->n_files == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct img_fent *nf = reallocarray(info->files, ncap, sizeof(*nf));

			if (!nf) {
				msg_free(rd, fe);
				r = err_set(rd->err, CKPT_ENOMEM, "files.img: out of memory");
				break;
			}
			info->files = nf;
			cap = ncap;
		}
		r = fent_from(fe, &info->files[info->n_files]);
		msg_free(rd, fe);
		if (r < 0) {
			r = err_set(rd->err, CKPT_ENOMEM, "files.img: out of memory");
			break;
		}
		info->n_files++;
	}
	if (info->n_files)
		qsort(info->files, info->n_files, sizeof(*info->files), fent_cmp);
out:
	img_file_release(&f);
	return r < 0 ? r : 0;
}

static int read_proc(struct rd *rd, struct img_proc *p)
{
	int r;

	r = read_core(rd, p);
	if (r < 0)
		return r;
	/* A zombie or dead task has a core image and nothing else. */
	if (p->state == CKPT_TASK_ZOMBIE || p->state == CKPT_TASK_DEAD)
		return 0;
	r = read_ids(rd, p);
	if (r < 0)
		return r;
	r = read_pagemap(rd, p);
	if (r < 0)
		return r;
	if (p->has_pagemap) {
		r = stat_pages(rd, p);
		if (r < 0)
			return r;
	}
	if (p->has_files_id) {
		r = read_fdinfo(rd, p);
		if (r < 0)
			return r;
	}
	if (rd->flags & (CKPT_IMAGE_READ_CMDLINE | CKPT_IMAGE_READ_ENV | CKPT_IMAGE_READ_MEMS |
			 CKPT_IMAGE_READ_FILES)) {
		r = read_mm(rd, p);
		if (r < 0)
			return r;
	}
	if (rd->flags & CKPT_IMAGE_READ_FILES) {
		r = read_fs(rd, p);
		if (r < 0)
			return r;
	}
	return read_args(rd, p);
}

static void set_stat(ckpt_image_info *info, int idx, bool has, uint64_t v)
{
	info->stat_has[idx] = has;
	info->stat_val[idx] = v;
}

/* stats-dump or stats-restore. Returns 0, 1 if there is none, or a negative code. */
static int read_stats_file(struct rd *rd, ckpt_image_info *info, bool restore)
{
	const char *name = restore ? "stats-restore" : "stats-dump";
	struct img_file f;
	CkptImg__Stats *s = NULL;
	int r;

	r = img_load(rd, name, false, &f);
	if (r)
		return r;
	r = img_magic(rd, &f, STATS_MAGIC);
	if (r < 0)
		goto out;
	r = img_first(rd, &f, &ckpt_img__stats__descriptor, (ProtobufCMessage **)&s);
	if (r < 0)
		goto out;
	if (!restore && s->dump) {
		const CkptImg__DumpStats *d = s->dump;

		info->has_dump_stats = true;
		set_stat(info, ST_FREEZING, d->has_freezing_time, d->freezing_time);
		set_stat(info, ST_FROZEN, d->has_frozen_time, d->frozen_time);
		set_stat(info, ST_MEMDUMP, d->has_memdump_time, d->memdump_time);
		set_stat(info, ST_MEMWRITE, d->has_memwrite_time, d->memwrite_time);
		set_stat(info, ST_PAGES_SCANNED, d->has_pages_scanned, d->pages_scanned);
		set_stat(info, ST_PAGES_SKIPPED_PARENT, d->has_pages_skipped_parent,
			 d->pages_skipped_parent);
		set_stat(info, ST_PAGES_WRITTEN, d->has_pages_written, d->pages_written);
		set_stat(info, ST_IRMAP, d->has_irmap_resolve, d->irmap_resolve);
		set_stat(info, ST_PAGES_LAZY, d->has_pages_lazy, d->pages_lazy);
		set_stat(info, ST_PAGE_PIPES, d->has_page_pipes, d->page_pipes);
		set_stat(info, ST_PAGE_PIPE_BUFS, d->has_page_pipe_bufs, d->page_pipe_bufs);
		set_stat(info, ST_SHPAGES_SCANNED, d->has_shpages_scanned, d->shpages_scanned);
		set_stat(info, ST_SHPAGES_SKIPPED_PARENT, d->has_shpages_skipped_parent,
			 d->shpages_skipped_parent);
		set_stat(info, ST_SHPAGES_WRITTEN, d->has_shpages_written, d->shpages_written);
	} else if (restore && s->restore) {
		const CkptImg__RestoreStats *rs = s->restore;

		info->has_restore_stats = true;
		set_stat(info, ST_PAGES_COMPARED, rs->has_pages_compared, rs->pages_compared);
		set_stat(info, ST_PAGES_SKIPPED_COW, rs->has_pages_skipped_cow,
			 rs->pages_skipped_cow);
		set_stat(info, ST_FORKING, rs->has_forking_time, rs->forking_time);
		set_stat(info, ST_RESTORE, rs->has_restore_time, rs->restore_time);
		set_stat(info, ST_PAGES_RESTORED, rs->has_pages_restored, rs->pages_restored);
	}
	r = 0;
out:
	msg_free(rd, s);
	img_file_release(&f);
	return r;
}

/* The sizes of the regular *.img files. */
static int sum_sizes(struct rd *rd, ckpt_image_info *info)
{
	int fd;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;
	int r = 0;

	fd = openat(rd->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s: open", rd->dir);
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return err_sys(rd->err, CKPT_EIMAGES, e, "%s: fdopendir", rd->dir);
	}
	for (;;) {
		struct stat st;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = err_sys(rd->err, CKPT_EIMAGES, errno, "%s: readdir", rd->dir);
			break;
		}
		if (++n > IMG_DIRENTS_MAX) {
			r = err_set(rd->err, CKPT_EIMAGES, "%s: more than %u directory entries",
				    rd->dir, IMG_DIRENTS_MAX);
			break;
		}
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".img") != 0)
			continue;
		if (fstatat(rd->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		info->total_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return r;
}

static int rd_open(struct rd *rd, int dirfd, const char *path, ckpt_err *err)
{
	const char *p = path && *path ? path : ".";

	memset(rd, 0, sizeof(*rd));
	rd->dfd = -1;
	rd->err = err;
	rd->budget.max = IMG_ALLOC_MAX;
	rd->pa.alloc = budget_alloc;
	rd->pa.free = budget_free;
	rd->pa.allocator_data = &rd->budget;
	if (path && *path)
		snprintf(rd->dir, sizeof(rd->dir), "%s", path);
	else if (dirfd == AT_FDCWD)
		snprintf(rd->dir, sizeof(rd->dir), ".");
	else
		snprintf(rd->dir, sizeof(rd->dir), "<fd %d>", dirfd);

	rd->dfd = openat(dirfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rd->dfd < 0) {
		if (errno == ENOTDIR)
			return err_set(err, CKPT_EIMAGES, "%s: not a directory", rd->dir);
		if (errno == ENOENT)
			return err_set(err, CKPT_EIMAGES, "%s: no such directory", rd->dir);
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot open", rd->dir);
	}
	return 0;
}

static void rd_close(struct rd *rd)
{
	if (rd->dfd >= 0)
		close(rd->dfd);
	rd->dfd = -1;
}

void ckpt_image_info_free(ckpt_image_info *info)
{
	size_t i;

	if (!info)
		return;
	for (i = 0; i < info->n_procs; i++) {
		struct img_proc *p = &info->procs[i];

		free(p->comm);
		free(p->argv);
		free(p->env);
		free(p->cmdline);
		free(p->runs);
		free(p->vmas);
		free(p->fds);
	}
	free(info->procs);
	for (i = 0; i < info->n_files; i++)
		fent_free(&info->files[i]);
	free(info->files);
	free(info->dump_criu_run_id);
	free(info);
}

/*
 * Read the images in dirfd/path; the statistics from stats_dirfd/stats_path
 * instead when stats_dirfd is not -1 (an archive keeps stats-dump beside
 * checkpoint/, not in it).
 */
int image_info_read_at(int dirfd, const char *path, int stats_dirfd, const char *stats_path,
		       unsigned flags, bool stats_only, ckpt_image_info **ret, ckpt_err *err)
{
	struct rd rd, srd;
	ckpt_image_info *info = NULL;
	int r, rs, rr;
	size_t i;

	assert_return(ret, err, "image info: ret is NULL");
	assert_return(dirfd >= 0 || dirfd == AT_FDCWD, err, "image info: bad dirfd %d", dirfd);
	assert_return(!(flags & ~CKPT_IMAGE_READ_ALL), err, "image info: unknown flags 0x%x",
		      flags & ~CKPT_IMAGE_READ_ALL);

	memset(&srd, 0, sizeof(srd));
	srd.dfd = -1;
	r = rd_open(&rd, dirfd, path, err);
	if (r < 0)
		goto out;
	rd.flags = flags;
	if (stats_dirfd != -1) {
		r = rd_open(&srd, stats_dirfd, stats_path, err);
		if (r < 0)
			goto out;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		r = err_set(err, CKPT_ENOMEM, "image info: out of memory");
		goto out;
	}
	info->flags = flags;

	r = read_inventory(&rd, info, !stats_only);
	if (r < 0)
		goto out;
	if (!stats_only) {
		r = read_pstree(&rd, info);
		if (r < 0)
			goto out;
		for (i = 0; i < info->n_procs; i++) {
			r = read_proc(&rd, &info->procs[i]);
			if (r < 0)
				goto out;
		}
		if (flags &
		    (CKPT_IMAGE_READ_FILES | CKPT_IMAGE_READ_SOCKETS | CKPT_IMAGE_READ_MEMS)) {
			r = read_files(&rd, info);
			if (r < 0)
				goto out;
		}
	}
	rs = read_stats_file(srd.dfd >= 0 ? &srd : &rd, info, false);
	if (rs < 0) {
		r = rs;
		goto out;
	}
	rr = read_stats_file(srd.dfd >= 0 ? &srd : &rd, info, true);
	if (rr < 0) {
		r = rr;
		goto out;
	}
	if (stats_only && rs > 0 && rr > 0) {
		r = err_set(err, CKPT_EBADIMG, "%s: no stats-dump or stats-restore",
			    srd.dfd >= 0 ? srd.dir : rd.dir);
		goto out;
	}
	r = sum_sizes(&rd, info);
	if (r < 0)
		goto out;

	*ret = info;
	info = NULL;
	r = 0;
out:
	assert(rd.budget.live == 0 && srd.budget.live == 0);
	ckpt_image_info_free(info);
	rd_close(&rd);
	rd_close(&srd);
	return r;
}

int ckpt_image_info_read(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, 0, false, ret, err);
}

int ckpt_image_info_read_detail(int dirfd, const char *path, unsigned flags, ckpt_image_info **ret,
				ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, flags, false, ret, err);
}

int ckpt_image_info_read_stats(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, 0, true, ret, err);
}

/* ---- getters ---- */

uint32_t ckpt_image_info_version(const ckpt_image_info *info)
{
	return info ? info->img_version : 0;
}

uint64_t ckpt_image_info_total_bytes(const ckpt_image_info *info)
{
	return info ? info->total_bytes : 0;
}

size_t ckpt_image_info_nr_processes(const ckpt_image_info *info)
{
	return info ? info->n_procs : 0;
}

static const struct img_proc *proc_at(const ckpt_image_info *info, size_t i)
{
	return info && i < info->n_procs ? &info->procs[i] : NULL;
}

pid_t ckpt_image_info_pid(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? (pid_t)p->pid : -1;
}

pid_t ckpt_image_info_ppid(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? (pid_t)p->ppid : -1;
}

const char *ckpt_image_info_comm(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->comm : NULL;
}

ckpt_task_state ckpt_image_info_state(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	if (!p)
		return CKPT_TASK_UNKNOWN;
	switch (p->state) {
	case CKPT_TASK_ALIVE:
	case CKPT_TASK_DEAD:
	case CKPT_TASK_STOPPED:
	case CKPT_TASK_ZOMBIE: return (ckpt_task_state)p->state;
	default: return CKPT_TASK_UNKNOWN;
	}
}

uint32_t ckpt_image_info_exit_code(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->exit_code : 0;
}

size_t ckpt_image_info_nr_threads(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->nr_threads : 0;
}

uint64_t ckpt_image_info_pages(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->pages : 0;
}

uint64_t ckpt_image_info_memory_bytes(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->memory_bytes : 0;
}

uint64_t ckpt_image_info_nr_files(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->nr_files : 0;
}

bool ckpt_image_info_has_dump_stats(const ckpt_image_info *info)
{
	return info && info->has_dump_stats;
}

bool ckpt_image_info_has_restore_stats(const ckpt_image_info *info)
{
	return info && info->has_restore_stats;
}

static int stat_index(ckpt_image_stat key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(stat_descs); i++)
		if (stat_descs[i].key == key)
			return (int)i;
	return -1;
}

int ckpt_image_info_stat(const ckpt_image_info *info, ckpt_image_stat key, uint64_t *ret_value)
{
	int i = stat_index(key);

	if (!info || !ret_value || i < 0)
		return CKPT_EINVAL;
	if (!info->stat_has[i])
		return CKPT_ENOTSUP;
	*ret_value = info->stat_val[i];
	return 0;
}

const char *ckpt_image_stat_name(ckpt_image_stat key)
{
	int i = stat_index(key);

	return i < 0 ? NULL : stat_descs[i].name;
}

const char *ckpt_image_info_cmdline(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->cmdline : NULL;
}

/* ---- JSON ---- */

static const char *state_name(uint32_t state)
{
	switch (state) {
	case CKPT_TASK_ALIVE: return "alive";
	case CKPT_TASK_DEAD: return "dead";
	case CKPT_TASK_STOPPED: return "stopped";
	case CKPT_TASK_ZOMBIE: return "zombie";
	default: return "unknown";
	}
}

/* CRIU's internal values, as the inventory records them (not the RPC's). */
static const char *const lsm_names[] = { "none", "selinux", "apparmor" };
static const char *const lock_names[] = { "iptables", "nftables", "skip" };

/* A known value by name, else the number. */
static void jw_enum(struct jsonw *w, const char *key, uint32_t v, const char *const *names,
		    size_t n)
{
	if (v < n)
		jw_string(w, key, names[v]);
	else
		jw_uint(w, key, v);
}

static const char *fd_type_name(uint32_t t)
{
	static const char *const names[] = {
		[FD_UND] = "UND",
		[FD_REG] = "REG",
		[FD_PIPE] = "PIPE",
		[FD_FIFO] = "FIFO",
		[FD_INETSK] = "INETSK",
		[FD_UNIXSK] = "UNIXSK",
		[FD_EVENTFD] = "EVENTFD",
		[FD_EVENTPOLL] = "EVENTPOLL",
		[FD_INOTIFY] = "INOTIFY",
		[FD_SIGNALFD] = "SIGNALFD",
		[FD_PACKETSK] = "PACKETSK",
		[FD_TTY] = "TTY",
		[FD_FANOTIFY] = "FANOTIFY",
		[FD_NETLINKSK] = "NETLINKSK",
		[FD_NS] = "NS",
		[FD_TUNF] = "TUNF",
		[FD_EXT] = "EXT",
		[FD_TIMERFD] = "TIMERFD",
		[FD_MEMFD] = "MEMFD",
		[FD_BPFMAP] = "BPFMAP",
		[FD_PIDFD] = "PIDFD",
	};

	return t < ARRAY_SIZE(names) && names[t] ? names[t] : "UNKNOWN";
}

/* A NUL-separated list (argv, environ) as an array of strings. */
static void jw_nul_list(struct jsonw *w, const char *key, const char *p, size_t len)
{
	size_t i = 0;

	jw_array_begin(w, key);
	while (i < len) {
		size_t n = strnlen(p + i, len - i);

		if (n || i + n < len)
			jw_stringn(w, NULL, p + i, n);
		i += n + 1;
	}
	jw_array_end(w);
}

static const char *sk_type_name(uint32_t t)
{
	switch (t) {
	case SOCK_STREAM: return "STREAM";
	case SOCK_DGRAM: return "DGRAM";
	case SOCK_SEQPACKET: return "SEQPACKET";
	case SOCK_RAW: return "RAW";
	default: return "?";
	}
}

static const char *tcp_state_name(uint32_t st)
{
	static const char *const names[] = { "?",	   "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
					     "FIN_WAIT1",  "FIN_WAIT2",	  "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT", "LAST_ACK",	  "LISTEN",    "CLOSING" };

	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

/* What an open file is, for people: a path, "pipe:[N]", "socket:[N]" or "[type]". */
static void file_desc(const ckpt_image_info *info, uint32_t id, uint32_t type, char *buf,
		      size_t size)
{
	const struct img_fent *e = fent_find(info, id);

	if (e && e->path && (type == FD_REG || type == FD_UNIXSK)) {
		snprintf(buf, size, "%s", e->path);
		return;
	}
	if (e && type == FD_FIFO) {
		const struct img_fent *r = fent_find(info, e->ino);

		if (r && r->path) {
			snprintf(buf, size, "%s", r->path);
			return;
		}
	}
	if (e && (type == FD_PIPE || type == FD_FIFO)) {
		snprintf(buf, size, "pipe:[%" PRIu32 "]", e->pipe_id);
		return;
	}
	if (e && e->socket) {
		snprintf(buf, size, "socket:[%" PRIu32 "]", e->ino);
		return;
	}
	if (!e && type == FD_REG) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "[%s]", fd_type_name(type));
	for (char *c = buf + 1; *c && *c != ']'; c++)
		*c = (char)((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
}

static void put_files(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char desc[IMG_PATH_MAX + 32], fdname[16];

	jw_array_begin(w, "files");
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct img_fd *fd = &p->fds[i];

		snprintf(fdname, sizeof(fdname), "%" PRIu32, fd->fd);
		file_desc(info, fd->id, fd->type, desc, sizeof(desc));
		jw_object_begin(w, NULL);
		jw_string(w, "fd", fdname);
		jw_string(w, "type", fd_type_name(fd->type));
		jw_string(w, "path", desc);
		jw_object_end(w);
	}
	if (p->has_fs) {
		static const char *const what[] = { "cwd", "root" };
		const uint32_t ids[] = { p->cwd_id, p->root_id };

		for (size_t i = 0; i < 2; i++) {
			file_desc(info, ids[i], FD_REG, desc, sizeof(desc));
			jw_object_begin(w, NULL);
			jw_string(w, "fd", what[i]);
			jw_string(w, "type", "DIR");
			jw_string(w, "path", desc);
			jw_object_end(w);
		}
	}
	if (p->has_mm && p->exe_id) {
		file_desc(info, p->exe_id, FD_REG, desc, sizeof(desc));
		jw_object_begin(w, NULL);
		jw_string(w, "fd", "exe");
		jw_string(w, "type", "REG");
		jw_string(w, "path", desc);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void put_sockets(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char buf[INET6_ADDRSTRLEN + 16];

	jw_array_begin(w, "sockets");
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct img_fent *e = fent_find(info, p->fds[i].id);

		if (!e || !e->socket)
			continue;
		jw_object_begin(w, NULL);
		jw_uint(w, "fd", p->fds[i].fd);
		switch (e->family) {
		case AF_INET:
		case AF_INET6:
			jw_string(w, "family", e->family == AF_INET ? "INET" : "INET6");
			jw_string(w, "protocol",
				  e->proto == IPPROTO_TCP ? "TCP" :
				  e->proto == IPPROTO_UDP ? "UDP" :
							    sk_type_name(e->sk_type));
			if (e->proto == IPPROTO_TCP)
				jw_string(w, "state", tcp_state_name(e->state));
			snprintf(buf, sizeof(buf), e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
				 e->src, e->src_port);
			jw_string(w, "local", buf);
			snprintf(buf, sizeof(buf), e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
				 e->dst, e->dst_port);
			jw_string(w, "remote", buf);
			break;
		case AF_UNIX:
			jw_string(w, "family", "UNIX");
			jw_string(w, "type", sk_type_name(e->sk_type));
			jw_string(w, "state", tcp_state_name(e->state));
			jw_string(w, "name", e->path ? e->path : "");
			jw_uint(w, "ino", e->ino);
			jw_uint(w, "peer", e->peer);
			break;
		case AF_PACKET:
			jw_string(w, "family", "PACKET");
			jw_string(w, "type", sk_type_name(e->sk_type));
			jw_uint(w, "protocol", ntohs((uint16_t)e->proto));
			break;
		default:
			jw_string(w, "family", "NETLINK");
			jw_uint(w, "protocol", e->proto);
			break;
		}
		jw_uint(w, "send_buf", e->sndbuf);
		jw_uint(w, "recv_buf", e->rcvbuf);
		jw_object_end(w);
	}
	jw_array_end(w);
}

/* What backs a memory map, the way `crit x mems` tells it. */
static void vma_resource(const ckpt_image_info *info, const struct img_vma *v, char *buf,
			 size_t size)
{
	const uint32_t st = v->status;
	char path[IMG_PATH_MAX + 32];

	buf[0] = '\0';
	if (st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		file_desc(info, (uint32_t)v->shmid, FD_REG, path, sizeof(path));
		if (v->pgoff)
			snprintf(buf, size, "%s + 0x%" PRIx64 "%s", path, v->pgoff,
				 st & VMA_FILE_SHARED ? " (s)" : "");
		else
			snprintf(buf, size, "%s%s", path, st & VMA_FILE_SHARED ? " (s)" : "");
	} else if (st & VMA_AREA_VDSO) {
		snprintf(buf, size, "[vdso]");
	} else if (st & VMA_AREA_VVAR) {
		snprintf(buf, size, "[vvar]");
	} else if (st & VMA_AREA_VSYSCALL) {
		snprintf(buf, size, "[vsyscall]");
	} else if (st & VMA_AREA_STACK) {
		snprintf(buf, size, "[stack]");
	} else if (v->flags & MAP_GROWSDOWN) {
		snprintf(buf, size, "[stack?]");
	} else if (st & VMA_AREA_HEAP) {
		snprintf(buf, size, "[heap]");
	} else if (st & VMA_AREA_SOCKET) {
		snprintf(buf, size, "[packet ring]");
	} else if (st & VMA_AREA_SYSVIPC) {
		snprintf(buf, size, "[sysv shm %" PRIu64 "]", v->shmid);
	} else if (st & VMA_AREA_AIORING) {
		snprintf(buf, size, "[aio]");
	} else if (st & VMA_AREA_MEMFD) {
		snprintf(buf, size, "[memfd]");
	} else if (st & VMA_ANON_SHARED) {
		snprintf(buf, size, "[shmem %" PRIu64 "]", v->shmid);
	}
	if (!(st & VMA_AREA_REGULAR) && strlen(buf) + 2 < size)
		strcat(buf, buf[0] ? " *" : "*"); /* not restored as a regular map */
}

static void put_mems(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char buf[IMG_PATH_MAX + 64], prot[4];

	jw_array_begin(w, "mems");
	for (size_t i = 0; i < p->n_vmas; i++) {
		const struct img_vma *v = &p->vmas[i];

		snprintf(buf, sizeof(buf), "0x%" PRIx64, v->start);
		jw_object_begin(w, NULL);
		jw_string(w, "start", buf);
		snprintf(buf, sizeof(buf), "0x%" PRIx64, v->end);
		jw_string(w, "end", buf);
		prot[0] = v->prot & 1 ? 'r' : '-';
		prot[1] = v->prot & 2 ? 'w' : '-';
		prot[2] = v->prot & 4 ? 'x' : '-';
		prot[3] = '\0';
		jw_string(w, "prot", prot);
		vma_resource(info, v, buf, sizeof(buf));
		jw_string(w, "resource", buf);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void put_proc(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	jw_object_begin(w, NULL);
	jw_uint(w, "pid", p->pid);
	jw_uint(w, "ppid", p->ppid);
	jw_uint(w, "pgid", p->pgid);
	jw_uint(w, "sid", p->sid);
	jw_string(w, "comm", p->comm ? p->comm : "");
	jw_string(w, "state", state_name(p->state));
	jw_uint(w, "exit_code", p->exit_code);
	jw_uint(w, "threads", p->nr_threads);
	jw_uint(w, "pages", p->pages);
	jw_uint(w, "pages_in_parent", p->pages_parent);
	jw_uint(w, "memory_bytes", p->memory_bytes);
	jw_uint(w, "files", p->nr_files);
	if (p->has_pagemap)
		jw_uint(w, "pages_id", p->pages_id);
	if (p->has_files_id)
		jw_uint(w, "files_id", p->files_id);
	if (info->flags & CKPT_IMAGE_READ_CMDLINE) {
		if (p->has_argv)
			jw_nul_list(w, "cmdline", p->argv, p->argv_len);
		else
			jw_null(w, "cmdline"); /* not in these images (a parent's, lazy, or none) */
	}
	if (info->flags & CKPT_IMAGE_READ_ENV) {
		if (p->has_env)
			jw_nul_list(w, "environment", p->env, p->env_len);
		else
			jw_null(w, "environment");
	}
	if (info->flags & CKPT_IMAGE_READ_FILES)
		put_files(w, info, p);
	if (info->flags & CKPT_IMAGE_READ_SOCKETS)
		put_sockets(w, info, p);
	if (info->flags & CKPT_IMAGE_READ_MEMS) {
		if (p->has_mm && p->exe_id) {
			char exe[IMG_PATH_MAX + 32];

			file_desc(info, p->exe_id, FD_REG, exe, sizeof(exe));
			jw_string(w, "exe", exe);
		}
		put_mems(w, info, p);
	}
	jw_object_end(w);
}

static void put_stats(struct jsonw *w, const ckpt_image_info *info, bool restore)
{
	jw_object_begin(w, restore ? "restore_stats" : "dump_stats");
	for (size_t i = 0; i < ARRAY_SIZE(stat_descs); i++) {
		if (stat_descs[i].restore != restore || !info->stat_has[i])
			continue;
		jw_uint(w, stat_descs[i].name, info->stat_val[i]);
	}
	jw_object_end(w);
}

/* The members of the images' JSON object, into an object w has open. */
void image_info_put_json(struct jsonw *w, const ckpt_image_info *info)
{
	uint64_t pages = 0, bytes = 0;
	size_t i;

	jw_uint(w, "images_version", info->img_version);
	if (info->has_fdinfo_per_id)
		jw_bool(w, "fdinfo_per_id", info->fdinfo_per_id);
	if (info->has_ns_per_id)
		jw_bool(w, "ns_per_id", info->ns_per_id);
	if (info->has_lsmtype)
		jw_enum(w, "lsm", info->lsmtype, lsm_names, ARRAY_SIZE(lsm_names));
	if (info->has_root_cg_set)
		jw_uint(w, "root_cg_set", info->root_cg_set);
	if (info->has_dump_uptime)
		jw_uint(w, "dump_uptime", info->dump_uptime);
	if (info->has_pre_dump_mode)
		jw_uint(w, "pre_dump_mode", info->pre_dump_mode);
	if (info->has_tcp_close)
		jw_bool(w, "tcp_close", info->tcp_close);
	if (info->has_network_lock_method)
		jw_enum(w, "network_lock_method", info->network_lock_method, lock_names,
			ARRAY_SIZE(lock_names));
	if (info->dump_criu_run_id)
		jw_string(w, "dump_criu_run_id", info->dump_criu_run_id);
	jw_array_begin(w, "processes");
	for (i = 0; i < info->n_procs; i++) {
		put_proc(w, info, &info->procs[i]);
		pages += info->procs[i].pages;
		bytes += info->procs[i].memory_bytes;
	}
	jw_array_end(w);
	jw_uint(w, "pages", pages);
	jw_uint(w, "memory_bytes", bytes);
	jw_uint(w, "total_bytes", info->total_bytes);
	if (info->has_dump_stats)
		put_stats(w, info, false);
	if (info->has_restore_stats)
		put_stats(w, info, true);
}

char *ckpt_image_info_to_json(const ckpt_image_info *info)
{
	struct jsonw w;

	if (!info)
		return NULL;
	jw_init(&w, true);
	jw_object_begin(&w, NULL);
	image_info_put_json(&w, info);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* The root process's argv as read from its memory (NUL-separated), or NULL. */
const char *image_info_root_argv(const ckpt_image_info *info, size_t *ret_len)
{
	if (!info || !info->n_procs || !info->procs[0].has_argv)
		return NULL;
	*ret_len = info->procs[0].argv_len;
	return info->procs[0].argv;
}

const char *image_info_root_cwd(const ckpt_image_info *info)
{
	const struct img_fent *e;

	if (!info || !info->n_procs || !info->procs[0].has_fs)
		return NULL;
	e = fent_find(info, info->procs[0].cwd_id);
	return e ? e->path : NULL;
}

uint64_t image_info_pages_in_parent(const ckpt_image_info *info)
{
	uint64_t n = 0;

	for (size_t i = 0; info && i < info->n_procs; i++)
		n += info->procs[i].pages_parent;
	return n;
}

const char *image_info_run_id(const ckpt_image_info *info)
{
	return info ? info->dump_criu_run_id : NULL;
}

int image_format_version(int dirfd, uint32_t *ret, ckpt_err *err)
{
	struct rd rd;
	ckpt_image_info *info = calloc(1, sizeof(*info));
	int r;

	if (!info)
		return err_set(err, CKPT_ENOMEM, "image info: out of memory");
	r = rd_open(&rd, dirfd, ".", err);
	if (r == 0)
		r = read_inventory(&rd, info, true);
	if (r == 0)
		*ret = info->img_version;
	assert(rd.budget.live == 0);
	ckpt_image_info_free(info);
	rd_close(&rd);
	return r;
}

int image_root_pid(int dirfd, pid_t *ret, ckpt_err *err)
{
	CkptImg__Pstree *e = NULL;
	struct img_file f;
	struct rd rd;
	int r;

	r = rd_open(&rd, dirfd, ".", err);
	if (r < 0)
		return r;
	r = img_load(&rd, "pstree.img", true, &f);
	if (r == 0) {
		r = img_magic(&rd, &f, PSTREE_MAGIC);
		if (r == 0)
			r = img_next(&rd, &f, &ckpt_img__pstree__descriptor,
				     (ProtobufCMessage **)&e);
		if (r == 0)
			r = err_set(err, CKPT_EBADIMG, "pstree.img: no processes");
		if (r > 0 && e) {
			r = 0;
			if (!e->has_pid || e->pid == 0 || e->pid > INT32_MAX)
				r = err_set(err, CKPT_EBADIMG,
					    "pstree.img: the root has no valid pid");
			else
				*ret = (pid_t)e->pid;
			msg_free(&rd, e);
		}
		img_file_release(&f);
	}
	rd_close(&rd);
	return r;
}
