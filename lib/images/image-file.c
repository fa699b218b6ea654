/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader, one image file: the budget protobuf-c allocates from, one read of a
 * directory, and each image file read whole, checked and unpacked entry by entry.
 *
 * An image file is a magic, then entries. The magic is one 32-bit word for
 * inventory.img; other files (image format v1.1 and later) put
 * IMG_COMMON_MAGIC, or IMG_SERVICE_MAGIC for the stats files, in front of
 * their own. Each entry is a 32-bit size, in the dumping host's byte order
 * as CRIU writes it, followed by that many bytes of protobuf. pages-N.img is
 * raw memory without a magic; only its size is used.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "images-int.h"

/* ---- protobuf-c allocations from a budget ---- */

union budget_hdr {
	size_t size;
	max_align_t align;
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
	b->live = b->live >= h->size ? b->live - h->size : 0;
	free(h);
}

/* ---- one read of a directory ---- */

int img_rd_open(struct rd *rd, int dirfd, const char *path, ckpt_err *err)
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

void img_rd_close(struct rd *rd)
{
	if (rd->dfd >= 0)
		close(rd->dfd);
	rd->dfd = -1;
}

void img_file_release(struct img_file *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
}

/*
 * Open and read a whole image file. Returns 0, 1 if it does not exist and
 * !must_exist, or a negative code.
 */
int img_load(struct rd *rd, const char *name, bool must_exist, struct img_file *f)
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
int img_magic(struct rd *rd, struct img_file *f, uint32_t want)
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
int img_next(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
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

void img_msg_free(struct rd *rd, void *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, &rd->pa);
}

/* The first entry of a file that must have one. */
int img_first(struct rd *rd, struct img_file *f, const ProtobufCMessageDescriptor *d,
	      ProtobufCMessage **ret)
{
	int r = img_next(rd, f, d, ret);

	if (r == 0)
		return err_set(rd->err, CKPT_EBADIMG, "%s/%s: no entry", rd->dir, f->name);
	return r < 0 ? r : 0;
}

int img_load_first(struct rd *rd, const char *name, bool must_exist, uint32_t magic,
		   const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret, struct img_file *f)
{
	int r = img_load(rd, name, must_exist, f);

	if (r)
		return r;
	r = img_magic(rd, f, magic);
	if (r >= 0)
		r = img_first(rd, f, d, ret);
	if (r < 0)
		img_file_release(f);
	return r < 0 ? r : 0;
}

int img_load_proc(struct rd *rd, const char *kind, uint32_t id, uint32_t magic,
		  const ProtobufCMessageDescriptor *d, ProtobufCMessage **ret, struct img_file *f)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%" PRIu32 ".img", kind, id);
	return img_load_first(rd, name, false, magic, d, ret, f);
}

/* A copy of untrusted text: control characters and DEL become '?', cut at IMG_TEXT_MAX. */
char *img_text_dup(const char *s)
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
