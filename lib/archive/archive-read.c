/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives: one pass over an archive, read, checked and extracted
 * whatever engine wrote it.
 *
 * Reading treats the archive as hostile: names are checked component by
 * component (no absolute name, no "..", nothing longer than NAME_MAX),
 * only regular files and directories are accepted, counts and sizes are
 * capped before any data is written, and files are created with
 * O_EXCL|O_NOFOLLOW below a fresh 0700 directory that this code made, from
 * directory fds it opened itself, so nothing can be written elsewhere.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "base/error.h"
#include "archive-common.h"
#include "dl-archive.h"

/* A copy fit for a message: control characters as '?', cut at n - 1 bytes. */
static void safe_name(char *dst, size_t n, const char *s)
{
	sanitize_copy(dst, n, s ? s : "(null)");
}

/*
 * Remove name in parent_fd and everything under it, never following a
 * symlink and never leaving the tree. 0 or -errno.
 */
static int rm_tree_at_errno(int parent_fd, const char *name, unsigned depth)
{
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > AR_DEPTH_MAX + 2)
		return -ELOOP;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		int e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		e = rm_tree_at_errno(dirfd(d), de->d_name, depth + 1);
		if (e < 0 && !r)
			r = e;
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && !r)
		r = -errno;
	return r;
}

int ckpt_archive_remove(ckpt_archive *a, ckpt_err *err)
{
	int r;

	assert_return(a, err, "archive: NULL");
	if (a->parent_fd < 0 || !a->name)
		return 0;
	r = rm_tree_at_errno(a->parent_fd, a->name, 0);
	if (r < 0)
		return err_from_errno(err, r, "%s: cannot remove", a->dir);
	free(a->name);
	a->name = NULL;
	free(a->dir);
	a->dir = NULL;
	close(a->parent_fd);
	a->parent_fd = -1;
	if (a->root_fd >= 0)
		close(a->root_fd);
	a->root_fd = -1;
	return 0;
}

int ckpt_archive_open_images(const ckpt_archive *a, int *ret_fd, ckpt_err *err)
{
	struct stat st;
	int fd;

	assert_return(a && ret_fd, err, "archive: NULL argument");
	if (a->root_fd < 0)
		return err_set(err, CKPT_EINVAL, "archive %s: not extracted (ckpt_archive_extract)",
			       a->path);
	fd = openat(a->root_fd, "checkpoint", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno == ENOENT ? CKPT_EBADIMG : CKPT_ESYS, errno,
			       "%s/checkpoint: cannot open the extracted images", a->dir);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return err_set(err, CKPT_EPERM,
			       "%s/checkpoint: not the directory this extraction made", a->dir);
	}
	*ret_fd = fd;
	return 0;
}

static int rd_stream_err(struct reader *r, const char *when)
{
	const char *m = archive_error_string(r->ar);
	char am[256];

	safe_name(am, sizeof(am), m ? m : "unknown error");
	if (strstr(am, "runcated") || strstr(am, "nexpected end") || strstr(am, "remature end"))
		return err_set(r->err, CKPT_EBADIMG,
			       "%s: the stream ends early (truncated) %s%s%s: %s", r->a->path, when,
			       r->last[0] ? " after entry " : "", r->last, am);
	return err_set(r->err, CKPT_EBADIMG, "%s: corrupt archive %s%s%s: %s", r->a->path, when,
		       r->last[0] ? " after entry " : "", r->last, am);
}

/*
 * The entry's name made safe: leading "./" and empty or "." components
 * dropped into clean (size PATH_MAX). 0, 1 for the archive's root itself,
 * or an error naming the entry.
 */
