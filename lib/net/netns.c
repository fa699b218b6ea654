/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Wiring the network namespace of a tree restored with empty-ns network
 * (libnl-3 route): at setup-namespaces, bring lo up, create a veth pair whose
 * one end lands in the namespace under its name, give both ends their
 * addresses, and route the namespace's default traffic to the host end.
 *
 * Every netlink socket is private to the call. The one inside the restored
 * namespace is opened by a short-lived helper thread that setns()es itself;
 * the caller's thread never changes namespace, and a netlink socket stays
 * bound to the namespace it was created in. On any failure the host end is
 * deleted, which deletes its peer too: nothing is left half-made.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>

#include "netns.h"
#include "dl-nl.h"
#include "base/parse.h"
#include "proc/procfs.h"

int netns_veth_new(const char *ns_if, const char *host_if, const char *ns_cidr,
		   const char *host_cidr, struct netns_veth **ret, ckpt_err *err)
{
	struct netns_veth *v;
	int r;

	/* said when the network is asked for, not at setup-namespaces in the middle of a restore */
	r = dl_need_nl(err);
	if (r < 0)
		return r;
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(err, CKPT_ENOMEM, "veth: out of memory");
	if (ns_if || host_if || ns_cidr || host_cidr) {
		if ((r = check_ifname("veth", "namespace", ns_if, err)) < 0 ||
		    (r = check_ifname("veth", "host", host_if, err)) < 0 ||
		    (r = check_cidr("veth", "namespace", ns_cidr, err)) < 0 ||
		    (r = check_cidr("veth", "host", host_cidr, err)) < 0) {
			free(v);
			return r;
		}
		snprintf(v->ns_if, sizeof(v->ns_if), "%s", ns_if);
		snprintf(v->host_if, sizeof(v->host_if), "%s", host_if);
		snprintf(v->ns_addr, sizeof(v->ns_addr), "%s", ns_cidr);
		snprintf(v->host_addr, sizeof(v->host_addr), "%s", host_cidr);
		v->has_veth = true;
	}
	*ret = v;
	return 0;
}

int netns_veth_from_spec(const char *spec, struct netns_veth **ret, ckpt_err *err)
{
	char buf[256], *f[4];
	size_t n = 0;

	if (!spec || strlen(spec) >= sizeof(buf))
		return err_set(err, CKPT_EINVAL,
			       "veth: '%s' is not NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX",
			       spec ? spec : "(null)");
	snprintf(buf, sizeof(buf), "%s", spec);
	/* IPv6 addresses go in brackets: eth0:veth0:[fd00::2]/64:[fd00::1]/64 */
	for (char *p = buf; *p && n < 4;) {
		char *end;

		if (*p == '[') {
			char *close = strchr(p, ']');

			if (!close)
				return err_set(err, CKPT_EINVAL, "veth: '%s': unclosed '['", spec);
			memmove(close, close + 1, strlen(close + 1) + 1);
			memmove(p, p + 1, strlen(p + 1) + 1);
			end = strchr(close - 1, ':');
		} else {
			end = strchr(p, ':');
		}
		f[n++] = p;
		if (!end)
			break;
		*end = '\0';
		p = end + 1;
	}
	if (n != 4)
		return err_set(err, CKPT_EINVAL,
			       "veth: '%s' is not NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX",
			       spec);
	return netns_veth_new(f[0], f[1], f[2], f[3], ret, err);
}

/* ---- netlink work ---- */

static int nl_fail(ckpt_err *err, int nlerr, const char *fmt, ...) _printf_(3, 4);
static int nl_fail(ckpt_err *err, int nlerr, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, CKPT_ENETSETUP, "network setup: %s: %s", what, nl_geterror(nlerr));
}

struct ns_sock_job {
	int nsfd;
	int protocol;
	struct nl_sock *sk;
	int nlerr;
	int sys;
};

