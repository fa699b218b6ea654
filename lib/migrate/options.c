/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migration: the options object, the record of a migration (figures, JSON), a private directory's end. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/jsonw.h"
#include "dl-gnutls.h"
#include "migrate.h"
#include "rpc/opts.h"

/* ---- options ---- */

ckpt_migrate_opts *ckpt_migrate_opts_new(void)
{
	ckpt_migrate_opts *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->timeout_ms = MIG_DEFAULT_TIMEOUT_MS;
	m->resolve_timeout_ms = MIG_DEFAULT_RESOLVE_MS;
	return m;
}

void ckpt_migrate_opts_free(ckpt_migrate_opts *m)
{
	if (!m)
		return;
	chan_token_free(m->token);
	for (size_t i = 0; i < m->n_peers; i++)
		free(m->peers[i]);
	free(m->tls_cacert);
	free(m->tls_cert);
	free(m->tls_key);
	free(m->tls_cacrl);
	free(m->staging_dir);
	free(m);
}

/* A file the library will read: absolute path (made so now), a regular file we can read. */
static int file_arg(const char *what, const char *path, char **ret, ckpt_err *err)
{
	struct stat st;
	char *abs = NULL;
	int r;

	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "%s: empty path (expected a file)", what);
	if (has_control_chars(path))
		return err_set(err, CKPT_EINVAL, "%s: the path holds control characters", what);
	r = path_absolute_errno(path, &abs);
	if (r < 0)
		return err_from_errno(err, r, "%s: cannot make '%s' absolute", what, path);
	if (stat(abs, &st) < 0) {
		r = err_sys(err, CKPT_EINVAL, errno, "%s '%s'", what, path);
		free(abs);
		return r;
	}
	if (!S_ISREG(st.st_mode) || access(abs, R_OK) < 0) {
		free(abs);
		return err_set(err, CKPT_EINVAL, "%s '%s' is not a readable regular file", what,
			       path);
	}
	*ret = abs;
	return 0;
}

int ckpt_migrate_opts_set_token_file(ckpt_migrate_opts *m, const char *path, ckpt_err *err)
{
	struct chan_token *t = NULL;
	int r;

	assert_return(m, err, "migrate: the options are NULL");
	if (path) {
		r = dl_need_gnutls(err); /* the token is kept and wiped with GnuTLS's help */
		if (r < 0)
			return r;
		if (!*path || has_control_chars(path))
			return err_set(err, CKPT_EINVAL, "token file '%s': not a usable path",
				       path);
		r = chan_token_load(path, &t, err);
		if (r < 0)
			return r;
	}
	chan_token_free(m->token);
	m->token = t;
	return 0;
}

int ckpt_migrate_opts_add_tls_peer(ckpt_migrate_opts *m, const char *name, ckpt_err *err)
{
	char *copy;

	assert_return(m, err, "migrate: the options are NULL");
	if (!name) {
		for (size_t i = 0; i < m->n_peers; i++)
			free(m->peers[i]);
		m->n_peers = 0;
		return 0;
	}
	if (!*name || strlen(name) > CHAN_PEER_NAME_MAX || has_control_chars(name) ||
	    strpbrk(name, " \t,*"))
		return err_set(err, CKPT_EINVAL,
			       "TLS peer '%s': expected a DNS name, an address or a certificate's "
			       "common name (no spaces, commas or wildcards, at most %d bytes)",
			       name, CHAN_PEER_NAME_MAX);
	if (m->n_peers >= CHAN_PEERS_MAX)
		return err_set(err, CKPT_EINVAL, "TLS peer '%s': at most %d peers may be named",
			       name, CHAN_PEERS_MAX);
	copy = strdup(name);
	if (!copy)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	m->peers[m->n_peers++] = copy;
	return 0;
}

