/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt_client: its setters, prepare, free, and what it keeps between calls. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "client.h"
#include "net/netns.h"
#include "service.h"
#include "swrk.h"

ckpt_client *ckpt_client_new(void)
{
	ckpt_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->stdio[0] = c->stdio[1] = c->stdio[2] = -1;
	c->pts_master = -1;
	return c;
}

/* Close a connection: the socket, and a swrk criu killed (it served nothing yet) and reaped, bounded. */
static void conn_drop(ckpt_client *c, struct conn *conn)
{
	struct proc_set left = { 0 };

	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	if (conn->criu.pid > 0 && !conn->criu.reaped) {
		(void)proc_signal_errno(&conn->criu, SIGKILL);
		if (!proc_reap(&conn->criu, now_us() + 2000 * 1000) &&
		    proc_set_add_errno(&left, &conn->criu) == 0) {
			client_keep_unreaped(c, &left);
			return;
		}
	}
	proc_close(&conn->criu);
}

static void drop_prepared(ckpt_client *c)
{
	if (c->prepared) {
		conn_drop(c, c->prepared);
		free(c->prepared);
		c->prepared = NULL;
	}
}

void ckpt_client_free(ckpt_client *c)
{
	if (!c)
		return;
	drop_prepared(c);
	client_reap_kept(c, now_us() + 2000 * 1000);
	proc_set_free(&c->unreaped);
	if (c->pts_master >= 0)
		close(c->pts_master);
	free(c->netns);
	free(c->criu_path);
	free(c->service_path);
	strv_free(c->env);
	notify_table_free(&c->notify);
	free(c);
}

void client_keep_unreaped(ckpt_client *c, struct proc_set *s)
{
	if (proc_set_move_errno(&c->unreaped, s) < 0)
		proc_set_free(s); /* out of memory: the pidfds are closed, the zombies stay */
}

void client_reap_kept(ckpt_client *c, uint64_t until_us)
{
	size_t k = 0;

	if (!c->unreaped.n)
		return;
	(void)proc_set_reap(&c->unreaped, until_us);
	for (size_t i = 0; i < c->unreaped.n; i++) {
		if (c->unreaped.v[i].reaped)
			proc_close(&c->unreaped.v[i]);
		else
			c->unreaped.v[k++] = c->unreaped.v[i];
	}
	c->unreaped.n = k;
}

void client_keep_pts_master(ckpt_client *c, int fd)
{
	if (c->pts_master >= 0)
		close(c->pts_master);
	c->pts_master = fd;
}

int ckpt_client_take_pts_master(ckpt_client *c)
{
	int fd;

	if (!c)
		return -1;
	fd = c->pts_master;
	c->pts_master = -1;
	return fd;
}

#ifndef CKPT_CRIU_DEFAULT
#define CKPT_CRIU_DEFAULT "" /* none: the build was not told of a criu */
#endif

/* A regular file: whether it can be executed is for exec to say (by our effective ids and capabilities). */
static int check_criu_file(const char *what, const char *path, ckpt_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(err, CKPT_ECRIU_EXEC, errno, "%s: criu binary '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, CKPT_ECRIU_EXEC, "%s: criu binary '%s' is not a regular file",
			       what, path);
	return 0;
}

int ckpt_client_set_criu_path(ckpt_client *c, const char *path, ckpt_err *err)
{
	char *abs = NULL;
	int r;

	assert_return(c, err, "criu path: NULL client");
	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "criu path: empty path");
	r = path_absolute_errno(path, &abs);
	if (r < 0)
		return err_from_errno(err, r, "criu path: cannot make '%s' absolute", path);
	r = check_criu_file("criu path", abs, err);
	if (r < 0) {
		free(abs);
		return r;
	}
	free(c->criu_path);
	c->criu_path = abs;
	return 0;
}

