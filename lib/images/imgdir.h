/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Images and work directories: opened without following symlinks and
 * checked at each request; what a dump created told apart from what was
 * there; the staging directory of a dump into a new or empty directory.
 */
#ifndef CKPT_IMGDIR_H
#define CKPT_IMGDIR_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

/* A directory given by path (absolute, opened afresh at each request) or by a borrowed fd. */
struct dirspec {
	char *path; /* NULL unless set by path */
	int fd;	    /* -1 unless set by fd */
};

static inline bool dirspec_is_set(const struct dirspec *d)
{
	return d->path || d->fd >= 0;
}

/*
 * Open the directory at path (O_DIRECTORY|O_CLOEXEC). Unless follow, the path
 * is walked one component at a time with O_NOFOLLOW: a symlink along it is
 * followed only where no other user could have planted or swapped it (owned by
 * root or us, in a directory of root's or ours that others cannot write, or
 * sticky: /var/run on Debian), else refused, naming it and why. *ret_fd on success.
 */
int dir_open_path(const char *what, const char *path, bool follow, int *ret_fd, ckpt_err *err);
/*
 * May path be used as a directory to write into: it is one, or it does not
 * exist and its parent is one (a dump creates it). 0 or the error.
 */
int dir_check_usable(const char *what, const char *path, bool follow, ckpt_err *err);

/* A directory opened for one request. */
struct dir_ref {
	int fd;	    /* -1: not set */
	bool owned; /* opened here (by path); else the caller's fd */
	char *path; /* for messages: the path, or "/proc/self/fd/N"'s target; malloc'd or NULL */
};
#define DIR_REF_INIT            \
	{                       \
		-1, false, NULL \
	}

/* Open d for a request (by path: afresh, without following symlinks unless follow). */
int dir_ref_open(const struct dirspec *d, const char *what, bool follow, struct dir_ref *ret,
		 ckpt_err *err);
void dir_ref_close(struct dir_ref *r);
/* A printable name of the directory. */
const char *dir_ref_name(const struct dir_ref *r);

/*
 * A root dump writes secrets into the images dir: it must belong to us (or
 * root) and be writable by nobody else.
 */
int dir_check_private(const struct dir_ref *r, const char *op, ckpt_err *err);
bool dir_has_checkpoint(int dirfd);

/* The entries of a directory before a request, to tell what the request created. */
struct dir_snap {
	struct dir_entry {
		char *name;
		ino_t ino;
	} * v;
	size_t n;
};
int dir_snap_take_errno(int dirfd, struct dir_snap *s);
void dir_snap_free(struct dir_snap *s);
/* Was name (with inode ino) there before? Always false for a NULL snapshot. */
bool dir_snap_has(const struct dir_snap *s, const char *name, ino_t ino);
/*
 * Make the regular files we own in dirfd that were not in snap (NULL: all)
 * owner-only, each opened with O_NOFOLLOW and changed through its fd: a
 * symlink is never followed, a file that was there before is never touched.
 * Only the names in only[] when only is not NULL.
 */
void dir_owner_only_new(int dirfd, const struct dir_snap *snap, const char *const *only);
/* Remove name if it is a regular file that was not in snap. */
void dir_remove_new(int dirfd, const struct dir_snap *snap, const char *name);

/*
 * The staging transaction of a dump into a directory given by path that is
 * new or empty: CRIU writes into PARENT/.NAME.ckpt-tmp-XXXXXX (0700), which
 * is renamed to PARENT/NAME only once the dump succeeded; nothing that looks
 * like a checkpoint is ever at NAME before that.
 */
struct staging {
	int parent_fd;
	char *name;	/* the final name in parent */
	char *tmp_name; /* the staging dir's name in parent */
	char *tmp_path; /* its whole path, for messages */
	char *final_path;
	int fd;	      /* the staging dir */
	bool replace; /* an empty dir is at name: rename over it */
};
#define STAGING_INIT                                  \
	{                                             \
		-1, NULL, NULL, NULL, NULL, -1, false \
	}

/*
 * Should a dump into d stage? 1 when d was given by path and is missing or
 * an empty directory that can be replaced by a rename (same filesystem, not
 * a mount point); 0 to write in place; <0 on error.
 */
int staging_wanted(const struct dirspec *d, bool follow, ckpt_err *err);
int staging_begin(struct staging *st, const char *path, bool follow, ckpt_err *err);
/*
 * Remove the staging directories in parent_fd whose dump died (killed with its
 * criu: no one holds their lock); staging_begin does it first. How many and
 * their bytes into the rets. 0, or -errno if parent_fd cannot be read.
 */
int staging_reap(int parent_fd, uint64_t *ret_bytes, unsigned *ret_dirs);
/* staging_reap in the directory that holds path (opened as dir_open_path does). */
int staging_reap_beside(const char *path, bool follow, uint64_t *ret_bytes, unsigned *ret_dirs,
			ckpt_err *err);
/* Rename the staging dir into place. */
int staging_commit(struct staging *st, ckpt_err *err);
/*
 * Remove the staging dir and what CRIU wrote in it, first moving CRIU's log
 * (log_name, may be NULL) beside the final name as NAME.LOG_NAME; the new path
 * of the log goes to moved_log (size n) if moved.
 */
void staging_discard(struct staging *st, const char *log_name, char *moved_log, size_t n);
/* Forget the staging dir without touching it (kept for the caller). */
void staging_free(struct staging *st);

#endif
