/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requests other than dumps: version, check, feature check, restore, page server. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "rpc/call.h"
#include "images/imgdir.h"
#include "images/images.h"
#include "net/netns.h"
#include "proc/procfs.h"
#include "ops.h"

static struct request_env env_for(const ckpt_client *c)
{
	struct request_env env = { .swrk = !c->service_path, .images_fd = -1, .work_fd = -1 };

	return env;
}

/* A request that carries no options (VERSION): CRIU wants none. */
static int build_bare(struct request *rq, CriuReqType type, const ckpt_client *c, ckpt_err *err)
{
	struct request_env env = env_for(c);
	int r = request_build(rq, type, NULL, &env, err);

	if (r == 0)
		request_drop_opts(rq);
	return r;
}

int ckpt_criu_version(ckpt_client *c, unsigned *version, ckpt_err *err)
{
	struct request rq;
	struct call call;
	CriuResp *resp = NULL;
	int r;

	assert_return(c && version, err, "version: NULL argument");
	r = build_bare(&rq, CRIU_REQ_TYPE__VERSION, c, err);
	if (r == 0) {
		call_init(&call, c, "version", true);
		r = call_run(&call, &rq, &resp, err);
		exchange_done(&call.x);
	}
	request_free(&rq);
	if (r < 0)
		return r;
	r = reply_version(resp, version, err);
	criu_resp__free_unpacked(resp, NULL);
	return r;
}

static int check_version_floor(unsigned version, ckpt_err *err)
{
	if (version >= CKPT_CRIU_MIN_VERSION)
		return 0;
	return err_set(err, CKPT_ECRIU_VERSION,
		       "check: criu %u.%u.%u is too old (libckpt needs %u.%u or newer)",
		       version / 10000, version / 100 % 100, version % 100,
		       CKPT_CRIU_MIN_VERSION / 10000, CKPT_CRIU_MIN_VERSION / 100 % 100);
}

/* VERSION and CHECK on connections of their own (for a criu that will not keep VERSION open). */
static int check_apart(ckpt_client *c, const struct request *crq, ckpt_err *err)
{
	struct call call;
	CriuResp *resp = NULL;
	unsigned version = 0;
	int r = ckpt_criu_version(c, &version, err);

	if (r == 0)
		r = check_version_floor(version, err);
	if (r < 0)
		return r;
	call_init(&call, c, "check", true);
	r = call_run(&call, crq, &resp, err);
	exchange_done(&call.x);
	if (r == 0)
		criu_resp__free_unpacked(resp, NULL);
	return r;
}

/*
 * VERSION (kept open: CRIU serves another request on the same connection
 * after it) and then CHECK: one criu for both. A criu whose worker does not
 * keep a VERSION connection open closes it unanswered; then the two go on
 * connections of their own, and the first attempt's error is forgotten.
 */
int ckpt_check(ckpt_client *c, ckpt_err *err)
{
	struct request vrq, crq;
	struct request_env env;
	struct call call;
	struct conn conn;
	ckpt_err first = { .version = CKPT_ERR_VERSION };
	CriuResp *resp = NULL;
	unsigned version = 0;
	int r;

	assert_return(c, err, "check: NULL client");
	env = env_for(c);
	/* always with opts: CRIU 4.1.1's check worker crashes on a CHECK without them */
	r = request_build(&crq, CRIU_REQ_TYPE__CHECK, NULL, &env, err);
	if (r == 0)
		r = build_bare(&vrq, CRIU_REQ_TYPE__VERSION, c, err);
	else
		memset(&vrq, 0, sizeof(vrq));
	if (r < 0)
		goto out;
	request_keep_open(&vrq);
	call_init(&call, c, "check", true);
	r = call_open(&call, &crq, &conn, err);
	if (r < 0)
		goto out;
	r = call_exchange(&call, &conn, &vrq, &resp, &first);
	if (r == CKPT_ECRIU_DIED) {
		call_close(&call, &conn, r);
		r = check_apart(c, &crq, err);
		goto out;
	}
	if (r < 0) {
		err_copy(err, &first);
	} else {
		r = reply_version(resp, &version, err);
		criu_resp__free_unpacked(resp, NULL);
		resp = NULL;
		if (r == 0)
			r = check_version_floor(version, err);
		if (r == 0) {
			r = call_exchange(&call, &conn, &crq, &resp, &first);
			if (r == 0)
				criu_resp__free_unpacked(resp, NULL);
			else if (r != CKPT_ECRIU_DIED)
				err_copy(err, &first);
		}
	}
	call_close(&call, &conn, r);
	if (r == CKPT_ECRIU_DIED) {
		/* answered VERSION and went away: a criu that does not keep the connection open */
		struct call again;

		call_init(&again, c, "check", true);
		r = call_run(&again, &crq, &resp, err);
		exchange_done(&again.x);
		if (r == 0)
			criu_resp__free_unpacked(resp, NULL);
	}
out:
	exchange_done(&call.x);
	request_free(&vrq);
	request_free(&crq);
	return r;
}

