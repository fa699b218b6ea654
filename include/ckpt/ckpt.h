/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libckpt: checkpoint and restore Linux process trees by driving CRIU over
 * its RPC protocol.
 *
 * Conventions (the whole API follows them):
 *  - Every fallible call returns 0 (or a documented non-negative value) on
 *    success and a negative CKPT_E* code on failure. Where `err` is not
 *    NULL it is filled with the code, a message naming the input or step
 *    that failed, and CRIU's own reason when CRIU gave one.
 *  - ret_* outputs are written only on success.
 *  - Strings passed in are copied. File descriptors passed in are borrowed
 *    for the call and never closed by the library.
 *  - The library never prints, never exits, installs no signal handler and
 *    keeps no global mutable state. Distinct ckpt_client / ckpt_opts
 *    objects may be used from different threads at once; one object must
 *    not be used by two threads at the same time. Callbacks run
 *    synchronously on the calling thread.
 *  - Child processes: in swrk mode (the default) each request spawns
 *    `criu swrk` and reaps exactly that child through its pidfd. A caller
 *    that reaps with waitpid(-1) or ignores SIGCHLD (SIG_IGN) can steal
 *    that status; the library then reports it as unknown, and never signals
 *    the pid again. Signals go only to criu and to what CRIU created for the
 *    call, always through pidfds (Linux 5.4 or newer).
 */
#ifndef CKPT_CKPT_H
#define CKPT_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ckpt/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(CKPT_STATIC)
#define CKPT_EXPORT __attribute__((visibility("default")))
#else
#define CKPT_EXPORT
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Error codes. Values are pinned and never renumbered. They are libckpt's
 * own, not errno values, so that two different failures never share a code
 * (a missing criu binary and a missing images dir are both ENOENT to the
 * kernel); the errno of the failing system call, if any, is in
 * ckpt_err.sys_errno.
 */
enum {
	CKPT_OK = 0,
	CKPT_EINVAL = -1,	 /* a bad argument or option value */
	CKPT_ENOMEM = -2,	 /* out of memory */
	CKPT_ESYS = -3,		 /* a system call failed (sys_errno says which) */
	CKPT_ECRIU_EXEC = -4,	 /* criu could not be found or started */
	CKPT_ECRIU_VERSION = -5, /* criu is too old for this request */
	CKPT_ESERVICE = -6,	 /* the criu service socket cannot be reached */
	CKPT_ETIMEDOUT = -7,	 /* the request did not finish before the deadline */
	CKPT_EPROTO = -8,	 /* a malformed or unexpected reply */
	CKPT_ETOOBIG = -9,	 /* a reply above the size cap, or a request too big */
	CKPT_ECRIU_DIED = -10,	 /* criu exited or closed the socket before replying */
	CKPT_ECRIU = -11,	 /* CRIU ran the request and reported failure */
	CKPT_ENOTARGET = -12,	 /* the target pid does not exist */
	CKPT_EIMAGES = -13,	 /* the images or work dir is unusable */
	CKPT_EEXIST = -14,	 /* the images dir already holds a checkpoint */
	CKPT_ECALLBACK = -15,	 /* a notification callback failed */
	CKPT_ENOTSUP = -16,	 /* not supported by this criu or transport */
	CKPT_EPERM = -17,	 /* a credential or permission check refused */
	CKPT_EBADIMG = -18,	 /* an image file is missing, truncated or corrupt */
	CKPT_ENETSETUP = -19,	 /* network setup of a restored namespace failed */
};

#define CKPT_ERR_MSG_MAX 512
#define CKPT_ERR_LOG_MAX 1024
#define CKPT_ERR_HINT_MAX 512

/*
 * The layout version of ckpt_err. CKPT_ERR_INIT sets it; the library keeps
 * it on every fill and writes only the fields that version has, so a later
 * libckpt can add fields at the end without breaking callers built against
 * this header. A version of 0 (a memset struct) is taken as 1.
 */
#define CKPT_ERR_VERSION 1

/* ckpt_err.flags */
enum {
	CKPT_ERR_F_OUTCOME_UNKNOWN =
		1u << 0, /* criu may have finished: it died, timed out or sent garbage */
	CKPT_ERR_F_TARGET_GONE = 1u << 1, /* the dumped tree no longer exists */
	CKPT_ERR_F_IMAGES_KEPT = 1u << 2, /* images that may be complete were kept in images_path */
};

typedef struct ckpt_err {
	unsigned version;	    /* CKPT_ERR_VERSION, set by CKPT_ERR_INIT and kept */
	int code;		    /* the same negative value as the return */
	int criu_errno;		    /* CRIU's cr_errno, 0 if it gave none */
	int sys_errno;		    /* errno of the failed system call, 0 if none */
	int wait_status;	    /* criu's wait status if it died and was reaped by us, else 0 */
	int hint_opt;		    /* the ckpt_opt key that fixes it (see hint), 0 if none */
	unsigned flags;		    /* CKPT_ERR_F_* */
	char step[32];		    /* "spawn", "connect", "send", "recv", "dump", ... */
	char msg[CKPT_ERR_MSG_MAX]; /* what failed, naming the input or step; CRIU's decisive line */
	char hint[CKPT_ERR_HINT_MAX]; /* the likely cause and what to do about it, "" if unknown */
	char log_path[256];	      /* CRIU's log file of this request, "" if none */
	char images_path[256];	      /* with CKPT_ERR_F_IMAGES_KEPT: where the images are */
	char criu_log[CKPT_ERR_LOG_MAX]; /* the error lines of CRIU's log, decisive first, "" if none */
} ckpt_err;

#ifdef __cplusplus
#define CKPT_ERR_INIT                                                                  \
	{                                                                              \
		CKPT_ERR_VERSION, 0, 0, 0, 0, 0, 0, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, \
		{                                                                      \
			0                                                              \
		}                                                                      \
	}
