/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checkpoint archives' libraries loaded on first use: the table, the ELF note, dl_need_archive. */
#include <pthread.h>

#define DL_ARCHIVE_IMPL
#include "dl-archive.h"

/* What packaging tools read: readelf --notes libckpt.so.1 (base/dl.h). */
DL_NOTE(dl_archive_note,
	"[" DL_NOTE_JSON(
		"archive",
		"checkpoint archives: ckpt_archive_write, ckpt_archive_read, ckpt_archive_extract",
		"recommended", "\"" CKPT_SONAME_ARCHIVE "\",\"" CKPT_SONAME_ZSTD "\"") "]");

static const struct dl_lib libs[] = {
	{ CKPT_SONAME_ARCHIVE, "libarchive", CKPT_PACKAGE_ARCHIVE },
	{ CKPT_SONAME_ZSTD, "libzstd", CKPT_PACKAGE_ZSTD },
};
_Static_assert(ARRAY_SIZE(libs) <= DL_LIBS_MAX, "too many libraries for dl_load");
#define SYM(x) { #x, offsetof(struct dl_archive, x) },
static const struct dl_sym syms[] = { DL_ARCHIVE_SYMS(SYM) };
static const struct dl_part part = { "checkpoint archives", libs, ARRAY_SIZE(libs), syms,
				     ARRAY_SIZE(syms) };

/*
 * The table and the outcome of its load: written once, by load() under pthread_once, and
 * read-only after (base/dl.h; scripts/check-layout.sh lists it in DL_TABLES).
 */
static struct {
	pthread_once_t once;
	struct dl_state st;
	struct dl_archive fn;
} dl_archive_table = { .once = PTHREAD_ONCE_INIT };

static void load(void)
{
	dl_load(&part, &dl_archive_table.fn, &dl_archive_table.st);
}

const struct dl_archive *dl_archive(void)
{
	pthread_once(&dl_archive_table.once, load);
	return &dl_archive_table.fn;
}

int dl_need_archive(ckpt_err *err)
{
	pthread_once(&dl_archive_table.once, load);
	return dl_need(&dl_archive_table.st, err);
}
