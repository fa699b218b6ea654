/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Optional libraries loaded on first use (dlopen), and the ELF note that declares each one. */
#ifndef CKPT_DL_H
#define CKPT_DL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * GnuTLS (migration), libarchive and libzstd (checkpoint archives) and libnl (network
 * namespaces) are not linked: a program that never uses those parts never loads them, nor
 * what they pull in (libxml2, ICU, nettle, ...). Each part has a header of its own
 * (migrate/dl-gnutls.h, archive/dl-archive.h, net/dl-nl.h) that declares a table of pointers,
 * one per function it calls, and renames each call into the table, so the calling code keeps
 * the library's names. The table is filled once, under pthread_once, by dl_load: dlopen by
 * SONAME (RTLD_NOW | RTLD_LOCAL), dlsym of every name. The table and the outcome are written
 * only there and read-only after: the one kind of static mutable state lib/ holds
 * (scripts/check-layout.sh lists each such table, DL_TABLES).
 *
 * A handle is never dlclose()d: it lives as long as the process, so a pointer handed out can
 * never dangle, and GnuTLS's or libnl's destructors never run under a caller (valgrind and
 * TSan see nothing unloaded). A missing library is CKPT_EMISSINGLIB, naming the library, its
 * SONAME, the Debian package that has it and the loader's own words; every public entry point
 * of an optional part calls its dl_need_*() first, so nothing is called through an empty table.
 *
 * The SONAMEs and packages are the build's (CMake reads them from the libraries the build
 * found: CKPT_SONAME_*, CKPT_PACKAGE_*).
 */

/* One library of a part: its SONAME, its name in messages, the (Debian) package that has it. */
struct dl_lib {
	const char *soname;
	const char *name;
	const char *package;
};

/* One symbol, and where its address goes in the part's table. */
struct dl_sym {
	const char *name;
	size_t offset;
};

/* The most libraries one part loads (each part checks its own with a static assertion). */
#define DL_LIBS_MAX 4

/* An optional part: what it is, the libraries it loads (in order), the symbols it takes. */
struct dl_part {
	const char *what; /* "checkpoint archives", naming the part in messages */
	const struct dl_lib *libs;
	size_t n_libs;
	const struct dl_sym *syms;
	size_t n_syms;
};

/* The outcome of a part's load: written once, under its pthread_once; read-only after. */
struct dl_state {
	int code; /* 0 (loaded) or CKPT_EMISSINGLIB */
	char msg[CKPT_ERR_MSG_MAX];
	char hint[CKPT_ERR_HINT_MAX];
};

/* A field of a part's table: a pointer to the function (or to the variable) named x. */
#define DL_FIELD(x) typeof(x) *x;

/*
 * Load part p into table (the struct its dl_sym offsets index) and record the outcome in st.
 * Called only from the part's pthread_once routine. On failure the table may be half filled:
 * no one calls through it (dl_need).
 */
void dl_load(const struct dl_part *p, void *table, struct dl_state *st);
/* 0 if the part was loaded, else err filled (message and hint) and CKPT_EMISSINGLIB. */
int dl_need(const struct dl_state *st, ckpt_err *err);

/*
 * The ELF note that declares an optional dependency, as systemd specifies it
 * (https://systemd.io/ELF_DLOPEN_METADATA/): section .note.dlopen, owner "FDO", type
 * 0x407c0c0a, a JSON array of {feature, description, priority, soname: [...]}. Packaging tools
 * read it (readelf --notes, systemd-analyze dlopen-metadata) to learn what is dlopen()ed.
 * json must be a string literal.
 */
#define DL_NOTE_OWNER "FDO"
#define DL_NOTE_TYPE UINT32_C(0x407c0c0a)
#define DL_NOTE(name, json)                                                                     \
	__attribute__((used, section(".note.dlopen"))) _Alignas(uint32_t) static const struct { \
		struct {                                                                        \
			uint32_t n_namesz, n_descsz, n_type;                                    \
		} nhdr;                                                                         \
		char owner[sizeof(DL_NOTE_OWNER)];                                              \
		_Alignas(uint32_t) char desc[sizeof(json)];                                     \
	} name = { { sizeof(DL_NOTE_OWNER), sizeof(json), DL_NOTE_TYPE }, DL_NOTE_OWNER, json }
/* One entry of the note's array: the part, what it gives, how much a package should want it. */
#define DL_NOTE_JSON(feature, description, priority, sonames)         \
	"{\"feature\":\"" feature "\",\"description\":\"" description \
	"\",\"priority\":\"" priority "\",\"soname\":[" sonames "]}"

#endif