#else
#define CKPT_ERR_INIT                       \
	{                                   \
		.version = CKPT_ERR_VERSION \
	}
#endif

/* Static, thread-safe text for a CKPT_E* code. */
CKPT_EXPORT const char *ckpt_strerror(int code);

/* This library's version, "MAJOR.MINOR.PATCH". */
CKPT_EXPORT const char *ckpt_version(void);
/* CKPT_VERSION_NUMBER of the library actually loaded. */
CKPT_EXPORT unsigned ckpt_version_number(void);

/* Free memory returned by the library (strings from *_to_json etc.). */
CKPT_EXPORT void ckpt_free(void *p);

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

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

CKPT_EXPORT int ckpt_opts_set_leave_running(ckpt_opts *o, bool on, ckpt_err *err);

/* Option keys for the typed setters. Values are pinned. */
typedef enum ckpt_opt {
	/* bool */
	CKPT_OPT_LEAVE_RUNNING = 1,
	CKPT_OPT_LEAVE_STOPPED = 2,
	CKPT_OPT_EXT_UNIX_SK = 3,
	CKPT_OPT_TCP_ESTABLISHED = 4,
	CKPT_OPT_TCP_SKIP_IN_FLIGHT = 5,
	CKPT_OPT_TCP_CLOSE = 6,
	CKPT_OPT_EVASIVE_DEVICES = 7,
	CKPT_OPT_SHELL_JOB = 8,
	CKPT_OPT_FILE_LOCKS = 9,
	CKPT_OPT_TRACK_MEM = 10,
	CKPT_OPT_AUTO_DEDUP = 11,
	CKPT_OPT_LINK_REMAP = 12,
	CKPT_OPT_FORCE_IRMAP = 13,
	CKPT_OPT_RST_SIBLING = 14, /* swrk only; ckpt_restore sets it in swrk unless told */
	CKPT_OPT_AUTO_EXT_MNT = 15,
	CKPT_OPT_EXT_SHARING = 16,
	CKPT_OPT_EXT_MASTERS = 17,
	CKPT_OPT_WEAK_SYSCTLS = 18,
	CKPT_OPT_LAZY_PAGES = 19,
	CKPT_OPT_ORPHAN_PTS_MASTER = 20,
	CKPT_OPT_MNTNS_COMPAT_MODE = 21,
	CKPT_OPT_SKIP_FILE_RWX_CHECK = 22,
	CKPT_OPT_UNPRIVILEGED = 23,
	CKPT_OPT_DISPLAY_STATS = 24,
	CKPT_OPT_TLS = 25,
	CKPT_OPT_TLS_NO_CN_VERIFY = 26,
	CKPT_OPT_FOLLOW_SYMLINKS = 27, /* libckpt: accept symlinks in images/work dir paths */
	CKPT_OPT_MANAGE_CGROUPS = 28,  /* CRIU's legacy bool; prefer ckpt_opts_set_cgroup_mode */
	/*
	 * libckpt's own switches (0.2). The defaults are the safe ones; these
	 * give libcriu's behaviour to callers that need it (compat/libcriu).
	 */
	CKPT_OPT_OVERWRITE = 29, /* a dump may write into a dir that holds a checkpoint */
	CKPT_OPT_SELF_DUMP =
		30, /* with no pid set, a dump dumps the calling process (see ckpt_dump) */
	CKPT_OPT_DEFER_CHECKS =
		31, /* string values are stored as given: CRIU judges them at request time */
	CKPT_OPT_KEEP_MODES =
		32, /* images keep CRIU's modes; the images dir's owner and mode are not checked */

	/* int */
	CKPT_OPT_LOG_LEVEL = 100,   /* 0..4 */
	CKPT_OPT_GHOST_LIMIT = 101, /* bytes, 0..UINT32_MAX */
	CKPT_OPT_TIMEOUT = 102,	    /* CRIU's own timeout, seconds */
	CKPT_OPT_CPU_CAP = 103,
	CKPT_OPT_STATUS_FD = 104,      /* borrowed fd; CRIU writes one byte when ready */
	CKPT_OPT_EMPTY_NS = 105,       /* CLONE_NEW* mask; CRIU accepts CLONE_NEWNET only */
	CKPT_OPT_NETWORK_LOCK = 106,   /* ckpt_network_lock */
	CKPT_OPT_PRE_DUMP_MODE = 107,  /* ckpt_pre_dump_mode */
	CKPT_OPT_CGROUP_MODE = 108,    /* ckpt_cgroup_mode */
	CKPT_OPT_PIDFD_STORE_SK = 109, /* borrowed fd */

	/* string */
	CKPT_OPT_LOG_FILE = 200, /* a file name in the work dir, no '/' */
	CKPT_OPT_ROOT = 201,
	CKPT_OPT_CGROUP_PROPS = 202,
	CKPT_OPT_CGROUP_PROPS_FILE = 203,
	CKPT_OPT_FREEZE_CGROUP = 204,
	CKPT_OPT_CGROUP_YARD = 205,
	CKPT_OPT_LSM_PROFILE = 206,
	CKPT_OPT_LSM_MOUNT_CONTEXT = 207,
	CKPT_OPT_CONFIG_FILE = 208,
	CKPT_OPT_TLS_CACERT = 209,
	CKPT_OPT_TLS_CACRL = 210,
	CKPT_OPT_TLS_CERT = 211,
	CKPT_OPT_TLS_KEY = 212,

	/* repeated string: added with ckpt_opts_add_str, cleared with ckpt_opts_clear */
	CKPT_OPT_EXTERNAL = 300,
	CKPT_OPT_SKIP_MNT = 301,
	CKPT_OPT_ENABLE_FS = 302,
	CKPT_OPT_IRMAP_SCAN_PATH = 303,
	CKPT_OPT_CGROUP_DUMP_CONTROLLER = 304,
	CKPT_OPT_EXEC_CMD = 305,

	/* repeated structured values: their own adders, cleared with ckpt_opts_clear */
	CKPT_OPT_EXT_MOUNT = 400,
	CKPT_OPT_VETH = 401,
	CKPT_OPT_INHERIT_FD = 402,
	CKPT_OPT_JOIN_NS = 403,
	CKPT_OPT_CGROUP_ROOT = 404,
	CKPT_OPT_UNIX_SK_INO = 405,

	/* structured singles: their own setters */
	CKPT_OPT_PAGE_SERVER = 500,
	CKPT_OPT_PARENT_IMAGES = 501,
	CKPT_OPT_PID = 502,
	CKPT_OPT_IMAGES_DIR = 503,
	CKPT_OPT_WORK_DIR = 504,
} ckpt_opt;

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