static int clean_name(struct reader *r, const char *raw, char *clean, unsigned *ret_depth)
{
	char shown[256];
	const char *p = raw;
	size_t len = 0;
	unsigned depth = 0;

	safe_name(shown, sizeof(shown), raw);
	if (!raw || !*raw)
		return err_set(r->err, CKPT_EBADIMG, "%s: an entry without a name", r->a->path);
	if (raw[0] == '/')
		return err_set(
			r->err, CKPT_EBADIMG,
			"%s: entry '%s': an absolute name, refused (names must stay inside the archive)",
			r->a->path, shown);
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* "a//b", "./a": nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			return err_set(
				r->err, CKPT_EBADIMG,
				"%s: entry '%s': a '..' component would escape the target directory, refused",
				r->a->path, shown);
		} else {
			if (n > NAME_MAX || len + n + 2 > PATH_MAX)
				return err_set(r->err, CKPT_EBADIMG,
					       "%s: entry '%s': a name too long, refused",
					       r->a->path, shown);
			if (++depth > AR_DEPTH_MAX)
				return err_set(
					r->err, CKPT_EBADIMG,
					"%s: entry '%s': more than %d directory levels, refused",
					r->a->path, shown, AR_DEPTH_MAX);
			if (len)
				clean[len++] = '/';
			memcpy(clean + len, p, n);
			len += n;
		}
		p = *end ? end + 1 : end;
	}
	clean[len] = '\0';
	*ret_depth = depth;
	return len ? 0 : 1;
}

/* Open (creating 0700 as needed) the directory of clean's first depth-1 components (or all). */
static int open_dirs(struct reader *r, const char *clean, bool all, int *ret_fd,
		     const char **ret_base)
{
	char comp[NAME_MAX + 1];
	const char *p = clean;
	int fd = fcntl(r->root_fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return err_sys(r->err, CKPT_ESYS, errno, "%s: dup", r->a->dir);
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int nfd;

		if (!slash && !all)
			break;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			close(fd);
			return err_sys(r->err, CKPT_ESYS, e, "%s/%s: mkdir", r->a->dir, clean);
		}
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			char shown[256];

			close(fd);
			safe_name(shown, sizeof(shown), clean);
			if (e == ENOTDIR || e == ELOOP)
				return err_set(
					r->err, CKPT_EBADIMG,
					"%s: entry '%s': a file of the archive is in the way of a directory, refused",
					r->a->path, shown);
			return err_sys(r->err, CKPT_ESYS, e, "%s/%s: open", r->a->dir, clean);
		}
		close(fd);
		fd = nfd;
		if (!slash)
			break;
		p = slash + 1;
	}
	*ret_fd = fd;
	if (ret_base)
		*ret_base = p;
	return 0;
}

static bool bulk_name(const char *clean)
{
	const char *base = strrchr(clean, '/');
	size_t n;

	base = base ? base + 1 : clean;
	n = strlen(base);
	return (!strncmp(base, "pages-", 6) && n > 4 && !strcmp(base + n - 4, ".img")) ||
	       (n > 4 && !strcmp(base + n - 4, ".tar"));
}

/* The data of a regular entry: into memory (metadata), a file, or skipped. */
/* Extracting: the file for entry clean created (*ret_fd), its space reserved unless skipped. */
static int entry_create(struct reader *r, const char *clean, int64_t size, bool is_mem, int *ret_fd,
			bool *ret_skip)
{
	_cleanup_close_ int dfd = -1;
	const char *base = NULL;
	int e;

	e = open_dirs(r, clean, false, &dfd, &base);
	if (e < 0)
		return e;
	*ret_fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*ret_fd < 0) {
		char shown[256];

		safe_name(shown, sizeof(shown), clean);
		if (errno == EEXIST)
			return err_set(
				r->err, CKPT_EBADIMG,
				"%s: entry '%s' appears twice (or a directory has its name), refused",
				r->a->path, shown);
		return err_sys(r->err, CKPT_ESYS, errno, "%s/%s: create", r->a->dir, clean);
	}
	*ret_skip = (r->flags & CKPT_ARCHIVE_SKIP_BULK) && bulk_name(clean) && !is_mem;
	if (*ret_skip)
		return 0;
	if ((uint64_t)size > r->free_bytes - r->written || r->written > r->free_bytes)
		return err_set(r->err, CKPT_ETOOBIG,
			       "%s: entry '%s' (%" PRId64 " bytes) does not fit: %" PRIu64
			       " bytes are free on the target filesystem",
			       r->a->path, clean, size,
			       r->free_bytes > r->written ? r->free_bytes - r->written : 0);
	r->written += (uint64_t)size;
	return 0;
}

