/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: the detail CKPT_IMAGE_READ_* asks for (memory maps, argv
 * and environment, cwd and root, files.img).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "images-int.h"
#include "images/files.pb-c.h"
#include "images/fs.pb-c.h"
#include "images/mm.pb-c.h"

int img_read_mm(struct rd *rd, struct img_proc *p)
{
	struct img_file f;
	CkptImg__MmEntry *mm = NULL;
	int r;

	r = img_load_proc(rd, "mm", p->pid, MM_MAGIC, &ckpt_img__mm_entry__descriptor,
			  (ProtobufCMessage **)&mm, &f);
	if (r)
		return r > 0 ? 0 : r;
	p->has_mm = true;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	p->env_start = mm->mm_env_start;
	p->env_end = mm->mm_env_end;
	p->exe_id = mm->exe_file_id;
	if ((rd->flags & CKPT_IMAGE_READ_MEMS) && mm->n_vmas) {
		if (mm->n_vmas > IMG_VMAS_MAX) {
			r = err_set(rd->err, CKPT_EBADIMG, "%s/%s: more than %u memory maps",
				    rd->dir, f.name, IMG_VMAS_MAX);
			goto out;
		}
		p->vmas = calloc(mm->n_vmas, sizeof(*p->vmas));
		if (!p->vmas) {
			r = err_set(rd->err, CKPT_ENOMEM, "%s: out of memory", f.name);
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
	img_msg_free(rd, mm);
	img_file_release(&f);
	return r;
}

int img_read_fs(struct rd *rd, struct img_proc *p)
{
	CkptImg__FsEntry *fs = NULL;
	struct img_file f;
	int r = img_load_proc(rd, "fs", p->pid, FS_MAGIC, &ckpt_img__fs_entry__descriptor,
			      (ProtobufCMessage **)&fs, &f);

	if (r == 0) {
		p->has_fs = true;
		p->cwd_id = fs->cwd_id;
		p->root_id = fs->root_id;
		img_msg_free(rd, fs);
		img_file_release(&f);
	}
	return r > 0 ? 0 : r;
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
int img_read_args(struct rd *rd, struct img_proc *p)
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

void img_fent_free(struct img_fent *e)
{
	free(e->path);
}

static int fent_cmp(const void *a, const void *b)
{
	const struct img_fent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

const struct img_fent *img_fent_find(const ckpt_image_info *info, uint32_t id)
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

/*
 * e->path is owned by e, an element of info->files, from here. gcc 12's analyzer tracks
 * info->files[n] at a symbolic index as one slot, so the next entry's store "overwrites" the
 * last path: a false malloc-leak (img_fent_free frees every counted entry's path).
 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static int fent_from_errno(const CkptImg__File *fe, struct img_fent *e)
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
#ifndef __clang__
#pragma GCC diagnostic pop
#endif

int img_read_files(struct rd *rd, ckpt_image_info *info)
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
			img_msg_free(rd, fe);
			r = err_set(rd->err, CKPT_EBADIMG, "%s/files.img: more than %u entries",
				    rd->dir, IMG_FILES_MAX);
			break;
		}
		if (info->n_files == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct img_fent *nf = reallocarray(info->files, ncap, sizeof(*nf));

			if (!nf) {
				img_msg_free(rd, fe);
				r = err_set(rd->err, CKPT_ENOMEM, "files.img: out of memory");
				break;
			}
			info->files = nf;
			cap = ncap;
		}
		r = fent_from_errno(fe, &info->files[info->n_files]);
		img_msg_free(rd, fe);
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
