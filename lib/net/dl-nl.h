/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnl-3 and libnl-route-3, loaded on first use (base/dl.h): network namespaces, CRIU's lock. */
#ifndef CKPT_DL_NL_H
#define CKPT_DL_NL_H

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "base/dl.h"

/*
 * The names this library's code calls, each a field of struct dl_nl. A name missing
 * here fails the link (libckpt is linked with --no-undefined and without the library);
 * libnl-route-3 needs libnl-3: both are loaded, libnl-3 first, and a name is looked up in both.
 */
/* clang-format off */
#define DL_NL_SYMS(X) \
	X(nl_addr_parse) X(nl_addr_put) X(nl_complete_msg) X(nl_connect) X(nl_geterror) \
	X(nl_recvmsgs_default) X(nl_send_auto) X(nl_sendto) X(nl_socket_alloc) X(nl_socket_free) \
	X(nl_socket_modify_cb) X(nl_wait_for_ack) X(nla_get_string) X(nla_put_string) \
	X(nlmsg_alloc_simple) X(nlmsg_append) X(nlmsg_free) X(nlmsg_hdr) X(nlmsg_parse) \
	X(rtnl_addr_add) X(rtnl_addr_alloc) X(rtnl_addr_put) X(rtnl_addr_set_ifindex) \
	X(rtnl_addr_set_local) X(rtnl_link_add) X(rtnl_link_alloc) X(rtnl_link_change) \
	X(rtnl_link_delete) X(rtnl_link_get_ifindex) X(rtnl_link_get_kernel) X(rtnl_link_put) \
	X(rtnl_link_set_flags) X(rtnl_link_set_name) X(rtnl_link_set_ns_fd) \
	X(rtnl_link_veth_alloc) X(rtnl_link_veth_get_peer) X(rtnl_route_add) \
	X(rtnl_route_add_nexthop) X(rtnl_route_alloc) X(rtnl_route_nh_alloc) X(rtnl_route_nh_free) \
	X(rtnl_route_nh_set_gateway) X(rtnl_route_nh_set_ifindex) X(rtnl_route_put) \
	X(rtnl_route_set_dst) X(rtnl_route_set_family)
/* clang-format on */

struct dl_nl {
	DL_NL_SYMS(DL_FIELD)
};

/* The table, loaded on first use; call only after dl_need_nl() succeeded. */
const struct dl_nl *dl_nl(void);
/* Load the library once: 0, or CKPT_EMISSINGLIB naming it and its package. */
int dl_need_nl(ckpt_err *err);

#ifndef DL_NL_IMPL /* dl-nl.c itself sees the real names */
#define nl_addr_parse (dl_nl()->nl_addr_parse)
#define nl_addr_put (dl_nl()->nl_addr_put)
#define nl_complete_msg (dl_nl()->nl_complete_msg)
#define nl_connect (dl_nl()->nl_connect)
#define nl_geterror (dl_nl()->nl_geterror)
#define nl_recvmsgs_default (dl_nl()->nl_recvmsgs_default)
#define nl_send_auto (dl_nl()->nl_send_auto)
#define nl_sendto (dl_nl()->nl_sendto)
#define nl_socket_alloc (dl_nl()->nl_socket_alloc)
#define nl_socket_free (dl_nl()->nl_socket_free)
#define nl_socket_modify_cb (dl_nl()->nl_socket_modify_cb)
#define nl_wait_for_ack (dl_nl()->nl_wait_for_ack)
#define nla_get_string (dl_nl()->nla_get_string)
#define nla_put_string (dl_nl()->nla_put_string)
#define nlmsg_alloc_simple (dl_nl()->nlmsg_alloc_simple)
#define nlmsg_append (dl_nl()->nlmsg_append)
#define nlmsg_free (dl_nl()->nlmsg_free)
#define nlmsg_hdr (dl_nl()->nlmsg_hdr)
#define nlmsg_parse (dl_nl()->nlmsg_parse)
#define rtnl_addr_add (dl_nl()->rtnl_addr_add)
#define rtnl_addr_alloc (dl_nl()->rtnl_addr_alloc)
#define rtnl_addr_put (dl_nl()->rtnl_addr_put)
#define rtnl_addr_set_ifindex (dl_nl()->rtnl_addr_set_ifindex)
#define rtnl_addr_set_local (dl_nl()->rtnl_addr_set_local)
#define rtnl_link_add (dl_nl()->rtnl_link_add)
#define rtnl_link_alloc (dl_nl()->rtnl_link_alloc)
#define rtnl_link_change (dl_nl()->rtnl_link_change)
#define rtnl_link_delete (dl_nl()->rtnl_link_delete)
#define rtnl_link_get_ifindex (dl_nl()->rtnl_link_get_ifindex)
#define rtnl_link_get_kernel (dl_nl()->rtnl_link_get_kernel)
#define rtnl_link_put (dl_nl()->rtnl_link_put)
#define rtnl_link_set_flags (dl_nl()->rtnl_link_set_flags)
#define rtnl_link_set_name (dl_nl()->rtnl_link_set_name)
#define rtnl_link_set_ns_fd (dl_nl()->rtnl_link_set_ns_fd)
#define rtnl_link_veth_alloc (dl_nl()->rtnl_link_veth_alloc)
#define rtnl_link_veth_get_peer (dl_nl()->rtnl_link_veth_get_peer)
#define rtnl_route_add (dl_nl()->rtnl_route_add)
#define rtnl_route_add_nexthop (dl_nl()->rtnl_route_add_nexthop)
#define rtnl_route_alloc (dl_nl()->rtnl_route_alloc)
#define rtnl_route_nh_alloc (dl_nl()->rtnl_route_nh_alloc)
#define rtnl_route_nh_free (dl_nl()->rtnl_route_nh_free)
#define rtnl_route_nh_set_gateway (dl_nl()->rtnl_route_nh_set_gateway)
#define rtnl_route_nh_set_ifindex (dl_nl()->rtnl_route_nh_set_ifindex)
#define rtnl_route_put (dl_nl()->rtnl_route_put)
#define rtnl_route_set_dst (dl_nl()->rtnl_route_set_dst)
#define rtnl_route_set_family (dl_nl()->rtnl_route_set_family)
#endif

#endif