/* The entry's data blocks, each within its declared size, into mem and/or fd. */
static int entry_copy(struct reader *r, const char *clean, int64_t size, int fd, char **mem,
		      size_t *mem_len)
{
	for (;;) {
		const void *blk;
		size_t len;
		la_int64_t off;
		int s = archive_read_data_block(r->ar, &blk, &len, &off);

		if (s == ARCHIVE_EOF)
			return 0;
		if (s != ARCHIVE_OK)
			return rd_stream_err(r, "in its data");
		if (off < 0 || (uint64_t)off > (uint64_t)size ||
		    len > (uint64_t)size - (uint64_t)off)
			return err_set(r->err, CKPT_EBADIMG,
				       "%s: entry '%s': data beyond its declared %" PRId64
				       " bytes, refused",
				       r->a->path, clean, size);
		if (mem && len) {
			memcpy(*mem + off, blk, len);
			if ((size_t)off + len > *mem_len)
				*mem_len = (size_t)off + len;
		}
		if (fd >= 0) {
			const char *p = blk;

			while (len) {
				ssize_t n = pwrite(fd, p, len, off);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					return err_sys(r->err, CKPT_ESYS, errno, "%s/%s: write",
						       r->a->dir, clean);
				p += n;
				len -= (size_t)n;
				off += n;
			}
		}
	}
}

static int entry_data(struct reader *r, const char *clean, int64_t size, char **mem,
		      size_t *mem_len)
{
	_cleanup_close_ int fd = -1;
	bool skip_data = false;
	int e;

	if (mem) {
		if (size > AR_META_MAX)
			return err_set(r->err, CKPT_ETOOBIG,
				       "%s: %s: %" PRId64
				       " bytes, over the %u MiB cap of a metadata file",
				       r->a->path, clean, size, AR_META_MAX >> 20);
		free(*mem);
		*mem = malloc((size_t)size + 1);
		if (!*mem)
			return err_set(r->err, CKPT_ENOMEM, "%s: out of memory", clean);
		*mem_len = 0;
	}
	if (r->extract) {
		e = entry_create(r, clean, size, mem != NULL, &fd, &skip_data);
		if (e < 0)
			return e;
	}
	if (!mem && (!r->extract || skip_data)) {
		if (skip_data && ftruncate(fd, size) < 0)
			return err_sys(r->err, CKPT_ESYS, errno, "%s/%s: ftruncate", r->a->dir,
				       clean);
		if (archive_read_data_skip(r->ar) != ARCHIVE_OK)
			return rd_stream_err(r, "in its data");
		return 0;
	}
	e = entry_copy(r, clean, size, fd, mem, mem_len);
	if (e < 0)
		return e;
	if (fd >= 0 && ftruncate(fd, size) < 0) /* a sparse tail */
		return err_sys(r->err, CKPT_ESYS, errno, "%s/%s: ftruncate", r->a->dir, clean);
	if (mem)
		(*mem)[*mem_len] = '\0';
	return 0;
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case AE_IFLNK: return "a symbolic link";
	case AE_IFCHR: return "a character device";
	case AE_IFBLK: return "a block device";
	case AE_IFIFO: return "a FIFO";
	case AE_IFSOCK: return "a socket";
	default: return "an entry of unknown type";
	}
}

