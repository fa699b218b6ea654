/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcriu.so.2 on libckpt: every criu_* call maps onto libckpt's public API
 * (include/ckpt/ckpt.h). A criu_opts wraps a ckpt_opts, the service choice,
 * the notify callback and CRIU's own timeout; each request builds a
 * ckpt_client from them, runs one libckpt operation and frees it.
 *
 * Global state: libcriu's API has a process-wide options object behind the
 * criu_* (non-local) calls, so this file has exactly one mutable static,
 * `global_opts`, created on first use (or by criu_init_opts). It is not
 * thread-safe, like libcriu's. The criu_local_* calls touch no global
 * state at all (libcriu's orphan-pts fd and saved errno were global even
 * for them; here they live in the criu_opts).
 *
 * Setters that libcriu declares void cannot report a bad value; such a
 * failure is kept in the options and returned by the next request
 * (-EBADE with errno EBADRQC, what CRIU itself answers to a bad option;
 * -ENOMEM for out of memory). Int-returning setters return it at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ckpt/ckpt.h>

#include "criu.h"

#define CRIU_EXPORT __attribute__((visibility("default")))

/* With CRIU's own --timeout set, libckpt's deadline is that plus this slack (see deadline_ms). */
#define DEADLINE_SLACK_MS 30000u

enum service { SVC_BIN, SVC_SK, SVC_FD };

struct criu_opts {
	ckpt_opts *o;
	enum service svc;
	char *svc_path; /* binary (SVC_BIN, NULL: libckpt's default) or socket
                     (SVC_SK) */
	int svc_fd;	/* SVC_FD: not supported by libckpt's public API */
	int (*notify)(char *action, criu_notify_arg_t na);
	unsigned criu_timeout_s; /* CRIU's own --timeout, 0 if unset */
	int pts_fd;		 /* orphan-pts-master fd of the last request, -1 */
	bool pts_fd_given;	 /* handed to the caller by criu_get_orphan_pts_master_fd */
	int deferred;		 /* a void setter's failure, reported by the next request */
	int deferred_errno;
	ckpt_err err; /* detail of the last failure */
};

static criu_opts *global_opts;

/* ------------------------------------------------------------------ */
/* Error mapping                                                       */
/* ------------------------------------------------------------------ */

int criu_compat_map(int code, const ckpt_err *e, int *ret_errno)
{
	int sys = e ? e->sys_errno : 0;
	int cr = e ? e->criu_errno : 0;
	int r, en;

	switch (code) {
	case CKPT_OK: r = 0, en = 0; break;
	case CKPT_ENOMEM: r = -ENOMEM, en = ENOMEM; break;
	case CKPT_EINVAL:
	case CKPT_ENOTSUP:
	case CKPT_ECRIU_VERSION:
		/* libcriu: "CRIU doesn't support this type of request" */
		r = -EINVAL, en = sys ? sys : EINVAL;
		break;
	case CKPT_ECRIU_EXEC:
		/*
		 * A criu that started and exited without answering (libckpt: unusable) is, to
		 * libcriu, an EOF on its socket: -ECOMM. One that could not start: refused.
		 */
		if (e && e->wait_status == 0 &&
		    (!strcmp(e->step, "recv") || !strcmp(e->step, "send"))) {
			r = -ECOMM, en = ECONNRESET;
			break;
		}
		/* fall through */
	case CKPT_ESERVICE: r = -ECONNREFUSED, en = sys ? sys : ECONNREFUSED; break;
	case CKPT_ETIMEDOUT: r = -ECOMM, en = ETIMEDOUT; break;
	case CKPT_ECRIU_DIED: r = -ECOMM, en = sys ? sys : ECONNRESET; break;
	case CKPT_ESYS: r = -ECOMM, en = sys ? sys : EIO; break;
	case CKPT_EPROTO:
	case CKPT_ETOOBIG: r = -EBADMSG, en = EBADMSG; break;
	case CKPT_ENOTARGET: r = -EBADE, en = cr ? cr : ESRCH; break;
	case CKPT_EEXIST: r = -EBADE, en = cr ? cr : EEXIST; break;
	case CKPT_ECRIU:
	case CKPT_ECALLBACK:
	case CKPT_EIMAGES:
	case CKPT_EBADIMG:
	case CKPT_EPERM:
	case CKPT_ENETSETUP:
	case CKPT_EMISSINGLIB:
	default:
		/* CRIU (or, on our side, the request it was given) failed: as libcriu,
     * errno = cr_errno */
		r = -EBADE, en = cr ? cr : sys;
		break;
	}
	if (ret_errno)
		*ret_errno = en;
	return r;
}

