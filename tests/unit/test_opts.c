/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_opts: typed setters validate; every option set through the public API
 * is encoded into a criu request and decoded back by protobuf-c with the right
 * field number and value; clone and clear.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rpc/opts.h"

#define OK(expr)                                               \
	do {                                                   \
		ckpt_err e_ = CKPT_ERR_INIT;                   \
		int r_ = (expr);                               \
		(void)e_;                                      \
		ck_assert_msg(r_ == 0, "%s -> %d", #expr, r_); \
	} while (0)

static CriuOpts *roundtrip(const ckpt_opts *o)
{
	ckpt_err err = CKPT_ERR_INIT;
	CriuOpts *ro = opts_pb_for_request(o, -1, -1, &err);
	CriuReq req = CRIU_REQ__INIT;
	CriuReq *back;
	CriuOpts *out;
	uint8_t *buf;
	size_t len;

	ck_assert_ptr_nonnull(ro);
	req.type = CRIU_REQ_TYPE__DUMP;
	req.opts = ro;
	len = criu_req__get_packed_size(&req);
	buf = malloc(len);
	criu_req__pack(&req, buf);
	back = criu_req__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(back);
	out = back->opts;
	back->opts = NULL;
	criu_req__free_unpacked(back, NULL);
	criu_opts__free_unpacked(ro, NULL);
	free(buf);
	return out;
}

/* The protobuf field number of a CriuOpts member, from the descriptor. */
static unsigned num(const char *field)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(&criu_opts__descriptor, field);

	ck_assert_msg(f, "no field %s", field);
	return f->id;
}

