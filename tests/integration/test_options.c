/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Options against real CRIU: a dump with a cgroup mode; a tree in its own
 * network namespace dumped with empty-ns network and restored into a new
 * empty one; a dump through a CRIU page server started with PAGE_SERVER,
 * restored from the page server's directory.
 */
#include <sched.h>

#include "common.h"

START_TEST(cgroup_mode_soft)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("cgst"), *imgs = tmpdir_new("cgimg");
	ckpt_cgroup_mode mode;
	pid_t pid, restored;
	long v;

	be_subreaper();
	pid = counter_start(dir, 1);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	ck_assert_ok(ckpt_cgroup_mode_from_string("soft", &mode, &err), err);
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_CGROUP_MODE, mode, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	v = read_num(dir, "counter");
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	kill_wait(restored);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

static unsigned long netns_ino(pid_t pid)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	ck_assert_int_eq(stat(p, &st), 0);
	return (unsigned long)st.st_ino;
}

/* A counter in a network namespace of its own, our child (we are its subreaper). */
static pid_t counter_start_in_netns(const char *dir)
{
	pid_t pid = fork();
	FILE *f;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(126);
		counter_start(dir,
			      1); /* the counter is the child of this netns' first process... */
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	/* ...and, orphaned, it is ours now: find it, the newest counter */
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	f = popen("pgrep -n -x counter", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	pclose(f);
	return pid;
}

START_TEST(empty_netns)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("nsst"), *imgs = tmpdir_new("nsimg");
	uint32_t mask = 0;
	pid_t pid, restored;
	unsigned long before;
	long v;

	be_subreaper();
	pid = counter_start_in_netns(dir);
	before = netns_ino(pid);
	ck_assert_uint_ne(before, netns_ino(getpid()));
	ck_assert_ok(ckpt_ns_mask_of_pid(pid, &mask, &err), err);
	ck_assert(mask & CLONE_NEWNET);

	ck_assert_ok(ckpt_ns_mask_from_string("network", &mask, &err), err);
	ck_assert_ok(ckpt_opts_set_empty_ns(o, mask, &err), err);
	/* CRIU's default lock needs iptables-restore, absent here */
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err),
		     err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	v = read_num(dir, "counter");
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	/* a new, empty network namespace: not the host's, not the old one, only lo */
	ck_assert_uint_ne(netns_ino(restored), netns_ino(getpid()));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "nsenter -t %d -n ip -o link | grep -vc ': lo:'", (int)restored);
	FILE *f = popen(cmd, "r");
	int others = -1;
	ck_assert_int_eq(fscanf(f, "%d", &others), 1);
	pclose(f);
	ck_assert_int_eq(others, 0);
	kill_wait(restored);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

/* A restore that joins an existing network namespace given by path. */
START_TEST(join_netns)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *dir = tmpdir_new("jnst"), *imgs = tmpdir_new("jnimg");
	struct stat want;
	pid_t pid, restored;
	long v;

	be_subreaper();
	system("ip netns del ckpt-join 2>/dev/null");
	ck_assert_int_eq(system("ip netns add ckpt-join"), 0);
	ck_assert_int_eq(stat("/run/netns/ckpt-join", &want), 0);
	pid = counter_start_in_netns(dir);
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_EMPTY_NS, CLONE_NEWNET, &err), err);
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err),
		     err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	v = read_num(dir, "counter");
	ck_assert_ok(ckpt_opts_clear(o, CKPT_OPT_EMPTY_NS, &err), err);
	ck_assert_ok(ckpt_opts_add_join_ns(o, "net", "/run/netns/ckpt-join", NULL, &err), err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	ck_assert_uint_eq(netns_ino(restored), (unsigned long)want.st_ino);
	kill_wait(restored);
	system("ip netns del ckpt-join");
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	free(dir);
	free(imgs);
}
END_TEST

START_TEST(page_server)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *po = ckpt_opts_new(), *o = ckpt_opts_new();
	char *dir = tmpdir_new("psst"), *imgs = tmpdir_new("psimg"), *psdir = tmpdir_new("psdir"),
	     cmd[512];
	pid_t pid, ps_pid = 0, restored;
	int port = 0;
	unsigned long long sum;
	long v;

	be_subreaper();
	pid = counter_start(dir, 8);
	ck_assert_int_ge(counter_wait(dir, 3, 5000), 3);
	sum = read_u64(dir, "checksum.start");

	/* the receiving side: CRIU picks a port on loopback, and says on the status fd when it is ready */
	int status[2];
	char byte = 1;
	ck_assert_int_eq(pipe2(status, O_CLOEXEC), 0);
	ck_assert_ok(ckpt_opts_set_int(po, CKPT_OPT_STATUS_FD, status[1], &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(po, psdir, &err), err);
	ck_assert_ok(ckpt_opts_set_page_server_addr(po, "127.0.0.1", 0, &err), err);
	ck_assert_ok(ckpt_page_server_start(c, po, &ps_pid, &port, &err), err);
	ck_assert_int_ge(ps_pid, 0); /* CRIU 4.2.1 reports 0 */
	ck_assert_int_gt(port, 0);
	close(status[1]);
	ck_assert_int_eq(read(status[0], &byte, 1), 1); /* CRIU writes one NUL byte when ready */
	ck_assert_int_eq(byte, 0);
	close(status[0]);

	/* the dump sends its pages there */
	snprintf(cmd, sizeof(cmd), "127.0.0.1:%d", port);
	ck_assert_ok(ckpt_opts_set_page_server(o, cmd, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	waitpid(pid, NULL, 0);
	/* the page server ended with the dump (it was reparented to us, the subreaper) */
	for (int i = 0; i < 300 && count_children() > 0; i++) {
		waitpid(-1, NULL, WNOHANG);
		msleep(10);
	}
	ck_assert_int_eq(count_children(), 0);
	snprintf(cmd, sizeof(cmd), "ls %s/pages-*.img >/dev/null 2>&1", psdir);
	ck_assert_int_eq(system(cmd), 0); /* the pages are on the server's side */
	snprintf(cmd, sizeof(cmd), "ls %s/pages-*.img >/dev/null 2>&1", imgs);
	ck_assert_int_ne(system(cmd), 0);

	/* restore from the page server's directory, with the rest of the images beside the pages */
	snprintf(cmd, sizeof(cmd), "cp -n %s/*.img %s/", imgs, psdir);
	ck_assert_int_eq(system(cmd), 0);
	ckpt_opts *ro = ckpt_opts_new();
	ck_assert_ok(ckpt_opts_set_images_dir(ro, psdir, &err), err);
	v = read_num(dir, "counter");
	ck_assert_ok(ckpt_restore(c, ro, &restored, &err), err);
	ck_assert_int_eq(restored, pid);
	ck_assert_int_ge(counter_wait(dir, v + 3, 5000), v + 3);
	ck_assert_uint_eq(counter_checksum(restored, dir), sum);
	kill_wait(restored);
	ckpt_opts_free(ro);
	ckpt_opts_free(po);
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(dir);
	rm_rf(imgs);
	rm_rf(psdir);
	free(dir);
	free(imgs);
	free(psdir);
}
END_TEST

int main(void)
{
	RUN_TESTS("options", 240, cgroup_mode_soft, empty_netns, page_server, join_netns);
}
