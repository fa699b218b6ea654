/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: what a CRIU images directory holds (`ckpt inspect`),
 * read with protobuf-c from our own minimal description of CRIU's image
 * files (proto/images/); here the read and its entry points.
 *
 * Images are untrusted: every file is opened O_NOFOLLOW|O_NONBLOCK and must
 * be regular, sizes are capped (file, entry, all the metadata read by one
 * call), and protobuf-c allocates from a budget, so that no input can make
 * a call read or allocate without bound.
 *
 * The parts, from the bottom up: image-file.c (the budget, one read of a
 * directory, one image file), images-detail.c (what CKPT_IMAGE_READ_* asks
 * for), images-files.c (the files every read takes), and on top images.c
 * (here: the read and its entry points) and images-get.c (getters, JSON);
 * images-int.h holds what they share.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "images.h"
#include "images-int.h"
#include "archive-int.h"
#include "images/pstree.pb-c.h"

/* ---- the read: ckpt_image_info_read*, image_format_version, image_root_pid ---- */

/* The sizes of the regular *.img files. */
static int sum_sizes(struct rd *rd, ckpt_image_info *info)
{
	int fd;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;
	int r = 0;

	fd = openat(rd->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(rd->err, CKPT_EIMAGES, errno, "%s: open", rd->dir);
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return err_sys(rd->err, CKPT_EIMAGES, e, "%s: fdopendir", rd->dir);
	}
	for (;;) {
		struct stat st;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = err_sys(rd->err, CKPT_EIMAGES, errno, "%s: readdir", rd->dir);
			break;
		}
		if (++n > IMG_DIRENTS_MAX) {
			r = err_set(rd->err, CKPT_EIMAGES, "%s: more than %u directory entries",
				    rd->dir, IMG_DIRENTS_MAX);
			break;
		}
		len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".img") != 0)
			continue;
		if (fstatat(rd->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		info->total_bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return r;
}

void ckpt_image_info_free(ckpt_image_info *info)
{
	size_t i;

	if (!info)
		return;
	for (i = 0; i < info->n_procs; i++) {
		struct img_proc *p = &info->procs[i];

		free(p->comm);
		free(p->argv);
		free(p->env);
		free(p->cmdline);
		free(p->runs);
		free(p->vmas);
		free(p->fds);
	}
	free(info->procs);
	for (i = 0; i < info->n_files; i++)
		img_fent_free(&info->files[i]);
	free(info->files);
	free(info->dump_criu_run_id);
	free(info);
}

/*
 * Read the images in dirfd/path; the statistics from stats_dirfd/stats_path
 * instead when stats_dirfd is not -1 (an archive keeps stats-dump beside
 * checkpoint/, not in it).
 */
int image_info_read_at(int dirfd, const char *path, int stats_dirfd, const char *stats_path,
		       unsigned flags, bool stats_only, ckpt_image_info **ret, ckpt_err *err)
{
	struct rd rd, srd;
	ckpt_image_info *info = NULL;
	int r, rs, rr;
	size_t i;

	assert_return(ret, err, "image info: ret is NULL");
	assert_return(dirfd >= 0 || dirfd == AT_FDCWD, err, "image info: bad dirfd %d", dirfd);
	assert_return(!(flags & ~CKPT_IMAGE_READ_ALL), err, "image info: unknown flags 0x%x",
		      flags & ~CKPT_IMAGE_READ_ALL);

	memset(&srd, 0, sizeof(srd));
	srd.dfd = -1;
	r = img_rd_open(&rd, dirfd, path, err);
	if (r < 0)
		goto out;
	rd.flags = flags;
	if (stats_dirfd != -1) {
		r = img_rd_open(&srd, stats_dirfd, stats_path, err);
		if (r < 0)
			goto out;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		r = err_set(err, CKPT_ENOMEM, "image info: out of memory");
		goto out;
	}
	info->flags = flags;

	r = img_read_inventory(&rd, info, !stats_only);
	if (r < 0)
		goto out;
	if (!stats_only) {
		r = img_read_pstree(&rd, info);
		if (r < 0)
			goto out;
		for (i = 0; i < info->n_procs; i++) {
			r = img_read_proc(&rd, &info->procs[i]);
			if (r < 0)
				goto out;
		}
		if (flags &
		    (CKPT_IMAGE_READ_FILES | CKPT_IMAGE_READ_SOCKETS | CKPT_IMAGE_READ_MEMS)) {
			r = img_read_files(&rd, info);
			if (r < 0)
				goto out;
		}
	}
	rs = img_read_stats_file(srd.dfd >= 0 ? &srd : &rd, info, false);
	if (rs < 0) {
		r = rs;
		goto out;
	}
	rr = img_read_stats_file(srd.dfd >= 0 ? &srd : &rd, info, true);
	if (rr < 0) {
		r = rr;
		goto out;
	}
	if (stats_only && rs > 0 && rr > 0) {
		r = err_set(err, CKPT_EBADIMG, "%s: no stats-dump or stats-restore",
			    srd.dfd >= 0 ? srd.dir : rd.dir);
		goto out;
	}
	r = sum_sizes(&rd, info);
	if (r < 0)
		goto out;

	*ret = info;
	info = NULL;
	r = 0;
out:
	ckpt_image_info_free(info);
	img_rd_close(&rd);
	img_rd_close(&srd);
	return r;
}

int ckpt_image_info_read(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, 0, false, ret, err);
}

int ckpt_image_info_read_detail(int dirfd, const char *path, unsigned flags, ckpt_image_info **ret,
				ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, flags, false, ret, err);
}

int ckpt_image_info_read_stats(int dirfd, const char *path, ckpt_image_info **ret, ckpt_err *err)
{
	return image_info_read_at(dirfd, path, -1, NULL, 0, true, ret, err);
}

int image_format_version(int dirfd, uint32_t *ret, ckpt_err *err)
{
	struct rd rd;
	ckpt_image_info *info = calloc(1, sizeof(*info));
	int r;

	if (!info)
		return err_set(err, CKPT_ENOMEM, "image info: out of memory");
	r = img_rd_open(&rd, dirfd, ".", err);
	if (r == 0)
		r = img_read_inventory(&rd, info, true);
	if (r == 0)
		*ret = info->img_version;
	ckpt_image_info_free(info);
	img_rd_close(&rd);
	return r;
}

int image_root_pid(int dirfd, pid_t *ret, ckpt_err *err)
{
	CkptImg__Pstree *e = NULL;
	struct img_file f;
	struct rd rd;
	int r;

	r = img_rd_open(&rd, dirfd, ".", err);
	if (r < 0)
		return r;
	r = img_load(&rd, "pstree.img", true, &f);
	if (r == 0) {
		r = img_magic(&rd, &f, PSTREE_MAGIC);
		if (r == 0)
			r = img_next(&rd, &f, &ckpt_img__pstree__descriptor,
				     (ProtobufCMessage **)&e);
		if (r == 0)
			r = err_set(err, CKPT_EBADIMG, "pstree.img: no processes");
		if (r > 0 && e) {
			r = 0;
			if (!e->has_pid || e->pid == 0 || e->pid > INT32_MAX)
				r = err_set(err, CKPT_EBADIMG,
					    "pstree.img: the root has no valid pid");
			else
				*ret = (pid_t)e->pid;
			img_msg_free(&rd, e);
		}
		img_file_release(&f);
	}
	img_rd_close(&rd);
	return r;
}
