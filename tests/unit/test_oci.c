/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of lib/rpc/oci.c (OCI config.json → options) and lib/rpc/json.c
 * (options → JSON).
 */
#include "base/compat.h" /* CLONE_NEWTIME */
#include "rpc/opts.h"
#include "base/parse.h"

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include <json-c/json.h>

#ifndef CKPT_FIXTURES_DIR
#error "CKPT_FIXTURES_DIR must name the tests/fixtures directory"
#endif
#define OCI_FIXTURE(name) CKPT_FIXTURES_DIR "/oci/" name

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

/* A scratch directory for generated files, removed by the fixture teardown. */
static char tmpdir[64];

static void tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/ckpt-test-oci-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* ------------------------------------------------------------------ */
/* Accepted configs                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_oci_valid)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0xdead;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, OCI_FIXTURE("valid.json"), &created, &err),
			 0);
	ck_assert_uint_eq(created, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
					   CLONE_NEWNS | CLONE_NEWCGROUP);
	ck_assert_uint_eq(o->pb->n_join_ns, 0);
	/* The org.criu.config annotation is not taken. */
	ck_assert_ptr_null(o->pb->config_file);
	ck_assert_ptr_null(o->pb->root);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_oci_join_netns)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(
		ckpt_opts_from_oci_config(o, OCI_FIXTURE("join-netns.json"), &created, &err), 0);
	/* The ipc entry has "path": "", which means "create" (as in runc). */
	ck_assert_uint_eq(created, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC);
	ck_assert_uint_eq(o->pb->n_join_ns, 1);
	ck_assert_str_eq(o->pb->join_ns[0]->ns, "net");
	ck_assert_str_eq(o->pb->join_ns[0]->ns_file, "/proc/self/ns/net");
	ck_assert_ptr_null(o->pb->join_ns[0]->extra_opt);

	/* Loading it again would join the network namespace twice: refused, nothing changed. */
	created = 0xdead;
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, OCI_FIXTURE("join-netns.json"), &created,
						   &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "already join");
	ck_assert_msg_has(err, "\"/proc/self/ns/net\"");
	ck_assert_msg_has(err, "linux.namespaces[1]");
	ck_assert_uint_eq(created, 0xdead);
	ck_assert_uint_eq(o->pb->n_join_ns, 1);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_oci_join_ipc_uts)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(
		ckpt_opts_from_oci_config(o, OCI_FIXTURE("join-ipc-uts.json"), &created, &err), 0);
	ck_assert_uint_eq(created, CLONE_NEWUSER | CLONE_NEWTIME);
	ck_assert_uint_eq(o->pb->n_join_ns, 2);
	ck_assert_str_eq(o->pb->join_ns[0]->ns, "ipc");
	ck_assert_str_eq(o->pb->join_ns[0]->ns_file, "/run/netns/../ipc-ns");
	ck_assert_str_eq(o->pb->join_ns[1]->ns, "uts");
	ck_assert_str_eq(o->pb->join_ns[1]->ns_file, "/proc/1/ns/uts");

	/* Appends to what is there, net joined by another config. */
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, OCI_FIXTURE("join-netns.json"), NULL, &err),
			 0);
	ck_assert_uint_eq(o->pb->n_join_ns, 3);
	ck_assert_str_eq(o->pb->join_ns[2]->ns, "net");
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_oci_no_namespaces)
{
	static const char *const files[] = { "no-linux.json", "linux-null.json",
					     "namespaces-null.json", "depth-64.json" };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char path[512];
		uint32_t created = 0xdead;

		snprintf(path, sizeof(path), "%s/oci/%s", CKPT_FIXTURES_DIR, files[i]);
		ck_assert_msg(ckpt_opts_from_oci_config(o, path, &created, &err) == 0, "%s: %s",
			      files[i], err.msg);
		ck_assert_uint_eq(created, strstr(files[i], "depth") ? CLONE_NEWPID : 0);
	}
	ck_assert_uint_eq(o->pb->n_join_ns, 0);
	ckpt_opts_free(o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Refused configs                                                     */
/* ------------------------------------------------------------------ */

static const struct {
	const char *file;
	const char *why[3]; /* fragments of the message */
} bad_configs[] = {
	{ "not-json.json", { "not valid JSON" } },
	{ "truncated.json", { "not valid JSON", "ends before" } },
	{ "trailing.json", { "not valid JSON", "after the value" } },
	{ "trailing-comma.json", { "not valid JSON" } },
	{ "empty.json", { "empty" } },
	{ "bad-utf8.json", { "not valid JSON" } },
	{ "deep.json", { "nesting deeper than 64" } },
	{ "depth-65.json", { "nesting deeper than 64" } },
	{ "top-array.json", { "top level is a JSON array", "expected an object" } },
	{ "linux-not-object.json", { "linux is a JSON array", "expected an object" } },
	{ "namespaces-not-array.json",
	  { "linux.namespaces is a JSON object", "expected an array" } },
	{ "entry-not-object.json",
	  { "linux.namespaces[1] is a JSON string", "expected an object" } },
	{ "type-missing.json", { "linux.namespaces[1].type is missing", "expected a string" } },
	{ "type-null.json", { "linux.namespaces[0].type is missing or null" } },
	{ "type-not-string.json",
	  { "linux.namespaces[2].type is a JSON int", "expected a string" } },
	{ "path-not-string.json",
	  { "linux.namespaces[0].path is a JSON int", "expected a string" } },
	{ "unknown-type.json",
	  { "linux.namespaces[1].type \"netwrok\"", "not a namespace type", "expected one of" } },
	{ "alias-type.json", { "linux.namespaces[0].type \"net\"", "not a namespace type" } },
	{ "duplicate.json",
	  { "linux.namespaces[2].type \"pid\"", "twice", "first as linux.namespaces[0]" } },
	{ "duplicate-join.json", { "linux.namespaces[1].type \"network\"", "twice" } },
	{ "join-pid.json",
	  { "linux.namespaces[0]", "pid namespace by path (\"/proc/1/ns/pid\")",
	    "only network, ipc and uts" } },
	{ "relative-path.json",
	  { "linux.namespaces[0].path \"proc/self/ns/net\"", "not absolute", "expected" } },
	{ "join-then-bad.json", { "linux.namespaces[1].type \"bogus\"" } },
	{ "nul-in-type.json", { "linux.namespaces[0].type", "NUL" } },
};

START_TEST(test_oci_bad)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0xdead;
	char path[512], quoted[600];

	ck_assert_ptr_nonnull(o);
	snprintf(path, sizeof(path), "%s/oci/%s", CKPT_FIXTURES_DIR, bad_configs[_i].file);
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, &err), CKPT_EINVAL);
	ck_assert_int_eq(err.code, CKPT_EINVAL);
	snprintf(quoted, sizeof(quoted), "\"%s\"", path);
	ck_assert_msg_has(err, quoted);
	for (size_t i = 0; i < ARRAY_SIZE(bad_configs[_i].why) && bad_configs[_i].why[i]; i++)
		ck_assert_msg_has(err, bad_configs[_i].why[i]);
	/* Nothing changed, nothing written. */
	ck_assert_uint_eq(created, 0xdead);
	ck_assert_uint_eq(o->pb->n_join_ns, 0);
	ck_assert_ptr_null(o->pb->join_ns);
	/* err may be NULL. */
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, NULL), CKPT_EINVAL);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_oci_huge)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0xdead;
	char path[128];
	static char chunk[65536];
	FILE *f;

	ck_assert_ptr_nonnull(o);
	tmp_path(path, sizeof(path), "huge.json");
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	/* Valid JSON, 4 MiB + a few bytes. */
	memset(chunk, ' ', sizeof(chunk));
	fputs("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}, \"x\": \"", f);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
	fputs("\"}", f);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, path);
	ck_assert_msg_has(err, "4194357 bytes");
	ck_assert_msg_has(err, "expected at most 4194304");
	ck_assert_uint_eq(created, 0xdead);

	/* Exactly 4 MiB is accepted. */
	ck_assert_int_eq(truncate(path, 4194304 - 2), 0);
	f = fopen(path, "ae");
	ck_assert_ptr_nonnull(f);
	fputs("\"}", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(ckpt_opts_from_oci_config(o, path, &created, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(created, CLONE_NEWPID);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_oci_files)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created = 0xdead;
	char path[128];

	ck_assert_ptr_nonnull(o);

	/* Missing file. */
	tmp_path(path, sizeof(path), "missing.json");
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, &err), CKPT_ESYS);
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_msg_has(err, path);

	/* A symlink to a valid config is refused. */
	tmp_path(path, sizeof(path), "link.json");
	ck_assert_int_eq(symlink(OCI_FIXTURE("valid.json"), path), 0);
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "symbolic link");
	ck_assert_msg_has(err, path);
	ck_assert_int_eq(err.sys_errno, ELOOP);

	/* A directory. */
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, tmpdir, &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "is a directory; expected a regular file");

	/* A FIFO is refused at once, not read (nobody writes to it). */
	tmp_path(path, sizeof(path), "fifo.json");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, path, &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "is a FIFO; expected a regular file");

	/* /dev/null is no regular file either. */
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, "/dev/null", &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "\"/dev/null\" is a character device");

	ck_assert_int_eq(ckpt_opts_from_oci_config(o, NULL, &created, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "NULL");
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, "", &created, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_opts_from_oci_config(NULL, OCI_FIXTURE("valid.json"), &created, &err),
			 CKPT_EINVAL);
	ck_assert_uint_eq(created, 0xdead);
	ck_assert_uint_eq(o->pb->n_join_ns, 0);
	ckpt_opts_free(o);
}
END_TEST

