/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The options of one request: what to dump or restore, where the images
 * are, and every option CRIU takes. See ckpt_opts(3) and ckpt_ns_mask(3).
 *
 * The rule for options, which every part of the API follows:
 *  - What CRIU passes through is a typed key: ckpt_opts_set_bool, _set_int,
 *    _set_str, _add_str with a CKPT_OPT_* key. The key's type is checked,
 *    and so is the value where CRIU's range is known.
 *  - A dedicated setter only for a structured value, one that is more than
 *    one scalar or must be checked as a whole: an address and port, a
 *    namespace mask, a veth pair, a borrowed fd, a path that is opened now.
 *  - A struct with an _init() function only for the parameters of one call
 *    (ckpt_archive_write_opts, ckpt_archive_limits): the caller fills it on
 *    the stack, and a later release adds fields at the end (its version).
 * Older setters that duplicate a key are deprecated aliases of it: their ABI
 * is kept and the compiler names the key to use (CKPT_DEPRECATED).
 */
#ifndef CKPT_CKPT_OPTS_H
#define CKPT_CKPT_OPTS_H

#include <ckpt/err.h>
#include <ckpt/keys.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_opts ckpt_opts;

/* NULL only when out of memory. */
CKPT_EXPORT ckpt_opts *ckpt_opts_new(void);
/* Accepts NULL. Closes the directories the options opened. */
CKPT_EXPORT void ckpt_opts_free(ckpt_opts *o);
/* A deep copy; directories opened by path are reopened (dup'd, CLOEXEC). */
CKPT_EXPORT int ckpt_opts_clone(const ckpt_opts *o, ckpt_opts **ret_copy, ckpt_err *err);

/* The target of a dump; must be > 0 and exist when the dump is sent. */
CKPT_EXPORT int ckpt_opts_set_pid(ckpt_opts *o, pid_t pid, ckpt_err *err);
/* The pid set, or 0. */
CKPT_EXPORT pid_t ckpt_opts_get_pid(const ckpt_opts *o);

/*
 * Images directory by path. The path is made absolute and checked now: it
 * must be a directory, or not exist with a directory as its parent (a dump
 * creates it). At each request it is opened afresh, walked one component at
 * a time with O_NOFOLLOW: a symlink anywhere along it is refused
 * (CKPT_EIMAGES, naming it), so a planted link cannot redirect a root dump,
 * unless CKPT_OPT_FOLLOW_SYMLINKS is set; CRIU is handed that fd, so what it
 * writes is the directory that was checked.
 */
CKPT_EXPORT int ckpt_opts_set_images_dir(ckpt_opts *o, const char *path, ckpt_err *err);
/* Images directory by fd (borrowed: it must stay open until the request ends); written in place. */
CKPT_EXPORT int ckpt_opts_set_images_dir_fd(ckpt_opts *o, int dirfd, ckpt_err *err);
/* Work directory (CRIU's log and temporary files); defaults to the images dir. */
CKPT_EXPORT int ckpt_opts_set_work_dir(ckpt_opts *o, const char *path, ckpt_err *err);
CKPT_EXPORT int ckpt_opts_set_work_dir_fd(ckpt_opts *o, int dirfd, ckpt_err *err);
/* Parent images for incremental dumps: relative to the images dir, no "..". */
CKPT_EXPORT int ckpt_opts_set_parent_images(ckpt_opts *o, const char *relpath, ckpt_err *err);

/* Typed setters. A key of the wrong type or unknown to this library: CKPT_EINVAL. */
CKPT_EXPORT int ckpt_opts_set_bool(ckpt_opts *o, ckpt_opt key, bool value, ckpt_err *err);
CKPT_EXPORT int ckpt_opts_set_int(ckpt_opts *o, ckpt_opt key, int64_t value, ckpt_err *err);
CKPT_EXPORT int ckpt_opts_set_str(ckpt_opts *o, ckpt_opt key, const char *value, ckpt_err *err);
CKPT_EXPORT int ckpt_opts_add_str(ckpt_opts *o, ckpt_opt key, const char *value, ckpt_err *err);
/* Unset one option (or a whole repeated group) back to CRIU's default. */
CKPT_EXPORT int ckpt_opts_clear(ckpt_opts *o, ckpt_opt key, ckpt_err *err);
/* Whether an option has been set (repeated: has at least one entry). */
CKPT_EXPORT bool ckpt_opts_is_set(const ckpt_opts *o, ckpt_opt key);
/* The option's CRIU name ("tcp-established"), or NULL for an unknown key. */
CKPT_EXPORT const char *ckpt_opt_name(ckpt_opt key);
/*
 * The value of a bool or int option, or of CKPT_OPT_PID: 1 with *ret_value
 * set (bools as 0 or 1) when it was set, 0 when it was not (CRIU's default
 * applies), CKPT_EINVAL for a key of another type or unknown to this library.
 */
CKPT_EXPORT int ckpt_opts_get_int(const ckpt_opts *o, ckpt_opt key, int64_t *ret_value,
				  ckpt_err *err);

