/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Images and work directories: opened safely, checked, snapshots of what was there, staging. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "imgdir.h"
#include "proc/procfs.h"

#define MAX_LINKS 40 /* as the kernel's path walk */

/*
 * A symlink no other user could have planted or swapped: owned by root or by
 * us, in a directory owned by root or by us that no one else can write (or
 * that is sticky). Why not, in words, into why; false then.
 */
static bool symlink_trusted(int dirfd, const struct stat *lst, char *why, size_t size)
{
	uid_t me = geteuid();
	struct stat dst;

	if (lst->st_uid != 0 && lst->st_uid != me) {
		snprintf(why, size, "owned by uid %u", (unsigned)lst->st_uid);
		return false;
	}
	if (fstat(dirfd, &dst) < 0) {
		snprintf(why, size, "in a directory that cannot be checked");
		return false;
	}
	if (dst.st_uid != 0 && dst.st_uid != me) {
		snprintf(why, size, "in a directory owned by uid %u", (unsigned)dst.st_uid);
		return false;
	}
	if ((dst.st_mode & (S_IWGRP | S_IWOTH)) && !(dst.st_mode & S_ISVTX)) {
		snprintf(why, size, "in a directory others can write");
		return false;
	}
	return true;
}

/*
 * Walk rel from the directory dirfd (taken) one component at a time, with
 * O_NOFOLLOW: a symlink is followed only if symlink_trusted (its target walked
 * by the same rule), else refused naming CKPT_OPT_FOLLOW_SYMLINKS. The
 * directory reached into *ret_fd.
 */
static int walk_at(const char *what, const char *path, int dirfd, const char *rel, int *links,
		   int *ret_fd, ckpt_err *err)
{
	_cleanup_free_ char *copy = strdup(rel);
	_cleanup_close_ int fd = dirfd;
	char *save = NULL, *comp;

	if (!copy)
		return err_set(err, CKPT_ENOMEM, "%s: out of memory", what);
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), e, r;
		char target[PATH_MAX], why[96];
		struct stat lst;
		ssize_t n;

		if (nfd >= 0) {
			close(fd);
			fd = nfd;
			continue;
		}
		e = errno;
		if (!((e == ELOOP || e == ENOTDIR) &&
		      fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)))
			return err_sys(err, CKPT_EIMAGES, e, "%s: cannot open '%s' of '%s'", what,
				       comp, path);
		if (!symlink_trusted(fd, &lst, why, sizeof(why))) {
			err_set(err, CKPT_EIMAGES,
				"%s: '%s' in '%s' is a symlink %s: another user could have "
				"planted it (refused; set CKPT_OPT_FOLLOW_SYMLINKS to follow it)",
				what, comp, path, why);
			err_hint(err, CKPT_OPT_FOLLOW_SYMLINKS,
				 "Give the path without the symlink, or, if you trust whoever can "
				 "change it, set CKPT_OPT_FOLLOW_SYMLINKS.");
			return CKPT_EIMAGES;
		}
		if (++*links > MAX_LINKS)
			return err_sys(err, CKPT_EIMAGES, ELOOP, "%s: '%s'", what, path);
		n = readlinkat(fd, comp, target, sizeof(target) - 1);
		if (n < 0)
			return err_sys(err, CKPT_EIMAGES, errno,
				       "%s: cannot read the symlink '%s' of '%s'", what, comp,
				       path);
		target[n] = '\0';
		nfd = target[0] == '/' ? open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
					 fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0)
			return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot open '%s'", what,
				       path);
		r = walk_at(what, path, nfd, target, links, &nfd, err);
		if (r < 0)
			return r;
		close(fd);
		fd = nfd;
	}
	*ret_fd = fd;
	fd = -1;
	return 0;
}

