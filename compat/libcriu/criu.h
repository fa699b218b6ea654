/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcriu's public API (libcriu.so.2, CRIU 4.2), implemented on libckpt.
 *
 * The names, types, constants and return conventions are libcriu's, so that
 * programs written for libcriu build and run unchanged; the header text and
 * the implementation are libckpt's. Unlike libcriu's header this one pulls in
 * no protobuf-c types: criu_notify_arg_t is an opaque pointer, read with
 * criu_notify_pid(). See docs/libcriu-compat.md for every difference.
 *
 * Return values of the requests (criu_check, criu_dump, ...):
 *
 *   0              success
 *   > 0            success: the restored root's pid (criu_restore*),
 *                  the version (criu_get_version), 1 (criu_check_version)
 *   -EBADE         CRIU ran the request and reported failure;
 *                  errno = CRIU's cr_errno (ESRCH, EEXIST, EBADRQC, ...) or 0
 *   -ECONNREFUSED  criu could not be started or its service not reached;
 *                  errno says why
 *   -ECOMM         criu died or the request timed out mid-request
 *                  (errno ETIMEDOUT)
 *   -EINVAL        a request this CRIU or this library does not support,
 *                  or a bad argument
 *   -EBADMSG       a malformed or unexpected reply from CRIU
 *   -ENOMEM        out of memory
 */
#ifndef __CRIU_LIB_H__
#define __CRIU_LIB_H__

/*
 * libcriu's criu.h includes <stdbool.h>, its version.h and rpc.pb-c.h, which
 * includes <protobuf-c/protobuf-c.h> and with it <assert.h>, <limits.h>,
 * <stddef.h> and <stdint.h>. Programs written for libcriu rely on these (CRIU's
 * own test_join_ns uses PATH_MAX without including <limits.h>), so this header
 * includes the same standard headers, but no protobuf-c.
 */
#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The libcriu release whose API this header implements (libcriu's version.h). */
#ifndef __CR_VERSION_H__
#define __CR_VERSION_H__
#define CRIU_VERSION "4.2.1"
#define CRIU_VERSION_MAJOR 4
#define CRIU_VERSION_MINOR 2
#define CRIU_VERSION_SUBLEVEL 1
#define CRIU_GITID "0"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CRIU_LOG_UNSET (-1)
#define CRIU_LOG_MSG (0) /* messages regardless of the log level */
#define CRIU_LOG_ERROR (1)
#define CRIU_LOG_WARN (2)
#define CRIU_LOG_INFO (3)
#define CRIU_LOG_DEBUG (4)

enum criu_service_comm { CRIU_COMM_SK, CRIU_COMM_FD, CRIU_COMM_BIN };

enum criu_cg_mode {
	CRIU_CG_MODE_IGNORE = 0,
	CRIU_CG_MODE_NONE = 1,
	CRIU_CG_MODE_PROPS = 2,
	CRIU_CG_MODE_SOFT = 3,
	CRIU_CG_MODE_FULL = 4,
	CRIU_CG_MODE_STRICT = 5,
	CRIU_CG_MODE_DEFAULT = 6,
};

enum criu_network_lock_method {
	CRIU_NETWORK_LOCK_IPTABLES = 1,
	CRIU_NETWORK_LOCK_NFTABLES = 2,
	CRIU_NETWORK_LOCK_SKIP = 3,
};

enum criu_pre_dump_mode { CRIU_PRE_DUMP_SPLICE = 1, CRIU_PRE_DUMP_READ = 2 };

/* ---- the global API: one process-wide options object (not thread-safe, as in
 * libcriu) ---- */

int criu_set_service_address(const char *path);
void criu_set_service_fd(int fd);
int criu_set_service_binary(const char *path);

/* Reset the global options to the defaults: 0, or -1 when out of memory. */
int criu_init_opts(void);
void criu_free_opts(void);

