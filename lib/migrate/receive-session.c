/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration's receiving side, what lasts on disk: the durable record of
 * each session (BASE/<session>.state) that a source which lost our answer
 * asks about, and the session's directories: its lock, its images and work
 * dirs, what a receiver that died left behind.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "receive-int.h"
#include "base/log.h"
#include "rpc/client.h"

/* ---- the durable record: BASE/<session>.state ---- */

void rcv_record_write(struct rcv *r, const char *fmt, ...)
{
	char name[64], tmp[72], line[64];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	line[n++] = '\n';
	snprintf(name, sizeof(name), "%s.state", r->hex);
	snprintf(tmp, sizeof(tmp), ".%s.state.tmp", r->hex);
	fd = openat(r->base.fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
		close(fd);
		unlinkat(r->base.fd, tmp, 0);
		return;
	}
	close(fd);
	if (renameat(r->base.fd, tmp, r->base.fd, name) == 0)
		fsync(r->base.fd);
}

/* The record of session hex: its line into buf, or "" when there is none. */
void rcv_record_read(const struct rcv *r, const char *hex, char *buf, size_t n)
{
	char name[64];
	int fd;
	ssize_t got;

	buf[0] = '\0';
	snprintf(name, sizeof(name), "%s.state", hex);
	fd = openat(r->base.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	got = read(fd, buf, n - 1);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* ---- the session's directories ---- */

uint64_t rcv_pages_bytes(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	uint64_t sum = 0;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "pages-", 6) &&
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_size;
	closedir(d);
	return sum;
}

/* BASE/<hex>.lock, flock'ed: 0 ours (fd in *ret_fd), 1 held by a live receiver, <0 -errno. */
static int session_lock_errno(int basefd, const char *hex, int *ret_fd)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "%s.lock", hex);
	fd = openat(basefd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? 1 : -e;
	}
	*ret_fd = fd;
	return 0;
}

void rcv_session_unlock(struct rcv *r)
{
	char name[64];

	if (r->lock_fd < 0)
		return;
	snprintf(name, sizeof(name), "%s.lock", r->hex);
	unlinkat(r->base.fd, name, 0);
	close(r->lock_fd);
	r->lock_fd = -1;
}

/*
 * What a receiver that died (SIGKILL) left: the images of sessions whose
 * record never got past "restoring" and whose lock no live receiver holds.
 * The record stays (a source may still ask about it); "receiving" and
 * "images" become "failed" (that session cannot go on).
 */
void rcv_clean_stale(struct rcv *r)
{
	int fd = openat(r->base.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		char hex[2 * CHAN_SESSION_SIZE + 1], rec[64];
		size_t l = strlen(e->d_name);
		int lfd = -1, sfd;

		if (l != 2 * CHAN_SESSION_SIZE + 6 ||
		    strcmp(e->d_name + 2 * CHAN_SESSION_SIZE, ".state") ||
		    strspn(e->d_name, "0123456789abcdef") != 2 * CHAN_SESSION_SIZE)
			continue;
		memcpy(hex, e->d_name, 2 * CHAN_SESSION_SIZE);
		hex[2 * CHAN_SESSION_SIZE] = '\0';
		rcv_record_read(r, hex, rec, sizeof(rec));
		if (strcmp(rec, "receiving") && strcmp(rec, "images") && strcmp(rec, "restoring"))
			continue;
		if (session_lock_errno(r->base.fd, hex, &lfd) != 0)
			continue; /* a live receiver's session */
		sfd = openat(r->base.fd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd >= 0) {
			mig_remove_flat(sfd, "images");
			mig_remove_flat(sfd, "cpu");
			close(sfd);
		}
		if (strcmp(rec, "restoring")) {
			char keep[sizeof(r->hex)];

			memcpy(keep, r->hex, sizeof(keep));
			memcpy(r->hex, hex, sizeof(r->hex));
			rcv_record_write(r, "failed");
			memcpy(r->hex, keep, sizeof(keep));
		}
		log_at(&r->c->log, CKPT_LOG_INFO,
		       "receive: removed the images of session %s, left by a receiver "
		       "that ended at '%s'",
		       hex, rec);
		{
			char name[64];

			snprintf(name, sizeof(name), "%s.lock", hex);
			unlinkat(r->base.fd, name, 0);
		}
		close(lfd);
	}
	closedir(d);
}

int rcv_session_dirs(struct rcv *r, ckpt_err *err)
{
	int rc = session_lock_errno(r->base.fd, r->hex, &r->lock_fd);

	if (rc != 0)
		return rc > 0 ?
			       err_set(err, CKPT_EEXIST,
				       "session %s is being received by another receiver", r->hex) :
			       err_sys(err, CKPT_EIMAGES, -rc, "session %s: cannot lock it in '%s'",
				       r->hex, dir_ref_name(&r->base));
	if (mkdirat(r->base.fd, r->hex, 0700) < 0)
		return err_sys(err, errno == EEXIST ? CKPT_EEXIST : CKPT_EIMAGES, errno,
			       "session %s: cannot make its directory in '%s'", r->hex,
			       dir_ref_name(&r->base));
	snprintf(r->sess_path, sizeof(r->sess_path), "%s/%s", dir_ref_name(&r->base), r->hex);
	r->sess_fd = openat(r->base.fd, r->hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->sess_fd < 0 || mkdirat(r->sess_fd, "images", 0700) < 0 ||
	    mkdirat(r->sess_fd, "work", 0700) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "session directory '%s'", r->sess_path);
	r->img_fd = openat(r->sess_fd, "images", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r->work_fd = openat(r->sess_fd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->img_fd < 0 || r->work_fd < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "session directory '%s'", r->sess_path);
	return 0;
}

/* The images go; CRIU's logs stay (work/) unless nothing is worth keeping. */
void rcv_session_dirs_end(struct rcv *r, bool keep_logs)
{
	if (r->img_fd >= 0)
		close(r->img_fd);
	if (r->work_fd >= 0)
		close(r->work_fd);
	r->img_fd = r->work_fd = -1;
	if (r->sess_fd >= 0) {
		mig_remove_flat(r->sess_fd, "images");
		mig_remove_flat(r->sess_fd, "cpu");
		if (!keep_logs)
			mig_remove_flat(r->sess_fd, "work");
		close(r->sess_fd);
		r->sess_fd = -1;
		if (!keep_logs)
			unlinkat(r->base.fd, r->hex, AT_REMOVEDIR);
	}
	rcv_session_unlock(r);
}