int dir_open_path(const char *what, const char *path, bool follow, int *ret_fd, ckpt_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "%s: empty path", what);
	if (strlen(path) >= PATH_MAX)
		return err_set(err, CKPT_EINVAL, "%s: path longer than %d bytes", what, PATH_MAX);
	if (follow) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot open directory '%s'",
				       what, path);
	} else {
		int start = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int links = 0, r;

		if (start < 0)
			return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot open '%s'", what,
				       path);
		r = walk_at(what, path, start, path, &links, &fd, err);
		if (r < 0)
			return r;
	}
	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot stat '%s'", what, path);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, CKPT_EIMAGES, "%s: '%s' is not a directory", what, path);
	*ret_fd = fd;
	fd = -1;
	return 0;
}

/* Split path into a malloc'd parent ("/" or "." for none) and its last component. */
static int split_path_errno(const char *path, char **ret_parent, char **ret_name)
{
	_cleanup_free_ char *copy = strdup(path);
	char *slash;
	size_t l;

	if (!copy)
		return -ENOMEM;
	l = strlen(copy);
	while (l > 1 && copy[l - 1] == '/')
		copy[--l] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		*ret_parent = strdup(".");
		*ret_name = strdup(copy);
	} else {
		*slash = '\0';
		*ret_parent = strdup(slash == copy ? "/" : copy);
		*ret_name = strdup(slash + 1);
	}
	if (!*ret_parent || !*ret_name) {
		free(*ret_parent);
		free(*ret_name);
		*ret_parent = *ret_name = NULL; /* the callers' cleanup frees them again */
		return -ENOMEM;
	}
	return 0;
}

static bool plain_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

int dir_check_usable(const char *what, const char *path, bool follow, ckpt_err *err)
{
	_cleanup_free_ char *parent = NULL, *name = NULL;
	struct stat st;
	int fd, r;
	ckpt_err inner = CKPT_ERR_INIT;

	r = dir_open_path(what, path, follow, &fd, &inner);
	if (r == 0) {
		close(fd);
		return 0;
	}
	if (inner.sys_errno != ENOENT) {
		if (err)
			*err = inner;
		return r;
	}
	/* missing: fine if only the last component is, and the parent is a directory */
	if (split_path_errno(path, &parent, &name) < 0)
		return err_set(err, CKPT_ENOMEM, "%s: out of memory", what);
	if (!plain_name(name))
		return err_set(err, CKPT_EINVAL,
			       "%s: '%s' must end in a directory name (not '.', '..' or '/')", what,
			       path);
	r = dir_open_path(what, parent, follow, &fd, &inner);
	if (r < 0)
		return inner.sys_errno ?
			       err_sys(err, r, inner.sys_errno,
				       "%s: '%s' does not exist, and its parent '%s' cannot be opened",
				       what, path, parent) :
			       err_set(err, r,
				       "%s: '%s' does not exist, and its parent '%s' is unusable",
				       what, path, parent);
	r = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT ?
		    err_set(err, CKPT_EIMAGES, "%s: '%s' cannot be opened as a directory", what,
			    path) :
		    0;
	close(fd);
	return r;
}

const char *dir_ref_name(const struct dir_ref *r)
{
	return r->path ? r->path : "the images dir";
}

int dir_ref_open(const struct dirspec *d, const char *what, bool follow, struct dir_ref *ret,
		 ckpt_err *err)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	int r;

	*ret = (struct dir_ref)DIR_REF_INIT;
	if (d->path) {
		r = dir_open_path(what, d->path, follow, &ret->fd, err);
		if (r < 0)
			return r;
		ret->owned = true;
		ret->path = strdup(d->path);
	} else if (d->fd >= 0) {
		ret->fd = d->fd;
		snprintf(link, sizeof(link), "fd/%d", d->fd);
		n = procfs_readlink_at(PROCFS_SELF, link, target, sizeof(target));
		if (n > 0)
			ret->path = strdup(target);
	}
	return 0;
}

void dir_ref_close(struct dir_ref *r)
{
	if (r->owned && r->fd >= 0)
		close(r->fd);
	free(r->path);
	*r = (struct dir_ref)DIR_REF_INIT;
}

