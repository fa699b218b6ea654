/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_opts: the options of one request, kept as the CriuOpts message that
 * will be sent. Every value is validated when it is set.
 *
 * The long tail of CRIU's options goes through enum-keyed typed setters; a
 * key maps, through the table below, to a field of CriuOpts found by name in
 * the protobuf-c descriptor, so adding an option is one table line.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include "opts.h"
#include "diagnose/diagnose.h"

enum opt_type { T_BOOL, T_INT, T_STR, T_STRV, T_SPECIAL };

struct opt_def {
	ckpt_opt key;
	enum opt_type type;
	const char *field; /* CriuOpts field name; NULL for libckpt-only options */
	const char *name;  /* CRIU's command line name, for messages */
	int64_t min, max;  /* T_INT range */
};

#define B(k, f, n)                    \
	{                             \
		k, T_BOOL, f, n, 0, 1 \
	}
#define I(k, f, n, lo, hi)             \
	{                              \
		k, T_INT, f, n, lo, hi \
	}
#define S(k, f, n)                   \
	{                            \
		k, T_STR, f, n, 0, 0 \
	}
#define V(k, f, n)                    \
	{                             \
		k, T_STRV, f, n, 0, 0 \
	}
#define X(k, f, n)                       \
	{                                \
		k, T_SPECIAL, f, n, 0, 0 \
	}