void criu_set_pid(int pid);
void criu_set_images_dir_fd(int fd); /* needed for dump and restore */
int criu_set_parent_images(const char *path);
void criu_set_work_dir_fd(int fd);
void criu_set_leave_running(bool leave_running);
void criu_set_ext_unix_sk(bool ext_unix_sk);
int criu_add_unix_sk(unsigned int inode);
void criu_set_tcp_established(bool tcp_established);
void criu_set_tcp_skip_in_flight(bool tcp_skip_in_flight);
void criu_set_tcp_close(bool tcp_close);
void criu_set_weak_sysctls(bool val);
void criu_set_evasive_devices(bool evasive_devices);
void criu_set_shell_job(bool shell_job);
void criu_set_skip_file_rwx_check(bool skip_file_rwx_check);
void criu_set_unprivileged(bool unprivileged);
void criu_set_orphan_pts_master(bool orphan_pts_master);
void criu_set_file_locks(bool file_locks);
void criu_set_track_mem(bool track_mem);
void criu_set_auto_dedup(bool auto_dedup);
void criu_set_force_irmap(bool force_irmap);
void criu_set_link_remap(bool link_remap);
void criu_set_log_level(int log_level);
int criu_set_log_file(const char *log_file);
void criu_set_cpu_cap(unsigned int cap);
int criu_set_root(const char *root);
void criu_set_manage_cgroups(bool manage);
void criu_set_manage_cgroups_mode(enum criu_cg_mode mode);
int criu_set_freeze_cgroup(const char *name);
int criu_set_lsm_profile(const char *name);
int criu_set_lsm_mount_context(const char *name);
void criu_set_timeout(unsigned int timeout);
void criu_set_auto_ext_mnt(bool val);
void criu_set_ext_sharing(bool val);
void criu_set_ext_masters(bool val);
int criu_set_exec_cmd(int argc, char *argv[]);
int criu_add_ext_mount(const char *key, const char *val);
int criu_add_veth_pair(const char *in, const char *out);
int criu_add_cg_root(const char *ctrl, const char *path);
int criu_add_enable_fs(const char *fs);
int criu_add_skip_mnt(const char *mnt);
void criu_set_ghost_limit(unsigned int limit);
int criu_add_irmap_path(const char *path);
int criu_add_cg_props(const char *stream);
int criu_add_cg_props_file(const char *path);
int criu_add_cg_dump_controller(const char *name);
int criu_add_cg_yard(const char *path);
int criu_add_inherit_fd(int fd, const char *key);
int criu_add_external(const char *key);
int criu_set_page_server_address_port(const char *address, int port);
int criu_set_pre_dump_mode(enum criu_pre_dump_mode mode);
void criu_set_pidfd_store_sk(int sk);
int criu_set_network_lock(enum criu_network_lock_method method);
int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt);
void criu_set_mntns_compat_mode(bool val);
int criu_set_config_file(const char *path);
void criu_set_empty_ns(int namespaces);

/*
 * Notifications. The callback gets CRIU's action name and an opaque handle
 * valid only during the call; criu_notify_pid() reads the pid CRIU sent
 * (setup-namespaces, post-restore), 0 if none. A non-zero return aborts the
 * request (it then fails with -EBADE).
 */
typedef struct criu_notify_arg *criu_notify_arg_t;
void criu_set_notify_cb(int (*cb)(char *action, criu_notify_arg_t na));
int criu_notify_pid(criu_notify_arg_t na);

/*
 * The pty master CRIU passed with 'orphan-pts-master' during the last
 * request, or -1. Call it from the callback of that action or after the
 * request; the fd is then the caller's to close.
 */
int criu_get_orphan_pts_master_fd(void);

int criu_check(void);
int criu_dump(void);
int criu_pre_dump(void);
int criu_restore(void);
int criu_restore_child(void);

/*
 * Pre-dumps, then a dump. After each pre-dump `more` is called: > 0 runs
 * another pre-dump, 0 the final dump, < 0 aborts and is returned.
 */
typedef void *criu_predump_info;
int criu_dump_iters(int (*more)(criu_predump_info pi));

/* criu's version as major*10000 + minor*100 + sublevel (a git build: the next
 * minor). */
int criu_get_version(void);
/* 1 if criu is at least `minimum`, 0 if older, < 0 on error. */
int criu_check_version(int minimum);

/* ---- the same on an options object of the caller's ---- */

typedef struct criu_opts criu_opts;

/* *opts is freed first if not NULL (as in libcriu): initialise it to NULL. */
int criu_local_init_opts(criu_opts **opts);
void criu_local_free_opts(criu_opts *opts);
/* Back to the default service (spawn criu swrk). */
void criu_free_service(criu_opts *opts);

int criu_local_set_service_address(criu_opts *opts, const char *path);
void criu_local_set_service_fd(criu_opts *opts, int fd);
int criu_local_set_service_binary(criu_opts *opts, const char *path);

