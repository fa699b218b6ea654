/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Migration: the options object, the record of a migration (figures, JSON), and the TCP helpers both sides use. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "jsonw.h"
#include "migrate.h"
#include "opts.h"

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
	free(m->token_file);
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
	r = path_absolute(path, &abs);
	if (r < 0)
		return r == -ENOMEM ? err_set(err, CKPT_ENOMEM, "%s: out of memory", what) :
				      err_sys(err, CKPT_ESYS, -r, "%s: cannot make '%s' absolute",
					      what, path);
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
	struct stat st;
	char *abs = NULL;
	int r;

	assert_return(m, err, "migrate: the options are NULL");
	if (!path) {
		free(m->token_file);
		m->token_file = NULL;
		return 0;
	}
	r = file_arg("token file", path, &abs, err);
	if (r < 0)
		return r;
	if (stat(abs, &st) == 0 && (st.st_mode & 077)) {
		r = err_set(
			err, CKPT_EPERM,
			"token file '%s' has mode %04o: readable by others (expected owner-only, chmod 600)",
			path, (unsigned)(st.st_mode & 07777));
		free(abs);
		return r;
	}
	if (st.st_size < CHAN_TOKEN_MIN || st.st_size > CHAN_TOKEN_MAX + 1) {
		free(abs);
		return err_set(
			err, CKPT_EINVAL,
			"token file '%s' holds %lld bytes (expected %d to %d bytes of secret)",
			path, (long long)st.st_size, CHAN_TOKEN_MIN, CHAN_TOKEN_MAX);
	}
	free(m->token_file);
	m->token_file = abs;
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
	case CKPT_MIG_LAZY:
	case CKPT_MIG_TLS_NO_CN_VERIFY:
		if (v != 0 && v != 1)
			return err_set(err, CKPT_EINVAL,
				       "migrate option %d: %lld (expected 0 or 1)", (int)key,
				       (long long)v);
		if (key == CKPT_MIG_LAZY)
			m->lazy = v;
		else
			m->tls_no_cn_verify = v;
		return 0;
	case CKPT_MIG_PAGE_PORT:
		if (v < 1 || v > 65535)
			return err_set(err, CKPT_EINVAL,
				       "page port %lld is out of range (expected 1 to 65535)",
				       (long long)v);
		m->page_port = (int)v;
		return 0;
	case CKPT_MIG_TIMEOUT_MS:
	case CKPT_MIG_RESOLVE_TIMEOUT_MS:
	case CKPT_MIG_ACCEPT_TIMEOUT_MS:
		if (v < (key == CKPT_MIG_ACCEPT_TIMEOUT_MS ? 0 : 1) || v > 24LL * 3600 * 1000)
			return err_set(err, CKPT_EINVAL,
				       "migrate timeout of %lld ms (expected %s to 86400000)",
				       (long long)v,
				       key == CKPT_MIG_ACCEPT_TIMEOUT_MS ? "0 (none)" : "1");
		if (key == CKPT_MIG_TIMEOUT_MS)
			m->timeout_ms = (unsigned)v;
		else if (key == CKPT_MIG_RESOLVE_TIMEOUT_MS)
			m->resolve_timeout_ms = (unsigned)v;
		else
			m->accept_timeout_ms = (unsigned)v;
		return 0;
	case CKPT_MIG_MAX_FILES:
		if (v < 1 || v > UINT32_MAX)
			return err_set(err, CKPT_EINVAL, "image file cap %lld (expected 1 to %u)",
				       (long long)v, UINT32_MAX);
		m->max_files = (uint32_t)v;
		return 0;
	case CKPT_MIG_MAX_IMAGE_BYTES:
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
	case CKPT_MIG_TLS_CACRL:
		if (v && (r = file_arg("TLS revocation list", v, &copy, err)) < 0)
			return r;
		free(m->tls_cacrl);
		m->tls_cacrl = copy;
		return 0;
	case CKPT_MIG_STAGING_DIR: {
		struct stat st;

		if (v) {
			if (!*v || has_control_chars(v))
				return err_set(err, CKPT_EINVAL,
					       "staging dir '%s': not a usable path", v);
			r = path_absolute(v, &copy);
			if (r < 0)
				return err_sys(err, r == -ENOMEM ? CKPT_ENOMEM : CKPT_ESYS, -r,
					       "staging dir '%s': cannot make it absolute", v);
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
	if (m->token_file || mig_has_tls(m))
		return 0;
	return err_set(
		err, CKPT_EINVAL,
		"migration refuses to run unauthenticated: give a token file (--token-file) or TLS files "
		"(--tls-cacert, --tls-cert, --tls-key); a receiver restores whatever images reach it, as root");
}

struct chan_auth mig_auth(const ckpt_migrate_opts *m, const char *peer_name)
{
	struct chan_auth a = {
		.token_file = m->token_file,
		.tls_cacert = m->tls_cacert,
		.tls_cert = m->tls_cert,
		.tls_key = m->tls_key,
		.tls_cacrl = m->tls_cacrl,
		.tls_peer_name = m->tls_no_cn_verify ? NULL : peer_name,
	};

	return a;
}

/* ---- the record ---- */

ckpt_migration *ckpt_migration_new(void)
{
	ckpt_migration *mg = calloc(1, sizeof(*mg));

	if (mg)
		mig_reset(mg, false);
	return mg;
}

void ckpt_migration_free(ckpt_migration *mg)
{
	free(mg);
}

void mig_reset(ckpt_migration *mg, bool receiver)
{
	memset(mg, 0, sizeof(*mg));
	mg->receiver = receiver;
	mg->lazy = -1;
}

void mig_set(ckpt_migration *mg, enum mig_figure f, uint64_t v)
{
	mg->fig[f] = v;
	mg->have[f] = true;
}

void mig_stage(ckpt_migration *mg, const char *stage)
{
	snprintf(mg->stage, sizeof(mg->stage), "%s", stage);
}

void mig_event(const ckpt_migrate_opts *m, ckpt_migration *mg, ckpt_mig_event ev, const char *fmt,
	       ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mg->message, sizeof(mg->message), fmt, ap);
	va_end(ap);
	if (m->progress)
		m->progress(m->progress_ud, ev, mg);
}