/* Only regular files and directories: a link, device, FIFO or socket is refused. */
static int entry_type_check(struct reader *r, struct archive_entry *e, const char *shown)
{
	mode_t type = archive_entry_filetype(e);
	char target[256];

	if (archive_entry_hardlink(e)) {
		safe_name(target, sizeof(target), archive_entry_hardlink(e));
		return err_set(
			r->err, CKPT_EBADIMG,
			"%s: entry '%s': a hard link (to '%s'), refused: only regular files and directories",
			r->a->path, shown, target);
	}
	if (type == AE_IFLNK) {
		safe_name(target, sizeof(target), archive_entry_symlink(e));
		return err_set(
			r->err, CKPT_EBADIMG,
			"%s: entry '%s': a symbolic link (to '%s'), refused: only regular files and directories",
			r->a->path, shown, target);
	}
	if (type != AE_IFREG && type != AE_IFDIR)
		return err_set(r->err, CKPT_EBADIMG,
			       "%s: entry '%s': %s, refused: only regular files and directories",
			       r->a->path, shown, type_name(type));
	return 0;
}

/* A file's size (*ret) within the caps, counted into the archive's sizes. */
static int entry_size(struct reader *r, struct archive_entry *e, const char *clean,
		      const char *shown, int64_t *ret)
{
	ckpt_archive *a = r->a;
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;

	if (size < 0)
		return err_set(r->err, CKPT_EBADIMG, "%s: entry '%s': no size", a->path, shown);
	if ((uint64_t)size > r->lim.max_entry_bytes)
		return err_set(r->err, CKPT_ETOOBIG,
			       "%s: entry '%s': %" PRId64
			       " bytes, over the max_entry_bytes cap of %" PRIu64 " bytes, refused",
			       a->path, shown, size, r->lim.max_entry_bytes);
	if ((uint64_t)size > r->lim.max_total_bytes - a->size_total)
		return err_set(
			r->err, CKPT_ETOOBIG,
			"%s: entry '%s' takes the expanded size past the max_total_bytes cap of %" PRIu64
			" bytes, refused (a decompression bomb?)",
			a->path, shown, r->lim.max_total_bytes);
	a->size_total += (uint64_t)size;
	if (!strncmp(clean, CHECKPOINT_DIR "/", sizeof(CHECKPOINT_DIR))) {
		const char *base = clean + sizeof(CHECKPOINT_DIR);

		a->size_checkpoint += (uint64_t)size;
		if (!strncmp(base, "pages-", 6))
			a->size_pages += (uint64_t)size;
		if (!strcmp(base, "inventory.img"))
			a->has_inventory = true;
	} else if (!strcmp(clean, "rootfs-diff.tar")) {
		a->size_rootfs = (uint64_t)size;
	}
	*ret = size;
	return 0;
}

static int one_entry(struct reader *r, struct archive_entry *e)
{
	ckpt_archive *a = r->a;
	const char *raw = archive_entry_pathname(e);
	char clean[PATH_MAX], shown[256];
	mode_t type = archive_entry_filetype(e);
	unsigned depth = 0;
	int64_t size;
	int s, t;

	s = clean_name(r, raw, clean, &depth);
	if (s < 0)
		return s;
	safe_name(r->last, sizeof(r->last), clean);
	safe_name(shown, sizeof(shown), raw);
	if (++a->n_entries > r->lim.max_entries)
		return err_set(r->err, CKPT_ETOOBIG,
			       "%s: more than %" PRIu64 " entries (the max_entries cap), refused",
			       a->path, r->lim.max_entries);
	if ((t = entry_type_check(r, e, shown)) < 0)
		return t;
	if (s == 1) /* "./" itself */
		return type == AE_IFDIR ?
			       0 :
			       err_set(r->err, CKPT_EBADIMG,
				       "%s: entry '%s': a file without a name", a->path, shown);
	if (type == AE_IFDIR) {
		if (!strcmp(clean, CHECKPOINT_DIR))
			a->has_checkpoint_dir = true;
		if (r->extract) {
			int fd;
			s = open_dirs(r, clean, true, &fd, NULL);
			if (s < 0)
				return s;
			close(fd);
		}
		return 0;
	}
	s = entry_size(r, e, clean, shown, &size);
	if (s < 0)
		return s;
	if ((!strcmp(clean, "config.dump") && a->has_config) ||
	    (!strcmp(clean, "spec.dump") && a->has_spec))
		return err_set(r->err, CKPT_EBADIMG, "%s: entry '%s' appears twice, refused",
			       a->path, shown);
	if (!strcmp(clean, "config.dump")) {
		a->has_config = true;
		return entry_data(r, clean, size, &r->config, &r->config_len);
	}
	if (!strcmp(clean, "spec.dump")) {
		a->has_spec = true;
		return entry_data(r, clean, size, &r->spec, &r->spec_len);
	}
	return entry_data(r, clean, size, NULL, NULL);
}