/* Record a failure of opts and return libcriu's value for it, errno set. */
static int fail(criu_opts *opts, int code)
{
	int en, r = criu_compat_map(code, &opts->err, &en);

	errno = en;
	return r;
}

/* A setter failed: int setters return the result, void setters defer it. */
static int setter_result(criu_opts *opts, int code, bool deferrable)
{
	int r, en;

	if (code >= 0)
		return 0;
	if (code == CKPT_ENOMEM)
		r = -ENOMEM, en = ENOMEM;
	else if (deferrable)
		r = -EBADE, en = EBADRQC; /* what CRIU answers to an option it cannot take */
	else
		r = -EINVAL, en = EINVAL;
	if (deferrable) {
		if (!opts->deferred) {
			opts->deferred = r;
			opts->deferred_errno = en;
		}
		return 0;
	}
	errno = en;
	return r;
}

/* ------------------------------------------------------------------ */
/* Options objects                                                     */
/* ------------------------------------------------------------------ */

static void drop_pts_fd(criu_opts *opts)
{
	if (opts->pts_fd >= 0 && !opts->pts_fd_given)
		close(opts->pts_fd);
	opts->pts_fd = -1;
	opts->pts_fd_given = false;
}

CRIU_EXPORT void criu_local_free_opts(criu_opts *opts)
{
	if (!opts)
		return;
	drop_pts_fd(opts);
	ckpt_opts_free(opts->o);
	free(opts->svc_path);
	free(opts);
}

CRIU_EXPORT int criu_local_init_opts(criu_opts **ret)
{
	criu_opts *opts;

	if (!ret)
		return -EINVAL;
	criu_local_free_opts(*ret);
	*ret = NULL;
	opts = calloc(1, sizeof(*opts));
	if (!opts)
		return -ENOMEM;
	opts->o = ckpt_opts_new();
	if (!opts->o) {
		free(opts);
		return -ENOMEM;
	}
	/*
	 * libcriu's behaviour, through libckpt's own switches: values stored as
	 * given (CRIU refuses bad ones at request time), images written in place
	 * over what the dir holds with CRIU's modes and nothing removed, and a
	 * dump with no pid dumping the caller.
	 */
	(void)ckpt_opts_set_bool(opts->o, CKPT_OPT_DEFER_CHECKS, true, NULL);
	(void)ckpt_opts_set_bool(opts->o, CKPT_OPT_OVERWRITE, true, NULL);
	(void)ckpt_opts_set_bool(opts->o, CKPT_OPT_KEEP_MODES, true, NULL);
	(void)ckpt_opts_set_bool(opts->o, CKPT_OPT_SELF_DUMP, true, NULL);
	opts->svc = SVC_BIN;
	opts->svc_fd = -1;
	opts->pts_fd = -1;
	*ret = opts;
	return 0;
}

/* The global object, created on first use (libcriu required criu_init_opts
 * first). */
static criu_opts *G(void)
{
	if (!global_opts)
		(void)criu_local_init_opts(&global_opts);
	return global_opts;
}

CRIU_EXPORT int criu_init_opts(void)
{
	return criu_local_init_opts(&global_opts) == 0 ? 0 : -1;
}

CRIU_EXPORT void criu_free_opts(void)
{
	criu_local_free_opts(global_opts);
	global_opts = NULL;
}

const ckpt_opts *criu_compat_ckpt_opts(const criu_opts *opts)
{
	return opts ? opts->o : NULL;
}

criu_opts *criu_compat_global(void)
{
	return global_opts;
}

const ckpt_err *criu_compat_last_err(const criu_opts *opts)
{
	return opts ? &opts->err : NULL;
}

/* ---- service ---- */

static int set_service(criu_opts *opts, enum service svc, const char *path, int fd)
{
	char *copy = NULL;

	if (!opts)
		return -ENOMEM;
	if (path) {
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
	}
	free(opts->svc_path);
	opts->svc = svc;
	opts->svc_path = copy;
	opts->svc_fd = fd;
	return 0;
}

