/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives: a checkpoint written from an images directory into a
 * tar (zstd, gzip or none) in the layout of archive-common.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "proc/procfs.h"
#include "images/archive-int.h"
#include "base/jsonw.h"
#include "archive-common.h"
#include "dl-archive.h"

static void rfc3339(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "1970-01-01T00:00:00Z");
}

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
		char why[96];

		archive_set_error(a, z->sys_errno ? z->sys_errno : EIO, "zstd: %s",
				  z->sys_errno ? errno_text(z->sys_errno, why, sizeof(why)) :
						 z->zerr);
		return -1;
	}
	return (la_ssize_t)len;
}

static int zout_cb_close(struct archive *a, void *ctx)
{
	struct zout *z = ctx;

	if (zout_push(z, NULL, 0, ZSTD_e_end) < 0) {
		char why[96];

		archive_set_error(a, z->sys_errno ? z->sys_errno : EIO, "zstd: %s",
				  z->sys_errno ? errno_text(z->sys_errno, why, sizeof(why)) :
						 z->zerr);
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
		/*
		 * Each copy is owned by names, freed by free_names on failure. gcc 12's analyzer
		 * tracks names[n] at a symbolic index as one slot, so the next store "overwrites" the
		 * last copy: a false malloc-leak.
		 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = err_set(err, CKPT_ENOMEM, "%s: out of memory", dir);
			break;
		}
		n++;
	}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif
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

int ckpt_archive_created_time(pid_t pid, int64_t *ret_time, ckpt_err *err)
{
	int64_t t;

	assert_return(pid > 0, err, "created time: pid %d; expected a pid > 0", (int)pid);
	assert_return(ret_time, err, "created time: ret_time is NULL");
	if (procfs_start_time(pid, &t) < 0)
		return errno == ENOENT || errno == ESRCH ?
			       err_set(err, CKPT_ENOTARGET, "created time: no process %d",
				       (int)pid) :
			       err_sys(err, CKPT_ESYS, errno,
				       "created time: cannot read process %d's start time",
				       (int)pid);
	*ret_time = t;
	return 0;
}

void ckpt_archive_write_opts_init(ckpt_archive_write_opts *opts)
{
	if (opts)
		*opts = (ckpt_archive_write_opts){
			.version = CKPT_ARCHIVE_WRITE_VERSION,
			.compression = CKPT_COMPRESSION_ZSTD,
			.stats_dirfd = -1,
		};
}

int ckpt_archive_write(int dirfd, const char *path, const char *archive_path,
		       const ckpt_archive_write_opts *opts, ckpt_err *err)
{
	ckpt_archive_write_opts defaults;
	const ckpt_archive_write_opts *o = opts ? opts : &defaults;
	const char *dir = path && *path ? path : ".";
	struct writer w = { .out = archive_path, .err = err };
	ckpt_image_info *info = NULL;
	_cleanup_close_ int dfd = -1, sfd = -1, out = -1;
	_cleanup_free_ char *config = NULL, *spec = NULL, *tmp = NULL;
	char **names = NULL;
	size_t n_names = 0;
	int r;

	ckpt_archive_write_opts_init(&defaults);
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
	r = dl_need_archive(err); /* libarchive and libzstd, loaded now if they were not */
	if (r < 0)
		return r;

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