ckpt_mig_outcome ckpt_migration_outcome(const ckpt_migration *mg)
{
	return mg ? mg->outcome : CKPT_MIG_NONE;
}

const char *ckpt_migration_stage(const ckpt_migration *mg)
{
	return mg ? mg->stage : NULL;
}

int ckpt_migration_lazy(const ckpt_migration *mg)
{
	return mg ? mg->lazy : -1;
}

pid_t ckpt_migration_pid(const ckpt_migration *mg)
{
	return mg ? mg->pid : 0;
}

pid_t ckpt_migration_held_by(const ckpt_migration *mg)
{
	return mg ? mg->held_by : 0;
}

const char *ckpt_migration_peer(const ckpt_migration *mg)
{
	return mg ? mg->peer : NULL;
}

const char *ckpt_migration_peer_versions(const ckpt_migration *mg)
{
	return mg ? mg->peer_versions : NULL;
}

const char *ckpt_migration_message(const ckpt_migration *mg)
{
	return mg ? mg->message : NULL;
}

static const struct {
	ckpt_mig_stat key;
	enum mig_figure fig;
	const char *name;
} stat_defs[] = {
	{ CKPT_MIG_STAT_TOTAL_US, FIG_TOTAL, "total_us" },
	{ CKPT_MIG_STAT_HANDSHAKE_US, FIG_HANDSHAKE, "handshake_us" },
	{ CKPT_MIG_STAT_FROZEN_US, FIG_FROZEN, "frozen_us" },
	{ CKPT_MIG_STAT_TRANSFER_US, FIG_TRANSFER, "transfer_us" },
	{ CKPT_MIG_STAT_RESTORE_US, FIG_RESTORE, "restore_us" },
	{ CKPT_MIG_STAT_DOWNTIME_US, FIG_DOWNTIME, "downtime_us" },
	{ CKPT_MIG_STAT_SOURCE_RELEASED_US, FIG_RELEASED, "source_released_us" },
	{ CKPT_MIG_STAT_PAGES_DONE_US, FIG_PAGES_DONE, "pages_done_us" },
	{ CKPT_MIG_STAT_PAGE_BYTES, FIG_PAGE_BYTES, "page_bytes" },
	{ CKPT_MIG_STAT_IMAGE_BYTES, FIG_IMAGE_BYTES, "image_bytes" },
	{ CKPT_MIG_STAT_IMAGE_FILES, FIG_IMAGE_FILES, "image_files" },
	{ CKPT_MIG_STAT_CONTROL_BYTES_OUT, FIG_CTL_OUT, "control_bytes_out" },
	{ CKPT_MIG_STAT_CONTROL_BYTES_IN, FIG_CTL_IN, "control_bytes_in" },
	{ CKPT_MIG_STAT_PAGE_RATE, FIG_PAGE_RATE, "page_rate_bps" },
	{ CKPT_MIG_STAT_IMAGE_RATE, FIG_IMAGE_RATE, "image_rate_bps" },
};