int dir_check_private(const struct dir_ref *r, const char *op, ckpt_err *err)
{
	struct stat st;

	if (fstat(r->fd, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot stat '%s'", op,
			       dir_ref_name(r));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return err_set(err, CKPT_EIMAGES,
			       "%s: '%s' belongs to uid %u, not to us (uid %u) or root", op,
			       dir_ref_name(r), (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(
			err, CKPT_EIMAGES,
			"%s: '%s' is writable by %s (mode %04o); make it owner-only (chmod 0700)",
			op, dir_ref_name(r), st.st_mode & S_IWOTH ? "everyone" : "its group",
			(unsigned)(st.st_mode & 07777));
	return 0;
}

bool dir_has_checkpoint(int dirfd)
{
	struct stat st;

	return fstatat(dirfd, "inventory.img", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- snapshots ---- */

/* Iterate the entries of dirfd (a fresh fd of it, so dirfd's offset is untouched). */
static DIR *dir_iter(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

int dir_snap_take_errno(int dirfd, struct dir_snap *s)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d = dir_iter(dirfd);

	s->v = NULL;
	s->n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct dir_entry *nv = realloc(s->v, nc * sizeof(*nv));

			if (!nv)
				goto oom;
			s->v = nv;
			cap = nc;
		}
		{
			char *name = strdup(de->d_name);

			if (!name)
				goto oom;
			s->v[s->n].name = name;
			s->v[s->n].ino = de->d_ino;
			s->n++;
		}
	}
	closedir(d);
	return 0;
oom:
	closedir(d);
	dir_snap_free(s);
	return -ENOMEM;
}

void dir_snap_free(struct dir_snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

bool dir_snap_has(const struct dir_snap *s, const char *name, ino_t ino)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->v[i].ino == ino && !strcmp(s->v[i].name, name))
			return true;
	return false;
}

static bool listed(const char *const *only, const char *name)
{
	if (!only)
		return true;
	for (; *only; only++)
		if (!strcmp(*only, name))
			return true;
	return false;
}

void dir_owner_only_new(int dirfd, const struct dir_snap *snap, const char *const *only)
{
	struct dirent *de;
	DIR *d = dir_iter(dirfd);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (!listed(only, de->d_name) || dir_snap_has(snap, de->d_name, de->d_ino))
			continue;
		/* through an fd opened without following a symlink; O_NONBLOCK: a FIFO must not block us */
		fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    (st.st_mode & 077) && !dir_snap_has(snap, de->d_name, st.st_ino))
			(void)fchmod(fd, st.st_mode & 0700);
		close(fd);
	}
	closedir(d);
}

void dir_remove_new(int dirfd, const struct dir_snap *snap, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    !dir_snap_has(snap, name, st.st_ino))
		(void)unlinkat(dirfd, name, 0);
}

/* ---- staging ---- */

