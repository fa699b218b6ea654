/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: the files every read takes (inventory, pstree, and each
 * process's core, ids, pagemap, pages size and fdinfo) and the statistics.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "images-int.h"
#include "images/core.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/inventory.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/stats.pb-c.h"

int img_read_inventory(struct rd *rd, ckpt_image_info *info, bool must_exist)
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
		info->dump_criu_run_id = img_text_dup(inv->dump_criu_run_id);
		if (!info->dump_criu_run_id) {
			r = err_set(rd->err, CKPT_ENOMEM, "inventory: out of memory");
			goto out;
		}
	}
	r = 0;
out:
	img_msg_free(rd, inv);
	img_file_release(&f);
	return r;
}

int img_read_pstree(struct rd *rd, ckpt_image_info *info)
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
			img_msg_free(rd, e);
			break;
		}
		if (info->n_procs == IMG_PROCS_MAX) {
			r = err_set(rd->err, CKPT_EBADIMG, "%s/pstree.img: more than %u processes",
				    rd->dir, IMG_PROCS_MAX);
			img_msg_free(rd, e);
			break;
		}
		if (info->n_procs == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct img_proc *np = reallocarray(info->procs, ncap, sizeof(*np));

			if (!np) {
				r = err_set(rd->err, CKPT_ENOMEM, "pstree: out of memory");
				img_msg_free(rd, e);
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
		img_msg_free(rd, e);
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
	r = img_load_first(rd, name, true, CORE_MAGIC, &ckpt_img__core__descriptor,
			   (ProtobufCMessage **)&core, &f);
	if (r < 0)
		return r;
	if (!core->tc) {
		r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: no task core", rd->dir, name);
		goto out;
	}
	p->comm = img_text_dup(core->tc->comm ? core->tc->comm : "");
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
	img_msg_free(rd, core);
	img_file_release(&f);
	return r;
}

static int read_ids(struct rd *rd, struct img_proc *p)
{
	struct img_file f;
	CkptImg__KobjIds *ids = NULL;
	int r;

	r = img_load_proc(rd, "ids", p->pid, IDS_MAGIC, &ckpt_img__kobj_ids__descriptor,
			  (ProtobufCMessage **)&ids, &f);
	if (r)
		return r > 0 ? 0 : r;
	if (ids->has_files_id) {
		p->has_files_id = true;
		p->files_id = ids->files_id;
	}
	img_msg_free(rd, ids);
	img_file_release(&f);
	return 0;
}

static int read_pagemap(struct rd *rd, struct img_proc *p)
{
	struct img_file f;
	CkptImg__PagemapHead *head = NULL;
	int r;

	r = img_load_proc(rd, "pagemap", p->pid, PAGEMAP_MAGIC, &ckpt_img__pagemap_head__descriptor,
			  (ProtobufCMessage **)&head, &f);
	if (r)
		return r > 0 ? 0 : r;
	if (!head->has_pages_id) {
		r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: no pages_id", rd->dir, f.name);
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
		img_msg_free(rd, e);

		if (flags & PE_PRESENT)
			over |= __builtin_add_overflow(p->pages, nr, &p->pages);
		if (flags & PE_PARENT)
			over |= __builtin_add_overflow(p->pages_parent, nr, &p->pages_parent);
		if (over) {
			r = err_set(rd->err, CKPT_EBADIMG,
				    "%s/%s: entry at offset %zu: the page count overflows", rd->dir,
				    f.name, at);
			break;
		}
		if (rd->flags & (CKPT_IMAGE_READ_CMDLINE | CKPT_IMAGE_READ_ENV)) {
			struct pm_run *nr_runs =
				reallocarray(p->runs, p->n_runs + 1, sizeof(*p->runs));

			if (!nr_runs) {
				r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", f.name);
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
	img_msg_free(rd, head);
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
				img_msg_free(rd, e);
				r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", name);
				break;
			}
			p->fds = nf;
			p->fds[p->n_fds++] = (struct img_fd){ e->fd, e->type, e->id };
		}
		img_msg_free(rd, e);
		p->nr_files++;
	}
out:
	img_file_release(&f);
	return r < 0 ? r : 0;
}

int img_read_proc(struct rd *rd, struct img_proc *p)
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
		r = img_read_mm(rd, p);
		if (r < 0)
			return r;
	}
	if (rd->flags & CKPT_IMAGE_READ_FILES) {
		r = img_read_fs(rd, p);
		if (r < 0)
			return r;
	}
	return img_read_args(rd, p);
}

static void set_stat(ckpt_image_info *info, int idx, bool has, uint64_t v)
{
	info->stat_has[idx] = has;
	info->stat_val[idx] = v;
}

/* stats-dump or stats-restore. Returns 0, 1 if there is none, or a negative code. */
int img_read_stats_file(struct rd *rd, ckpt_image_info *info, bool restore)
{
	const char *name = restore ? "stats-restore" : "stats-dump";
	struct img_file f;
	CkptImg__Stats *s = NULL;
	int r;

	r = img_load_first(rd, name, false, STATS_MAGIC, &ckpt_img__stats__descriptor,
			   (ProtobufCMessage **)&s, &f);
	if (r)
		return r;
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
	img_msg_free(rd, s);
	img_file_release(&f);
	return 0;
}