int ckpt_migration_stat(const ckpt_migration *mg, ckpt_mig_stat key, uint64_t *ret_value)
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

const char *ckpt_migration_stat_name(ckpt_mig_stat key)
{
	for (size_t i = 0; i < ARRAY_SIZE(stat_defs); i++)
		if (stat_defs[i].key == key)
			return stat_defs[i].name;
	return NULL;
}

static const char *outcome_name(ckpt_mig_outcome o)
{
	switch (o) {
	case CKPT_MIG_DONE: return "done";
	case CKPT_MIG_FAILED: return "failed";
	case CKPT_MIG_UNKNOWN: return "unknown";
	default: return "none";
	}
}

char *ckpt_migration_to_json(const ckpt_migration *mg)
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

void mig_note_peer(ckpt_migration *mg, const struct chan *ch, const struct chan_hello *h)
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

/* ---- TCP ---- */

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int mig_tcp_tune(int fd, unsigned timeout_ms, const char *what, ckpt_err *err)
{
	unsigned t = timeout_ms ? timeout_ms : MIG_DEFAULT_TIMEOUT_MS;
	int secs = (int)(t / 1000 > 3600 ? 3600 : (t + 999) / 1000);
	/* probes from half the timeout (5 s at most), 2 s apart at most, until the timeout */
	int idle = clamp_int(secs / 2, 1, 5), intvl = clamp_int(secs / 4, 1, 2);
	/* 127: the kernel's most; TCP_USER_TIMEOUT ends the probing at the timeout anyway */
	int cnt = clamp_int((secs - idle + intvl - 1) / intvl, 1, 127);
	int user = t > INT_MAX ? INT_MAX : (int)t;
	const struct {
		int level, opt, val;
		const char *name;
	} o[] = {
		{ SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, idle, "TCP_KEEPIDLE" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, intvl, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, cnt, "TCP_KEEPCNT" },
		/* data unacknowledged (or a window kept shut) for this long fails the socket */
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, user, "TCP_USER_TIMEOUT" },
	};

	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if (setsockopt(fd, o[i].level, o[i].opt, &o[i].val, sizeof(o[i].val)) < 0)
			return err_sys(err, CKPT_ESYS, errno, "%s: setsockopt %s to %d", what,
				       o[i].name, o[i].val);
	return 0;
}

int mig_connect(const char *host, uint16_t port, unsigned timeout_ms, int *ret_fd, ckpt_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL,
			*ai;
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	char service[8], what[300];
	int r, e = 0, fd = -1;

	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r != 0)
		return err_set(err, CKPT_EINVAL, "'%s': %s (expected a host name or address)", host,
			       gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			do
				r = poll(&pfd, 1, poll_ms_until(deadline));
			while (r < 0 && errno == EINTR);
			if (r == 0)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
				e = errno;
			if (r > 0 && e == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_sys(err, e == ETIMEDOUT ? CKPT_ETIMEDOUT : CKPT_ESYS, e,
			       "cannot connect to %s:%u", host, port);
	/* the channel polls itself: blocking from here on */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return err_sys(err, CKPT_ESYS, errno, "fcntl");
	}
	snprintf(what, sizeof(what), "%s:%u", host, port);
	r = mig_tcp_tune(fd, timeout_ms, what, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int mig_peer_host(int fd, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf,
				 (socklen_t)n) ?
			       0 :
			       -errno;
	if (ss.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf,
				 (socklen_t)n) ?
			       0 :
			       -errno;
	return -EAFNOSUPPORT;
}

int ckpt_migrate_listen(const char *address_port, int *ret_fd, ckpt_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], service[8];
	uint16_t port;
	int one = 1, r, fd;

	assert_return(address_port && ret_fd, err, "listen: NULL argument");
	r = ckpt_parse_address_port(address_port, host, sizeof(host), &port, err);
	if (r < 0)
		return r;
	if (port == 0)
		return err_set(err, CKPT_EINVAL,
			       "listen: '%s' names port 0 (expected the port the source will dial)",
			       address_port);
	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
	if (r != 0)
		return err_set(err, CKPT_EINVAL, "listen: '%s': %s", address_port, gai_strerror(r));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "listen: socket");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "listen: cannot listen on %s", address_port);
		close(fd);
		goto out;
	}
	*ret_fd = fd;
	r = 0;
out:
	freeaddrinfo(res);
	return r;
}