/* Is the directory dirfd empty? */
static bool dir_empty(int dirfd)
{
	struct dirent *de;
	DIR *d = dir_iter(dirfd);
	bool empty = true;

	if (!d)
		return false;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

int staging_wanted(const struct dirspec *d, bool follow, ckpt_err *err)
{
	_cleanup_free_ char *parent = NULL, *name = NULL;
	_cleanup_close_ int pfd = -1, fd = -1;
	struct stat pst, st;
	int r;

	if (!d->path)
		return 0; /* by fd: in place */
	if (split_path_errno(d->path, &parent, &name) < 0)
		return err_set(err, CKPT_ENOMEM, "dump: out of memory");
	if (!plain_name(name))
		return 0;
	r = dir_open_path("images-dir", parent, follow, &pfd, err);
	if (r < 0)
		return r;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return errno == ENOENT ?
			       1 :
			       0; /* missing: stage; anything else: the request will say */
	if (fstat(pfd, &pst) < 0 || fstat(fd, &st) < 0)
		return 0;
	/* an empty directory on the parent's filesystem (not a mount point) can be replaced by rename */
	return st.st_dev == pst.st_dev && dir_empty(fd) ? 1 : 0;
}

/* ".NAME.ckpt-tmp-XXXXXX": the name staging_begin gives its directories. */
static bool staging_name(const char *name)
{
	const char *t = strstr(name, ".ckpt-tmp-");
	size_t l;

	if (name[0] != '.' || !t || t == name || strstr(t + 1, ".ckpt-tmp-"))
		return false;
	l = strlen(t + 10);
	if (l != 6)
		return false;
	for (const char *p = t + 10; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/*
 * One staging directory, if its dump died: ours (owner, 0700), not locked (a
 * live dump holds flock on it, shared with its criu, until both are done),
 * holding regular files only. They and it are removed; their bytes added.
 */
static bool reap_one(int parent_fd, const char *name, uint64_t *bytes)
{
	_cleanup_close_ int fd =
		openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	uint64_t sum = 0;
	struct stat st;
	bool ok = true;
	DIR *d;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0700 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false;
	d = dir_iter(fd);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		struct stat fs;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &fs, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(fs.st_mode)) {
			ok = false; /* not what a dump writes: left alone */
			continue;
		}
		if (unlinkat(fd, de->d_name, 0) == 0)
			sum += S_ISREG(fs.st_mode) ? (uint64_t)fs.st_blocks * 512 : 0;
	}
	closedir(d);
	*bytes += sum;
	return ok && unlinkat(parent_fd, name, AT_REMOVEDIR) == 0;
}

int staging_reap(int parent_fd, uint64_t *ret_bytes, unsigned *ret_dirs)
{
	struct dirent *de;
	DIR *d = dir_iter(parent_fd);

	*ret_bytes = 0;
	*ret_dirs = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (staging_name(de->d_name) && reap_one(parent_fd, de->d_name, ret_bytes))
			(*ret_dirs)++;
	closedir(d);
	return 0;
}

int staging_reap_beside(const char *path, bool follow, uint64_t *ret_bytes, unsigned *ret_dirs,
			ckpt_err *err)
{
	_cleanup_free_ char *parent = NULL, *name = NULL;
	_cleanup_close_ int pfd = -1;
	int r;

	*ret_bytes = 0;
	*ret_dirs = 0;
	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "reap: empty images path");
	if (split_path_errno(path, &parent, &name) < 0)
		return err_set(err, CKPT_ENOMEM, "reap: out of memory");
	r = dir_open_path("reap", parent, follow, &pfd, err);
	if (r < 0)
		return r;
	r = staging_reap(pfd, ret_bytes, ret_dirs);
	if (r < 0)
		return err_sys(err, CKPT_EIMAGES, -r, "reap: cannot list '%s'", parent);
	return 0;
}