CKPT_EXPORT int ckpt_opts_add_ext_mount(ckpt_opts *o, const char *key, const char *value,
					ckpt_err *err);
CKPT_EXPORT int ckpt_opts_add_veth(ckpt_opts *o, const char *if_in, const char *if_out,
				   ckpt_err *err);
/* fd is borrowed (swrk only): it is passed to criu for the request. */
CKPT_EXPORT int ckpt_opts_add_inherit_fd(ckpt_opts *o, int fd, const char *key, ckpt_err *err);
/* ns: "net", "ipc", "uts" (CRIU's names); ns_file: a path or "pid:N". */
CKPT_EXPORT int ckpt_opts_add_join_ns(ckpt_opts *o, const char *ns, const char *ns_file,
				      const char *extra_opt, ckpt_err *err);
/* controller may be NULL for all controllers. */
CKPT_EXPORT int ckpt_opts_add_cgroup_root(ckpt_opts *o, const char *controller, const char *path,
					  ckpt_err *err);
CKPT_EXPORT int ckpt_opts_add_unix_sk_ino(ckpt_opts *o, uint32_t inode, ckpt_err *err);

/* Page server: "ADDRESS:PORT", "HOSTNAME:PORT" or "[IPv6]:PORT". */
CKPT_EXPORT int ckpt_opts_set_page_server(ckpt_opts *o, const char *address_port, ckpt_err *err);
/* The same with address and port apart; address may be NULL (CRIU's default). */
CKPT_EXPORT int ckpt_opts_set_page_server_addr(ckpt_opts *o, const char *address, int port,
					       ckpt_err *err);
/* Split "ADDRESS:PORT" without setting anything; ret_address gets at most addr_size bytes. */
CKPT_EXPORT int ckpt_parse_address_port(const char *address_port, char *ret_address,
					size_t addr_size, uint16_t *ret_port, ckpt_err *err);

/* Cgroup modes and network lock methods (<ckpt/keys.h>) from and to their names. */
CKPT_EXPORT int ckpt_cgroup_mode_from_string(const char *name, ckpt_cgroup_mode *out,
					     ckpt_err *err);
CKPT_EXPORT const char *ckpt_cgroup_mode_name(ckpt_cgroup_mode mode); /* NULL if invalid */

CKPT_EXPORT int ckpt_network_lock_from_string(const char *name, ckpt_network_lock *out,
					      ckpt_err *err);
CKPT_EXPORT const char *ckpt_network_lock_name(ckpt_network_lock method);

/*
 * Namespace masks (CLONE_NEW* bits) from OCI runtime-spec names:
 * network pid mount ipc uts user cgroup time, with "net" and "mnt" as aliases.
 * A duplicate or unknown name is an error naming it.
 */
CKPT_EXPORT int ckpt_ns_mask_from_names(const char *const *names, size_t n, uint32_t *mask,
					ckpt_err *err);
/* From "network,ipc" (commas, optional spaces). */
CKPT_EXPORT int ckpt_ns_mask_from_string(const char *list, uint32_t *mask, ckpt_err *err);
/* Back to a comma-separated list of OCI names into buf (NUL-terminated). */
CKPT_EXPORT int ckpt_ns_mask_to_string(uint32_t mask, char *buf, size_t size, ckpt_err *err);
/* The namespaces in which pid differs from the calling process (from /proc/PID/ns). */
CKPT_EXPORT int ckpt_ns_mask_of_pid(pid_t pid, uint32_t *mask, ckpt_err *err);
/* Set empty-ns; a mask CRIU does not accept for it (anything but network) is refused. */
CKPT_EXPORT int ckpt_opts_set_empty_ns(ckpt_opts *o, uint32_t mask, ckpt_err *err);

/*
 * Read an OCI runtime config.json: the namespaces the container creates are
 * returned in ret_created (CLONE_NEW* mask); those it joins by path become
 * join-ns entries in o (network, ipc, uts) or, for the others, an error
 * naming the namespace. The root path and org.criu.config are not taken
 * (config_file from an untrusted spec is a privilege escalation).
 */
CKPT_EXPORT int ckpt_opts_from_oci_config(ckpt_opts *o, const char *config_json_path,
					  uint32_t *ret_created, ckpt_err *err);

/* Deprecated aliases (0.1): each is the typed key it names, kept for the ABI. */
CKPT_DEPRECATED("ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, on, err)")
CKPT_EXPORT int ckpt_opts_set_leave_running(ckpt_opts *o, bool on, ckpt_err *err);
CKPT_DEPRECATED("ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, mode, err)")
CKPT_EXPORT int ckpt_opts_set_cgroup_mode(ckpt_opts *o, ckpt_cgroup_mode mode, ckpt_err *err);

/* JSON rendering of the options, for logs and `ckpt --json`; NULL on OOM. Free with ckpt_free. */
CKPT_EXPORT char *ckpt_opts_to_json(const ckpt_opts *o);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_OPTS_H */
