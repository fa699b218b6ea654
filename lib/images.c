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
#include <sys/stat.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "images.h"
#include "images/core.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/inventory.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/stats.pb-c.h"

/* Bounds of one call. */
#define IMG_FILE_MAX (64u << 20)             /* one metadata file */
#define IMG_ENTRY_MAX (16u << 20)            /* one entry */
#define IMG_READ_MAX (512ull << 20)          /* all metadata read by one call */
#define IMG_ALLOC_MAX ((size_t)256 << 20)    /* live protobuf-c allocations */
#define IMG_PROCS_MAX 65536u                 /* processes in pstree.img */
#define IMG_DIRENTS_MAX (1u << 20)           /* directory entries looked at */
#define IMG_TEXT_MAX 256                     /* comm, run id: longer is cut */

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
};

/* The statistics, in the order of stat_descs[]. */
enum {
	ST_FREEZING, ST_FROZEN, ST_MEMDUMP, ST_MEMWRITE, ST_PAGES_SCANNED, ST_PAGES_SKIPPED_PARENT,
	ST_PAGES_WRITTEN, ST_IRMAP, ST_PAGES_LAZY, ST_PAGE_PIPES, ST_PAGE_PIPE_BUFS,
	ST_SHPAGES_SCANNED, ST_SHPAGES_SKIPPED_PARENT, ST_SHPAGES_WRITTEN,
	ST_PAGES_COMPARED, ST_PAGES_SKIPPED_COW, ST_FORKING, ST_RESTORE, ST_PAGES_RESTORED,
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
	int dfd;             /* the images directory, owned */
	char dir[256];       /* how messages name it */
	uint64_t read_total; /* metadata bytes read so far */
	struct budget budget;
	ProtobufCAllocator pa;
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

	if (r == 0) {
		err_set(rd->err, CKPT_EBADIMG, "%s/%s: no entry", rd->dir, f->name);
		return CKPT_EBADIMG; /* itself: gcc -fanalyzer cannot see that err_set returns it */
	}
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
		uint64_t nr;
		uint32_t flags;
		size_t at = f.off;
		bool over = false;

		r = img_next(rd, &f, &ckpt_img__pagemap_entry__descriptor, (ProtobufCMessage **)&e);
		if (r <= 0)
			break;
		/* As CRIU reads entries of older images. */
		nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
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
		ProtobufCMessage *e = NULL;

		r = img_next(rd, &f, &ckpt_img__fdinfo__descriptor, &e);
		if (r <= 0)
			break;
		msg_free(rd, e);
		p->nr_files++;
	}
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
	return 0;
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
	for (i = 0; i < info->n_procs; i++)
		free(info->procs[i].comm);
	free(info->procs);
	free(info->dump_criu_run_id);
	free(info);
}

static int info_read(int dirfd, const char *path, bool stats_only, ckpt_image_info **ret,
		     ckpt_err *err)
{
	struct rd rd;
	ckpt_image_info *info = NULL;
	int r, rs, rr;
	size_t i;

	assert_return(ret, err, "image info: ret is NULL");
	assert_return(dirfd >= 0 || dirfd == AT_FDCWD, err, "image info: bad dirfd %d", dirfd);

	r = rd_open(&rd, dirfd, path, err);
	if (r < 0)
		goto out;
	info = calloc(1, sizeof(*info));
	if (!info) {
		r = err_set(err, CKPT_ENOMEM, "image info: out of memory");
		goto out;
	}

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
	}
	rs = read_stats_file(&rd, info, false);
	if (rs < 0) {
		r = rs;
		goto out;
	}
	rr = read_stats_file(&rd, info, true);
	if (rr < 0) {
		r = rr;
		goto out;
	}
	if (stats_only && rs > 0 && rr > 0) {
		r = err_set(err, CKPT_EBADIMG, "%s: no stats-dump or stats-restore", rd.dir);
		goto out;
	}
	r = sum_sizes(&rd, info);
	if (r < 0)
		goto out;

	*ret = info;
	info = NULL;
	r = 0;
out:
	assert(rd.budget.live == 0);
	ckpt_image_info_free(info);
	rd_close(&rd);
	return r;
}

int ckpt_image_info_read(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return info_read(dirfd, path, false, ret, err);
}