/* Which compression, from the first bytes; CKPT_EBADIMG naming them if none we read. */
static int sniff(struct reader *r, int fd)
{
	unsigned char b[512];
	ssize_t n = pread(fd, b, sizeof(b), 0);

	if (n < 0)
		return err_sys(r->err, CKPT_ESYS, errno, "%s: read", r->a->path);
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		r->a->compression = CKPT_COMPRESSION_ZSTD;
	else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		r->a->compression = CKPT_COMPRESSION_GZIP;
	else if (n >= 6 && !memcmp(b,
				   "\xfd"
				   "7zXZ\0",
				   6))
		r->a->compression = CKPT_COMPRESSION_XZ;
	else if (n >= 3 && !memcmp(b, "BZh", 3))
		r->a->compression = CKPT_COMPRESSION_BZIP2;
	else if (n == 512 && !memcmp(b + 257, "ustar", 5))
		r->a->compression = CKPT_COMPRESSION_NONE;
	else if (n == 0)
		return err_set(r->err, CKPT_EBADIMG, "%s: empty, not a checkpoint archive",
			       r->a->path);
	else
		return err_set(
			r->err, CKPT_EBADIMG,
			"%s: not a checkpoint archive: starts with %02x %02x %02x %02x, expected a tar "
			"(\"ustar\" at offset 257), gzip (1f 8b) or zstd (28 b5 2f fd) stream",
			r->a->path, n > 0 ? b[0] : 0, n > 1 ? b[1] : 0, n > 2 ? b[2] : 0,
			n > 3 ? b[3] : 0);
	return 0;
}

/*
 * The directory to extract into: another user who can rename entries in it
 * could swap the directory we make for one of theirs, during the extraction
 * or before the restore reads it. So it must be ours or root's, and writable
 * by nobody else unless sticky (others then cannot rename our entries).
 */
static int dest_check(struct reader *r, const char *dest_dir)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(r->a->parent_fd, &st) < 0)
		return err_sys(r->err, CKPT_ESYS, errno, "%s: fstat", dest_dir);
	if (st.st_uid != me && st.st_uid != 0)
		return err_set(
			r->err, CKPT_EPERM,
			"%s: the directory to extract into is owned by uid %u: that user could "
			"swap what is extracted for their own (extract into a directory of "
			"yours or root's)",
			dest_dir, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return err_set(
			r->err, CKPT_EPERM,
			"%s: the directory to extract into has mode %04o: %s can write it "
			"without the sticky bit, and could swap what is extracted, or what a "
			"restore reads, for their own (extract into a directory only you can "
			"write)",
			dest_dir, (unsigned)(st.st_mode & 07777),
			st.st_mode & S_IWOTH ? "others" : "its group");
	return 0;
}

