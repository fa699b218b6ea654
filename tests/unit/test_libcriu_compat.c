/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libcriu.so.2 drop-in (compat/libcriu). Built twice:
 *  - test_libcriu_compat: linked with the drop-in's objects, so the hidden
 *    test hooks reach the wrapped ckpt_opts: every setter (global and local
 *    form) lands in the right libckpt option; error returns and errno as
 *    libcriu documents them; no criu needed.
 *  - test_libcriu_compat_criu (COMPAT_REAL_CRIU): linked with libcriu.so.2
 *    itself, against real CRIU: check, version, features, dump and
 *    restore_child of a counter, notifications, errors from CRIU.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "criu.h"

#ifndef COMPAT_REAL_CRIU
#include "compat-internal.h"

/* JSON of the global or a local options object; the caller frees. */
static char *json_of(const criu_opts *o)
{
	char *j;

	ck_assert_ptr_nonnull(o);
	j = ckpt_opts_to_json(criu_compat_ckpt_opts(o));
	ck_assert_ptr_nonnull(j);
	return j;
}

#define ck_assert_json_has(o, needle)                                                    \
	do {                                                                             \
		char *j_ = json_of(o);                                                   \
		ck_assert_msg(strstr(j_, needle) != NULL, "'%s' not in %s", needle, j_); \
		free(j_);                                                                \
	} while (0)

#define ck_assert_json_lacks(o, needle)                                              \
	do {                                                                         \
		char *j_ = json_of(o);                                               \
		ck_assert_msg(strstr(j_, needle) == NULL, "'%s' in %s", needle, j_); \
		free(j_);                                                            \
	} while (0)

struct bool_case {
	void (*global)(bool);
	void (*local)(criu_opts *, bool);
	const char *field;
};

#define B(name, field)                                        \
	{                                                     \
		criu_set_##name, criu_local_set_##name, field \
	}
static const struct bool_case bools[] = {
	B(leave_running, "leave_running"),
	B(ext_unix_sk, "ext_unix_sk"),
	B(tcp_established, "tcp_established"),
	B(tcp_skip_in_flight, "tcp_skip_in_flight"),
	B(tcp_close, "tcp_close"),
	B(weak_sysctls, "weak_sysctls"),
	B(evasive_devices, "evasive_devices"),
	B(shell_job, "shell_job"),
	B(skip_file_rwx_check, "skip_file_rwx_check"),
	B(unprivileged, "unprivileged"),
	B(orphan_pts_master, "orphan_pts_master"),
	B(file_locks, "file_locks"),
	B(track_mem, "track_mem"),
	B(auto_dedup, "auto_dedup"),
	B(force_irmap, "force_irmap"),
	B(link_remap, "link_remap"),
	B(manage_cgroups, "manage_cgroups"),
	B(auto_ext_mnt, "auto_ext_mnt"),
	B(ext_sharing, "ext_sharing"),
	B(ext_masters, "ext_masters"),
	B(mntns_compat_mode, "mntns_compat_mode"),
};

START_TEST(bool_setters)
{
	const struct bool_case *b = &bools[_i];
	criu_opts *lo = NULL;
	char needle[96];

	snprintf(needle, sizeof(needle), "\"%s\":true", b->field);
	ck_assert_int_eq(criu_init_opts(), 0);
	b->global(true);
	ck_assert_json_has(criu_compat_global(), needle);
	criu_free_opts();

	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	b->local(lo, true);
	ck_assert_json_has(lo, needle);
	snprintf(needle, sizeof(needle), "\"%s\":false", b->field);
	b->local(lo, false);
	ck_assert_json_has(lo, needle);
	criu_local_free_opts(lo);
}
END_TEST

struct str_case {
	int (*global)(const char *);
	int (*local)(criu_opts *, const char *);
	const char *value, *expect;
};

