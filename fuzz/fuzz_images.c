/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer: the images reader. The input is split on the 4-byte marker
 * "CKPT" into inventory.img, pstree.img and a core image (written as both
 * core-1.img and core-6258.img, the pid of the seed fixtures).
 */
#include "rpc/opts.h"

#include <fcntl.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(int dirfd, const char *name, const uint8_t *p, size_t n)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	if (write(fd, p, n) < 0) {
		/* a short write is just another input */
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "inventory.img", "pstree.img", "core-1.img" };
	char dir[] = "/tmp/ckpt-fuzz-img-XXXXXX";
	ckpt_image_info *info = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	const uint8_t *p = data, *end = data + size;
	int dirfd;
	size_t i;

	if (!mkdtemp(dir))
		return 0;
	dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0) {
		rmdir(dir);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(names) && p <= end; i++) {
		const uint8_t *m = memmem(p, (size_t)(end - p), "CKPT", 4);
		size_t n = m ? (size_t)(m - p) : (size_t)(end - p);

		put(dirfd, names[i], p, n);
		if (i == 2)
			put(dirfd, "core-6258.img", p, n);
		if (!m)
			break;
		p = m + 4;
	}
	if (ckpt_image_info_read(dirfd, NULL, &info, &err) == 0) {
		free(ckpt_image_info_to_json(info));
		ckpt_image_info_free(info);
	} else if (err.code >= 0) {
		__builtin_trap();
	}
	unlinkat(dirfd, "inventory.img", 0);
	unlinkat(dirfd, "pstree.img", 0);
	unlinkat(dirfd, "core-1.img", 0);
	unlinkat(dirfd, "core-6258.img", 0);
	close(dirfd);
	rmdir(dir);
	return 0;
}
