/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives (libarchive): written from an images directory
 * (archive-write.c) and read, checked and extracted whatever engine wrote
 * them (archive-read.c, archive-meta.c). Here: the names of compressions and
 * engines, and the ckpt_archive a read gives (getters, the restore check, its
 * images, JSON).
 */
#include <stdio.h>

#include "base/error.h"
#include "images/archive-int.h"
#include "base/jsonw.h"
#include "archive-common.h"

/* ---- names ---- */

static const char *const compression_names[] = {
	[CKPT_COMPRESSION_NONE] = "none",   [CKPT_COMPRESSION_GZIP] = "gzip",
	[CKPT_COMPRESSION_ZSTD] = "zstd",   [CKPT_COMPRESSION_XZ] = "xz",
	[CKPT_COMPRESSION_BZIP2] = "bzip2",
};

const char *ckpt_compression_name(ckpt_compression c)
{
	return (unsigned)c < ARRAY_SIZE(compression_names) ? compression_names[c] : NULL;
}

int ckpt_compression_from_string(const char *name, ckpt_compression *out, ckpt_err *err)
{
	assert_return(name && out, err, "compression: NULL argument");
	for (size_t i = 0; i < ARRAY_SIZE(compression_names); i++) {
		if (strcmp(name, compression_names[i]) == 0) {
			*out = (ckpt_compression)i;
			return 0;
		}
	}
	return err_set(
		err, CKPT_EINVAL,
		"compression '%s': unknown (expected none, gzip or zstd; xz and bzip2 are read only)",
		name);
}

const char *ckpt_archive_engine_name(ckpt_archive_engine e)
{
	switch (e) {
	case CKPT_ENGINE_LIBCKPT: return "libckpt";
	case CKPT_ENGINE_PODMAN: return "Podman";
	case CKPT_ENGINE_CRIO: return "CRI-O";
	case CKPT_ENGINE_CONTAINERD: return "containerd";
	default: return "unknown";
	}
}

/* ---- an archive read ---- */

void ckpt_archive_free(ckpt_archive *a)
{
	if (!a)
		return;
	free(a->path);
	free(a->manager);
	for (size_t i = 0; i < META_NR; i++)
		free(a->meta[i]);
	for (size_t i = 0; i < a->n_mounts; i++) {
		free(a->mounts[i].destination);
		free(a->mounts[i].type);
		free(a->mounts[i].source);
	}
	free(a->mounts);
	if (a->parent_fd >= 0)
		close(a->parent_fd);
	if (a->root_fd >= 0)
		close(a->root_fd);
	free(a->name);
	free(a->dir);
	free(a);
}

const char *ckpt_archive_dir(const ckpt_archive *a)
{
	return a ? a->dir : NULL;
}

ckpt_archive_engine ckpt_archive_get_engine(const ckpt_archive *a)
{
	return a ? a->engine : CKPT_ENGINE_UNKNOWN;
}

ckpt_compression ckpt_archive_get_compression(const ckpt_archive *a)
{
	return a ? a->compression : CKPT_COMPRESSION_NONE;
}

const char *ckpt_archive_get(const ckpt_archive *a, ckpt_archive_key key)
{
	if (!a || (int)key < 1 || (int)key >= META_NR)
		return NULL;
	return a->meta[key];
}

uint64_t ckpt_archive_get_size(const ckpt_archive *a, ckpt_archive_size key)
{
	if (!a)
		return 0;
	switch (key) {
	case CKPT_ARCHIVE_SIZE_CHECKPOINT: return a->size_checkpoint;
	case CKPT_ARCHIVE_SIZE_PAGES: return a->size_pages;
	case CKPT_ARCHIVE_SIZE_ROOTFS_DIFF: return a->size_rootfs;
	case CKPT_ARCHIVE_SIZE_EXPANDED: return a->size_total;
	case CKPT_ARCHIVE_SIZE_ENTRIES: return a->n_entries;
	case CKPT_ARCHIVE_SIZE_FILE: return a->size_file;
	default: return 0;
	}
}

static const char *restore_tool(ckpt_archive_engine e)
{
	switch (e) {
	case CKPT_ENGINE_PODMAN: return "`podman container restore --import ARCHIVE`";
	case CKPT_ENGINE_CRIO:
		return "CRI-O through Kubernetes (a pod whose container image is the archive)";
	case CKPT_ENGINE_CONTAINERD:
		return "containerd through Kubernetes (the kubelet's CRI restore of the checkpoint)";
	default: return "`ckpt restore --import ARCHIVE`";
	}
}

