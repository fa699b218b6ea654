/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dumps: the images-dir transaction (a new or empty directory given by path
 * is written through a staging directory renamed into place on success; any
 * other is written in place and only what this dump created is touched),
 * the file modes, and what a failure keeps: a known failure leaves the tree
 * running and nothing that looks like a checkpoint; an unknown outcome never
 * removes images that may be the only copy of a tree that is gone, and
 * thaws and unlocks a tree that still runs.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "rpc/call.h"
#include "images/imgdir.h"
#include "proc/procfs.h"
#include "recover.h"

struct dump {
	ckpt_client *c;
	const ckpt_opts *o;
	CriuReqType type;
	const char *op;
	bool self;	    /* a self-dump of the caller */
	struct proc target; /* the tree's root, through its pidfd */
	struct staging st;  /* a staging dir, when st.fd >= 0 */
	struct dir_ref img, work;
	struct dir_snap img_snap, work_snap; /* what was there before (in place) */
	char log_shown[PATH_MAX];	     /* where CRIU's log is said to be */
};

/* Open (or stage, or create) the images dir and the work dir; the snapshots of what is there. */
static int dump_dirs(struct dump *d, ckpt_err *err)
{
	const ckpt_opts *o = d->o;
	int r = 0;

	if (d->type == CRIU_REQ_TYPE__DUMP && !d->self) {
		r = staging_wanted(&o->images, o->follow_symlinks, err);
		if (r < 0)
			return r;
	}
	if (r > 0) {
		r = staging_begin(&d->st, o->images.path, o->follow_symlinks, err);
		if (r < 0)
			return r;
		d->img.fd = d->st.fd;
		d->img.path = strdup(d->st.tmp_path);
	} else {
		if (o->images.path && d->type == CRIU_REQ_TYPE__PRE_DUMP)
			(void)mkdir(o->images.path,
				    0700); /* a pre-dump into a new directory: made here, 0700 */
		r = dir_ref_open(&o->images, "images-dir", o->follow_symlinks, &d->img, err);
		if (r < 0)
			return r;
		if (dir_snap_take_errno(d->img.fd, &d->img_snap) < 0)
			return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot list '%s'", d->op,
				       dir_ref_name(&d->img));
	}
	r = dir_ref_open(&o->work, "work-dir", o->follow_symlinks, &d->work, err);
	if (r < 0)
		return r;
	if (d->work.fd >= 0 && dir_snap_take_errno(d->work.fd, &d->work_snap) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "%s: cannot list '%s'", d->op,
			       dir_ref_name(&d->work));
	return 0;
}

/* CRIU makes its images 0644: a checkpoint holds the process's memory; what this dump made goes owner-only. */
static void dump_modes(struct dump *d, const char *log_name)
{
	const char *const crius[] = { log_name && *log_name ? log_name : "stats-dump", "stats-dump",
				      NULL };

	if (d->o->keep_modes)
		return;
	dir_owner_only_new(d->img.fd, d->st.fd >= 0 ? NULL : &d->img_snap, NULL);
	if (d->work.fd >=
	    0) /* maybe the caller's state dir: only CRIU's own files, and only new ones */
		dir_owner_only_new(d->work.fd, &d->work_snap, crius);
}

/* The dump succeeded: put a staged checkpoint in place. */
static int dump_commit(struct dump *d, ckpt_err *err)
{
	int r;

	if (d->st.fd < 0)
		return 0;
	r = staging_commit(&d->st, err);
	if (r < 0 && err) {
		/* complete, and maybe the only copy: kept where it is, named */
		err->flags |= CKPT_ERR_F_IMAGES_KEPT |
			      (proc_exited(&d->target) ? CKPT_ERR_F_TARGET_GONE : 0);
		snprintf(err->images_path, sizeof(err->images_path), "%s", d->st.tmp_path);
	}
	staging_free(&d->st); /* in place now, or kept where it is */
	return r;
}

/* CRIU failed and said so: the tree runs on; nothing that looks like a checkpoint stays. */
static void dump_failed_known(struct dump *d, const char *log_name, ckpt_err *err)
{
	if (d->st.fd >= 0) {
		char moved[PATH_MAX] = "";

		staging_discard(&d->st, d->work.fd >= 0 ? NULL : log_name, moved, sizeof(moved));
		if (err && moved[0])
			snprintf(err->log_path, sizeof(err->log_path), "%s", moved);
	} else if (d->type == CRIU_REQ_TYPE__DUMP && !d->o->overwrite) {
		/* only an inventory.img this dump created: what was there before is the caller's */
		dir_remove_new(d->img.fd, &d->img_snap, "inventory.img");
	}
}

/* criu went away, timed out or talked nonsense: it may have finished. */
static void dump_outcome_unknown(struct dump *d, const char *log_name, ckpt_err *err)
{
	const char *where = d->st.fd >= 0 ? d->st.tmp_path : dir_ref_name(&d->img);
	bool gone = d->self || proc_exited(&d->target);

	if (!err)
		return;
	err->flags |= CKPT_ERR_F_OUTCOME_UNKNOWN;
	if (gone && d->type == CRIU_REQ_TYPE__DUMP) {
		/* CRIU kills the tree once it is dumped: these images may be its only copy */
		err->flags |= CKPT_ERR_F_TARGET_GONE | CKPT_ERR_F_IMAGES_KEPT;
		snprintf(err->images_path, sizeof(err->images_path), "%s", where);
		err_append(
			err,
			"; the tree is gone, and its images are kept in '%s': they may be complete (check them "
			"with `ckpt inspect %s` before restoring from them)",
			where, where);
		if (d->st.fd >= 0)
			staging_free(&d->st); /* never renamed into place, never removed */
		return;
	}
	if (gone) {
		err->flags |= CKPT_ERR_F_TARGET_GONE;
		err_append(err, "; the tree is gone");
		return;
	}
	err_append(err, "; the tree still runs");
	recover_after_dump(d->o, &d->target, err);
	dump_failed_known(d, log_name, NULL);
}