static const struct opt_def opt_defs[] = {
	B(CKPT_OPT_LEAVE_RUNNING, "leave_running", "leave-running"),
	B(CKPT_OPT_LEAVE_STOPPED, "leave_stopped", "leave-stopped"),
	B(CKPT_OPT_EXT_UNIX_SK, "ext_unix_sk", "ext-unix-sk"),
	B(CKPT_OPT_TCP_ESTABLISHED, "tcp_established", "tcp-established"),
	B(CKPT_OPT_TCP_SKIP_IN_FLIGHT, "tcp_skip_in_flight", "tcp-skip-in-flight"),
	B(CKPT_OPT_TCP_CLOSE, "tcp_close", "tcp-close"),
	B(CKPT_OPT_EVASIVE_DEVICES, "evasive_devices", "evasive-devices"),
	B(CKPT_OPT_SHELL_JOB, "shell_job", "shell-job"),
	B(CKPT_OPT_FILE_LOCKS, "file_locks", "file-locks"),
	B(CKPT_OPT_TRACK_MEM, "track_mem", "track-mem"),
	B(CKPT_OPT_AUTO_DEDUP, "auto_dedup", "auto-dedup"),
	B(CKPT_OPT_LINK_REMAP, "link_remap", "link-remap"),
	B(CKPT_OPT_FORCE_IRMAP, "force_irmap", "force-irmap"),
	B(CKPT_OPT_RST_SIBLING, "rst_sibling", "restore-sibling"),
	B(CKPT_OPT_AUTO_EXT_MNT, "auto_ext_mnt", "auto-ext-mnt"),
	B(CKPT_OPT_EXT_SHARING, "ext_sharing", "ext-sharing"),
	B(CKPT_OPT_EXT_MASTERS, "ext_masters", "ext-masters"),
	B(CKPT_OPT_WEAK_SYSCTLS, "weak_sysctls", "weak-sysctls"),
	B(CKPT_OPT_LAZY_PAGES, "lazy_pages", "lazy-pages"),
	B(CKPT_OPT_ORPHAN_PTS_MASTER, "orphan_pts_master", "orphan-pts-master"),
	B(CKPT_OPT_MNTNS_COMPAT_MODE, "mntns_compat_mode", "mntns-compat-mode"),
	B(CKPT_OPT_SKIP_FILE_RWX_CHECK, "skip_file_rwx_check", "skip-file-rwx-check"),
	B(CKPT_OPT_UNPRIVILEGED, "unprivileged", "unprivileged"),
	B(CKPT_OPT_DISPLAY_STATS, "display_stats", "display-stats"),
	B(CKPT_OPT_TLS, "tls", "tls"),
	B(CKPT_OPT_TLS_NO_CN_VERIFY, "tls_no_cn_verify", "tls-no-cn-verify"),
	B(CKPT_OPT_FOLLOW_SYMLINKS, NULL, "follow-symlinks"),
	B(CKPT_OPT_MANAGE_CGROUPS, "manage_cgroups", "manage-cgroups"),
	B(CKPT_OPT_OVERWRITE, NULL, "overwrite"),
	B(CKPT_OPT_SELF_DUMP, NULL, "self-dump"),
	B(CKPT_OPT_DEFER_CHECKS, NULL, "defer-checks"),
	B(CKPT_OPT_KEEP_MODES, NULL, "keep-modes"),

	I(CKPT_OPT_LOG_LEVEL, "log_level", "log-level", 0, 4),
	I(CKPT_OPT_GHOST_LIMIT, "ghost_limit", "ghost-limit", 0, UINT32_MAX),
	I(CKPT_OPT_TIMEOUT, "timeout", "timeout", 0, UINT32_MAX),
	I(CKPT_OPT_CPU_CAP, "cpu_cap", "cpu-cap", 0, UINT32_MAX),
	I(CKPT_OPT_STATUS_FD, "status_fd", "status-fd", 0, INT32_MAX),
	I(CKPT_OPT_EMPTY_NS, "empty_ns", "empty-ns", 0, UINT32_MAX),
	I(CKPT_OPT_NETWORK_LOCK, "network_lock", "network-lock", 1, 3),
	I(CKPT_OPT_PRE_DUMP_MODE, "pre_dump_mode", "pre-dump-mode", 1, 2),
	I(CKPT_OPT_CGROUP_MODE, "manage_cgroups_mode", "manage-cgroups-mode", 0, 6),
	I(CKPT_OPT_PIDFD_STORE_SK, "pidfd_store_sk", "pidfd-store", 0, INT32_MAX),

	S(CKPT_OPT_LOG_FILE, "log_file", "log-file"),
	S(CKPT_OPT_ROOT, "root", "root"),
	S(CKPT_OPT_CGROUP_PROPS, "cgroup_props", "cgroup-props"),
	S(CKPT_OPT_CGROUP_PROPS_FILE, "cgroup_props_file", "cgroup-props-file"),
	S(CKPT_OPT_FREEZE_CGROUP, "freeze_cgroup", "freeze-cgroup"),
	S(CKPT_OPT_CGROUP_YARD, "cgroup_yard", "cgroup-yard"),
	S(CKPT_OPT_LSM_PROFILE, "lsm_profile", "lsm-profile"),
	S(CKPT_OPT_LSM_MOUNT_CONTEXT, "lsm_mount_context", "lsm-mount-context"),
	S(CKPT_OPT_CONFIG_FILE, "config_file", "config-file"),
	S(CKPT_OPT_TLS_CACERT, "tls_cacert", "tls-cacert"),
	S(CKPT_OPT_TLS_CACRL, "tls_cacrl", "tls-cacrl"),
	S(CKPT_OPT_TLS_CERT, "tls_cert", "tls-cert"),
	S(CKPT_OPT_TLS_KEY, "tls_key", "tls-key"),

	V(CKPT_OPT_EXTERNAL, "external", "external"),
	V(CKPT_OPT_SKIP_MNT, "skip_mnt", "skip-mnt"),
	V(CKPT_OPT_ENABLE_FS, "enable_fs", "enable-fs"),
	V(CKPT_OPT_IRMAP_SCAN_PATH, "irmap_scan_paths", "irmap-scan-path"),
	V(CKPT_OPT_CGROUP_DUMP_CONTROLLER, "cgroup_dump_controller", "cgroup-dump-controller"),
	V(CKPT_OPT_EXEC_CMD, "exec_cmd", "exec-cmd"),

	X(CKPT_OPT_EXT_MOUNT, "ext_mnt", "ext-mount-map"),
	X(CKPT_OPT_VETH, "veths", "veth-pair"),
	X(CKPT_OPT_INHERIT_FD, "inherit_fd", "inherit-fd"),
	X(CKPT_OPT_JOIN_NS, "join_ns", "join-ns"),
	X(CKPT_OPT_CGROUP_ROOT, "cg_root", "cgroup-root"),
	X(CKPT_OPT_UNIX_SK_INO, "unix_sk_ino", "ext-unix-sk inode"),
	X(CKPT_OPT_PAGE_SERVER, "ps", "page-server"),
	X(CKPT_OPT_PARENT_IMAGES, "parent_img", "prev-images-dir"),
	X(CKPT_OPT_PID, "pid", "tree"),
	X(CKPT_OPT_IMAGES_DIR, NULL, "images-dir"),
	X(CKPT_OPT_WORK_DIR, NULL, "work-dir"),
};