int staging_begin(struct staging *st, const char *path, bool follow, ckpt_err *err)
{
	uint64_t stale_bytes;
	unsigned stale_dirs;
	_cleanup_free_ char *parent = NULL;
	char tmp[NAME_MAX + 1];
	struct stat sb;
	int r;

	*st = (struct staging)STAGING_INIT;
	if (split_path_errno(path, &parent, &st->name) < 0)
		return err_set(err, CKPT_ENOMEM, "dump: out of memory");
	r = dir_open_path("images-dir", parent, follow, &st->parent_fd, err);
	if (r < 0)
		goto fail;
	(void)staging_reap(st->parent_fd, &stale_bytes, &stale_dirs); /* of dumps that died */
	st->replace = fstatat(st->parent_fd, st->name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	for (int attempt = 0; attempt < 100; attempt++) {
		static const char chars[] =
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		uint64_t x = now_us() ^ ((uint64_t)getpid() << 20) ^
			     ((uint64_t)attempt * 0x9E3779B97F4A7C15ull);
		char rnd[7];

		for (int i = 0; i < 6; i++, x /= 62)
			rnd[i] = chars[x % 62];
		rnd[6] = '\0';
		if (snprintf(tmp, sizeof(tmp), ".%.200s.ckpt-tmp-%s", st->name, rnd) >=
		    (int)sizeof(tmp)) {
			r = err_set(err, CKPT_EINVAL, "dump: '%s': name too long", path);
			goto fail;
		}
		/*
		 * 0500 until it is locked: staging_reap takes only a 0700 directory, so a dump
		 * beside this one cannot take it for dead between its mkdir and its flock.
		 */
		if (mkdirat(st->parent_fd, tmp, 0500) == 0)
			break;
		if (errno != EEXIST) {
			r = err_sys(err, CKPT_EIMAGES, errno,
				    "dump: cannot create a staging directory in '%s'", parent);
			goto fail;
		}
		tmp[0] = '\0';
	}
	if (!tmp[0]) {
		r = err_set(err, CKPT_EIMAGES, "dump: cannot create a staging directory in '%s'",
			    parent);
		goto fail;
	}
	st->tmp_name = strdup(tmp);
	if (!st->tmp_name || asprintf(&st->tmp_path, "%s/%s", parent, tmp) < 0 ||
	    asprintf(&st->final_path, "%s", path) < 0) {
		st->tmp_path = st->final_path = NULL;
		r = err_set(err, CKPT_ENOMEM, "dump: out of memory");
		if (st->tmp_name)
			unlinkat(st->parent_fd, st->tmp_name, AT_REMOVEDIR);
		goto fail;
	}
	st->fd = openat(st->parent_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->fd < 0) {
		r = err_sys(err, CKPT_EIMAGES, errno,
			    "dump: cannot open the staging directory '%s'", st->tmp_path);
		unlinkat(st->parent_fd, tmp, AT_REMOVEDIR);
		goto fail;
	}
	/* in use: held with its criu (the fd it gets shares the lock) until both are done */
	(void)flock(st->fd, LOCK_EX | LOCK_NB);
	(void)fchmod(st->fd, 0700); /* now reapable once dead; whatever the umask */
	return 0;
fail:
	staging_free(st);
	return r;
}

int staging_commit(struct staging *st, ckpt_err *err)
{
	int r;

	if (st->replace)
		/* rename(2) replaces an empty directory atomically, and fails on a non-empty one */
		r = renameat(st->parent_fd, st->tmp_name, st->parent_fd, st->name);
	else
		r = renameat2(st->parent_fd, st->tmp_name, st->parent_fd, st->name,
			      RENAME_NOREPLACE);
	if (r < 0)
		return err_sys(
			err, CKPT_EIMAGES, errno,
			"dump: the checkpoint is complete in '%s' but cannot be renamed to '%s' (something "
			"appeared there meanwhile?)",
			st->tmp_path, st->final_path);
	return 0;
}

void staging_discard(struct staging *st, const char *log_name, char *moved_log, size_t n)
{
	struct dirent *de;
	DIR *d;

	if (st->fd < 0)
		return;
	if (log_name && plain_name(log_name)) {
		char dst[NAME_MAX + 1];

		if (snprintf(dst, sizeof(dst), "%s.%s", st->name, log_name) < (int)sizeof(dst) &&
		    renameat(st->fd, log_name, st->parent_fd, dst) == 0 && moved_log) {
			const char *slash = strrchr(st->final_path, '/');

			snprintf(moved_log, n, "%.*s%s",
				 slash ? (int)(slash - st->final_path + 1) : 0, st->final_path,
				 dst);
		}
	}
	d = dir_iter(st->fd);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				(void)unlinkat(st->fd, de->d_name, 0);
		closedir(d);
	}
	(void)unlinkat(st->parent_fd, st->tmp_name, AT_REMOVEDIR);
	staging_free(st);
}

void staging_free(struct staging *st)
{
	if (st->fd >= 0)
		close(st->fd);
	if (st->parent_fd >= 0)
		close(st->parent_fd);
	free(st->name);
	free(st->tmp_name);
	free(st->tmp_path);
	free(st->final_path);
	*st = (struct staging)STAGING_INIT;
}
