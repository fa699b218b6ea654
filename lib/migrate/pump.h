/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pump (private): CRIU's page stream between a socketpair CRIU holds and
 * an authenticated TLS connection to the other host, carried by a thread of
 * ours. CRIU never owns a socket another host can reach: its page server
 * (copy mode, receiver), the dump's page client (copy mode, source), its
 * lazy page server (lazy mode, source) and `criu lazy-pages` (lazy mode,
 * receiver) each get one end of a socketpair, and the pumps on the two hosts
 * carry the bytes through TLS.
 *
 * Inside TLS the pumps speak frames of their own: type (u8: data, ping,
 * end), length (u24, at most PUMP_CHUNK), payload. "end" says the local
 * side closed its writing end (passed on as shutdown(SHUT_WR) there); a
 * ping goes out whenever nothing was sent for a quarter of the timeout, and
 * nothing heard from the peer for the timeout fails the pump: a relay that
 * holds the connection open without passing bytes is noticed like a dead
 * host. A failure (TLS error: altered bytes; reset; timeout; abort) resets
 * the TCP connection and ends the local side so that CRIU takes it as a
 * failure, never as a clean end (see each mode).
 */
#ifndef CKPT_PUMP_H
#define CKPT_PUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define PUMP_CHUNK (64 * 1024)

enum pump_mode {
	/* copy mode: bytes both ways, ends passed on; CRIU itself judges a cut stream */
	PUMP_PASS = 1,
	/*
	 * the source's lazy page server: a failure before the receiver's close
	 * was passed on makes CRIU's session fail (its writes fail, and the
	 * stream ends in the middle of a command or with an unknown one), so
	 * that CRIU resumes the tree instead of killing it
	 */
	PUMP_LAZY_SOURCE = 2,
	/*
	 * the receiver's lazy-pages daemon: its commands go out whole, and its
	 * final close only once the restore here is committed (pump_commit)
	 */
	PUMP_LAZY_DEST = 3,
};

struct pump_cfg {
	enum pump_mode mode;
	int tcp;	     /* the pages connection: owned by the pump from pump_new on */
	void *tls;	     /* its gnutls_session_t (chan_release_tls): owned likewise */
	unsigned timeout_ms; /* silence from the peer for this long fails the pump */
	const char *what;    /* the peer, for messages (copied) */
};

struct pump;

/* The socketpair, the connection taken over; nothing runs yet. On failure tcp and tls are released. */
int pump_new(const struct pump_cfg *cfg, struct pump **ret, ckpt_err *err);
/* CRIU's end (CLOEXEC; for ps.fd, --ps-socket or ps-socket). */
int pump_criu_fd(const struct pump *p);
/* Close our copy of CRIU's end once criu has it. */
void pump_criu_fd_close(struct pump *p);
/* Start the thread. */
int pump_start(struct pump *p, ckpt_err *err);
/* Lazy, receiver: the restore here succeeded; the daemon's final close may go. */
void pump_commit(struct pump *p);
/* Fail now: reset the connection, end CRIU's side as a failure. */
void pump_abort(struct pump *p);
/* Has the thread ended? *ret_failed says whether it failed. */
bool pump_ended(const struct pump *p, bool *ret_failed);
/* Wait for the thread: 0 when both ends closed cleanly; else the failure. */
int pump_join(struct pump *p, ckpt_err *err);
/* Payload bytes from the peer, and to it. */
uint64_t pump_bytes_in(const struct pump *p);
uint64_t pump_bytes_out(const struct pump *p);
/* Aborts a running pump first. NULL is fine. */
void pump_free(struct pump *p);

#endif