CRIU_EXPORT void criu_free_service(criu_opts *opts)
{
	if (opts)
		(void)set_service(opts, SVC_BIN, NULL, -1);
}

CRIU_EXPORT int criu_local_set_service_address(criu_opts *opts, const char *path)
{
	/* libcriu: NULL means its default, "criu_service.socket" in the cwd */
	return set_service(opts, SVC_SK, path ? path : "criu_service.socket", -1);
}

CRIU_EXPORT void criu_local_set_service_fd(criu_opts *opts, int fd)
{
	(void)set_service(opts, SVC_FD, NULL, fd);
}

CRIU_EXPORT int criu_local_set_service_binary(criu_opts *opts, const char *path)
{
	return set_service(opts, SVC_BIN, path, -1);
}

CRIU_EXPORT int criu_set_service_address(const char *path)
{
	return criu_local_set_service_address(G(), path);
}

CRIU_EXPORT void criu_set_service_fd(int fd)
{
	criu_local_set_service_fd(G(), fd);
}

CRIU_EXPORT int criu_set_service_binary(const char *path)
{
	return criu_local_set_service_binary(G(), path);
}

/* ---- typed setters ---- */

static int set_bool(criu_opts *opts, ckpt_opt key, bool v)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_set_bool(opts->o, key, v, &opts->err), true);
}

static int set_int(criu_opts *opts, ckpt_opt key, int64_t v, bool deferrable)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_set_int(opts->o, key, v, &opts->err), deferrable);
}

static int set_str(criu_opts *opts, ckpt_opt key, const char *v)
{
	if (!opts)
		return -ENOMEM;
	if (!v) /* libcriu would strdup(NULL); here it clears the option */
		return setter_result(opts, ckpt_opts_clear(opts->o, key, &opts->err), false);
	return setter_result(opts, ckpt_opts_set_str(opts->o, key, v, &opts->err), false);
}

static int add_str(criu_opts *opts, ckpt_opt key, const char *v)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_add_str(opts->o, key, v, &opts->err), false);
}

#define BOOL_SETTER(name, key)                                          \
	CRIU_EXPORT void criu_local_set_##name(criu_opts *opts, bool v) \
	{                                                               \
		(void)set_bool(opts, key, v);                           \
	}                                                               \
	CRIU_EXPORT void criu_set_##name(bool v)                        \
	{                                                               \
		criu_local_set_##name(G(), v);                          \
	}

BOOL_SETTER(leave_running, CKPT_OPT_LEAVE_RUNNING)
BOOL_SETTER(ext_unix_sk, CKPT_OPT_EXT_UNIX_SK)
BOOL_SETTER(tcp_established, CKPT_OPT_TCP_ESTABLISHED)
BOOL_SETTER(tcp_skip_in_flight, CKPT_OPT_TCP_SKIP_IN_FLIGHT)
BOOL_SETTER(tcp_close, CKPT_OPT_TCP_CLOSE)
BOOL_SETTER(weak_sysctls, CKPT_OPT_WEAK_SYSCTLS)
BOOL_SETTER(evasive_devices, CKPT_OPT_EVASIVE_DEVICES)
BOOL_SETTER(shell_job, CKPT_OPT_SHELL_JOB)
BOOL_SETTER(skip_file_rwx_check, CKPT_OPT_SKIP_FILE_RWX_CHECK)
BOOL_SETTER(unprivileged, CKPT_OPT_UNPRIVILEGED)
BOOL_SETTER(orphan_pts_master, CKPT_OPT_ORPHAN_PTS_MASTER)
BOOL_SETTER(file_locks, CKPT_OPT_FILE_LOCKS)
BOOL_SETTER(track_mem, CKPT_OPT_TRACK_MEM)
BOOL_SETTER(auto_dedup, CKPT_OPT_AUTO_DEDUP)
BOOL_SETTER(force_irmap, CKPT_OPT_FORCE_IRMAP)
BOOL_SETTER(link_remap, CKPT_OPT_LINK_REMAP)
BOOL_SETTER(manage_cgroups, CKPT_OPT_MANAGE_CGROUPS)
BOOL_SETTER(auto_ext_mnt, CKPT_OPT_AUTO_EXT_MNT)
BOOL_SETTER(ext_sharing, CKPT_OPT_EXT_SHARING)
BOOL_SETTER(ext_masters, CKPT_OPT_EXT_MASTERS)
BOOL_SETTER(mntns_compat_mode, CKPT_OPT_MNTNS_COMPAT_MODE)

