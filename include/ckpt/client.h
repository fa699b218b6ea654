/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How libckpt reaches CRIU: a client spawns `criu swrk` for each request (the
 * default) or talks to a `criu service` daemon; it carries the deadline,
 * criu's environment, notification callbacks and the restored network's
 * setup. See ckpt_client(3) and ckpt_notify(3).
 */
#ifndef CKPT_CKPT_CLIENT_H
#define CKPT_CKPT_CLIENT_H

#include <ckpt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_CLIENT_H */
