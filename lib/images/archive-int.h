/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private interface between the archive code (archive/) and the images reader (images*.c). */
#ifndef CKPT_ARCHIVE_INT_H
#define CKPT_ARCHIVE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <ckpt/ckpt.h>

struct jsonw;

/*
 * Read the images in dirfd/path with CKPT_IMAGE_READ_* flags; the
 * statistics from stats_dirfd/stats_path instead when stats_dirfd is not
 * -1. stats_only: ckpt_image_info_read_stats.
 */
int image_info_read_at(int dirfd, const char *path, int stats_dirfd, const char *stats_path,
		       unsigned flags, bool stats_only, ckpt_image_info **ret, ckpt_err *err);
/* The members of ckpt_image_info_to_json's object, into an object w has open. */
void image_info_put_json(struct jsonw *w, const ckpt_image_info *info);
/* The root process's argv as in its memory (NUL-separated, *ret_len bytes), or NULL. */
const char *image_info_root_argv(const ckpt_image_info *info, size_t *ret_len);
/* The root process's cwd path (read with CKPT_IMAGE_READ_FILES), or NULL. */
const char *image_info_root_cwd(const ckpt_image_info *info);
/* inventory.img's dump_criu_run_id, or NULL. */
const char *image_info_run_id(const ckpt_image_info *info);
/* Pages of all processes that are left in a parent images dir. */
uint64_t image_info_pages_in_parent(const ckpt_image_info *info);

#endif