int ckpt_migrate_opts_set_tls(ckpt_migrate_opts *m, const char *cacert, const char *cert,
			      const char *key, ckpt_err *err)
{
	char *a = NULL, *b = NULL, *c = NULL;
	int r;

	assert_return(m, err, "migrate: the options are NULL");
	if (!cacert && !cert && !key) {
		free(m->tls_cacert);
		free(m->tls_cert);
		free(m->tls_key);
		m->tls_cacert = m->tls_cert = m->tls_key = NULL;
		return 0;
	}
	if (!cacert || !cert || !key)
		return err_set(
			err, CKPT_EINVAL,
			"mutual TLS needs all three files: the CA certificate, this side's certificate and its "
			"key (%s is missing)",
			!cacert ? "the CA certificate" :
			!cert	? "the certificate" :
				  "the key");
	r = dl_need_gnutls(err); /* said now, rather than when a migration starts */
	if (r < 0)
		return r;
	r = file_arg("TLS CA certificate", cacert, &a, err);
	if (r == 0)
		r = file_arg("TLS certificate", cert, &b, err);
	if (r == 0)
		r = file_arg("TLS key", key, &c, err);
	if (r < 0) {
		free(a);
		free(b);
		free(c);
		return r;
	}
	free(m->tls_cacert);
	free(m->tls_cert);
	free(m->tls_key);
	m->tls_cacert = a;
	m->tls_cert = b;
	m->tls_key = c;
	return 0;
}

int ckpt_migrate_opts_set_int(ckpt_migrate_opts *m, ckpt_migrate_opt key, int64_t v, ckpt_err *err)
{
	assert_return(m, err, "migrate: the options are NULL");
	switch (key) {
	case CKPT_MIGRATE_OPT_LAZY:
		if (v != 0 && v != 1)
			return err_set(err, CKPT_EINVAL,
				       "migrate option %d: %lld (expected 0 or 1)", (int)key,
				       (long long)v);
		m->lazy = v;
		return 0;
	case CKPT_MIGRATE_OPT_TLS_NO_CN_VERIFY:
		return err_set(
			err, CKPT_ENOTSUP,
			"CKPT_MIGRATE_OPT_TLS_NO_CN_VERIFY is gone: any certificate of the CA would "
			"pass; name the peer's certificate instead "
			"(ckpt_migrate_opts_add_tls_peer)");
	case CKPT_MIGRATE_OPT_PAGE_PORT:
		return err_set(
			err, CKPT_ENOTSUP,
			"CKPT_MIGRATE_OPT_PAGE_PORT is gone: the pages take a second connection to "
			"the receiver's one port, inside TLS; no page port is opened");
	case CKPT_MIGRATE_OPT_AUTH_TIMEOUT_MS:
		if (v < 1 || v > 24LL * 3600 * 1000)
			return err_set(err, CKPT_EINVAL,
				       "authentication timeout of %lld ms (expected 1 to 86400000)",
				       (long long)v);
		m->auth_timeout_ms = (unsigned)v;
		return 0;
	case CKPT_MIGRATE_OPT_TIMEOUT_MS:
	case CKPT_MIGRATE_OPT_RESOLVE_TIMEOUT_MS:
	case CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS:
		if (v < (key == CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS ? 0 : 1) ||
		    v > 24LL * 3600 * 1000)
			return err_set(err, CKPT_EINVAL,
				       "migrate timeout of %lld ms (expected %s to 86400000)",
				       (long long)v,
				       key == CKPT_MIGRATE_OPT_ACCEPT_TIMEOUT_MS ? "0 (none)" :
										   "1");
		if (key == CKPT_MIGRATE_OPT_TIMEOUT_MS)
			m->timeout_ms = (unsigned)v;
		else if (key == CKPT_MIGRATE_OPT_RESOLVE_TIMEOUT_MS)
			m->resolve_timeout_ms = (unsigned)v;
		else
			m->accept_timeout_ms = (unsigned)v;
		return 0;
	case CKPT_MIGRATE_OPT_MAX_FILES:
		if (v < 1 || v > UINT32_MAX)
			return err_set(err, CKPT_EINVAL, "image file cap %lld (expected 1 to %u)",
				       (long long)v, UINT32_MAX);
		m->max_files = (uint32_t)v;
		return 0;
	case CKPT_MIGRATE_OPT_MAX_IMAGE_BYTES:
		if (v < 1)
			return err_set(err, CKPT_EINVAL,
				       "image byte cap %lld (expected a positive number)",
				       (long long)v);
		m->max_bytes = (uint64_t)v;
		return 0;
	default:
		return err_set(err, CKPT_EINVAL,
			       "migrate option %d is not an int option of this libckpt", (int)key);
	}
}

