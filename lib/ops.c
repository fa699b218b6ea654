/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The requests: version, check, feature check, dump, pre-dump, restore,
 * page server; the notification loop; and turning CRIU's failures into a
 * ckpt_err with CRIU's reason and the error lines of its log.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "compat.h"
#include "internal.h"

struct ckpt_notify {
	const char *name;
	pid_t pid;
	int fd;
};

const char *ckpt_notify_name(const ckpt_notify *ev)
{
	return ev ? ev->name : NULL;
}

pid_t ckpt_notify_pid(const ckpt_notify *ev)
{
	return ev ? ev->pid : 0;
}

int ckpt_notify_take_fd(ckpt_notify *ev)
{
	int fd;

	if (!ev)
		return -1;
	fd = ev->fd;
	ev->fd = -1;
	return fd;
}

/* ---- CRIU's log ---- */

static const char *op_log_name(CriuReqType t)
{
	switch (t) {
	case CRIU_REQ_TYPE__DUMP: return "dump.log";
	case CRIU_REQ_TYPE__PRE_DUMP: return "pre-dump.log";
	case CRIU_REQ_TYPE__RESTORE: return "restore.log";
	case CRIU_REQ_TYPE__PAGE_SERVER:
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD: return "page-server.log";
	default: return NULL;
	}
}

/* The directory CRIU writes its log into, and a printable path for it. */
static int log_dir(const ckpt_opts *o, const char **ret_path)
{
	if (!o)
		return -1;
	if (o->work_fd >= 0) {
		*ret_path = o->work_path;
		return o->work_fd;
	}
	*ret_path = o->images_path;
	return o->images_fd;
}

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

