/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A checkpoint target: fills N MiB of anonymous memory with incompressible
 * data, then counts. Every tick it writes its counter to DIR/counter; on
 * SIGUSR1 it recomputes the memory checksum and writes it to DIR/checksum.
 * DIR/checksum.start holds the checksum computed after filling.
 *
 *   counter DIR MIB [TICK_MS [scan]]
 *
 * scan (lazy restore tests): every tick, read the first word of every page
 * too. The fill never makes a zero word, so a zero there is a page that was
 * lost (a zero page where memory was): DIR/zero gets its offset, and the
 * counter exits 3.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_sum;

static void on_usr1(int sig)
{
	(void)sig;
	want_sum = 1;
}

static uint64_t checksum(const uint64_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	const char *dir;
	size_t mib, n;
	uint64_t *mem, x = 0x9E3779B97F4A7C15ull, count = 0;
	long tick_ms;
	char buf[64];
	struct sigaction sa;

	if (argc < 3) {
		fprintf(stderr, "usage: counter DIR MIB [TICK_MS]\n");
		return 2;
	}
	dir = argv[1];
	mib = strtoul(argv[2], NULL, 10);
	tick_ms = argc > 3 ? strtol(argv[3], NULL, 10) : 20;
	bool scan = argc > 4 && strcmp(argv[4], "scan") == 0;
	n = mib * 1024 * 1024 / sizeof(uint64_t);
	mem = mmap(NULL, n ? n * sizeof(uint64_t) : 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++) { /* xorshift64: incompressible, never all-zero pages */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mem[i] = x;
	}
	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)checksum(mem, n));
	write_file(dir, "checksum.start", buf);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		struct timespec ts = { tick_ms / 1000, (tick_ms % 1000) * 1000000L };

		if (want_sum) {
			want_sum = 0;
			snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)checksum(mem, n));
			write_file(dir, "checksum", buf);
		}
		for (size_t i = 0; scan && i < n; i += 4096 / sizeof(uint64_t))
			if (((volatile uint64_t *)mem)[i] == 0) {
				snprintf(buf, sizeof(buf), "%zu\n", i * sizeof(uint64_t));
				write_file(dir, "zero", buf);
				return 3;
			}
		snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)++count);
		write_file(dir, "counter", buf);
		nanosleep(&ts, NULL);
	}
}