static const struct opt_def *opt_find(ckpt_opt key)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
		if (opt_defs[i].key == key)
			return &opt_defs[i];
	return NULL;
}

const char *ckpt_opt_name(ckpt_opt key)
{
	const struct opt_def *d = opt_find(key);

	return d ? d->name : NULL;
}

void opts_to_diag(const ckpt_opts *o, struct diag_opts *d)
{
	int64_t v;

	memset(d, 0, sizeof(*d));
	if (!o)
		return;
	for (int k = 1; k < 64; k++)
		if (ckpt_opts_get_int(o, (ckpt_opt)k, &v, NULL) == 1 && v)
			d->bools |= 1ull << k;
	if (ckpt_opts_get_int(o, CKPT_OPT_NETWORK_LOCK, &v, NULL) == 1)
		d->network_lock = (int)v;
	if (ckpt_opts_get_int(o, CKPT_OPT_PID, &v, NULL) == 1)
		d->pid = (pid_t)v;
}

/* Hints name options by key; the caller's spelling, else "--" and CRIU's name (ckpt's flag). */
struct spelling {
	ckpt_opt_spell_fn caller_spell;
	void *caller_data;
	char flag[64];
};

static const char *spell_key(void *userdata, int key)
{
	struct spelling *sp = userdata;
	const char *s = sp->caller_spell ? sp->caller_spell(sp->caller_data, (ckpt_opt)key) : NULL;
	const char *name = ckpt_opt_name((ckpt_opt)key);
	const char *space;
	int w;

	if (s || !name)
		return s;
	space = strchr(name, ' ');
	if (!space) {
		snprintf(sp->flag, sizeof(sp->flag), "--%s", name);
		return sp->flag;
	}
	/* "ext-unix-sk inode": a flag with an argument, --ext-unix-sk=INODE */
	w = snprintf(sp->flag, sizeof(sp->flag), "--%.*s=", (int)(space - name), name);
	for (const char *q = space + 1; *q && w + 1 < (int)sizeof(sp->flag); q++)
		sp->flag[w++] = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
	sp->flag[w] = '\0';
	return sp->flag;
}

int ckpt_hint_rewrite(const char *hint, ckpt_opt_spell_fn spell, void *userdata, char *buf,
		      size_t size, ckpt_err *err)
{
	struct spelling sp = { .caller_spell = spell, .caller_data = userdata };

	return diag_hint_rewrite(hint, spell_key, &sp, buf, size, err);
}

static const ProtobufCFieldDescriptor *field_of(const struct opt_def *d)
{
	return d->field ? protobuf_c_message_descriptor_get_field_by_name(&criu_opts__descriptor,
									  d->field) :
			  NULL;
}

#define FIELD(pb, off, type) ((type *)((char *)(pb) + (off)))

static int lookup(const ckpt_opts *o, ckpt_opt key, enum opt_type want,
		  const struct opt_def **ret_d, const ProtobufCFieldDescriptor **ret_f,
		  ckpt_err *err)
{
	static const char *const tn[] = { "bool", "int", "string", "repeated string", "its own" };
	const struct opt_def *d = opt_find(key);
	const ProtobufCFieldDescriptor *f = NULL;

	/*
	 * Every failure returns CKPT_EINVAL itself, not err_set's value: gcc -fanalyzer cannot
	 * see that err_set returns its code, and would take a failure for a success here.
	 */
	if (!o)
		err_set(err, CKPT_EINVAL, "options: NULL ckpt_opts");
	else if (!d)
		err_set(err, CKPT_EINVAL, "options: unknown option key %d", (int)key);
	else if (d->type != want)
		err_set(err, CKPT_EINVAL, "options: '%s' is not a %s option (use the %s setter)",
			d->name, tn[want], tn[d->type]);
	/* Every option of a typed setter is a CriuOpts field, but libckpt's own switches (handled apart). */
	else if (!(f = field_of(d)) && !(want == T_BOOL && !d->field))
		err_set(err, CKPT_EINVAL, "options: '%s' has no CRIU field", d->name);
	else {
		*ret_d = d;
		*ret_f = f;
		return 0;
	}
	return CKPT_EINVAL;
}

CriuOpts *opts_pb_new(void)
{
	CriuOpts *pb = malloc(sizeof(*pb));

	if (pb)
		criu_opts__init(pb);
	return pb;
}