/* CRIU answered success=false: say why, with its message, errno and log. */
static int criu_failed(const ckpt_opts *o, const char *op, const CriuReq *req, const CriuResp *resp,
		       const char *log_name, ckpt_err *err)
{
	char why[CKPT_ERR_MSG_MAX];
	const char *dirpath = NULL;
	int dirfd = log_dir(o, &dirpath);
	int r;

	if (resp->cr_errmsg && *resp->cr_errmsg)
		sanitize_copy(why, sizeof(why), resp->cr_errmsg);
	else if (resp->has_cr_errno && resp->cr_errno)
		compat_errno_desc(resp->cr_errno, why, sizeof(why));
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
	err_set_step(err, op);
	err->criu_errno = resp->has_cr_errno ? resp->cr_errno : 0;
	if (dirfd >= 0 && log_name) {
		fill_log_path(err, dirfd, dirpath, log_name);
		fill_log_lines(err, dirfd, log_name);
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

/* ---- the request loop ---- */

static const struct notify_slot *find_slot(const ckpt_client *c, const char *name)
{
	const struct notify_slot *any = NULL;

	for (size_t i = 0; i < c->n_notify; i++) {
		if (!c->notify[i].name)
			any = &c->notify[i];
		else if (!strcmp(c->notify[i].name, name))
			return &c->notify[i];
	}
	return any;
}

/* Run the callback for one notification; returns 0 or its failure, with err filled. */
static int dispatch(const ckpt_client *c, const char *op, const CriuNotify *n, int fd, ckpt_err *err)
{
	const struct notify_slot *s = find_slot(c, n->script);
	ckpt_notify ev = { .name = n->script, .pid = n->has_pid ? n->pid : 0, .fd = fd };
	int r = 0;

	log_client(c, CKPT_LOG_DEBUG, "%s: notification '%s' pid %d%s", op, n->script, (int)ev.pid,
		   fd >= 0 ? " with an fd" : "");
	if (c->netns_setup && !strcmp(n->script, "setup-namespaces")) {
		r = netns_setup_run(c, ev.pid, err);
		if (r < 0) {
			if (ev.fd >= 0)
				close(ev.fd);
			err_prefix(err, "%s", op);
			return r;
		}
	}
	if (s)
		r = s->fn(s->userdata, &ev);
	if (ev.fd >= 0)
		close(ev.fd);
	if (r < 0)
		return err_set(err, CKPT_ECALLBACK, "%s: the '%s' notification callback failed (returned %d); criu aborts",
			       op, n->script, r);
	return 0;
}

static const char *type_name(int t)
{
	static const char *const names[] = { "EMPTY", "DUMP", "RESTORE", "CHECK", "PRE_DUMP", "PAGE_SERVER",
					     "NOTIFY", "CPUINFO_DUMP", "CPUINFO_CHECK", "FEATURE_CHECK",
					     "VERSION", "WAIT_PID", "PAGE_SERVER_CHLD", "SINGLE_PRE_DUMP" };
	return t >= 0 && t < (int)ARRAY_SIZE(names) ? names[t] : "?";
}

/*
 * One request on an open connection: send it, answer notifications, and
 * return the final reply of req's type with success set. The connection
 * stays open (closed already if it timed out).
 */
static int rpc_exchange(ckpt_client *c, const char *op, struct conn *conn, CriuReq *req, const ckpt_opts *o,
			CriuResp **ret, ckpt_err *err)
{
	const char *log_name = req->opts && req->opts->log_file ? req->opts->log_file : NULL;
	CriuResp *resp = NULL;
	int r, cb_err = 0;
	ckpt_err cb_detail = CKPT_ERR_INIT;

	c->notified_pid = 0;
	r = conn_send(conn, req, err);
	while (r == 0) {
		int fd = -1;

		r = conn_recv(conn, &resp, &fd, err);
		if (r < 0)
			break;
		if (resp->type != CRIU_REQ_TYPE__NOTIFY) {
			if (fd >= 0)
				close(fd);
			break;
		}
		/* A notification: run its callback (once one failed, refuse the rest) and answer. */
		CriuReq ack = CRIU_REQ__INIT;

		if (resp->notify->has_pid && resp->notify->pid > 0)
			c->notified_pid = resp->notify->pid;
		if (!cb_err)
			cb_err = dispatch(c, op, resp->notify, fd, &cb_detail);
		else if (fd >= 0)
			close(fd);
		ack.type = CRIU_REQ_TYPE__NOTIFY;
		ack.has_notify_success = 1;
		ack.notify_success = cb_err == 0;
		criu_resp__free_unpacked(resp, NULL);
		resp = NULL;
		r = conn_send(conn, &ack, err);
	}
	if (r < 0) {
		if (cb_err && (r == CKPT_ECRIU_DIED)) {
			if (err)
				*err = cb_detail;
			r = cb_err;
		}
		err_prefix(err, "%s", op);
		return r;
	}
	if (cb_err) {
		criu_resp__free_unpacked(resp, NULL);
		if (err)
			*err = cb_detail;
		return cb_err;
	}
	if (!resp->success) {
		r = criu_failed(o, op, req, resp, log_name, err);
		criu_resp__free_unpacked(resp, NULL);
		return r;
	}
	if (resp->type != req->type) {
		r = err_set(err, CKPT_EPROTO, "%s: criu answered a %s request with %s", op, type_name(req->type),
			    type_name(resp->type));
		criu_resp__free_unpacked(resp, NULL);
		return r;
	}
	*ret = resp;
	return 0;
}

int rpc_call(ckpt_client *c, const char *op, CriuReq *req, const ckpt_opts *o, CriuResp **ret, ckpt_err *err)
{
	size_t len = criu_req__get_packed_size(req);
	struct conn conn;
	int r;

	/* refused before criu is even started */
	if (len > CKPT_MAX_MSG)
		return err_set(err, CKPT_ETOOBIG, "%s: the request is %zu bytes, above the %d byte limit", op, len,
			       CKPT_MAX_MSG);
	r = conn_open(c, req->opts, &conn, err);
	if (r < 0) {
		err_set_step(err, c->service_path ? "connect" : "spawn");
		return r;
	}
	r = rpc_exchange(c, op, &conn, req, o, ret, err);
	conn_close(&conn, r == CKPT_ETIMEDOUT);
	return r;
}

/* Build the request's options from o, adding the defaults every request needs. */
static int prepare(const ckpt_client *c, const char *op, CriuReqType type, const ckpt_opts *o, CriuReq *req,
		   ckpt_err *err)
{
	CriuOpts *ro = opts_for_request(o, err);

	if (!ro)
		return CKPT_ENOMEM;
	req->type = type;
	req->opts = ro;
	if (!ro->log_file && op_log_name(type) && (o && (o->images_fd >= 0 || o->work_fd >= 0))) {
		ro->log_file = strdup(op_log_name(type));
		if (!ro->log_file)
			return err_set(err, CKPT_ENOMEM, "%s: out of memory", op);
	}
	if (c->n_notify || (c->netns_setup && type == CRIU_REQ_TYPE__RESTORE)) {
		ro->has_notify_scripts = 1;
		ro->notify_scripts = 1;
	}
	return 0;
}

static void req_done(CriuReq *req)
{
	if (req->opts)
		criu_opts__free_unpacked(req->opts, NULL);
	req->opts = NULL;
}

/* CRIU's version from a VERSION reply, as major*10000+minor*100+sublevel. */
static int version_of(const CriuResp *resp, unsigned *ret, ckpt_err *err)
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

int ckpt_criu_version(ckpt_client *c, unsigned *version, ckpt_err *err)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *resp;
	int r;

	assert_return(c && version, err, "version: NULL argument");
	req.type = CRIU_REQ_TYPE__VERSION;
	r = rpc_call(c, "version", &req, NULL, &resp, err);
	if (r < 0)
		return r;
	r = version_of(resp, version, err);
	criu_resp__free_unpacked(resp, NULL);
	return r;
}

static int check_version_floor(unsigned version, ckpt_err *err)
{
	if (version >= CKPT_CRIU_MIN_VERSION)
		return 0;
	return err_set(err, CKPT_ECRIU_VERSION, "check: criu %u.%u.%u is too old (libckpt needs %u.%u or newer)",
		       version / 10000, version / 100 % 100, version % 100, CKPT_CRIU_MIN_VERSION / 10000,
		       CKPT_CRIU_MIN_VERSION / 100 % 100);
}

/*
 * VERSION (kept open: CRIU serves another request on the same connection
 * after it) and then CHECK: one criu for both. A criu whose worker does not
 * keep a VERSION connection open closes it unanswered; then the two go on
 * connections of their own.
 */
int ckpt_check(ckpt_client *c, ckpt_err *err)
{
	CriuReq vreq = CRIU_REQ__INIT, req = CRIU_REQ__INIT;
	CriuResp *resp = NULL;
	struct conn conn;
	unsigned version = 0;
	int r;

	assert_return(c, err, "check: NULL client");
	/* Always with opts: CRIU 4.1.1's check worker crashes on a CHECK without them. */
	r = prepare(c, "check", CRIU_REQ_TYPE__CHECK, NULL, &req, err);
	if (r < 0)
		goto out;
	r = conn_open(c, req.opts, &conn, err);
	if (r < 0) {
		err_set_step(err, c->service_path ? "connect" : "spawn");
		goto out;
	}
	vreq.type = CRIU_REQ_TYPE__VERSION;
	vreq.has_keep_open = vreq.keep_open = 1;
	r = rpc_exchange(c, "check", &conn, &vreq, NULL, &resp, err);
	if (r == CKPT_ECRIU_DIED) {
		conn_close(&conn, true);
		r = ckpt_criu_version(c, &version, err);
		if (r == 0)
			r = check_version_floor(version, err);
		if (r == 0)
			r = rpc_call(c, "check", &req, NULL, &resp, err);
		goto done;
	}
	if (r == 0) {
		r = version_of(resp, &version, err);
		criu_resp__free_unpacked(resp, NULL);
		resp = NULL;
	}
	if (r == 0)
		r = check_version_floor(version, err);
	if (r == 0)
		r = rpc_exchange(c, "check", &conn, &req, NULL, &resp, err);
	conn_close(&conn, r == CKPT_ETIMEDOUT || r == CKPT_ECRIU_VERSION);
done:
	if (r == 0)
		criu_resp__free_unpacked(resp, NULL);
out:
	req_done(&req);
	return r;
}

int ckpt_feature_check(ckpt_client *c, uint32_t want, uint32_t *ret_have, ckpt_err *err)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuFeatures f = CRIU_FEATURES__INIT;
	CriuResp *resp = NULL;
	uint32_t have = 0;
	int r;

	assert_return(c && ret_have, err, "feature check: NULL argument");
	if (want & ~(uint32_t)(CKPT_FEATURE_MEM_TRACK | CKPT_FEATURE_LAZY_PAGES | CKPT_FEATURE_PIDFD_STORE))
		return err_set(err, CKPT_EINVAL, "feature check: unknown feature bits 0x%x", want);
	f.has_mem_track = f.mem_track = !!(want & CKPT_FEATURE_MEM_TRACK);
	f.has_lazy_pages = f.lazy_pages = !!(want & CKPT_FEATURE_LAZY_PAGES);
	f.has_pidfd_store = f.pidfd_store = !!(want & CKPT_FEATURE_PIDFD_STORE);
	r = prepare(c, "feature check", CRIU_REQ_TYPE__FEATURE_CHECK, NULL, &req, err);
	req.features = &f;
	if (r == 0)
		r = rpc_call(c, "feature check", &req, NULL, &resp, err);
	req_done(&req);
	if (r < 0)
		return r;
	if (resp->features) {
		if (resp->features->has_mem_track && resp->features->mem_track)
			have |= CKPT_FEATURE_MEM_TRACK;
		if (resp->features->has_lazy_pages && resp->features->lazy_pages)
			have |= CKPT_FEATURE_LAZY_PAGES;
		if (resp->features->has_pidfd_store && resp->features->pidfd_store)
			have |= CKPT_FEATURE_PIDFD_STORE;
	}
	criu_resp__free_unpacked(resp, NULL);
	*ret_have = have & want;
	return 0;
}

