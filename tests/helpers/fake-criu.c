/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-criu: a misbehaving CRIU peer for the transport tests.
 *
 *   fake-criu swrk FD
 *
 * Reads one request from FD (a SOCK_SEQPACKET socket), then acts as the mode
 * says. The mode is $FAKE_MODE, or, when unset (the library's default
 * environment), the contents of the file "fake-mode" next to the executable
 * (/proc/self/exe's directory: copy the binary into a temp dir to use it).
 * Output files go to $FAKE_OUT, else "fake-out" next to the executable.
 *
 * Modes: exit0 exit1 segv hang garbage truncated oversized wrongtype badenum
 * notify-null missing-required fds close-after-read close-after-notify
 * envdump fddump version:M.m.s notify-then-ok forkmany:N slow-ok:SECONDS
 * close-then-exit1.
 *
 * Exits with _exit() everywhere so a sanitizer build prints nothing at exit.
 * Exit status 3 means the library sent something the fake did not expect.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc.pb-c.h"

extern char **environ;

static int sock = -1;
static char self_dir[PATH_MAX];

static void die(int code)
{
	_exit(code);
}

static void send_bytes(const void *buf, size_t len)
{
	if (send(sock, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		die(4);
}

static void send_resp(const CriuResp *resp)
{
	size_t len = criu_resp__get_packed_size(resp);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		die(4);
	criu_resp__pack(resp, buf);
	send_bytes(buf, len);
	free(buf);
}

/* One request; NULL on EOF. */
static CriuReq *recv_req(void)
{
	static uint8_t buf[1 << 20];
	ssize_t n;

	do
		n = recv(sock, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return NULL;
	return criu_req__unpack(NULL, (size_t)n, buf);
}

static void reply_version(CriuReqType type, int major, int minor, int sub)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuVersion v = CRIU_VERSION__INIT;

	v.major_number = major;
	v.minor_number = minor;
	v.has_sublevel = 1;
	v.sublevel = sub;
	resp.type = type;
	resp.success = 1;
	resp.version = &v;
	send_resp(&resp);
}

static const char *path_next_to_self(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", self_dir, name);
	return buf;
}

static FILE *open_out(void)
{
	char buf[PATH_MAX];
	const char *p = getenv("FAKE_OUT");
	FILE *f;

	if (!p)
		p = path_next_to_self("fake-out", buf, sizeof(buf));
	f = fopen(p, "we");
	if (!f)
		die(5);
	return f;
}

static bool send_notify(const char *script)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuNotify n = CRIU_NOTIFY__INIT;
	CriuReq *ack;
	bool ok;

	n.script = (char *)script;
	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = 1;
	resp.notify = &n;
	send_resp(&resp);
	ack = recv_req();
	if (!ack || ack->type != CRIU_REQ_TYPE__NOTIFY || !ack->has_notify_success)
		die(3);
	ok = ack->notify_success;
	criu_req__free_unpacked(ack, NULL);
	return ok;
}

/* forkmany: children that just wait to be killed. */
static pid_t sleeper(void)
{
	pid_t p = fork();

	if (p == 0) {
		for (;;)
			pause();
	}
	return p;
}

struct forker {
	int n;
	pid_t *pids;
	volatile int done;
};

/* Fork n children, then stay: the children stay listed under this thread's task. */
static void *fork_from_thread(void *arg)
{
	struct forker *f = arg;

	for (int i = 0; i < f->n; i++)
		f->pids[i] = sleeper();
	__atomic_store_n(&f->done, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	char mode[256] = "";
	const char *m = getenv("FAKE_MODE");
	CriuResp resp = CRIU_RESP__INIT;
	CriuReq *req;
	CriuReqType type;
	ssize_t n;
	char *slash;

	if (argc != 3 || strcmp(argv[1], "swrk") != 0)
		die(2);
	sock = atoi(argv[2]);
	n = readlink("/proc/self/exe", self_dir, sizeof(self_dir) - 1);
	if (n < 0)
		die(2);
	self_dir[n] = '\0';
	slash = strrchr(self_dir, '/');
	if (slash)
		*slash = '\0';
	if (m) {
		snprintf(mode, sizeof(mode), "%s", m);
	} else {
		char p[PATH_MAX];
		int fd = open(path_next_to_self("fake-mode", p, sizeof(p)), O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			n = read(fd, mode, sizeof(mode) - 1);
			mode[n > 0 ? n : 0] = '\0';
			mode[strcspn(mode, "\n")] = '\0';
			close(fd);
		}
	}

	if (!strcmp(mode, "exit0"))
		die(0); /* before reading anything */

	req = recv_req();
	if (!req)
		die(3);
	type = req->type;
	criu_req__free_unpacked(req, NULL);

	if (!strcmp(mode, "exit1"))
		die(1);
	if (!strcmp(mode, "segv")) {
		signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would turn it into an exit */
		raise(SIGSEGV);
		die(6);
	}
	if (!strcmp(mode, "hang")) {
		for (;;)
			pause();
	}
	if (!strncmp(mode, "forkmany:", 9)) {
		/* half the children from the leader, half from a second thread; then hang */
		int total = atoi(mode + 9), half = total / 2;
		pid_t *pids = calloc((size_t)total + 1, sizeof(pid_t));
		struct forker f = { total - half, NULL, 0 };
		pthread_t th;
		FILE *out;

		if (!pids)
			die(4);
		f.pids = pids + half;
		for (int i = 0; i < half; i++)
			pids[i] = sleeper();
		if (pthread_create(&th, NULL, fork_from_thread, &f) != 0)
			die(4);
		while (!__atomic_load_n(&f.done, __ATOMIC_SEQ_CST))
			usleep(1000);
		out = open_out();
		for (int i = 0; i < total; i++)
			fprintf(out, "%d\n", (int)pids[i]);
		fclose(out);
		for (;;)
			pause();
	}
	if (!strncmp(mode, "slow-ok:", 8)) {
		sleep((unsigned)atoi(mode + 8));
		resp.type = type;
		resp.success = 1;
		send_resp(&resp);
		die(0);
	}
	if (!strcmp(mode, "close-then-exit1")) {
		close(sock);
		usleep(200 * 1000);
		die(1);
	}
	if (!strcmp(mode, "garbage")) {
		uint8_t buf[256];
		unsigned s = 12345;

		for (size_t i = 0; i < sizeof(buf); i++) {
			s = s * 1103515245u + 12345u;
			buf[i] = (uint8_t)(s >> 16);
		}
		buf[0] = 0x07; /* field 0, wire type 7: never a valid tag */
		send_bytes(buf, sizeof(buf));
		die(0);
	}
	if (!strcmp(mode, "truncated")) {
		CriuVersion v = CRIU_VERSION__INIT;
		uint8_t buf[256];
		size_t len;

		v.major_number = 4;
		v.minor_number = 2;
		v.gitid = "0123456789abcdef0123456789abcdef01234567";
		resp.type = type;
		resp.success = 1;
		resp.version = &v;
		len = criu_resp__pack(&resp, buf);
		send_bytes(buf, len / 2);
		die(0);
	}
	if (!strcmp(mode, "oversized")) {
		size_t len = 2u << 20;
		int sz = 8 << 20;
		uint8_t *buf = calloc(1, len);

		if (!buf)
			die(4);
		if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		send_bytes(buf, len);
		die(0);
	}
	if (!strcmp(mode, "wrongtype")) {
		resp.type = type == CRIU_REQ_TYPE__DUMP ? CRIU_REQ_TYPE__RESTORE :
							  CRIU_REQ_TYPE__DUMP;
		resp.success = 1;
		send_resp(&resp);
		die(0);
	}
	if (!strcmp(mode, "badenum")) {
		resp.type = 999;
		resp.success = 1;
		send_resp(&resp);
		die(0);
	}
	if (!strcmp(mode, "notify-null")) {
		resp.type = CRIU_REQ_TYPE__NOTIFY;
		resp.success = 1;
		send_resp(&resp);
		die(0);
	}
	if (!strcmp(mode, "missing-required")) {
		/* type = VERSION (field 1, varint 10) and nothing else: success is required */
		static const uint8_t buf[] = { 0x08, 0x0a };

		send_bytes(buf, sizeof(buf));
		die(0);
	}
	if (!strcmp(mode, "fds")) {
		CriuVersion v = CRIU_VERSION__INIT;
		uint8_t buf[256];
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(3 * sizeof(int))];
		} ctl;
		struct iovec iov;
		struct msghdr msg = { 0 };
		struct cmsghdr *cm;
		int fds[3];

		v.major_number = 4;
		v.minor_number = 2;
		resp.type = type;
		resp.success = 1;
		resp.version = &v;
		iov.iov_base = buf;
		iov.iov_len = criu_resp__pack(&resp, buf);
		for (int i = 0; i < 3; i++)
			if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
				die(4);
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
			die(4);
		die(0);
	}
	if (!strcmp(mode, "close-after-read")) {
		close(sock);
		usleep(50 * 1000);
		die(0);
	}
	if (!strcmp(mode, "close-after-notify")) {
		CriuNotify nt = CRIU_NOTIFY__INIT;

		nt.script = "pre-dump";
		resp.type = CRIU_REQ_TYPE__NOTIFY;
		resp.success = 1;
		resp.notify = &nt;
		send_resp(&resp);
		close(sock);
		die(0);
	}
	if (!strcmp(mode, "envdump")) {
		FILE *f = open_out();

		for (char **e = environ; *e; e++)
			fprintf(f, "%s\n", *e);
		fclose(f);
		reply_version(type, 4, 2, 1);
		die(0);
	}
	if (!strcmp(mode, "fddump")) {
		int list[1024];
		size_t nl = 0;
		DIR *d = opendir("/proc/self/fd");
		struct dirent *de;
		FILE *f;

		if (!d)
			die(4);
		while ((de = readdir(d)) && nl < 1024) {
			if (de->d_name[0] == '.')
				continue;
			if (atoi(de->d_name) == dirfd(d))
				continue;
			list[nl++] = atoi(de->d_name);
		}
		closedir(d);
		f = open_out();
		for (size_t i = 0; i < nl; i++)
			fprintf(f, "%d\n", list[i]);
		fclose(f);
		reply_version(type, 4, 2, 1);
		die(0);
	}
	if (!strncmp(mode, "version:", 8)) {
		int a = 0, b = 0, c = 0;

		if (sscanf(mode + 8, "%d.%d.%d", &a, &b, &c) < 2)
			die(2);
		reply_version(type, a, b, c);
		die(0);
	}
	if (!strcmp(mode, "notify-then-ok")) {
		static const char *const scripts[] = { "pre-dump", "post-dump" };

		for (size_t i = 0; i < 2; i++) {
			if (!send_notify(scripts[i])) {
				/* what criu does: the action script failed, the dump fails */
				resp.type = type;
				resp.success = 0;
				resp.has_cr_errno = 1;
				resp.cr_errno = 0;
				resp.cr_errmsg = "action script failed";
				send_resp(&resp);
				die(1);
			}
		}
		resp.type = type;
		resp.success = 1;
		send_resp(&resp);
		die(0);
	}
	die(2); /* unknown mode */
}
