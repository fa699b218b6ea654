/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GnuTLS loaded on first use: the table, the ELF note, dl_need_gnutls. */
#include <pthread.h>

#define DL_GNUTLS_IMPL
#include "dl-gnutls.h"

/* What packaging tools read: readelf --notes libckpt.so.1 (base/dl.h). */
DL_NOTE(dl_gnutls_note,
	"[" DL_NOTE_JSON("migration",
			 "live migration over TLS: ckpt_migrate_source, ckpt_migrate_receive",
			 "suggested", "\"" CKPT_SONAME_GNUTLS "\"") "]");

static const struct dl_lib libs[] = {
	{ CKPT_SONAME_GNUTLS, "GnuTLS", CKPT_PACKAGE_GNUTLS },
};
_Static_assert(ARRAY_SIZE(libs) <= DL_LIBS_MAX, "too many libraries for dl_load");
#define SYM(x) { #x, offsetof(struct dl_gnutls, x) },
static const struct dl_sym syms[] = { DL_GNUTLS_SYMS(SYM) };
static const struct dl_part part = { "live migration (TLS)", libs, ARRAY_SIZE(libs), syms,
				     ARRAY_SIZE(syms) };

/*
 * The table and the outcome of its load: written once, by load() under pthread_once, and
 * read-only after (base/dl.h; scripts/check-layout.sh lists it in DL_TABLES).
 */
static struct {
	pthread_once_t once;
	struct dl_state st;
	struct dl_gnutls fn;
} dl_gnutls_table = { .once = PTHREAD_ONCE_INIT };

static void load(void)
{
	dl_load(&part, &dl_gnutls_table.fn, &dl_gnutls_table.st);
}

const struct dl_gnutls *dl_gnutls(void)
{
	pthread_once(&dl_gnutls_table.once, load);
	return &dl_gnutls_table.fn;
}

int dl_need_gnutls(ckpt_err *err)
{
	pthread_once(&dl_gnutls_table.once, load);
	return dl_need(&dl_gnutls_table.st, err);
}