START_TEST(every_option_encodes)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	int pipefd[2];
	char dir[] = "/tmp/ckpt-opts-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	OK(ckpt_opts_set_pid(o, 4242, &err));
	OK(ckpt_opts_set_images_dir(o, dir, &err));
	OK(ckpt_opts_set_work_dir(o, dir, &err));
	OK(ckpt_opts_set_parent_images(o, "../pre1", &err));
	static const ckpt_opt bools[] = {
		CKPT_OPT_LEAVE_RUNNING,
		CKPT_OPT_EXT_UNIX_SK,
		CKPT_OPT_TCP_ESTABLISHED,
		CKPT_OPT_TCP_SKIP_IN_FLIGHT,
		CKPT_OPT_EVASIVE_DEVICES,
		CKPT_OPT_SHELL_JOB,
		CKPT_OPT_FILE_LOCKS,
		CKPT_OPT_TRACK_MEM,
		CKPT_OPT_AUTO_DEDUP,
		CKPT_OPT_LINK_REMAP,
		CKPT_OPT_FORCE_IRMAP,
		CKPT_OPT_RST_SIBLING,
		CKPT_OPT_AUTO_EXT_MNT,
		CKPT_OPT_EXT_SHARING,
		CKPT_OPT_EXT_MASTERS,
		CKPT_OPT_WEAK_SYSCTLS,
		CKPT_OPT_LAZY_PAGES,
		CKPT_OPT_ORPHAN_PTS_MASTER,
		CKPT_OPT_MNTNS_COMPAT_MODE,
		CKPT_OPT_SKIP_FILE_RWX_CHECK,
		CKPT_OPT_UNPRIVILEGED,
		CKPT_OPT_DISPLAY_STATS,
		CKPT_OPT_TLS,
		CKPT_OPT_TLS_NO_CN_VERIFY,
		CKPT_OPT_MANAGE_CGROUPS,
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		ck_assert_msg(ckpt_opts_set_bool(o, bools[i], true, &err) == 0, "%d: %s", bools[i],
			      err.msg);
	OK(ckpt_opts_set_int(o, CKPT_OPT_LOG_LEVEL, 4, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_GHOST_LIMIT, 1 << 22, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_TIMEOUT, 33, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_CPU_CAP, 5, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_STATUS_FD, pipefd[1], &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_EMPTY_NS, CLONE_NEWNET, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_PRE_DUMP_MODE, CKPT_PRE_DUMP_VM_READ, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, CKPT_CGROUP_STRICT, &err));
	OK(ckpt_opts_set_int(o, CKPT_OPT_PIDFD_STORE_SK, pipefd[0], &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_LOG_FILE, "x.log", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_ROOT, "/", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_CGROUP_PROPS, "props", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_CGROUP_PROPS_FILE, "/etc/hostname", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_FREEZE_CGROUP, "/sys/fs/cgroup/freezer/x", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_CGROUP_YARD, "/yard", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_LSM_PROFILE, "apparmor:p", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_LSM_MOUNT_CONTEXT, "ctx", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_CONFIG_FILE, "/etc/passwd", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_TLS_CACERT, "/etc/hosts", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_TLS_CACRL, "/etc/group", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_TLS_CERT, "/etc/shells", &err));
	OK(ckpt_opts_set_str(o, CKPT_OPT_TLS_KEY, "/etc/issue", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_EXTERNAL, "net[4026531992]:extnet", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_EXTERNAL, "mnt[/a]:a", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_SKIP_MNT, "/proc/x", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_ENABLE_FS, "hugetlbfs", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_IRMAP_SCAN_PATH, "/usr", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_CGROUP_DUMP_CONTROLLER, "memory", &err));
	OK(ckpt_opts_add_str(o, CKPT_OPT_EXEC_CMD, "true", &err));
	OK(ckpt_opts_add_ext_mount(o, "/etc/hosts", "hosts", &err));
	OK(ckpt_opts_add_veth(o, "eth0", "veth0", &err));
	OK(ckpt_opts_add_inherit_fd(o, pipefd[0], "pipe:[123]", &err));
	OK(ckpt_opts_add_join_ns(o, "net", "/proc/1/ns/net", NULL, &err));
	OK(ckpt_opts_add_cgroup_root(o, "cpu", "/ctr", &err));
	OK(ckpt_opts_add_unix_sk_ino(o, 777, &err));
	OK(ckpt_opts_set_page_server_addr(o, "127.0.0.1", 27000, &err));

	CriuOpts *b = roundtrip(o);

	/* field numbers as CRIU knows them */
	ck_assert_uint_eq(num("images_dir_fd"), 1);
	ck_assert_uint_eq(num("pid"), 2);
	ck_assert_uint_eq(num("ps"), 11);
	ck_assert_uint_eq(num("external"), 37);
	ck_assert_uint_eq(num("empty_ns"), 38);
	ck_assert_uint_eq(num("network_lock"), 64);
	ck_assert_uint_eq(num("images_dir"), 68);
	ck_assert_uint_eq(num("display_stats"), 70);
	ck_assert_uint_eq(num("manage_cgroups_mode"), 34);
	ck_assert_uint_eq(num("rst_sibling"), 26);
	ck_assert_uint_eq(num("inherit_fd"), 27);

	ck_assert_int_eq(b->pid, 4242);
	/* directories given by path are opened at each request: the encoder gets the fds then */
	ck_assert_int_eq(b->images_dir_fd, -1);
	ck_assert(!b->has_work_dir_fd);
	ck_assert(ckpt_opts_is_set(o, CKPT_OPT_IMAGES_DIR) &&
		  ckpt_opts_is_set(o, CKPT_OPT_WORK_DIR));
	ck_assert_str_eq(b->parent_img, "../pre1");
	ck_assert(b->leave_running && b->ext_unix_sk && b->tcp_established &&
		  b->tcp_skip_in_flight);
	ck_assert(b->evasive_devices && b->shell_job && b->file_locks && b->track_mem &&
		  b->auto_dedup);
	ck_assert(b->link_remap && b->force_irmap && b->rst_sibling && b->auto_ext_mnt &&
		  b->ext_sharing);
	ck_assert(b->ext_masters && b->weak_sysctls && b->lazy_pages && b->orphan_pts_master);
	ck_assert(b->mntns_compat_mode && b->skip_file_rwx_check && b->unprivileged &&
		  b->display_stats);
	ck_assert(b->tls && b->tls_no_cn_verify && b->manage_cgroups);
	ck_assert_int_eq(b->log_level, 4);
	ck_assert_uint_eq(b->ghost_limit, 1 << 22);
	ck_assert_uint_eq(b->timeout, 33);
	ck_assert_uint_eq(b->cpu_cap, 5);
	ck_assert_int_eq(b->status_fd, pipefd[1]);
	ck_assert_uint_eq(b->empty_ns, CLONE_NEWNET);
	ck_assert_int_eq(b->network_lock, CRIU_NETWORK_LOCK_METHOD__NFTABLES);
	ck_assert_int_eq(b->pre_dump_mode, CRIU_PRE_DUMP_MODE__VM_READ);
	ck_assert_int_eq(b->manage_cgroups_mode, CRIU_CG_MODE__STRICT);
	ck_assert_int_eq(b->pidfd_store_sk, pipefd[0]);
	ck_assert_str_eq(b->log_file, "x.log");
	ck_assert_str_eq(b->root, "/");
	ck_assert_str_eq(b->cgroup_props, "props");
	ck_assert_str_eq(b->cgroup_props_file, "/etc/hostname");
	ck_assert_str_eq(b->freeze_cgroup, "/sys/fs/cgroup/freezer/x");
	ck_assert_str_eq(b->cgroup_yard, "/yard");
	ck_assert_str_eq(b->lsm_profile, "apparmor:p");
	ck_assert_str_eq(b->lsm_mount_context, "ctx");
	ck_assert_str_eq(b->config_file, "/etc/passwd");
	ck_assert_str_eq(b->tls_cacert, "/etc/hosts");
	ck_assert_str_eq(b->tls_cacrl, "/etc/group");
	ck_assert_str_eq(b->tls_cert, "/etc/shells");
	ck_assert_str_eq(b->tls_key, "/etc/issue");
	ck_assert_uint_eq(b->n_external, 2);
	ck_assert_str_eq(b->external[0], "net[4026531992]:extnet");
	ck_assert_str_eq(b->external[1], "mnt[/a]:a");
	ck_assert_str_eq(b->skip_mnt[0], "/proc/x");
	ck_assert_str_eq(b->enable_fs[0], "hugetlbfs");
	ck_assert_str_eq(b->irmap_scan_paths[0], "/usr");
	ck_assert_str_eq(b->cgroup_dump_controller[0], "memory");
	ck_assert_str_eq(b->exec_cmd[0], "true");
	ck_assert_str_eq(b->ext_mnt[0]->key, "/etc/hosts");
	ck_assert_str_eq(b->ext_mnt[0]->val, "hosts");
	ck_assert_str_eq(b->veths[0]->if_in, "eth0");
	ck_assert_str_eq(b->veths[0]->if_out, "veth0");
	ck_assert_str_eq(b->inherit_fd[0]->key, "pipe:[123]");
	ck_assert_int_eq(b->inherit_fd[0]->fd, pipefd[0]);
	ck_assert_str_eq(b->join_ns[0]->ns, "net");
	ck_assert_str_eq(b->join_ns[0]->ns_file, "/proc/1/ns/net");
	ck_assert_str_eq(b->cg_root[0]->ctrl, "cpu");
	ck_assert_str_eq(b->cg_root[0]->path, "/ctr");
	ck_assert_uint_eq(b->unix_sk_ino[0]->inode, 777);
	ck_assert_str_eq(b->ps->address, "127.0.0.1");
	ck_assert_int_eq(b->ps->port, 27000);
	criu_opts__free_unpacked(b, NULL);

	/* a clone encodes to the same bytes */
	ckpt_opts *c2 = NULL;
	OK(ckpt_opts_clone(o, &c2, &err));
	CriuOpts *x = roundtrip(c2);
	ck_assert_str_eq(x->tls_key, "/etc/issue");
	ck_assert_uint_eq(x->n_external, 2);
	ck_assert(ckpt_opts_is_set(c2, CKPT_OPT_IMAGES_DIR)); /* the path goes along */
	criu_opts__free_unpacked(x, NULL);
	ckpt_opts_free(c2);

	/* cleared groups go back to CRIU's defaults */
	OK(ckpt_opts_clear(o, CKPT_OPT_EXTERNAL, &err));
	OK(ckpt_opts_clear(o, CKPT_OPT_VETH, &err));
	OK(ckpt_opts_clear(o, CKPT_OPT_LOG_LEVEL, &err));
	OK(ckpt_opts_clear(o, CKPT_OPT_PAGE_SERVER, &err));
	OK(ckpt_opts_clear(o, CKPT_OPT_ROOT, &err));
	ck_assert(!ckpt_opts_is_set(o, CKPT_OPT_EXTERNAL));
	ck_assert(!ckpt_opts_is_set(o, CKPT_OPT_LOG_LEVEL));
	ck_assert(ckpt_opts_is_set(o, CKPT_OPT_SKIP_MNT));
	x = roundtrip(o);
	ck_assert_uint_eq(x->n_external, 0);
	ck_assert_uint_eq(x->n_veths, 0);
	ck_assert(!x->has_log_level);
	ck_assert_int_eq(x->log_level, 2);
	ck_assert_ptr_null(x->ps);
	ck_assert_ptr_null(x->root);
	criu_opts__free_unpacked(x, NULL);

	ckpt_opts_free(o);
	close(pipefd[0]);
	close(pipefd[1]);
	rmdir(dir);
}
END_TEST