int ckpt_image_info_read_stats(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return info_read(dirfd, path, true, ret, err);
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
	case CKPT_TASK_ZOMBIE:
		return (ckpt_task_state)p->state;
	default:
		return CKPT_TASK_UNKNOWN;
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
static json_object *enum_json(uint32_t v, const char *const *names, size_t n)
{
	return v < n ? json_object_new_string(names[v]) : json_object_new_int64(v);
}

/* json_object_object_add that takes ownership of val even when it fails. */
static bool jadd(json_object *o, const char *key, json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

static json_object *proc_json(const struct img_proc *p)
{
	json_object *o = json_object_new_object();
	bool ok;

	if (!o)
		return NULL;
	ok = jadd(o, "pid", json_object_new_int64(p->pid)) &&
	     jadd(o, "ppid", json_object_new_int64(p->ppid)) &&
	     jadd(o, "pgid", json_object_new_int64(p->pgid)) &&
	     jadd(o, "sid", json_object_new_int64(p->sid)) &&
	     jadd(o, "comm", json_object_new_string(p->comm ? p->comm : "")) &&
	     jadd(o, "state", json_object_new_string(state_name(p->state))) &&
	     jadd(o, "exit_code", json_object_new_int64(p->exit_code)) &&
	     jadd(o, "threads", json_object_new_uint64(p->nr_threads)) &&
	     jadd(o, "pages", json_object_new_uint64(p->pages)) &&
	     jadd(o, "pages_in_parent", json_object_new_uint64(p->pages_parent)) &&
	     jadd(o, "memory_bytes", json_object_new_uint64(p->memory_bytes)) &&
	     jadd(o, "files", json_object_new_uint64(p->nr_files));
	if (ok && p->has_pagemap)
		ok = jadd(o, "pages_id", json_object_new_int64(p->pages_id));
	if (ok && p->has_files_id)
		ok = jadd(o, "files_id", json_object_new_int64(p->files_id));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *stats_json(const ckpt_image_info *info, bool restore)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(stat_descs); i++) {
		if (stat_descs[i].restore != restore || !info->stat_has[i])
			continue;
		if (!jadd(o, stat_descs[i].name, json_object_new_uint64(info->stat_val[i]))) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

char *ckpt_image_info_to_json(const ckpt_image_info *info)
{
	json_object *o, *procs;
	uint64_t pages = 0, bytes = 0;
	const char *s;
	char *ret = NULL;
	bool ok;
	size_t i;

	if (!info)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;

	ok = jadd(o, "images_version", json_object_new_int64(info->img_version));
	if (ok && info->has_fdinfo_per_id)
		ok = jadd(o, "fdinfo_per_id", json_object_new_boolean(info->fdinfo_per_id));
	if (ok && info->has_ns_per_id)
		ok = jadd(o, "ns_per_id", json_object_new_boolean(info->ns_per_id));
	if (ok && info->has_lsmtype)
		ok = jadd(o, "lsm", enum_json(info->lsmtype, lsm_names, ARRAY_SIZE(lsm_names)));
	if (ok && info->has_root_cg_set)
		ok = jadd(o, "root_cg_set", json_object_new_int64(info->root_cg_set));
	if (ok && info->has_dump_uptime)
		ok = jadd(o, "dump_uptime", json_object_new_uint64(info->dump_uptime));
	if (ok && info->has_pre_dump_mode)
		ok = jadd(o, "pre_dump_mode", json_object_new_int64(info->pre_dump_mode));
	if (ok && info->has_tcp_close)
		ok = jadd(o, "tcp_close", json_object_new_boolean(info->tcp_close));
	if (ok && info->has_network_lock_method)
		ok = jadd(o, "network_lock_method",
			  enum_json(info->network_lock_method, lock_names, ARRAY_SIZE(lock_names)));
	if (ok && info->dump_criu_run_id)
		ok = jadd(o, "dump_criu_run_id", json_object_new_string(info->dump_criu_run_id));

	procs = ok ? json_object_new_array() : NULL;
	ok = ok && procs;
	for (i = 0; ok && i < info->n_procs; i++) {
		json_object *p = proc_json(&info->procs[i]);

		if (!p || json_object_array_add(procs, p) < 0) {
			json_object_put(p);
			ok = false;
		}
		pages += info->procs[i].pages;
		bytes += info->procs[i].memory_bytes;
	}
	if (procs && !ok)
		json_object_put(procs);
	else if (ok)
		ok = jadd(o, "processes", procs);

	ok = ok && jadd(o, "pages", json_object_new_uint64(pages)) &&
	     jadd(o, "memory_bytes", json_object_new_uint64(bytes)) &&
	     jadd(o, "total_bytes", json_object_new_uint64(info->total_bytes));
	if (ok && info->has_dump_stats)
		ok = jadd(o, "dump_stats", stats_json(info, false));
	if (ok && info->has_restore_stats)
		ok = jadd(o, "restore_stats", stats_json(info, true));

	if (ok) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		ret = s ? strdup(s) : NULL;
	}
	json_object_put(o);
	return ret;
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
			r = img_next(&rd, &f, &ckpt_img__pstree__descriptor, (ProtobufCMessage **)&e);
		if (r == 0)
			r = err_set(err, CKPT_EBADIMG, "pstree.img: no processes");
		if (r > 0) {
			r = 0;
			if (!e->has_pid || e->pid == 0 || e->pid > INT32_MAX)
				r = err_set(err, CKPT_EBADIMG, "pstree.img: the root has no valid pid");
			else
				*ret = (pid_t)e->pid;
			msg_free(&rd, e);
		}
		img_file_release(&f);
	}
	rd_close(&rd);
	return r;
}