/* Cgroup modes; values are CRIU's criu_cg_mode. */
typedef enum ckpt_cgroup_mode {
	CKPT_CGROUP_IGNORE = 0,
	CKPT_CGROUP_NONE = 1,
	CKPT_CGROUP_PROPS = 2,
	CKPT_CGROUP_SOFT = 3,
	CKPT_CGROUP_FULL = 4,
	CKPT_CGROUP_STRICT = 5,
	CKPT_CGROUP_DEFAULT = 6,
} ckpt_cgroup_mode;

CKPT_EXPORT int ckpt_cgroup_mode_from_string(const char *name, ckpt_cgroup_mode *out,
					     ckpt_err *err);
CKPT_EXPORT const char *ckpt_cgroup_mode_name(ckpt_cgroup_mode mode); /* NULL if invalid */
CKPT_EXPORT int ckpt_opts_set_cgroup_mode(ckpt_opts *o, ckpt_cgroup_mode mode, ckpt_err *err);

typedef enum ckpt_network_lock {
	CKPT_NETWORK_LOCK_IPTABLES = 1,
	CKPT_NETWORK_LOCK_NFTABLES = 2,
	CKPT_NETWORK_LOCK_SKIP = 3,
} ckpt_network_lock;
CKPT_EXPORT int ckpt_network_lock_from_string(const char *name, ckpt_network_lock *out,
					      ckpt_err *err);
CKPT_EXPORT const char *ckpt_network_lock_name(ckpt_network_lock method);

typedef enum ckpt_pre_dump_mode {
	CKPT_PRE_DUMP_SPLICE = 1,
	CKPT_PRE_DUMP_VM_READ = 2,
} ckpt_pre_dump_mode;

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

/* JSON rendering of the options, for logs and `ckpt --json`; NULL on OOM. Free with ckpt_free. */
CKPT_EXPORT char *ckpt_opts_to_json(const ckpt_opts *o);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

typedef struct ckpt_client ckpt_client;

/* A client that spawns `criu swrk` per request (no daemon). NULL only on ENOMEM. */
CKPT_EXPORT ckpt_client *ckpt_client_new(void);
/* Accepts NULL; kills and reaps a prepared criu the client still holds. */
CKPT_EXPORT void ckpt_client_free(ckpt_client *c);

/*
 * Which criu to spawn: this path; else $CKPT_CRIU; else `criu` on $PATH.
 * The path is checked (exists, executable) here; a relative path is made
 * absolute now.
 */
CKPT_EXPORT int ckpt_client_set_criu_path(ckpt_client *c, const char *path, ckpt_err *err);
/* Talk to a `criu service` daemon on this unix socket instead of spawning criu. */
CKPT_EXPORT int ckpt_client_set_service(ckpt_client *c, const char *socket_path, ckpt_err *err);
/* Service mode: the daemon must run as root or as this uid (checked with SO_PEERCRED). */
CKPT_EXPORT int ckpt_client_set_service_uid(ckpt_client *c, uid_t uid, ckpt_err *err);
/*
 * The deadline of every request, in milliseconds; 0 means none. Unset (the
 * default), version, check and feature check have a 30 s deadline, and dump,
 * pre-dump, restore and page server none (a healthy dump of a large tree may
 * take long); starting criu and connecting to a service are bounded either way
 * (a busy service is retried for at most 30 s without a deadline). A deadline
 * bounds the whole call to deadline + 2 s: criu and what it forked are killed
 * and reaped within that; a criu that cannot be reaped in time (stuck in the
 * kernel) is kept and reaped at the client's next call or at free.
 */
CKPT_EXPORT int ckpt_client_set_timeout_ms(ckpt_client *c, unsigned ms, ckpt_err *err);
/*
 * Environment of the spawned criu, "NAME=VALUE" strings copied now. By
 * default criu gets only PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
 * so nothing of the caller's environment (CRIU_CONFIG_FILE, HOME, ...) reaches it.
 * envp NULL restores the default.
 */
CKPT_EXPORT int ckpt_client_set_env(ckpt_client *c, const char *const *envp, ckpt_err *err);
/*
 * stdin, stdout and stderr of the spawned criu (borrowed fds, -1 for
 * /dev/null, the default). A shell-job restore wants the caller's terminal.
 */
CKPT_EXPORT int ckpt_client_set_criu_stdio(ckpt_client *c, int in, int out, int errfd,
					   ckpt_err *err);

/*
 * Start criu now (swrk) or connect to the service now, so that the next
 * request does not wait for criu to start: latency-critical callers prepare
 * while the workload still runs, then dump. The prepared criu serves exactly
 * one request; a request that hands fds to criu (inherit-fd) cannot use it
 * and gets a fresh one. Setting the criu path, service or env afterwards does
 * not affect an already prepared criu. ckpt_client_free kills an unused one.
 */
CKPT_EXPORT int ckpt_client_prepare(ckpt_client *c, ckpt_err *err);

