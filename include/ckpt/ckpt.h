/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libckpt: checkpoint and restore Linux process trees by driving CRIU over
 * its RPC protocol. This header includes the whole stable API, one header per
 * object, in the order a reader needs them; each may also be included alone.
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

#include <ckpt/err.h>	    /* errors, the version, ckpt_free */
#include <ckpt/keys.h>	    /* the option keys */
#include <ckpt/opts.h>	    /* the options of a request */
#include <ckpt/client.h>    /* how to reach CRIU, notifications */
#include <ckpt/ops.h>	    /* dump, restore, and questions to CRIU */
#include <ckpt/images.h>    /* what a checkpoint holds */
#include <ckpt/preflight.h> /* what a dump would fail on; hints */
#include <ckpt/archive.h>   /* checkpoint archives */

#endif /* CKPT_CKPT_H */
