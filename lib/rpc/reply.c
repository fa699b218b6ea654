/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replies to results: CRIU's failure turned into a ckpt_err (the decisive
 * line of its log first, cr_errno, the log's path, its error lines and a
 * hint from the diagnosis table), and the version a VERSION reply carries.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "diagnose/diagnose.h"
#include "proc/procfs.h"
#include "reply.h"

#define LOG_TAIL (256 * 1024)

static void fill_log_path(ckpt_err *err, const struct log_place *lp)
{
	char link[64], target[PATH_MAX];
	const char *dirpath = lp->dirpath;
	ssize_t n;

	if (lp->shown) {
		snprintf(err->log_path, sizeof(err->log_path), "%s", lp->shown);
		return;
	}
	if (!dirpath) {
		snprintf(link, sizeof(link), "fd/%d", lp->dirfd);
		n = procfs_readlink_at(PROCFS_SELF, link, target, sizeof(target));
		if (n < 0)
			return;
		dirpath = target;
	}
	snprintf(err->log_path, sizeof(err->log_path), "%s/%s", dirpath, lp->name);
}

static bool log_usable(const struct log_place *lp)
{
	return lp && lp->dirfd >= 0 && lp->name && *lp->name && !strchr(lp->name, '/');
}

/* The last LOG_TAIL bytes of CRIU's log (malloc'd, NUL-terminated), or NULL. */
static char *read_log_tail(const struct log_place *lp, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *buf;
	ssize_t n;

	if (!log_usable(lp))
		return NULL;
	fd = openat(lp->dirfd, lp->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	buf = malloc(LOG_TAIL + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, LOG_TAIL, st.st_size > LOG_TAIL ? st.st_size - LOG_TAIL : 0);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	*ret_len = (size_t)n;
	return buf;
}

static enum diag_op diag_op_of(CriuReqType t)
{
	switch (t) {
	case CRIU_REQ_TYPE__DUMP: return DIAG_OP_DUMP;
	case CRIU_REQ_TYPE__PRE_DUMP:
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP: return DIAG_OP_PRE_DUMP;
	case CRIU_REQ_TYPE__RESTORE: return DIAG_OP_RESTORE;
	case CRIU_REQ_TYPE__CHECK: return DIAG_OP_CHECK;
	case CRIU_REQ_TYPE__FEATURE_CHECK: return DIAG_OP_FEATURE_CHECK;
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD: return DIAG_OP_PAGE_SERVER;
	default: return DIAG_OP_OTHER;
	}
}

/* Diagnose the failure from CRIU's log and what CRIU said. */
static bool diagnose_failure(const CriuReq *req, int criu_errno, const char *criu_errmsg,
			     const struct log_place *lp, const ckpt_opts *o, struct diag_result *dr)
{
	struct diag_opts d;
	size_t len = 0;
	_cleanup_free_ char *log = read_log_tail(lp, &len);
	struct diag_in in = {
		.op = diag_op_of(req->type),
		.log = log,
		.log_len = len,
		.criu_errno = criu_errno,
		.criu_errmsg = criu_errmsg,
		.opts = &d,
		.probe = &diag_probe_proc,
	};

	opts_to_diag(o, &d);
	return diagnose(&in, dr);
}

int reply_failed(const char *op, const CriuReq *req, const CriuResp *resp,
		 const struct log_place *lp, const ckpt_opts *o, ckpt_err *err)
{
	char why[CKPT_ERR_MSG_MAX], ebuf[128];
	struct diag_result dr;
	int r;

	diagnose_failure(req, resp->has_cr_errno ? resp->cr_errno : 0, resp->cr_errmsg, lp, o, &dr);
	if (dr.headline[0])
		sanitize_copy(why, sizeof(why), dr.headline);
	else if (resp->cr_errmsg && *resp->cr_errmsg)
		sanitize_copy(why, sizeof(why), resp->cr_errmsg);
	else if (resp->has_cr_errno && resp->cr_errno)
		snprintf(why, sizeof(why), "%s", errno_text(resp->cr_errno, ebuf, sizeof(ebuf)));
	else
		snprintf(why, sizeof(why), "no reason given");
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
	if (log_usable(lp)) {
		fill_log_path(err, lp);
		if (err->log_path[0])
			err_append(err, "(log: %s)", err->log_path);
	}
	diag_apply(err, &dr);
	return r;
}

void reply_log(const struct log_place *lp, const CriuReq *req, const ckpt_opts *o, ckpt_err *err)
{
	struct diag_result dr;

	if (!err || !log_usable(lp) || err->log_path[0])
		return;
	fill_log_path(err, lp);
	if (diagnose_failure(req, 0, NULL, lp, o, &dr) || !err->hint[0]) {
		diag_apply(err, &dr);
	} else if (dr.lines[0]) {
		/* no decisive line in the log: the hint the failure came with stays */
		snprintf(err->criu_log, sizeof(err->criu_log), "%s", dr.lines);
	}
}

int reply_version(const CriuResp *resp, unsigned *ret, ckpt_err *err)
{
	const CriuVersion *v = resp->version;
	unsigned ver;

	if (v->major_number < 0 || v->minor_number < 0 || v->minor_number > 99 ||
	    v->major_number > 400000 || (v->has_sublevel && (v->sublevel < 0 || v->sublevel > 99)))
		return err_set(err, CKPT_EPROTO, "version: criu reported a nonsense version %d.%d",
			       v->major_number, v->minor_number);
	ver = (unsigned)v->major_number * 10000 + (unsigned)v->minor_number * 100;
	if (v->gitid)
		ver += 100; /* a git build is newer than its last release */
	else if (v->has_sublevel)
		ver += (unsigned)v->sublevel;
	*ret = ver;
	return 0;
}