#define STR_SETTER(name, key)                                                 \
	CRIU_EXPORT int criu_local_set_##name(criu_opts *opts, const char *v) \
	{                                                                     \
		return set_str(opts, key, v);                                 \
	}                                                                     \
	CRIU_EXPORT int criu_set_##name(const char *v)                        \
	{                                                                     \
		return criu_local_set_##name(G(), v);                         \
	}

STR_SETTER(log_file, CKPT_OPT_LOG_FILE)
STR_SETTER(root, CKPT_OPT_ROOT)
STR_SETTER(freeze_cgroup, CKPT_OPT_FREEZE_CGROUP)
STR_SETTER(lsm_profile, CKPT_OPT_LSM_PROFILE)
STR_SETTER(lsm_mount_context, CKPT_OPT_LSM_MOUNT_CONTEXT)
STR_SETTER(config_file, CKPT_OPT_CONFIG_FILE)

/* libcriu's "add" for these single strings replaces the value. */
#define STR_ADDER_SINGLE(name, key)                                           \
	CRIU_EXPORT int criu_local_add_##name(criu_opts *opts, const char *v) \
	{                                                                     \
		return set_str(opts, key, v);                                 \
	}                                                                     \
	CRIU_EXPORT int criu_add_##name(const char *v)                        \
	{                                                                     \
		return criu_local_add_##name(G(), v);                         \
	}

STR_ADDER_SINGLE(cg_props, CKPT_OPT_CGROUP_PROPS)
STR_ADDER_SINGLE(cg_props_file, CKPT_OPT_CGROUP_PROPS_FILE)
STR_ADDER_SINGLE(cg_yard, CKPT_OPT_CGROUP_YARD)

#define STR_ADDER(name, key)                                                  \
	CRIU_EXPORT int criu_local_add_##name(criu_opts *opts, const char *v) \
	{                                                                     \
		return add_str(opts, key, v);                                 \
	}                                                                     \
	CRIU_EXPORT int criu_add_##name(const char *v)                        \
	{                                                                     \
		return criu_local_add_##name(G(), v);                         \
	}

STR_ADDER(cg_dump_controller, CKPT_OPT_CGROUP_DUMP_CONTROLLER)
STR_ADDER(enable_fs, CKPT_OPT_ENABLE_FS)
STR_ADDER(skip_mnt, CKPT_OPT_SKIP_MNT)
STR_ADDER(irmap_path, CKPT_OPT_IRMAP_SCAN_PATH)
STR_ADDER(external, CKPT_OPT_EXTERNAL)

#define UINT_SETTER(name, key)                                                  \
	CRIU_EXPORT void criu_local_set_##name(criu_opts *opts, unsigned int v) \
	{                                                                       \
		(void)set_int(opts, key, v, true);                              \
	}                                                                       \
	CRIU_EXPORT void criu_set_##name(unsigned int v)                        \
	{                                                                       \
		criu_local_set_##name(G(), v);                                  \
	}

UINT_SETTER(cpu_cap, CKPT_OPT_CPU_CAP)
UINT_SETTER(ghost_limit, CKPT_OPT_GHOST_LIMIT)

CRIU_EXPORT void criu_local_set_timeout(criu_opts *opts, unsigned int timeout)
{
	if (set_int(opts, CKPT_OPT_TIMEOUT, timeout, true) == 0 && opts)
		opts->criu_timeout_s = timeout;
}

CRIU_EXPORT void criu_set_timeout(unsigned int timeout)
{
	criu_local_set_timeout(G(), timeout);
}

CRIU_EXPORT void criu_local_set_log_level(criu_opts *opts, int level)
{
	if (!opts)
		return;
	if (level == CRIU_LOG_UNSET) {
		(void)ckpt_opts_clear(opts->o, CKPT_OPT_LOG_LEVEL, NULL);
		return;
	}
	(void)set_int(opts, CKPT_OPT_LOG_LEVEL, level, true);
}

CRIU_EXPORT void criu_set_log_level(int level)
{
	criu_local_set_log_level(G(), level);
}

