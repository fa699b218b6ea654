/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt: the command line tool. Shared declarations of cli/. The CLI uses
 * only the public <ckpt/ckpt.h>; everything it does is a library call.
 */
#ifndef CKPT_CLI_H
#define CKPT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <ckpt/ckpt.h>
#include <ckpt/experimental.h>

/* Exit codes (documented in `ckpt --help` and ckpt(1)). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,     /* the operation failed */
	EXIT_USAGE = 2,	     /* unknown flag, bad value, missing argument */
	EXIT_CRIU = 3,	     /* criu missing or unusable */
	EXIT_TIMEOUT = 4,    /* the request did not finish in time */
	EXIT_UNKNOWN = 5,    /* migrate/receive: where the tree runs is not known for sure */
	EXIT_MISSINGLIB = 6, /* a library the command needs is not installed (CKPT_EMISSINGLIB) */
};

/* Flags given before the subcommand (and some repeated after it). */
struct cli {
	const char *prog;    /* "ckpt" */
	const char *cmd;     /* the subcommand's name */
	const char *criu;    /* --criu PATH */
	const char *service; /* --service SOCKET */
	long timeout_s;	     /* --timeout SECONDS, -1 = library default */
	bool json;
	bool quiet;
	int verbose;
};

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
	const struct option *opts; /* its flags (getopt's table), NULL for none */
};

/* Subcommands: cli/cmd-*.c. argv[0] is the subcommand's name. */
int cmd_checkpoint(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_features(struct cli *cli, int argc, char **argv);
int cmd_page_server(struct cli *cli, int argc, char **argv);
int cmd_inspect(struct cli *cli, int argc, char **argv);
int cmd_migrate(struct cli *cli, int argc, char **argv);
int cmd_receive(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
/* Each command's flags, the one table getopt, `ckpt __flags`, completion and "did you mean" read. */
extern const struct option cli_checkpoint_options[], cli_restore_options[], cli_check_options[],
	cli_version_options[], cli_features_options[], cli_page_server_options[],
	cli_inspect_options[], cli_migrate_options[], cli_receive_options[], cli_token_options[];

/* Long option values shared by the subcommands (beyond any short option char). */
enum {
	OPT_JSON = 0x1000,
	OPT_HELP_DUMMY,
	OPT_LOG_LEVEL = 0x1100,
	OPT_UNPRIVILEGED,
	OPT_TCP_CLOSE,
	OPT_TCP_ESTABLISHED,
	OPT_EXT_UNIX_SK,
	OPT_SHELL_JOB,
	OPT_FILE_LOCKS,
	OPT_CGROUPS_MODE,
	OPT_EMPTY_NS,
	OPT_NETWORK_LOCK,
	OPT_FOLLOW_SYMLINKS, /* checkpoint and restore only */
	OPT_MIG_TOKEN_FILE = 0x1200,
	OPT_MIG_TLS_CACERT,
	OPT_MIG_TLS_CERT,
	OPT_MIG_TLS_KEY,
	OPT_MIG_TLS_CACRL,
	OPT_MIG_TLS_NO_CN_VERIFY,
	OPT_MIG_PAGE_PORT,
	OPT_MIG_CHANNEL_TIMEOUT,
	OPT_MIG_TLS_PEER,
};

/* The options every subcommand accepts too: --json, -q, -v, -h/--help. */
#define CLI_COMMON_LONGOPTS                                                           \
	{ "json", no_argument, NULL, OPT_JSON }, { "quiet", no_argument, NULL, 'q' }, \
		{ "verbose", no_argument, NULL, 'v' },                                \
	{                                                                             \
		"help", no_argument, NULL, 'h'                                        \
	}
#define CLI_COMMON_SHORTOPTS ":qvh"

/*
 * Handle a common option in a subcommand's getopt loop: returns 1 if c was
 * one (handled), 0 if not. '?' (unknown flag) is not handled here.
 */
int cli_common_opt(struct cli *cli, int c);

/* CRIU's flags that checkpoint, restore, migrate and receive all take. */
#define CLI_CRIU_LONGOPTS                                                             \
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },                      \
		{ "unprivileged", no_argument, NULL, OPT_UNPRIVILEGED },              \
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },                    \
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },        \
		{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },                \
		{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },                    \
		{ "file-locks", no_argument, NULL, OPT_FILE_LOCKS },                  \
		{ "manage-cgroups-mode", required_argument, NULL, OPT_CGROUPS_MODE }, \
		{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },                \
	{                                                                             \
		"network-lock", required_argument, NULL, OPT_NETWORK_LOCK             \
	}