static void dump_free(struct dump *d)
{
	if (d->st.fd >= 0)
		staging_discard(&d->st, NULL, NULL, 0); /* only reached before CRIU ran */
	staging_free(&d->st);
	dir_ref_close(&d->img);
	dir_ref_close(&d->work);
	dir_snap_free(&d->img_snap);
	dir_snap_free(&d->work_snap);
	proc_close(&d->target);
}

static int dump_common(ckpt_client *c, const ckpt_opts *o, CriuReqType type, const char *op,
		       ckpt_err *err)
{
	char why[256];
	struct dump d = { .c = c,
			  .o = o,
			  .type = type,
			  .op = op,
			  .target = PROC_INIT,
			  .st = STAGING_INIT,
			  .img = DIR_REF_INIT,
			  .work = DIR_REF_INIT };
	struct request rq;
	struct request_env env;
	struct call call;
	CriuResp *resp = NULL;
	int r;

	assert_return(c && o, err, "%s: NULL argument", op);
	memset(&rq, 0, sizeof(rq));
	call_init(&call, c, op, false);
	d.self = !o->pb->has_pid && o->self_dump;
	if (!o->pb->has_pid && !d.self)
		return err_set(err, CKPT_EINVAL, "%s: no target pid set (ckpt_opts_set_pid)", op);
	if (!dirspec_is_set(&o->images))
		return err_set(err, CKPT_EINVAL,
			       "%s: no images directory set (ckpt_opts_set_images_dir)", op);
	if (!d.self && proc_open_errno(&d.target, o->pb->pid) == -ESRCH)
		return err_set(err, CKPT_ENOTARGET, "%s: pid %d: no such process", op,
			       (int)o->pb->pid);
	if (!d.self && procfs_undumpable(o->pb->pid, why, sizeof(why))) {
		proc_close(&d.target);
		err_set(err, CKPT_EINVAL, "%s: refused: %s (nothing was frozen)", op, why);
		err_hint(err, 0, UNDUMPABLE_HINT);
		return CKPT_EINVAL;
	}

	r = dump_dirs(&d, err);
	if (r < 0)
		goto out;
	if (!o->keep_modes && (r = dir_check_private(&d.img, op, err)) < 0)
		goto out;
	if (type == CRIU_REQ_TYPE__DUMP && !o->overwrite && dir_has_checkpoint(d.img.fd)) {
		r = err_set(
			err, CKPT_EEXIST,
			"%s: '%s' already holds a checkpoint (inventory.img); refusing to overwrite it "
			"(CKPT_OPT_OVERWRITE)",
			op, dir_ref_name(&d.img));
		goto out;
	}
	env = (struct request_env){ .swrk = !c->service_path,
				    .notify = c->notify.n > 0,
				    .images_fd = d.img.fd,
				    .work_fd = d.work.fd };
	r = request_build(&rq, type, o, &env, err);
	if (r < 0)
		goto out;
	call.detach = d.self;
	call.opts = o;
	call.lp.dirfd = d.work.fd >= 0 ? d.work.fd : d.img.fd;
	call.lp.dirpath = d.work.fd >= 0 ? d.work.path : d.img.path;
	call.lp.name = rq.log_name;
	if (d.st.fd >= 0 && d.work.fd < 0 && rq.log_name[0]) {
		/* a failed staged dump leaves its log beside the final name: say so from the start */
		snprintf(d.log_shown, sizeof(d.log_shown), "%s.%s", d.st.final_path, rq.log_name);
		call.lp.shown = d.log_shown;
	}
	r = call_run(&call, &rq, &resp, err);
	dump_modes(&d, rq.log_name);
	if (r == 0) {
		bool restored = resp->dump && resp->dump->has_restored && resp->dump->restored;

		criu_resp__free_unpacked(resp, NULL);
		r = dump_commit(&d, err);
		if (r == 0 && restored)
			r = 1; /* a self-dump, resumed in the restored process */
	} else if (call_outcome_unknown(r)) {
		reply_log(&call.lp, &rq.req, o, err);
		dump_outcome_unknown(&d, rq.log_name, err);
	} else {
		dump_failed_known(&d, rq.log_name, err);
	}
out:
	exchange_done(&call.x);
	request_free(&rq);
	dump_free(&d);
	return r;
}

int ckpt_images_reap_staging(const char *images_path, uint64_t *ret_bytes, unsigned *ret_dirs,
			     ckpt_err *err)
{
	uint64_t bytes;
	unsigned dirs;
	int r = staging_reap_beside(images_path, false, &bytes, &dirs, err);

	if (ret_bytes)
		*ret_bytes = r == 0 ? bytes : 0;
	if (ret_dirs)
		*ret_dirs = r == 0 ? dirs : 0;
	return r;
}

int ckpt_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return dump_common(c, o, CRIU_REQ_TYPE__DUMP, "dump", err);
}

int ckpt_pre_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err)
{
	return dump_common(c, o, CRIU_REQ_TYPE__PRE_DUMP, "pre-dump", err);
}
