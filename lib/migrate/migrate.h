/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migration (private): the options, the record of one migration, and what the source and receiver share. */
#ifndef CKPT_MIGRATE_H
#define CKPT_MIGRATE_H

#include <ckpt/ckpt.h>
#include <ckpt/experimental.h>

#include "chan.h"
#include "base/error.h"

#define MIG_DEFAULT_TIMEOUT_MS 30000
#define MIG_DEFAULT_AUTH_MS 10000 /* an unauthenticated connection's own deadline */
#define MIG_DEFAULT_RESOLVE_MS 60000
#define MIG_RESOLVE_PERIOD_MS 2000
/* CRIU's lazy page server needs a pipe of 819 pages, rounded up by the kernel (docs/migration.md, "Pipe size"). */
#define MIG_LAZY_PIPE_MIN 4194304

struct ckpt_migrate_opts {
	struct chan_token *token; /* read once, when set */
	char *tls_cacert, *tls_cert, *tls_key, *tls_cacrl;
	char *peers[CHAN_PEERS_MAX]; /* the identities the peer's certificate may carry */
	size_t n_peers;
	char *staging_dir;
	bool lazy;
	unsigned timeout_ms;	     /* per control message */
	unsigned auth_timeout_ms;    /* receiver: per unauthenticated connection (0: default) */
	unsigned resolve_timeout_ms; /* receiver */
	unsigned accept_timeout_ms;  /* receiver; 0: none */
	uint32_t max_files;
	uint64_t max_bytes;
	ckpt_migrate_progress_fn progress;
	void *progress_ud;
	ckpt_migrate_decide_fn decide;
	void *decide_ud;
};

/* Indexes of the figures kept in a record (see stat_defs in migrate.c). */
enum mig_figure {
	FIG_TOTAL,
	FIG_HANDSHAKE,
	FIG_FROZEN,
	FIG_TRANSFER,
	FIG_RESTORE,
	FIG_DOWNTIME,
	FIG_RELEASED,
	FIG_PAGES_DONE,
	FIG_PAGE_BYTES,
	FIG_IMAGE_BYTES,
	FIG_IMAGE_FILES,
	FIG_CTL_OUT,
	FIG_CTL_IN,
	FIG_PAGE_RATE,
	FIG_IMAGE_RATE,
	FIG_COUNT_,
};

struct ckpt_migrate_result {
	ckpt_migrate_outcome outcome;
	bool receiver; /* the receiving side's record */
	int lazy;      /* -1 unknown */
	pid_t pid;     /* restored root on the destination */
	pid_t held_by; /* criu holding the source frozen */
	char stage[32];
	char peer[320];
	char peer_versions[160];
	char message[1024];
	uint64_t fig[FIG_COUNT_];
	bool have[FIG_COUNT_];
};

/* Clear a record for a new migration. */
void mig_reset(ckpt_migrate_result *mg, bool receiver);
void mig_set(ckpt_migrate_result *mg, enum mig_figure f, uint64_t v);
void mig_stage(ckpt_migrate_result *mg, const char *stage);
/* Set the message and tell the caller's progress callback. */
void mig_event(const ckpt_migrate_opts *m, ckpt_migrate_result *mg, ckpt_migrate_event ev,
	       const char *fmt, ...) _printf_(4, 5);

/* Is authentication configured? CKPT_EINVAL saying what to give when not. */
int mig_auth_check(const ckpt_migrate_opts *m, ckpt_err *err);
/*
 * The credentials of one migration from m, for side. default_peer: the
 * identity expected when m names none (the source: the host it dials); NULL:
 * m must name them (the receiver).
 */
int mig_creds(const ckpt_migrate_opts *m, enum chan_side side, const char *default_peer,
	      struct chan_creds **ret, ckpt_err *err);
/* Has m TLS files? */
bool mig_has_tls(const ckpt_migrate_opts *m);

/* Connect a TCP socket to host:port (CLOEXEC, mig_tcp_tune), bounded by timeout_ms. */
int mig_connect(const char *host, uint16_t port, unsigned timeout_ms, int *ret_fd, ckpt_err *err);
/*
 * A migration's TCP socket (what: the peer, for the error): TCP_USER_TIMEOUT = timeout_ms, so
 * that data left unacknowledged that long fails it (a peer host gone silently, no reset, no FIN),
 * and keepalive probes so that an idle dead peer is noticed after about as long.
 */
int mig_tcp_tune(int fd, unsigned timeout_ms, const char *what, ckpt_err *err);

/* This host's versions into a HELLO. */
void mig_hello_versions(struct chan_hello *h, unsigned criu_version);
/* "libckpt X, criu Y" of a peer's HELLO into mg. */
void mig_note_peer(ckpt_migrate_result *mg, const struct chan *ch, const struct chan_hello *h);

/*
 * Remove every entry of the directory dirfd/name (a flat directory of ours:
 * images, logs) and the directory itself; whatever cannot be removed stays.
 */
void mig_remove_flat(int dirfd, const char *name);

/* A session id as 32 hex digits (buf of 33). */
void mig_session_hex(const uint8_t session[CHAN_SESSION_SIZE], char *buf);

#endif
