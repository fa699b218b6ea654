/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CRIU failure diagnosis, what lib/ calls: the diagnosis, its hint rewrite, option identifiers. */
#ifndef CKPT_DIAGNOSE_H
#define CKPT_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ckpt/err.h>
#include <ckpt/keys.h>

#include "diag-types.h"

/*
 * Copy hint into buf with every CKPT_OPT_<NAME> replaced by spell_of(userdata, key) (kept as it
 * is where it returns NULL): ckpt_hint_rewrite's engine, which rpc/opts.c gives the default
 * spelling, since option names live there. CKPT_EINVAL for a buffer too small.
 */
typedef const char *(*diag_spell_fn)(void *userdata, int key);
int diag_hint_rewrite(const char *hint, diag_spell_fn spell_of, void *userdata, char *buf,
		      size_t size, ckpt_err *err);

static inline bool diag_opt_on(const struct diag_opts *d, ckpt_opt key)
{
	return d && (unsigned)key < 64 && (d->bools >> (unsigned)key & 1);
}

/*
 * Diagnose one CRIU failure. Pure: no I/O but through in->probe, no
 * allocation, no global state. The headline is the first error line before
 * CRIU's "... FAILED." that the table knows, else the first that is neither
 * harmless (the RLIMIT_NOFILE line, iptables-save probes, ...) nor a wrapper
 * ("Dump files (pid: N) failed with -1"), else cr_errmsg unless harmless.
 * Returns true when a table entry matched (out->id, hint, hint_opt set).
 */
bool diagnose(const struct diag_in *in, struct diag_result *out);

/*
 * Put a diagnosis into a ckpt_err whose code and message are already set:
 * criu_log, hint and hint_opt. The message is the caller's to write (it
 * should carry out->headline); this keeps err's layout version.
 */
void diag_apply(ckpt_err *err, const struct diag_result *r);

/* The ckpt_opt of an identifier "CKPT_OPT_SHELL_JOB" (len bytes), 0 if unknown. */
int diag_opt_from_identifier(const char *s, size_t len);
/* The identifier of a key ("CKPT_OPT_SHELL_JOB"), NULL if unknown. */
const char *diag_opt_identifier(int key);

#endif