CRIU_EXPORT void criu_local_set_pidfd_store_sk(criu_opts *opts, int sk)
{
	(void)set_int(opts, CKPT_OPT_PIDFD_STORE_SK, sk, true);
}

CRIU_EXPORT void criu_set_pidfd_store_sk(int sk)
{
	criu_local_set_pidfd_store_sk(G(), sk);
}

CRIU_EXPORT int criu_local_set_network_lock(criu_opts *opts, enum criu_network_lock_method method)
{
	return set_int(opts, CKPT_OPT_NETWORK_LOCK, (int64_t)method, false);
}

CRIU_EXPORT int criu_set_network_lock(enum criu_network_lock_method method)
{
	return criu_local_set_network_lock(G(), method);
}

CRIU_EXPORT int criu_local_set_pre_dump_mode(criu_opts *opts, enum criu_pre_dump_mode mode)
{
	return set_int(opts, CKPT_OPT_PRE_DUMP_MODE, (int64_t)mode, false);
}

CRIU_EXPORT int criu_set_pre_dump_mode(enum criu_pre_dump_mode mode)
{
	return criu_local_set_pre_dump_mode(G(), mode);
}

CRIU_EXPORT void criu_local_set_manage_cgroups_mode(criu_opts *opts, enum criu_cg_mode mode)
{
	if (opts)
		(void)setter_result(opts,
				    ckpt_opts_set_int(opts->o, CKPT_OPT_CGROUP_MODE, (int64_t)mode,
						      &opts->err),
				    true);
}

CRIU_EXPORT void criu_set_manage_cgroups_mode(enum criu_cg_mode mode)
{
	criu_local_set_manage_cgroups_mode(G(), mode);
}

CRIU_EXPORT void criu_local_set_empty_ns(criu_opts *opts, int namespaces)
{
	if (opts)
		(void)setter_result(
			opts, ckpt_opts_set_empty_ns(opts->o, (uint32_t)namespaces, &opts->err),
			true);
}

CRIU_EXPORT void criu_set_empty_ns(int namespaces)
{
	criu_local_set_empty_ns(G(), namespaces);
}

/* ---- pid, directories ---- */

CRIU_EXPORT void criu_local_set_pid(criu_opts *opts, int pid)
{
	if (opts)
		(void)setter_result(opts, ckpt_opts_set_pid(opts->o, pid, &opts->err), true);
}

CRIU_EXPORT void criu_set_pid(int pid)
{
	criu_local_set_pid(G(), pid);
}

CRIU_EXPORT void criu_local_set_images_dir_fd(criu_opts *opts, int fd)
{
	if (opts)
		(void)setter_result(opts, ckpt_opts_set_images_dir_fd(opts->o, fd, &opts->err),
				    true);
}

CRIU_EXPORT void criu_set_images_dir_fd(int fd)
{
	criu_local_set_images_dir_fd(G(), fd);
}

CRIU_EXPORT void criu_local_set_work_dir_fd(criu_opts *opts, int fd)
{
	if (opts)
		(void)setter_result(opts, ckpt_opts_set_work_dir_fd(opts->o, fd, &opts->err), true);
}

CRIU_EXPORT void criu_set_work_dir_fd(int fd)
{
	criu_local_set_work_dir_fd(G(), fd);
}

CRIU_EXPORT int criu_local_set_parent_images(criu_opts *opts, const char *path)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_set_parent_images(opts->o, path, &opts->err), false);
}

CRIU_EXPORT int criu_set_parent_images(const char *path)
{
	return criu_local_set_parent_images(G(), path);
}

/* ---- structured values ---- */

CRIU_EXPORT int criu_local_set_exec_cmd(criu_opts *opts, int argc, char *argv[])
{
	int r;

	if (!opts)
		return -ENOMEM;
	if (argc < 1 || !argv)
		return setter_result(opts, CKPT_EINVAL, false);
	(void)ckpt_opts_clear(opts->o, CKPT_OPT_EXEC_CMD, NULL);
	for (int i = 0; i < argc; i++) {
		r = add_str(opts, CKPT_OPT_EXEC_CMD, argv[i]);
		if (r < 0) {
			(void)ckpt_opts_clear(opts->o, CKPT_OPT_EXEC_CMD, NULL);
			return r;
		}
	}
	return 0;
}