ckpt_opts *ckpt_opts_new(void)
{
	ckpt_opts *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->pb = opts_pb_new();
	if (!o->pb) {
		free(o);
		return NULL;
	}
	o->images.fd = -1;
	o->work.fd = -1;
	return o;
}

void ckpt_opts_free(ckpt_opts *o)
{
	if (!o)
		return;
	if (o->pb)
		criu_opts__free_unpacked(o->pb, NULL);
	free(o->images.path);
	free(o->work.path);
	free(o);
}

/* ---- validation helpers ---- */

bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_str(const struct ckpt_opts *o, const struct opt_def *d, const char *v,
		     ckpt_err *err)
{
	if (!v)
		return err_set(err, CKPT_EINVAL, "%s: NULL value", d->name);
	if (o->defer_checks)
		return 0; /* stored as given; CRIU judges it at request time */
	if (!*v)
		return err_set(err, CKPT_EINVAL, "%s: empty value", d->name);
	if (strlen(v) > PATH_MAX)
		return err_set(err, CKPT_EINVAL, "%s: value longer than %d bytes", d->name,
			       PATH_MAX);
	if (has_control_chars(v))
		return err_set(err, CKPT_EINVAL, "%s: value contains control characters", d->name);
	switch (d->key) {
	case CKPT_OPT_LOG_FILE:
		if (strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, ".."))
			return err_set(
				err, CKPT_EINVAL,
				"log-file: '%s' is not a plain file name (CRIU writes it in the work dir)",
				v);
		break;
	case CKPT_OPT_CONFIG_FILE:     /* CRIU ignores a missing one (crun always names one) */
	case CKPT_OPT_IRMAP_SCAN_PATH: /* seen from the target's mount namespace */
		if (v[0] != '/')
			return err_set(err, CKPT_EINVAL, "%s: '%s' is not an absolute path",
				       d->name, v);
		break;
	case CKPT_OPT_ROOT:
	case CKPT_OPT_CGROUP_PROPS_FILE:
	case CKPT_OPT_TLS_CACERT:
	case CKPT_OPT_TLS_CACRL:
	case CKPT_OPT_TLS_CERT:
	case CKPT_OPT_TLS_KEY: {
		struct stat st;
		bool want_dir = d->key == CKPT_OPT_ROOT;

		if (v[0] != '/')
			return err_set(err, CKPT_EINVAL, "%s: '%s' is not an absolute path",
				       d->name, v);
		/* paths CRIU must find: checked now, so the error names them before anything is sent */
		if (stat(v, &st) < 0)
			return err_sys(err, CKPT_EINVAL, errno, "%s: '%s'", d->name, v);
		if (want_dir && !S_ISDIR(st.st_mode))
			return err_set(err, CKPT_EINVAL, "%s: '%s' is not a directory", d->name, v);
		if (!want_dir && !S_ISREG(st.st_mode))
			return err_set(err, CKPT_EINVAL, "%s: '%s' is not a regular file", d->name,
				       v);
		break;
	}
	default: break;
	}
	return 0;
}

int opts_check_fd(const char *what, int64_t fd, ckpt_err *err)
{
	if (fd < 0 || fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0)
		return err_set(err, CKPT_EINVAL, "%s: %lld is not an open file descriptor", what,
			       (long long)fd);
	return 0;
}

/* The libckpt-only switches (options with no CriuOpts field): one's value, and setting it. */
static bool own_switch(const ckpt_opts *o, ckpt_opt key)
{
	switch (key) {
	case CKPT_OPT_FOLLOW_SYMLINKS: return o->follow_symlinks;
	case CKPT_OPT_OVERWRITE: return o->overwrite;
	case CKPT_OPT_SELF_DUMP: return o->self_dump;
	case CKPT_OPT_DEFER_CHECKS: return o->defer_checks;
	case CKPT_OPT_KEEP_MODES: return o->keep_modes;
	default: return false; /* not a libckpt switch */
	}
}

static void own_switch_set(ckpt_opts *o, ckpt_opt key, bool value)
{
	switch (key) {
	case CKPT_OPT_FOLLOW_SYMLINKS: o->follow_symlinks = value; break;
	case CKPT_OPT_OVERWRITE: o->overwrite = value; break;
	case CKPT_OPT_SELF_DUMP: o->self_dump = value; break;
	case CKPT_OPT_DEFER_CHECKS: o->defer_checks = value; break;
	case CKPT_OPT_KEEP_MODES: o->keep_modes = value; break;
	default: break; /* not a libckpt switch */
	}
}

