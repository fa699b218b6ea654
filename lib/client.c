/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt_client: how to reach CRIU (spawn swrk or a service socket), its deadline and callbacks. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "internal.h"

#define DEFAULT_TIMEOUT_US (120ull * 1000 * 1000)

ckpt_client *ckpt_client_new(void)
{
	ckpt_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->timeout_us = DEFAULT_TIMEOUT_US;
	c->stdio[0] = c->stdio[1] = c->stdio[2] = -1;
	return c;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void ckpt_client_free(ckpt_client *c)
{
	if (!c)
		return;
	client_drop_prepared(c);
	free(c->netns_setup);
	free(c->criu_path);
	free(c->service_path);
	strv_free(c->env);
	for (size_t i = 0; i < c->n_notify; i++)
		free(c->notify[i].name);
	free(c);
}

/* Make path absolute against the cwd. */
static int absolute(const char *path, char **ret)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		*ret = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return CKPT_ESYS;
		if (asprintf(ret, "%s/%s", cwd, path) < 0)
			*ret = NULL;
	}
	return *ret ? 0 : CKPT_ENOMEM;
}

int criu_check_exec(const char *what, const char *path, ckpt_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(err, CKPT_ECRIU_EXEC, errno, "%s: criu binary '%s'", what, path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, CKPT_ECRIU_EXEC, "%s: criu binary '%s' is not a regular file", what, path);
	if (access(path, X_OK) < 0)
		return err_sys(err, CKPT_ECRIU_EXEC, errno, "%s: criu binary '%s' is not executable", what, path);
	return 0;
}

int ckpt_client_set_criu_path(ckpt_client *c, const char *path, ckpt_err *err)
{
	char *abs = NULL;
	int r;

	assert_return(c, err, "criu path: NULL client");
	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "criu path: empty path");
	r = absolute(path, &abs);
	if (r < 0)
		return r == CKPT_ESYS ? err_sys(err, r, errno, "criu path: cannot resolve '%s'", path)
				      : err_set(err, r, "criu path: out of memory");
	r = criu_check_exec("criu path", abs, err);
	if (r < 0) {
		free(abs);
		return r;
	}
	free(c->criu_path);
	c->criu_path = abs;
	return 0;
}

int criu_resolve(const ckpt_client *c, char **ret, ckpt_err *err)
{
	const char *env, *path;
	char buf[PATH_MAX];
	int r;

	if (c->criu_path) {
		/* checked when set; check again, it may have gone since */
		r = criu_check_exec("spawn", c->criu_path, err);
		if (r < 0)
			return r;
		*ret = strdup(c->criu_path);
		return *ret ? 0 : err_set(err, CKPT_ENOMEM, "spawn: out of memory");
	}
	env = secure_getenv("CKPT_CRIU");
	if (env && *env) {
		r = absolute(env, ret);
		if (r < 0)
			return err_set(err, CKPT_ENOMEM, "spawn: out of memory");
		r = criu_check_exec("spawn ($CKPT_CRIU)", *ret, err);
		if (r < 0) {
			free(*ret);
			*ret = NULL;
		}
		return r;
	}
	path = secure_getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");

		if (l > 0 && path[0] == '/' && l + 6 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/criu", (int)l, path);
			if (access(buf, X_OK) == 0) {
				*ret = strdup(buf);
				return *ret ? 0 : err_set(err, CKPT_ENOMEM, "spawn: out of memory");
			}
		}
		path += l;
		if (*path == ':')
			path++;
	}
	return err_set(err, CKPT_ECRIU_EXEC,
		       "spawn: no criu found (no client path set, $CKPT_CRIU unset, no criu on $PATH)");
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
		return err_set(err, CKPT_EINVAL, "service: socket path '%s' is longer than %zu bytes", socket_path,
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
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(envp[i]);
		if (!v[i]) {
			strv_free(v);
			return err_set(err, CKPT_ENOMEM, "env: out of memory");
		}
	}
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
			return err_set(err, CKPT_EINVAL, "criu stdio: %d is not an open file descriptor", fds[i]);
	memcpy(c->stdio, fds, sizeof(fds));
	return 0;
}

int ckpt_client_set_log(ckpt_client *c, int max_level, ckpt_log_fn fn, void *userdata)
{
	if (!c)
		return CKPT_EINVAL;
	c->log_fn = fn;
	c->log_userdata = userdata;
	c->log_max = max_level;
	return 0;
}

int ckpt_client_set_notify(ckpt_client *c, const char *name, ckpt_notify_fn fn, void *userdata, ckpt_err *err)
{
	struct notify_slot *slot = NULL;

	assert_return(c, err, "notify: NULL client");
	if (name && (!*name || strlen(name) > 64))
		return err_set(err, CKPT_EINVAL, "notify: '%s' is not a notification name", name);
	for (size_t i = 0; i < c->n_notify; i++)
		if ((!name && !c->notify[i].name) || (name && c->notify[i].name && !strcmp(name, c->notify[i].name)))
			slot = &c->notify[i];
	if (!fn) {
		if (slot) {
			free(slot->name);
			*slot = c->notify[--c->n_notify];
		}
		return 0;
	}
	if (!slot) {
		if (c->n_notify == CKPT_NOTIFY_MAX)
			return err_set(err, CKPT_EINVAL, "notify: more than %d callbacks", CKPT_NOTIFY_MAX);
		slot = &c->notify[c->n_notify];
		slot->name = name ? strdup(name) : NULL;
		if (name && !slot->name)
			return err_set(err, CKPT_ENOMEM, "notify: out of memory");
		c->n_notify++;
	}
	slot->fn = fn;
	slot->userdata = userdata;
	return 0;
}
