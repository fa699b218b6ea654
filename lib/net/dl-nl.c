/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnl loaded on first use: the table, the ELF note, dl_need_nl. */
#include <pthread.h>

#define DL_NL_IMPL
#include "dl-nl.h"

/* What packaging tools read: readelf --notes libckpt.so.1 (base/dl.h). */
DL_NOTE(dl_nl_note,
	"[" DL_NOTE_JSON(
		"netns",
		"network setup of a restored namespace (veth, addresses, routes); removing a CRIU nftables lock",
		"recommended", "\"" CKPT_SONAME_NL "\",\"" CKPT_SONAME_NL_ROUTE "\"") "]");

static const struct dl_lib libs[] = {
	{ CKPT_SONAME_NL, "libnl-3", CKPT_PACKAGE_NL },
	{ CKPT_SONAME_NL_ROUTE, "libnl-route-3", CKPT_PACKAGE_NL_ROUTE },
};
_Static_assert(ARRAY_SIZE(libs) <= DL_LIBS_MAX, "too many libraries for dl_load");
#define SYM(x) { #x, offsetof(struct dl_nl, x) },
static const struct dl_sym syms[] = { DL_NL_SYMS(SYM) };
static const struct dl_part part = { "network namespace setup (libnl)", libs, ARRAY_SIZE(libs),
				     syms, ARRAY_SIZE(syms) };

/*
 * The table and the outcome of its load: written once, by load() under pthread_once, and
 * read-only after (base/dl.h; scripts/check-layout.sh lists it in DL_TABLES).
 */
static struct {
	pthread_once_t once;
	struct dl_state st;
	struct dl_nl fn;
} dl_nl_table = { .once = PTHREAD_ONCE_INIT };

static void load(void)
{
	dl_load(&part, &dl_nl_table.fn, &dl_nl_table.st);
}

const struct dl_nl *dl_nl(void)
{
	pthread_once(&dl_nl_table.once, load);
	return &dl_nl_table.fn;
}

int dl_need_nl(ckpt_err *err)
{
	pthread_once(&dl_nl_table.once, load);
	return dl_need(&dl_nl_table.st, err);
}