/* ---- typed setters ---- */

int ckpt_opts_set_bool(ckpt_opts *o, ckpt_opt key, bool value, ckpt_err *err)
{
	const struct opt_def *d;
	const ProtobufCFieldDescriptor *f;
	int r = lookup(o, key, T_BOOL, &d, &f, err);

	if (r < 0)
		return r;
	if (value) {
		bool clash = false;
		const char *other = NULL;

		if (key == CKPT_OPT_LEAVE_RUNNING && o->pb->leave_stopped)
			clash = true, other = "leave-stopped";
		else if (key == CKPT_OPT_LEAVE_STOPPED && o->pb->leave_running)
			clash = true, other = "leave-running";
		else if (key == CKPT_OPT_TCP_CLOSE && o->pb->tcp_established)
			clash = true, other = "tcp-established";
		else if (key == CKPT_OPT_TCP_ESTABLISHED && o->pb->tcp_close)
			clash = true, other = "tcp-close";
		if (clash)
			return err_set(err, CKPT_EINVAL, "%s: cannot be used together with %s",
				       d->name, other);
	}
	if (!d->field) {
		own_switch_set(o, key, value);
		return 0;
	}
	if (!f)
		return err_set(err, CKPT_EINVAL, "options: '%s' has no CRIU field", d->name);
	if (key == CKPT_OPT_RST_SIBLING)
		o->rst_sibling_set = true;
	*FIELD(o->pb, f->quantifier_offset, protobuf_c_boolean) = 1;
	*FIELD(o->pb, f->offset, protobuf_c_boolean) = value;
	return 0;
}

int ckpt_opts_set_int(ckpt_opts *o, ckpt_opt key, int64_t value, ckpt_err *err)
{
	const struct opt_def *d;
	const ProtobufCFieldDescriptor *f;
	int r = lookup(o, key, T_INT, &d, &f, err);

	if (r < 0)
		return r;
	if (value < d->min || value > d->max)
		return err_set(err, CKPT_EINVAL, "%s: %lld is out of range (expected %lld..%lld)",
			       d->name, (long long)value, (long long)d->min, (long long)d->max);
	switch (key) {
	case CKPT_OPT_STATUS_FD:
	case CKPT_OPT_PIDFD_STORE_SK:
		r = opts_check_fd(d->name, value, err);
		if (r < 0)
			return r;
		break;
	case CKPT_OPT_EMPTY_NS:
		if (value & ~(int64_t)CLONE_NEWNET)
			return err_set(
				err, CKPT_EINVAL,
				"empty-ns: mask 0x%llx holds namespaces CRIU cannot leave empty "
				"(only network is accepted)",
				(unsigned long long)value);
		break;
	default: break;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_UINT32: *FIELD(o->pb, f->offset, uint32_t) = (uint32_t)value; break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM: *FIELD(o->pb, f->offset, int32_t) = (int32_t)value; break;
	default: /* the key table and CRIU's schema disagree: a bug of this library, not the caller's */
		return err_set(err, CKPT_ENOTSUP,
			       "%s: CRIU's field %s is of a type libckpt cannot set", d->name,
			       f->name);
	}
	*FIELD(o->pb, f->quantifier_offset, protobuf_c_boolean) = 1;
	return 0;
}

/* The key's definition and field, with value checked and copied into *ret_copy (the caller's). */
static int str_value(ckpt_opts *o, ckpt_opt key, enum opt_type type, const char *value,
		     const struct opt_def **ret_d, const ProtobufCFieldDescriptor **ret_f,
		     char **ret_copy, ckpt_err *err)
{
	int r = lookup(o, key, type, ret_d, ret_f, err);

	if (r < 0)
		return r;
	r = check_str(o, *ret_d, value, err);
	if (r < 0)
		return r;
	*ret_copy = strdup(value);
	if (!*ret_copy)
		return err_set(err, CKPT_ENOMEM, "%s: out of memory", (*ret_d)->name);
	return 0;
}

int ckpt_opts_set_str(ckpt_opts *o, ckpt_opt key, const char *value, ckpt_err *err)
{
	const struct opt_def *d;
	const ProtobufCFieldDescriptor *f;
	char *copy, **slot;
	int r = str_value(o, key, T_STR, value, &d, &f, &copy, err);

	if (r < 0)
		return r;
	slot = FIELD(o->pb, f->offset, char *);
	free(*slot);
	*slot = copy;
	return 0;
}

