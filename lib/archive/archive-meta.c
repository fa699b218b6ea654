/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpoint archives: what an archive says about itself, from config.dump and
 * spec.dump: the engine that wrote it, names, times, mounts.
 */
#include <limits.h>

#include <json-c/json.h>

#include "base/error.h"
#include "archive-common.h"

/* A sanitized copy of a JSON string member, or NULL. */
static char *json_text(json_object *o, const char *key)
{
	json_object *v;
	char *d;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !json_object_get_string_len(v))
		return NULL;
	d = malloc(AR_TEXT_MAX);
	if (d)
		sanitize_copy(d, AR_TEXT_MAX, json_object_get_string(v));
	return d;
}

static json_object *json_parse(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)(len > INT_MAX ? INT_MAX : len));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int set_meta(ckpt_archive *a, ckpt_archive_key k, char *v)
{
	if (!v)
		return 0;
	free(a->meta[k]);
	a->meta[k] = v;
	return 0;
}

/* Engine, names and times, the way checkpointctl tells them apart. */
/* Who wrote the archive, from the spec's io.container.manager annotation. */
static void set_engine(ckpt_archive *a, json_object *ann)
{
	a->manager = json_text(ann, "io.container.manager");
	if (!a->has_spec)
		a->engine = CKPT_ENGINE_UNKNOWN;
	else if (a->manager && !strcmp(a->manager, "libckpt"))
		a->engine = CKPT_ENGINE_LIBCKPT;
	else if (a->manager && !strcmp(a->manager, "libpod"))
		a->engine = CKPT_ENGINE_PODMAN;
	else if (a->manager && !strcmp(a->manager, "cri-o"))
		a->engine = CKPT_ENGINE_CRIO;
	else
		a->engine = CKPT_ENGINE_CONTAINERD;
}

/* The metadata: config.dump's keys, then what the engine's annotations say. */
static void set_metadata(ckpt_archive *a, json_object *config, json_object *ann)
{
	set_meta(a, CKPT_ARCHIVE_ID, json_text(config, "id"));
	set_meta(a, CKPT_ARCHIVE_IMAGE, json_text(config, "rootfsImageName"));
	if (!a->meta[CKPT_ARCHIVE_IMAGE])
		set_meta(a, CKPT_ARCHIVE_IMAGE, json_text(config, "rootfsImageRef"));
	set_meta(a, CKPT_ARCHIVE_RUNTIME, json_text(config, "runtime"));
	set_meta(a, CKPT_ARCHIVE_CREATED, json_text(config, "createdTime"));
	set_meta(a, CKPT_ARCHIVE_CHECKPOINTED, json_text(config, "checkpointedTime"));
	set_meta(a, CKPT_ARCHIVE_CRIU_VERSION, json_text(config, "criuVersion"));
	set_meta(a, CKPT_ARCHIVE_WRITER_VERSION, json_text(config, "libckptVersion"));
	switch (a->engine) {
	case CKPT_ENGINE_CRIO: {
		json_object *md = NULL;
		char *raw = json_text(ann, "io.kubernetes.cri-o.Metadata");

		if (raw) {
			md = json_parse(raw, strlen(raw));
			free(raw);
		}
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(md, "name"));
		json_object_put(md);
		set_meta(a, CKPT_ARCHIVE_CREATED, json_text(ann, "io.kubernetes.cri-o.Created"));
		set_meta(a, CKPT_ARCHIVE_POD, json_text(ann, "io.kubernetes.pod.name"));
		set_meta(a, CKPT_ARCHIVE_NAMESPACE, json_text(ann, "io.kubernetes.pod.namespace"));
		break;
	}
	case CKPT_ENGINE_CONTAINERD:
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(ann, "io.kubernetes.cri.container-name"));
		set_meta(a, CKPT_ARCHIVE_POD, json_text(ann, "io.kubernetes.cri.sandbox-name"));
		set_meta(a, CKPT_ARCHIVE_NAMESPACE,
			 json_text(ann, "io.kubernetes.cri.sandbox-namespace"));
		break;
	default: break;
	}
	if (!a->meta[CKPT_ARCHIVE_NAME])
		set_meta(a, CKPT_ARCHIVE_NAME, json_text(config, "name"));
	if (!a->meta[CKPT_ARCHIVE_CRIU_VERSION])
		set_meta(a, CKPT_ARCHIVE_CRIU_VERSION, json_text(ann, "org.criu.version"));
}

/* The spec's mounts (at most AR_MOUNTS_MAX), those with a destination. */
static int set_mounts(struct reader *r, json_object *spec)
{
	ckpt_archive *a = r->a;
	json_object *mounts;
	size_t n;

	if (!spec || !json_object_object_get_ex(spec, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	n = json_object_array_length(mounts);
	if (n > AR_MOUNTS_MAX)
		n = AR_MOUNTS_MAX;
	a->mounts = calloc(n ? n : 1, sizeof(*a->mounts));
	if (!a->mounts)
		return err_set(r->err, CKPT_ENOMEM, "%s: out of memory", a->path);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		struct mount_ent *me = &a->mounts[a->n_mounts];

		me->destination = json_text(m, "destination");
		if (!me->destination)
			continue;
		me->type = json_text(m, "type");
		me->source = json_text(m, "source");
		a->n_mounts++;
	}
	return 0;
}

int ar_interpret(struct reader *r)
{
	ckpt_archive *a = r->a;
	json_object *config = NULL, *spec = NULL, *ann = NULL;
	int ret = 0;

	if (r->config) {
		config = json_parse(r->config, r->config_len);
		if (!config || !json_object_is_type(config, json_type_object)) {
			ret = err_set(r->err, CKPT_EBADIMG, "%s: config.dump is not a JSON object",
				      a->path);
			goto out;
		}
	}
	if (r->spec) {
		spec = json_parse(r->spec, r->spec_len);
		if (!spec || !json_object_is_type(spec, json_type_object)) {
			ret = err_set(r->err, CKPT_EBADIMG, "%s: spec.dump is not a JSON object",
				      a->path);
			goto out;
		}
		if (json_object_object_get_ex(spec, "annotations", &ann) &&
		    !json_object_is_type(ann, json_type_object))
			ann = NULL;
	}
	set_engine(a, ann);
	set_metadata(a, config, ann);
	ret = set_mounts(r, spec);
out:
	json_object_put(config);
	json_object_put(spec);
	return ret;
}
