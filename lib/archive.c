/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives (libarchive): written from an images directory and
 * read, checked and extracted whatever engine wrote them.
 *
 * The layout is the one Podman, CRI-O, containerd and checkpointctl share:
 * checkpoint/ (an explicit directory entry, then CRIU's images), config.dump
 * and spec.dump (JSON), stats-dump and dump.log at the top level.
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
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <zstd.h>

#include "error.h"
#include "images.h"
#include "opts.h"
#include "archive-int.h"
#include "jsonw.h"

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

/* ---- names ---- */

static const char *const compression_names[] = {
	[CKPT_COMPRESSION_NONE] = "none",   [CKPT_COMPRESSION_GZIP] = "gzip",
	[CKPT_COMPRESSION_ZSTD] = "zstd",   [CKPT_COMPRESSION_XZ] = "xz",
	[CKPT_COMPRESSION_BZIP2] = "bzip2",
};

const char *ckpt_compression_name(ckpt_compression c)
{
	return (unsigned)c < ARRAY_SIZE(compression_names) ? compression_names[c] : NULL;
}

int ckpt_compression_from_string(const char *name, ckpt_compression *out, ckpt_err *err)
{
	assert_return(name && out, err, "compression: NULL argument");
	for (size_t i = 0; i < ARRAY_SIZE(compression_names); i++) {
		if (strcmp(name, compression_names[i]) == 0) {
			*out = (ckpt_compression)i;
			return 0;
		}
	}
	return err_set(
		err, CKPT_EINVAL,
		"compression '%s': unknown (expected none, gzip or zstd; xz and bzip2 are read only)",
		name);
}

const char *ckpt_archive_engine_name(ckpt_archive_engine e)
{
	switch (e) {
	case CKPT_ENGINE_LIBCKPT: return "libckpt";
	case CKPT_ENGINE_PODMAN: return "Podman";
	case CKPT_ENGINE_CRIO: return "CRI-O";
	case CKPT_ENGINE_CONTAINERD: return "containerd";
	default: return "unknown";
	}
}

/* ---- shared helpers ---- */

/* A copy fit for a message: control characters as '?', cut at n - 1 bytes. */
static void safe_name(char *dst, size_t n, const char *s)
{
	sanitize_copy(dst, n, s ? s : "(null)");
}

static void rfc3339(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

/*
 * Remove name in parent_fd and everything under it, never following a
 * symlink and never leaving the tree. 0 or -errno.
 */
static int rm_tree_at(int parent_fd, const char *name, unsigned depth)
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
		e = rm_tree_at(dirfd(d), de->d_name, depth + 1);
		if (e < 0 && !r)
			r = e;
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && !r)
		r = -errno;
	return r;
}

/* ---- writing ---- */

/*
 * zstd is done here with libzstd rather than by libarchive's filter: its
 * multi-threaded mode (ZSTD_c_nbWorkers) fed 1 MiB at a time keeps pace
 * with `tar | zstd -T0`, where libarchive 3.6's "threads" option spent
 * three times the CPU on incompressible memory (bench/archive-results.md).
 */
struct zout {
	ZSTD_CCtx *cctx;
	int fd;
	void *obuf;
	size_t osize;
	int sys_errno;	  /* a write that failed */
	const char *zerr; /* a zstd error */
};