int ckpt_migrate_opts_set_str(ckpt_migrate_opts *m, ckpt_migrate_opt key, const char *v,
			      ckpt_err *err)
{
	char *copy = NULL;
	int r;

	assert_return(m, err, "migrate: the options are NULL");
	switch (key) {
	case CKPT_MIGRATE_OPT_TLS_CACRL:
		if (v && (r = file_arg("TLS revocation list", v, &copy, err)) < 0)
			return r;
		free(m->tls_cacrl);
		m->tls_cacrl = copy;
		return 0;
	case CKPT_MIGRATE_OPT_STAGING_DIR: {
		struct stat st;

		if (v) {
			if (!*v || has_control_chars(v))
				return err_set(err, CKPT_EINVAL,
					       "staging dir '%s': not a usable path", v);
			r = path_absolute_errno(v, &copy);
			if (r < 0)
				return err_from_errno(
					err, r, "staging dir '%s': cannot make it absolute", v);
			if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode)) {
				free(copy);
				return err_set(err, CKPT_EINVAL,
					       "staging dir '%s' is not a directory", v);
			}
		}
		free(m->staging_dir);
		m->staging_dir = copy;
		return 0;
	}
	default:
		return err_set(err, CKPT_EINVAL,
			       "migrate option %d is not a string option of this libckpt",
			       (int)key);
	}
}

int ckpt_migrate_opts_set_progress(ckpt_migrate_opts *m, ckpt_migrate_progress_fn fn,
				   void *userdata, ckpt_err *err)
{
	assert_return(m, err, "migrate: the options are NULL");
	m->progress = fn;
	m->progress_ud = userdata;
	return 0;
}

int ckpt_migrate_opts_set_decide(ckpt_migrate_opts *m, ckpt_migrate_decide_fn fn, void *userdata,
				 ckpt_err *err)
{
	assert_return(m, err, "migrate: the options are NULL");
	m->decide = fn;
	m->decide_ud = userdata;
	return 0;
}

bool mig_has_tls(const ckpt_migrate_opts *m)
{
	return m->tls_cacert && m->tls_cert && m->tls_key;
}

int mig_auth_check(const ckpt_migrate_opts *m, ckpt_err *err)
{
	if (m->token || mig_has_tls(m))
		return 0;
	return err_set(
		err, CKPT_EINVAL,
		"migration refuses to run unauthenticated: give a token file "
		"(ckpt_migrate_opts_set_token_file) or TLS files (ckpt_migrate_opts_set_tls); a "
		"receiver restores whatever images reach it, as root");
}

int mig_creds(const ckpt_migrate_opts *m, enum chan_side side, const char *default_peer,
	      struct chan_creds **ret, ckpt_err *err)
{
	const char *one[1] = { default_peer };
	struct chan_auth a = {
		.token = m->token,
		.tls_cacert = m->tls_cacert,
		.tls_cert = m->tls_cert,
		.tls_key = m->tls_key,
		.tls_cacrl = m->tls_cacrl,
		.peers = (const char *const *)m->peers,
		.n_peers = m->n_peers,
	};

	if (!m->n_peers && default_peer) {
		a.peers = one;
		a.n_peers = 1;
	}
	return chan_creds_new(&a, side, ret, err);
}

/* ---- a private directory's end ---- */