/* No fd is left open by any path through the parser. */
START_TEST(test_oci_no_fd_leak)
{
	ckpt_opts *o = ckpt_opts_new();
	uint32_t created;
	int before, after;

	ck_assert_ptr_nonnull(o);
	before = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(before);
	for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/oci/%s", CKPT_FIXTURES_DIR, bad_configs[i].file);
		ckpt_opts_from_oci_config(o, path, &created, NULL);
	}
	ckpt_opts_from_oci_config(o, OCI_FIXTURE("valid.json"), &created, NULL);
	after = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(after);
	ck_assert_int_eq(before, after);
	ckpt_opts_free(o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ckpt_opts_to_json                                                   */
/* ------------------------------------------------------------------ */

static json_object *to_json(const ckpt_opts *o)
{
	char *s = ckpt_opts_to_json(o);
	json_object *j;

	ck_assert_ptr_nonnull(s);
	j = json_tokener_parse(s);
	ck_assert_msg(j != NULL, "not JSON: %s", s);
	ck_assert_msg(json_object_is_type(j, json_type_object), "not an object: %s", s);
	ck_assert_ptr_null(strchr(s, '\n'));
	ckpt_free(s);
	return j;
}

static json_object *get(json_object *obj, const char *key, json_type type)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(obj, key, &v), "no key \"%s\" in %s", key,
		      json_object_to_json_string(obj));
	ck_assert_msg(json_object_is_type(v, type), "\"%s\" is a %s, expected a %s", key,
		      json_type_to_name(json_object_get_type(v)), json_type_to_name(type));
	return v;
}

