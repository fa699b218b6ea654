/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network scenario, all real: a TCP server in its own network namespace
 * is checkpointed with empty-ns network (the nftables lock; without it the
 * error names the missing iptables-restore and the alternatives), killed,
 * restored with a veth wired by libckpt, and a client on the host gets its
 * answer through the veth. A bad veth fails cleanly, leaving no interface.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "common.h"

#define PORT 7777
#define NS_ADDR "10.231.0.2"

static const char server_py[] = "import socket\n"
				"s = socket.socket()\n"
				"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
				"s.bind(('0.0.0.0', 7777))\n"
				"s.listen(8)\n"
				"n = 0\n"
				"while True:\n"
				"    c, _ = s.accept()\n"
				"    n += 1\n"
				"    c.sendall(b'hello %d\\n' % n)\n"
				"    c.close()\n";

static pid_t server_start(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (unshare(CLONE_NEWNET) < 0)
			_exit(126);
		setsid();
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("/usr/bin/python3", "python3", "-c", server_py, (char *)NULL);
		_exit(127);
	}
	msleep(700); /* python is listening */
	return pid;
}

static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* Connect to the server through the veth; the answer or "" */
static void ask(char *buf, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t r;

	buf[0] = '\0';
	inet_pton(AF_INET, NS_ADDR, &a.sin_addr);
	for (int i = 0; i < 50; i++) {
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		msleep(50);
	}
	r = read(fd, buf, n - 1);
	buf[r > 0 ? r : 0] = '\0';
	close(fd);
}

START_TEST(server_through_veth)
{
	ckpt_client *c = client_new();
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_opts *o = ckpt_opts_new();
	char *imgs = tmpdir_new("netimg"), buf[64];
	pid_t pid, restored;
	uint32_t mask;

	be_subreaper();
	system("ip link del ckv-host0 2>/dev/null; ip link del ckv-taken 2>/dev/null");
	pid = server_start();
	ck_assert(alive(pid));
	ck_assert_ok(ckpt_ns_mask_from_string("network", &mask, &err), err);
	ck_assert_ok(ckpt_opts_set_empty_ns(o, mask, &err), err);
	ck_assert_ok(ckpt_opts_set_pid(o, pid, &err), err);
	ck_assert_ok(ckpt_opts_set_images_dir(o, imgs, &err), err);

	/* CRIU's default lock: iptables-restore is not installed here; the error says so */
	if (access("/usr/sbin/iptables-restore", X_OK) != 0 &&
	    access("/sbin/iptables-restore", X_OK) != 0) {
		ck_assert_int_eq(ckpt_dump(c, o, &err), CKPT_ECRIU);
		/* the decisive line names the missing program; the hint, the option that avoids it */
		ck_assert_msg(strstr(err.msg, "iptables-restore") && strstr(err.hint, "nftables"),
			      "%s / %s", err.msg, err.hint);
		ck_assert(alive(pid));
	}
	ck_assert_ok(ckpt_opts_set_int(o, CKPT_OPT_NETWORK_LOCK, CKPT_NETWORK_LOCK_NFTABLES, &err),
		     err);
	ck_assert_ok(ckpt_dump(c, o, &err), err);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);

	/* a bad veth: the host name is taken; the restore fails, naming it, and leaves nothing */
	ck_assert_int_eq(system("ip link add ckv-taken type veth peer name ckv-taken-p"), 0);
	ck_assert_ok(ckpt_client_set_netns_veth(c, "eth0", "ckv-taken", NS_ADDR "/24",
						"10.231.0.1/24", &err),
		     err);
	ck_assert_int_eq(ckpt_restore(c, o, &restored, &err), CKPT_ENETSETUP);
	ck_assert_msg(strstr(err.msg, "ckv-taken"), "%s", err.msg);
	ck_assert(!alive(pid));
	system("ip link del ckv-taken");
	ck_assert(!link_exists("ckv-taken"));
	/* bad addresses are refused before anything is made */
	ck_assert_int_eq(ckpt_client_set_netns_veth(c, "eth0", "ckv-host0", "10.231.0.999/24",
						    "10.231.0.1/24", &err),
			 CKPT_EINVAL);
	ck_assert_msg(strstr(err.msg, "10.231.0.999"), "%s", err.msg);
	ck_assert_int_eq(ckpt_client_set_netns_veth_spec(c, "eth0:ckv-host0:10.231.0.2", &err),
			 CKPT_EINVAL);
	ck_assert(!link_exists("ckv-host0"));

	/* the real thing */
	ck_assert_ok(ckpt_client_set_netns_veth_spec(
			     c, "eth0:ckv-host0:" NS_ADDR "/24:10.231.0.1/24", &err),
		     err);
	ck_assert_ok(ckpt_restore(c, o, &restored, &err), err);
	ck_assert_int_eq(restored, pid);
	ck_assert(link_exists("ckv-host0"));
	ask(buf, sizeof(buf));
	ck_assert_str_eq(buf, "hello 1\n");
	ask(buf, sizeof(buf));
	ck_assert_str_eq(buf, "hello 2\n");
	kill_wait(restored);
	/* the namespace went with the server, and the pair with it */
	for (int i = 0; i < 100 && link_exists("ckv-host0"); i++)
		msleep(20);
	ck_assert(!link_exists("ckv-host0"));
	ckpt_opts_free(o);
	ckpt_client_free(c);
	rm_rf(imgs);
	free(imgs);
}
END_TEST

int main(void)
{
	RUN_TESTS("netns", 240, server_through_veth);
}
