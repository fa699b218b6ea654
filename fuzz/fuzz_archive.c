/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer: the archive reader. The input is an archive file (any
 * compression); it is read, then extracted into a fresh directory with small
 * caps, its images read with every detail and rendered as JSON, and the
 * extraction removed. Nothing may be left beside the extraction directory.
 */
#include "base/error.h"
#include "rpc/opts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/ckpt-fuzz-ar-XXXXXX", file[64], dest[64];
	ckpt_archive_limits lim;
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	ckpt_image_info *info = NULL;
	int fd;

	if (!mkdtemp(dir))
		return 0;
	snprintf(file, sizeof(file), "%s/in", dir);
	snprintf(dest, sizeof(dest), "%s/out", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || mkdir(dest, 0700) < 0)
		goto out;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	close(fd);
	fd = -1;

	ckpt_archive_limits_init(&lim);
	lim.max_entries = 256;
	lim.max_entry_bytes = 8 << 20;
	lim.max_total_bytes = 16 << 20;
	if (ckpt_archive_read(file, &lim, &a, &err) == 0) {
		free(ckpt_archive_to_json(a));
		ckpt_archive_check_restorable(a, NULL);
		ckpt_archive_free(a);
		a = NULL;
	} else if (err.code >= 0) {
		__builtin_trap();
	}
	memset(&err, 0, sizeof(err));
	if (ckpt_archive_extract(file, &lim, dest, 0, &a, &err) == 0) {
		if (ckpt_archive_image_info(a, CKPT_IMAGE_READ_ALL, &info, NULL) == 0) {
			free(ckpt_image_info_to_json(info));
			ckpt_image_info_free(info);
		}
		if (ckpt_archive_remove(a, NULL) < 0)
			__builtin_trap();
		ckpt_archive_free(a);
	} else if (err.code >= 0) {
		__builtin_trap();
	}
	/* Whatever the input, nothing is left: not in dest, not beside it. */
	if (entries(dest) != 0 || entries(dir) != 2)
		__builtin_trap();
out:
	if (fd >= 0)
		close(fd);
	unlink(file);
	rmdir(dest);
	rmdir(dir);
	return 0;
}