START_TEST(test_json_empty)
{
	ckpt_opts *o = ckpt_opts_new();
	json_object *j;

	ck_assert_ptr_nonnull(o);
	j = to_json(o);
	/* Nothing set: images_dir_fd is -1 and has_* are all false. */
	ck_assert_int_eq(json_object_object_length(j), 0);
	json_object_put(j);
	ck_assert_ptr_null(ckpt_opts_to_json(NULL));
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_json_fields)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	json_object *j, *v, *e;
	char **cmd;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ckpt_opts_set_page_server(o, "[fe80::1%eth0]:8080", &err), 0);
	ck_assert_int_eq(ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, CKPT_CGROUP_SOFT, &err), 0);
	ck_assert_int_eq(ckpt_opts_set_empty_ns(o, CLONE_NEWNET, &err), 0);
	ck_assert_int_eq(ckpt_opts_from_oci_config(o, OCI_FIXTURE("join-ipc-uts.json"), NULL, &err),
			 0);

	/* Set some fields directly: one of each kind the descriptor walk handles. */
	o->pb->has_tcp_established = true;
	o->pb->tcp_established = true;
	o->pb->has_shell_job = true; /* set to false is still set */
	o->pb->shell_job = false;
	o->pb->has_pid = true;
	o->pb->pid = 4242;
	o->pb->has_cpu_cap = true;
	o->pb->cpu_cap = 0xffffffffu;
	o->pb->has_pre_dump_mode = true;
	o->pb->pre_dump_mode = CRIU_PRE_DUMP_MODE__VM_READ;
	o->pb->has_network_lock = true;
	o->pb->network_lock = (CriuNetworkLockMethod)99; /* unknown to the descriptor */
	o->pb->log_file = strdup("dump \"1\"/\\.log");
	ck_assert_ptr_nonnull(o->pb->log_file);
	o->pb->root = strdup("a\x01\n\t\r\b\f\x1f\x7f/b");
	ck_assert_ptr_nonnull(o->pb->root);
	cmd = calloc(2, sizeof(*cmd));
	ck_assert_ptr_nonnull(cmd);
	cmd[0] = strdup("/bin/echo");
	cmd[1] = strdup("h\xc3\xa9");
	o->pb->exec_cmd = cmd;
	o->pb->n_exec_cmd = 2;

	j = to_json(o);

	v = get(j, "ps", json_type_object);
	ck_assert_str_eq(json_object_get_string(get(v, "address", json_type_string)),
			 "fe80::1%eth0");
	ck_assert_int_eq(json_object_get_int(get(v, "port", json_type_int)), 8080);
	ck_assert_int_eq(json_object_object_length(v), 2);

	ck_assert_str_eq(json_object_get_string(get(j, "manage_cgroups_mode", json_type_string)),
			 "SOFT");
	ck_assert_int_eq(json_object_get_int64(get(j, "empty_ns", json_type_int)), CLONE_NEWNET);

	v = get(j, "join_ns", json_type_array);
	ck_assert_uint_eq(json_object_array_length(v), 2);
	e = json_object_array_get_idx(v, 1);
	ck_assert_str_eq(json_object_get_string(get(e, "ns", json_type_string)), "uts");
	ck_assert_str_eq(json_object_get_string(get(e, "ns_file", json_type_string)),
			 "/proc/1/ns/uts");
	ck_assert_int_eq(json_object_object_length(e), 2);

	ck_assert(json_object_get_boolean(get(j, "tcp_established", json_type_boolean)));
	ck_assert(!json_object_get_boolean(get(j, "shell_job", json_type_boolean)));
	ck_assert_int_eq(json_object_get_int(get(j, "pid", json_type_int)), 4242);
	ck_assert_int_eq(json_object_get_int64(get(j, "cpu_cap", json_type_int)), 4294967295LL);
	ck_assert_str_eq(json_object_get_string(get(j, "pre_dump_mode", json_type_string)),
			 "VM_READ");
	ck_assert_int_eq(json_object_get_int(get(j, "network_lock", json_type_int)), 99);
	ck_assert_str_eq(json_object_get_string(get(j, "log_file", json_type_string)),
			 "dump \"1\"/\\.log");
	ck_assert_str_eq(json_object_get_string(get(j, "root", json_type_string)),
			 "a\x01\n\t\r\b\f\x1f\x7f/b");
	v = get(j, "exec_cmd", json_type_array);
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "/bin/echo");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "h\xc3\xa9");

	/* Unset fields are absent, defaults included. */
	ck_assert(!json_object_object_get_ex(j, "log_level", NULL));
	ck_assert(!json_object_object_get_ex(j, "ghost_limit", NULL));
	ck_assert(!json_object_object_get_ex(j, "leave_running", NULL));
	ck_assert(!json_object_object_get_ex(j, "images_dir_fd", NULL));
	ck_assert(!json_object_object_get_ex(j, "external", NULL));
	ck_assert(!json_object_object_get_ex(j, "cgroup_props", NULL));
	ck_assert_int_eq(json_object_object_length(j), 13);
	json_object_put(j);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_json_dirs)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	json_object *j;
	int fd;

	ck_assert_ptr_nonnull(o);
	/* Images dir by path: shown by path, under "images_dir", with no fd. */
	ck_assert_msg(ckpt_opts_set_images_dir(o, tmpdir, &err) == 0, "%s", err.msg);
	fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(ckpt_opts_set_work_dir_fd(o, fd, &err) == 0, "%s", err.msg);

	j = to_json(o);
	ck_assert_str_eq(json_object_get_string(get(j, "images_dir", json_type_string)), tmpdir);
	ck_assert(!json_object_object_get_ex(j, "images_dir_fd", NULL));
	ck_assert_int_eq(json_object_get_int(get(j, "work_dir_fd", json_type_int)), fd);
	ck_assert(!json_object_object_get_ex(j, "work_dir", NULL));
	json_object_put(j);

	/* Work dir by path too. */
	ck_assert_msg(ckpt_opts_set_work_dir(o, tmpdir, &err) == 0, "%s", err.msg);
	j = to_json(o);
	ck_assert_str_eq(json_object_get_string(get(j, "work_dir", json_type_string)), tmpdir);
	ck_assert(!json_object_object_get_ex(j, "work_dir_fd", NULL));
	ck_assert_int_eq(json_object_object_length(j), 2);
	json_object_put(j);

	close(fd);
	ckpt_opts_free(o);
}
END_TEST

static Suite *oci_suite(void)
{
	Suite *s = suite_create("oci");
	TCase *tc;

	tc = tcase_create("oci_config");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_oci_valid);
	tcase_add_test(tc, test_oci_join_netns);
	tcase_add_test(tc, test_oci_join_ipc_uts);
	tcase_add_test(tc, test_oci_no_namespaces);
	tcase_add_loop_test(tc, test_oci_bad, 0, ARRAY_SIZE(bad_configs));
	tcase_add_test(tc, test_oci_huge);
	tcase_add_test(tc, test_oci_files);
	tcase_add_test(tc, test_oci_no_fd_leak);
	suite_add_tcase(s, tc);

	tc = tcase_create("to_json");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_json_empty);
	tcase_add_test(tc, test_json_fields);
	tcase_add_test(tc, test_json_dirs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(oci_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
