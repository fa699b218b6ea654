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
 * Nothing is experimental in this release yet.
 */
#ifndef CKPT_EXPERIMENTAL_H
#define CKPT_EXPERIMENTAL_H

#include <ckpt/ckpt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The symbol node of this header's functions (the release it belongs to). */
#define CKPT_EXPERIMENTAL_NODE "LIBCKPT_EXPERIMENTAL_0.2"

#ifdef __cplusplus
}
#endif

#endif /* CKPT_EXPERIMENTAL_H */