int ckpt_feature_check(ckpt_client *c, uint32_t want, uint32_t *ret_have, ckpt_err *err)
{
	struct request rq;
	struct request_env env;
	struct call call;
	CriuResp *resp = NULL;
	uint32_t have = 0;
	int r;

	assert_return(c && ret_have, err, "feature check: NULL argument");
	if (want & ~(uint32_t)(CKPT_FEATURE_MEM_TRACK | CKPT_FEATURE_LAZY_PAGES |
			       CKPT_FEATURE_PIDFD_STORE))
		return err_set(err, CKPT_EINVAL, "feature check: unknown feature bits 0x%x", want);
	env = env_for(c);
	r = request_build(&rq, CRIU_REQ_TYPE__FEATURE_CHECK, NULL, &env, err);
	if (r == 0) {
		request_features(&rq, want & CKPT_FEATURE_MEM_TRACK, want & CKPT_FEATURE_LAZY_PAGES,
				 want & CKPT_FEATURE_PIDFD_STORE);
		call_init(&call, c, "feature check", true);
		r = call_run(&call, &rq, &resp, err);
		exchange_done(&call.x);
	}
	request_free(&rq);
	if (r < 0)
		return r;
	if (resp && resp->features) {
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

/* ---- CPU compatibility: cpuinfo.img written here, checked there ---- */

static int cpuinfo_request(ckpt_client *c, const ckpt_opts *o, CriuReqType type, const char *op,
			   ckpt_err *err)
{
	struct dir_ref img = DIR_REF_INIT, work = DIR_REF_INIT;
	struct request rq;
	struct request_env env;
	struct call call;
	CriuResp *resp = NULL;
	int r;

	assert_return(c && o, err, "%s: NULL argument", op);
	if (!dirspec_is_set(&o->images))
		return err_set(err, CKPT_EINVAL,
			       "%s: no images directory set (ckpt_opts_set_images_dir)", op);
	memset(&rq, 0, sizeof(rq));
	call_init(&call, c, op, true);
	r = dir_ref_open(&o->images, "images-dir", o->follow_symlinks, &img, err);
	if (r == 0)
		r = dir_ref_open(&o->work, "work-dir", o->follow_symlinks, &work, err);
	if (r < 0) {
		err_prefix(err, "%s", op);
		goto out;
	}
	if (type == CRIU_REQ_TYPE__CPUINFO_CHECK &&
	    faccessat(img.fd, "cpuinfo.img", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		r = err_sys(err, CKPT_EIMAGES, errno,
			    "%s: '%s' holds no cpuinfo.img (expected one written by "
			    "ckpt_cpuinfo_dump)",
			    op, dir_ref_name(&img));
		goto out;
	}
	env = env_for(c);
	env.images_fd = img.fd;
	env.work_fd = work.fd;
	r = request_build(&rq, type, o, &env, err);
	if (r < 0)
		goto out;
	call.lp.dirfd = work.fd >= 0 ? work.fd : img.fd;
	call.lp.dirpath = work.fd >= 0 ? work.path : img.path;
	call.lp.name = rq.log_name;
	call.opts = o;
	r = call_run(&call, &rq, &resp, err);
	if (r == 0)
		criu_resp__free_unpacked(resp, NULL);
	else if (r == CKPT_ECRIU && type == CRIU_REQ_TYPE__CPUINFO_CHECK)
		err_prefix(
			err,
			"the CPU of this host cannot run what was dumped on the CPU described in '%s/cpuinfo.img'",
			dir_ref_name(&img));
out:
	exchange_done(&call.x);
	request_free(&rq);
	dir_ref_close(&img);
	dir_ref_close(&work);
	return r;
}

int ckpt_cpuinfo_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return cpuinfo_request(c, o, CRIU_REQ_TYPE__CPUINFO_DUMP, "cpuinfo dump", err);
}

int ckpt_cpuinfo_check(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return cpuinfo_request(c, o, CRIU_REQ_TYPE__CPUINFO_CHECK, "cpuinfo check", err);
}

/* ---- restore ---- */

static int setup_ns_hook(void *userdata, pid_t pid, ckpt_err *err)
{
	return netns_setup_run(userdata, pid, err);
}

/*
 * A failed restore-sibling restore may leave a half-restored root as our (the
 * caller's) child: killed by CRIU but unreaped, or, if CRIU died, still
 * running. Only a pid this restore made is touched: one CRIU named in a
 * notification of this call, or the dumped root's pid when it was free
 * before the call (held_before tells what held it then); and only while it
 * is our child. It is killed through its pidfd and reaped, bounded.
 */
static void reap_failed_root(struct call *call, pid_t pid, const struct proc *held_before)
{
	struct proc p;
	uint64_t until = call->deadline_us ? call->deadline_us + CALL_REAP_GRACE_US :
					     now_us() + CALL_REAP_GRACE_US;
	struct proc_set left = { 0 };

	if (pid <= 0)
		return;
	if (held_before && held_before->pid == pid && proc_signal_errno(held_before, 0) == 0)
		return; /* still the process that held it before (running, or a zombie): not ours */
	if (proc_adopt_child_errno(&p, pid) < 0 || p.reaped)
		return; /* not our child */
	(void)proc_signal_errno(&p, SIGKILL);
	if (!proc_reap(&p, until) && proc_set_add_errno(&left, &p) == 0) {
		client_keep_unreaped(call->c, &left);
		proc_set_free(&left);
		return;
	}
	proc_close(&p);
}

/* The tasks a failed restore may have left, each once: the setup-ns one, the post-restore one, the root. */
static void reap_failed_restore(struct call *call, pid_t root, struct proc *held)
{
	reap_failed_root(call, call->x.setup_ns_pid, NULL);
	if (call->x.post_restore_pid != call->x.setup_ns_pid)
		reap_failed_root(call, call->x.post_restore_pid, NULL);
	if (root != call->x.setup_ns_pid && root != call->x.post_restore_pid)
		reap_failed_root(call, root, held->pid ? held : NULL);
}

/* Open the images and work dirs; the images must hold a checkpoint of the format CRIU reads. */
static int restore_open_dirs(const ckpt_opts *o, struct dir_ref *img, struct dir_ref *work,
			     ckpt_err *err)
{
	uint32_t img_version;
	int r;

	r = dir_ref_open(&o->images, "restore: images-dir", o->follow_symlinks, img, err);
	if (r == 0)
		r = dir_ref_open(&o->work, "restore: work-dir", o->follow_symlinks, work, err);
	if (r < 0)
		return r;
	if (!dir_has_checkpoint(img->fd))
		return err_set(err, CKPT_EIMAGES,
			       "restore: '%s' holds no checkpoint (no inventory.img)",
			       dir_ref_name(img));
	r = image_format_version(img->fd, &img_version, err);
	if (r < 0) {
		err_prefix(err, "restore");
		return r;
	}
	if (img_version != CKPT_IMG_VERSION)
		return err_set(
			err, CKPT_EBADIMG,
			"restore: '%s' holds images of format version %u; CRIU 3.x/4.x reads version %d only",
			dir_ref_name(img), img_version, CKPT_IMG_VERSION);
	return 0;
}

int ckpt_restore(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, ckpt_err *err)
{
	return restore_run(c, o, ret_pid, NULL, NULL, err);
}

int restore_run(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid,
		void (*on_root)(void *userdata, pid_t pid), void *userdata, ckpt_err *err)
{
	struct dir_ref img = DIR_REF_INIT, work = DIR_REF_INIT;
	struct proc held = PROC_INIT;
	struct request rq;
	struct request_env env;
	struct call call;
	CriuResp *resp = NULL;
	pid_t root = 0, pid;
	int r;

	assert_return(c && o, err, "restore: NULL argument");
	if (!dirspec_is_set(&o->images))
		return err_set(err, CKPT_EINVAL,
			       "restore: no images directory set (ckpt_opts_set_images_dir)");
	memset(&rq, 0, sizeof(rq));
	call_init(&call, c, "restore", false);
	r = restore_open_dirs(o, &img, &work, err);
	if (r < 0)
		goto out;
	env = env_for(c);
	env.images_fd = img.fd;
	env.work_fd = work.fd;
	env.rst_sibling = true;
	/* in swrk, always told: the pids CRIU names are what a failure must clean up, the pty what the caller takes */
	env.notify = env.swrk || c->notify.n || c->netns;
	r = request_build(&rq, CRIU_REQ_TYPE__RESTORE, o, &env, err);
	if (r < 0)
		goto out;
	if (rq.req.opts->rst_sibling && image_root_pid(img.fd, &root, NULL) == 0)
		(void)proc_open_errno(
			&held,
			root); /* whoever holds the root's pid now is not ours to touch later */
	call.lp.dirfd = work.fd >= 0 ? work.fd : img.fd;
	call.lp.dirpath = work.fd >= 0 ? work.path : img.path;
	call.lp.name = rq.log_name;
	call.opts = o;
	if (c->netns) {
		call.x.on_setup_ns = setup_ns_hook;
		call.x.setup_ns_userdata = c->netns;
	}
	call.x.on_root = on_root;
	call.x.root_userdata = userdata;
	r = call_run(&call, &rq, &resp, err);
	if (r < 0 && rq.req.opts->rst_sibling)
		reap_failed_restore(&call, root, &held);
	if (r < 0)
		goto out;
	pid = resp->restore->pid;
	criu_resp__free_unpacked(resp, NULL);
	if (pid <= 0) {
		r = err_set(err, CKPT_EPROTO, "restore: criu reported restored pid %d", (int)pid);
		goto out;
	}
	if (call.x.pts_fd >= 0) {
		client_keep_pts_master(c, call.x.pts_fd);
		call.x.pts_fd = -1;
	}
	if (ret_pid)
		*ret_pid = pid;
out:
	exchange_done(&call.x);
	request_free(&rq);
	proc_close(&held);
	dir_ref_close(&img);
	dir_ref_close(&work);
	return r;
}

/*
 * CRIU 4.2 loses the daemonized page server's pid (cr_page_server returns 0
 * for it) but writes it to its pidfile: a configuration file (a memfd, reached
 * as criu's /proc/self/fd/M) names one, a fresh name in the directory criu
 * works in. Not where the caller gave a configuration file of their own.
 * name gets the pidfile's name, "" when none was asked for.
 */
static int ps_pidfile_ask(struct request *rq, char name[32], int *ret_conf, ckpt_err *err)
{
	char line[64], path[64], fdname[24];
	uint32_t rnd;
	int conf, n;

	name[0] = '\0';
	if (rq->req.opts && rq->req.opts->config_file)
		return 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return err_sys(err, CKPT_ESYS, errno, "page server: getrandom");
	snprintf(name, 32, ".ckpt-ps-%08x.pid", rnd);
	n = snprintf(line, sizeof(line), "pidfile %s\n", name);
	*ret_conf = memfd_create("ckpt-page-server.conf", MFD_CLOEXEC);
	if (*ret_conf < 0 || write(*ret_conf, line, (size_t)n) != n ||
	    lseek(*ret_conf, 0, SEEK_SET) < 0) {
		name[0] = '\0';
		return err_sys(err, CKPT_ESYS, errno, "page server: its configuration file");
	}
	if (request_pass_fd(rq, *ret_conf, &conf, err) < 0) {
		name[0] = '\0';
		return CKPT_EINVAL;
	}
	snprintf(fdname, sizeof(fdname), "fd/%d", conf);
	procfs_path(path, sizeof(path), PROCFS_SELF, fdname); /* criu's own fd table */
	return request_set_config_file(rq, path, err);
}

/* The pid criu wrote into name in dirfd (0 if none), and the file removed. */
static pid_t ps_pidfile_take(int dirfd, const char *name)
{
	char buf[24];
	unsigned long v = 0;
	ssize_t n;
	int fd;

	if (!name[0])
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlinkat(dirfd, name, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtoul(buf, NULL, 10);
	return v > 0 && v <= INT_MAX ? (pid_t)v : 0;
}

int ckpt_page_server_start(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, int *ret_port,
			   ckpt_err *err)
{
	struct dir_ref img = DIR_REF_INIT, work = DIR_REF_INIT;
	struct request rq;
	struct request_env env;
	struct call call;
	CriuResp *resp = NULL;
	_cleanup_close_ int conf = -1;
	char pidfile[32] = "";
	pid_t pid;
	int r, cwd;

	assert_return(c && o, err, "page server: NULL argument");
	if (!dirspec_is_set(&o->images))
		return err_set(err, CKPT_EINVAL,
			       "page server: no images directory set (ckpt_opts_set_images_dir)");
	memset(&rq, 0, sizeof(rq));
	call_init(&call, c, "page server", false);
	r = dir_ref_open(&o->images, "page server: images-dir", o->follow_symlinks, &img, err);
	if (r == 0)
		r = dir_ref_open(&o->work, "page server: work-dir", o->follow_symlinks, &work, err);
	if (r < 0)
		goto out;
	env = env_for(c);
	env.images_fd = img.fd;
	env.work_fd = work.fd;
	env.notify = c->notify.n > 0;
	r = request_build(&rq, CRIU_REQ_TYPE__PAGE_SERVER, o, &env, err);
	if (r == 0)
		r = ps_pidfile_ask(&rq, pidfile, &conf, err);
	if (r < 0)
		goto out;
	cwd = work.fd >= 0 ? work.fd : img.fd; /* criu's working directory */
	call.lp.dirfd = work.fd >= 0 ? work.fd : img.fd;
	call.lp.dirpath = work.fd >= 0 ? work.path : img.path;
	call.lp.name = rq.log_name;
	call.opts = o;
	r = call_run(&call, &rq, &resp, err);
	pid = ps_pidfile_take(cwd, pidfile); /* removed whatever the outcome */
	if (r < 0)
		goto out;
	/* CRIU 4.2 reports pid 0 for the daemonized server: its pidfile says, else 0. */
	if (!resp->ps || !resp->ps->has_port || resp->ps->port <= 0 || resp->ps->port > 65535 ||
	    (resp->ps->has_pid && resp->ps->pid < 0)) {
		criu_resp__free_unpacked(resp, NULL);
		r = err_set(err, CKPT_EPROTO, "page server: criu's reply names no usable port");
		goto out;
	}
	if (ret_pid)
		*ret_pid = resp->ps->has_pid && resp->ps->pid > 0 ? resp->ps->pid : pid;
	if (ret_port)
		*ret_port = resp->ps->port;
	criu_resp__free_unpacked(resp, NULL);
out:
	exchange_done(&call.x);
	request_free(&rq);
	dir_ref_close(&img);
	dir_ref_close(&work);
	return r;
}