static void *open_sock_in_ns(void *arg)
{
	struct ns_sock_job *j = arg;

	if (setns(j->nsfd, CLONE_NEWNET) < 0) {
		j->sys = errno;
		return NULL;
	}
	j->sk = nl_socket_alloc();
	if (!j->sk) {
		j->sys = ENOMEM;
		return NULL;
	}
	j->nlerr = nl_connect(j->sk, j->protocol);
	if (j->nlerr < 0) {
		nl_socket_free(j->sk);
		j->sk = NULL;
	}
	return NULL;
}

static int set_up(struct nl_sock *sk, const char *ifname, ckpt_err *err)
{
	struct rtnl_link *link = NULL, *change = NULL;
	int r;

	r = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (r < 0)
		return nl_fail(err, r, "cannot find interface '%s'", ifname);
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return err_set(err, CKPT_ENOMEM, "network setup: out of memory");
	}
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (r < 0)
		return nl_fail(err, r, "cannot bring '%s' up", ifname);
	return 0;
}

static int add_addr(struct nl_sock *sk, const char *ifname, const char *cidr, ckpt_err *err)
{
	struct nl_addr *local = NULL;
	struct rtnl_addr *a = NULL;
	int ifindex, r;

	{
		struct rtnl_link *link = NULL;

		r = rtnl_link_get_kernel(sk, 0, ifname, &link);
		if (r < 0)
			return nl_fail(err, r, "cannot find interface '%s'", ifname);
		ifindex = rtnl_link_get_ifindex(link);
		rtnl_link_put(link);
	}
	r = nl_addr_parse(cidr, AF_UNSPEC, &local);
	if (r < 0)
		return nl_fail(err, r, "bad address '%s' for '%s'", cidr, ifname);
	a = rtnl_addr_alloc();
	if (!a) {
		nl_addr_put(local);
		return err_set(err, CKPT_ENOMEM, "network setup: out of memory");
	}
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_local(a, local);
	r = rtnl_addr_add(sk, a, 0);
	rtnl_addr_put(a);
	nl_addr_put(local);
	if (r < 0)
		return nl_fail(err, r, "cannot add address %s to '%s'", cidr, ifname);
	return 0;
}

static int add_default_route(struct nl_sock *sk, const char *ifname, const char *gw_cidr,
			     ckpt_err *err)
{
	char gw[INET6_ADDRSTRLEN + 4], *slash;
	struct nl_addr *via = NULL, *dst = NULL;
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh;
	struct rtnl_link *link = NULL;
	int r, family;

	snprintf(gw, sizeof(gw), "%s", gw_cidr);
	slash = strchr(gw, '/');
	if (slash) /* always there: the CIDR was checked when set */
		*slash = '\0';
	family = strchr(gw, ':') ? AF_INET6 : AF_INET;
	r = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (r < 0)
		return nl_fail(err, r, "cannot find interface '%s'", ifname);
	r = nl_addr_parse(gw, family, &via);
	if (r == 0)
		r = nl_addr_parse(family == AF_INET ? "0.0.0.0/0" : "::/0", family, &dst);
	if (r < 0)
		goto out;
	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!route || !nh) {
		if (nh)
			rtnl_route_nh_free(nh);
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_route_set_family(route, (uint8_t)family);
	rtnl_route_set_dst(route, dst);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
	rtnl_route_add_nexthop(route, nh);
	r = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL);
out:
	if (route)
		rtnl_route_put(route);
	nl_addr_put(via);
	nl_addr_put(dst);
	rtnl_link_put(link);
	if (r < 0)
		return nl_fail(err, r, "cannot add a default route via %s on '%s'", gw, ifname);
	return 0;
}

static void delete_link(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = rtnl_link_alloc();

	if (!link)
		return;
	rtnl_link_set_name(link, ifname);
	rtnl_link_delete(sk, link);
	rtnl_link_put(link);
}

