/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_opts → JSON, for logs and `ckpt --json`. The CriuOpts message is
 * walked through its protobuf-c descriptor, so a field added to rpc.proto
 * shows up here with no code change. Keys are the proto field names; enums
 * are rendered by their proto value name (a value the descriptor does not
 * know as its number); nested messages become objects. The images and work
 * directories are shown by path when they were set by path ("images_dir",
 * "work_dir"), else by fd.
 *
 * The text is written directly into one growable buffer rather than through
 * json-c's serializer: json_object_to_json_string_ext() ignores allocation
 * failures while printing and then returns truncated or wrong JSON, and
 * this function must return either the whole rendering or NULL.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "opts.h"

struct out {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct out *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct out *b, const char *s)
{
	put(b, s, strlen(s));
}

_printf_(2, 3) static void putf(struct out *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true; /* numbers only: cannot happen */
		return;
	}
	put(b, tmp, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped, other bytes as they are. */
static void put_string(struct out *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': puts_(b, "\\\""); break;
		case '\\': puts_(b, "\\\\"); break;
		case '\n': puts_(b, "\\n"); break;
		case '\t': puts_(b, "\\t"); break;
		case '\r': puts_(b, "\\r"); break;
		case '\b': puts_(b, "\\b"); break;
		case '\f': puts_(b, "\\f"); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			put(b, esc, 6);
			break;
		}
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

static void put_key(struct out *b, bool *first, const char *key)
{
	if (!*first)
		put(b, ",", 1);
	*first = false;
	put_string(b, key, strlen(key));
	put(b, ":", 1);
}

static size_t elt_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return sizeof(uint32_t);
	}
}

static void put_message(struct out *b, const ProtobufCMessage *m, const struct ckpt_opts *o);

static void put_double(struct out *b, double d)
{
	if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
		puts_(b, "null"); /* NaN and infinities have no JSON form */
	else
		putf(b, "%.17g", d);
}

/* One value of field f stored at p. */
static void put_value(struct out *b, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		putf(b, "%" PRId32, *(const int32_t *)p);
		return;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		putf(b, "%" PRIu32, *(const uint32_t *)p);
		return;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		putf(b, "%" PRId64, *(const int64_t *)p);
		return;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		putf(b, "%" PRIu64, *(const uint64_t *)p);
		return;
	case PROTOBUF_C_TYPE_FLOAT:
		put_double(b, *(const float *)p);
		return;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_double(b, *(const double *)p);
		return;
	case PROTOBUF_C_TYPE_BOOL:
		puts_(b, *(const protobuf_c_boolean *)p ? "true" : "false");
		return;
	case PROTOBUF_C_TYPE_ENUM: {
		int e = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);

		if (ev)
			put_string(b, ev->name, strlen(ev->name));
		else
			putf(b, "%d", e);
		return;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		if (s)
			put_string(b, s, strlen(s));
		else
			puts_(b, "null");
		return;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		static const char hex[] = "0123456789abcdef";
		const ProtobufCBinaryData *bd = p;

		put(b, "\"", 1);
		for (size_t i = 0; i < bd->len; i++) {
			char h[2] = { hex[bd->data[i] >> 4], hex[bd->data[i] & 0xf] };

			put(b, h, 2);
		}
		put(b, "\"", 1);
		return;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (sub)
			put_message(b, sub, NULL);
		else
			puts_(b, "null");
		return;
	}
	}
	puts_(b, "null");
}

static bool field_is_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *p = base + f->offset;
	bool pointer = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return !pointer || *(void *const *)p;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (pointer) /* a string default is a static pointer: not set */
			return *(void *const *)p && *(void *const *)p != f->default_value;
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE: /* proto3: set when not zero or empty */
		if (pointer)
			return *(void *const *)p &&
			       (f->type != PROTOBUF_C_TYPE_STRING || **(char *const *)p);
		if (f->type == PROTOBUF_C_TYPE_BYTES)
			return ((const ProtobufCBinaryData *)p)->len > 0;
		for (size_t i = 0; i < elt_size(f->type); i++)
			if (((const unsigned char *)p)[i])
				return true;
		return false;
	default:
		return false;
	}
}

/*
 * The images and work directories of o: by path when known, else by fd.
 * Returns true when the field was handled (or deliberately left out) here.
 */
static bool put_dir_field(struct out *b, bool *first, const CriuOpts *pb, const struct ckpt_opts *o,
			  const ProtobufCFieldDescriptor *f)
{
	if (!strcmp(f->name, "images_dir_fd")) {
		if (o->images.path) {
			put_key(b, first, "images_dir");
			put_string(b, o->images.path, strlen(o->images.path));
		} else if (o->images.fd >= 0 || pb->images_dir_fd >= 0) {
			put_key(b, first, "images_dir_fd");
			putf(b, "%d", o->images.fd >= 0 ? o->images.fd : pb->images_dir_fd);
		}
		return true;
	}
	if (!strcmp(f->name, "images_dir"))
		return o->images.path != NULL; /* already shown by path: no duplicate key */
	if (!strcmp(f->name, "work_dir_fd")) {
		if (o->work.path) {
			put_key(b, first, "work_dir");
			put_string(b, o->work.path, strlen(o->work.path));
		} else if (o->work.fd >= 0 || pb->has_work_dir_fd) {
			put_key(b, first, "work_dir_fd");
			putf(b, "%d", o->work.fd >= 0 ? o->work.fd : pb->work_dir_fd);
		}
		return true;
	}
	return false;
}

/* m as a JSON object; o (may be NULL) when m is o's CriuOpts. */
static void put_message(struct out *b, const ProtobufCMessage *m, const struct ckpt_opts *o)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;

	put(b, "{", 1);
	for (unsigned i = 0; i < d->n_fields && !b->oom; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;

		if (o && put_dir_field(b, &first, (const CriuOpts *)m, o, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *arr = *(const char *const *)member;

			if (!n || !arr)
				continue;
			put_key(b, &first, f->name);
			put(b, "[", 1);
			for (size_t j = 0; j < n; j++) {
				if (j)
					put(b, ",", 1);
				put_value(b, f, arr + j * elt_size(f->type));
			}
			put(b, "]", 1);
			continue;
		}
		if (!field_is_set(m, f))
			continue;
		put_key(b, &first, f->name);
		put_value(b, f, member);
	}
	put(b, "}", 1);
}

char *ckpt_opts_to_json(const ckpt_opts *o)
{
	struct out b = { 0 };

	if (!o || !o->pb)
		return NULL;
	put_message(&b, &o->pb->base, o);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
