/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checkpoint archives' libraries, libarchive and libzstd, loaded on first use (base/dl.h). */
#ifndef CKPT_DL_ARCHIVE_H
#define CKPT_DL_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "base/dl.h"

/*
 * The names this library's code calls, each a field of struct dl_archive. A name missing
 * here fails the link (libckpt is linked with --no-undefined and without the library);
 * libarchive reads and writes the tar; libzstd compresses what archive-write.c writes itself.
 */
/* clang-format off */
#define DL_ARCHIVE_SYMS(X) \
	X(archive_entry_filetype) X(archive_entry_free) X(archive_entry_hardlink) \
	X(archive_entry_new) X(archive_entry_pathname) X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) X(archive_entry_set_mtime) X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) X(archive_entry_set_size) X(archive_entry_set_uid) \
	X(archive_entry_size) X(archive_entry_size_is_set) X(archive_entry_symlink) \
	X(archive_errno) X(archive_error_string) X(archive_read_data_block) \
	X(archive_read_data_skip) X(archive_read_free) X(archive_read_new) \
	X(archive_read_next_header) X(archive_read_open_fd) X(archive_read_support_filter_bzip2) \
	X(archive_read_support_filter_gzip) X(archive_read_support_filter_none) \
	X(archive_read_support_filter_xz) X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_tar) X(archive_set_error) X(archive_write_add_filter_gzip) \
	X(archive_write_close) X(archive_write_data) X(archive_write_free) X(archive_write_header) \
	X(archive_write_new) X(archive_write_open) X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) X(archive_write_set_bytes_per_block) \
	X(archive_write_set_filter_option) X(archive_write_set_format_pax_restricted) \
	X(ZSTD_CCtx_setParameter) X(ZSTD_compressStream2) X(ZSTD_createCCtx) \
	X(ZSTD_CStreamOutSize) X(ZSTD_freeCCtx) X(ZSTD_getErrorName) X(ZSTD_isError)
/* clang-format on */

struct dl_archive {
	DL_ARCHIVE_SYMS(DL_FIELD)
};

/* The table, loaded on first use; call only after dl_need_archive() succeeded. */
const struct dl_archive *dl_archive(void);
/* Load the library once: 0, or CKPT_EMISSINGLIB naming it and its package. */
int dl_need_archive(ckpt_err *err);

#ifndef DL_ARCHIVE_IMPL /* dl-archive.c itself sees the real names */
#define archive_entry_filetype (dl_archive()->archive_entry_filetype)
#define archive_entry_free (dl_archive()->archive_entry_free)
#define archive_entry_hardlink (dl_archive()->archive_entry_hardlink)
#define archive_entry_new (dl_archive()->archive_entry_new)
#define archive_entry_pathname (dl_archive()->archive_entry_pathname)
#define archive_entry_set_filetype (dl_archive()->archive_entry_set_filetype)
#define archive_entry_set_gid (dl_archive()->archive_entry_set_gid)
#define archive_entry_set_mtime (dl_archive()->archive_entry_set_mtime)
#define archive_entry_set_pathname (dl_archive()->archive_entry_set_pathname)
#define archive_entry_set_perm (dl_archive()->archive_entry_set_perm)
#define archive_entry_set_size (dl_archive()->archive_entry_set_size)
#define archive_entry_set_uid (dl_archive()->archive_entry_set_uid)
#define archive_entry_size (dl_archive()->archive_entry_size)
#define archive_entry_size_is_set (dl_archive()->archive_entry_size_is_set)
#define archive_entry_symlink (dl_archive()->archive_entry_symlink)
#define archive_errno (dl_archive()->archive_errno)
#define archive_error_string (dl_archive()->archive_error_string)
#define archive_read_data_block (dl_archive()->archive_read_data_block)
#define archive_read_data_skip (dl_archive()->archive_read_data_skip)
#define archive_read_free (dl_archive()->archive_read_free)
#define archive_read_new (dl_archive()->archive_read_new)
#define archive_read_next_header (dl_archive()->archive_read_next_header)
#define archive_read_open_fd (dl_archive()->archive_read_open_fd)
#define archive_read_support_filter_bzip2 (dl_archive()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (dl_archive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_none (dl_archive()->archive_read_support_filter_none)
#define archive_read_support_filter_xz (dl_archive()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (dl_archive()->archive_read_support_filter_zstd)
#define archive_read_support_format_tar (dl_archive()->archive_read_support_format_tar)
#define archive_set_error (dl_archive()->archive_set_error)
#define archive_write_add_filter_gzip (dl_archive()->archive_write_add_filter_gzip)
#define archive_write_close (dl_archive()->archive_write_close)
#define archive_write_data (dl_archive()->archive_write_data)
#define archive_write_free (dl_archive()->archive_write_free)
#define archive_write_header (dl_archive()->archive_write_header)
#define archive_write_new (dl_archive()->archive_write_new)
#define archive_write_open (dl_archive()->archive_write_open)
#define archive_write_open_fd (dl_archive()->archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (dl_archive()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (dl_archive()->archive_write_set_bytes_per_block)
#define archive_write_set_filter_option (dl_archive()->archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted \
	(dl_archive()->archive_write_set_format_pax_restricted)
#define ZSTD_CCtx_setParameter (dl_archive()->ZSTD_CCtx_setParameter)
#define ZSTD_compressStream2 (dl_archive()->ZSTD_compressStream2)
#define ZSTD_createCCtx (dl_archive()->ZSTD_createCCtx)
#define ZSTD_CStreamOutSize (dl_archive()->ZSTD_CStreamOutSize)
#define ZSTD_freeCCtx (dl_archive()->ZSTD_freeCCtx)
#define ZSTD_getErrorName (dl_archive()->ZSTD_getErrorName)
#define ZSTD_isError (dl_archive()->ZSTD_isError)
#endif

#endif