/*
 * The pty master CRIU passed during the client's last restore
 * (CKPT_OPT_ORPHAN_PTS_MASTER), when no notification callback took it: the
 * caller owns it from here (CLOEXEC). -1 if there is none or it was taken.
 * An untaken one is closed by the next restore or by ckpt_client_free.
 */
CKPT_EXPORT int ckpt_client_take_pts_master(ckpt_client *c);

/* Diagnostics (never failures: those travel in ckpt_err). Off by default. */
enum { CKPT_LOG_ERROR = 0, CKPT_LOG_WARNING = 1, CKPT_LOG_INFO = 2, CKPT_LOG_DEBUG = 3 };
typedef void (*ckpt_log_fn)(void *userdata, int level, const char *line);
CKPT_EXPORT int ckpt_client_set_log(ckpt_client *c, int max_level, ckpt_log_fn fn, void *userdata);

/* ------------------------------------------------------------------ */
/* Notifications                                                       */
/* ------------------------------------------------------------------ */

/* Valid only during the callback. */
typedef struct ckpt_notify ckpt_notify;

/* The action name CRIU sent: "pre-dump", "setup-namespaces", ... */
CKPT_EXPORT const char *ckpt_notify_name(const ckpt_notify *ev);
/* The pid CRIU reported (setup-namespaces, post-restore), else 0. */
CKPT_EXPORT pid_t ckpt_notify_pid(const ckpt_notify *ev);
/*
 * The fd CRIU passed with the notification (orphan-pts-master's pty master),
 * or -1. The caller takes ownership (the fd is CLOEXEC); an fd nobody took is
 * closed by the library when the callback returns.
 */
CKPT_EXPORT int ckpt_notify_take_fd(ckpt_notify *ev);

/* Return 0 to let CRIU go on, a negative value to abort the operation. */
typedef int (*ckpt_notify_fn)(void *userdata, ckpt_notify *ev);

/*
 * Call fn for notification `name`, or for every notification without a
 * callback of its own when name is NULL. fn NULL removes the callback.
 */
CKPT_EXPORT int ckpt_client_set_notify(ckpt_client *c, const char *name, ckpt_notify_fn fn,
				       void *userdata, ckpt_err *err);

/*
 * Network setup for restores with empty-ns network (opt-in): at CRIU's
 * setup-namespaces notification, in the restored tree's new network
 * namespace, bring lo up; with a veth, create the pair host_if (host side) /
 * ns_if (moved into the namespace), give each its "ADDR/PREFIX" address, bring
 * both up and add a default route in the namespace via the host end's
 * address. Errors (CKPT_ENETSETUP) name the interface and the step, and abort
 * the restore; the host end is then removed, so nothing is left half-made.
 * All four NULL: only lo is brought up. Values are checked here.
 */
CKPT_EXPORT int ckpt_client_set_netns_veth(ckpt_client *c, const char *ns_if, const char *host_if,
					   const char *ns_cidr, const char *host_cidr,
					   ckpt_err *err);
/* The same from "NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX" (IPv6 addresses in brackets). */
CKPT_EXPORT int ckpt_client_set_netns_veth_spec(ckpt_client *c, const char *spec, ckpt_err *err);

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

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
 * Start a CRIU page server (PAGE_SERVER) writing into o's images dir, on o's
 * page-server address/port (port 0: CRIU picks one). It runs as a daemon until
 * a dump connects to it and ends. Its port goes to ret_port, its pid to ret_pid
 * (0 when CRIU does not say: CRIU 4.2 reports 0 for the daemonized server).
 */
CKPT_EXPORT int ckpt_page_server_start(ckpt_client *c, const ckpt_opts *o, pid_t *ret_pid,
				       int *ret_port, ckpt_err *err);

/* ------------------------------------------------------------------ */
/* Images: what a checkpoint holds                                     */
/* ------------------------------------------------------------------ */

/*
 * A CRIU images directory read without CRIU: the image format version,
 * the processes (pid, comm, threads, memory pages, open descriptors) and
 * the statistics CRIU wrote (stats-dump, stats-restore). The images do not
 * record which CRIU release wrote them.
 *
 * Images are untrusted input. Files are opened with O_NOFOLLOW and must be
 * regular files; each is capped at 64 MiB and each entry at 16 MiB, and the
 * total work of one call is bounded. A file that is missing (when needed),
 * truncated, of the wrong magic, too big or not decodable is CKPT_EBADIMG
 * with a message naming the file (and the offset, or the magic found and
 * expected). A directory that cannot be used as such, or an image file that
 * is a symlink or not a regular file, is CKPT_EIMAGES.
 */
typedef struct ckpt_image_info ckpt_image_info;

/*
 * Read the images directory at path, relative to dirfd (AT_FDCWD or an open
 * directory, borrowed); path NULL or "" reads dirfd itself. inventory.img,
 * pstree.img and core-PID.img of every process must exist; a process's
 * ids, pagemap, pages and fdinfo images may be absent (counted as zero).
 */
CKPT_EXPORT int ckpt_image_info_read(int dirfd, const char *path, ckpt_image_info **ret,
				     ckpt_err *err);
/*
 * Read only CRIU's statistics (stats-dump, stats-restore) from a directory:
 * CRIU writes them into its work directory, the images directory unless
 * another work dir was set. Neither file there is CKPT_EBADIMG. The result
 * has no processes, and version 0 unless an inventory.img is there too.
 */
CKPT_EXPORT int ckpt_image_info_read_stats(int dirfd, const char *path, ckpt_image_info **ret,
					   ckpt_err *err);
/* Accepts NULL. */
CKPT_EXPORT void ckpt_image_info_free(ckpt_image_info *info);

/* inventory.img's img_version: CRIU's image format (1, 2 = v1.1, 3 = v1.2); 0 if none. */
CKPT_EXPORT uint32_t ckpt_image_info_version(const ckpt_image_info *info);
/* The sum of the sizes of the regular *.img files in the directory, in bytes. */
CKPT_EXPORT uint64_t ckpt_image_info_total_bytes(const ckpt_image_info *info);

