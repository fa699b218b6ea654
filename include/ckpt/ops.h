/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The requests: ask CRIU its version and features, dump, pre-dump, restore,
 * start a page server. Each takes a client (how to reach CRIU) and options
 * (what to do). See ckpt_dump(3).
 */
#ifndef CKPT_CKPT_OPS_H
#define CKPT_CKPT_OPS_H

#include <ckpt/client.h>
#include <ckpt/opts.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRIU's version as major*10000+minor*100+sublevel (a git build rounds up to the next minor). */
CKPT_EXPORT int ckpt_criu_version(ckpt_client *c, unsigned *version, ckpt_err *err);
/* The oldest CRIU libckpt works with. */
#define CKPT_CRIU_MIN_VERSION 31700
/*
 * Is this criu recent enough (>= CKPT_CRIU_MIN_VERSION, else CKPT_ECRIU_VERSION
 * naming its version) and the kernel good enough for checkpoint/restore
 * (criu check)? Two requests: VERSION, then CHECK.
 */
CKPT_EXPORT int ckpt_check(ckpt_client *c, ckpt_err *err);

enum {
	CKPT_FEATURE_MEM_TRACK = 1u << 0,
	CKPT_FEATURE_LAZY_PAGES = 1u << 1,
	CKPT_FEATURE_PIDFD_STORE = 1u << 2,
};
/* Ask CRIU which of the `want` features work here; the working ones go to ret_have. */
CKPT_EXPORT int ckpt_feature_check(ckpt_client *c, uint32_t want, uint32_t *ret_have,
				   ckpt_err *err);

/*
 * CPU compatibility, through CRIU (0.2): ckpt_cpuinfo_dump writes
 * cpuinfo.img, CRIU's description of this host's CPU, into o's images dir;
 * ckpt_cpuinfo_check, run on another host with that file in o's images dir,
 * tells whether this host's CPU can run what is dumped on that one
 * (CKPT_ECRIU naming the file when it cannot; CKPT_EIMAGES without the file).
 * Like version and check, each has a 30 s deadline unless the client set one.
 */
CKPT_EXPORT int ckpt_cpuinfo_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err);
CKPT_EXPORT int ckpt_cpuinfo_check(ckpt_client *c, const ckpt_opts *o, ckpt_err *err);

/*
 * Dump the tree rooted at the pid in o into the images dir. Without
 * leave-running the tree is killed once dumped.
 *
 * An images dir given by path that does not exist or is an empty directory
 * is written through a staging directory, PARENT/.NAME.ckpt-tmp-XXXXXX (0700),
 * renamed to NAME only once the dump succeeded. Any other images dir is
 * written in place. A dir that holds a checkpoint is refused (CKPT_EEXIST)
 * unless CKPT_OPT_OVERWRITE. The files this dump created are made owner-only
 * (unless CKPT_OPT_KEEP_MODES); files that were there before are never touched.
 *
 * When CRIU fails and says so, the tree keeps running and nothing that looks
 * like a checkpoint is left: the staging dir is removed (CRIU's log is kept
 * as PARENT/NAME.dump.log) or, in place, the inventory.img this dump created.
 * When the outcome is unknown (a deadline, criu gone, a malformed reply:
 * CKPT_ERR_F_OUTCOME_UNKNOWN), CRIU may have finished: if the tree is gone
 * (CKPT_ERR_F_TARGET_GONE), its images are kept where they are, never renamed
 * into place, and named in err->images_path (CKPT_ERR_F_IMAGES_KEPT); if it
 * still runs, its freezer cgroup is thawed and CRIU's nftables lock removed.
 *
 * With CKPT_OPT_SELF_DUMP and no pid, the calling process is dumped (criu
 * is started outside its tree, and the call has no deadline): 0 in the
 * process that dumped itself (with leave-running), 1 in a process restored
 * from those images.
 */
CKPT_EXPORT int ckpt_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err);
/* A pre-dump (memory only, the tree keeps running); needs soft-dirty tracking. */
CKPT_EXPORT int ckpt_pre_dump(ckpt_client *c, const ckpt_opts *o, ckpt_err *err);
/*
 * Restore from the images dir. In swrk mode the restored root becomes a child
 * of the caller (rst_sibling) unless CKPT_OPT_RST_SIBLING was set false; reap
 * it with waitpid. Its pid goes to *ret_pid.
 */
