/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the requests need from an images directory, read with the image reader. */
#ifndef CKPT_IMAGES_H
#define CKPT_IMAGES_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define CKPT_IMG_VERSION 2 /* what CRIU 3.x and 4.x write */

/* The img_version of the checkpoint in dirfd (from inventory.img). */
int image_format_version(int dirfd, uint32_t *ret, ckpt_err *err);
/* The pid of the dumped tree's root (pstree.img's first entry). */
int image_root_pid(int dirfd, pid_t *ret, ckpt_err *err);

#endif
