/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One connection to criu for one request: the socket, criu itself (swrk) and the deadline. */
#ifndef CKPT_CONN_H
#define CKPT_CONN_H

#include "proc/proc.h"

/*
 * Another fd to serve while a reply from criu is awaited (a migration's
 * control channel during a lazy dump): when fd is readable, fn runs on the
 * calling thread; it sets fd to -1 to stop being called.
 */
struct conn_watch {
	int fd;
	void (*fn)(void *userdata);
	void *userdata;
};

struct conn {
	int fd;			  /* our end of the SOCK_SEQPACKET socket, -1 */
	struct proc criu;	  /* the swrk child; pid 0 for a service or a detached criu */
	uint64_t deadline_us;	  /* CLOCK_MONOTONIC; 0: none */
	struct conn_watch *watch; /* NULL: none */
	unsigned replies;	  /* packets received from criu so far */
};
#define CONN_INIT                         \
	{                                 \
		-1, PROC_INIT, 0, NULL, 0 \
	}

/* A caller's fd that criu gets as fd dst. */
struct fdpass {
	int src;
	int dst;
};

#endif
