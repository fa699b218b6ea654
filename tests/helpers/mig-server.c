/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A migration target: MIB MiB of incompressible anonymous memory with its
 * checksum, a counter that ticks every TICK_MS, and a listening TCP socket
 * on 0.0.0.0:PORT. Each connection gets one line and is closed:
 *
 *   sum=<checksum of the memory now> start=<checksum after filling> count=<counter> pid=<pid>
 *
 * Nothing else is open (stdio is the caller's). Run it as the init of its
 * own pid and network namespaces: unshare -p -n -f --kill-child setsid mig-server PORT MIB
 *
 *   mig-server PORT MIB [TICK_MS [MARKER]]
 *
 * MARKER (hostile tests): a string written at the start of every 4 KiB page
 * of the memory before its checksum is taken, so that a capture of a
 * migration's traffic that held any page in the clear would show it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t checksum(const uint64_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	uint64_t *mem, x = 0x9E3779B97F4A7C15ull, start, count = 0, next;
	size_t n;
	long tick;
	int one = 1, s;

	if (argc < 3) {
		fprintf(stderr, "usage: mig-server PORT MIB [TICK_MS [MARKER]]\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	n = strtoul(argv[2], NULL, 10) * 1024 * 1024 / sizeof(uint64_t);
	tick = argc > 3 ? strtol(argv[3], NULL, 10) : 10;
	mem = mmap(NULL, n ? n * sizeof(uint64_t) : 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++) { /* xorshift64: incompressible, no zero pages */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mem[i] = x;
	}
	if (argc > 4) {
		size_t ml = strlen(argv[4]), page = 4096 / sizeof(uint64_t);

		for (size_t i = 0; ml && ml < 4096 && i < n; i += page)
			memcpy(&mem[i], argv[4], ml);
	}
	start = checksum(mem, n);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return 1;
	next = now_ms() + (uint64_t)tick;
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		uint64_t t = now_ms();
		int c;

		if (t >= next) {
			count++; /* one per tick it ran: a frozen or migrating server does not count */
			next = t + (uint64_t)tick;
		}
		if (poll(&p, 1, (int)(next - t)) <= 0)
			continue;
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0) {
			char line[160];
			int len = snprintf(line, sizeof(line),
					   "sum=%016llx start=%016llx count=%llu pid=%d\n",
					   (unsigned long long)checksum(mem, n),
					   (unsigned long long)start, (unsigned long long)count,
					   (int)getpid());

			if (write(c, line, (size_t)len) < 0) {
				/* the client went away */
			}
			close(c);
		}
	}
}