/*
 * Processes, indexed 0..n-1 in pstree.img order (the root first). For an
 * index out of range the getters return -1 (pid, ppid), NULL (comm) or 0.
 */
CKPT_EXPORT size_t ckpt_image_info_nr_processes(const ckpt_image_info *info);
CKPT_EXPORT pid_t ckpt_image_info_pid(const ckpt_image_info *info, size_t i);
/* 0 for the root of the dumped tree. */
CKPT_EXPORT pid_t ckpt_image_info_ppid(const ckpt_image_info *info, size_t i);
/* Borrowed from info; control characters replaced by '?'. */
CKPT_EXPORT const char *ckpt_image_info_comm(const ckpt_image_info *info, size_t i);

/* A task's state when dumped; values are CRIU's and pinned. */
typedef enum ckpt_task_state {
	CKPT_TASK_UNKNOWN = 0,
	CKPT_TASK_ALIVE = 1,
	CKPT_TASK_DEAD = 2, /* a zombie: CRIU records zombies so */
	CKPT_TASK_STOPPED = 3,
	CKPT_TASK_ZOMBIE = 6,
} ckpt_task_state;
/* CKPT_TASK_UNKNOWN also for a value this library does not know. */
CKPT_EXPORT ckpt_task_state ckpt_image_info_state(const ckpt_image_info *info, size_t i);
/* What CRIU recorded: a dead task's wait status (exit(7) is 0x700), else 0. */
CKPT_EXPORT uint32_t ckpt_image_info_exit_code(const ckpt_image_info *info, size_t i);
CKPT_EXPORT size_t ckpt_image_info_nr_threads(const ckpt_image_info *info, size_t i);
/* Pages of memory stored in this directory (not those left in a parent). */
CKPT_EXPORT uint64_t ckpt_image_info_pages(const ckpt_image_info *info, size_t i);
/* Bytes of memory stored: the size of the process's pages-N.img. */
CKPT_EXPORT uint64_t ckpt_image_info_memory_bytes(const ckpt_image_info *info, size_t i);
/* Open file descriptors (the entries of its fdinfo-N.img). */
CKPT_EXPORT uint64_t ckpt_image_info_nr_files(const ckpt_image_info *info, size_t i);

/* Statistics keys (values pinned: CRIU's field number, +100 for restore). Times in µs. */
typedef enum ckpt_image_stat {
	/* stats-dump */
	CKPT_STAT_FREEZING_TIME = 1,
	CKPT_STAT_FROZEN_TIME = 2,
	CKPT_STAT_MEMDUMP_TIME = 3,
	CKPT_STAT_MEMWRITE_TIME = 4,
	CKPT_STAT_PAGES_SCANNED = 5,
	CKPT_STAT_PAGES_SKIPPED_PARENT = 6,
	CKPT_STAT_PAGES_WRITTEN = 7,
	CKPT_STAT_IRMAP_RESOLVE_TIME = 8,
	CKPT_STAT_PAGES_LAZY = 9,
	CKPT_STAT_PAGE_PIPES = 10,
	CKPT_STAT_PAGE_PIPE_BUFS = 11,
	CKPT_STAT_SHPAGES_SCANNED = 12,
	CKPT_STAT_SHPAGES_SKIPPED_PARENT = 13,
	CKPT_STAT_SHPAGES_WRITTEN = 14,
	/* stats-restore */
	CKPT_STAT_PAGES_COMPARED = 101,
	CKPT_STAT_PAGES_SKIPPED_COW = 102,
	CKPT_STAT_FORKING_TIME = 103,
	CKPT_STAT_RESTORE_TIME = 104,
	CKPT_STAT_PAGES_RESTORED = 105,
} ckpt_image_stat;

CKPT_EXPORT bool ckpt_image_info_has_dump_stats(const ckpt_image_info *info);
CKPT_EXPORT bool ckpt_image_info_has_restore_stats(const ckpt_image_info *info);
/*
 * One statistic into *ret_value: 0; CKPT_ENOTSUP if the images do not hold
 * it (no stats file, or a CRIU that did not record it); CKPT_EINVAL for a
 * key unknown to this library.
 */
CKPT_EXPORT int ckpt_image_info_stat(const ckpt_image_info *info, ckpt_image_stat key,
				     uint64_t *ret_value);
/* The key's name ("frozen_time_us"), or NULL for an unknown key. */
CKPT_EXPORT const char *ckpt_image_stat_name(ckpt_image_stat key);

/* JSON rendering (json-c) of all of the above; free with ckpt_free. NULL on ENOMEM. */
CKPT_EXPORT char *ckpt_image_info_to_json(const ckpt_image_info *info);

/* ------------------------------------------------------------------ */
/* Diagnosis: hints, and the preflight of a dump (0.2)                 */
/* ------------------------------------------------------------------ */

/*
 * The value of a bool or int option, or of CKPT_OPT_PID: 1 with *ret_value
 * set (bools as 0 or 1) when it was set, 0 when it was not (CRIU's default
 * applies), CKPT_EINVAL for a key of another type or unknown to this library.
 */
CKPT_EXPORT int ckpt_opts_get_int(const ckpt_opts *o, ckpt_opt key, int64_t *ret_value,
				  ckpt_err *err);

/*
 * When CRIU fails (CKPT_ECRIU), ckpt_err.msg carries CRIU's decisive line:
 * the error that made it fail, not the harmless lines it logs on every run.
 * criu_log holds the error lines, decisive first. For a failure libckpt
 * knows (docs/errors.md lists them), hint says the likely cause and the fix,
 * and hint_opt is the option key the fix is about (0 if the fix is no option).
 *
 * Hints name options as this API spells them, CKPT_OPT_SHELL_JOB, with a
 * value after '=' where one is needed: CKPT_OPT_NETWORK_LOCK=nftables. A
 * program with names of its own for options (a command line) rewrites them.
 */
