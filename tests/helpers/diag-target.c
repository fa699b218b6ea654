/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A checkpoint target that holds one thing CRIU refuses to dump without an
 * option (a file lock, an established TCP connection, an external unix
 * socket, SysV shm, a tty, a task of another uid, an open file), for the
 * diagnosis and preflight tests and the recorded CRIU logs.
 *
 *   diag-target [-n] PIDFILE MODE [ARG]
 *
 * It closes every inherited fd above 2, calls setsid() (forking first if it leads a process group) unless -n is
 * given, points stdio at /dev/null (except in the tty modes), sets MODE up,
 * writes the pid to dump into PIDFILE (written whole, by rename) and sleeps.
 *
 * Modes:
 *   sleep                nothing
 *   flock PATH           an flock(LOCK_EX) on PATH (created)
 *   posix-lock PATH      an fcntl F_SETLK write lock on PATH (created)
 *   tcp                  an established TCP connection to itself on 127.0.0.1
 *   tcp-connect PORT     a TCP connection to 127.0.0.1:PORT (a listener outside)
 *   unix-connect PATH    a stream unix socket connected to a listener at PATH (outside)
 *   unix-dgram PATH      a datagram unix socket connected to a socket bound at PATH (outside)
 *   unix-listen PATH     the outside peer: a stream listener at PATH that accepts and keeps
 *                        connections, and a datagram socket bound at PATH.dgram
 *   shm                  an attached SysV shared memory segment (removed once attached)
 *   open PATH            PATH held open read-write (created)
 *   uid UID              a child running as UID and GID UID
 *   tty                  a pty: the target is a child that made the slave its
 *                        controlling tty; the master stays with this process
 *   tty-dangling         as tty, but the child then starts a session of its own
 *                        and keeps the slave on fds 0-2 (a tty of another session)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	_exit(1);
}

static void write_pidfile(const char *path, pid_t pid)
{
	char tmp[4096], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(tmp);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, (size_t)n) != n)
		die(tmp);
	close(fd);
	if (rename(tmp, path) < 0)
		die(path);
}

static void stdio_null(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		die("/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static int tcp_self(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("tcp");
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	close(l);
	return s;
}

static void tcp_connect(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)atoi(port)) };
	int c = socket(AF_INET, SOCK_STREAM, 0);

	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("tcp-connect");
}

static void unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int c = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("unix-connect");
}

static void unix_dgram(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int c = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("unix-dgram");
}

/* The outside peer: accept stream connections (kept open) until killed. */
static void unix_listen(const char *pidfile, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0), d = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0)
		die("unix-listen");
	snprintf(a.sun_path, sizeof(a.sun_path), "%s.dgram", path);
	unlink(a.sun_path);
	if (d < 0 || bind(d, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("unix-listen dgram");
	write_pidfile(pidfile, getpid());
	for (;;)
		if (accept(l, NULL, NULL) < 0)
			sleep(1);
}

static void shm_attach(void)
{
	int id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
	char *p;

	if (id < 0)
		die("shmget");
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		die("shmat");
	p[0] = 1;
	shmctl(id, IPC_RMID, NULL); /* gone with the last detach: nothing is left behind */
}

/* The tty modes: this process keeps the master; the child is the target. */
static void tty_mode(const char *pidfile, bool dangling)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;
	char slave[128];
	pid_t pid;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, sizeof(slave)) != 0)
		die("pty");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(m);
		if (setsid() < 0)
			die("setsid");
		s = open(slave, O_RDWR);
		if (s < 0)
			die("pts");
		if (ioctl(s, TIOCSCTTY, 0) < 0)
			die("TIOCSCTTY");
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		if (s > 2)
			close(s);
		if (dangling) {
			/* a grandchild in a session of its own, still holding the slave */
			pid_t g = fork();

			if (g < 0)
				die("fork");
			if (g > 0) {
				waitpid(g, NULL, 0); /* gone with the target */
				_exit(0);
			}
			if (setsid() < 0)
				die("setsid");
			write_pidfile(pidfile, getpid());
		} else {
			write_pidfile(pidfile, getpid());
		}
		sleep_forever();
	}
	stdio_null();
	/* the master holder: it drains the tty and lives as long as the target */
	for (;;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		char buf[256];

		if (poll(&p, 1, 200) > 0 && read(m, buf, sizeof(buf)) <= 0)
			usleep(200000);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			_exit(0);
	}
}

int main(int argc, char **argv)
{
	bool new_session = true;
	const char *pidfile, *mode, *arg;
	int i = 1, fd;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		new_session = false;
		i++;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: diag-target [-n] PIDFILE MODE [ARG]\n");
		return 2;
	}
	/* nothing inherited goes along (flock(1)'s lock fd would be a file lock of the tree) */
	syscall(__NR_close_range, 3, ~0U,
		0); /* close_range(2): glibc 2.34 has the wrapper, 2.31 not */
	pidfile = argv[i];
	mode = argv[i + 1];
	arg = argc - i > 2 ? argv[i + 2] : NULL;
	if (new_session && setsid() < 0) {
		pid_t pid = fork(); /* a process group leader cannot setsid: a child can */

		if (pid < 0)
			die("fork");
		if (pid > 0)
			_exit(0);
		if (setsid() < 0)
			die("setsid");
	}
	if (!strcmp(mode, "tty") || !strcmp(mode, "tty-dangling")) {
		tty_mode(pidfile, !strcmp(mode, "tty-dangling"));
		return 0;
	}
	stdio_null();
	if (!strcmp(mode, "sleep")) {
	} else if (!strcmp(mode, "flock") && arg) {
		fd = open(arg, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			die("flock");
	} else if (!strcmp(mode, "posix-lock") && arg) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		fd = open(arg, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0)
			die("posix-lock");
	} else if (!strcmp(mode, "tcp")) {
		tcp_self();
	} else if (!strcmp(mode, "tcp-connect") && arg) {
		tcp_connect(arg);
	} else if (!strcmp(mode, "unix-connect") && arg) {
		unix_connect(arg);
	} else if (!strcmp(mode, "unix-dgram") && arg) {
		unix_dgram(arg);
	} else if (!strcmp(mode, "unix-listen") && arg) {
		unix_listen(pidfile, arg);
	} else if (!strcmp(mode, "shm")) {
		shm_attach();
	} else if (!strcmp(mode, "open") && arg) {
		fd = open(arg, O_RDWR | O_CREAT, 0600);
		if (fd < 0)
			die("open");
	} else if (!strcmp(mode, "uid") && arg) {
		uid_t uid = (uid_t)atoi(arg);
		int p[2];
		pid_t pid;
		char c;

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
				die("setresuid");
			close(p[0]);
			close(p[1]); /* the parent's read sees EOF: the uid is changed */
			sleep_forever();
		}
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			die("read");
		close(p[0]);
	} else {
		fprintf(stderr, "diag-target: unknown mode or missing argument: %s\n", mode);
		return 2;
	}
	write_pidfile(pidfile, getpid());
	sleep_forever();
	return 0;
}