#define CLI_CRIU_HELP                                                                                 \
	"  --log-level N               CRIU's log level 0..4 (default 2; 4 keeps CRIU's whole log)\n" \
	"  --unprivileged              run CRIU without root (CAP_CHECKPOINT_RESTORE)\n"              \
	"  --tcp-close                 established TCP connections are restored closed\n"
/* What CLI_CRIU_LONGOPTS leave for the subcommand to look at. */
struct cli_criu_flags {
	uint32_t ns_mask; /* the --empty-ns given so far */
	bool shell_job;
	/* the flags a restore needs as the dump had them (cli/recorded.c), as given */
	struct {
		int c;
		const char *arg;
	} given[16];
	size_t n_given;
};

/*
 * The restore-relevant flags a checkpoint was made with, recorded beside its
 * images in CLI_RECORDED_FILE (a file CRIU ignores; archives carry it in
 * checkpoint/): --tcp-established, --shell-job, --file-locks, --ext-unix-sk,
 * --tcp-close, --network-lock and --empty-ns.
 */
#define CLI_RECORDED_FILE "ckpt-flags"
/* Write f's restore-relevant flags into images_dir (after a dump). 0, or -errno. */
int cli_recorded_write(const char *images_dir, const struct cli_criu_flags *f);
/*
 * Before a restore from dirfd (an images dir): apply each recorded flag that f
 * was not given (set into o and f), and say which on stderr unless quiet. The
 * applied flags, as text, into applied (size bytes; "" for none). 0, or an
 * exit code (reported).
 */
int cli_recorded_apply(struct cli *cli, int dirfd, ckpt_opts *o, struct cli_criu_flags *f,
		       char *applied, size_t size);
/* The recorded flags of dirfd, one line, into buf ("" for none); false when there is no record. */
bool cli_recorded_read(int dirfd, char *buf, size_t size);
/*
 * Handle a common option (cli_common_opt) or one of CLI_CRIU_LONGOPTS: 1 if c
 * was one and was applied, 0 if c is neither, or the exit code of a usage
 * error (reported) as a negative number.
 */
int cli_criu_opt(struct cli *cli, ckpt_opts *o, struct cli_criu_flags *f, int c, const char *arg);

/* Report getopt_long's '?' or ':' as a usage error; returns EXIT_USAGE. */
int cli_getopt_error(struct cli *cli, int c, char **argv, const struct option *opts);
/* Start a subcommand's getopt_long parsing afresh. */
void cli_getopt_reset(void);

/* main.c: a client configured from the global flags; exits on failure. */
int cli_client(struct cli *cli, ckpt_client **ret);

/* ---- output.c ---- */

