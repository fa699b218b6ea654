/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libckpt's one JSON writer (see jsonw.h): growable buffer, UTF-8 checked strings. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jw_init(struct jsonw *w, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->pretty = pretty;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->cap - w->len <= n) {
		size_t cap = w->cap ? w->cap : 256;
		char *np;

		while (cap - w->len <= n) {
			if (cap > SIZE_MAX / 2) {
				w->failed = true;
				return;
			}
			cap *= 2;
		}
		np = realloc(w->p, cap);
		if (!np) {
			w->failed = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void puts_(struct jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void newline(struct jsonw *w)
{
	static const char spaces[] = "                                ";

	if (!w->pretty)
		return;
	put(w, "\n", 1);
	for (unsigned i = 0; i < w->depth; i++)
		put(w, spaces, 2);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or a surrogate */
	return len;
}

static void put_string(struct jsonw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;

	put(w, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		size_t l = c >= 0x20 && c != '"' && c != '\\' && c != 0x7f ?
				   utf8_len(s + i, n - i) :
				   0;
		char esc[7];

		if (l) {
			i += l;
			continue;
		}
		put(w, str + run, i - run);
		switch (c) {
		case '"': puts_(w, "\\\""); break;
		case '\\': puts_(w, "\\\\"); break;
		case '\n': puts_(w, "\\n"); break;
		case '\t': puts_(w, "\\t"); break;
		case '\r': puts_(w, "\\r"); break;
		case '\b': puts_(w, "\\b"); break;
		case '\f': puts_(w, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				put(w, esc, 6);
			} else {
				puts_(w, "\\ufffd"); /* not UTF-8 */
			}
			break;
		}
		i++;
		run = i;
	}
	put(w, str + run, n - run);
	put(w, "\"", 1);
}

/* Separator, indentation and key before a member. */
static void member(struct jsonw *w, const char *key)
{
	uint64_t bit;

	if (w->failed)
		return;
	if (w->depth == 0) {
		if (w->len) /* a second top-level value */
			w->failed = true;
		return;
	}
	bit = 1ull << (w->depth - 1);
	if ((key != NULL) == !!(w->is_array & bit)) { /* a key in an array, or none in an object */
		w->failed = true;
		return;
	}
	if (w->nonempty & bit)
		put(w, ",", 1);
	w->nonempty |= bit;
	newline(w);
	if (key) {
		put_string(w, key, strlen(key));
		put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
	}
}

static void open_(struct jsonw *w, const char *key, bool array)
{
	member(w, key);
	if (w->failed)
		return;
	if (w->depth == JW_DEPTH_MAX) {
		w->failed = true;
		return;
	}
	put(w, array ? "[" : "{", 1);
	w->depth++;
	w->nonempty &= ~(1ull << (w->depth - 1));
	if (array)
		w->is_array |= 1ull << (w->depth - 1);
	else
		w->is_array &= ~(1ull << (w->depth - 1));
}

static void close_(struct jsonw *w, bool array)
{
	uint64_t bit;

	if (w->failed)
		return;
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	bit = 1ull << (w->depth - 1);
	if (!!(w->is_array & bit) != array) {
		w->failed = true;
		return;
	}
	w->depth--;
	if (w->nonempty & bit)
		newline(w);
	put(w, array ? "]" : "}", 1);
}

void jw_object_begin(struct jsonw *w, const char *key)
{
	open_(w, key, false);
}

void jw_object_end(struct jsonw *w)
{
	close_(w, false);
}

void jw_array_begin(struct jsonw *w, const char *key)
{
	open_(w, key, true);
}

void jw_array_end(struct jsonw *w)
{
	close_(w, true);
}

void jw_stringn(struct jsonw *w, const char *key, const char *s, size_t n)
{
	member(w, key);
	put_string(w, s, n);
}

void jw_string(struct jsonw *w, const char *key, const char *s)
{
	if (!s) {
		jw_null(w, key);
		return;
	}
	jw_stringn(w, key, s, strlen(s));
}

void jw_int(struct jsonw *w, const char *key, int64_t v)
{
	char tmp[24];

	member(w, key);
	put(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v));
}

void jw_uint(struct jsonw *w, const char *key, uint64_t v)
{
	char tmp[24];

	member(w, key);
	put(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu64, v));
}

void jw_double(struct jsonw *w, const char *key, double v)
{
	char tmp[40];

	member(w, key);
	if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
		puts_(w, "null");
	else
		put(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.17g", v));
}

void jw_bool(struct jsonw *w, const char *key, bool v)
{
	member(w, key);
	puts_(w, v ? "true" : "false");
}

void jw_null(struct jsonw *w, const char *key)
{
	member(w, key);
	puts_(w, "null");
}

void jw_hex(struct jsonw *w, const char *key, const uint8_t *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	member(w, key);
	put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char h[2] = { hex[data[i] >> 4], hex[data[i] & 0xf] };

		put(w, h, 2);
	}
	put(w, "\"", 1);
}

char *jw_finish(struct jsonw *w)
{
	char *p = w->p;
	bool ok = !w->failed && w->depth == 0 && w->len > 0;

	w->p = NULL;
	jw_release(w);
	if (!ok) {
		free(p);
		return NULL;
	}
	return p;
}

void jw_release(struct jsonw *w)
{
	bool pretty = w->pretty;

	free(w->p);
	jw_init(w, pretty);
}
