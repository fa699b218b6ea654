/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The option keys (CKPT_OPT_*) and the enums of their values: what a request
 * can ask of CRIU, by name, apart from the functions that set them
 * (<ckpt/opts.h>), so that code which only names options needs no more.
 * Values are pinned and never renumbered. See ckpt_opts(3).
 */
#ifndef CKPT_CKPT_KEYS_H
#define CKPT_CKPT_KEYS_H

#ifdef __cplusplus
extern "C" {
#endif

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
	CKPT_OPT_MANAGE_CGROUPS = 28,  /* CRIU's legacy bool; prefer CKPT_OPT_CGROUP_MODE */
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

/* The network lock of a dump; values are CRIU's. */
typedef enum ckpt_network_lock {
	CKPT_NETWORK_LOCK_IPTABLES = 1,
	CKPT_NETWORK_LOCK_NFTABLES = 2,
	CKPT_NETWORK_LOCK_SKIP = 3,
} ckpt_network_lock;

/* How a pre-dump reads memory; values are CRIU's. */
typedef enum ckpt_pre_dump_mode {
	CKPT_PRE_DUMP_SPLICE = 1,
	CKPT_PRE_DUMP_VM_READ = 2,
} ckpt_pre_dump_mode;

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_KEYS_H */
