/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ckpt_opts → JSON, for logs and `ckpt --json`. The CriuOpts message is
 * walked through its protobuf-c descriptor, so a field added to rpc.proto
 * shows up here with no code change. Keys are the proto field names; enums
 * are rendered by their proto value name; nested messages become objects.
 * The images and work directories are shown by path when they were set by
 * path ("images_dir", "work_dir"), else by fd.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "internal.h"

static json_object *message_to_json(const ProtobufCMessage *m, const struct ckpt_opts *o);

static inline void json_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

/* Add v (NULL: OOM; consumed, even on failure) under key; -1 on failure. */
static int add(json_object *obj, const char *key, json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* Add v, which may be JSON null (NULL), under key; -1 on failure. */
static int add_value(json_object *obj, const char *key, json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
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

static json_object *bytes_to_json(const ProtobufCBinaryData *b)
{
	static const char hex[] = "0123456789abcdef";
	_cleanup_free_ char *s = NULL;

	s = malloc(b->len * 2 + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < b->len; i++) {
		s[2 * i] = hex[b->data[i] >> 4];
		s[2 * i + 1] = hex[b->data[i] & 0xf];
	}
	s[b->len * 2] = '\0';
	return json_object_new_string(s);
}

/*
 * One value of field f stored at p into *ret: NULL is JSON null (a missing
 * string or message in a repeated field). Returns -1 on OOM.
 */
static int value_to_json(const ProtobufCFieldDescriptor *f, const void *p, json_object **ret)
{
	json_object *v = NULL;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		v = json_object_new_int(*(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		v = json_object_new_int64(*(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		v = json_object_new_int64(*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		v = json_object_new_uint64(*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		v = json_object_new_double(*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		v = json_object_new_double(*(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		v = json_object_new_boolean(*(const protobuf_c_boolean *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int e = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);

		/* A value the descriptor does not know is shown as its number. */
		v = ev ? json_object_new_string(ev->name) : json_object_new_int(e);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *str = *(char *const *)p;

		if (!str)
			goto null;
		v = json_object_new_string(str);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		v = bytes_to_json(p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (!sub)
			goto null;
		v = message_to_json(sub, NULL);
		break;
	}
	default:
		goto null;
	}
	if (!v)
		return -1;
null:
	*ret = v;
	return 0;
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
		if (pointer) /* a default string would be a static pointer, never "set" */
			return *(void *const *)p && *(void *const *)p != f->default_value;
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE: /* proto3: set when not zero/empty */
		if (pointer)
			return *(void *const *)p && (f->type != PROTOBUF_C_TYPE_STRING ||
						     **(char *const *)p);
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
 * Returns 1 when the field was handled here, 0 to render it generically.
 */
static int dir_field(json_object *obj, const CriuOpts *pb, const struct ckpt_opts *o,
		     const ProtobufCFieldDescriptor *f, int *r)
{
	*r = 0;
	if (!strcmp(f->name, "images_dir_fd")) {
		if (o->images_path)
			*r = add(obj, "images_dir", json_object_new_string(o->images_path));
		else if (o->images_fd >= 0)
			*r = add(obj, "images_dir_fd", json_object_new_int(o->images_fd));
		else if (pb->images_dir_fd >= 0)
			*r = add(obj, "images_dir_fd", json_object_new_int(pb->images_dir_fd));
		return 1;
	}
	if (!strcmp(f->name, "images_dir"))
		return o->images_path != NULL; /* already rendered by path: no duplicate key */
	if (!strcmp(f->name, "work_dir_fd")) {
		if (o->work_path)
			*r = add(obj, "work_dir", json_object_new_string(o->work_path));
		else if (o->work_fd >= 0)
			*r = add(obj, "work_dir_fd", json_object_new_int(o->work_fd));
		else if (pb->has_work_dir_fd)
			*r = add(obj, "work_dir_fd", json_object_new_int(pb->work_dir_fd));
		return 1;
	}
	return 0;
}

/* m as a JSON object; o (may be NULL) when m is o's CriuOpts. NULL on OOM. */
static json_object *message_to_json(const ProtobufCMessage *m, const struct ckpt_opts *o)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	_cleanup_(json_putp) json_object *obj = json_object_new_object();
	json_object *ret;

	if (!obj)
		return NULL;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;
		json_object *v;
		int r;

		if (o && dir_field(obj, (const CriuOpts *)m, o, f, &r)) {
			if (r < 0)
				return NULL;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *arr = *(const char *const *)member;
			json_object *a;

			if (!n || !arr)
				continue;
			a = json_object_new_array();
			if (add(obj, f->name, a) < 0)
				return NULL;
			for (size_t j = 0; j < n; j++) {
				json_object *e;

				if (value_to_json(f, arr + j * elt_size(f->type), &e) < 0)
					return NULL;
				if (json_object_array_add(a, e) < 0) {
					json_object_put(e);
					return NULL;
				}
			}
			continue;
		}
		if (!field_is_set(m, f))
			continue;
		if (value_to_json(f, member, &v) < 0 || add_value(obj, f->name, v) < 0)
			return NULL;
	}
	ret = obj;
	obj = NULL;
	return ret;
}

char *ckpt_opts_to_json(const ckpt_opts *o)
{
	_cleanup_(json_putp) json_object *obj = NULL;
	const char *s;

	if (!o || !o->pb)
		return NULL;
	obj = message_to_json(&o->pb->base, o);
	if (!obj)
		return NULL;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}
