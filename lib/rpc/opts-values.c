/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dedicated setters and adders of options whose values have structure:
 * pid, directories, parent images, page server, cgroup mode, empty
 * namespaces, and the repeated structured groups (mounts, veths, inherited
 * fds, joined namespaces, cgroup roots, unix sockets).
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include "images/imgdir.h"
#include "opts.h"
#include "base/parse.h"

int ckpt_opts_set_pid(ckpt_opts *o, pid_t pid, ckpt_err *err)
{
	assert_return(o, err, "pid: NULL ckpt_opts");
	if (pid <= 0)
		return err_set(err, CKPT_EINVAL, "pid: %d is not a valid process id (expected > 0)",
			       (int)pid);
	o->pb->has_pid = 1;
	o->pb->pid = pid;
	return 0;
}

pid_t ckpt_opts_get_pid(const ckpt_opts *o)
{
	return o && o->pb->has_pid ? o->pb->pid : 0;
}

int ckpt_opts_set_leave_running(ckpt_opts *o, bool on, ckpt_err *err)
{
	return ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, on, err);
}

static int set_dir(ckpt_opts *o, const char *what, const char *path, struct dirspec *ds,
		   ckpt_err *err)
{
	char *abs = NULL;
	int r;

	assert_return(o, err, "%s: NULL ckpt_opts", what);
	if (!path || !*path)
		return err_set(err, CKPT_EINVAL, "%s: empty path", what);
	r = path_absolute_errno(path, &abs);
	if (r < 0)
		return err_from_errno(err, r, "%s: cannot make '%s' absolute", what, path);
	/* checked now, so the error names it early; opened afresh (and checked again) at each request */
	r = dir_check_usable(what, abs, o->follow_symlinks, err);
	if (r < 0) {
		free(abs);
		return r;
	}
	free(ds->path);
	ds->path = abs;
	ds->fd = -1;
	return 0;
}

static int set_dir_fd(ckpt_opts *o, const char *what, int dirfd, struct dirspec *ds, ckpt_err *err)
{
	struct stat st;

	assert_return(o, err, "%s: NULL ckpt_opts", what);
	if (dirfd < 0 || fstat(dirfd, &st) < 0)
		return err_set(err, CKPT_EINVAL, "%s: %d is not an open file descriptor", what,
			       dirfd);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, CKPT_EIMAGES, "%s: fd %d is not a directory", what, dirfd);
	free(ds->path);
	ds->path = NULL;
	ds->fd = dirfd;
	return 0;
}

int ckpt_opts_set_images_dir(ckpt_opts *o, const char *path, ckpt_err *err)
{
	return set_dir(o, "images-dir", path, o ? &o->images : NULL, err);
}

int ckpt_opts_set_images_dir_fd(ckpt_opts *o, int dirfd, ckpt_err *err)
{
	return set_dir_fd(o, "images-dir", dirfd, o ? &o->images : NULL, err);
}

int ckpt_opts_set_work_dir(ckpt_opts *o, const char *path, ckpt_err *err)
{
	return set_dir(o, "work-dir", path, o ? &o->work : NULL, err);
}

int ckpt_opts_set_work_dir_fd(ckpt_opts *o, int dirfd, ckpt_err *err)
{
	return set_dir_fd(o, "work-dir", dirfd, o ? &o->work : NULL, err);
}