int client_criu_path(const ckpt_client *c, char **ret, ckpt_err *err)
{
	const char *env;
	int r;

	if (c->criu_path) {
		r = check_criu_file("spawn", c->criu_path, err);
		if (r < 0)
			return r;
		*ret = strdup(c->criu_path);
		return *ret ? 0 : err_set(err, CKPT_ENOMEM, "spawn: out of memory");
	}
	env = secure_getenv("CKPT_CRIU");
	if (env && *env) {
		r = path_absolute_errno(env, ret);
		if (r < 0)
			return err_from_errno(err, r, "spawn: cannot make $CKPT_CRIU absolute");
		r = check_criu_file("spawn ($CKPT_CRIU)", *ret, err);
		if (r < 0) {
			free(*ret);
			*ret = NULL;
		}
		return r;
	}
	/* the build's own (CKPT_CRIU_DEFAULT at configure time), where it still is */
	if (CKPT_CRIU_DEFAULT[0] && check_criu_file("spawn", CKPT_CRIU_DEFAULT, NULL) == 0) {
		*ret = strdup(CKPT_CRIU_DEFAULT);
		return *ret ? 0 : err_set(err, CKPT_ENOMEM, "spawn: out of memory");
	}
	r = path_search_errno("criu", secure_getenv("PATH"), ret);
	if (r < 0 && r != -ENOENT)
		return err_from_errno(err, r, "spawn: searching $PATH for criu");
	if (r < 0) {
		err_set(err, CKPT_ECRIU_EXEC,
			"spawn: no criu found (no client path set, $CKPT_CRIU unset, %s%s%sno criu on $PATH)",
			CKPT_CRIU_DEFAULT[0] ? "the build's default '" : "", CKPT_CRIU_DEFAULT,
			CKPT_CRIU_DEFAULT[0] ? "' missing, " : "");
		err_hint(err, 0,
			 "install CRIU 4.2 or newer and put criu on $PATH, or name it: "
			 "ckpt_client_set_criu_path() or $CKPT_CRIU=PATH");
		return CKPT_ECRIU_EXEC;
	}
	return 0;
}

/* Is a prepared connection still usable: criu alive and the socket open? */
static bool prepared_alive(const struct conn *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	if (p->criu.pid > 0 && proc_exited(&p->criu))
		return false;
	/* readable before any request: EOF or an error, criu (or the service) went away */
	return poll(&pfd, 1, 0) == 0;
}

int client_connect(ckpt_client *c, bool detach, const struct fdpass *fds, size_t n_fds,
		   struct conn *conn, ckpt_err *err)
{
	_cleanup_free_ char *criu = NULL;
	struct spawn_cfg cfg;
	uint64_t deadline = conn->deadline_us;
	int r;

	client_reap_kept(c, 0);
	if (c->prepared) {
		struct conn *p = c->prepared;

		c->prepared = NULL;
		if (!detach && !n_fds && prepared_alive(p)) {
			*conn = *p;
			conn->deadline_us = deadline;
			free(p);
			return 0;
		}
		conn_drop(c, p);
		free(p);
	}
	*conn = (struct conn)CONN_INIT;
	conn->deadline_us = deadline;
	if (c->service_path)
		return service_connect(c->service_path, c->service_uid_set, c->service_uid, conn,
				       err);
	r = client_criu_path(c, &criu, err);
	if (r < 0)
		return err_at(err, "spawn", r);
	cfg.criu = criu;
	cfg.env = c->env;
	cfg.stdio = c->stdio;
	cfg.detach = detach;
	r = swrk_spawn(&cfg, fds, n_fds, conn, err);
	if (r < 0) {
		conn_drop(c, conn);
		return err_at(err, "spawn", r);
	}
	log_at(&c->log, CKPT_LOG_DEBUG, "spawned %s swrk 3%s (pid %d)", criu,
	       detach ? " detached" : "", (int)conn->criu.pid);
	return 0;
}

int ckpt_client_prepare(ckpt_client *c, ckpt_err *err)
{
	ckpt_err local = { .version = CKPT_ERR_VERSION };
	struct conn *p;
	int r;

	assert_return(c, err, "prepare: NULL client");
	drop_prepared(c);
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(err, CKPT_ENOMEM, "prepare: out of memory");
	*p = (struct conn)CONN_INIT;
	/* only the connection itself is bounded here: the request that uses it sets its own deadline */
	p->deadline_us = now_us() + (c->timeout_set && c->timeout_us ? c->timeout_us :
								       CLIENT_QUERY_TIMEOUT_US);
	r = client_connect(c, false, NULL, 0, p, &local);
	if (r < 0) {
		free(p);
		err_prefix(&local, "prepare");
		err_copy(err, &local);
		return r;
	}
	c->prepared = p;
	return 0;
}

