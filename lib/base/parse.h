/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure parsers and validators of values with structure (no option or client internals). */
#ifndef CKPT_PARSE_H
#define CKPT_PARSE_H

#include <ckpt/ckpt.h>

#include "error.h"

#define HOSTNAME_MAX 253
#define CGROUP_MODES_EXPECTED "expected one of ignore, none, props, soft, full, strict, default"

/*
 * Why address (an IPv4 literal, an IPv6 literal with or without brackets and
 * an optional %zone, or a host name; no port) is not valid, or NULL. The host
 * part (without brackets) goes to *ret_host / *ret_len.
 */
const char *address_problem(const char *address, const char **ret_host, size_t *ret_len);
/* The one interface-name check: "WHAT: WHICH interface name 'NAME' ...". */
int check_ifname(const char *what, const char *which, const char *name, ckpt_err *err);
/* "ADDR/PREFIX" with a valid IPv4 or IPv6 address and prefix. */
int check_cidr(const char *what, const char *which, const char *s, ckpt_err *err);

/* Every CLONE_NEW* namespace bit libckpt knows (net pid mnt ipc uts user cgroup time). */
#define NS_KNOWN_MASK 0x7e020080u
/* The CLONE_NEW* bit of an OCI namespace name (len bytes; "net"/"mnt" too if aliases), 0 if unknown. */
uint32_t ns_flag_from_name(const char *name, size_t len, bool aliases);
/* The OCI name of one CLONE_NEW* bit, NULL if flag is not exactly one known bit. */
const char *ns_flag_name(uint32_t flag);

/* A namespace kind: its OCI name, an alias the parsers take, its entry in /proc/PID/ns, its flag. */
struct ns_kind {
	const char *name;  /* OCI runtime-spec name */
	const char *alias; /* accepted by the ckpt_ns_mask_from_* parsers; NULL if none */
	const char *proc;  /* the entry in /proc/PID/ns */
	uint32_t flag;
};
/* Every kind, in the canonical order of ckpt_ns_mask_to_string; *ret_n of them. */
const struct ns_kind *ns_kinds_all(size_t *ret_n);

#endif