/* bad values: each refused with CKPT_EINVAL and a message naming the option */
START_TEST(bad_values)
{
	static const struct {
		ckpt_opt key;
		int kind; /* 0 bool 1 int 2 str 3 add */
		int64_t i;
		const char *s;
		const char *want; /* substring of the message */
	} cases[] = {
		{ CKPT_OPT_LOG_LEVEL, 1, 5, NULL, "log-level" },
		{ CKPT_OPT_LOG_LEVEL, 1, -1, NULL, "log-level" },
		{ CKPT_OPT_GHOST_LIMIT, 1, 1ll << 33, NULL, "ghost-limit" },
		{ CKPT_OPT_NETWORK_LOCK, 1, 0, NULL, "network-lock" },
		{ CKPT_OPT_NETWORK_LOCK, 1, 4, NULL, "network-lock" },
		{ CKPT_OPT_CGROUP_MODE, 1, 7, NULL, "manage-cgroups-mode" },
		{ CKPT_OPT_PRE_DUMP_MODE, 1, 3, NULL, "pre-dump-mode" },
		{ CKPT_OPT_STATUS_FD, 1, 9999, NULL, "status-fd" },
		{ CKPT_OPT_EMPTY_NS, 1, CLONE_NEWPID, NULL, "empty-ns" },
		{ CKPT_OPT_LOG_FILE, 2, 0, "../x.log", "log-file" },
		{ CKPT_OPT_LOG_FILE, 2, 0, "", "log-file" },
		{ CKPT_OPT_ROOT, 2, 0, "relative/root", "root" },
		{ CKPT_OPT_CONFIG_FILE, 2, 0, "etc/criu.conf", "config-file" },
		{ CKPT_OPT_CGROUP_PROPS_FILE, 2, 0, "/nonexistent/props.yaml",
		  "'/nonexistent/props.yaml'" },
		{ CKPT_OPT_ROOT, 2, 0, "/etc/passwd", "not a directory" },
		{ CKPT_OPT_TLS_KEY, 2, 0, "/etc", "not a regular file" },
		{ CKPT_OPT_LSM_PROFILE, 2, 0, "bad\nprofile", "lsm-profile" },
		{ CKPT_OPT_EXTERNAL, 3, 0, "", "external" },
		{ CKPT_OPT_TCP_ESTABLISHED, 1, 1, NULL, "not a int option" },
		{ CKPT_OPT_LOG_LEVEL, 0, 1, NULL, "not a bool option" },
		{ CKPT_OPT_EXTERNAL, 2, 0, "x", "not a string option" },
		{ (ckpt_opt)9999, 0, 1, NULL, "unknown option key 9999" },
	};
	ckpt_opts *o = ckpt_opts_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ckpt_err err = CKPT_ERR_INIT;
		int r = cases[i].kind == 0 ? ckpt_opts_set_bool(o, cases[i].key, cases[i].i, &err) :
			cases[i].kind == 1 ? ckpt_opts_set_int(o, cases[i].key, cases[i].i, &err) :
			cases[i].kind == 2 ? ckpt_opts_set_str(o, cases[i].key, cases[i].s, &err) :
					     ckpt_opts_add_str(o, cases[i].key, cases[i].s, &err);

		ck_assert_msg(r == CKPT_EINVAL, "case %zu: %d", i, r);
		ck_assert_int_eq(err.code, CKPT_EINVAL);
		ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i,
			      err.msg, cases[i].want);
	}
	/* nothing invalid was stored */
	ck_assert(!ckpt_opts_is_set(o, CKPT_OPT_LOG_LEVEL));
	ck_assert(!ckpt_opts_is_set(o, CKPT_OPT_EXTERNAL));
	ckpt_opts_free(o);
}
END_TEST

