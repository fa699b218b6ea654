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
 * The text is written with libckpt's one JSON writer (jsonw.c), which
 * returns either the whole rendering or NULL.
 */
#include <inttypes.h>
#include <stdio.h>

#include "opts.h"
#include "base/jsonw.h"

static size_t elt_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return sizeof(uint32_t);
	}
}

static void put_message(struct jsonw *w, const char *key, const ProtobufCMessage *m,
			const struct ckpt_opts *o);

/* One value of field f stored at p, as member key (NULL in an array). */
static void put_value(struct jsonw *w, const char *key, const ProtobufCFieldDescriptor *f,
		      const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: jw_int(w, key, *(const int32_t *)p); return;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: jw_uint(w, key, *(const uint32_t *)p); return;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: jw_int(w, key, *(const int64_t *)p); return;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: jw_uint(w, key, *(const uint64_t *)p); return;
	case PROTOBUF_C_TYPE_FLOAT: jw_double(w, key, *(const float *)p); return;
	case PROTOBUF_C_TYPE_DOUBLE: jw_double(w, key, *(const double *)p); return;
	case PROTOBUF_C_TYPE_BOOL: jw_bool(w, key, *(const protobuf_c_boolean *)p); return;
	case PROTOBUF_C_TYPE_ENUM: {
		int e = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, e);

		if (ev)
			jw_string(w, key, ev->name);
		else
			jw_int(w, key, e);
		return;
	}
	case PROTOBUF_C_TYPE_STRING: jw_string(w, key, *(char *const *)p); return;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = p;

		jw_hex(w, key, bd->data, bd->len);
		return;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (sub)
			put_message(w, key, sub, NULL);
		else
			jw_null(w, key);
		return;
	}
	}
	jw_null(w, key);
}

static bool field_is_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *p = base + f->offset;
	bool pointer = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED: return !pointer || *(void *const *)p;
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
	default: return false;
	}
}

/*
 * The images and work directories of o: by path when known, else by fd.
 * Returns true when the field was handled (or deliberately left out) here.
 */
static bool put_dir_field(struct jsonw *w, const CriuOpts *pb, const struct ckpt_opts *o,
			  const ProtobufCFieldDescriptor *f)
{
	if (!strcmp(f->name, "images_dir_fd")) {
		if (o->images.path)
			jw_string(w, "images_dir", o->images.path);
		else if (o->images.fd >= 0 || pb->images_dir_fd >= 0)
			jw_int(w, "images_dir_fd",
			       o->images.fd >= 0 ? o->images.fd : pb->images_dir_fd);
		return true;
	}
	if (!strcmp(f->name, "images_dir"))
		return o->images.path != NULL; /* already shown by path: no duplicate key */
	if (!strcmp(f->name, "work_dir_fd")) {
		if (o->work.path)
			jw_string(w, "work_dir", o->work.path);
		else if (o->work.fd >= 0 || pb->has_work_dir_fd)
			jw_int(w, "work_dir_fd", o->work.fd >= 0 ? o->work.fd : pb->work_dir_fd);
		return true;
	}
	return false;
}

/* m as a JSON object, member key; o (may be NULL) when m is o's CriuOpts. */
static void put_message(struct jsonw *w, const char *key, const ProtobufCMessage *m,
			const struct ckpt_opts *o)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	jw_object_begin(w, key);
	for (unsigned i = 0; i < d->n_fields && !w->failed; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;

		if (o && put_dir_field(w, (const CriuOpts *)m, o, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *arr = *(const char *const *)member;

			if (!n || !arr)
				continue;
			jw_array_begin(w, f->name);
			for (size_t j = 0; j < n; j++)
				put_value(w, NULL, f, arr + j * elt_size(f->type));
			jw_array_end(w);
			continue;
		}
		if (!field_is_set(m, f))
			continue;
		put_value(w, f->name, f, member);
	}
	jw_object_end(w);
}

char *ckpt_opts_to_json(const ckpt_opts *o)
{
	struct jsonw w;

	if (!o || !o->pb)
		return NULL;
	jw_init(&w, false);
	put_message(&w, NULL, &o->pb->base, o);
	return jw_finish(&w);
}
