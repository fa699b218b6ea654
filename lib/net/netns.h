/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network namespaces with libnl: the veth setup of an empty-ns restore, netlink sockets inside a namespace. */
#ifndef CKPT_NETNS_H
#define CKPT_NETNS_H

#include <net/if.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "base/error.h"

struct nl_sock;

/* What to wire at setup-namespaces: lo, and optionally a veth pair with addresses and a route. */
struct netns_veth {
	char ns_if[IFNAMSIZ];
	char host_if[IFNAMSIZ];
	char ns_addr[INET6_ADDRSTRLEN + 4];
	char host_addr[INET6_ADDRSTRLEN + 4];
	bool has_veth;
};

/* Checked values (all four NULL: lo only). */
int netns_veth_new(const char *ns_if, const char *host_if, const char *ns_cidr,
		   const char *host_cidr, struct netns_veth **ret, ckpt_err *err);
/* From "NS_IF:HOST_IF:NS_ADDR/PREFIX:HOST_ADDR/PREFIX" (IPv6 addresses in brackets). */
int netns_veth_from_spec(const char *spec, struct netns_veth **ret, ckpt_err *err);
/* Wire the network namespace of pid (CRIU's setup-namespaces pid). */
int netns_setup_run(const struct netns_veth *v, pid_t pid, ckpt_err *err);
/*
 * A netlink socket of protocol inside the network namespace nsfd, opened by a
 * short-lived helper thread (the caller's thread never changes namespace).
 */
int netns_netlink_socket(int nsfd, int protocol, struct nl_sock **ret, ckpt_err *err);

#endif