int ckpt_client_set_service(ckpt_client *c, const char *socket_path, ckpt_err *err)
{
	struct sockaddr_un sun;
	char *copy;

	assert_return(c, err, "service: NULL client");
	if (!socket_path) {
		free(c->service_path);
		c->service_path = NULL;
		return 0;
	}
	if (!*socket_path)
		return err_set(err, CKPT_EINVAL, "service: empty socket path");
	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return err_set(err, CKPT_EINVAL,
			       "service: socket path '%s' is longer than %zu bytes", socket_path,
			       sizeof(sun.sun_path) - 1);
	copy = strdup(socket_path);
	if (!copy)
		return err_set(err, CKPT_ENOMEM, "service: out of memory");
	free(c->service_path);
	c->service_path = copy;
	return 0;
}

int ckpt_client_set_service_uid(ckpt_client *c, uid_t uid, ckpt_err *err)
{
	assert_return(c, err, "service uid: NULL client");
	c->service_uid_set = true;
	c->service_uid = uid;
	return 0;
}

int ckpt_client_set_timeout_ms(ckpt_client *c, unsigned ms, ckpt_err *err)
{
	assert_return(c, err, "timeout: NULL client");
	c->timeout_set = true;
	c->timeout_us = (uint64_t)ms * 1000;
	return 0;
}

int ckpt_client_set_env(ckpt_client *c, const char *const *envp, ckpt_err *err)
{
	size_t n = 0;
	char **v;

	assert_return(c, err, "env: NULL client");
	if (!envp) {
		strv_free(c->env);
		c->env = NULL;
		return 0;
	}
	while (envp[n]) {
		if (!strchr(envp[n], '=') || envp[n][0] == '=')
			return err_set(err, CKPT_EINVAL, "env: '%s' is not NAME=VALUE", envp[n]);
		n++;
	}
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return err_set(err, CKPT_ENOMEM, "env: out of memory");
		/*
	 * Each copy is owned by v, and freed by the unwinding loop if a later one fails. gcc 12's
	 * analyzer tracks v[i] at a symbolic index as one slot, so the next iteration's store
	 * "overwrites" the last copy: a false malloc-leak.
	 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(envp[i]);
		if (!v[i]) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			return err_set(err, CKPT_ENOMEM, "env: out of memory");
		}
	}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif
	strv_free(c->env);
	c->env = v;
	return 0;
}

int ckpt_client_set_criu_stdio(ckpt_client *c, int in, int out, int errfd, ckpt_err *err)
{
	int fds[3] = { in, out, errfd };

	assert_return(c, err, "criu stdio: NULL client");
	for (int i = 0; i < 3; i++)
		if (fds[i] < -1 || (fds[i] >= 0 && fcntl(fds[i], F_GETFD) < 0))
			return err_set(err, CKPT_EINVAL,
				       "criu stdio: %d is not an open file descriptor", fds[i]);
	memcpy(c->stdio, fds, sizeof(fds));
	return 0;
}

int ckpt_client_set_log(ckpt_client *c, int max_level, ckpt_log_fn fn, void *userdata)
{
	if (!c)
		return CKPT_EINVAL;
	c->log.fn = fn;
	c->log.userdata = userdata;
	c->log.max_level = max_level;
	return 0;
}

int ckpt_client_set_notify(ckpt_client *c, const char *name, ckpt_notify_fn fn, void *userdata,
			   ckpt_err *err)
{
	assert_return(c, err, "notify: NULL client");
	return notify_table_set(&c->notify, name, fn, userdata, err);
}

int ckpt_client_set_netns_veth(ckpt_client *c, const char *ns_if, const char *host_if,
			       const char *ns_cidr, const char *host_cidr, ckpt_err *err)
{
	struct netns_veth *v;
	int r;

	assert_return(c, err, "veth: NULL client");
	r = netns_veth_new(ns_if, host_if, ns_cidr, host_cidr, &v, err);
	if (r < 0)
		return r;
	free(c->netns);
	c->netns = v;
	return 0;
}

int ckpt_client_set_netns_veth_spec(ckpt_client *c, const char *spec, ckpt_err *err)
{
	struct netns_veth *v;
	int r;

	assert_return(c, err, "veth: NULL client");
	r = netns_veth_from_spec(spec, &v, err);
	if (r < 0)
		return r;
	free(c->netns);
	c->netns = v;
	return 0;
}