/* "ckpt CMD: " + message, on stderr; returns EXIT_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "ckpt CMD: " + message, on stderr (no exit-code mapping); returns code. */
int cli_fail(struct cli *cli, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A setter refused flag's value: exit 2 naming the flag and value. */
int cli_bad_value(struct cli *cli, const char *flag, const char *value, const ckpt_err *err);
/*
 * Report a failed library call: the message, CRIU's error lines indented, the
 * log's path (log_path overrides err->log_path when not NULL); with --json,
 * also a {"error": ...} object on stdout. Returns the exit code for it.
 */
int cli_report(struct cli *cli, const ckpt_err *err, const char *log_path);
/* errno's text; thread-safe for one call at a time per thread (a per-thread buffer). */
const char *cli_strerror(int errnum);
/* A library text (hint or message) in ckpt's own words into buf: option keys and the like as flags. */
int cli_hint(const char *hint, char *buf, size_t size);
/*
 * The preflight of a dump of pid with o (ckpt_preflight_dump): each finding
 * printed with its hint in the CLI's words, a summary line, and with json and
 * --json the findings on stdout. The number of findings into *ret_n; 0, or an
 * exit code (reported) when the preflight itself failed.
 */
int cli_preflight(struct cli *cli, ckpt_client *client, const ckpt_opts *o, pid_t pid, bool json,
		  size_t *ret_n);
/* The flag that sets option key, or NULL where ckpt has none (key 0 included). */
const char *cli_flag_of(ckpt_opt key);
/* Exit code for a CKPT_E* code. */
int cli_exit_code(int code);
/* Progress line on stderr unless -q. */
void cli_progress(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a JSON document (a json_object *, consumed) on stdout, pretty. */
void cli_print_json(void *jobj);
/* A json-c string of s (n bytes), made valid UTF-8 (U+FFFD for bad bytes); JSON null for NULL. */
void *cli_json_strn(const char *s, size_t n);
void *cli_json_str(const char *s);
/* Seconds as a JSON number to the microsecond (0.074582, not 0.074581644000000002). */
void *cli_json_seconds(double s);
/* Human size: "1.2 MiB" into buf. */
const char *cli_human_bytes(uint64_t n, char *buf, size_t size);
/* Elapsed seconds since a CLOCK_MONOTONIC start. */
double cli_elapsed(const struct timespec *start);

/* ---- flags.c: flag values shared by checkpoint and restore ---- */

/* Parse a positive pid; false if malformed. */
bool cli_parse_pid(const char *s, pid_t *ret);
/* Parse a non-negative int with an upper bound; false if malformed. */
bool cli_parse_uint(const char *s, unsigned long max, unsigned long *ret);
/* Each applies one flag's value to o, or reports a usage error (returns EXIT_USAGE). */
int cli_set_cgroup_mode(struct cli *cli, ckpt_opts *o, const char *value);
int cli_add_empty_ns(struct cli *cli, ckpt_opts *o, uint32_t *mask, const char *value);
int cli_set_network_lock(struct cli *cli, ckpt_opts *o, const char *value);
int cli_set_bool(struct cli *cli, ckpt_opts *o, ckpt_opt key, const char *flag);
/* --work-path: create it (0700) and set it; reports a failure (returns its exit code). */
int cli_set_work_dir(struct cli *cli, ckpt_opts *o, const char *work_path);
/* Create a directory and missing parents (mode for each); 0 or -errno. */
int cli_mkdir_p(const char *path, mode_t mode);

/* ---- migrate-common.c: what ckpt migrate and ckpt receive share ---- */

/* What migrate and receive take besides their own flags: these, CRIU's and the common ones. */
#define CLI_MIG_LONGOPTS                                                                      \
	{ "token-file", required_argument, NULL, OPT_MIG_TOKEN_FILE },                        \
		{ "tls-cacert", required_argument, NULL, OPT_MIG_TLS_CACERT },                \
		{ "tls-cert", required_argument, NULL, OPT_MIG_TLS_CERT },                    \
		{ "tls-key", required_argument, NULL, OPT_MIG_TLS_KEY },                      \
		{ "tls-cacrl", required_argument, NULL, OPT_MIG_TLS_CACRL },                  \
		{ "tls-no-cn-verify", no_argument, NULL, OPT_MIG_TLS_NO_CN_VERIFY },          \
		{ "page-port", required_argument, NULL, OPT_MIG_PAGE_PORT },                  \
		{ "channel-timeout", required_argument, NULL, OPT_MIG_CHANNEL_TIMEOUT },      \
		{ "tls-peer", required_argument, NULL, OPT_MIG_TLS_PEER }, CLI_CRIU_LONGOPTS, \
		CLI_COMMON_LONGOPTS
#define CLI_MIG_AUTH_HELP                                                                           \
	"Security: every byte between the hosts (control, images, memory pages) is encrypted\n"     \
	"and authenticated end to end by ckpt's TLS session; a peer that is not the one named\n"    \
	"is refused before anything is written. docs/security.md has the threat model.\n"           \
	"Authentication (one is required; both may be given):\n"                                    \
	"  --token-file FILE           a shared secret on both hosts (make one with `ckpt token\n"  \
	"                              new FILE`): at least 32 random bytes, mode 0600, yours or\n" \
	"                              root's, in a directory only you can write; read once. The\n" \
	"                              session is TLS 1.3 keyed by it; it never crosses the wire\n" \
	"  --tls-cacert FILE           mutual TLS: the CA both certificates are signed by (PEM)\n"  \
	"  --tls-cert FILE             this host's certificate (PEM)\n"                             \
	"  --tls-key FILE              its key (PEM)\n"                                             \
	"  --tls-cacrl FILE            revoked certificates (PEM)\n"                                \
	"  --tls-peer NAME             a name the peer's certificate must carry (SAN DNS name or\n" \
	"                              address, or its CN; repeatable): required by receive; the\n" \
	"                              source expects HOST of --to unless given. With a token\n"    \
	"                              too, the token is proven inside the TLS session\n"           \
	"  --page-port, --tls-no-cn-verify  gone, refused naming why: one port carries every\n"     \
	"                              stream, and peers are named with --tls-peer\n"

struct cli_mig_progress {
	struct cli *cli;
	struct timespec start;
};
/* What ckpt migrate and ckpt receive both hold while they run. */
struct cli_mig {
	ckpt_opts *o;
	ckpt_migrate_opts *m;
	ckpt_migrate_result *mg;
	ckpt_client *client;
	struct cli_criu_flags criu;
	const char *cacert, *cert, *key; /* --tls-cacert, --tls-cert, --tls-key */
	bool token;			 /* --token-file given */
	unsigned peers;			 /* --tls-peer given */
	struct cli_mig_progress prog;
};
/* Allocate j's objects: 0, or the exit code of the failure (reported). */
int cli_mig_init(struct cli *cli, struct cli_mig *j);
void cli_mig_fini(struct cli_mig *j);
/*
 * A common option, one of CLI_CRIU_LONGOPTS or one of CLI_MIG_LONGOPTS: 1
 * applied, 0 none of them, or -(exit code) of a usage error (reported).
 */
int cli_mig_opt(struct cli *cli, struct cli_mig *j, int c, const char *arg);
/*
 * getopt_long over argv with the subcommand's longopts (which end in
 * CLI_MIG_LONGOPTS), applying the shared options: the next option that is the
 * subcommand's own ('h', '?' and ':' included), 0 at the end, or -(exit code)
 * of a usage error (reported).
 */
int cli_mig_getopt(struct cli *cli, struct cli_mig *j, int argc, char **argv,
		   const struct option *longopts);
/* The TLS files into j->m; a usage error when neither a token nor TLS was given. 0 or the exit code. */
int cli_mig_finish_auth(struct cli *cli, struct cli_mig *j);
/* The progress callback: one line per event on stderr (unless -q). */
void cli_mig_progress(void *userdata, ckpt_migrate_event ev, const ckpt_migrate_result *mg);
/* The summary on stdout: `what` then the figures; with --json, the record as JSON instead. */
void cli_mig_summary(struct cli *cli, const ckpt_migrate_result *mg, const char *what);
/*
 * A failed migration: the summary headed `what` (unless NULL or --json), the
 * error reported; the exit code (5 when the outcome is unknown).
 */
int cli_mig_failed(struct cli *cli, const struct cli_mig *j, const ckpt_err *err, const char *what);

/* ---- fsutil.c ---- */

/* The sum of the sizes of the regular files in a directory. */
uint64_t cli_dir_bytes(const char *path);
/*
 * ckpt's own pid or one of its ancestors (a shell's $$): a tree that would hold
 * ckpt and its criu. 0, or EXIT_FAILED, reported with the reason and the fix.
 */
int cli_refuse_own_tree(struct cli *cli, pid_t pid);
/* Remove the directory tree at path that ckpt made (no symlink followed): 0, or -1 with errno. */
int cli_rm_tree(const char *path);
/* --pid-file: write pid to path (replaced atomically, mode 0644); a failure is a warning on stderr. */
void cli_write_pid_file(struct cli *cli, const char *path, pid_t pid);

#endif