static const struct str_case strs[] = {
	{ criu_set_log_file, criu_local_set_log_file, "x.log", "\"log_file\":\"x.log\"" },
	{ criu_set_root, criu_local_set_root, "/run", "\"root\":\"/run\"" },
	{ criu_set_freeze_cgroup, criu_local_set_freeze_cgroup, "/sys/fs/cgroup/freezer/a",
	  "\"freeze_cgroup\":\"/sys/fs/cgroup/freezer/a\"" },
	{ criu_set_lsm_profile, criu_local_set_lsm_profile, "apparmor:p",
	  "\"lsm_profile\":\"apparmor:p\"" },
	{ criu_set_lsm_mount_context, criu_local_set_lsm_mount_context, "ctx",
	  "\"lsm_mount_context\":\"ctx\"" },
	{ criu_set_config_file, criu_local_set_config_file, "/etc/criu/x.conf",
	  "\"config_file\":\"/etc/criu/x.conf\"" },
	{ criu_add_cg_props, criu_local_add_cg_props, "p", "\"cgroup_props\":\"p\"" },
	{ criu_add_cg_props_file, criu_local_add_cg_props_file, "/etc/hostname",
	  "\"cgroup_props_file\":\"/etc/hostname\"" },
	{ criu_add_cg_yard, criu_local_add_cg_yard, "/yard", "\"cgroup_yard\":\"/yard\"" },
	{ criu_add_cg_dump_controller, criu_local_add_cg_dump_controller, "cpu",
	  "\"cgroup_dump_controller\":[\"cpu\"]" },
	{ criu_add_enable_fs, criu_local_add_enable_fs, "nfs", "\"enable_fs\":[\"nfs\"]" },
	{ criu_add_skip_mnt, criu_local_add_skip_mnt, "/mnt/x", "\"skip_mnt\":[\"/mnt/x\"]" },
	{ criu_add_irmap_path, criu_local_add_irmap_path, "/usr",
	  "\"irmap_scan_paths\":[\"/usr\"]" },
	{ criu_add_external, criu_local_add_external, "net[4026531993]:extRootNetNS",
	  "\"external\":[\"net[4026531993]:extRootNetNS\"]" },
};

START_TEST(string_setters)
{
	const struct str_case *s = &strs[_i];
	criu_opts *lo = NULL;

	ck_assert_int_eq(criu_init_opts(), 0);
	ck_assert_int_eq(s->global(s->value), 0);
	ck_assert_json_has(criu_compat_global(), s->expect);
	criu_free_opts();
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	ck_assert_int_eq(s->local(lo, s->value), 0);
	ck_assert_json_has(lo, s->expect);
	criu_local_free_opts(lo);
}
END_TEST