int ckpt_archive_check_restorable(const ckpt_archive *a, ckpt_err *err)
{
	assert_return(a, err, "archive: NULL");
	if (a->engine != CKPT_ENGINE_LIBCKPT && a->engine != CKPT_ENGINE_UNKNOWN) {
		const char *name = a->meta[CKPT_ARCHIVE_NAME];

		return err_set(
			err, CKPT_ENOTSUP,
			"%s: a %s container checkpoint%s%s%s; libckpt restores process checkpoints only: "
			"restore it with %s",
			a->path, ckpt_archive_engine_name(a->engine), name ? " (container '" : "",
			name ? name : "", name ? "')" : "", restore_tool(a->engine));
	}
	if (!a->has_inventory)
		return err_set(err, CKPT_EBADIMG,
			       "%s: holds no checkpoint/inventory.img: not a checkpoint archive",
			       a->path);
	return 0;
}

int ckpt_archive_image_info(const ckpt_archive *a, unsigned flags, ckpt_image_info **ret,
			    ckpt_err *err)
{
	char images[64];

	assert_return(a, err, "archive: NULL");
	assert_return(a->parent_fd >= 0 && a->name, err,
		      "%s: not extracted (ckpt_archive_extract reads the images)", a->path);
	if (!a->has_checkpoint_dir && !a->has_inventory)
		return err_set(err, CKPT_EBADIMG, "%s: holds no checkpoint/ directory", a->path);
	snprintf(images, sizeof(images), "%s/" CHECKPOINT_DIR, a->name);
	return image_info_read_at(a->parent_fd, images, a->parent_fd, a->name, flags, false, ret,
				  err);
}

char *ckpt_archive_to_json(const ckpt_archive *a)
{
	static const struct {
		ckpt_archive_key key;
		const char *name;
	} keys[] = {
		{ CKPT_ARCHIVE_NAME, "name" },
		{ CKPT_ARCHIVE_ID, "id" },
		{ CKPT_ARCHIVE_IMAGE, "image" },
		{ CKPT_ARCHIVE_RUNTIME, "runtime" },
		{ CKPT_ARCHIVE_CREATED, "created" },
		{ CKPT_ARCHIVE_CHECKPOINTED, "checkpointed" },
		{ CKPT_ARCHIVE_POD, "pod" },
		{ CKPT_ARCHIVE_NAMESPACE, "namespace" },
		{ CKPT_ARCHIVE_CRIU_VERSION, "criu_version" },
		{ CKPT_ARCHIVE_WRITER_VERSION, "libckpt_version" },
	};
	struct jsonw w;

	if (!a)
		return NULL;
	jw_init(&w, true);
	jw_object_begin(&w, NULL);
	jw_string(&w, "archive", a->path);
	jw_string(&w, "compression", ckpt_compression_name(a->compression));
	jw_string(&w, "engine", ckpt_archive_engine_name(a->engine));
	if (a->manager)
		jw_string(&w, "manager", a->manager);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (a->meta[keys[i].key])
			jw_string(&w, keys[i].name, a->meta[keys[i].key]);
	jw_object_begin(&w, "sizes");
	jw_uint(&w, "file", a->size_file);
	jw_uint(&w, "checkpoint", a->size_checkpoint);
	jw_uint(&w, "memory_pages", a->size_pages);
	jw_uint(&w, "rootfs_diff", a->size_rootfs);
	jw_uint(&w, "expanded", a->size_total);
	jw_object_end(&w);
	jw_uint(&w, "entries", a->n_entries);
	jw_array_begin(&w, "mounts");
	for (size_t i = 0; i < a->n_mounts; i++) {
		jw_object_begin(&w, NULL);
		jw_string(&w, "destination", a->mounts[i].destination);
		jw_string(&w, "type", a->mounts[i].type ? a->mounts[i].type : "");
		jw_string(&w, "source", a->mounts[i].source ? a->mounts[i].source : "");
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_string(&w, "restore_with", restore_tool(a->engine));
	jw_object_end(&w);
	return jw_finish(&w);
}