typedef const char *(*ckpt_opt_spell_fn)(void *userdata, ckpt_opt key);
/*
 * Copy hint into buf (size bytes, NUL-terminated) with every CKPT_OPT_<NAME>
 * replaced by spell(userdata, key), or, where spell is NULL or returns NULL,
 * by "--" followed by ckpt_opt_name(key): CRIU's flag, and ckpt's. A buffer
 * too small is CKPT_EINVAL; twice the hint's length always suffices for the
 * default spelling.
 */
CKPT_EXPORT int ckpt_hint_rewrite(const char *hint, ckpt_opt_spell_fn spell, void *userdata,
				  char *buf, size_t size, ckpt_err *err);

/*
 * The preflight of a dump: what in the tree a dump with these options would
 * fail on, found from /proc without dumping anything or starting criu. It
 * looks at the tree (the pid in the options and all its descendants) for the
 * failures of docs/errors.md it can see before CRIU runs, and reports one
 * finding for each, unless the options already hold the fix.
 */
typedef struct ckpt_preflight ckpt_preflight;

/* What a finding is about. Values are pinned. */
typedef enum ckpt_finding_kind {
	CKPT_FINDING_NOT_SESSION_LEADER = 1, /* the root is not a session leader: shell-job */
	CKPT_FINDING_TTY = 2, /* a terminal whose other end is outside the tree: shell-job */
	CKPT_FINDING_TCP_ESTABLISHED = 3, /* a connected TCP socket: tcp-established or tcp-close */
	CKPT_FINDING_FILE_LOCK = 4,	  /* a file lock on an open file: file-locks */
	CKPT_FINDING_EXT_UNIX_SK = 5,	  /* a unix socket whose peer is outside the tree */
	CKPT_FINDING_OTHER_UID = 6,	  /* a task of another user, and no CAP_SYS_RESOURCE */
	CKPT_FINDING_SYSV_SHM =
		7, /* SysV shared memory outside an IPC namespace of the tree's own */
	CKPT_FINDING_NETWORK_LOCK_TOOL = 8, /* the network lock's program is not on criu's PATH */
} ckpt_finding_kind;

/*
 * Look at the tree a ckpt_dump(c, o) would take. c may be NULL: it only
 * says which PATH criu gets (ckpt_client_set_env), where the network lock's
 * programs must be; in service mode the daemon's PATH is unknown and that
 * check is skipped. A pid that does not exist is CKPT_ENOTARGET; no pid in
 * o is CKPT_EINVAL. At most 4096 tasks and 256 findings are reported.
 */
CKPT_EXPORT int ckpt_preflight_dump(const ckpt_client *c, const ckpt_opts *o, ckpt_preflight **ret,
				    ckpt_err *err);
/* Accepts NULL. */
CKPT_EXPORT void ckpt_preflight_free(ckpt_preflight *p);
/* How many tasks (processes) the tree had. */
CKPT_EXPORT size_t ckpt_preflight_nr_tasks(const ckpt_preflight *p);
/* Findings, indexed 0..n-1; 0 findings: nothing seen that the dump would fail on. */
CKPT_EXPORT size_t ckpt_preflight_nr_findings(const ckpt_preflight *p);
/* For an index out of range: 0, -1, NULL or 0. */
CKPT_EXPORT ckpt_finding_kind ckpt_preflight_kind(const ckpt_preflight *p, size_t i);
/* The task it is about. */
CKPT_EXPORT pid_t ckpt_preflight_pid(const ckpt_preflight *p, size_t i);
/* The id of the failure in docs/errors.md ("shell-job", "tcp-established", ...). */
CKPT_EXPORT const char *ckpt_preflight_id(const ckpt_preflight *p, size_t i);
/* What was seen, naming the task, fd, file, socket or program. Borrowed from p. */
CKPT_EXPORT const char *ckpt_preflight_what(const ckpt_preflight *p, size_t i);
/* The fix, as ckpt_err.hint words it (see ckpt_hint_rewrite). Borrowed from p. */
CKPT_EXPORT const char *ckpt_preflight_hint(const ckpt_preflight *p, size_t i);
/* The option key the fix is about, 0 if the fix is no option. */
CKPT_EXPORT int ckpt_preflight_hint_opt(const ckpt_preflight *p, size_t i);
/* {"pid", "tasks", "findings": [{"kind", "id", "pid", "what", "hint", "hint_opt"}]}; free with ckpt_free. */
CKPT_EXPORT char *ckpt_preflight_to_json(const ckpt_preflight *p);

/* ------------------------------------------------------------------ */
/* Archives (0.2)                                                      */
/* ------------------------------------------------------------------ */

/*
 * A checkpoint leaves its machine as an archive: the layout Podman, CRI-O,
 * containerd/Kubernetes and checkpointctl share (a tar, optionally gzip- or
 * zstd-compressed, holding checkpoint/ with CRIU's images, config.dump and
 * spec.dump (JSON), stats-dump, and for containers rootfs-diff.tar and
 * more). libckpt writes such archives from an images directory and reads
 * any engine's.
 *
 * Archives are untrusted input. Reading one accepts only regular files and
 * directories whose names stay inside the archive (no absolute names, no
 * "..", no links, no devices), counts and sizes are capped (see
 * ckpt_archive_limits), and extraction goes into a fresh 0700 directory
 * that the library creates; it never writes anywhere else. A refused
 * archive is CKPT_EBADIMG (malformed, truncated, hostile entry) or
 * CKPT_ETOOBIG (over a cap), with a message naming the archive, the entry
 * and the cap.
 */