static int zout_write_all(struct zout *z, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(z->fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			z->sys_errno = errno;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int zout_push(struct zout *z, const void *data, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { z->obuf, z->osize, 0 };
		size_t left = ZSTD_compressStream2(z->cctx, &out, &in, mode);

		if (ZSTD_isError(left)) {
			z->zerr = ZSTD_getErrorName(left);
			return -1;
		}
		if (out.pos && zout_write_all(z, z->obuf, out.pos) < 0)
			return -1;
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static la_ssize_t zout_cb_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct zout *z = ctx;

	if (zout_push(z, buf, len, ZSTD_e_continue) < 0) {
		archive_set_error(a, z->sys_errno ? z->sys_errno : EIO, "zstd: %s",
				  z->sys_errno ? strerror(z->sys_errno) : z->zerr);
		return -1;
	}
	return (la_ssize_t)len;
}

static int zout_cb_close(struct archive *a, void *ctx)
{
	struct zout *z = ctx;

	if (zout_push(z, NULL, 0, ZSTD_e_end) < 0) {
		archive_set_error(a, z->sys_errno ? z->sys_errno : EIO, "zstd: %s",
				  z->sys_errno ? strerror(z->sys_errno) : z->zerr);
		return ARCHIVE_FATAL;
	}
	return ARCHIVE_OK;
}

struct writer {
	struct archive *a;
	const char *out; /* archive_path, for messages */
	char *buf;
	struct zout z;
	ckpt_err *err;
};

static int ar_fail(struct writer *w, const char *what)
{
	int e = archive_errno(w->a);
	const char *m = archive_error_string(w->a);

	if (e == ENOSPC || e == EIO || e == EDQUOT)
		return err_sys(w->err, CKPT_ESYS, e, "%s: %s: %s", w->out, what, m ? m : "failed");
	return err_set(w->err, CKPT_ESYS, "%s: %s: %s", w->out, what, m ? m : "failed");
}

static int put_header(struct writer *w, const char *name, mode_t type_mode, int64_t size,
		      const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return err_set(w->err, CKPT_ENOMEM, "%s: out of memory", w->out);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type_mode & S_IFMT);
	archive_entry_set_perm(e, type_mode & 07777);
	if ((type_mode & S_IFMT) == S_IFREG)
		archive_entry_set_size(e, size);
	if (st) {
		archive_entry_set_uid(e, st->st_uid);
		archive_entry_set_gid(e, st->st_gid);
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	} else {
		archive_entry_set_mtime(e, time(NULL), 0);
	}
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		r = ar_fail(w, name);
	archive_entry_free(e);
	return r;
}

static int put_memory(struct writer *w, const char *name, const char *data, size_t len)
{
	int r = put_header(w, name, S_IFREG | 0600, (int64_t)len, NULL);

	if (r < 0)
		return r;
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return ar_fail(w, name);
	return 0;
}

/* A regular file of dfd (name) as entry arname. */
static int put_file(struct writer *w, int dfd, const char *name, const char *arname,
		    const char *dir_for_msgs)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint64_t left;
	int r;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_sys(w->err, CKPT_EIMAGES, errno, "%s/%s: cannot open", dir_for_msgs,
			       name);
	if (fstat(fd, &st) < 0)
		return err_sys(w->err, CKPT_EIMAGES, errno, "%s/%s: fstat", dir_for_msgs, name);
	if (!S_ISREG(st.st_mode))
		return err_set(w->err, CKPT_EIMAGES, "%s/%s: not a regular file", dir_for_msgs,
			       name);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = put_header(w, arname, S_IFREG | (st.st_mode & 0777), st.st_size, &st);
	if (r < 0)
		return r;
	for (left = (uint64_t)st.st_size; left;) {
		ssize_t n = read(fd, w->buf, left < AR_BUF ? (size_t)left : AR_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(w->err, CKPT_EIMAGES, errno, "%s/%s: read", dir_for_msgs,
				       name);
		if (n == 0)
			return err_set(w->err, CKPT_EIMAGES,
				       "%s/%s: shrank while being archived (%" PRIu64
				       " bytes missing)",
				       dir_for_msgs, name, left);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n)
			return ar_fail(w, arname);
		left -= (uint64_t)n;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Files that go to the top level of the archive, not into checkpoint/ (a runtime's work dir). */
static bool top_level_file(const char *name)
{
	return !strcmp(name, "stats-dump") || !strcmp(name, "stats-restore") ||
	       !strcmp(name, "dump.log") || !strcmp(name, "restore.log");
}

/* The regular files of the images dir, sorted. */
static int list_images(int dfd, const char *dir, char ***ret, size_t *ret_n, ckpt_err *err)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: open", dir);
	d = fdopendir(fd);
	if (!d) {
		r = err_sys(err, CKPT_EIMAGES, errno, "%s: fdopendir", dir);
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_sys(err, CKPT_EIMAGES, errno, "%s/%s: stat", dir, de->d_name);
			break;
		}
		if (S_ISLNK(st.st_mode) && !strcmp(de->d_name, "parent"))
			continue; /* an incremental dump's link; refused below if pages are there */
		if (!S_ISREG(st.st_mode)) {
			r = err_set(
				err, CKPT_EIMAGES,
				"%s/%s: not a regular file; an images directory holds only files",
				dir, de->d_name);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = reallocarray(names, ncap, sizeof(*nn));

			if (!nn) {
				r = err_set(err, CKPT_ENOMEM, "%s: out of memory", dir);
				break;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = err_set(err, CKPT_ENOMEM, "%s: out of memory", dir);
			break;
		}
		n++;
	}
	if (!r && errno)
		r = err_sys(err, CKPT_EIMAGES, errno, "%s: readdir", dir);
	closedir(d);
	if (r < 0) {
		free_names(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void put_argv(struct jsonw *j, const char *key, const char *argv, size_t len)
{
	size_t i = 0;

	jw_array_begin(j, key);
	while (argv && i < len) {
		size_t n = strnlen(argv + i, len - i);

		if (n || i + n < len)
			jw_stringn(j, NULL, argv + i, n);
		i += n + 1;
	}
	jw_array_end(j);
}

/* config.dump and spec.dump of a process checkpoint: only what is known. */
static int make_metadata(const ckpt_image_info *info, const ckpt_archive_write_opts *o,
			 int64_t checkpointed, char **ret_config, char **ret_spec, ckpt_err *err)
{
	struct jsonw j;
	const char *argv, *cwd = image_info_root_cwd(info), *id = image_info_run_id(info);
	const char *name = o->name ? o->name : ckpt_image_info_comm(info, 0);
	size_t argv_len = 0;
	char t[32];

	argv = image_info_root_argv(info, &argv_len);
	jw_init(&j, true);
	jw_object_begin(&j, NULL);
	jw_string(&j, "id", id ? id : "");
	jw_string(&j, "name", name ? name : "");
	jw_string(&j, "runtime", "libckpt");
	if (o->created_time > 0) {
		rfc3339(o->created_time, t, sizeof(t));
		jw_string(&j, "createdTime", t);
	}
	rfc3339(checkpointed, t, sizeof(t));
	jw_string(&j, "checkpointedTime", t);
	jw_string(&j, "libckptVersion", ckpt_version());
	if (o->criu_version)
		jw_string(&j, "criuVersion", o->criu_version);
	jw_int(&j, "pid", ckpt_image_info_pid(info, 0));
	if (argv)
		put_argv(&j, "command", argv, argv_len);
	jw_object_end(&j);
	*ret_config = jw_finish(&j);

	jw_init(&j, true);
	jw_object_begin(&j, NULL);
	jw_string(&j, "ociVersion", "1.0.2");
	jw_object_begin(&j, "process");
	put_argv(&j, "args", argv, argv_len);
	jw_string(&j, "cwd", cwd ? cwd : "/");
	jw_object_end(&j);
	jw_object_begin(&j, "annotations");
	jw_string(&j, "io.container.manager", "libckpt");
	jw_string(&j, "org.libckpt.version", ckpt_version());
	if (o->criu_version)
		jw_string(&j, "org.criu.version", o->criu_version);
	jw_object_end(&j);
	jw_object_end(&j);
	*ret_spec = jw_finish(&j);

	if (!*ret_config || !*ret_spec) {
		free(*ret_config);
		free(*ret_spec);
		*ret_config = *ret_spec = NULL;
		return err_set(err, CKPT_ENOMEM, "archive metadata: out of memory");
	}
	return 0;
}

static int writer_setup(struct writer *w, const ckpt_archive_write_opts *o, int fd)
{
	char v[24];
	unsigned threads = o->threads;

	w->a = archive_write_new();
	if (!w->a)
		return err_set(w->err, CKPT_ENOMEM, "%s: out of memory", w->out);
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK)
		return ar_fail(w, "tar format");
	switch (o->compression) {
	case CKPT_COMPRESSION_NONE: break;
	case CKPT_COMPRESSION_GZIP:
		if (archive_write_add_filter_gzip(w->a) != ARCHIVE_OK)
			return ar_fail(w, "gzip");
		if (o->level) {
			snprintf(v, sizeof(v), "%d", o->level);
			if (archive_write_set_filter_option(w->a, "gzip", "compression-level", v))
				return ar_fail(w, "gzip level");
		}
		break;
	case CKPT_COMPRESSION_ZSTD: {
		size_t e;

		if (!threads) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);

			threads = n > 0 ? (unsigned)n : 1;
		}
		w->z.fd = fd;
		w->z.cctx = ZSTD_createCCtx();
		w->z.osize = ZSTD_CStreamOutSize();
		w->z.obuf = malloc(w->z.osize);
		if (!w->z.cctx || !w->z.obuf)
			return err_set(w->err, CKPT_ENOMEM, "%s: out of memory", w->out);
		e = ZSTD_CCtx_setParameter(w->z.cctx, ZSTD_c_compressionLevel,
					   o->level ? o->level : 3);
		if (!ZSTD_isError(e))
			e = ZSTD_CCtx_setParameter(w->z.cctx, ZSTD_c_checksumFlag, 1);
		if (ZSTD_isError(e))
			return err_set(w->err, CKPT_EINVAL, "%s: zstd: %s", w->out,
				       ZSTD_getErrorName(e));
		/* A libzstd built without threads refuses workers: one thread then. */
		if (threads > 1)
			ZSTD_CCtx_setParameter(w->z.cctx, ZSTD_c_nbWorkers, (int)threads);
		break;
	}
	default:
		return err_set(w->err, CKPT_EINVAL, "%s: cannot write %s archives", w->out,
			       ckpt_compression_name(o->compression) ?: "unknown");
	}
	/* Large blocks, so the compressor gets big pieces; no padding of the last one. */
	archive_write_set_bytes_per_block(w->a, AR_BUF);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (w->z.cctx ? archive_write_open(w->a, &w->z, NULL, zout_cb_write, zout_cb_close) :
			archive_write_open_fd(w->a, fd))
		return ar_fail(w, "open");
	return 0;
}

/* The checkpoint in dfd: self-contained; its metadata (config.dump, spec.dump) and image names. */
static int read_checkpoint(int dfd, const char *dir, const char *archive_path,
			   const ckpt_archive_write_opts *o, ckpt_image_info **info, char **config,
			   char **spec, char ***names, size_t *n_names, ckpt_err *err)
{
	struct stat st;
	int64_t checkpointed;
	int r;

	/* A checkpoint at all? And what it can say about itself. */
	r = image_info_read_at(dfd, NULL, -1, NULL, CKPT_IMAGE_READ_CMDLINE | CKPT_IMAGE_READ_FILES,
			       false, info, err);
	if (r < 0) {
		err_prefix(err, "archive %s: %s is not a checkpoint", archive_path, dir);
		return r;
	}
	if (image_info_pages_in_parent(*info))
		return err_set(
			err, CKPT_EIMAGES,
			"%s: an incremental checkpoint (%" PRIu64
			" pages are in its parent directory): an archive must be self-contained",
			dir, image_info_pages_in_parent(*info));
	checkpointed = o->checkpointed_time;
	if (checkpointed <= 0)
		checkpointed = fstatat(dfd, "inventory.img", &st, AT_SYMLINK_NOFOLLOW) == 0 ?
				       st.st_mtim.tv_sec :
				       time(NULL);
	r = make_metadata(*info, o, checkpointed, config, spec, err);
	if (r < 0)
		return r;
	return list_images(dfd, dir, names, n_names, err);
}

/* A new file beside archive_path (0600: archives hold process memory): *ret_tmp its name. */
static int create_beside(const char *archive_path, bool overwrite, char **ret_tmp, int *ret_fd,
			 ckpt_err *err)
{
	const char *slash = strrchr(archive_path, '/');
	int len = slash ? (int)(slash - archive_path) : 0;
	struct stat st;

	if (!overwrite && fstatat(AT_FDCWD, archive_path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(err, CKPT_EEXIST, "%s: exists; refusing to overwrite it",
			       archive_path);
	if (asprintf(ret_tmp, "%.*s%s.%s.tmp-XXXXXX", len, archive_path, slash ? "/" : "",
		     slash ? slash + 1 : archive_path) < 0) {
		*ret_tmp = NULL;
		return err_set(err, CKPT_ENOMEM, "archive: out of memory");
	}
	*ret_fd = mkostemp(*ret_tmp, O_CLOEXEC);
	if (*ret_fd < 0)
		return err_sys(err, CKPT_ESYS, errno, "%s: cannot create a file beside it",
			       archive_path);
	return 0;
}

/* Every entry: the metadata, CRIU's stats and log, then the images under CHECKPOINT_DIR. */
static int put_entries(struct writer *w, int dfd, int sfd, const char *dir, const char *config,
		       const char *spec, char **names, size_t n_names)
{
	struct stat st;
	int r;

	r = put_memory(w, "config.dump", config, strlen(config));
	if (r == 0)
		r = put_memory(w, "spec.dump", spec, strlen(spec));
	/* CRIU's stats and log: from the work dir if apart, else from the images dir. */
	for (size_t i = 0; r == 0 && i < 2; i++) {
		static const char *const top[] = { "stats-dump", "dump.log" };
		int from = sfd >= 0 ? sfd : dfd;

		if (fstatat(from, top[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			r = put_file(w, from, top[i], top[i], sfd >= 0 ? "stats dir" : dir);
	}
	if (r == 0)
		r = put_header(w, CHECKPOINT_DIR, S_IFDIR | 0700, 0, NULL);
	for (size_t i = 0; r == 0 && i < n_names; i++) {
		char arname[PATH_MAX];

		if (top_level_file(names[i]))
			continue;
		snprintf(arname, sizeof(arname), CHECKPOINT_DIR "/%s", names[i]);
		r = put_file(w, dfd, names[i], arname, dir);
	}
	return r;
}

/* The archive finished, synced and renamed from tmp to archive_path. */
static int publish(struct writer *w, const ckpt_archive_write_opts *o, int out, const char *tmp,
		   const char *archive_path, ckpt_err *err)
{
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return ar_fail(w, "finish");
	if (!o->no_fsync && fsync(out) < 0)
		return err_sys(err, CKPT_ESYS, errno, "%s: fsync", tmp);
	if (o->overwrite ? rename(tmp, archive_path) < 0 :
			   renameat2(AT_FDCWD, tmp, AT_FDCWD, archive_path, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			return err_set(err, CKPT_EEXIST,
				       "%s: appeared meanwhile; refusing to overwrite it",
				       archive_path);
		return err_sys(err, CKPT_ESYS, errno, "%s: cannot rename %s to it", archive_path,
			       tmp);
	}
	return 0;
}

int ckpt_archive_write(int dirfd, const char *path, const char *archive_path,
		       const ckpt_archive_write_opts *opts, ckpt_err *err)
{
	const ckpt_archive_write_opts defaults = CKPT_ARCHIVE_WRITE_OPTS_INIT;
	const ckpt_archive_write_opts *o = opts ? opts : &defaults;
	const char *dir = path && *path ? path : ".";
	struct writer w = { .out = archive_path, .err = err };
	ckpt_image_info *info = NULL;
	_cleanup_close_ int dfd = -1, sfd = -1, out = -1;
	_cleanup_free_ char *config = NULL, *spec = NULL, *tmp = NULL;
	char **names = NULL;
	size_t n_names = 0;
	int r;

	assert_return(archive_path && *archive_path, err, "archive: no archive path");
	assert_return(dirfd >= 0 || dirfd == AT_FDCWD, err, "archive: bad dirfd %d", dirfd);
	assert_return(o->version >= 1 && o->version <= CKPT_ARCHIVE_WRITE_VERSION, err,
		      "archive: ckpt_archive_write_opts version %u unknown (this library knows %d)",
		      o->version, CKPT_ARCHIVE_WRITE_VERSION);
	assert_return(o->compression == CKPT_COMPRESSION_NONE ||
			      o->compression == CKPT_COMPRESSION_GZIP ||
			      o->compression == CKPT_COMPRESSION_ZSTD,
		      err, "archive: compression %d: expected none, gzip or zstd", o->compression);
	assert_return(
		o->level >= 0 && o->level <= (o->compression == CKPT_COMPRESSION_ZSTD ? 19 : 9),
		err, "archive: compression level %d out of range (zstd 1-19, gzip 1-9, 0: default)",
		o->level);
	assert_return(o->threads <= 256, err, "archive: %u threads: at most 256", o->threads);

	dfd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot open the images directory",
			       dir);
	if (o->stats_dirfd != -1) {
		sfd = openat(o->stats_dirfd, o->stats_path && *o->stats_path ? o->stats_path : ".",
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			return err_sys(err, CKPT_EIMAGES, errno,
				       "%s: cannot open the stats directory",
				       o->stats_path ? o->stats_path : "stats dirfd");
	}
	r = read_checkpoint(dfd, dir, archive_path, o, &info, &config, &spec, &names, &n_names,
			    err);
	if (r == 0)
		r = create_beside(archive_path, o->overwrite, &tmp, &out, err);
	if (r == 0) {
		w.buf = malloc(AR_BUF);
		if (!w.buf)
			r = err_set(err, CKPT_ENOMEM, "archive: out of memory");
	}
	if (r == 0)
		r = writer_setup(&w, o, out);
	if (r == 0)
		r = put_entries(&w, dfd, sfd, dir, config, spec, names, n_names);
	if (r == 0)
		r = publish(&w, o, out, tmp, archive_path, err);
	if (w.a)
		archive_write_free(w.a); /* closes nothing of ours: the fd is closed below */
	ZSTD_freeCCtx(w.z.cctx);
	free(w.z.obuf);
	if (r < 0 && out >= 0)
		unlink(tmp);
	free(w.buf);
	free_names(names, n_names);
	ckpt_image_info_free(info);
	return r;
}

/* ---- reading ---- */

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

void ckpt_archive_free(ckpt_archive *a)
{
	if (!a)
		return;
	free(a->path);
	free(a->manager);
	for (size_t i = 0; i < META_NR; i++)
		free(a->meta[i]);
	for (size_t i = 0; i < a->n_mounts; i++) {
		free(a->mounts[i].destination);
		free(a->mounts[i].type);
		free(a->mounts[i].source);
	}
	free(a->mounts);
	if (a->parent_fd >= 0)
		close(a->parent_fd);
	if (a->root_fd >= 0)
		close(a->root_fd);
	free(a->name);
	free(a->dir);
	free(a);
}

int ckpt_archive_remove(ckpt_archive *a, ckpt_err *err)
{
	int r;

	assert_return(a, err, "archive: NULL");
	if (a->parent_fd < 0 || !a->name)
		return 0;
	r = rm_tree_at(a->parent_fd, a->name, 0);
	if (r < 0)
		return err_sys(err, CKPT_ESYS, -r, "%s: cannot remove", a->dir);
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

const char *ckpt_archive_dir(const ckpt_archive *a)
{
	return a ? a->dir : NULL;
}

ckpt_archive_engine ckpt_archive_get_engine(const ckpt_archive *a)
{
	return a ? a->engine : CKPT_ENGINE_UNKNOWN;
}

ckpt_compression ckpt_archive_get_compression(const ckpt_archive *a)
{
	return a ? a->compression : CKPT_COMPRESSION_NONE;
}

const char *ckpt_archive_get(const ckpt_archive *a, ckpt_archive_key key)
{
	if (!a || (int)key < 1 || (int)key >= META_NR)
		return NULL;
	return a->meta[key];
}

uint64_t ckpt_archive_get_size(const ckpt_archive *a, ckpt_archive_size key)
{
	if (!a)
		return 0;
	switch (key) {
	case CKPT_ARCHIVE_SIZE_CHECKPOINT: return a->size_checkpoint;
	case CKPT_ARCHIVE_SIZE_PAGES: return a->size_pages;
	case CKPT_ARCHIVE_SIZE_ROOTFS_DIFF: return a->size_rootfs;
	case CKPT_ARCHIVE_SIZE_EXPANDED: return a->size_total;
	case CKPT_ARCHIVE_SIZE_ENTRIES: return a->n_entries;
	case CKPT_ARCHIVE_SIZE_FILE: return a->size_file;
	default: return 0;
	}
}

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

/* A sanitized copy of a JSON string member, or NULL. */
static char *json_text(json_object *o, const char *key)
{
	json_object *v;
	char *d;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !json_object_get_string_len(v))
		return NULL;
	d = malloc(AR_TEXT_MAX);
	if (d)
		sanitize_copy(d, AR_TEXT_MAX, json_object_get_string(v));
	return d;
}

static json_object *json_parse(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)(len > INT_MAX ? INT_MAX : len));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int set_meta(ckpt_archive *a, ckpt_archive_key k, char *v)
{
	if (!v)
		return 0;
	free(a->meta[k]);
	a->meta[k] = v;
	return 0;
}

/* Engine, names and times, the way checkpointctl tells them apart. */
/* Who wrote the archive, from the spec's io.container.manager annotation. */
static void set_engine(ckpt_archive *a, json_object *ann)
{
	a->manager = json_text(ann, "io.container.manager");
	if (!a->has_spec)
		a->engine = CKPT_ENGINE_UNKNOWN;
	else if (a->manager && !strcmp(a->manager, "libckpt"))
		a->engine = CKPT_ENGINE_LIBCKPT;
	else if (a->manager && !strcmp(a->manager, "libpod"))
		a->engine = CKPT_ENGINE_PODMAN;
	else if (a->manager && !strcmp(a->manager, "cri-o"))
		a->engine = CKPT_ENGINE_CRIO;
	else
		a->engine = CKPT_ENGINE_CONTAINERD;
}

/* The metadata: config.dump's keys, then what the engine's annotations say. */
static void set_metadata(ckpt_archive *a, json_object *config, json_object *ann)
{
	set_meta(a, CKPT_ARCHIVE_ID, json_text(config, "id"));
	set_meta(a, CKPT_ARCHIVE_IMAGE, json_text(config, "rootfsImageName"));
	if (!a->meta[CKPT_ARCHIVE_IMAGE])
		set_meta(a, CKPT_ARCHIVE_IMAGE, json_text(config, "rootfsImageRef"));
	set_meta(a, CKPT_ARCHIVE_RUNTIME, json_text(config, "runtime"));
	set_meta(a, CKPT_ARCHIVE_CREATED, json_text(config, "createdTime"));
	set_meta(a, CKPT_ARCHIVE_CHECKPOINTED, json_text(config, "checkpointedTime"));
	set_meta(a, CKPT_ARCHIVE_CRIU_VERSION, json_text(config, "criuVersion"));
	set_meta(a, CKPT_ARCHIVE_WRITER_VERSION, json_text(config, "libckptVersion"));
	switch (a->engine) {
	case CKPT_ENGINE_CRIO: {
		json_object *md = NULL;
		char *raw = json_text(ann, "io.kubernetes.cri-o.Metadata");

		if (raw) {
			md = json_parse(raw, strlen(raw));
			free(raw);
		}
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(md, "name"));
		json_object_put(md);
		set_meta(a, CKPT_ARCHIVE_CREATED, json_text(ann, "io.kubernetes.cri-o.Created"));
		set_meta(a, CKPT_ARCHIVE_POD, json_text(ann, "io.kubernetes.pod.name"));
		set_meta(a, CKPT_ARCHIVE_NAMESPACE, json_text(ann, "io.kubernetes.pod.namespace"));
		break;
	}
	case CKPT_ENGINE_CONTAINERD:
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(ann, "io.kubernetes.cri.container-name"));
		set_meta(a, CKPT_ARCHIVE_POD, json_text(ann, "io.kubernetes.cri.sandbox-name"));
		set_meta(a, CKPT_ARCHIVE_NAMESPACE,
			 json_text(ann, "io.kubernetes.cri.sandbox-namespace"));
		break;
	default: break;
	}
	if (!a->meta[CKPT_ARCHIVE_NAME])
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(config, "name"));
	if (!a->meta[CKPT_ARCHIVE_CRIU_VERSION])
		set_meta(a, CKPT_ARCHIVE_CRIU_VERSION, json_text(ann, "org.criu.version"));
}

/* The spec's mounts (at most AR_MOUNTS_MAX), those with a destination. */
static int set_mounts(struct reader *r, json_object *spec)
{
	ckpt_archive *a = r->a;
	json_object *mounts;
	size_t n;

	if (!spec || !json_object_object_get_ex(spec, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	n = json_object_array_length(mounts);
	if (n > AR_MOUNTS_MAX)
		n = AR_MOUNTS_MAX;
	a->mounts = calloc(n ? n : 1, sizeof(*a->mounts));
	if (!a->mounts)
		return err_set(r->err, CKPT_ENOMEM, "%s: out of memory", a->path);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		struct mount_ent *me = &a->mounts[a->n_mounts];

		me->destination = json_text(m, "destination");
		if (!me->destination)
			continue;
		me->type = json_text(m, "type");
		me->source = json_text(m, "source");
		a->n_mounts++;
	}
	return 0;
}

static int interpret(struct reader *r)
{
	ckpt_archive *a = r->a;
	json_object *config = NULL, *spec = NULL, *ann = NULL;
	int ret = 0;

	if (r->config) {
		config = json_parse(r->config, r->config_len);
		if (!config || !json_object_is_type(config, json_type_object)) {
			ret = err_set(r->err, CKPT_EBADIMG, "%s: config.dump is not a JSON object",
				      a->path);
			goto out;
		}
	}
	if (r->spec) {
		spec = json_parse(r->spec, r->spec_len);
		if (!spec || !json_object_is_type(spec, json_type_object)) {
			ret = err_set(r->err, CKPT_EBADIMG, "%s: spec.dump is not a JSON object",
				      a->path);
			goto out;
		}
		if (json_object_object_get_ex(spec, "annotations", &ann) &&
		    !json_object_is_type(ann, json_type_object))
			ann = NULL;
	}
	set_engine(a, ann);
	set_metadata(a, config, ann);
	ret = set_mounts(r, spec);
out:
	json_object_put(config);
	json_object_put(spec);
	return ret;
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
	r.lim = (ckpt_archive_limits)CKPT_ARCHIVE_LIMITS_INIT;
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
		s = interpret(&r);
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
		rm_tree_at(r.a->parent_fd, r.a->name, 0); /* nothing half-extracted is left */
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

static const char *restore_tool(ckpt_archive_engine e)
{
	switch (e) {
	case CKPT_ENGINE_PODMAN: return "`podman container restore --import ARCHIVE`";
	case CKPT_ENGINE_CRIO:
		return "CRI-O through Kubernetes (a pod whose container image is the archive)";
	case CKPT_ENGINE_CONTAINERD:
		return "containerd through Kubernetes (the kubelet's CRI restore of the checkpoint)";
	default: return "`ckpt restore --import ARCHIVE`";
	}
}

int ckpt_archive_check_restorable(const ckpt_archive *a, ckpt_err *err)
{
	assert_return(a, err, "archive: NULL");
	if (a->engine != CKPT_ENGINE_LIBCKPT && a->engine != CKPT_ENGINE_UNKNOWN) {
		const char *name = a->meta[CKPT_ARCHIVE_NAME];

		return err_set(
			err, CKPT_ENOTSUP,
			"%s: a %s container checkpoint%s%s%s; libckpt restores process checkpoints only: "
			"restore it with %s",
			a->path, ckpt_archive_engine_name(a->engine), name ? " (container '" : "",
			name ? name : "", name ? "')" : "", restore_tool(a->engine));
	}
	if (!a->has_inventory)
		return err_set(err, CKPT_EBADIMG,
			       "%s: holds no checkpoint/inventory.img: not a checkpoint archive",
			       a->path);
	return 0;
}

int ckpt_archive_image_info(const ckpt_archive *a, unsigned flags, ckpt_image_info **ret,
			    ckpt_err *err)
{
	char images[64];

	assert_return(a, err, "archive: NULL");
	assert_return(a->parent_fd >= 0 && a->name, err,
		      "%s: not extracted (ckpt_archive_extract reads the images)", a->path);
	if (!a->has_checkpoint_dir && !a->has_inventory)
		return err_set(err, CKPT_EBADIMG, "%s: holds no checkpoint/ directory", a->path);
	snprintf(images, sizeof(images), "%s/" CHECKPOINT_DIR, a->name);
	return image_info_read_at(a->parent_fd, images, a->parent_fd, a->name, flags, false, ret,
				  err);
}

char *ckpt_archive_to_json(const ckpt_archive *a)
{
	static const struct {
		ckpt_archive_key key;
		const char *name;
	} keys[] = {
		{ CKPT_ARCHIVE_NAME, "name" },
		{ CKPT_ARCHIVE_ID, "id" },
		{ CKPT_ARCHIVE_IMAGE, "image" },
		{ CKPT_ARCHIVE_RUNTIME, "runtime" },
		{ CKPT_ARCHIVE_CREATED, "created" },
		{ CKPT_ARCHIVE_CHECKPOINTED, "checkpointed" },
		{ CKPT_ARCHIVE_POD, "pod" },
		{ CKPT_ARCHIVE_NAMESPACE, "namespace" },
		{ CKPT_ARCHIVE_CRIU_VERSION, "criu_version" },
		{ CKPT_ARCHIVE_WRITER_VERSION, "libckpt_version" },
	};
	struct jsonw w;

	if (!a)
		return NULL;
	jw_init(&w, true);
	jw_object_begin(&w, NULL);
	jw_string(&w, "archive", a->path);
	jw_string(&w, "compression", ckpt_compression_name(a->compression));
	jw_string(&w, "engine", ckpt_archive_engine_name(a->engine));
	if (a->manager)
		jw_string(&w, "manager", a->manager);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (a->meta[keys[i].key])
			jw_string(&w, keys[i].name, a->meta[keys[i].key]);
	jw_object_begin(&w, "sizes");
	jw_uint(&w, "file", a->size_file);
	jw_uint(&w, "checkpoint", a->size_checkpoint);
	jw_uint(&w, "memory_pages", a->size_pages);
	jw_uint(&w, "rootfs_diff", a->size_rootfs);
	jw_uint(&w, "expanded", a->size_total);
	jw_object_end(&w);
	jw_uint(&w, "entries", a->n_entries);
	jw_array_begin(&w, "mounts");
	for (size_t i = 0; i < a->n_mounts; i++) {
		jw_object_begin(&w, NULL);
		jw_string(&w, "destination", a->mounts[i].destination);
		jw_string(&w, "type", a->mounts[i].type ? a->mounts[i].type : "");
		jw_string(&w, "source", a->mounts[i].source ? a->mounts[i].source : "");
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_string(&w, "restore_with", restore_tool(a->engine));
	jw_object_end(&w);
	return jw_finish(&w);
}
