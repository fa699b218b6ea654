/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libckpt's one JSON writer: text into a growable buffer, all or nothing (private). */
#ifndef CKPT_JSONW_H
#define CKPT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every libckpt JSON text (ckpt_opts_to_json, ckpt_image_info_to_json,
 * ckpt_migrate_result_to_json, archive metadata) is written with this, never with json-c's serializer:
 * json_object_to_json_string_ext() ignores allocation failures while
 * printing and then returns truncated or wrong JSON, and these functions
 * must return the whole text or NULL.
 *
 * Each call takes the member's key: a string inside an object, NULL for an
 * array element or the top-level value. A failure (no memory, nesting too
 * deep, a begin/end mismatch) is sticky and makes jw_finish return NULL.
 * Strings are written as valid UTF-8: control characters are escaped and
 * bytes that are not UTF-8 become U+FFFD, so untrusted text (a comm, a path
 * from an image) cannot make the document invalid.
 */
#define JW_DEPTH_MAX 64

struct jsonw {
	char *p;
	size_t len, cap;
	bool failed;
	bool pretty; /* newlines and two-space indentation */
	unsigned depth;
	uint64_t nonempty; /* bit d: the container at depth d has a member */
	uint64_t is_array; /* bit d: the container at depth d is an array */
};

void jw_init(struct jsonw *w, bool pretty);
void jw_object_begin(struct jsonw *w, const char *key);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w, const char *key);
void jw_array_end(struct jsonw *w);
/* s NULL writes null. */
void jw_string(struct jsonw *w, const char *key, const char *s);
void jw_stringn(struct jsonw *w, const char *key, const char *s, size_t n);
void jw_int(struct jsonw *w, const char *key, int64_t v);
void jw_uint(struct jsonw *w, const char *key, uint64_t v);
/* NaN and infinities have no JSON form: null. */
void jw_double(struct jsonw *w, const char *key, double v);
void jw_bool(struct jsonw *w, const char *key, bool v);
void jw_null(struct jsonw *w, const char *key);
/* Bytes as a string of lowercase hex digits. */
void jw_hex(struct jsonw *w, const char *key, const uint8_t *data, size_t n);
/* The text (malloc'd, the caller frees), or NULL if anything failed; w is reset either way. */
char *jw_finish(struct jsonw *w);
/* Drop what was written (for an abandoned document). */
void jw_release(struct jsonw *w);

#endif