/* Grow a repeated field by one zeroed element slot; returns the slot or NULL. */
static void *rep_grow(void *pb, const ProtobufCFieldDescriptor *f, size_t elem)
{
	size_t *n = FIELD(pb, f->quantifier_offset, size_t);
	char **arr = FIELD(pb, f->offset, char *);
	char *na;

	if (*n >= 65536)
		return NULL;
	na = realloc(*arr, (*n + 1) * elem);
	if (!na)
		return NULL;
	*arr = na;
	memset(na + *n * elem, 0, elem);
	return na + (*n)++ * elem;
}

int ckpt_opts_add_str(ckpt_opts *o, ckpt_opt key, const char *value, ckpt_err *err)
{
	const struct opt_def *d;
	const ProtobufCFieldDescriptor *f;
	char *copy, **slot;
	int r = str_value(o, key, T_STRV, value, &d, &f, &copy, err);

	if (r < 0)
		return r;
	slot = rep_grow(o->pb, f, sizeof(char *));
	if (!slot) {
		free(copy);
		return err_set(err, CKPT_ENOMEM, "%s: out of memory or too many entries", d->name);
	}
	*slot = copy;
	return 0;
}

void *opts_rep_grow(CriuOpts *pb, const char *field, size_t elem)
{
	return rep_grow(
		pb, protobuf_c_message_descriptor_get_field_by_name(&criu_opts__descriptor, field),
		elem);
}

/* Free one field of pb and put it back to its default. */
static void field_clear(CriuOpts *pb, const ProtobufCFieldDescriptor *f)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = FIELD(pb, f->quantifier_offset, size_t);
		void ***arr = FIELD(pb, f->offset, void **);

		for (size_t i = 0; i < *n; i++) {
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				protobuf_c_message_free_unpacked((*arr)[i], NULL);
			else if (f->type == PROTOBUF_C_TYPE_STRING)
				free((*arr)[i]);
		}
		free(*arr);
		*arr = NULL;
		*n = 0;
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		void **m = FIELD(pb, f->offset, void *);

		if (*m)
			protobuf_c_message_free_unpacked(*m, NULL);
		*m = NULL;
	} else if (f->type == PROTOBUF_C_TYPE_STRING) {
		char **str = FIELD(pb, f->offset, char *);

		free(*str);
		*str = NULL;
	} else {
		*FIELD(pb, f->quantifier_offset, protobuf_c_boolean) = 0;
		if (f->type == PROTOBUF_C_TYPE_BOOL)
			*FIELD(pb, f->offset, protobuf_c_boolean) = 0;
		else
			*FIELD(pb, f->offset, int32_t) =
				f->default_value ? *(const int32_t *)f->default_value : 0;
	}
}

int ckpt_opts_clear(ckpt_opts *o, ckpt_opt key, ckpt_err *err)
{
	const struct opt_def *d = opt_find(key);
	const ProtobufCFieldDescriptor *f;

	if (!o)
		return err_set(err, CKPT_EINVAL, "options: NULL ckpt_opts");
	if (!d)
		return err_set(err, CKPT_EINVAL, "options: unknown option key %d", (int)key);
	if (d->type == T_BOOL && !d->field) {
		own_switch_set(o, key, false);
		return 0;
	}
	switch (key) {
	case CKPT_OPT_IMAGES_DIR:
	case CKPT_OPT_WORK_DIR: {
		struct dirspec *ds = key == CKPT_OPT_IMAGES_DIR ? &o->images : &o->work;

		free(ds->path);
		ds->path = NULL;
		ds->fd = -1;
		return 0;
	}
	case CKPT_OPT_RST_SIBLING: o->rst_sibling_set = false; break;
	default: break;
	}
	f = field_of(d);
	if (!f) /* every key without a CriuOpts field is handled above */
		return err_set(err, CKPT_EINVAL, "options: '%s' has no CRIU field", d->name);
	field_clear(o->pb, f);
	return 0;
}

