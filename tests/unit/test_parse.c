/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of lib/base/parse.c: page-server addresses, cgroup modes, network
 * lock methods and namespace masks.
 */
/* The cgroup mode cases also check the deprecated ckpt_opts_set_cgroup_mode, which must keep working. */
#define CKPT_NO_DEPRECATION_WARNINGS
#include "base/compat.h" /* CLONE_NEWTIME */
#include "rpc/opts.h"
#include "base/parse.h"

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#define ck_assert_msg_has(err, sub)                                                               \
	ck_assert_msg(strstr((err).msg, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, \
		      (sub))

/* Every failure names the value (quoted) and says what was expected. */
static void assert_names_input(const ckpt_err *err, const char *input)
{
	char quoted[600];

	snprintf(quoted, sizeof(quoted), "\"%s\"", input);
	ck_assert_msg(strstr(err->msg, quoted) != NULL, "message \"%s\" does not quote %s",
		      err->msg, quoted);
	ck_assert_msg(strstr(err->msg, "expected") != NULL, "message \"%s\" lacks \"expected\"",
		      err->msg);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

static const struct {
	const char *in;
	const char *why; /* a fragment of the message */
} bad_addrs[] = {
	{ "10.0.0.1", "port is missing" },
	{ "host.example", "port is missing" },
	{ "", "empty" },
	{ ":80", "address before ':' is empty" },
	{ "10.0.0.1:", "port after ':' is empty" },
	{ "10.0.0.1:http", "not a number" },
	{ "10.0.0.1:0", "port 0" },
	{ "10.0.0.1:00000", "port 0" },
	{ "10.0.0.1:65536", "above 65535" },
	{ "10.0.0.1:99999999999999999999999", "above 65535" },
	{ "10.0.0.1:80x", "after the port" },
	{ "10.0.0.1:80/tcp", "after the port" },
	{ "10.0.0.1:+80", "sign" },
	{ "10.0.0.1:-80", "sign" },
	{ "10.0.0.1: 80", "whitespace" },
	{ " 10.0.0.1:80", "whitespace" },
	{ "10.0.0.1:80 ", "whitespace" },
	{ "10.0.0.1:\t80", "whitespace" },
	{ "::1:80", "must be in brackets" },
	{ "fe80::1:80", "must be in brackets" },
	{ "::1", "must be in brackets" },
	{ "[]:80", "brackets are empty" },
	{ "[::1:80", "not closed" },
	{ "[::1", "not closed" },
	{ "[::1]x:80", "after ']'" },
	{ "[::1]80", "after ']'" },
	{ "[::1]", "port is missing after ']'" },
	{ "[::1]:", "port after ':' is empty" },
	{ "[::1]:65536", "above 65535" },
	{ "[::1]:80]", "after the port" },
	{ "[10.0.0.1]:80", "not a valid IPv6" },
	{ "[host]:80", "not a valid IPv6" },
	{ "[fe80::1%]:80", "zone" },
	{ "[fe80::1%a/b]:80", "zone" },
	{ "[fe80::1%abcdefghijklmnopq]:80", "zone" },
	{ "1.2.3.256:80", "not a valid IPv4" },
	{ "1.2.3:80", "not a valid IPv4" },
	{ "1.2.3.4.5:80", "not a valid IPv4" },
	{ "01.2.3.4:80", "not a valid IPv4" },
	{ "12345:80", "not a valid IPv4" },
	{ "host_name:80", "character other than" },
	{ "-host:80", "starts with '-'" },
	{ "host-:80", "ends with '-'" },
	{ "a..b:80", "empty label" },
	{ ".host:80", "empty label" },
	{ "host..:80", "empty label" },
	{ "h\xc3\xa9llo:80", "non-ASCII" },
	{ "a\x01:80", "control" },
	{ "host]:80", "stray bracket" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com:80",
	  "longer than 63" },
};

START_TEST(test_addr_bad)
{
	ckpt_err err = CKPT_ERR_INIT;
	char addr[256] = "sentinel";
	uint16_t port = 4242;
	int r;

	r = ckpt_parse_address_port(bad_addrs[_i].in, addr, sizeof(addr), &port, &err);
	ck_assert_msg(r == CKPT_EINVAL, "\"%s\" gave %d, expected CKPT_EINVAL", bad_addrs[_i].in,
		      r);
	ck_assert_int_eq(err.code, CKPT_EINVAL);
	/* err_set sanitizes control characters: only check the quote for printable input. */
	if (!strpbrk(bad_addrs[_i].in, "\x01\t"))
		assert_names_input(&err, bad_addrs[_i].in);
	ck_assert_msg_has(err, bad_addrs[_i].why);
	/* Outputs are written only on success. */
	ck_assert_str_eq(addr, "sentinel");
	ck_assert_int_eq(port, 4242);
	/* err may be NULL. */
	ck_assert_int_eq(ckpt_parse_address_port(bad_addrs[_i].in, addr, sizeof(addr), &port, NULL),
			 CKPT_EINVAL);
}
END_TEST

START_TEST(test_addr_hostname_too_long)
{
	ckpt_err err = CKPT_ERR_INIT;
	char in[400], addr[400];
	size_t len = 0;
	uint16_t port;

	/* 4 labels of 63 + 3 dots = 255 characters: above 253. */
	for (int i = 0; i < 4; i++) {
		if (i)
			in[len++] = '.';
		memset(in + len, 'a' + i, 63);
		len += 63;
	}
	strcpy(in + len, ":80");
	ck_assert_int_eq(ckpt_parse_address_port(in, addr, sizeof(addr), &port, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "longer than 253");
	assert_names_input(&err, in);

	/* 253 characters exactly is fine, with or without the root dot. */
	in[253] = '\0';
	ck_assert_int_eq(in[252], 'd');
	strcat(in, ":80");
	ck_assert_int_eq(ckpt_parse_address_port(in, addr, sizeof(addr), &port, &err), 0);
	ck_assert_uint_eq(strlen(addr), 253);
	in[253] = '\0';
	strcat(in, ".:80");
	ck_assert_int_eq(ckpt_parse_address_port(in, addr, sizeof(addr), &port, &err), 0);
	ck_assert_uint_eq(strlen(addr), 254);
}
END_TEST

static const struct {
	const char *in;
	const char *addr;
	uint16_t port;
} good_addrs[] = {
	{ "10.0.0.1:8080", "10.0.0.1", 8080 },
	{ "127.0.0.1:1", "127.0.0.1", 1 },
	{ "0.0.0.0:65535", "0.0.0.0", 65535 },
	{ "localhost:27", "localhost", 27 },
	{ "page-server.example.com:9999", "page-server.example.com", 9999 },
	{ "example.com.:80", "example.com.", 80 },
	{ "a:1", "a", 1 },
	{ "Host-1.Sub2.EXAMPLE:443", "Host-1.Sub2.EXAMPLE", 443 },
	{ "1.2.3.4a:80", "1.2.3.4a", 80 },
	{ "[::1]:80", "::1", 80 },
	{ "[::]:12345", "::", 12345 },
	{ "[fe80::1]:80", "fe80::1", 80 },
	{ "[fe80::1%eth0]:80", "fe80::1%eth0", 80 },
	{ "[2001:db8::42]:0080", "2001:db8::42", 80 },
	{ "[::ffff:10.0.0.1]:443", "::ffff:10.0.0.1", 443 },
	{ "[2001:0db8:0000:0000:0000:ff00:0042:8329]:65535",
	  "2001:0db8:0000:0000:0000:ff00:0042:8329", 65535 },
};

START_TEST(test_addr_good)
{
	ckpt_err err = CKPT_ERR_INIT;
	char addr[256];
	uint16_t port = 0;

	ck_assert_int_eq(
		ckpt_parse_address_port(good_addrs[_i].in, addr, sizeof(addr), &port, &err), 0);
	ck_assert_str_eq(addr, good_addrs[_i].addr);
	ck_assert_uint_eq(port, good_addrs[_i].port);
	ck_assert_int_eq(err.code, 0);

	/* Both outputs are optional. */
	ck_assert_int_eq(ckpt_parse_address_port(good_addrs[_i].in, NULL, 0, NULL, &err), 0);
}
END_TEST

START_TEST(test_addr_buffer)
{
	ckpt_err err = CKPT_ERR_INIT;
	char addr[9] = "sentinel";
	uint16_t port = 7;

	/* "10.0.0.1" needs 9 bytes. */
	ck_assert_int_eq(ckpt_parse_address_port("10.0.0.1:80", addr, 9, &port, &err), 0);
	ck_assert_str_eq(addr, "10.0.0.1");
	ck_assert_uint_eq(port, 80);
	strcpy(addr, "sentinel");
	port = 7;
	ck_assert_int_eq(ckpt_parse_address_port("10.0.0.1:80", addr, 8, &port, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "buffer");
	assert_names_input(&err, "10.0.0.1:80");
	ck_assert_str_eq(addr, "sentinel");
	ck_assert_int_eq(port, 7);
	ck_assert_int_eq(ckpt_parse_address_port("[::1]:80", addr, 3, &port, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_parse_address_port("[::1]:80", addr, 4, &port, &err), 0);
	ck_assert_str_eq(addr, "::1");
	ck_assert_int_eq(ckpt_parse_address_port("10.0.0.1:80", addr, 0, &port, &err), CKPT_EINVAL);

	ck_assert_int_eq(ckpt_parse_address_port(NULL, addr, sizeof(addr), &port, &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "NULL");
	ck_assert_msg_has(err, "expected");
}
END_TEST

START_TEST(test_page_server)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_null(o->pb->ps);

	ck_assert_int_eq(ckpt_opts_set_page_server(o, "10.0.0.1:8080", &err), 0);
	ck_assert_ptr_nonnull(o->pb->ps);
	ck_assert_str_eq(o->pb->ps->address, "10.0.0.1");
	ck_assert(o->pb->ps->has_port);
	ck_assert_int_eq(o->pb->ps->port, 8080);

	/* Replacing frees the previous one (ASan/LSan check it). */
	ck_assert_int_eq(ckpt_opts_set_page_server(o, "[fe80::1%lo]:27", &err), 0);
	ck_assert_str_eq(o->pb->ps->address, "fe80::1%lo");
	ck_assert_int_eq(o->pb->ps->port, 27);

	/* A failure leaves the previous value in place. */
	ck_assert_int_eq(ckpt_opts_set_page_server(o, "10.0.0.1:0", &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "page server");
	assert_names_input(&err, "10.0.0.1:0");
	ck_assert_int_eq(ckpt_opts_set_page_server(o, NULL, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_opts_set_page_server(NULL, "10.0.0.1:1", &err), CKPT_EINVAL);
	ck_assert_str_eq(o->pb->ps->address, "fe80::1%lo");
	ck_assert_int_eq(o->pb->ps->port, 27);

	/* Address and port apart: port 0 lets CRIU choose, address may be NULL. */
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, NULL, 0, &err), 0);
	ck_assert_ptr_null(o->pb->ps->address);
	ck_assert(o->pb->ps->has_port);
	ck_assert_int_eq(o->pb->ps->port, 0);
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "::1", 65535, &err), 0);
	ck_assert_str_eq(o->pb->ps->address, "::1");
	ck_assert_int_eq(o->pb->ps->port, 65535);
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "[2001:db8::1]", 1, &err), 0);
	ck_assert_str_eq(o->pb->ps->address, "2001:db8::1");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "criu-ps.example", 1234, &err), 0);
	ck_assert_str_eq(o->pb->ps->address, "criu-ps.example");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "127.0.0.1", 0, &err), 0);
	ck_assert_str_eq(o->pb->ps->address, "127.0.0.1");

	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "127.0.0.1", -1, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "-1");
	ck_assert_msg_has(err, "expected 0-65535");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "127.0.0.1", 65536, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "65536");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "", 80, &err), CKPT_EINVAL);
	assert_names_input(&err, "");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "1.2.3.999", 80, &err), CKPT_EINVAL);
	assert_names_input(&err, "1.2.3.999");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "10.0.0.1:80", 80, &err), CKPT_EINVAL);
	assert_names_input(&err, "10.0.0.1:80");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "[]", 80, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(o, "bad host", 80, &err), CKPT_EINVAL);
	assert_names_input(&err, "bad host");
	ck_assert_int_eq(ckpt_opts_set_page_server_addr(NULL, "::1", 80, &err), CKPT_EINVAL);
	ck_assert_str_eq(o->pb->ps->address, "127.0.0.1");
	ck_assert_int_eq(o->pb->ps->port, 0);

	ckpt_opts_free(o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cgroup modes and network lock methods                               */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	ckpt_cgroup_mode mode;
	CriuCgMode criu;
} cg_modes[] = {
	{ "ignore", CKPT_CGROUP_IGNORE, CRIU_CG_MODE__IGNORE },
	{ "none", CKPT_CGROUP_NONE, CRIU_CG_MODE__CG_NONE },
	{ "props", CKPT_CGROUP_PROPS, CRIU_CG_MODE__PROPS },
	{ "soft", CKPT_CGROUP_SOFT, CRIU_CG_MODE__SOFT },
	{ "full", CKPT_CGROUP_FULL, CRIU_CG_MODE__FULL },
	{ "strict", CKPT_CGROUP_STRICT, CRIU_CG_MODE__STRICT },
	{ "default", CKPT_CGROUP_DEFAULT, CRIU_CG_MODE__DEFAULT },
};