static bool has_checkpoint(int dirfd)
{
	struct stat st;

	return fstatat(dirfd, "inventory.img", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * A root dump writes secrets (the memory of the process) into the images dir:
 * it must belong to the caller (or root) and be writable by nobody else, or
 * another user could plant files or links in it.
 */
static int check_images_dir(const ckpt_opts *o, const char *op, ckpt_err *err)
{
	const char *path = o->images_path ? o->images_path : "images dir";
	struct stat st;

	if (fstat(o->images_fd, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot stat '%s'", op, path);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return err_set(err, CKPT_EIMAGES, "%s: '%s' belongs to uid %u, not to us (uid %u) or root", op, path,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(err, CKPT_EIMAGES,
			       "%s: '%s' is writable by %s (mode %04o); make it owner-only (chmod 0700)", op, path,
			       st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Make one regular file we own in dirfd owner-only (0600). */
static void owner_only_file(int dirfd, const char *name)
{
	struct stat st;

	if (name && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 077))
		fchmodat(dirfd, name, st.st_mode & 0700, 0);
}

/* Make the regular files we own in dirfd owner-only (0600). */
static void owner_only(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		owner_only_file(dirfd, de->d_name);
	closedir(d);
}

static int dump_common(ckpt_client *c, const ckpt_opts *o, CriuReqType type, const char *op, ckpt_err *err)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *resp = NULL;
	int r;

	assert_return(c && o, err, "%s: NULL argument", op);
	if (!o->pb->has_pid)
		return err_set(err, CKPT_EINVAL, "%s: no target pid set (ckpt_opts_set_pid)", op);
	if (o->images_fd < 0)
		return err_set(err, CKPT_EINVAL, "%s: no images directory set (ckpt_opts_set_images_dir)", op);
	if (kill(o->pb->pid, 0) < 0 && errno == ESRCH)
		return err_set(err, CKPT_ENOTARGET, "%s: pid %d: no such process", op, (int)o->pb->pid);
	r = check_images_dir(o, op, err);
	if (r < 0)
		return r;
	if (type == CRIU_REQ_TYPE__DUMP && has_checkpoint(o->images_fd))
		return err_set(err, CKPT_EEXIST, "%s: '%s' already holds a checkpoint (inventory.img); refusing to overwrite it",
			       op, o->images_path ? o->images_path : "images dir");
	r = prepare(c, op, type, o, &req, err);
	if (r == 0)
		r = rpc_call(c, op, &req, o, &resp, err);
	req_done(&req);
	/*
	 * CRIU creates images 0644: a checkpoint holds the process's memory, keep it owner-only.
	 * In a separate work dir only CRIU's own files are touched (it may be the caller's state dir).
	 */
	owner_only(o->images_fd);
	if (o->work_fd >= 0) {
		const char *names[] = { o->pb->log_file ? o->pb->log_file : op_log_name(type), "stats-dump" };

		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			owner_only_file(o->work_fd, names[i]);
	}
	if (r < 0) {
		/* Never leave what looks like a valid checkpoint behind a failed dump. */
		if (type == CRIU_REQ_TYPE__DUMP)
			unlinkat(o->images_fd, "inventory.img", 0);
		return r;
	}
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

int ckpt_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return dump_common(c, o, CRIU_REQ_TYPE__DUMP, "dump", err);
}

int ckpt_pre_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return dump_common(c, o, CRIU_REQ_TYPE__PRE_DUMP, "pre-dump", err);
}

/*
 * A failed restore-sibling restore may leave the half-restored root as our
 * (the caller's) child, killed by CRIU but unreaped, or, if CRIU died, still
 * there. Only a pid CRIU named in a notification of this very restore is
 * touched, so no other child of the caller is ever reaped.
 */
static void reap_failed_restore(pid_t pid)
{
	if (pid <= 0)
		return;
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return;
		if (i == 50)
			kill(pid, SIGKILL); /* nothing half-restored stays behind */
		usleep(10000);
	}
}

int ckpt_restore(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, ckpt_err *err)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *resp = NULL;
	uint32_t img_version;
	pid_t pid;
	int r;

	assert_return(c && o, err, "restore: NULL argument");
	if (o->images_fd < 0)
		return err_set(err, CKPT_EINVAL, "restore: no images directory set (ckpt_opts_set_images_dir)");
	if (!has_checkpoint(o->images_fd))
		return err_set(err, CKPT_EIMAGES, "restore: '%s' holds no checkpoint (no inventory.img)",
			       o->images_path ? o->images_path : "images dir");
	r = image_format_version(o->images_fd, &img_version, err);
	if (r < 0) {
		err_prefix(err, "restore");
		return r;
	}
	if (img_version != CKPT_IMG_VERSION)
		return err_set(err, CKPT_EBADIMG,
			       "restore: '%s' holds images of format version %u; CRIU 3.x/4.x reads version %d only",
			       o->images_path ? o->images_path : "images dir", img_version, CKPT_IMG_VERSION);
	r = prepare(c, "restore", CRIU_REQ_TYPE__RESTORE, o, &req, err);
	if (r == 0 && !c->service_path && !o->rst_sibling_set) {
		/* swrk: the restored tree becomes the caller's child, not an orphan of the exiting criu */
		req.opts->has_rst_sibling = 1;
		req.opts->rst_sibling = 1;
	}
	if (r == 0)
		r = rpc_call(c, "restore", &req, o, &resp, err);
	if (r < 0 && req.opts && req.opts->rst_sibling)
		reap_failed_restore(c->notified_pid);
	req_done(&req);
	if (r < 0)
		return r;
	pid = resp->restore->pid;
	criu_resp__free_unpacked(resp, NULL);
	if (pid <= 0)
		return err_set(err, CKPT_EPROTO, "restore: criu reported restored pid %d", (int)pid);
	if (ret_pid)
		*ret_pid = pid;
	return 0;
}

