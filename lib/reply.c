/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replies to results: CRIU's failure turned into a ckpt_err (its message,
 * cr_errno, the log's path and its error lines), and the version a VERSION
 * reply carries.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "reply.h"

static void fill_log_path(ckpt_err *err, int dirfd, const char *dirpath, const char *name)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	if (!dirpath) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			return;
		target[n] = '\0';
		dirpath = target;
	}
	snprintf(err->log_path, sizeof(err->log_path), "%s/%s", dirpath, name);
}

/* Keep the last error lines of CRIU's log that fit in err->criu_log. */
static void fill_log_lines(ckpt_err *err, int dirfd, const char *name)
{
	enum { TAIL = 256 * 1024 };
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	const char *lines[16];
	size_t nl = 0, used = 0;
	struct stat st;
	off_t off;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	off = st.st_size > TAIL ? st.st_size - TAIL : 0;
	buf = malloc(TAIL + 1);
	if (!buf)
		return;
	n = pread(fd, buf, TAIL, off);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "Error") || strstr(line, "BUG")) {
			if (nl == ARRAY_SIZE(lines))
				memmove(lines, lines + 1, sizeof(lines[0]) * --nl);
			lines[nl++] = line;
		}
	}
	/* newest lines matter most; keep as many of the last ones as fit */
	size_t first = nl;
	for (size_t i = nl; i-- > 0;) {
		size_t l = strlen(lines[i]) + 1;

		if (used + l >= sizeof(err->criu_log))
			break;
		used += l;
		first = i;
	}
	err->criu_log[0] = '\0';
	for (size_t i = first; i < nl; i++) {
		size_t cur = strlen(err->criu_log);

		sanitize_copy(err->criu_log + cur, sizeof(err->criu_log) - cur, lines[i]);
		cur = strlen(err->criu_log);
		if (cur + 1 < sizeof(err->criu_log) && i + 1 < nl) {
			err->criu_log[cur] = '\n';
			err->criu_log[cur + 1] = '\0';
		}
	}
}

int reply_failed(const char *op, const CriuReq *req, const CriuResp *resp, const struct log_place *lp,
		 ckpt_err *err)
{
	char why[CKPT_ERR_MSG_MAX], ebuf[128];
	int dirfd = lp ? lp->dirfd : -1;
	const char *log_name = lp ? lp->name : NULL;
	int r;

	if (resp->cr_errmsg && *resp->cr_errmsg)
		sanitize_copy(why, sizeof(why), resp->cr_errmsg);
	else if (resp->has_cr_errno && resp->cr_errno)
		snprintf(why, sizeof(why), "%s", errno_text(resp->cr_errno, ebuf, sizeof(ebuf)));
	else
		snprintf(why, sizeof(why), "no reason given");
	/* strip a trailing newline of cr_errmsg */
	for (size_t l = strlen(why); l && (why[l - 1] == '\n' || why[l - 1] == '?'); l--)
		why[l - 1] = '\0';

	if (resp->type == CRIU_REQ_TYPE__EMPTY && req->type != CRIU_REQ_TYPE__EMPTY)
		r = err_set(err, CKPT_ECRIU, "%s: criu refused the request: %s", op, why);
	else
		r = err_set(err, CKPT_ECRIU, "%s: criu failed: %s", op, why);
	if (!err)
		return r;
	err_at(err, op, r);
	err->criu_errno = resp->has_cr_errno ? resp->cr_errno : 0;
	if (dirfd >= 0 && log_name && *log_name && !strchr(log_name, '/')) {
		reply_log(lp, err);
		if (err->log_path[0]) {
			size_t l = strlen(err->msg);

			snprintf(err->msg + l, sizeof(err->msg) - l, " (log: %s)", err->log_path);
		}
		if (strstr(err->criu_log, "iptables-restore")) {
			size_t l = strlen(err->msg);

			snprintf(err->msg + l, sizeof(err->msg) - l,
				 "; CRIU's default network lock runs iptables-restore, which is missing here: "
				 "use network-lock nftables (CKPT_NETWORK_LOCK_NFTABLES) or skip, or install iptables");
		}
	}
	return r;
}


void reply_log(const struct log_place *lp, ckpt_err *err)
{
	if (!err || !lp || lp->dirfd < 0 || !lp->name || !*lp->name || strchr(lp->name, '/') || err->log_path[0])
		return;
	if (lp->shown)
		snprintf(err->log_path, sizeof(err->log_path), "%s", lp->shown);
	else
		fill_log_path(err, lp->dirfd, lp->dirpath, lp->name);
	fill_log_lines(err, lp->dirfd, lp->name);
}

/* CRIU's version from a VERSION reply, as major*10000+minor*100+sublevel. */
int reply_version(const CriuResp *resp, unsigned *ret, ckpt_err *err)
{
	const CriuVersion *v = resp->version;
	unsigned ver;

	if (v->major_number < 0 || v->minor_number < 0 || v->minor_number > 99 || v->major_number > 400000 ||
	    (v->has_sublevel && (v->sublevel < 0 || v->sublevel > 99)))
		return err_set(err, CKPT_EPROTO, "version: criu reported a nonsense version %d.%d", v->major_number,
			       v->minor_number);
	ver = (unsigned)v->major_number * 10000 + (unsigned)v->minor_number * 100;
	if (v->gitid)
		ver += 100; /* a git build is newer than its last release */
	else if (v->has_sublevel)
		ver += (unsigned)v->sublevel;
	*ret = ver;
	return 0;
}