bool ckpt_opts_is_set(const ckpt_opts *o, ckpt_opt key)
{
	const struct opt_def *d = opt_find(key);
	const ProtobufCFieldDescriptor *f;

	if (!o || !d)
		return false;
	if (d->type == T_BOOL && !d->field)
		return own_switch(o, key);
	if (key == CKPT_OPT_IMAGES_DIR)
		return dirspec_is_set(&o->images);
	if (key == CKPT_OPT_WORK_DIR)
		return dirspec_is_set(&o->work);
	f = field_of(d);
	if (!f)
		return false;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *FIELD(o->pb, f->quantifier_offset, size_t) > 0;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *FIELD(o->pb, f->offset, void *) != NULL;
	return *FIELD(o->pb, f->quantifier_offset, protobuf_c_boolean);
}

/* ---- clone and request encoding ---- */

static int copy_pb(const CriuOpts *src, CriuOpts **ret)
{
	size_t len = criu_opts__get_packed_size(src);
	_cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
	CriuOpts *copy;

	if (!buf)
		return CKPT_ENOMEM;
	criu_opts__pack(src, buf);
	copy = criu_opts__unpack(NULL, len, buf);
	if (!copy)
		return CKPT_ENOMEM;
	*ret = copy;
	return 0;
}

static int dirspec_copy(const struct dirspec *src, struct dirspec *dst)
{
	dst->fd = src->fd;
	dst->path = NULL;
	if (src->path) {
		dst->path = strdup(src->path);
		if (!dst->path)
			return CKPT_ENOMEM;
	}
	return 0;
}

int ckpt_opts_clone(const ckpt_opts *o, ckpt_opts **ret_copy, ckpt_err *err)
{
	ckpt_opts *n;
	int r;

	assert_return(o && ret_copy, err, "clone: NULL argument");
	n = calloc(1, sizeof(*n));
	if (!n)
		return err_set(err, CKPT_ENOMEM, "clone: out of memory");
	*n = *o;
	n->pb = NULL;
	n->images.path = n->work.path = NULL;
	r = copy_pb(o->pb, &n->pb);
	if (r == 0)
		r = dirspec_copy(&o->images, &n->images);
	if (r == 0)
		r = dirspec_copy(&o->work, &n->work);
	if (r < 0) {
		ckpt_opts_free(n);
		return err_set(err, r, "clone: out of memory");
	}
	*ret_copy = n;
	return 0;
}

CriuOpts *opts_pb_for_request(const ckpt_opts *o, int images_fd, int work_fd, ckpt_err *err)
{
	CriuOpts *pb;

	if (!o) {
		pb = opts_pb_new();
		if (!pb)
			err_set(err, CKPT_ENOMEM, "out of memory");
		return pb;
	}
	if (copy_pb(o->pb, &pb) < 0) {
		err_set(err, CKPT_ENOMEM, "out of memory encoding the options");
		return NULL;
	}
	pb->images_dir_fd = images_fd;
	if (work_fd >= 0) {
		pb->has_work_dir_fd = 1;
		pb->work_dir_fd = work_fd;
	}
	return pb;
}

/* ---- getters (0.2) ---- */

int ckpt_opts_get_int(const ckpt_opts *o, ckpt_opt key, int64_t *ret_value, ckpt_err *err)
{
	const struct opt_def *d = opt_find(key);
	const ProtobufCFieldDescriptor *f;

	if (!o || !ret_value)
		return err_set(err, CKPT_EINVAL, "options: NULL argument");
	if (!d)
		return err_set(err, CKPT_EINVAL, "options: unknown option key %d", (int)key);
	if (d->type == T_BOOL && !d->field) {
		/* libckpt's own switches */
		if (!own_switch(o, key))
			return 0;
		*ret_value = 1;
		return 1;
	}
	if (d->type != T_BOOL && d->type != T_INT && key != CKPT_OPT_PID)
		return err_set(err, CKPT_EINVAL, "options: '%s' is not a bool or int option",
			       d->name);
	f = field_of(d);
	if (!f)
		return err_set(err, CKPT_EINVAL, "options: '%s' has no CRIU field", d->name);
	if (!*FIELD(o->pb, f->quantifier_offset, protobuf_c_boolean))
		return 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*ret_value = *FIELD(o->pb, f->offset, protobuf_c_boolean) ? 1 : 0;
		break;
	case PROTOBUF_C_TYPE_UINT32: *ret_value = *FIELD(o->pb, f->offset, uint32_t); break;
	default: *ret_value = *FIELD(o->pb, f->offset, int32_t); break;
	}
	return 1;
}