/* More of a checkpoint than ckpt_image_info_read reads (flags for ckpt_image_info_read_detail). */
enum {
	CKPT_IMAGE_READ_CMDLINE = 1u << 0, /* argv of each process, from its memory pages */
	CKPT_IMAGE_READ_ENV = 1u << 1,	   /* environment of each process, from its memory */
	CKPT_IMAGE_READ_FILES = 1u << 2,   /* open files, cwd, root, exe (files.img, fs, mm) */
	CKPT_IMAGE_READ_SOCKETS = 1u << 3, /* sockets of each process */
	CKPT_IMAGE_READ_MEMS = 1u << 4,	   /* memory maps (as `crit x DIR mems`) */
	CKPT_IMAGE_READ_ALL = 0x1f,
};
/*
 * ckpt_image_info_read plus the details asked for in flags; they appear in
 * ckpt_image_info_to_json ("cmdline", "environment", "files", "sockets",
 * "exe" and "mems" of each process). Page counts are read from CRIU 4.2's
 * pagemap field and from the one older CRIU used. argv and the environment
 * are read only as far as these images hold the pages (at most 256 KiB).
 */
CKPT_EXPORT int ckpt_image_info_read_detail(int dirfd, const char *path, unsigned flags,
					    ckpt_image_info **ret, ckpt_err *err);
/* argv joined with spaces (read with CKPT_IMAGE_READ_CMDLINE), or NULL if not read. */
CKPT_EXPORT const char *ckpt_image_info_cmdline(const ckpt_image_info *info, size_t i);

/* Compression of an archive. Values pinned. */
typedef enum ckpt_compression {
	CKPT_COMPRESSION_NONE = 0,
	CKPT_COMPRESSION_GZIP = 1,
	CKPT_COMPRESSION_ZSTD = 2,
	CKPT_COMPRESSION_XZ = 3,    /* read only */
	CKPT_COMPRESSION_BZIP2 = 4, /* read only */
} ckpt_compression;
/* "none", "gzip", "zstd" (also "xz", "bzip2"); anything else is an error naming it. */
CKPT_EXPORT int ckpt_compression_from_string(const char *name, ckpt_compression *out,
					     ckpt_err *err);
CKPT_EXPORT const char *ckpt_compression_name(ckpt_compression c); /* NULL if invalid */

#define CKPT_ARCHIVE_WRITE_VERSION 1
typedef struct ckpt_archive_write_opts {
	unsigned version;	      /* CKPT_ARCHIVE_WRITE_VERSION */
	ckpt_compression compression; /* none, gzip or zstd (the default) */
	int level;		      /* 0: the compressor's default (zstd 3, gzip 6) */
	unsigned threads;	      /* zstd workers; 0: one per online CPU */
	const char *name;	      /* config.dump "name"; NULL: the root process's comm */
	int64_t created_time;	      /* when the process started, Unix seconds; 0: unknown */
	int64_t checkpointed_time;    /* when it was dumped; 0: inventory.img's mtime */
	const char *criu_version;     /* the CRIU that dumped it ("4.2.1"); NULL: not recorded */
	int stats_dirfd;	      /* where stats-dump and dump.log are; -1: the images dir */
	const char *stats_path;	      /* relative to stats_dirfd; NULL: stats_dirfd itself */
	bool overwrite;		      /* replace an existing archive file */
	bool no_fsync;		      /* rename without fsync first (as tar and Podman do): faster,
					 but a crash may leave an incomplete file at the name */
} ckpt_archive_write_opts;
#define CKPT_ARCHIVE_WRITE_OPTS_INIT                                                           \
	{                                                                                      \
		CKPT_ARCHIVE_WRITE_VERSION, CKPT_COMPRESSION_ZSTD, 0, 0, NULL, 0, 0, NULL, -1, \
			NULL, false, false                                                     \
	}

/*
 * Write the checkpoint in the images directory dirfd/path (path NULL or "":
 * dirfd itself) as an archive at archive_path: checkpoint/ with the images,
 * config.dump and spec.dump saying what a process checkpoint can (the
 * command line read from the images, the times, runtime "libckpt" and its
 * version, the CRIU version), and stats-dump and dump.log at the top level.
 * The archive is written 0600 into a temporary file beside archive_path,
 * fsync'd (unless opts->no_fsync) and renamed into place only when
 * complete; an existing file is refused (CKPT_EEXIST) unless
 * opts->overwrite. opts NULL: the defaults. An incremental checkpoint
 * (pages in a parent directory) is refused.
 */
CKPT_EXPORT int ckpt_archive_write(int dirfd, const char *path, const char *archive_path,
				   const ckpt_archive_write_opts *opts, ckpt_err *err);

#define CKPT_ARCHIVE_LIMITS_VERSION 1
/* Caps on what reading an archive accepts; 0 takes the default. */
typedef struct ckpt_archive_limits {
	unsigned version;	  /* CKPT_ARCHIVE_LIMITS_VERSION */
	uint64_t max_entries;	  /* default 1,000,000 */
	uint64_t max_entry_bytes; /* one entry, default 64 GiB */
	uint64_t max_total_bytes; /* all entries expanded, default 256 GiB */
} ckpt_archive_limits;
#define CKPT_ARCHIVE_LIMITS_INIT                     \
	{                                            \
		CKPT_ARCHIVE_LIMITS_VERSION, 0, 0, 0 \
	}

typedef struct ckpt_archive ckpt_archive;

/*
 * Read an archive (tar; plain, gzip, zstd, xz or bzip2, told by its magic)
 * through once: check every entry against the rules and caps, and keep its
 * metadata (config.dump, spec.dump) and sizes. limits NULL: the defaults.
 */
CKPT_EXPORT int ckpt_archive_read(const char *archive_path, const ckpt_archive_limits *limits,
				  ckpt_archive **ret, ckpt_err *err);