START_TEST(test_cgroup_mode_round_trip)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_cgroup_mode m = (ckpt_cgroup_mode)-1;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(ckpt_cgroup_mode_name(cg_modes[_i].mode), cg_modes[_i].name);
	ck_assert_int_eq(ckpt_cgroup_mode_from_string(cg_modes[_i].name, &m, &err), 0);
	ck_assert_int_eq(m, cg_modes[_i].mode);
	ck_assert_str_eq(ckpt_cgroup_mode_name(m), cg_modes[_i].name);

	ck_assert(!o->pb->has_manage_cgroups_mode);
	ck_assert_int_eq(ckpt_opts_set_cgroup_mode(o, m, &err), 0);
	ck_assert(o->pb->has_manage_cgroups_mode);
	ck_assert_int_eq(o->pb->manage_cgroups_mode, cg_modes[_i].criu);
	/* The typed key, which the deprecated setter is an alias of, sets the same field. */
	ck_assert_int_eq(ckpt_opts_clear(o, CKPT_OPT_CGROUP_MODE, &err), 0);
	ck_assert(!o->pb->has_manage_cgroups_mode);
	ck_assert_int_eq(ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, m, &err), 0);
	ck_assert_int_eq(o->pb->manage_cgroups_mode, cg_modes[_i].criu);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_cgroup_mode_bad)
{
	static const char *const bad[] = { "Soft",    "SOFT",	 "",	   "soft ", " soft",
					   "cg_none", "CG_NONE", "manage", "softx", "0" };
	static const int bad_values[] = { -1, 7, 8, 100, 1 << 30 };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_cgroup_mode m = CKPT_CGROUP_FULL;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(ckpt_cgroup_mode_from_string(bad[i], &m, &err), CKPT_EINVAL);
		ck_assert_int_eq(err.code, CKPT_EINVAL);
		assert_names_input(&err, bad[i]);
		/* The message lists every valid name. */
		for (size_t j = 0; j < ARRAY_SIZE(cg_modes); j++)
			ck_assert_msg_has(err, cg_modes[j].name);
		ck_assert_int_eq(m, CKPT_CGROUP_FULL);
	}
	ck_assert_int_eq(ckpt_cgroup_mode_from_string(NULL, &m, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "soft");
	ck_assert_int_eq(ckpt_cgroup_mode_from_string("soft", NULL, &err), CKPT_EINVAL);

	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++) {
		ck_assert_ptr_null(ckpt_cgroup_mode_name((ckpt_cgroup_mode)bad_values[i]));
		ck_assert_int_eq(ckpt_opts_set_cgroup_mode(o, (ckpt_cgroup_mode)bad_values[i],
							   &err),
				 CKPT_EINVAL);
		ck_assert_msg_has(err, "expected");
		ck_assert(!o->pb->has_manage_cgroups_mode);
		ck_assert_int_eq(ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, bad_values[i], &err),
				 CKPT_EINVAL);
		ck_assert(!o->pb->has_manage_cgroups_mode);
	}
	ck_assert_int_eq(ckpt_opts_set_cgroup_mode(NULL, CKPT_CGROUP_SOFT, &err), CKPT_EINVAL);
	ckpt_opts_free(o);
}
END_TEST