START_TEST(mutually_exclusive)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;

	OK(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_RUNNING, true, &err));
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_LEAVE_STOPPED, true, &err), CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "leave-stopped"));
	ck_assert_ptr_nonnull(strstr(err.msg, "leave-running"));
	OK(ckpt_opts_set_bool(o, CKPT_OPT_TCP_ESTABLISHED, true, &err));
	ck_assert_int_eq(ckpt_opts_set_bool(o, CKPT_OPT_TCP_CLOSE, true, &err), CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "tcp-close"));
	ck_assert_ptr_nonnull(strstr(err.msg, "tcp-established"));
	ckpt_opts_free(o);
}
END_TEST

START_TEST(paths)
{
	ckpt_opts *o = ckpt_opts_new();
	ckpt_err err = CKPT_ERR_INIT;
	char dir[] = "/tmp/ckpt-nofollow-XXXXXX", link[256], sub[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(symlink("real", link), 0);
	/*
	 * By default a symlink no other user could have planted is followed: ours (or root's), in
	 * a directory of ours that others cannot write (or that is sticky, as /tmp).
	 */
	OK(ckpt_opts_set_images_dir(o, link, &err));
	snprintf(sub, sizeof(sub), "%s/link/", dir); /* through the link, as a middle component */
	OK(ckpt_opts_set_work_dir(o, sub, &err));
	ck_assert_int_eq(chmod(dir, 01777), 0);
	OK(ckpt_opts_set_images_dir(o, link, &err));
	/* in a directory others can write and not sticky, anyone could have swapped it */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(ckpt_opts_set_images_dir(o, link, &err), CKPT_EIMAGES);
	ck_assert_ptr_nonnull(strstr(err.msg, "'link'"));
	ck_assert_ptr_nonnull(strstr(err.msg, "in a directory others can write"));
	ck_assert_int_eq(err.hint_opt, CKPT_OPT_FOLLOW_SYMLINKS);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* one another user owns: refused, naming it; on request it is followed */
	if (geteuid() == 0) {
		ck_assert_int_eq(lchown(link, 65534, 65534), 0);
		ckpt_opts_clear(o, CKPT_OPT_IMAGES_DIR, NULL);
		ck_assert_int_eq(ckpt_opts_set_images_dir(o, link, &err), CKPT_EIMAGES);
		ck_assert_ptr_nonnull(strstr(err.msg, "symlink owned by uid 65534"));
		ck_assert(!ckpt_opts_is_set(o, CKPT_OPT_IMAGES_DIR));
		ck_assert_int_eq(ckpt_opts_set_work_dir(o, sub, &err), CKPT_EIMAGES);
		OK(ckpt_opts_set_bool(o, CKPT_OPT_FOLLOW_SYMLINKS, true, &err));
		OK(ckpt_opts_set_images_dir(o, link, &err));
		OK(ckpt_opts_clear(o, CKPT_OPT_FOLLOW_SYMLINKS, &err));
	}
	/* a loop ends in an error, not a hang */
	{
		char a[256], b[256];

		snprintf(a, sizeof(a), "%s/loop-a", dir);
		snprintf(b, sizeof(b), "%s/loop-b", dir);
		ck_assert_int_eq(symlink(b, a), 0);
		ck_assert_int_eq(symlink(a, b), 0);
		ck_assert_int_eq(ckpt_opts_set_images_dir(o, a, &err), CKPT_EIMAGES);
		ck_assert_int_eq(err.sys_errno, ELOOP);
		unlink(a);
		unlink(b);
	}
	snprintf(sub, sizeof(sub), "%s/real", dir);
	OK(ckpt_opts_set_images_dir(o, sub, &err));
	/* parent images: relative, no climbing out */
	ck_assert_int_eq(ckpt_opts_set_parent_images(o, "/abs", &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_opts_set_parent_images(o, "../a/../../b", &err), CKPT_EINVAL);
	OK(ckpt_opts_set_parent_images(o, "../pre", &err));
	ck_assert_int_eq(ckpt_opts_set_pid(o, -3, &err), CKPT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "-3"));
	ckpt_opts_free(o);
	unlink(link);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("opts");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, every_option_encodes);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, mutually_exclusive);
	tcase_add_test(tc, paths);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