/* ckpt_archive_extract flags */
enum {
	/* pages-*.img and the *.tar entries become files of their size with no data (sparse) */
	CKPT_ARCHIVE_SKIP_BULK = 1u << 0,
};
/*
 * The same, extracting the archive into a fresh 0700 directory
 * "ckpt-archive-XXXXXX" made inside dest_dir (which must exist); the
 * directory is named by ckpt_archive_dir. dest_dir must be owned by the
 * caller or root and writable by nobody else unless it has the sticky bit
 * (CKPT_EPERM otherwise: another user could swap what is extracted); the
 * directory made is opened once and checked (ours, 0700, empty), and
 * everything is extracted through that fd. On failure nothing is left.
 */
CKPT_EXPORT int ckpt_archive_extract(const char *archive_path, const ckpt_archive_limits *limits,
				     const char *dest_dir, unsigned flags, ckpt_archive **ret,
				     ckpt_err *err);
/* Accepts NULL. Does not remove an extracted directory (see ckpt_archive_remove). */
CKPT_EXPORT void ckpt_archive_free(ckpt_archive *a);
/* Remove the directory ckpt_archive_extract made, with all it holds. */
CKPT_EXPORT int ckpt_archive_remove(ckpt_archive *a, ckpt_err *err);
/* The extracted directory (its images are in checkpoint/), or NULL. */
CKPT_EXPORT const char *ckpt_archive_dir(const ckpt_archive *a);
/*
 * The extracted images (checkpoint/), opened through the directory the
 * extraction made and checked, never reopened by name: *ret_fd (CLOEXEC,
 * the caller's) is for ckpt_opts_set_images_dir_fd, so that a restore reads
 * exactly what was extracted.
 */
CKPT_EXPORT int ckpt_archive_open_images(const ckpt_archive *a, int *ret_fd, ckpt_err *err);

/* Who wrote an archive, as checkpointctl tells it (spec.dump's io.container.manager). Pinned. */
typedef enum ckpt_archive_engine {
	CKPT_ENGINE_UNKNOWN = 0, /* no spec.dump */
	CKPT_ENGINE_LIBCKPT = 1,
	CKPT_ENGINE_PODMAN = 2,
	CKPT_ENGINE_CRIO = 3,
	CKPT_ENGINE_CONTAINERD = 4, /* any other manager, as checkpointctl */
} ckpt_archive_engine;
CKPT_EXPORT ckpt_archive_engine ckpt_archive_get_engine(const ckpt_archive *a);
/* "libckpt", "Podman", "CRI-O", "containerd", "unknown". */
CKPT_EXPORT const char *ckpt_archive_engine_name(ckpt_archive_engine e);
CKPT_EXPORT ckpt_compression ckpt_archive_get_compression(const ckpt_archive *a);

/* Metadata keys. Values pinned. */
typedef enum ckpt_archive_key {
	CKPT_ARCHIVE_NAME = 1, /* the container's (or process's) name */
	CKPT_ARCHIVE_ID = 2,
	CKPT_ARCHIVE_IMAGE = 3,	       /* the container image */
	CKPT_ARCHIVE_RUNTIME = 4,      /* "crun", "runc", "libckpt" */
	CKPT_ARCHIVE_CREATED = 5,      /* RFC 3339 */
	CKPT_ARCHIVE_CHECKPOINTED = 6, /* RFC 3339 */
	CKPT_ARCHIVE_POD = 7,
	CKPT_ARCHIVE_NAMESPACE = 8,
	CKPT_ARCHIVE_CRIU_VERSION = 9,
	CKPT_ARCHIVE_WRITER_VERSION = 10, /* libckpt's version in a libckpt archive */
} ckpt_archive_key;
/* Borrowed from a (control characters replaced), or NULL if the archive does not say. */
CKPT_EXPORT const char *ckpt_archive_get(const ckpt_archive *a, ckpt_archive_key key);

typedef enum ckpt_archive_size {
	CKPT_ARCHIVE_SIZE_CHECKPOINT = 1,  /* regular files under checkpoint/ */
	CKPT_ARCHIVE_SIZE_PAGES = 2,	   /* checkpoint/pages-*.img */
	CKPT_ARCHIVE_SIZE_ROOTFS_DIFF = 3, /* rootfs-diff.tar */
	CKPT_ARCHIVE_SIZE_EXPANDED = 4,	   /* all regular files */
	CKPT_ARCHIVE_SIZE_ENTRIES = 5,	   /* the number of entries */
	CKPT_ARCHIVE_SIZE_FILE = 6,	   /* the archive file itself */
} ckpt_archive_size;
/* The size in bytes (a count for ENTRIES); 0 for an unknown key. */
CKPT_EXPORT uint64_t ckpt_archive_get_size(const ckpt_archive *a, ckpt_archive_size key);

/*
 * Can libckpt restore this archive? 0 for a process checkpoint (libckpt's,
 * or a bare checkpoint/ with inventory.img); CKPT_ENOTSUP for a container
 * checkpoint, naming the engine and the tool that restores it; CKPT_EBADIMG
 * if it holds no checkpoint/inventory.img.
 */
CKPT_EXPORT int ckpt_archive_check_restorable(const ckpt_archive *a, ckpt_err *err);
/* The images of an extracted archive, as ckpt_image_info_read_detail; stats from the top level. */
CKPT_EXPORT int ckpt_archive_image_info(const ckpt_archive *a, unsigned flags,
					ckpt_image_info **ret, ckpt_err *err);
/*
 * JSON: {"archive", "compression", "engine", "name", "id", "image", "runtime",
 * "created", "checkpointed", "pod", "namespace", "criu_version", "sizes": {...},
 * "entries", "mounts": [{"destination", "type", "source"}], "restore_with"}.
 * Free with ckpt_free; NULL on ENOMEM.
 */
CKPT_EXPORT char *ckpt_archive_to_json(const ckpt_archive *a);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_H */
