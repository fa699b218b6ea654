/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receiver's gate (private): connections are accepted and authenticated
 * on threads of their own, many at once, each with a short deadline of its
 * own, at most GATE_PER_HOST from one address and GATE_PENDING in all; only
 * an authenticated connection with its first message reaches the receiver's
 * thread (gate_next). An idle or junk connection before authentication holds
 * nothing the receiver needs: it cannot delay or fail a migration.
 */
#ifndef CKPT_GATE_H
#define CKPT_GATE_H

#include <netinet/in.h>

#include "chan.h"

#define GATE_PENDING 128
#define GATE_PER_HOST 32
#define GATE_NOTES_MAX 64 /* refusals waiting to be reported; more are counted only */

struct gate_cfg {
	int listen_fd;		     /* borrowed */
	const struct chan_creds *cr; /* borrowed, shared by the threads */
	unsigned auth_timeout_ms;    /* authentication and first message of one connection */
	unsigned timeout_ms;	     /* the channel's deadline after that, and TCP's */
};

enum gate_kind {
	GATE_CONN = 1,	  /* an authenticated connection and its first message */
	GATE_REFUSED = 2, /* a connection refused (why in text) */
};

struct gate_item {
	enum gate_kind kind;
	int fd;
	struct chan *ch;
	struct chan_msg first;	     /* points into ch's buffer until ch receives again */
	char host[INET6_ADDRSTRLEN]; /* the peer's address, numeric */
	char text[1024];
};

struct gate;

/* Start accepting on cfg->listen_fd. */
int gate_new(const struct gate_cfg *cfg, struct gate **ret, ckpt_err *err);
/* The next item before deadline_us (0: none): 0 with *ret filled, CKPT_ETIMEDOUT, or a failure. */
int gate_next(struct gate *g, uint64_t deadline_us, struct gate_item *ret, ckpt_err *err);
/* Close an item's channel and socket. */
void gate_item_close(struct gate_item *it);
/* Stop: the acceptor, every connection still authenticating, every item not taken. NULL is fine. */
void gate_free(struct gate *g);

#endif