int netns_setup_run(const struct netns_veth *v, pid_t pid, ckpt_err *err)
{
	struct ns_sock_job job = { .nsfd = -1, .protocol = NETLINK_ROUTE };
	struct nl_sock *host = NULL;
	struct rtnl_link *veth = NULL, *peer;
	char path[64];
	pthread_t th;
	bool created = false;
	int r;

	if (pid <= 0)
		return err_set(err, CKPT_ENETSETUP, "network setup: criu named no restored pid");
	r = dl_need_nl(err);
	if (r < 0)
		return r;
	procfs_path(path, sizeof(path), pid, "ns/net");
	job.nsfd = procfs_open_at(pid, "ns/net", O_RDONLY);
	if (job.nsfd < 0)
		return err_sys(err, CKPT_ENETSETUP, errno, "network setup: cannot open %s", path);

	if (v->has_veth) {
		host = nl_socket_alloc();
		if (!host) {
			r = err_set(err, CKPT_ENOMEM, "network setup: out of memory");
			goto out;
		}
		r = nl_connect(host, NETLINK_ROUTE);
		if (r < 0) {
			r = nl_fail(err, r, "cannot open a netlink socket");
			goto out;
		}
		veth = rtnl_link_veth_alloc();
		if (!veth) {
			r = err_set(err, CKPT_ENOMEM, "network setup: out of memory");
			goto out;
		}
		rtnl_link_set_name(veth, v->host_if);
		peer = rtnl_link_veth_get_peer(veth);
		rtnl_link_set_name(peer, v->ns_if);
		rtnl_link_set_ns_fd(peer, job.nsfd);
		r = rtnl_link_add(host, veth, NLM_F_CREATE | NLM_F_EXCL);
		rtnl_link_put(peer);
		if (r < 0) {
			r = nl_fail(err, r,
				    "cannot create the veth pair '%s' (host) / '%s' (namespace)",
				    v->host_if, v->ns_if);
			goto out;
		}
		created = true;
		if ((r = add_addr(host, v->host_if, v->host_addr, err)) < 0 ||
		    (r = set_up(host, v->host_if, err)) < 0)
			goto out;
	}

	/* a netlink socket inside the restored namespace, opened by a helper thread */
	r = pthread_create(&th, NULL, open_sock_in_ns, &job);
	if (r) {
		r = err_sys(err, CKPT_ENETSETUP, r, "network setup: cannot start a helper thread");
		goto out;
	}
	pthread_join(th, NULL);
	if (!job.sk) {
		r = job.sys ? err_sys(err, CKPT_ENETSETUP, job.sys,
				      "network setup: cannot enter %s", path) :
			      nl_fail(err, job.nlerr, "cannot open a netlink socket in %s", path);
		goto out;
	}
	if ((r = set_up(job.sk, "lo", err)) < 0)
		goto out;
	if (v->has_veth && ((r = add_addr(job.sk, v->ns_if, v->ns_addr, err)) < 0 ||
			    (r = set_up(job.sk, v->ns_if, err)) < 0 ||
			    (r = add_default_route(job.sk, v->ns_if, v->host_addr, err)) < 0))
		goto out;
	r = 0;
out:
	if (r < 0 && created)
		delete_link(host, v->host_if); /* takes its peer with it */
	if (veth)
		rtnl_link_put(veth);
	if (job.sk)
		nl_socket_free(job.sk);
	if (host)
		nl_socket_free(host);
	close(job.nsfd);
	return r;
}

int netns_netlink_socket(int nsfd, int protocol, struct nl_sock **ret, ckpt_err *err)
{
	struct ns_sock_job job = { .nsfd = nsfd, .protocol = protocol };
	pthread_t th;
	int r;

	r = dl_need_nl(err);
	if (r < 0)
		return r;
	r = pthread_create(&th, NULL, open_sock_in_ns, &job);
	if (r)
		return err_sys(err, CKPT_ESYS, r, "cannot start a helper thread");
	pthread_join(th, NULL);
	if (!job.sk)
		return job.sys ? err_sys(err, CKPT_ESYS, job.sys,
					 "cannot enter the network namespace") :
				 nl_fail(err, job.nlerr,
					 "cannot open a netlink socket in the namespace");
	*ret = job.sk;
	return 0;
}