int ckpt_opts_set_parent_images(ckpt_opts *o, const char *relpath, ckpt_err *err)
{
	const char *s;
	char *copy;

	assert_return(o, err, "parent-images: NULL ckpt_opts");
	if (!relpath || !*relpath)
		return err_set(err, CKPT_EINVAL, "parent-images: empty path");
	if (relpath[0] == '/')
		return err_set(
			err, CKPT_EINVAL,
			"parent-images: '%s' is absolute (expected a path relative to the images dir)",
			relpath);
	for (s = relpath; *s;) {
		size_t l = strcspn(s, "/");

		if (l == 2 && s[0] == '.' && s[1] == '.' && s != relpath)
			return err_set(
				err, CKPT_EINVAL,
				"parent-images: '%s' climbs with '..' after its first component",
				relpath);
		s += l;
		while (*s == '/')
			s++;
	}
	if (has_control_chars(relpath) || strlen(relpath) >= PATH_MAX)
		return err_set(err, CKPT_EINVAL, "parent-images: '%s' is not a usable path",
			       relpath);
	copy = strdup(relpath);
	if (!copy)
		return err_set(err, CKPT_ENOMEM, "parent-images: out of memory");
	free(o->pb->parent_img);
	o->pb->parent_img = copy;
	/*
	 * copy is owned by o->pb from here. gcc 12's analyzer loses that when the
	 * store goes through a pointer loaded from a parameter after a call it
	 * cannot see into (has_control_chars above): a false malloc-leak.
	 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
	return 0;
#ifndef __clang__
#pragma GCC diagnostic pop
#endif
}

/* ---- structured adders ---- */

static int req_str(const char *what, const char *field, const char *v, ckpt_err *err)
{
	if (!v || !*v)
		return err_set(err, CKPT_EINVAL, "%s: empty %s", what, field);
	if (has_control_chars(v) || strlen(v) >= PATH_MAX)
		return err_set(err, CKPT_EINVAL, "%s: %s '%s' is not usable", what, field, v);
	return 0;
}

/*
 * Append a message of two strings (d: ExtMountMap, CriuVethPair) to pb's repeated field
 * `field`, its string fields fa and fb set to copies of a and b.
 */
static int add_str_pair(ckpt_opts *o, const char *what, const char *field,
			const ProtobufCMessageDescriptor *d, const char *fa, const char *a,
			const char *fb, const char *b, ckpt_err *err)
{
	const ProtobufCFieldDescriptor *f1 = protobuf_c_message_descriptor_get_field_by_name(d, fa);
	const ProtobufCFieldDescriptor *f2 = protobuf_c_message_descriptor_get_field_by_name(d, fb);
	ProtobufCMessage *m = malloc(d->sizeof_message), **slot = NULL;
	char **s1, **s2;

	if (!m)
		return err_set(err, CKPT_ENOMEM, "%s: out of memory", what);
	protobuf_c_message_init(d, m);
	s1 = (char **)((char *)m + f1->offset);
	s2 = (char **)((char *)m + f2->offset);
	*s1 = strdup(a);
	*s2 = strdup(b);
	if (*s1 && *s2)
		slot = opts_rep_grow(o->pb, field, sizeof(*slot));
	if (!slot) {
		protobuf_c_message_free_unpacked(m, NULL);
		return err_set(err, CKPT_ENOMEM, "%s: out of memory", what);
	}
	*slot = m;
	return 0;
}

int ckpt_opts_add_ext_mount(ckpt_opts *o, const char *key, const char *value, ckpt_err *err)
{
	int r;

	assert_return(o, err, "ext-mount-map: NULL ckpt_opts");
	if ((r = req_str("ext-mount-map", "key", key, err)) < 0 ||
	    (r = req_str("ext-mount-map", "value", value, err)) < 0)
		return r;
	return add_str_pair(o, "ext-mount-map", "ext_mnt", &ext_mount_map__descriptor, "key", key,
			    "val", value, err);
}

int ckpt_opts_add_veth(ckpt_opts *o, const char *if_in, const char *if_out, ckpt_err *err)
{
	int r;

	assert_return(o, err, "veth-pair: NULL ckpt_opts");
	if ((r = req_str("veth-pair", "inside name", if_in, err)) < 0 ||
	    (r = req_str("veth-pair", "outside name", if_out, err)) < 0)
		return r;
	if ((r = check_ifname("veth-pair", "inside", if_in, err)) < 0 ||
	    (r = check_ifname("veth-pair", "outside", if_out, err)) < 0)
		return r;
	return add_str_pair(o, "veth-pair", "veths", &criu_veth_pair__descriptor, "if_in", if_in,
			    "if_out", if_out, err);
}

int ckpt_opts_add_inherit_fd(ckpt_opts *o, int fd, const char *key, ckpt_err *err)
{
	InheritFd *x, **slot;
	int r;

	assert_return(o, err, "inherit-fd: NULL ckpt_opts");
	if ((r = opts_check_fd("inherit-fd", fd, err)) < 0)
		return r;
	if ((r = req_str("inherit-fd", "key", key, err)) < 0)
		return r;
	x = malloc(sizeof(*x));
	if (!x)
		return err_set(err, CKPT_ENOMEM, "inherit-fd: out of memory");
	inherit_fd__init(x);
	x->fd = fd;
	x->key = strdup(key);
	slot = x->key ? opts_rep_grow(o->pb, "inherit_fd", sizeof(*slot)) : NULL;
	if (!slot) {
		inherit_fd__free_unpacked(x, NULL);
		return err_set(err, CKPT_ENOMEM, "inherit-fd: out of memory");
	}
	*slot = x;
	return 0;
}

int ckpt_opts_add_join_ns(ckpt_opts *o, const char *ns, const char *ns_file, const char *extra_opt,
			  ckpt_err *err)
{
	static const char *const known[] = { "net", "ipc", "uts",  "user",
					     "pid", "mnt", "time", "cgroup" };
	JoinNamespace *j, **slot;
	bool ok = false;
	int r;

	assert_return(o, err, "join-ns: NULL ckpt_opts");
	if ((r = req_str("join-ns", "namespace", ns, err)) < 0 ||
	    (r = req_str("join-ns", "file", ns_file, err)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		ok |= !strcmp(ns, known[i]);
	if (!ok)
		return err_set(
			err, CKPT_EINVAL,
			"join-ns: unknown namespace '%s' (expected net, ipc, uts, user, pid, mnt, time or cgroup)",
			ns);
	if (strncmp(ns_file, "pid:", 4) && ns_file[0] != '/')
		return err_set(err, CKPT_EINVAL,
			       "join-ns: '%s' is neither an absolute path nor pid:N", ns_file);
	j = malloc(sizeof(*j));
	if (!j)
		return err_set(err, CKPT_ENOMEM, "join-ns: out of memory");
	join_namespace__init(j);
	j->ns = strdup(ns);
	j->ns_file = strdup(ns_file);
	j->extra_opt = extra_opt ? strdup(extra_opt) : NULL;
	slot = (j->ns && j->ns_file && (!extra_opt || j->extra_opt)) ?
		       opts_rep_grow(o->pb, "join_ns", sizeof(*slot)) :
		       NULL;
	if (!slot) {
		join_namespace__free_unpacked(j, NULL);
		return err_set(err, CKPT_ENOMEM, "join-ns: out of memory");
	}
	*slot = j;
	return 0;
}

int ckpt_opts_add_cgroup_root(ckpt_opts *o, const char *controller, const char *path, ckpt_err *err)
{
	CgroupRoot *g, **slot;
	int r;

	assert_return(o, err, "cgroup-root: NULL ckpt_opts");
	if ((r = req_str("cgroup-root", "path", path, err)) < 0)
		return r;
	if (path[0] != '/')
		return err_set(err, CKPT_EINVAL, "cgroup-root: '%s' is not an absolute path", path);
	if (controller && (r = req_str("cgroup-root", "controller", controller, err)) < 0)
		return r;
	g = malloc(sizeof(*g));
	if (!g)
		return err_set(err, CKPT_ENOMEM, "cgroup-root: out of memory");
	cgroup_root__init(g);
	g->path = strdup(path);
	g->ctrl = controller ? strdup(controller) : NULL;
	slot = (g->path && (!controller || g->ctrl)) ?
		       opts_rep_grow(o->pb, "cg_root", sizeof(*slot)) :
		       NULL;
	if (!slot) {
		cgroup_root__free_unpacked(g, NULL);
		return err_set(err, CKPT_ENOMEM, "cgroup-root: out of memory");
	}
	*slot = g;
	return 0;
}

int ckpt_opts_add_unix_sk_ino(ckpt_opts *o, uint32_t inode, ckpt_err *err)
{
	UnixSk *u, **slot;

	assert_return(o, err, "ext-unix-sk: NULL ckpt_opts");
	if (!inode)
		return err_set(err, CKPT_EINVAL, "ext-unix-sk: inode 0 is not a socket inode");
	u = malloc(sizeof(*u));
	if (!u)
		return err_set(err, CKPT_ENOMEM, "ext-unix-sk: out of memory");
	unix_sk__init(u);
	u->inode = inode;
	slot = opts_rep_grow(o->pb, "unix_sk_ino", sizeof(*slot));
	if (!slot) {
		free(u);
		return err_set(err, CKPT_ENOMEM, "ext-unix-sk: out of memory");
	}
	*slot = u;
	return 0;
}

/* ---- page server, cgroup mode, empty namespaces ---- */

_Static_assert((int)CKPT_CGROUP_IGNORE == (int)CRIU_CG_MODE__IGNORE, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_NONE == (int)CRIU_CG_MODE__CG_NONE, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_PROPS == (int)CRIU_CG_MODE__PROPS, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_SOFT == (int)CRIU_CG_MODE__SOFT, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_FULL == (int)CRIU_CG_MODE__FULL, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_STRICT == (int)CRIU_CG_MODE__STRICT, "cgroup mode values");
_Static_assert((int)CKPT_CGROUP_DEFAULT == (int)CRIU_CG_MODE__DEFAULT, "cgroup mode values");
_Static_assert((int)CKPT_NETWORK_LOCK_IPTABLES == (int)CRIU_NETWORK_LOCK_METHOD__IPTABLES,
	       "lock values");
_Static_assert((int)CKPT_NETWORK_LOCK_NFTABLES == (int)CRIU_NETWORK_LOCK_METHOD__NFTABLES,
	       "lock values");
_Static_assert((int)CKPT_NETWORK_LOCK_SKIP == (int)CRIU_NETWORK_LOCK_METHOD__SKIP, "lock values");

/* Replace o's page-server info; address (len bytes) may be NULL. */
static int ps_set(struct ckpt_opts *o, const char *address, size_t len, int port, ckpt_err *err)
{
	CriuPageServerInfo *ps;

	ps = malloc(sizeof(*ps));
	if (!ps)
		return err_set(err, CKPT_ENOMEM, "page server: out of memory");
	criu_page_server_info__init(ps);
	if (address) {
		ps->address = strndup(address, len);
		if (!ps->address) {
			free(ps);
			return err_set(err, CKPT_ENOMEM, "page server: out of memory");
		}
	}
	ps->has_port = true;
	ps->port = port;

	if (o->pb->ps)
		criu_page_server_info__free_unpacked(o->pb->ps, NULL);
	o->pb->ps = ps;
	return 0;
}

int ckpt_opts_set_page_server(ckpt_opts *o, const char *address_port, ckpt_err *err)
{
	char host[HOSTNAME_MAX + 3];
	uint16_t port;
	int r;

	assert_return(o, err, "page server: the options are NULL");
	r = ckpt_parse_address_port(address_port, host, sizeof(host), &port, err);
	if (r < 0) {
		err_prefix(err, "page server");
		return r;
	}
	return ps_set(o, host, strlen(host), port, err);
}

int ckpt_opts_set_page_server_addr(ckpt_opts *o, const char *address, int port, ckpt_err *err)
{
	const char *host = NULL, *why;
	size_t len = 0;

	assert_return(o, err, "page server: the options are NULL");
	assert_return(port >= 0 && port <= 65535, err,
		      "page server: port %d is out of range; expected 0-65535 (0: CRIU picks one)",
		      port);
	if (address) {
		why = address_problem(address, &host, &len);
		if (why)
			return err_set(
				err, CKPT_EINVAL,
				"page server: address \"%s\": %s; expected an IPv4 address, an IPv6 address or a host name",
				address, why);
	}
	return ps_set(o, host, len, port, err);
}

int ckpt_opts_set_cgroup_mode(ckpt_opts *o, ckpt_cgroup_mode mode, ckpt_err *err)
{
	assert_return(o, err, "cgroup mode: the options are NULL");
	assert_return(ckpt_cgroup_mode_name(mode), err,
		      "cgroup mode %d is not a ckpt_cgroup_mode; " CGROUP_MODES_EXPECTED
		      " (CKPT_CGROUP_IGNORE..CKPT_CGROUP_DEFAULT)",
		      (int)mode);
	o->pb->has_manage_cgroups_mode = true;
	o->pb->manage_cgroups_mode = (CriuCgMode)mode;
	return 0;
}

int ckpt_opts_set_empty_ns(ckpt_opts *o, uint32_t mask, ckpt_err *err)
{
	char names[128];

	assert_return(o, err, "empty-ns: the options are NULL");
	assert_return(
		!(mask & ~NS_KNOWN_MASK), err,
		"empty-ns mask 0x%x has bits 0x%x that are no namespace; expected CLONE_NEWNET (network) or 0",
		mask, mask & ~NS_KNOWN_MASK);
	if (mask & ~(uint32_t)CLONE_NEWNET) {
		if (ckpt_ns_mask_to_string(mask & ~(uint32_t)CLONE_NEWNET, names, sizeof(names),
					   NULL) < 0)
			snprintf(names, sizeof(names), "0x%x", mask & ~(uint32_t)CLONE_NEWNET);
		return err_set(
			err, CKPT_EINVAL,
			"empty-ns mask 0x%x: CRIU cannot restore into an empty \"%s\" namespace; expected CLONE_NEWNET (network) or 0",
			mask, names);
	}
	o->pb->has_empty_ns = mask != 0;
	o->pb->empty_ns = mask;
	return 0;
}

int opts_set_page_socket(ckpt_opts *o, int fd, ckpt_err *err)
{
	CriuPageServerInfo *ps = malloc(sizeof(*ps));

	if (!ps)
		return err_set(err, CKPT_ENOMEM, "page server: out of memory");
	criu_page_server_info__init(ps);
	ps->has_fd = true;
	ps->fd = fd;
	if (o->pb->ps)
		criu_page_server_info__free_unpacked(o->pb->ps, NULL);
	o->pb->ps = ps;
	return 0;
}