/* The deprecated ckpt_opts_set_leave_running is the bool key, and stays so. */
START_TEST(test_leave_running_alias)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	int64_t v = -1;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ckpt_opts_set_leave_running(o, true, &err), 0);
	ck_assert(o->pb->has_leave_running && o->pb->leave_running);
	ck_assert_int_eq(ckpt_opts_get_int(o, CKPT_OPT_LEAVE_RUNNING, &v, &err), 1);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(ckpt_opts_set_leave_running(o, false, &err), 0);
	ck_assert(o->pb->has_leave_running && !o->pb->leave_running);
	ck_assert_int_eq(ckpt_opts_set_leave_running(NULL, true, &err), CKPT_EINVAL);
	ckpt_opts_free(o);
}
END_TEST

START_TEST(test_network_lock)
{
	static const struct {
		const char *name;
		ckpt_network_lock m;
	} locks[] = {
		{ "iptables", CKPT_NETWORK_LOCK_IPTABLES },
		{ "nftables", CKPT_NETWORK_LOCK_NFTABLES },
		{ "skip", CKPT_NETWORK_LOCK_SKIP },
	};
	static const char *const bad[] = { "IPTABLES", "", "nft", "iptables ", "none" };
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_network_lock m;

	for (size_t i = 0; i < ARRAY_SIZE(locks); i++) {
		ck_assert_str_eq(ckpt_network_lock_name(locks[i].m), locks[i].name);
		ck_assert_int_eq(ckpt_network_lock_from_string(locks[i].name, &m, &err), 0);
		ck_assert_int_eq(m, locks[i].m);
	}
	m = CKPT_NETWORK_LOCK_SKIP;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(ckpt_network_lock_from_string(bad[i], &m, &err), CKPT_EINVAL);
		assert_names_input(&err, bad[i]);
		ck_assert_msg_has(err, "iptables, nftables, skip");
		ck_assert_int_eq(m, CKPT_NETWORK_LOCK_SKIP);
	}
	ck_assert_int_eq(ckpt_network_lock_from_string(NULL, &m, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_network_lock_from_string("skip", NULL, &err), CKPT_EINVAL);
	ck_assert_ptr_null(ckpt_network_lock_name((ckpt_network_lock)0));
	ck_assert_ptr_null(ckpt_network_lock_name((ckpt_network_lock)4));
	ck_assert_ptr_null(ckpt_network_lock_name((ckpt_network_lock)-1));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Namespace masks                                                     */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t flag;
} ns_names[] = {
	{ "network", CLONE_NEWNET }, { "net", CLONE_NEWNET },	{ "pid", CLONE_NEWPID },
	{ "mount", CLONE_NEWNS },    { "mnt", CLONE_NEWNS },	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER }, { "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME },
};