CRIU_EXPORT int criu_set_exec_cmd(int argc, char *argv[])
{
	return criu_local_set_exec_cmd(G(), argc, argv);
}

/* The two-string adders: libcriu's names over libckpt's adders. */
#define PAIR_ADDER(name, fn)                                                                 \
	CRIU_EXPORT int criu_local_add_##name(criu_opts *opts, const char *a, const char *b) \
	{                                                                                    \
		if (!opts)                                                                   \
			return -ENOMEM;                                                      \
		return setter_result(opts, fn(opts->o, a, b, &opts->err), false);            \
	}                                                                                    \
	CRIU_EXPORT int criu_add_##name(const char *a, const char *b)                        \
	{                                                                                    \
		return criu_local_add_##name(G(), a, b);                                     \
	}

PAIR_ADDER(ext_mount, ckpt_opts_add_ext_mount)
PAIR_ADDER(veth_pair, ckpt_opts_add_veth)
PAIR_ADDER(cg_root, ckpt_opts_add_cgroup_root)

CRIU_EXPORT int criu_local_add_unix_sk(criu_opts *opts, unsigned int inode)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_add_unix_sk_ino(opts->o, inode, &opts->err), false);
}

CRIU_EXPORT int criu_add_unix_sk(unsigned int inode)
{
	return criu_local_add_unix_sk(G(), inode);
}

CRIU_EXPORT int criu_local_add_inherit_fd(criu_opts *opts, int fd, const char *key)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(opts, ckpt_opts_add_inherit_fd(opts->o, fd, key, &opts->err), false);
}

CRIU_EXPORT int criu_add_inherit_fd(int fd, const char *key)
{
	return criu_local_add_inherit_fd(G(), fd, key);
}

CRIU_EXPORT int criu_local_join_ns_add(criu_opts *opts, const char *ns, const char *ns_file,
				       const char *extra_opt)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(
		opts, ckpt_opts_add_join_ns(opts->o, ns, ns_file, extra_opt, &opts->err), false);
}

CRIU_EXPORT int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt)
{
	return criu_local_join_ns_add(G(), ns, ns_file, extra_opt);
}

/* libcriu always returned -ENOMEM here, even on success (criu PR#3146): 0 on
 * success. */
CRIU_EXPORT int criu_local_set_page_server_address_port(criu_opts *opts, const char *address,
							int port)
{
	if (!opts)
		return -ENOMEM;
	return setter_result(
		opts, ckpt_opts_set_page_server_addr(opts->o, address, port, &opts->err), false);
}

CRIU_EXPORT int criu_set_page_server_address_port(const char *address, int port)
{
	return criu_local_set_page_server_address_port(G(), address, port);
}

/* ------------------------------------------------------------------ */
/* Notifications                                                       */
/* ------------------------------------------------------------------ */

CRIU_EXPORT void criu_local_set_notify_cb(criu_opts *opts,
					  int (*cb)(char *action, criu_notify_arg_t na))
{
	if (opts)
		opts->notify = cb;
}

CRIU_EXPORT void criu_set_notify_cb(int (*cb)(char *action, criu_notify_arg_t na))
{
	criu_local_set_notify_cb(G(), cb);
}

CRIU_EXPORT int criu_notify_pid(criu_notify_arg_t na)
{
	return na ? (int)ckpt_notify_pid((const ckpt_notify *)na) : 0;
}

CRIU_EXPORT int criu_get_orphan_pts_master_fd(void)
{
	criu_opts *opts = global_opts;

	if (!opts || opts->pts_fd < 0)
		return -1;
	opts->pts_fd_given = true;
	return opts->pts_fd;
}