START_TEST(structured_adders)
{
	char *argv[] = { "sh", "-c", "true" };
	int p[2];

	ck_assert_int_eq(criu_init_opts(), 0);
	ck_assert_int_eq(criu_add_ext_mount("/etc/hosts", "hosts"), 0);
	ck_assert_int_eq(criu_add_veth_pair("eth0", "veth1"), 0);
	ck_assert_int_eq(criu_add_cg_root(NULL, "/ctr"), 0);
	ck_assert_int_eq(criu_add_cg_root("cpu", "/ctr/cpu"), 0);
	ck_assert_int_eq(criu_add_unix_sk(4242), 0);
	ck_assert_int_eq(criu_join_ns_add("net", "/proc/1/ns/net", NULL), 0);
	ck_assert_int_eq(criu_set_exec_cmd(3, argv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(criu_add_inherit_fd(p[0], "pipe:[1]"), 0);
	ck_assert_json_has(criu_compat_global(),
			   "\"ext_mnt\":[{\"key\":\"/etc/hosts\",\"val\":\"hosts\"}]");
	ck_assert_json_has(criu_compat_global(), "\"if_in\":\"eth0\"");
	ck_assert_json_has(criu_compat_global(), "\"if_out\":\"veth1\"");
	ck_assert_json_has(criu_compat_global(), "\"path\":\"/ctr\"");
	ck_assert_json_has(criu_compat_global(), "\"ctrl\":\"cpu\"");
	ck_assert_json_has(criu_compat_global(), "4242");
	ck_assert_json_has(criu_compat_global(), "\"ns_file\":\"/proc/1/ns/net\"");
	ck_assert_json_has(criu_compat_global(), "\"exec_cmd\":[\"sh\",\"-c\",\"true\"]");
	ck_assert_json_has(criu_compat_global(), "\"key\":\"pipe:[1]\"");
	/* bad values of int setters come back at once, as -EINVAL */
	errno = 0;
	ck_assert_int_eq(criu_add_ext_mount(NULL, "x"), -EINVAL);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(criu_set_exec_cmd(0, argv), -EINVAL);
	criu_free_opts();
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(int_setters)
{
	criu_opts *lo = NULL;

	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_cpu_cap(lo, 7);
	criu_local_set_ghost_limit(lo, 1 << 20);
	criu_local_set_timeout(lo, 300);
	criu_local_set_log_level(lo, CRIU_LOG_DEBUG);
	criu_local_set_manage_cgroups_mode(lo, CRIU_CG_MODE_SOFT);
	criu_local_set_empty_ns(lo, CLONE_NEWNET);
	ck_assert_int_eq(criu_local_set_network_lock(lo, CRIU_NETWORK_LOCK_NFTABLES), 0);
	ck_assert_int_eq(criu_local_set_pre_dump_mode(lo, CRIU_PRE_DUMP_READ), 0);
	ck_assert_json_has(lo, "\"cpu_cap\":7");
	ck_assert_json_has(lo, "\"ghost_limit\":1048576");
	ck_assert_json_has(lo, "\"timeout\":300");
	ck_assert_json_has(lo, "\"log_level\":4");
	ck_assert_json_has(lo, "\"manage_cgroups_mode\":\"SOFT\"");
	ck_assert_json_has(lo, "\"empty_ns\":");
	ck_assert_json_has(lo, "\"network_lock\":\"NFTABLES\"");
	ck_assert_json_has(lo, "\"pre_dump_mode\":\"VM_READ\"");
	/* CRIU's own timeout extends the request deadline past it */
	ck_assert_uint_eq(criu_compat_deadline_ms(lo), 330000);
	criu_local_set_log_level(lo, CRIU_LOG_UNSET);
	ck_assert_json_lacks(lo, "\"log_level\"");
	ck_assert_int_eq(criu_local_set_network_lock(lo, 9), -EINVAL);
	criu_local_free_opts(lo);

	ck_assert_int_eq(criu_init_opts(), 0);
	ck_assert_uint_eq(criu_compat_deadline_ms(criu_compat_global()), 0); /* libcriu has none */
	criu_set_cpu_cap(3);
	criu_set_ghost_limit(5);
	criu_set_timeout(10);
	criu_set_log_level(2);
	criu_set_manage_cgroups_mode(CRIU_CG_MODE_IGNORE);
	criu_set_empty_ns(CLONE_NEWNET);
	ck_assert_int_eq(criu_set_network_lock(CRIU_NETWORK_LOCK_SKIP), 0);
	ck_assert_int_eq(criu_set_pre_dump_mode(CRIU_PRE_DUMP_SPLICE), 0);
	ck_assert_json_has(criu_compat_global(), "\"cpu_cap\":3");
	ck_assert_json_has(criu_compat_global(), "\"ghost_limit\":5");
	ck_assert_json_has(criu_compat_global(), "\"timeout\":10");
	ck_assert_json_has(criu_compat_global(), "\"log_level\":2");
	ck_assert_json_has(criu_compat_global(), "\"manage_cgroups_mode\":\"IGNORE\"");
	ck_assert_json_has(criu_compat_global(), "\"network_lock\":\"SKIP\"");
	ck_assert_json_has(criu_compat_global(), "\"pre_dump_mode\":\"SPLICE\"");
	criu_free_opts();
}
END_TEST

/* libcriu's setter returned -ENOMEM even on success (criu PR#3146). */
START_TEST(page_server_returns_zero)
{
	criu_opts *lo = NULL;

	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	ck_assert_int_eq(criu_local_set_page_server_address_port(lo, "127.0.0.1", 5678), 0);
	ck_assert_json_has(lo, "\"ps\":{\"address\":\"127.0.0.1\",\"port\":5678}");
	/* set twice: replaced, not leaked (ASan) */
	ck_assert_int_eq(criu_local_set_page_server_address_port(lo, "10.0.0.1", 1), 0);
	ck_assert_json_has(lo, "\"address\":\"10.0.0.1\"");
	ck_assert_int_eq(criu_local_set_page_server_address_port(lo, "127.0.0.1", 70000), -EINVAL);
	criu_local_free_opts(lo);
	ck_assert_int_eq(criu_set_page_server_address_port("127.0.0.1", 1234), 0);
	ck_assert_json_has(criu_compat_global(), "\"port\":1234");
	criu_free_opts();
}
END_TEST

START_TEST(pid_and_dirs)
{
	criu_opts *lo = NULL;
	int d = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_pid(lo, getpid());
	criu_local_set_images_dir_fd(lo, d);
	criu_local_set_work_dir_fd(lo, d);
	ck_assert_int_eq(criu_local_set_parent_images(lo, "../parent"), 0);
	ck_assert(ckpt_opts_is_set(criu_compat_ckpt_opts(lo), CKPT_OPT_PID));
	ck_assert(ckpt_opts_is_set(criu_compat_ckpt_opts(lo), CKPT_OPT_IMAGES_DIR));
	ck_assert(ckpt_opts_is_set(criu_compat_ckpt_opts(lo), CKPT_OPT_WORK_DIR));
	ck_assert_json_has(lo, "\"parent_img\":\"../parent\"");
	ck_assert_int_eq(criu_local_set_parent_images(lo, "/abs"), -EINVAL);
	criu_local_free_opts(lo);
	/* the fds are borrowed: still open */
	ck_assert_int_eq(fcntl(d, F_GETFD), FD_CLOEXEC);
	close(d);
}
END_TEST

/* A void setter's bad value fails the next request, as CRIU would: -EBADE,
 * errno EBADRQC. */
START_TEST(deferred_setter_error)
{
	criu_opts *lo = NULL;

	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_images_dir_fd(lo, 987);
	criu_local_set_pid(lo, getpid());
	errno = 0;
	ck_assert_int_eq(criu_local_dump(lo), -EBADE);
	ck_assert_int_eq(errno, EBADRQC);
	criu_local_free_opts(lo);

	ck_assert_int_eq(criu_init_opts(), 0);
	criu_set_empty_ns(CLONE_NEWPID); /* CRIU takes only CLONE_NEWNET */
	errno = 0;
	ck_assert_int_eq(criu_restore_child(), -EBADE);
	ck_assert_int_eq(errno, EBADRQC);
	/* criu_init_opts starts over */
	ck_assert_int_eq(criu_init_opts(), 0);
	ck_assert_json_lacks(criu_compat_global(), "empty_ns");
	criu_free_opts();
}
END_TEST

START_TEST(service_errors)
{
	criu_opts *lo = NULL;
	struct criu_feature_check f = { .mem_track = true };

	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	ck_assert_int_eq(criu_local_set_service_binary(lo, "/nonexistent/criu"), 0);
	errno = 0;
	ck_assert_int_eq(criu_local_check(lo), -ECONNREFUSED);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(criu_local_get_version(lo), -ECONNREFUSED);
	ck_assert_int_eq(criu_local_check_version(lo, 1), -ECONNREFUSED);
	ck_assert_int_eq(criu_local_set_service_binary(lo, "no-such-criu-binary-here"), 0);
	ck_assert_int_eq(criu_local_check(lo), -ECONNREFUSED);

	ck_assert_int_eq(criu_local_set_service_address(lo, "/nonexistent/criu.sock"), 0);
	errno = 0;
	ck_assert_int_eq(criu_local_check(lo), -ECONNREFUSED);
	ck_assert_int_ne(errno, 0);

	criu_local_set_service_fd(lo, 0);
	errno = 0;
	ck_assert_int_eq(criu_local_check(lo), -ECONNREFUSED);
	ck_assert_int_eq(errno, EOPNOTSUPP);

	/* a struct bigger than ours, or none: -1 as in libcriu; criu is not asked */
	errno = 0;
	ck_assert_int_eq(criu_local_feature_check(lo, &f, sizeof(f) + 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(f.mem_track && !f.lazy_pages && !f.pidfd_store);
	ck_assert_int_eq(criu_local_feature_check(lo, &f, sizeof(f) + 1), -1);
	ck_assert_int_eq(criu_local_feature_check(lo, NULL, sizeof(f)), -1);
	ck_assert_int_eq(criu_local_feature_check(lo, NULL, 0), -1);
	ck_assert_int_eq(criu_feature_check(NULL, sizeof(f)), -1);
	ck_assert_int_eq(criu_feature_check(&f, sizeof(f) + 1), -1);
	ck_assert(f.mem_track && !f.lazy_pages && !f.pidfd_store);

	criu_free_service(lo);
	errno = 0;
	ck_assert_int_eq(criu_local_dump_iters(lo, NULL), -EINVAL);
	ck_assert_int_eq(errno, EINVAL);
	/* values are stored as given, as libcriu does: CRIU judges them at request time */
	ck_assert_int_eq(criu_local_set_root(lo, "/no/such/bundle//no/such/rootfs"), 0);
	ck_assert_int_eq(criu_local_set_log_file(lo, "../file.log"), 0);
	criu_local_free_opts(lo);
}
END_TEST

/* libckpt codes to libcriu's returns and errno. */
START_TEST(error_mapping)
{
	static const struct {
		int code, criu_errno, sys_errno, ret, want_errno;
	} m[] = {
		{ CKPT_OK, 0, 0, 0, 0 },
		{ CKPT_ECRIU, 0, 0, -EBADE, 0 },
		{ CKPT_ECRIU, EBADRQC, 0, -EBADE, EBADRQC },
		{ CKPT_ENOTARGET, ESRCH, 0, -EBADE, ESRCH },
		{ CKPT_ENOTARGET, 0, 0, -EBADE, ESRCH },
		{ CKPT_EEXIST, 0, 0, -EBADE, EEXIST },
		{ CKPT_ECALLBACK, 0, 0, -EBADE, 0 },
		{ CKPT_EBADIMG, 0, 0, -EBADE, 0 },
		{ CKPT_ECRIU_EXEC, 0, ENOENT, -ECONNREFUSED, ENOENT },
		{ CKPT_ESERVICE, 0, ECONNREFUSED, -ECONNREFUSED, ECONNREFUSED },
		{ CKPT_ECRIU_DIED, 0, 0, -ECOMM, ECONNRESET },
		{ CKPT_ETIMEDOUT, 0, 0, -ECOMM, ETIMEDOUT },
		{ CKPT_EPROTO, 0, 0, -EBADMSG, EBADMSG },
		{ CKPT_ETOOBIG, 0, 0, -EBADMSG, EBADMSG },
		{ CKPT_ENOTSUP, 0, 0, -EINVAL, EINVAL },
		{ CKPT_ECRIU_VERSION, 0, 0, -EINVAL, EINVAL },
		{ CKPT_EINVAL, 0, 0, -EINVAL, EINVAL },
		{ CKPT_ENOMEM, 0, 0, -ENOMEM, ENOMEM },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		ckpt_err e = CKPT_ERR_INIT;
		int en = -1;

		e.code = m[i].code;
		e.criu_errno = m[i].criu_errno;
		e.sys_errno = m[i].sys_errno;
		ck_assert_int_eq(criu_compat_map(m[i].code, &e, &en), m[i].ret);
		ck_assert_msg(en == m[i].want_errno, "code %d: errno %d, want %d", m[i].code, en,
			      m[i].want_errno);
	}
}
END_TEST

START_TEST(lifecycle)
{
	criu_opts *lo = NULL;

	/* setters before criu_init_opts create the global object (libcriu crashed) */
	criu_free_opts();
	criu_set_tcp_established(true);
	ck_assert_ptr_nonnull(criu_compat_global());
	criu_free_opts();
	criu_free_opts();
	ck_assert_ptr_null(criu_compat_global());
	/* init frees a previous object */
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_tcp_established(lo, true);
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	ck_assert_json_lacks(lo, "tcp_established");
	criu_local_free_opts(lo);
	criu_local_free_opts(NULL);
	ck_assert_int_eq(criu_local_init_opts(NULL), -EINVAL);
	ck_assert_int_eq(criu_get_orphan_pts_master_fd(), -1);
	ck_assert_int_eq(criu_notify_pid(NULL), 0);
}
END_TEST

/* Nothing is printed, whatever fails. */
START_TEST(silence)
{
	int p[2], saved1 = dup(1), saved2 = dup(2);
	criu_opts *lo = NULL;
	char buf[64];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	dup2(p[1], 1);
	dup2(p[1], 2);
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_service_binary(lo, "/nonexistent/criu");
	(void)criu_local_check(lo);
	criu_local_set_images_dir_fd(lo, 999);
	(void)criu_local_dump(lo);
	(void)criu_local_add_ext_mount(lo, NULL, NULL);
	criu_local_free_opts(lo);
	dup2(saved1, 1);
	dup2(saved2, 2);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("libcriu_compat");
	TCase *t = tcase_create("mapping");

	tcase_add_loop_test(t, bool_setters, 0, sizeof(bools) / sizeof(bools[0]));
	tcase_add_loop_test(t, string_setters, 0, sizeof(strs) / sizeof(strs[0]));
	tcase_add_test(t, structured_adders);
	tcase_add_test(t, int_setters);
	tcase_add_test(t, page_server_returns_zero);
	tcase_add_test(t, pid_and_dirs);
	tcase_add_test(t, deferred_setter_error);
	tcase_add_test(t, service_errors);
	tcase_add_test(t, error_mapping);
	tcase_add_test(t, lifecycle);
	tcase_add_test(t, silence);
	suite_add_tcase(s, t);
	return s;
}

#else /* COMPAT_REAL_CRIU: through libcriu.so.2 against real CRIU */

#include "../integration/common.h"

static int n_post_dump, n_post_restore, restore_pid_seen;

static int on_notify(char *action, criu_notify_arg_t na)
{
	if (!strcmp(action, "post-dump"))
		n_post_dump++;
	if (!strcmp(action, "post-restore")) {
		n_post_restore++;
		restore_pid_seen = criu_notify_pid(na);
	}
	return 0;
}

START_TEST(check_and_version)
{
	struct criu_feature_check f = { .mem_track = true, .pidfd_store = true };
	int v;

	test_criu(); /* $CKPT_CRIU: libckpt's default criu, which the drop-in uses */
	ck_assert_int_eq(criu_init_opts(), 0);
	ck_assert_int_eq(criu_check(), 0);
	v = criu_get_version();
	ck_assert_msg(v >= 40200, "criu_get_version() = %d", v);
	ck_assert_int_eq(criu_check_version(40200), 1);
	ck_assert_int_eq(criu_check_version(990000), 0);
	ck_assert_int_eq(criu_feature_check(&f, sizeof(f)), 0);
	/* the same through an explicit service binary */
	ck_assert_int_eq(criu_set_service_binary(test_criu()), 0);
	ck_assert_int_eq(criu_check(), 0);
	criu_free_opts();
}
END_TEST

START_TEST(dump_restore_child)
{
	char *dir = tmpdir_new("compat-run"), *img = tmpdir_new("compat-img");
	int d = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long at_dump, after;
	pid_t pid, rpid;
	int r;

	be_subreaper();
	pid = counter_start(dir, 1);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);

	ck_assert_int_eq(criu_init_opts(), 0);
	criu_set_pid(pid);
	criu_set_images_dir_fd(d);
	criu_set_log_level(4);
	ck_assert_int_eq(criu_set_log_file("dump.log"), 0);
	criu_set_notify_cb(on_notify);
	r = criu_dump();
	ck_assert_msg(r == 0, "criu_dump() = %d errno %d", r, errno);
	ck_assert_int_eq(n_post_dump, 1);
	waitpid(pid, NULL, 0);
	ck_assert(!alive(pid));
	at_dump = read_num(dir, "counter");
	ck_assert_int_ge(at_dump, 3);

	ck_assert_int_eq(criu_init_opts(), 0);
	criu_set_images_dir_fd(d);
	criu_set_log_level(4);
	ck_assert_int_eq(criu_set_log_file("restore.log"), 0);
	criu_set_notify_cb(on_notify);
	rpid = criu_restore_child();
	ck_assert_msg(rpid > 0, "criu_restore_child() = %d errno %d", rpid, errno);
	ck_assert_int_eq(n_post_restore, 1);
	ck_assert_int_eq(restore_pid_seen, rpid);
	after = counter_wait(dir, at_dump + 2, 10000);
	ck_assert_msg(after >= at_dump + 2, "counter at dump %ld, after restore %ld", at_dump,
		      after);
	kill_wait(rpid);
	criu_free_opts();
	close(d);
	rm_rf(dir);
	rm_rf(img);
	free(dir);
	free(img);
}
END_TEST

START_TEST(criu_reports_failure)
{
	char *img = tmpdir_new("compat-fail");
	int d = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	criu_opts *lo = NULL;
	int r;

	/* restore from an empty images dir: CRIU fails it */
	ck_assert_int_eq(criu_local_init_opts(&lo), 0);
	criu_local_set_images_dir_fd(lo, d);
	errno = 0;
	r = criu_local_restore_child(lo);
	ck_assert_msg(r == -EBADE, "restore from an empty dir: %d", r);
	criu_local_free_opts(lo);
	close(d);
	rm_rf(img);
	free(img);
}
END_TEST

/* A shell whose stdout is IMGS/out.log (0644), printing a number every 50 ms. */
static pid_t logger_start(const char *imgs)
{
	char log[512];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/out.log", imgs);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR),
		    out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setsid();
		fchmod(out, 0644);
		dup2(nul, 0);
		dup2(out, 1);
		dup2(nul, 2);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c",
		      "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done", (char *)NULL);
		_exit(127);
	}
	msleep(300);
	return pid;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/*
 * As libcriu: a process whose stdout is a file in its images dir is dumped
 * (twice into the same dir: images are overwritten, with CRIU's modes, and the
 * caller's file is left alone) and restored, writing on; a log file name CRIU
 * refuses fails at request time with -EBADE and errno EBADRQC.
 */
START_TEST(images_dir_as_libcriu)
{
	char *img = tmpdir_new("compat-log");
	int d = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;
	pid_t pid, rpid;
	char log[512];
	struct stat st;
	off_t size;

	be_subreaper();
	pid = logger_start(img);
	snprintf(log, sizeof(log), "%s/out.log", img);
	ck_assert_int_eq(criu_init_opts(), 0);
	criu_set_pid(pid);
	criu_set_images_dir_fd(d);
	criu_set_leave_running(true);
	ck_assert_int_eq(criu_set_log_file("dump.log"), 0);
	ck_assert_int_eq(criu_dump(), 0);
	r = criu_dump(); /* the same dir again: overwritten, as libcriu and CRIU do */
	ck_assert_msg(r == 0, "a second dump into the same dir: %d errno %d", r, errno);
	ck_assert_int_eq(mode_of(img, "out.log"), 0644);
	ck_assert_int_eq(mode_of(img, "inventory.img"),
			 0644); /* CRIU's own mode, as with libcriu */
	/* a log file CRIU refuses: the dump fails at request time, as libcriu's */
	ck_assert_int_eq(criu_set_log_file("../file.log"), 0);
	errno = 0;
	ck_assert_int_eq(criu_dump(), -EBADE);
	ck_assert_int_eq(errno, EBADRQC);
	kill(-pid, SIGKILL); /* the shell and its sleep child: the whole session's group */
	while (waitpid(-1, NULL, 0) > 0)
		;
	ck_assert_int_eq(stat(log, &st), 0);
	size = st.st_size;
	ck_assert_int_eq(criu_set_log_file("restore.log"), 0);
	criu_set_leave_running(false);
	rpid = criu_restore_child();
	ck_assert_msg(rpid > 0, "criu_restore_child() = %d errno %d", rpid, errno);
	msleep(500);
	ck_assert_int_eq(stat(log, &st), 0);
	ck_assert_msg(st.st_size > size, "the restored shell does not write to out.log");
	kill_wait(rpid);
	criu_free_opts();
	close(d);
	rm_rf(img);
	free(img);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("libcriu_compat_criu");
	TCase *t = tcase_create("real");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, check_and_version);
	tcase_add_test(t, dump_restore_child);
	tcase_add_test(t, criu_reports_failure);
	tcase_add_test(t, images_dir_as_libcriu);
	suite_add_tcase(s, t);
	return s;
}
#endif

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
