/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libckpt internals: private structures, helpers shared between lib/ files. */
#ifndef CKPT_INTERNAL_H
#define CKPT_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ckpt/ckpt.h>

#include "rpc.pb-c.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Return code with err filled. */
#define assert_return(expr, err, ...)                                   \
	do {                                                            \
		if (!(expr))                                            \
			return err_set((err), CKPT_EINVAL, __VA_ARGS__); \
	} while (0)

/* ---- error.c ---- */
/* Clear every field of err this library knows, keeping its layout version. */
void err_reset(ckpt_err *err);
/* Fill err (if any) with code and a formatted message; returns code. */
int err_set(ckpt_err *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like err_set, with errno's value recorded as sys_errno and appended as text. */
int err_sys(ckpt_err *err, int code, int errnum, const char *fmt, ...) _printf_(4, 5);
/* Prefix err->msg with "context: ". */
void err_prefix(ckpt_err *err, const char *fmt, ...) _printf_(2, 3);
void err_set_step(ckpt_err *err, const char *step);
/* Copy s into dst (size n), replacing control characters (a tty-safe CRIU message). */
void sanitize_copy(char *dst, size_t n, const char *s);

/* ---- log.c ---- */
struct ckpt_client;
void log_client(const struct ckpt_client *c, int level, const char *fmt, ...) _printf_(3, 4);

/* ---- opts.c ---- */
struct ckpt_opts {
	CriuOpts *pb;        /* what is sent; owned, freed with criu_opts__free_unpacked */
	int images_fd;       /* owned when images_fd_owned */
	bool images_fd_owned;
	char *images_path;   /* for messages; NULL if set by fd */
	int work_fd;
	bool work_fd_owned;
	char *work_path;
	bool follow_symlinks;
	bool rst_sibling_set; /* the caller chose rst_sibling explicitly */
};

/* The encoded options for a request; NULL with err filled on failure. */
CriuOpts *opts_for_request(const struct ckpt_opts *o, ckpt_err *err);
/* An empty CriuOpts for requests that carry no user options (check, feature check). */
CriuOpts *opts_new_pb(void);

/* ---- client.c ---- */
#define CKPT_NOTIFY_MAX 32
struct notify_slot {
	char *name; /* NULL: catch-all */
	ckpt_notify_fn fn;
	void *userdata;
};

struct ckpt_client {
	char *criu_path;     /* explicit; NULL: $CKPT_CRIU, then PATH */
	char *service_path;  /* service mode when set */
	bool service_uid_set;
	uid_t service_uid;
	uint64_t timeout_us; /* 0: none */
	char **env;          /* NULL: default */
	int stdio[3];        /* borrowed, -1: /dev/null */
	ckpt_log_fn log_fn;
	void *log_userdata;
	int log_max;
	struct notify_slot notify[CKPT_NOTIFY_MAX];
	size_t n_notify;
	struct conn *prepared; /* a criu started ahead by ckpt_client_prepare, or NULL */
	struct netns_veth *netns_setup; /* network setup at setup-namespaces, or NULL */
	pid_t notified_pid;             /* the last pid a notification of the current call named */
};

/* ---- images.c ---- */
/* The img_version of the checkpoint in dirfd (from inventory.img). */
int image_format_version(int dirfd, uint32_t *ret, ckpt_err *err);
#define CKPT_IMG_VERSION 2 /* what CRIU 3.x and 4.x write */

/* ---- netns.c ---- */
/* Wire the restored tree's network namespace (pid: CRIU's setup-namespaces pid). */
int netns_setup_run(const struct ckpt_client *c, pid_t pid, ckpt_err *err);

/* ---- transport.c: one connection to criu, for one request ---- */
struct conn {
	int fd;          /* our end of the seqpacket socket */
	pid_t pid;       /* swrk child, or 0 in service mode */
	int pidfd;       /* of the swrk child, -1 if none */
	uint64_t deadline_us; /* CLOCK_MONOTONIC, 0: none */
	bool reaped;
	int wait_status;
};

#define CKPT_MAX_MSG (1024 * 1024) /* reply size cap */

uint64_t now_us(void);
int criu_check_exec(const char *what, const char *path, ckpt_err *err);
/* Resolve which criu to run (absolute path) into *ret (malloc'd). */
int criu_resolve(const struct ckpt_client *c, char **ret, ckpt_err *err);
/*
 * Connect: spawn swrk, or connect to the service. In swrk mode the fds that
 * ro names (inherit-fd, ps.fd) are handed to criu and ro is rewritten with
 * criu's numbers for them.
 */
int conn_open(struct ckpt_client *c, CriuOpts *ro, struct conn *conn, ckpt_err *err);
/* Kill and reap (or disconnect) a criu prepared ahead. */
void client_drop_prepared(struct ckpt_client *c);
/* Close the socket; for swrk, wait for the child until the deadline, then kill and reap it. */
void conn_close(struct conn *conn, bool kill_child);
int conn_send(struct conn *conn, const CriuReq *req, ckpt_err *err);
/* Receive one reply; *ret_fd gets an fd passed with it (CLOEXEC) or -1. */
int conn_recv(struct conn *conn, CriuResp **ret, int *ret_fd, ckpt_err *err);
/* Validate a decoded reply from raw bytes (pure; used by conn_recv and the fuzzer). */
int resp_decode(const uint8_t *buf, size_t len, CriuResp **ret, ckpt_err *err);

/* ---- ops.c ---- */
/*
 * Run one request: connect, send req, answer notifications, and return the
 * final reply of req's type with success set. o (may be NULL) tells where
 * CRIU's log is, for the error.
 */
int rpc_call(struct ckpt_client *c, const char *op, CriuReq *req, const struct ckpt_opts *o,
	     CriuResp **ret, ckpt_err *err);

/* ---- parse.c, oci.c, json.c (structured values; helper h1) ---- */
/* Every CLONE_NEW* namespace bit libckpt knows (net pid mnt ipc uts user cgroup time). */
#define NS_KNOWN_MASK 0x7e020080u
/* The CLONE_NEW* bit of an OCI namespace name (len bytes; "net"/"mnt" too if aliases), 0 if unknown. */
uint32_t ns_flag_from_name(const char *name, size_t len, bool aliases);
/* The OCI name of one CLONE_NEW* bit, NULL if flag is not exactly one known bit. */
const char *ns_flag_name(uint32_t flag);

#endif