int ckpt_page_server_start(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, int *ret_port, ckpt_err *err)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *resp = NULL;
	int r;

	assert_return(c && o, err, "page server: NULL argument");
	if (o->images_fd < 0)
		return err_set(err, CKPT_EINVAL, "page server: no images directory set (ckpt_opts_set_images_dir)");
	r = prepare(c, "page server", CRIU_REQ_TYPE__PAGE_SERVER, o, &req, err);
	if (r == 0 && !req.opts->ps) {
		req.opts->ps = malloc(sizeof(*req.opts->ps));
		if (!req.opts->ps)
			r = err_set(err, CKPT_ENOMEM, "page server: out of memory");
		else
			criu_page_server_info__init(req.opts->ps);
	}
	if (r == 0)
		r = rpc_call(c, "page server", &req, o, &resp, err);
	req_done(&req);
	if (r < 0)
		return r;
	/* CRIU 4.2 reports pid 0 for the daemonized server; the port is what the dump needs. */
	if (!resp->ps || !resp->ps->has_port || resp->ps->port <= 0 || resp->ps->port > 65535 ||
	    (resp->ps->has_pid && resp->ps->pid < 0)) {
		criu_resp__free_unpacked(resp, NULL);
		return err_set(err, CKPT_EPROTO, "page server: criu's reply names no usable port");
	}
	if (ret_pid)
		*ret_pid = resp->ps->has_pid ? resp->ps->pid : 0;
	if (ret_port)
		*ret_port = resp->ps->port;
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}