CKPT_EXPORT int ckpt_restore(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid, ckpt_err *err);

/*
 * Lazy restore (instant restore) from local images. libckpt runs `criu
 * lazy-pages` on o's images dir, restores with lazy pages (a swrk client:
 * CKPT_ENOTSUP for a criu service) and returns as soon as the tree runs, its
 * root's pid in *ret_pid (our child, as ckpt_restore's; reap it with
 * waitpid). Its memory follows through userfaultfd in the background, tracked
 * by *ret_lazy: ckpt_lazy_wait says when every page is in (then the images
 * may go). It never runs on missing memory: the userfaultfd of every restored
 * task is held by libckpt until the daemon ends well, so a fault it never
 * answers waits; if criu lazy-pages dies, is killed or cannot read a page,
 * the tree is killed before those are released, and ckpt_lazy_wait returns
 * the failure saying so. The images are never changed or removed.
 * CRIU's logs (restore.log, daemon/lazy-pages.log) go to a fresh directory
 * .ckpt-lazy-XXXXXXXXXXXX in the work dir (the images dir if none), removed by
 * ckpt_lazy_free once every page is in, kept otherwise (err->log_path names
 * it). Several lazy restores of one images dir may run at once (each has its
 * own daemon and directory) where the tree is the init of its own pid
 * namespace, so that its pids cannot clash.
 */
typedef struct ckpt_lazy ckpt_lazy;
CKPT_EXPORT int ckpt_restore_lazy(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid,
				  ckpt_lazy **ret_lazy, ckpt_err *err);
/*
 * Wait up to timeout_ms (-1: no limit) for every page: 0 all in; 1 still
 * copying; <0 the pages failed and the tree was killed (err says why, and
 * where the daemon's log is).
 */
CKPT_EXPORT int ckpt_lazy_wait(ckpt_lazy *l, int timeout_ms, ckpt_err *err);
/*
 * Progress, an estimate: the bytes criu lazy-pages has read from the page
 * images so far (capped at the total), and the memory the checkpoint holds.
 * Once every page is in, done equals total.
 */
CKPT_EXPORT void ckpt_lazy_progress(const ckpt_lazy *l, uint64_t *done_bytes,
				    uint64_t *total_bytes);
/*
 * Microseconds from the call to the tree running, and to every page in (0
 * until then). 1 when every page is in, 0 if not (yet), -1 for NULL.
 */
CKPT_EXPORT int ckpt_lazy_times(const ckpt_lazy *l, uint64_t *running_us, uint64_t *done_us);
/*
 * Release l. If the pages are not all in, the tree is killed first (it would
 * lack memory once libckpt lets go of it) and the daemon too. Accepts NULL.
 */
CKPT_EXPORT void ckpt_lazy_free(ckpt_lazy *l);
/*
 * Start a CRIU page server (PAGE_SERVER) writing into o's images dir, on o's
 * page-server address/port (port 0: CRIU picks one). It runs as a daemon until
 * a dump connects to it and ends. Its port goes to ret_port, its pid to ret_pid
 * (CRIU 4.2 reports 0 for the daemonized server: it is read from the pidfile
 * CRIU writes, a hidden file removed at once; 0 when the options name a
 * configuration file of their own, which the pidfile's would replace).
 */
/*
 * Remove what dumps that died (killed with their criu: a crash, an OOM kill)
 * left beside images_path: their staging directories (".NAME.ckpt-tmp-XXXXXX"
 * in the directory that holds images_path), each only if it is the caller's,
 * 0700, holds regular files only, and no live dump holds its lock (a dump
 * locks its staging directory, with its criu, until both are done). A dump
 * into a new directory does this first too, silently; this says how much:
 * the bytes freed and the directories removed (either may be NULL). Symlinks
 * are followed as ckpt_opts_set_images_dir does by default.
 */
CKPT_EXPORT int ckpt_images_reap_staging(const char *images_path, uint64_t *ret_bytes,
					 unsigned *ret_dirs, ckpt_err *err);
CKPT_EXPORT int ckpt_page_server_start(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid,
				       int *ret_port, ckpt_err *err);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_OPS_H */