void criu_local_set_pid(criu_opts *opts, int pid);
void criu_local_set_images_dir_fd(criu_opts *opts, int fd);
int criu_local_set_parent_images(criu_opts *opts, const char *path);
void criu_local_set_work_dir_fd(criu_opts *opts, int fd);
void criu_local_set_leave_running(criu_opts *opts, bool leave_running);
void criu_local_set_ext_unix_sk(criu_opts *opts, bool ext_unix_sk);
int criu_local_add_unix_sk(criu_opts *opts, unsigned int inode);
void criu_local_set_tcp_established(criu_opts *opts, bool tcp_established);
void criu_local_set_tcp_skip_in_flight(criu_opts *opts, bool tcp_skip_in_flight);
void criu_local_set_tcp_close(criu_opts *opts, bool tcp_close);
void criu_local_set_weak_sysctls(criu_opts *opts, bool val);
void criu_local_set_evasive_devices(criu_opts *opts, bool evasive_devices);
void criu_local_set_shell_job(criu_opts *opts, bool shell_job);
void criu_local_set_skip_file_rwx_check(criu_opts *opts, bool skip_file_rwx_check);
void criu_local_set_unprivileged(criu_opts *opts, bool unprivileged);
void criu_local_set_orphan_pts_master(criu_opts *opts, bool orphan_pts_master);
void criu_local_set_file_locks(criu_opts *opts, bool file_locks);
void criu_local_set_track_mem(criu_opts *opts, bool track_mem);
void criu_local_set_auto_dedup(criu_opts *opts, bool auto_dedup);
void criu_local_set_force_irmap(criu_opts *opts, bool force_irmap);
void criu_local_set_link_remap(criu_opts *opts, bool link_remap);
void criu_local_set_log_level(criu_opts *opts, int log_level);
int criu_local_set_log_file(criu_opts *opts, const char *log_file);
void criu_local_set_cpu_cap(criu_opts *opts, unsigned int cap);
int criu_local_set_root(criu_opts *opts, const char *root);
void criu_local_set_manage_cgroups(criu_opts *opts, bool manage);
void criu_local_set_manage_cgroups_mode(criu_opts *opts, enum criu_cg_mode mode);
int criu_local_set_freeze_cgroup(criu_opts *opts, const char *name);
int criu_local_set_lsm_profile(criu_opts *opts, const char *name);
int criu_local_set_lsm_mount_context(criu_opts *opts, const char *name);
void criu_local_set_timeout(criu_opts *opts, unsigned int timeout);
void criu_local_set_auto_ext_mnt(criu_opts *opts, bool val);
void criu_local_set_ext_sharing(criu_opts *opts, bool val);
void criu_local_set_ext_masters(criu_opts *opts, bool val);
int criu_local_set_exec_cmd(criu_opts *opts, int argc, char *argv[]);
int criu_local_add_ext_mount(criu_opts *opts, const char *key, const char *val);
int criu_local_add_veth_pair(criu_opts *opts, const char *in, const char *out);
int criu_local_add_cg_root(criu_opts *opts, const char *ctrl, const char *path);
int criu_local_add_enable_fs(criu_opts *opts, const char *fs);
int criu_local_add_skip_mnt(criu_opts *opts, const char *mnt);
void criu_local_set_ghost_limit(criu_opts *opts, unsigned int limit);
int criu_local_add_irmap_path(criu_opts *opts, const char *path);
int criu_local_add_cg_props(criu_opts *opts, const char *stream);
int criu_local_add_cg_props_file(criu_opts *opts, const char *path);
int criu_local_add_cg_dump_controller(criu_opts *opts, const char *name);
int criu_local_add_cg_yard(criu_opts *opts, const char *path);
int criu_local_add_inherit_fd(criu_opts *opts, int fd, const char *key);
int criu_local_add_external(criu_opts *opts, const char *key);
int criu_local_set_page_server_address_port(criu_opts *opts, const char *address, int port);
int criu_local_set_pre_dump_mode(criu_opts *opts, enum criu_pre_dump_mode mode);
void criu_local_set_pidfd_store_sk(criu_opts *opts, int sk);
int criu_local_set_network_lock(criu_opts *opts, enum criu_network_lock_method method);
int criu_local_join_ns_add(criu_opts *opts, const char *ns, const char *ns_file,
			   const char *extra_opt);
void criu_local_set_mntns_compat_mode(criu_opts *opts, bool val);
int criu_local_set_config_file(criu_opts *opts, const char *path);
void criu_local_set_empty_ns(criu_opts *opts, int namespaces);

void criu_local_set_notify_cb(criu_opts *opts, int (*cb)(char *action, criu_notify_arg_t na));

int criu_local_check(criu_opts *opts);
int criu_local_dump(criu_opts *opts);
int criu_local_pre_dump(criu_opts *opts);
int criu_local_restore(criu_opts *opts);
int criu_local_restore_child(criu_opts *opts);
int criu_local_dump_iters(criu_opts *opts, int (*more)(criu_predump_info pi));

int criu_local_get_version(criu_opts *opts);
int criu_local_check_version(criu_opts *opts, int minimum);

/*
 * Which features work with this criu and kernel: set the members to ask
 * about to true; on success each is true if it works, else false. `size`
 * is sizeof(struct criu_feature_check) as the caller knows it; a size larger
 * than this library's struct is -EINVAL.
 */
struct criu_feature_check {
	bool mem_track;
	bool lazy_pages;
	bool pidfd_store;
};

int criu_feature_check(struct criu_feature_check *features, size_t size);
int criu_local_feature_check(criu_opts *opts, struct criu_feature_check *features, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* __CRIU_LIB_H__ */