void mig_remove_flat(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* ---- the record ---- */

ckpt_migrate_result *ckpt_migrate_result_new(void)
{
	ckpt_migrate_result *mg = calloc(1, sizeof(*mg));

	if (mg)
		mig_reset(mg, false);
	return mg;
}

void ckpt_migrate_result_free(ckpt_migrate_result *mg)
{
	free(mg);
}

void mig_reset(ckpt_migrate_result *mg, bool receiver)
{
	memset(mg, 0, sizeof(*mg));
	mg->receiver = receiver;
	mg->lazy = -1;
}

void mig_set(ckpt_migrate_result *mg, enum mig_figure f, uint64_t v)
{
	mg->fig[f] = v;
	mg->have[f] = true;
}

void mig_stage(ckpt_migrate_result *mg, const char *stage)
{
	snprintf(mg->stage, sizeof(mg->stage), "%s", stage);
}

void mig_event(const ckpt_migrate_opts *m, ckpt_migrate_result *mg, ckpt_migrate_event ev,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mg->message, sizeof(mg->message), fmt, ap);
	va_end(ap);
	if (m->progress)
		m->progress(m->progress_ud, ev, mg);
}

ckpt_migrate_outcome ckpt_migrate_result_outcome(const ckpt_migrate_result *mg)
{
	return mg ? mg->outcome : CKPT_MIGRATE_OUTCOME_NONE;
}

const char *ckpt_migrate_result_stage(const ckpt_migrate_result *mg)
{
	return mg ? mg->stage : NULL;
}

int ckpt_migrate_result_lazy(const ckpt_migrate_result *mg)
{
	return mg ? mg->lazy : -1;
}

pid_t ckpt_migrate_result_pid(const ckpt_migrate_result *mg)
{
	return mg ? mg->pid : 0;
}

pid_t ckpt_migrate_result_held_by(const ckpt_migrate_result *mg)
{
	return mg ? mg->held_by : 0;
}

const char *ckpt_migrate_result_peer(const ckpt_migrate_result *mg)
{
	return mg ? mg->peer : NULL;
}

const char *ckpt_migrate_result_peer_versions(const ckpt_migrate_result *mg)
{
	return mg ? mg->peer_versions : NULL;
}

const char *ckpt_migrate_result_message(const ckpt_migrate_result *mg)
{
	return mg ? mg->message : NULL;
}

static const struct {
	ckpt_migrate_stat key;
	enum mig_figure fig;
	const char *name;
} stat_defs[] = {
	{ CKPT_MIGRATE_STAT_TOTAL_US, FIG_TOTAL, "total_us" },
	{ CKPT_MIGRATE_STAT_HANDSHAKE_US, FIG_HANDSHAKE, "handshake_us" },
	{ CKPT_MIGRATE_STAT_FROZEN_US, FIG_FROZEN, "frozen_us" },
	{ CKPT_MIGRATE_STAT_TRANSFER_US, FIG_TRANSFER, "transfer_us" },
	{ CKPT_MIGRATE_STAT_RESTORE_US, FIG_RESTORE, "restore_us" },
	{ CKPT_MIGRATE_STAT_DOWNTIME_US, FIG_DOWNTIME, "downtime_us" },
	{ CKPT_MIGRATE_STAT_SOURCE_RELEASED_US, FIG_RELEASED, "source_released_us" },
	{ CKPT_MIGRATE_STAT_PAGES_DONE_US, FIG_PAGES_DONE, "pages_done_us" },
	{ CKPT_MIGRATE_STAT_PAGE_BYTES, FIG_PAGE_BYTES, "page_bytes" },
	{ CKPT_MIGRATE_STAT_IMAGE_BYTES, FIG_IMAGE_BYTES, "image_bytes" },
	{ CKPT_MIGRATE_STAT_IMAGE_FILES, FIG_IMAGE_FILES, "image_files" },
	{ CKPT_MIGRATE_STAT_CONTROL_BYTES_OUT, FIG_CTL_OUT, "control_bytes_out" },
	{ CKPT_MIGRATE_STAT_CONTROL_BYTES_IN, FIG_CTL_IN, "control_bytes_in" },
	{ CKPT_MIGRATE_STAT_PAGE_RATE, FIG_PAGE_RATE, "page_rate_bps" },
	{ CKPT_MIGRATE_STAT_IMAGE_RATE, FIG_IMAGE_RATE, "image_rate_bps" },
};

