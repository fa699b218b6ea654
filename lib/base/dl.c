/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Optional libraries loaded on first use: dlopen by SONAME, every symbol taken, a clear error. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

#include "dl.h"

static void dl_fail(const struct dl_part *p, const struct dl_lib *l, struct dl_state *st,
		    const char *fmt, ...) _printf_(4, 5);
static void dl_fail(const struct dl_part *p, const struct dl_lib *l, struct dl_state *st,
		    const char *fmt, ...)
{
	char detail[CKPT_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	st->code = CKPT_EMISSINGLIB;
	snprintf(st->msg, sizeof(st->msg), "%s (Debian package %s) is needed for %s: %s", l->name,
		 l->package, p->what, detail);
	snprintf(st->hint, sizeof(st->hint),
		 "install %s (apt-get install %s), which provides %s; libckpt loads it only for %s",
		 l->package, l->package, l->soname, p->what);
}

/* The address of name in the first of the n handles h that has it, NULL if none has. */
static void *dl_sym_any(void *const *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		void *a;

		(void)dlerror();
		a = dlsym(h[i], name);
		if (a)
			return a;
	}
	return NULL;
}

void dl_load(const struct dl_part *p, void *table, struct dl_state *st)
{
	void *h[DL_LIBS_MAX] = { NULL };
	size_t n = p->n_libs < DL_LIBS_MAX ? p->n_libs : DL_LIBS_MAX;
	const char *e;

	st->code = 0;
	for (size_t i = 0; i < n; i++) {
		/* Never dlclose()d (dl.h): the handle lives as long as the process. */
		h[i] = dlopen(p->libs[i].soname, RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			e = dlerror();
			dl_fail(p, &p->libs[i], st, "dlopen %s: %s", p->libs[i].soname,
				e ? e : "failed");
			return;
		}
	}
	for (size_t s = 0; s < p->n_syms; s++) {
		void *a = dl_sym_any(h, n, p->syms[s].name);

		if (!a) {
			/* a library older than the one the build saw: say which name it lacks */
			dl_fail(p, &p->libs[0], st, "%s: no symbol %s (an older version?)",
				n == 1 ? p->libs[0].soname : "its libraries", p->syms[s].name);
			return;
		}
		/* a pointer to a function (or variable) stored as one, as POSIX's dlsym() and
		 * systemd's dlsym_many_or_warn() do */
		*(void **)((char *)table + p->syms[s].offset) = a;
	}
}

int dl_need(const struct dl_state *st, ckpt_err *err)
{
	if (st->code == 0)
		return 0;
	err_set(err, st->code, "%s", st->msg);
	err_hint(err, 0, st->hint);
	return st->code;
}