/* The canonical order of ckpt_ns_mask_to_string. */
static const struct {
	const char *name;
	uint32_t flag;
} ns_canon[] = {
	{ "network", CLONE_NEWNET },   { "pid", CLONE_NEWPID },	  { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },	  { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

START_TEST(test_ns_every_name)
{
	ckpt_err err = CKPT_ERR_INIT;
	const char *one[1] = { ns_names[_i].name };
	char list[64];
	uint32_t m = 0xdead;

	ck_assert_int_eq(ckpt_ns_mask_from_names(one, 1, &m, &err), 0);
	ck_assert_uint_eq(m, ns_names[_i].flag);
	m = 0xdead;
	snprintf(list, sizeof(list), "  %s\t", ns_names[_i].name);
	ck_assert_int_eq(ckpt_ns_mask_from_string(list, &m, &err), 0);
	ck_assert_uint_eq(m, ns_names[_i].flag);
	ck_assert_uint_eq(ns_flag_from_name(ns_names[_i].name, strlen(ns_names[_i].name), true),
			  ns_names[_i].flag);
}
END_TEST

START_TEST(test_ns_names)
{
	static const char *const all[] = { "network", "pid",  "mount",	"ipc",
					   "uts",     "user", "cgroup", "time" };
	static const char *const aliases[] = { "net", "mnt" };
	static const struct {
		const char *a, *b;
	} dups[] = {
		{ "net", "network" }, { "network", "net" }, { "mnt", "mount" }, { "mount", "mnt" },
		{ "pid", "pid" },     { "net", "net" },	    { "time", "time" },
	};
	static const char *const unknown[] = {
		"Network", "NET", "netns", "", "pid ", "mnt_ns", "pid_for_children", "ns"
	};
	ckpt_err err = CKPT_ERR_INIT;
	uint32_t m = 0xdead;

	ck_assert_int_eq(ckpt_ns_mask_from_names(all, ARRAY_SIZE(all), &m, &err), 0);
	ck_assert_uint_eq(m, NS_KNOWN_MASK);
	ck_assert_int_eq(ckpt_ns_mask_from_names(aliases, ARRAY_SIZE(aliases), &m, &err), 0);
	ck_assert_uint_eq(m, CLONE_NEWNET | CLONE_NEWNS);
	ck_assert_int_eq(ckpt_ns_mask_from_names(NULL, 0, &m, &err), 0);
	ck_assert_uint_eq(m, 0);

	for (size_t i = 0; i < ARRAY_SIZE(dups); i++) {
		const char *names[] = { "ipc", dups[i].a, "uts", dups[i].b };

		m = 0xdead;
		ck_assert_int_eq(ckpt_ns_mask_from_names(names, 4, &m, &err), CKPT_EINVAL);
		ck_assert_msg_has(err, "twice");
		ck_assert_msg_has(err, "expected");
		{
			char q[32];

			snprintf(q, sizeof(q), "\"%s\"", dups[i].b);
			ck_assert_msg_has(err, q);
			snprintf(q, sizeof(q), "\"%s\"", dups[i].a);
			ck_assert_msg_has(err, q);
		}
		ck_assert_uint_eq(m, 0xdead);
	}
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		const char *names[] = { "pid", unknown[i] };

		ck_assert_int_eq(ckpt_ns_mask_from_names(names, 2, &m, &err), CKPT_EINVAL);
		assert_names_input(&err, unknown[i]);
		ck_assert_msg_has(err, "names[1]");
		ck_assert_msg_has(err, "network, pid, mount");
		ck_assert_uint_eq(m, 0xdead);
	}
	ck_assert_int_eq(ckpt_ns_mask_from_names(NULL, 1, &m, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "NULL");
	{
		const char *names[] = { "pid", NULL };

		ck_assert_int_eq(ckpt_ns_mask_from_names(names, 2, &m, &err), CKPT_EINVAL);
		ck_assert_msg_has(err, "names[1] is NULL");
	}
	ck_assert_int_eq(ckpt_ns_mask_from_names(all, 1, NULL, &err), CKPT_EINVAL);
	ck_assert_uint_eq(m, 0xdead);
}
END_TEST

/* Every mask of the 8 namespaces goes to a string and back. */
START_TEST(test_ns_string_round_trip)
{
	ckpt_err err = CKPT_ERR_INIT;
	char buf[128], expect[128] = "";
	uint32_t mask = 0, back = 0xdead;

	for (size_t b = 0; b < ARRAY_SIZE(ns_canon); b++)
		if (_i & (1 << b)) {
			mask |= ns_canon[b].flag;
			if (*expect)
				strcat(expect, ",");
			strcat(expect, ns_canon[b].name);
		}
	ck_assert_int_eq(ckpt_ns_mask_to_string(mask, buf, sizeof(buf), &err), 0);
	ck_assert_str_eq(buf, expect);
	ck_assert_int_eq(ckpt_ns_mask_from_string(buf, &back, &err), 0);
	ck_assert_uint_eq(back, mask);

	/* The exact size fits; one byte less does not, and leaves buf alone. */
	ck_assert_int_eq(ckpt_ns_mask_to_string(mask, buf, strlen(expect) + 1, &err), 0);
	ck_assert_str_eq(buf, expect);
	strcpy(buf, "untouched");
	ck_assert_int_eq(ckpt_ns_mask_to_string(mask, buf, strlen(expect), &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "buffer");
	ck_assert_str_eq(buf, "untouched");

	/* Names from the names API agree. */
	{
		const char *names[8];
		size_t n = 0;

		for (size_t b = 0; b < ARRAY_SIZE(ns_canon); b++)
			if (_i & (1 << b))
				names[n++] = ns_canon[b].name;
		back = 0xdead;
		ck_assert_int_eq(ckpt_ns_mask_from_names(names, n, &back, &err), 0);
		ck_assert_uint_eq(back, mask);
	}
}
END_TEST

START_TEST(test_ns_string)
{
	static const struct {
		const char *in;
		uint32_t mask;
	} good[] = {
		{ "", 0 },
		{ "   ", 0 },
		{ "net,mnt", CLONE_NEWNET | CLONE_NEWNS },
		{ "network , ipc", CLONE_NEWNET | CLONE_NEWIPC },
		{ " uts,\tpid ,user ", CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWUSER },
		{ "time,cgroup", CLONE_NEWTIME | CLONE_NEWCGROUP },
	};
	static const struct {
		const char *in;
		const char *why;
	} bad[] = {
		{ "net,,ipc", "item 2 is empty" },
		{ ",net", "item 1 is empty" },
		{ "net,", "item 2 is empty" },
		{ " , ", "item 1 is empty" },
		{ ",", "item 1 is empty" },
		{ "net;ipc", "unknown namespace \"net;ipc\"" },
		{ "net ipc", "unknown namespace \"net ipc\"" },
		{ "net,network", "twice" },
		{ "mount, ipc, mnt", "twice" },
		{ "pid,pid", "twice" },
		{ "net,foo", "unknown namespace \"foo\"" },
		{ "NET", "unknown namespace \"NET\"" },
		{ "net\n", "unknown namespace" },
	};
	ckpt_err err = CKPT_ERR_INIT;
	char buf[64];
	uint32_t m;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		m = 0xdead;
		ck_assert_int_eq(ckpt_ns_mask_from_string(good[i].in, &m, &err), 0);
		ck_assert_uint_eq(m, good[i].mask);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		m = 0xdead;
		ck_assert_int_eq(ckpt_ns_mask_from_string(bad[i].in, &m, &err), CKPT_EINVAL);
		if (!strchr(bad[i].in, '\n'))
			assert_names_input(&err, bad[i].in);
		ck_assert_msg_has(err, bad[i].why);
		ck_assert_msg_has(err, "expected");
		ck_assert_uint_eq(m, 0xdead);
	}
	ck_assert_int_eq(ckpt_ns_mask_from_string(NULL, &m, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_ns_mask_from_string("net", NULL, &err), CKPT_EINVAL);

	/* Unknown bits and bad buffers. */
	ck_assert_int_eq(ckpt_ns_mask_to_string(CLONE_NEWNET | 0x1, buf, sizeof(buf), &err),
			 CKPT_EINVAL);
	ck_assert_msg_has(err, "0x40000001");
	ck_assert_msg_has(err, "0x1");
	ck_assert_int_eq(ckpt_ns_mask_to_string(CLONE_VM, buf, sizeof(buf), &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_ns_mask_to_string(0, NULL, 10, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_ns_mask_to_string(0, buf, 0, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_ns_mask_to_string(0, buf, 1, &err), 0);
	ck_assert_str_eq(buf, "");

	/* The single-bit helpers used by oci.c. */
	for (size_t i = 0; i < ARRAY_SIZE(ns_canon); i++)
		ck_assert_str_eq(ns_flag_name(ns_canon[i].flag), ns_canon[i].name);
	ck_assert_ptr_null(ns_flag_name(CLONE_NEWNET | CLONE_NEWPID));
	ck_assert_ptr_null(ns_flag_name(0));
	ck_assert_uint_eq(ns_flag_from_name("net", 3, false), 0);
	ck_assert_uint_eq(ns_flag_from_name("network", 7, false), CLONE_NEWNET);
	ck_assert_uint_eq(ns_flag_from_name("networks", 7, false), CLONE_NEWNET);
}
END_TEST

START_TEST(test_ns_of_pid_self)
{
	ckpt_err err = CKPT_ERR_INIT;
	uint32_t m = 0xdead;

	ck_assert_int_eq(ckpt_ns_mask_of_pid(getpid(), &m, &err), 0);
	ck_assert_uint_eq(m, 0);
	m = 0xdead;
	ck_assert_int_eq(ckpt_ns_mask_of_pid(getpid(), &m, NULL), 0);
	ck_assert_uint_eq(m, 0);

	m = 0xdead;
	ck_assert_int_eq(ckpt_ns_mask_of_pid(0, &m, &err), CKPT_EINVAL);
	ck_assert_msg_has(err, "pid 0");
	ck_assert_int_eq(ckpt_ns_mask_of_pid(-5, &m, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_ns_mask_of_pid(getpid(), NULL, &err), CKPT_EINVAL);
	/* Above any pid_max (2^22). */
	ck_assert_int_eq(ckpt_ns_mask_of_pid(0x7ffffff0, &m, &err), CKPT_ENOTARGET);
	ck_assert_msg_has(err, "2147483632");
	ck_assert_uint_eq(m, 0xdead);
}
END_TEST

START_TEST(test_ns_of_pid_zombie)
{
	ckpt_err err = CKPT_ERR_INIT;
	siginfo_t si;
	uint32_t m = 0xdead;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	/* Wait until it is a zombie, without reaping it. */
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(ckpt_ns_mask_of_pid(pid, &m, &err), CKPT_ENOTARGET);
	ck_assert_uint_eq(m, 0xdead);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	/* Reaped: gone (unless the pid was reused in between, which is unlikely). */
	ck_assert_int_eq(ckpt_ns_mask_of_pid(pid, &m, &err), CKPT_ENOTARGET);
}
END_TEST

/* A child in a new network (and, without privileges, user) namespace. */
START_TEST(test_ns_of_pid_child)
{
	ckpt_err err = CKPT_ERR_INIT;
	int ready[2], hold[2];
	uint32_t m = 0, want = 0;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint32_t got = CLONE_NEWNET | CLONE_NEWUTS;

		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWNET | CLONE_NEWUTS) < 0) {
			got |= CLONE_NEWUSER;
			if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS) < 0)
				got = 0;
		}
		if (write(ready[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		(void)!read(hold[0], &c, 1); /* until the parent closes it */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ck_assert_int_eq(read(ready[0], &want, sizeof(want)), sizeof(want));
	if (want) {
		ck_assert_int_eq(ckpt_ns_mask_of_pid(pid, &m, &err), 0);
		ck_assert_uint_eq(m, want);
	} else {
		fprintf(stderr,
			"test_ns_of_pid_child: cannot unshare here, only checking the call\n");
		ck_assert_int_eq(ckpt_ns_mask_of_pid(pid, &m, &err), 0);
	}
	close(hold[1]);
	close(ready[0]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

START_TEST(test_empty_ns)
{
	static const struct {
		uint32_t mask;
		const char *names;
	} refused[] = {
		{ CLONE_NEWPID, "\"pid\"" },
		{ CLONE_NEWNS, "\"mount\"" },
		{ CLONE_NEWIPC, "\"ipc\"" },
		{ CLONE_NEWUTS, "\"uts\"" },
		{ CLONE_NEWUSER, "\"user\"" },
		{ CLONE_NEWCGROUP, "\"cgroup\"" },
		{ CLONE_NEWTIME, "\"time\"" },
		{ CLONE_NEWNET | CLONE_NEWIPC, "\"ipc\"" },
		{ CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWUTS, "\"pid,uts\"" },
		{ 0x1, "0x1" },
		{ CLONE_NEWNET | CLONE_VM, "0x100" },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(ckpt_opts_set_empty_ns(o, CLONE_NEWNET, &err), 0);
	ck_assert(o->pb->has_empty_ns);
	ck_assert_uint_eq(o->pb->empty_ns, CLONE_NEWNET);

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		ck_assert_int_eq(ckpt_opts_set_empty_ns(o, refused[i].mask, &err), CKPT_EINVAL);
		ck_assert_msg_has(err, refused[i].names);
		ck_assert_msg_has(err, "expected CLONE_NEWNET");
		ck_assert(o->pb->has_empty_ns);
		ck_assert_uint_eq(o->pb->empty_ns, CLONE_NEWNET);
	}
	ck_assert_int_eq(ckpt_opts_set_empty_ns(o, 0, &err), 0);
	ck_assert(!o->pb->has_empty_ns);
	ck_assert_uint_eq(o->pb->empty_ns, 0);
	ck_assert_int_eq(ckpt_opts_set_empty_ns(NULL, CLONE_NEWNET, &err), CKPT_EINVAL);
	ckpt_opts_free(o);
}
END_TEST

/* The library prints nothing, even when every call above fails. */
START_TEST(test_silence)
{
	ckpt_err err = CKPT_ERR_INIT;
	int out[2], saved1, saved2;
	ckpt_cgroup_mode cm;
	ckpt_network_lock nl;
	uint16_t port;
	uint32_t m;
	char buf[4], c;
	ckpt_opts *o = ckpt_opts_new();

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
	fflush(stdout);
	fflush(stderr);
	saved1 = dup(1);
	saved2 = dup(2);
	dup2(out[1], 1);
	dup2(out[1], 2);
	for (size_t i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		ckpt_parse_address_port(bad_addrs[i].in, buf, sizeof(buf), &port, &err);
		ckpt_parse_address_port(bad_addrs[i].in, buf, sizeof(buf), &port, NULL);
		ckpt_opts_set_page_server(o, bad_addrs[i].in, NULL);
	}
	ckpt_opts_set_page_server_addr(o, "x y", 70000, &err);
	ckpt_cgroup_mode_from_string("x", &cm, &err);
	ckpt_opts_set_cgroup_mode(o, (ckpt_cgroup_mode)99, NULL);
	ckpt_network_lock_from_string("x", &nl, NULL);
	ckpt_ns_mask_from_string(",,", &m, &err);
	ckpt_ns_mask_to_string(0xffffffff, buf, sizeof(buf), NULL);
	ckpt_ns_mask_of_pid(0x7ffffff0, &m, &err);
	ckpt_opts_set_empty_ns(o, CLONE_NEWPID, NULL);
	fflush(stdout);
	fflush(stderr);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(out[1]);
	ck_assert_int_eq(read(out[0], &c, 1), 0);
	close(out[0]);
	ckpt_opts_free(o);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc;

	tc = tcase_create("address");
	tcase_add_loop_test(tc, test_addr_bad, 0, ARRAY_SIZE(bad_addrs));
	tcase_add_loop_test(tc, test_addr_good, 0, ARRAY_SIZE(good_addrs));
	tcase_add_test(tc, test_addr_hostname_too_long);
	tcase_add_test(tc, test_addr_buffer);
	tcase_add_test(tc, test_page_server);
	suite_add_tcase(s, tc);

	tc = tcase_create("enums");
	tcase_add_loop_test(tc, test_cgroup_mode_round_trip, 0, ARRAY_SIZE(cg_modes));
	tcase_add_test(tc, test_cgroup_mode_bad);
	tcase_add_test(tc, test_leave_running_alias);
	tcase_add_test(tc, test_network_lock);
	suite_add_tcase(s, tc);

	tc = tcase_create("namespaces");
	tcase_add_loop_test(tc, test_ns_every_name, 0, ARRAY_SIZE(ns_names));
	tcase_add_test(tc, test_ns_names);
	tcase_add_loop_test(tc, test_ns_string_round_trip, 0, 256);
	tcase_add_test(tc, test_ns_string);
	tcase_add_test(tc, test_ns_of_pid_self);
	tcase_add_test(tc, test_ns_of_pid_zombie);
	tcase_add_test(tc, test_ns_of_pid_child);
	tcase_add_test(tc, test_empty_ns);
	suite_add_tcase(s, tc);

	tc = tcase_create("silence");
	tcase_add_test(tc, test_silence);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