int ckpt_migrate_result_stat(const ckpt_migrate_result *mg, ckpt_migrate_stat key,
			     uint64_t *ret_value)
{
	for (size_t i = 0; i < ARRAY_SIZE(stat_defs); i++) {
		if (stat_defs[i].key != key)
			continue;
		if (!mg || !mg->have[stat_defs[i].fig])
			return CKPT_ENOTSUP;
		if (ret_value)
			*ret_value = mg->fig[stat_defs[i].fig];
		return 0;
	}
	return CKPT_EINVAL;
}

const char *ckpt_migrate_stat_name(ckpt_migrate_stat key)
{
	for (size_t i = 0; i < ARRAY_SIZE(stat_defs); i++)
		if (stat_defs[i].key == key)
			return stat_defs[i].name;
	return NULL;
}

static const char *outcome_name(ckpt_migrate_outcome o)
{
	switch (o) {
	case CKPT_MIGRATE_OUTCOME_DONE: return "done";
	case CKPT_MIGRATE_OUTCOME_FAILED: return "failed";
	case CKPT_MIGRATE_OUTCOME_UNKNOWN: return "unknown";
	default: return "none";
	}
}

char *ckpt_migrate_result_to_json(const ckpt_migrate_result *mg)
{
	struct jsonw w;

	if (!mg)
		return NULL;
	jw_init(&w, false);
	jw_object_begin(&w, NULL);
	jw_string(&w, "side", mg->receiver ? "receiver" : "source");
	jw_string(&w, "outcome", outcome_name(mg->outcome));
	jw_string(&w, "stage", mg->stage);
	jw_string(&w, "mode", mg->lazy < 0 ? NULL : mg->lazy ? "lazy" : "copy");
	jw_string(&w, "peer", mg->peer);
	jw_string(&w, "peer_versions", mg->peer_versions);
	if (mg->pid > 0)
		jw_int(&w, "restored_pid", mg->pid);
	else
		jw_null(&w, "restored_pid");
	if (mg->held_by > 0)
		jw_int(&w, "held_by_criu_pid", mg->held_by);
	else
		jw_null(&w, "held_by_criu_pid");
	jw_string(&w, "message", mg->message);
	jw_object_begin(&w, "figures");
	for (size_t i = 0; i < ARRAY_SIZE(stat_defs); i++) {
		if (mg->have[stat_defs[i].fig])
			jw_uint(&w, stat_defs[i].name, mg->fig[stat_defs[i].fig]);
		else
			jw_null(&w, stat_defs[i].name);
	}
	jw_object_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* ---- versions ---- */

void mig_hello_versions(struct chan_hello *h, unsigned criu_version)
{
	h->proto = CHAN_PROTO_VERSION;
	h->libckpt_version = ckpt_version_number();
	snprintf(h->libckpt_version_str, sizeof(h->libckpt_version_str), "%s", ckpt_version());
	h->criu_version = criu_version;
	snprintf(h->criu_version_str, sizeof(h->criu_version_str), "%u.%u.%u", criu_version / 10000,
		 criu_version / 100 % 100, criu_version % 100);
}

void mig_note_peer(ckpt_migrate_result *mg, const struct chan *ch, const struct chan_hello *h)
{
	snprintf(mg->peer, sizeof(mg->peer), "%s (%s)", chan_addr(ch), chan_peer(ch));
	if (h)
		snprintf(mg->peer_versions, sizeof(mg->peer_versions), "libckpt %s, criu %s",
			 h->libckpt_version_str, h->criu_version_str);
}

void mig_session_hex(const uint8_t session[CHAN_SESSION_SIZE], char *buf)
{
	for (int i = 0; i < CHAN_SESSION_SIZE; i++)
		snprintf(buf + 2 * i, 3, "%02x", session[i]);
}
