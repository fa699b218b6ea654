/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libckpt's experimental API: interfaces that may still change or go away in
 * any release, kept apart from the stable API of <ckpt/ckpt.h>.
 *
 * Including this header is the opt-in. The rules:
 *  - Everything declared here is exported in its own symbol node,
 *    LIBCKPT_EXPERIMENTAL_<MAJOR>.<MINOR>, outside the stable nodes. The node
 *    is renamed every release, so a program that calls an experimental
 *    function runs only against the release it was built with; elsewhere the
 *    dynamic loader refuses to start it ("version LIBCKPT_EXPERIMENTAL_0.2
 *    not found") rather than let it call a function that changed.
 *    CKPT_EXPERIMENTAL_NODE names the node this header matches.
 *  - An interface leaves this header when it is stable: it moves to
 *    <ckpt/ckpt.h> under the name it will keep, in the node of that release.
 *  - The conventions of <ckpt/ckpt.h> hold here too: ckpt_<object>_<verb>
 *    names, CKPT_EXPORT, negative CKPT_E* returns, an optional ckpt_err.
 *
 * Experimental in this release: live migration (ckpt_migrate_*,
 * ckpt_migrate_result_*), the API under `ckpt migrate` and `ckpt receive`.
 */
#ifndef CKPT_EXPERIMENTAL_H
#define CKPT_EXPERIMENTAL_H

#include <ckpt/ckpt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The symbol node of this header's functions (the release it belongs to). */
#define CKPT_EXPERIMENTAL_NODE "LIBCKPT_EXPERIMENTAL_0.2"

/* ------------------------------------------------------------------ */
/* Migration (0.2)                                                     */
/* ------------------------------------------------------------------ */

/*
 * Live migration of a process tree to another host (docs/migration.md):
 * ckpt_migrate_source on the source host, ckpt_migrate_receive on the
 * destination, joined by an authenticated control channel over TCP. See
 * ckpt_migrate(3) and docs/migration.md.
 *
 * One port: the receiver listens on PORT, and every byte of a migration
 * goes through connections to it from the source: the control channel, and
 * a second connection for CRIU's pages (both modes). Every byte after a
 * 16-byte preamble is inside TLS: TLS 1.3 keyed by the token, or mutual
 * X.509 TLS (1.2 or 1.3) with the peer's certificate naming an identity
 * the caller named, or both (the token then proven inside the certificate
 * session, bound to it). CRIU never owns a socket another host can reach:
 * its page server, the dump's page client, its lazy page server and
 * criu lazy-pages each get a socketpair, relayed through the session by a
 * thread of libckpt. The source listens on nothing.
 *
 * Authentication is required: a token file or mutual TLS, or both. With
 * neither, the calls refuse to start (CKPT_EINVAL). A peer that fails it
 * is refused before anything is written or restored; on the receiver,
 * connections are authenticated concurrently, each with a short deadline of
 * its own (CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS), so that idle or junk connections
 * cannot hold a migration up. The caller should make its process
 * undumpable while it holds a token (prctl PR_SET_DUMPABLE 0): the keys
 * derived from it are kept out of core dumps, TLS session keys are not.
 *
 * The tree is never lost and never runs twice, as far as CRIU allows: the
 * source's dump is held at CRIU's post-dump notification until the
 * receiver reports the restored tree running; any failure before that makes
 * CRIU resume the source (outcome CKPT_MIGRATE_OUTCOME_FAILED, ckpt_migrate_result_stage
 * names where it failed). If the receiver's answer is lost after the restore
 * was asked for, the source tree stays frozen (held by criu) while the
 * receiver is asked again over new connections; the decide callback, if
 * set, is called every few seconds and may end the wait. In lazy mode the
 * restored tree runs before its memory has arrived: once it runs, its
 * memory lives on the source until every page is copied, and a source, criu
 * or network that fails before then leaves the destination's copy without
 * those pages (the receiver then kills it); nothing can recover that. The
 * event CKPT_MIGRATE_EV_SOURCE_RELEASED says when the source host can go.
 */
typedef struct ckpt_migrate_opts ckpt_migrate_opts;
typedef struct ckpt_migrate_result ckpt_migrate_result;

/* NULL only when out of memory. */
CKPT_EXPORT ckpt_migrate_opts *ckpt_migrate_opts_new(void);
/* Accepts NULL. */
CKPT_EXPORT void ckpt_migrate_opts_free(ckpt_migrate_opts *m);
/*
 * The shared secret, read once, now: a regular file (not a symlink) owned by
 * the caller (euid) or root, with no access for group or others, in a
 * directory owned by the caller or root that group and others cannot write,
 * holding at least 32 random bytes (a file of hex digits is decoded first;
 * one trailing newline is not part of it). Each refusal names the rule
 * (CKPT_EPERM for owners and modes, CKPT_EINVAL for the contents). Only keys
 * derived from it are kept, out of core dumps. NULL clears it.
 */
CKPT_EXPORT int ckpt_migrate_opts_set_token_file(ckpt_migrate_opts *m, const char *path,
						 ckpt_err *err);
/* Mutual TLS: PEM files, all three readable (checked now, loaded when a migration starts). */
CKPT_EXPORT int ckpt_migrate_opts_set_tls(ckpt_migrate_opts *m, const char *cacert,
					  const char *cert, const char *key, ckpt_err *err);
/*
 * Mutual TLS: one more identity the peer's certificate may carry (a SAN DNS
 * name or address, or its common name, matched exactly: no wildcards); up to
 * 16. A receiver with TLS must name at least one (the sources it accepts);
 * a source that names none expects the host it dials. A certificate the CA
 * signed that carries none of them is refused. NULL clears the list.
 */
CKPT_EXPORT int ckpt_migrate_opts_add_tls_peer(ckpt_migrate_opts *m, const char *name,
					       ckpt_err *err);

/*
 * Keys of ckpt_migrate_opts_set_int / _set_str (CKPT_MIGRATE_OPT_ and:). Values are pinned.
 *   LAZY                int 0/1: post-copy (lazy pages), source only
 *   PAGE_PORT           gone (CKPT_ENOTSUP): the pages take a connection to PORT
 *   TIMEOUT_MS          int: deadline of each control message, and the longest silence of a
 *                       pages connection (default 30000)
 *   TLS_NO_CN_VERIFY    gone (CKPT_ENOTSUP): name the peer (add_tls_peer)
 *   TLS_CACRL           str: PEM certificate revocation list
 *   MAX_FILES           int: receiver: at most this many image files (default 65536)
 *   MAX_IMAGE_BYTES     int: receiver: at most this many bytes of them (default 16 GiB)
 *   RESOLVE_TIMEOUT_MS  int: receiver: how long it answers a source that lost its answer
 *                       (default 60000)
 *   ACCEPT_TIMEOUT_MS   int: receiver: how long it waits for a migration (default 0: no limit)
 *   STAGING_DIR         str: source: where its private staging directory is made (default
 *                       /tmp); the receiver's is in its options' images dir
 *   AUTH_TIMEOUT_MS     int: receiver: the deadline of one connection's authentication and
 *                       first message (default 10000, and at most the channel timeout)
 */
typedef enum ckpt_migrate_opt {
	CKPT_MIGRATE_OPT_LAZY = 1,
	CKPT_MIGRATE_OPT_PAGE_PORT = 2,
	CKPT_MIGRATE_OPT_TIMEOUT_MS = 3,
	CKPT_MIGRATE_OPT_TLS_NO_CN_VERIFY = 4,
	CKPT_MIGRATE_OPT_TLS_CACRL = 5,
	CKPT_MIGRATE_OPT_MAX_FILES = 6,
	CKPT_MIGRATE_OPT_MAX_IMAGE_BYTES = 7,
	CKPT_MIGRATE_OPT_RESOLVE_TIMEOUT_MS = 8,
	CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS = 9,
	CKPT_MIGRATE_OPT_STAGING_DIR = 10,
	CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS = 11,
} ckpt_migrate_opt;
CKPT_EXPORT int ckpt_migrate_opts_set_int(ckpt_migrate_opts *m, ckpt_migrate_opt key, int64_t value,
					  ckpt_err *err);
CKPT_EXPORT int ckpt_migrate_opts_set_str(ckpt_migrate_opts *m, ckpt_migrate_opt key,
					  const char *value, ckpt_err *err);

/* What just happened, for the progress callback. Values are pinned. */
typedef enum ckpt_migrate_event {
	CKPT_MIGRATE_EV_CONNECTED = 1,	     /* authenticated; versions, criu check, CPU checked */
	CKPT_MIGRATE_EV_DUMPED = 2,	     /* frozen and dumped (copy: the pages are there) */
	CKPT_MIGRATE_EV_IMAGES = 3,	     /* the other images are at the receiver */
	CKPT_MIGRATE_EV_RUNNING = 4,	     /* the restored tree runs on the receiver */
	CKPT_MIGRATE_EV_PAGES_DONE = 5,	     /* lazy: every page is at the receiver */
	CKPT_MIGRATE_EV_SOURCE_RELEASED = 6, /* the source's tree is gone: the source can go */
	CKPT_MIGRATE_EV_HELD = 7,	     /* the answer was lost: the source is held frozen */
	CKPT_MIGRATE_EV_DONE = 8,	     /* the call ends (see ckpt_migrate_result_outcome) */
	CKPT_MIGRATE_EV_REFUSED = 9,	     /* receiver: a connection refused; it listens on */
	CKPT_MIGRATE_EV_ACCEPTED = 10,	     /* receiver: a source connected and was accepted */
	CKPT_MIGRATE_EV_LISTENING = 11, /* receiver: listening; the message says whom it accepts */
} ckpt_migrate_event;
/* Called on the calling thread during ckpt_migrate_source / _receive; mg is valid during the call. */
typedef void (*ckpt_migrate_progress_fn)(void *userdata, ckpt_migrate_event ev,
					 const ckpt_migrate_result *mg);
CKPT_EXPORT int ckpt_migrate_opts_set_progress(ckpt_migrate_opts *m, ckpt_migrate_progress_fn fn,
					       void *userdata, ckpt_err *err);

/* What a decide callback answers while the source is held. */
enum {
	CKPT_MIGRATE_DECIDE_HOLD = 0,	     /* keep it frozen and keep asking the receiver */
	CKPT_MIGRATE_DECIDE_KILL_SOURCE = 1, /* the destination runs it: CRIU kills the source */
	CKPT_MIGRATE_DECIDE_RESUME_SOURCE =
		2, /* CRIU resumes the source (the destination must not run it) */
};
/*
 * Source: called every few seconds while the outcome is unknown and the
 * source is held. Without one, the source is held until the receiver answers.
 */
typedef int (*ckpt_migrate_decide_fn)(void *userdata, const ckpt_migrate_result *mg);
CKPT_EXPORT int ckpt_migrate_opts_set_decide(ckpt_migrate_opts *m, ckpt_migrate_decide_fn fn,
					     void *userdata, ckpt_err *err);

/*
 * A listening TCP socket on "ADDRESS:PORT" ("0.0.0.0:7000", "[::]:7000"),
 * CLOEXEC, for ckpt_migrate_receive; the caller closes it.
 */
CKPT_EXPORT int ckpt_migrate_listen(const char *address_port, int *ret_fd, ckpt_err *err);

/*
 * Source: migrate the tree rooted at o's pid (o: the dump options, such as
 * tcp-established, empty-ns network, network-lock; its images dir is not
 * used) to the receiver at to ("HOST:PORT"). Returns 0 when the tree runs
 * there and is gone here. mg (from ckpt_migrate_result_new) is filled as it goes
 * and holds the outcome and figures, success or not. c must spawn criu (swrk).
 */
CKPT_EXPORT int ckpt_migrate_source(ckpt_client *c, const ckpt_opts *o, const ckpt_migrate_opts *m,
				    const char *to, ckpt_migrate_result *mg, ckpt_err *err);
/*
 * Receiver: accept one migration on listen_fd (a listening TCP socket,
 * borrowed) and restore it with o (restore options: empty-ns network,
 * tcp-established, ...; the client's veth setup applies). o's images dir
 * (by path) must be set: each migration gets a private directory in it
 * (SESSION/images, removed at the end; SESSION/work, CRIU's logs, kept) and
 * a record, SESSION.state, that answers a source which lost the answer;
 * images that a receiver killed before its end left there are removed when
 * the next one starts. Connections that fail authentication or the
 * handshake are refused (nothing is written for them) and the receiver
 * goes on listening. In swrk mode the restored root becomes the caller's
 * child, as with ckpt_restore. Returns 0 when the tree runs here
 * (ckpt_migrate_result_pid), with outcome CKPT_MIGRATE_OUTCOME_DONE, or
 * CKPT_MIGRATE_OUTCOME_UNKNOWN when the source's final word was lost (the
 * tree runs here; the source may still hold its copy frozen).
 */
CKPT_EXPORT int ckpt_migrate_receive(ckpt_client *c, const ckpt_opts *o, const ckpt_migrate_opts *m,
				     int listen_fd, ckpt_migrate_result *mg, ckpt_err *err);

/* The record of one migration: progress while it runs, outcome and figures after. */
CKPT_EXPORT ckpt_migrate_result *ckpt_migrate_result_new(void);
CKPT_EXPORT void ckpt_migrate_result_free(ckpt_migrate_result *mg);

typedef enum ckpt_migrate_outcome {
	CKPT_MIGRATE_OUTCOME_NONE = 0, /* not ended */
	CKPT_MIGRATE_OUTCOME_DONE =
		1, /* the tree runs on the destination; the source's copy is gone */
	CKPT_MIGRATE_OUTCOME_FAILED =
		2, /* it failed; the tree runs on at the source, nothing of it at the destination */
	CKPT_MIGRATE_OUTCOME_UNKNOWN =
		3, /* where the tree runs is not known for sure: the error says what is known */
} ckpt_migrate_outcome;
CKPT_EXPORT ckpt_migrate_outcome ckpt_migrate_result_outcome(const ckpt_migrate_result *mg);
/* Where it is or where it ended: "handshake", "transfer", "restore", "pages", "decision", "done". */
CKPT_EXPORT const char *ckpt_migrate_result_stage(const ckpt_migrate_result *mg);
/* 1 for lazy (post-copy), 0 for copy mode, -1 before the handshake. */
CKPT_EXPORT int ckpt_migrate_result_lazy(const ckpt_migrate_result *mg);
/* The restored tree's root pid on the destination (0 if none). */
CKPT_EXPORT pid_t ckpt_migrate_result_pid(const ckpt_migrate_result *mg);
/* While held: the criu that holds the source frozen (0 if none). */
CKPT_EXPORT pid_t ckpt_migrate_result_held_by(const ckpt_migrate_result *mg);
/* The peer: its address and who it proved to be. "" before it connected. */
CKPT_EXPORT const char *ckpt_migrate_result_peer(const ckpt_migrate_result *mg);
/* The peer's libckpt and CRIU versions as text, "" if unknown. */
CKPT_EXPORT const char *ckpt_migrate_result_peer_versions(const ckpt_migrate_result *mg);
/* The text of the last event (why a connection was refused, what is held), "" if none. */
CKPT_EXPORT const char *ckpt_migrate_result_message(const ckpt_migrate_result *mg);

/* Figures. Times in microseconds, bytes, and bytes per second. Values are pinned. */
typedef enum ckpt_migrate_stat {
	CKPT_MIGRATE_STAT_TOTAL_US = 1,	    /* start to end of the call */
	CKPT_MIGRATE_STAT_HANDSHAKE_US = 2, /* connect, authenticate, versions, checks */
	CKPT_MIGRATE_STAT_FROZEN_US = 3,    /* source: the freeze to CRIU's DUMP reply */
	CKPT_MIGRATE_STAT_TRANSFER_US =
		4, /* freeze to every image at the receiver (copy: pages too) */
	CKPT_MIGRATE_STAT_RESTORE_US = 5,  /* restore asked to the tree running at the receiver */
	CKPT_MIGRATE_STAT_DOWNTIME_US = 6, /* freeze to the restored tree running */
	CKPT_MIGRATE_STAT_SOURCE_RELEASED_US = 7, /* start to the source's tree gone */
	CKPT_MIGRATE_STAT_PAGES_DONE_US = 8,	  /* lazy: start to every page at the receiver */
	CKPT_MIGRATE_STAT_PAGE_BYTES = 20,	  /* memory pages sent (CRIU's count) */
	CKPT_MIGRATE_STAT_IMAGE_BYTES = 21,	  /* the other images, bytes */
	CKPT_MIGRATE_STAT_IMAGE_FILES = 22,	  /* the other images, files */
	CKPT_MIGRATE_STAT_CONTROL_BYTES_OUT = 23, /* the control channel on the wire, out */
	CKPT_MIGRATE_STAT_CONTROL_BYTES_IN = 24,  /* and in */
	CKPT_MIGRATE_STAT_PAGE_RATE = 25,	  /* page bytes per second of their transfer */
	CKPT_MIGRATE_STAT_IMAGE_RATE = 26,	  /* image bytes per second of their transfer */
} ckpt_migrate_stat;
/* 0 with the value; CKPT_ENOTSUP when not (yet) known; CKPT_EINVAL for an unknown key. */
CKPT_EXPORT int ckpt_migrate_result_stat(const ckpt_migrate_result *mg, ckpt_migrate_stat key,
					 uint64_t *ret_value);
/* "downtime_us", ... or NULL for an unknown key. */
CKPT_EXPORT const char *ckpt_migrate_stat_name(ckpt_migrate_stat key);
/* Everything above as a JSON object; free with ckpt_free. NULL on ENOMEM. */
CKPT_EXPORT char *ckpt_migrate_result_to_json(const ckpt_migrate_result *mg);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_EXPERIMENTAL_H */