/* The directory just made, opened: ours, 0700, empty (not something swapped in). */
static int root_check(struct reader *r)
{
	struct stat st;

	if (fstat(r->root_fd, &st) < 0)
		return err_sys(r->err, CKPT_ESYS, errno, "%s: fstat", r->a->dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700 ||
	    st.st_nlink != 2)
		return err_set(r->err, CKPT_EPERM,
			       "%s: the directory made for the extraction is not ours, 0700 and "
			       "empty once opened (uid %u, mode %04o): it was swapped; refused",
			       r->a->dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A fresh 0700 directory "ckpt-archive-XXXXXX" in the dest dir, opened and checked. */
static int make_root(struct reader *r, const char *dest_dir)
{
	ckpt_archive *a = r->a;
	struct statvfs sv;
	int s;

	a->parent_fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->parent_fd < 0)
		return err_sys(r->err, CKPT_ESYS, errno,
			       "%s: cannot open the directory to extract into", dest_dir);
	s = dest_check(r, dest_dir);
	if (s < 0)
		return s;
	for (int tries = 0; tries < 100; tries++) {
		static const char chars[] =
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		unsigned char rnd[6];
		char name[32];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return err_sys(r->err, CKPT_ESYS, errno, "getrandom");
		snprintf(name, sizeof(name), "ckpt-archive-");
		for (size_t i = 0; i < sizeof(rnd); i++)
			name[13 + i] = chars[rnd[i] % (sizeof(chars) - 1)];
		name[13 + sizeof(rnd)] = '\0';
		if (mkdirat(a->parent_fd, name, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return err_sys(r->err, CKPT_ESYS, errno,
				       "%s: cannot create a directory in it", dest_dir);
		}
		a->name = strdup(name);
		if (!a->name || asprintf(&a->dir, "%s/%s", dest_dir, name) < 0) {
			a->dir = NULL;
			unlinkat(a->parent_fd, name, AT_REMOVEDIR);
			free(a->name);
			a->name = NULL;
			return err_set(r->err, CKPT_ENOMEM, "archive: out of memory");
		}
		r->root_fd =
			openat(a->parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (r->root_fd < 0)
			return err_sys(r->err, CKPT_ESYS, errno, "%s: open", a->dir);
		s = root_check(r);
		if (s < 0)
			return s;
		if (fstatvfs(r->root_fd, &sv) == 0) {
			uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;

			r->free_bytes = avail > AR_FREE_MARGIN ? avail - AR_FREE_MARGIN : 0;
		} else {
			r->free_bytes = UINT64_MAX;
		}
		return 0;
	}
	return err_set(r->err, CKPT_ESYS, "%s: no free name for a directory in it", dest_dir);
}

/* The archive file opened (*ret_fd): a regular file. */
static int open_archive_file(struct reader *r, const char *path, int *ret_fd)
{
	struct stat st;

	*ret_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*ret_fd < 0)
		return err_sys(r->err, errno == ENOENT ? CKPT_EINVAL : CKPT_ESYS, errno,
			       "%s: cannot open", path);
	if (fstat(*ret_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(r->err, CKPT_EINVAL, "%s: not a regular file (an archive is a file)",
			       path);
	r->a->size_file = (uint64_t)st.st_size;
	return 0;
}

/* "unrecognized" from libarchive at the start: not a tar in that stream. */
static int not_a_tar(struct reader *r, const char *path, int s)
{
	if (strstr(r->err ? r->err->msg : "", "nrecognized"))
		return err_set(r->err, CKPT_EBADIMG,
			       "%s: not a checkpoint archive: the %s stream does not hold a tar",
			       path, ckpt_compression_name(r->a->compression));
	return s;
}

/* The tar stream in fd (any compression), entry by entry. */
static int read_entries(struct reader *r, const char *path, int fd)
{
	struct archive_entry *e;
	int s;

	r->ar = archive_read_new();
	if (!r->ar)
		return err_set(r->err, CKPT_ENOMEM, "archive: out of memory");
	archive_read_support_format_tar(r->ar);
	archive_read_support_filter_none(r->ar);
	archive_read_support_filter_gzip(r->ar);
	archive_read_support_filter_zstd(r->ar);
	archive_read_support_filter_xz(r->ar);
	archive_read_support_filter_bzip2(r->ar);
	if (archive_read_open_fd(r->ar, fd, AR_BUF) != ARCHIVE_OK)
		return not_a_tar(r, path, rd_stream_err(r, "at its start"));
	for (;;) {
		s = archive_read_next_header(r->ar, &e);
		if (s == ARCHIVE_EOF)
			return 0;
		if (s == ARCHIVE_FATAL || s == ARCHIVE_RETRY) {
			s = rd_stream_err(r,
					  r->a->n_entries ? "at an entry header" : "at its start");
			return r->a->n_entries ? s : not_a_tar(r, path, s);
		}
		s = one_entry(r, e);
		if (s < 0)
			return s;
	}
}

void ckpt_archive_limits_init(ckpt_archive_limits *limits)
{
	if (limits)
		*limits = (ckpt_archive_limits){ .version = CKPT_ARCHIVE_LIMITS_VERSION };
}

static int archive_pass(const char *path, const ckpt_archive_limits *limits, const char *dest_dir,
			unsigned flags, ckpt_archive **ret, ckpt_err *err)
{
	struct reader r = { .err = err, .root_fd = -1, .flags = flags, .extract = dest_dir != NULL };
	_cleanup_close_ int fd = -1;
	int s = 0;

	assert_return(path && *path, err, "archive: no path");
	assert_return(ret, err, "archive: ret is NULL");
	assert_return(!(flags & ~CKPT_ARCHIVE_SKIP_BULK), err, "archive: unknown flags 0x%x",
		      flags & ~CKPT_ARCHIVE_SKIP_BULK);
	ckpt_archive_limits_init(&r.lim);
	if (limits) {
		assert_return(
			limits->version >= 1 && limits->version <= CKPT_ARCHIVE_LIMITS_VERSION, err,
			"archive: ckpt_archive_limits version %u unknown", limits->version);
		r.lim = *limits;
	}
	if (!r.lim.max_entries)
		r.lim.max_entries = AR_MAX_ENTRIES;
	if (!r.lim.max_entry_bytes)
		r.lim.max_entry_bytes = AR_MAX_ENTRY;
	if (!r.lim.max_total_bytes)
		r.lim.max_total_bytes = AR_MAX_TOTAL;
	s = dl_need_archive(err); /* libarchive, loaded now if it was not */
	if (s < 0)
		return s;

	r.a = calloc(1, sizeof(*r.a));
	if (!r.a)
		return err_set(err, CKPT_ENOMEM, "archive: out of memory");
	r.a->parent_fd = -1;
	r.a->root_fd = -1;
	r.a->path = strdup(path);
	if (!r.a->path)
		s = err_set(err, CKPT_ENOMEM, "archive: out of memory");
	if (s == 0)
		s = open_archive_file(&r, path, &fd);
	if (s == 0)
		s = sniff(&r, fd);
	if (s == 0 && dest_dir)
		s = make_root(&r, dest_dir);
	if (s == 0)
		s = read_entries(&r, path, fd);
	if (s == 0)
		s = ar_interpret(&r);
	if (s == 0) {
		r.a->root_fd = r.root_fd; /* the restore reads through it */
		r.root_fd = -1;
		*ret = r.a;
		r.a = NULL;
	}
	if (r.ar)
		archive_read_free(r.ar);
	if (r.root_fd >= 0)
		close(r.root_fd);
	if (r.a && r.a->parent_fd >= 0 && r.a->name)
		rm_tree_at_errno(r.a->parent_fd, r.a->name, 0); /* nothing half-extracted is left */
	ckpt_archive_free(r.a);
	free(r.config);
	free(r.spec);
	return s;
}

int ckpt_archive_read(const char *archive_path, const ckpt_archive_limits *limits,
		      ckpt_archive **ret, ckpt_err *err)
{
	return archive_pass(archive_path, limits, NULL, 0, ret, err);
}

int ckpt_archive_extract(const char *archive_path, const ckpt_archive_limits *limits,
			 const char *dest_dir, unsigned flags, ckpt_archive **ret, ckpt_err *err)
{
	assert_return(dest_dir && *dest_dir, err, "archive: no directory to extract into");
	return archive_pass(archive_path, limits, dest_dir, flags, ret, err);
}
