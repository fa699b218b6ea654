/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receiver's lazy-pages relay: `criu lazy-pages` gets one end of a
 * socketpair as its page-server socket, and a thread of ours carries its
 * requests to the source's CRIU lazy page server over TLS and the pages
 * back. The one thing it does not pass on by itself is the daemon's final
 * PS_IOV_CLOSE: the source's CRIU takes a cleanly closed lazy session as
 * success and kills the source tree, so the close goes on only once the
 * restore here is known good (page_relay_commit). A failed restore aborts
 * the connection instead (a TCP reset, no TLS close), which the source's
 * CRIU takes as a failed transfer: it resumes the source tree.
 */
#ifndef CKPT_PAGERELAY_H
#define CKPT_PAGERELAY_H

#include <stdint.h>

#include "error.h"

struct relay_cfg {
	const char *host; /* the source's address */
	uint16_t port;	  /* its lazy page server */
	const char *tls_cacert, *tls_cert, *tls_key, *tls_cacrl;
	bool no_cn_verify;   /* else the source's certificate must name host */
	unsigned timeout_ms; /* connect and TLS handshake */
};

struct page_relay;

/* The socketpair; nothing is started yet. */
int page_relay_new(struct page_relay **ret, ckpt_err *err);
/* The daemon's end (CLOEXEC; passed to criu as --ps-socket). */
int page_relay_daemon_fd(const struct page_relay *r);
/* Close our copy of the daemon's end once criu has it. */
void page_relay_daemon_fd_close(struct page_relay *r);
/* Start the thread: connect to the source, TLS, then relay. cfg's strings must outlive the relay. */
int page_relay_start(struct page_relay *r, const struct relay_cfg *cfg, ckpt_err *err);
/* The restore here succeeded: the daemon's final close may go to the source. */
void page_relay_commit(struct page_relay *r);
/* The restore failed (or anything else): reset the source's connection now. */
void page_relay_abort(struct page_relay *r);
/*
 * Wait for the thread (the daemon ended, or an abort). 0 when the session
 * ended with the daemon's close passed on and answered; else the failure.
 */
int page_relay_join(struct page_relay *r, ckpt_err *err);
uint64_t page_relay_bytes_in(const struct page_relay *r);
/* Aborts a running relay first. NULL is fine. */
void page_relay_free(struct page_relay *r);

#endif
