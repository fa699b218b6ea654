/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Diagnosis before and after: the preflight of a dump (what in the tree a
 * dump would fail on, seen from /proc before CRIU runs), and hints in a
 * program's own words. See ckpt_preflight(3).
 */
#ifndef CKPT_CKPT_PREFLIGHT_H
#define CKPT_CKPT_PREFLIGHT_H

#include <ckpt/client.h>
#include <ckpt/opts.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * When CRIU fails (CKPT_ECRIU), ckpt_err.msg carries CRIU's decisive line:
 * the error that made it fail, not the harmless lines it logs on every run.
 * criu_log holds the error lines, decisive first. For a failure libckpt
 * knows (docs/errors.md lists them), hint says the likely cause and the fix,
 * and hint_opt is the option key the fix is about (0 if the fix is no option).
 *
 * Hints name options as this API spells them, CKPT_OPT_SHELL_JOB, with a
 * value after '=' where one is needed: CKPT_OPT_NETWORK_LOCK=nftables. A
 * program with names of its own for options (a command line) rewrites them.
 */
typedef const char *(*ckpt_opt_spell_fn)(void *userdata, ckpt_opt key);
/*
 * Copy hint into buf (size bytes, NUL-terminated) with every CKPT_OPT_<NAME>
 * replaced by spell(userdata, key), or, where spell is NULL or returns NULL,
 * by "--" followed by ckpt_opt_name(key): CRIU's flag, and ckpt's. A buffer
 * too small is CKPT_EINVAL; twice the hint's length always suffices for the
 * default spelling.
 */
CKPT_EXPORT int ckpt_hint_rewrite(const char *hint, ckpt_opt_spell_fn spell, void *userdata,
				  char *buf, size_t size, ckpt_err *err);

/*
 * The preflight of a dump: what in the tree a dump with these options would
 * fail on, found from /proc without dumping anything or starting criu. It
 * looks at the tree (the pid in the options and all its descendants) for the
 * failures of docs/errors.md it can see before CRIU runs, and reports one
 * finding for each, unless the options already hold the fix.
 */
typedef struct ckpt_preflight ckpt_preflight;

/* What a finding is about. Values are pinned. */
typedef enum ckpt_finding_kind {
	CKPT_FINDING_NOT_SESSION_LEADER = 1, /* the root is not a session leader: shell-job */
	CKPT_FINDING_TTY = 2, /* a terminal whose other end is outside the tree: shell-job */
	CKPT_FINDING_TCP_ESTABLISHED = 3, /* a connected TCP socket: tcp-established or tcp-close */
	CKPT_FINDING_FILE_LOCK = 4,	  /* a file lock on an open file: file-locks */
	CKPT_FINDING_EXT_UNIX_SK = 5,	  /* a unix socket whose peer is outside the tree */
	CKPT_FINDING_OTHER_UID = 6,	  /* a task of another user, and no CAP_SYS_RESOURCE */
	CKPT_FINDING_SYSV_SHM =
		7, /* SysV shared memory outside an IPC namespace of the tree's own */
	CKPT_FINDING_NETWORK_LOCK_TOOL = 8, /* the network lock's program is not on criu's PATH */
	CKPT_FINDING_UNDUMPABLE = 9, /* pid 1 (init), a kernel thread or a criu: never dumped */
} ckpt_finding_kind;

/*
 * Look at the tree a ckpt_dump(c, o) would take. c may be NULL: it only
 * says which PATH criu gets (ckpt_client_set_env), where the network lock's
 * programs must be; in service mode the daemon's PATH is unknown and that
 * check is skipped. A pid that does not exist is CKPT_ENOTARGET; no pid in
 * o is CKPT_EINVAL. At most 4096 tasks and 256 findings are reported.
 */
CKPT_EXPORT int ckpt_preflight_dump(const ckpt_client *c, const ckpt_opts *o, ckpt_preflight **ret,
				    ckpt_err *err);
/* Accepts NULL. */
CKPT_EXPORT void ckpt_preflight_free(ckpt_preflight *p);
/* How many tasks (processes) the tree had. */
CKPT_EXPORT size_t ckpt_preflight_nr_tasks(const ckpt_preflight *p);
/* Findings, indexed 0..n-1; 0 findings: nothing seen that the dump would fail on. */
CKPT_EXPORT size_t ckpt_preflight_nr_findings(const ckpt_preflight *p);
/* For an index out of range: 0, -1, NULL or 0. */
CKPT_EXPORT ckpt_finding_kind ckpt_preflight_kind(const ckpt_preflight *p, size_t i);
/* The task it is about. */
CKPT_EXPORT pid_t ckpt_preflight_pid(const ckpt_preflight *p, size_t i);
/* The id of the failure in docs/errors.md ("shell-job", "tcp-established", ...). */
CKPT_EXPORT const char *ckpt_preflight_id(const ckpt_preflight *p, size_t i);
/* What was seen, naming the task, fd, file, socket or program. Borrowed from p. */
CKPT_EXPORT const char *ckpt_preflight_what(const ckpt_preflight *p, size_t i);
/* The fix, as ckpt_err.hint words it (see ckpt_hint_rewrite). Borrowed from p. */
CKPT_EXPORT const char *ckpt_preflight_hint(const ckpt_preflight *p, size_t i);
/* The option key the fix is about, 0 if the fix is no option. */
CKPT_EXPORT int ckpt_preflight_hint_opt(const ckpt_preflight *p, size_t i);
/* {"pid", "tasks", "findings": [{"kind", "id", "pid", "what", "hint", "hint_opt"}]}; free with ckpt_free. */
CKPT_EXPORT char *ckpt_preflight_to_json(const ckpt_preflight *p);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_PREFLIGHT_H */
