/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovering a tree whose dump ended without an answer: thaw its freezer cgroup, drop CRIU's nftables lock. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "net/netns.h"
#include "net/dl-nl.h"
#include "recover.h"
#include "proc/procfs.h"

#ifndef NFPROTO_INET
#define NFPROTO_INET 1
#endif

/* Write s to DIR/name if the file exists. 1 written, 0 no such file, <0 -errno. */
static int write_cg(int dirfd, const char *name, const char *s)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 1 : -EIO;
}

static void thaw(const char *cg, ckpt_err *err)
{
	int dfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0) {
		err_append(err, "(the freezer cgroup '%s' cannot be opened to thaw it)", cg);
		return;
	}
	r = write_cg(dfd, "freezer.state", "THAWED"); /* cgroup v1 */
	if (r == 0)
		r = write_cg(dfd, "cgroup.freeze", "0"); /* cgroup v2 */
	close(dfd);
	if (r > 0)
		err_append(err, "(its freezer cgroup '%s' was thawed)", cg);
	else
		err_append(
			err,
			"(its freezer cgroup '%s' could not be thawed: write THAWED to freezer.state or 0 to "
			"cgroup.freeze)",
			cg);
}

struct table_list {
	char names[16][64];
	int n;
};

static int on_table(struct nl_msg *msg, void *arg)
{
	struct table_list *l = arg;
	struct nlattr *tb[NFTA_TABLE_MAX + 1];
	const char *name;

	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct nfgenmsg), tb, NFTA_TABLE_MAX, NULL) < 0 ||
	    !tb[NFTA_TABLE_NAME])
		return NL_OK;
	name = nla_get_string(tb[NFTA_TABLE_NAME]);
	if (!strncmp(name, "CRIU-", 5) && l->n < (int)ARRAY_SIZE(l->names))
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
	return NL_OK;
}

static struct nl_msg *nft_msg(int type, int flags, uint16_t res_id)
{
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);
	struct nfgenmsg g = { .nfgen_family = NFPROTO_INET,
			      .version = NFNETLINK_V0,
			      .res_id = htons(res_id) };

	if (m && nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

/* Delete one inet table in one nftables batch. */
static int nft_delete_table(struct nl_sock *sk, const char *name)
{
	struct nl_msg *m[3] = {
		nft_msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES),
		nft_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELTABLE, NLM_F_REQUEST | NLM_F_ACK,
			0),
		nft_msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES),
	};
	unsigned char buf[512];
	size_t len = 0;
	int r = -NLE_NOMEM;

	if (!m[0] || !m[1] || !m[2] || nla_put_string(m[1], NFTA_TABLE_NAME, name) < 0)
		goto out;
	for (int i = 0; i < 3; i++) {
		struct nlmsghdr *h;

		nl_complete_msg(sk, m[i]);
		h = nlmsg_hdr(m[i]);
		if (len + NLMSG_ALIGN(h->nlmsg_len) > sizeof(buf))
			goto out;
		memcpy(buf + len, h, h->nlmsg_len);
		len += NLMSG_ALIGN(h->nlmsg_len);
	}
	r = nl_sendto(sk, buf, len);
	if (r >= 0)
		r = nl_wait_for_ack(sk);
out:
	for (int i = 0; i < 3; i++)
		if (m[i])
			nlmsg_free(m[i]);
	return r;
}

/* The tree's own network namespace (not ours), opened while its pidfd shows it is the tree meant; -1 if none. */
static int own_netns(const struct proc *target)
{
	struct stat ours, theirs;
	int nsfd;

	nsfd = procfs_open_at(target->pid, "ns/net", O_RDONLY);
	if (nsfd < 0)
		return -1;
	if (proc_signal_errno(target, 0) < 0 || fstat(nsfd, &theirs) < 0 ||
	    procfs_stat_at(PROCFS_SELF, "ns/net", &ours) < 0 ||
	    (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)) {
		close(nsfd); /* gone, or in our namespace: CRIU locks only a namespace of the tree's own */
		return -1;
	}
	return nsfd;
}

static void unlock_nftables(const struct proc *target, int nsfd, ckpt_err *err)
{
	struct table_list l = { .n = 0 };
	struct nl_sock *sk = NULL;
	struct nl_msg *m = NULL;

	if (dl_need_nl(NULL) < 0) {
		err_append(
			err,
			"(its network namespace could not be searched for CRIU's lock, libnl is not "
			"installed: nsenter -t %d -n nft list tables)",
			(int)target->pid);
		return;
	}
	if (netns_netlink_socket(nsfd, NETLINK_NETFILTER, &sk, NULL) < 0)
		goto fail;
	m = nft_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST | NLM_F_DUMP, 0);
	if (!m)
		goto fail;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_table, &l);
	if (nl_send_auto(sk, m) < 0 || nl_recvmsgs_default(sk) < 0)
		goto fail;
	for (int i = 0; i < l.n; i++) {
		/* only CRIU dumping this tree makes CRIU-* tables in its namespace, and one CRIU at a time can */
		if (nft_delete_table(sk, l.names[i]) >= 0)
			err_append(err,
				   "(CRIU's network lock, nftables table inet %s, was removed)",
				   l.names[i]);
		else
			err_append(
				err,
				"(CRIU's network lock, nftables table inet %s, is left: nsenter -t %d -n nft "
				"delete table inet %s)",
				l.names[i], (int)target->pid, l.names[i]);
	}
	nlmsg_free(m);
	nl_socket_free(sk);
	return;
fail:
	if (m)
		nlmsg_free(m);
	if (sk)
		nl_socket_free(sk);
	err_append(
		err,
		"(its network namespace could not be searched for CRIU's lock: nsenter -t %d -n nft list "
		"tables)",
		(int)target->pid);
}

void recover_after_dump(const ckpt_opts *o, const struct proc *target, ckpt_err *err)
{
	const CriuOpts *pb = o->pb;
	int nsfd;

	if (pb->freeze_cgroup && *pb->freeze_cgroup)
		thaw(pb->freeze_cgroup, err);
	if (target->pidfd < 0 || (nsfd = own_netns(target)) < 0)
		return;
	if (pb->has_network_lock && pb->network_lock == CRIU_NETWORK_LOCK_METHOD__NFTABLES)
		unlock_nftables(target, nsfd, err);
	else if (!pb->has_network_lock || pb->network_lock == CRIU_NETWORK_LOCK_METHOD__IPTABLES)
		err_append(
			err,
			"(CRIU's iptables lock may be left in its network namespace: nsenter -t %d -n "
			"iptables -S | grep CRIU)",
			(int)target->pid);
	close(nsfd);
}