static int notify_trampoline(void *userdata, ckpt_notify *ev)
{
	criu_opts *opts = userdata;
	const char *name = ckpt_notify_name(ev);
	char action[64];
	int fd, r;

	if (name && !strcmp(name, "orphan-pts-master")) {
		fd = ckpt_notify_take_fd(ev);
		if (fd >= 0) {
			drop_pts_fd(opts);
			opts->pts_fd = fd;
		}
	}
	if (!opts->notify)
		return 0;
	/* The callback takes a char *: give it a copy it may scribble on. */
	snprintf(action, sizeof(action), "%s", name ? name : "");
	r = opts->notify(action, (criu_notify_arg_t)ev);
	return r == 0 ? 0 : (r < 0 ? r : -1);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

unsigned criu_compat_deadline_ms(const criu_opts *opts)
{
	uint64_t ms;

	/* libcriu has no deadline: none here either, unless CRIU's own --timeout bounds the work */
	if (!opts || !opts->criu_timeout_s)
		return 0;
	ms = (uint64_t)opts->criu_timeout_s * 1000 + DEADLINE_SLACK_MS;
	return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}

/* Find `criu` on PATH as libcriu's execlp did; a name with '/' is used as is.
 */
static int resolve_binary(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (strchr(name, '/')) {
		snprintf(buf, size, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/bin:/usr/bin";
	for (p = path; p && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, ':');
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (snprintf(buf, size, "%.*s%s%s", (int)l, p, l ? "/" : "", name) >= (int)size)
			continue;
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* A client for one request, per the options' service and callbacks. */
static int client_for(criu_opts *opts, ckpt_client **ret)
{
	ckpt_client *c;
	char path[PATH_MAX];
	int r = 0;

	*ret = NULL;
	memset(&opts->err, 0, sizeof(opts->err));
	drop_pts_fd(opts);
	if (opts->deferred) {
		errno = opts->deferred_errno;
		return opts->deferred;
	}
	c = ckpt_client_new();
	if (!c) {
		errno = ENOMEM;
		return -ENOMEM;
	}
	switch (opts->svc) {
	case SVC_BIN:
		if (!opts->svc_path)
			break; /* libckpt's default: $CKPT_CRIU, else criu on PATH */
		if (resolve_binary(opts->svc_path, path, sizeof(path)) < 0) {
			ckpt_client_free(c);
			errno = ENOENT;
			return -ECONNREFUSED;
		}
		r = ckpt_client_set_criu_path(c, path, &opts->err);
		break;
	case SVC_SK: r = ckpt_client_set_service(c, opts->svc_path, &opts->err); break;
	case SVC_FD:
		/* libckpt's public API cannot adopt a connected fd */
		ckpt_client_free(c);
		errno = EOPNOTSUPP;
		return -ECONNREFUSED;
	}
	if (r == 0 && criu_compat_deadline_ms(opts))
		r = ckpt_client_set_timeout_ms(c, criu_compat_deadline_ms(opts), &opts->err);
	if (r == 0 && (opts->notify || ckpt_opts_is_set(opts->o, CKPT_OPT_ORPHAN_PTS_MASTER)))
		r = ckpt_client_set_notify(c, NULL, notify_trampoline, opts, &opts->err);
	if (r < 0) {
		ckpt_client_free(c);
		if (r == CKPT_ENOMEM || r == CKPT_EINVAL)
			return fail(opts, r);
		errno = opts->err.sys_errno ? opts->err.sys_errno : ENOENT;
		return -ECONNREFUSED;
	}
	*ret = c;
	return 0;
}

CRIU_EXPORT int criu_local_check(criu_opts *opts)
{
	ckpt_client *c;
	int r;

	if (!opts)
		return -ENOMEM;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	r = ckpt_check(c, &opts->err);
	ckpt_client_free(c);
	return r < 0 ? fail(opts, r) : 0;
}

CRIU_EXPORT int criu_local_get_version(criu_opts *opts)
{
	ckpt_client *c;
	unsigned v = 0;
	int r;

	if (!opts)
		return -ENOMEM;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	r = ckpt_criu_version(c, &v, &opts->err);
	ckpt_client_free(c);
	if (r < 0)
		return fail(opts, r);
	return v > INT_MAX ? INT_MAX : (int)v;
}

CRIU_EXPORT int criu_local_check_version(criu_opts *opts, int minimum)
{
	int v = criu_local_get_version(opts);

	if (v < 0)
		return v;
	return v >= minimum ? 1 : 0;
}

CRIU_EXPORT int criu_local_feature_check(criu_opts *opts, struct criu_feature_check *features,
					 size_t size)
{
	struct criu_feature_check f = { 0 };
	uint32_t want = 0, have = 0;
	ckpt_client *c;
	int r;

	if (!opts)
		return -ENOMEM;
	if (!features || size > sizeof(f)) {
		/* libcriu's answer to a struct it does not know (test_feature_check asserts it) */
		snprintf(
			opts->err.msg, sizeof(opts->err.msg),
			"feature check: %s (expected a struct criu_feature_check of at most %zu bytes)",
			features ? "struct larger than this library's" : "no struct", sizeof(f));
		errno = EINVAL;
		return -1;
	}
	memcpy(&f, features, size);
	if (f.mem_track)
		want |= CKPT_FEATURE_MEM_TRACK;
	if (f.lazy_pages)
		want |= CKPT_FEATURE_LAZY_PAGES;
	if (f.pidfd_store)
		want |= CKPT_FEATURE_PIDFD_STORE;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	r = ckpt_feature_check(c, want, &have, &opts->err);
	ckpt_client_free(c);
	if (r < 0)
		return fail(opts, r);
	f.mem_track = f.mem_track && (have & CKPT_FEATURE_MEM_TRACK);
	f.lazy_pages = f.lazy_pages && (have & CKPT_FEATURE_LAZY_PAGES);
	f.pidfd_store = f.pidfd_store && (have & CKPT_FEATURE_PIDFD_STORE);
	memcpy(features, &f, size);
	return 0;
}

CRIU_EXPORT int criu_local_dump(criu_opts *opts)
{
	ckpt_client *c;
	int r;

	if (!opts)
		return -ENOMEM;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	/* with no pid, the caller dumps itself: 1 in the process restored from those images */
	r = ckpt_dump(c, opts->o, &opts->err);
	ckpt_client_free(c);
	return r < 0 ? fail(opts, r) : r;
}

CRIU_EXPORT int criu_local_pre_dump(criu_opts *opts)
{
	ckpt_client *c;
	int r;

	if (!opts)
		return -ENOMEM;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	r = ckpt_pre_dump(c, opts->o, &opts->err);
	ckpt_client_free(c);
	return r < 0 ? fail(opts, r) : 0;
}

CRIU_EXPORT int criu_local_dump_iters(criu_opts *opts, int (*more)(criu_predump_info pi))
{
	int r;

	if (!opts)
		return -ENOMEM;
	if (!more) {
		errno = EINVAL;
		return -EINVAL;
	}
	for (;;) {
		r = criu_local_pre_dump(opts);
		if (r < 0)
			return r;
		r = more(NULL);
		if (r < 0)
			return r;
		if (r == 0)
			break;
	}
	return criu_local_dump(opts);
}

static int restore(criu_opts *opts, bool child)
{
	ckpt_client *c;
	pid_t pid = 0;
	int r;

	if (!opts)
		return -ENOMEM;
	r = client_for(opts, &c);
	if (r < 0)
		return r;
	/* criu_restore: the tree stays criu's child (it is reparented when criu
   * exits) */
	if (!child)
		r = ckpt_opts_set_bool(opts->o, CKPT_OPT_RST_SIBLING, false, &opts->err);
	if (r == 0)
		r = ckpt_restore(c, opts->o, &pid, &opts->err);
	if (!child)
		(void)ckpt_opts_clear(opts->o, CKPT_OPT_RST_SIBLING, NULL);
	ckpt_client_free(c);
	return r < 0 ? fail(opts, r) : (int)pid;
}

CRIU_EXPORT int criu_local_restore(criu_opts *opts)
{
	return restore(opts, false);
}

CRIU_EXPORT int criu_local_restore_child(criu_opts *opts)
{
	return restore(opts, true);
}

/* ---- the global forms of the requests ---- */

CRIU_EXPORT int criu_check(void)
{
	return criu_local_check(G());
}

CRIU_EXPORT int criu_dump(void)
{
	return criu_local_dump(G());
}

CRIU_EXPORT int criu_pre_dump(void)
{
	return criu_local_pre_dump(G());
}

CRIU_EXPORT int criu_dump_iters(int (*more)(criu_predump_info pi))
{
	return criu_local_dump_iters(G(), more);
}

CRIU_EXPORT int criu_restore(void)
{
	return criu_local_restore(G());
}

CRIU_EXPORT int criu_restore_child(void)
{
	return criu_local_restore_child(G());
}

CRIU_EXPORT int criu_get_version(void)
{
	return criu_local_get_version(G());
}

CRIU_EXPORT int criu_check_version(int minimum)
{
	return criu_local_check_version(G(), minimum);
}

CRIU_EXPORT int criu_feature_check(struct criu_feature_check *features, size_t size)
{
	return criu_local_feature_check(G(), features, size);
}
