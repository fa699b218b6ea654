/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI runtime config.json → ckpt_opts: the namespaces a container creates
 * and the ones it joins by path. Only linux.namespaces is read: the root path
 * and the org.criu.config annotation are deliberately ignored (a config file
 * named by an untrusted spec could carry action scripts).
 *
 * The file is untrusted input: it is opened without following a final
 * symlink, must be a regular file of at most 4 MiB, and is parsed with a
 * nesting limit. No json_object outlives the call, and the options are
 * changed only when the whole file was accepted.
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "opts.h"
#include "base/parse.h"

#define OCI_MAX_SIZE (4 * 1024 * 1024)
#define OCI_MAX_DEPTH 64
/* Joined by path: at most network, ipc and uts, one each. */
#define OCI_MAX_JOINS 3

static inline void json_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

static inline void tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	default: return "not a regular file";
	}
}

/* Read the whole regular file at path (at most OCI_MAX_SIZE bytes) into a NUL-terminated buffer. */
static int read_config(const char *path, char **ret_buf, size_t *ret_len, ckpt_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;

	/* O_NONBLOCK: a FIFO planted at path must not block the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_sys(
				err, CKPT_EINVAL, errno,
				"OCI config \"%s\" is a symbolic link; expected a regular file",
				path);
		return err_sys(err, CKPT_ESYS, errno, "cannot open OCI config \"%s\"", path);
	}
	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_ESYS, errno, "cannot stat OCI config \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, CKPT_EINVAL, "OCI config \"%s\" is %s; expected a regular file",
			       path, file_kind(st.st_mode));
	if (st.st_size > OCI_MAX_SIZE)
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\" is %lld bytes; expected at most %d (4 MiB)", path,
			       (long long)st.st_size, OCI_MAX_SIZE);

	/* The file may change under us: read to EOF, but never past the cap. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return err_set(err, CKPT_ENOMEM, "OCI config \"%s\": out of memory", path);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > OCI_MAX_SIZE)
				return err_set(
					err, CKPT_EINVAL,
					"OCI config \"%s\" grew beyond %d bytes while being read; expected at most 4 MiB",
					path, OCI_MAX_SIZE);
			cap = cap * 2 > OCI_MAX_SIZE + 1 ? OCI_MAX_SIZE + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return err_set(err, CKPT_ENOMEM, "OCI config \"%s\": out of memory",
					       path);
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(err, CKPT_ESYS, errno, "cannot read OCI config \"%s\"",
				       path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > OCI_MAX_SIZE)
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\" is more than %d bytes; expected at most 4 MiB",
			       path, OCI_MAX_SIZE);
	buf[len] = '\0';
	*ret_buf = buf;
	buf = NULL;
	*ret_len = len;
	return 0;
}

static int parse_json(const char *path, const char *buf, size_t len, json_object **ret,
		      ckpt_err *err)
{
	_cleanup_(tokener_freep) json_tokener *tok = NULL;
	enum json_tokener_error jerr;
	json_object *root;
	int flags = JSON_TOKENER_STRICT;
	size_t end;

#ifdef JSON_TOKENER_ALLOW_TRAILING_CHARS
	flags |= JSON_TOKENER_ALLOW_TRAILING_CHARS; /* checked below, for a clearer message */
#endif
#ifdef JSON_TOKENER_VALIDATE_UTF8
	flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
	if (len == 0)
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\" is empty; expected a JSON object", path);
	if (len > INT_MAX)
		return err_set(err, CKPT_EINVAL, "OCI config \"%s\" is too big", path);
	tok = json_tokener_new_ex(OCI_MAX_DEPTH);
	if (!tok)
		return err_set(err, CKPT_ENOMEM, "OCI config \"%s\": out of memory", path);
	json_tokener_set_flags(tok, flags);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		if (root)
			json_object_put(root);
		if (jerr == json_tokener_continue)
			return err_set(
				err, CKPT_EINVAL,
				"OCI config \"%s\" is not valid JSON: it ends before the value is complete",
				path);
		if (jerr == json_tokener_error_depth)
			return err_set(
				err, CKPT_EINVAL,
				"OCI config \"%s\" is not acceptable JSON: nesting deeper than %d levels at byte %zu",
				path, OCI_MAX_DEPTH, json_tokener_get_parse_end(tok));
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\" is not valid JSON: %s at byte %zu", path,
			       json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len &&
	       (buf[end] == ' ' || buf[end] == '\t' || buf[end] == '\n' || buf[end] == '\r'))
		end++;
	if (end < len) {
		json_object_put(root);
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\" is not valid JSON: unexpected data after the value at byte %zu",
			path, end);
	}
	*ret = root;
	return 0;
}

static const char *type_name(json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

/* A member that is absent or null counts as absent (as runc's Go decoder does). */
static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* The value of the string j (at where.field), refusing embedded NULs: NULL, err filled. */
static const char *json_str(const char *path, json_object *j, const char *where, const char *field,
			    ckpt_err *err)
{
	const char *s = json_object_get_string(j);

	if (strlen(s) != (size_t)json_object_get_string_len(j)) {
		err_set(err, CKPT_EINVAL,
			"OCI config \"%s\": %s.%s \"%s\" contains a NUL character; expected a plain string",
			path, where, field, s);
		return NULL;
	}
	return s;
}

struct oci_join {
	JoinNamespace *j[OCI_MAX_JOINS];
	size_t n;
};

static void joins_free(struct oci_join *js)
{
	for (size_t i = 0; i < js->n; i++)
		join_namespace__free_unpacked(js->j[i], NULL);
	js->n = 0;
}

/* The CRIU join-ns name of a namespace that can be joined, else NULL. */
static const char *criu_join_name(uint32_t flag)
{
	switch (flag) {
	case CLONE_NEWNET: return "net";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	default: return NULL;
	}
}

static int add_join(const char *path, const char *where, const ckpt_opts *o, struct oci_join *js,
		    const char *ns, const char *ns_file, ckpt_err *err)
{
	_cleanup_free_ char *ns_copy = NULL, *file_copy = NULL;
	JoinNamespace *j;

	for (size_t i = 0; i < o->pb->n_join_ns; i++)
		if (o->pb->join_ns[i] && o->pb->join_ns[i]->ns &&
		    !strcmp(o->pb->join_ns[i]->ns, ns))
			return err_set(
				err, CKPT_EINVAL,
				"OCI config \"%s\": %s joins \"%s\" but the options already join the %s namespace (\"%s\"); expected one join-ns per namespace",
				path, where, ns_file, ns,
				o->pb->join_ns[i]->ns_file ? o->pb->join_ns[i]->ns_file : "");
	if (js->n >= OCI_MAX_JOINS)
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\": more than %d namespaces joined", path,
			       OCI_MAX_JOINS);
	ns_copy = strdup(ns);
	file_copy = strdup(ns_file);
	j = ns_copy && file_copy ? malloc(sizeof(*j)) : NULL;
	if (!j)
		return err_set(err, CKPT_ENOMEM, "OCI config \"%s\": out of memory", path);
	join_namespace__init(j);
	j->ns = ns_copy;
	j->ns_file = file_copy;
	ns_copy = file_copy = NULL;
	js->j[js->n++] = j;
	return 0;
}

/* linux.namespaces of the config: *ret the array, or NULL when there is none. */
static int namespaces_array(const char *path, json_object *root, json_object **ret, ckpt_err *err)
{
	json_object *linux_obj, *nss;

	*ret = NULL;
	if (!json_object_is_type(root, json_type_object))
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\": the top level is a JSON %s; expected an object",
			       path, type_name(root));
	linux_obj = member(root, "linux");
	if (!linux_obj)
		return 0;
	if (!json_object_is_type(linux_obj, json_type_object))
		return err_set(err, CKPT_EINVAL,
			       "OCI config \"%s\": linux is a JSON %s; expected an object", path,
			       type_name(linux_obj));
	nss = member(linux_obj, "namespaces");
	if (!nss)
		return 0;
	if (!json_object_is_type(nss, json_type_array))
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": linux.namespaces is a JSON %s; expected an array", path,
			type_name(nss));
	*ret = nss;
	return 0;
}

/* The "type" of namespace entry e (named where): its name and CLONE_NEW* flag. */
static int entry_type(const char *path, json_object *e, const char *where, const char **ret_name,
		      uint32_t *ret_flag, ckpt_err *err)
{
	json_object *t;
	const char *tname;

	if (!e || !json_object_is_type(e, json_type_object))
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s is a JSON %s; expected an object with a \"type\"",
			path, where, e ? type_name(e) : "null");
	t = member(e, "type");
	if (!t)
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s.type is missing or null; expected a string naming the namespace",
			path, where);
	if (!json_object_is_type(t, json_type_string))
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s.type is a JSON %s; expected a string naming the namespace",
			path, where, type_name(t));
	tname = json_str(path, t, where, "type", err);
	if (!tname)
		return CKPT_EINVAL;
	*ret_flag = ns_flag_from_name(tname, strlen(tname), false);
	if (!*ret_flag)
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s.type \"%s\" is not a namespace type; expected one of pid, network, mount, ipc, uts, user, cgroup, time",
			path, where, tname);
	*ret_name = tname;
	return 0;
}

/*
 * The "path" of namespace entry e (type tname, flag): none or "" (as in runc)
 * means a new namespace (*created gets flag); else a join added to js.
 */
static int entry_path(const char *path, json_object *e, const char *where, const char *tname,
		      uint32_t flag, const ckpt_opts *o, struct oci_join *js, uint32_t *created,
		      ckpt_err *err)
{
	json_object *p = member(e, "path");
	const char *pstr, *criu_name;

	if (!p) {
		*created |= flag;
		return 0;
	}
	if (!json_object_is_type(p, json_type_string))
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s.path is a JSON %s; expected a string (the namespace file)",
			path, where, type_name(p));
	pstr = json_str(path, p, where, "path", err);
	if (!pstr)
		return CKPT_EINVAL;
	if (!*pstr) {
		*created |= flag;
		return 0;
	}
	if (pstr[0] != '/')
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s.path \"%s\" is not absolute; expected the absolute path of a namespace file",
			path, where, pstr);
	criu_name = criu_join_name(flag);
	if (!criu_name)
		return err_set(
			err, CKPT_EINVAL,
			"OCI config \"%s\": %s joins the %s namespace by path (\"%s\"); CRIU can join only network, ipc and uts namespaces",
			path, where, tname, pstr);
	return add_join(path, where, o, js, criu_name, pstr, err);
}

static int walk_namespaces(const char *path, json_object *root, const ckpt_opts *o,
			   struct oci_join *js, uint32_t *ret_created, ckpt_err *err)
{
	json_object *nss;
	size_t first[32] = { 0 };
	uint32_t created = 0, seen = 0;
	size_t n;
	int r;

	r = namespaces_array(path, root, &nss, err);
	if (r < 0)
		return r;
	n = nss ? json_object_array_length(nss) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(nss, i);
		const char *tname;
		char where[64];
		uint32_t flag;
		int bit;

		snprintf(where, sizeof(where), "linux.namespaces[%zu]", i);
		r = entry_type(path, e, where, &tname, &flag, err);
		if (r < 0)
			return r;
		bit = __builtin_ctz(flag);
		if (seen & flag)
			return err_set(
				err, CKPT_EINVAL,
				"OCI config \"%s\": %s.type \"%s\" is listed twice (first as linux.namespaces[%zu]); expected each namespace once",
				path, where, tname, first[bit]);
		seen |= flag;
		first[bit] = i;
		r = entry_path(path, e, where, tname, flag, o, js, &created, err);
		if (r < 0)
			return r;
	}
	*ret_created = created;
	return 0;
}

int ckpt_opts_from_oci_config(ckpt_opts *o, const char *config_json_path, uint32_t *ret_created,
			      ckpt_err *err)
{
	_cleanup_(json_putp) json_object *root = NULL;
	_cleanup_free_ char *buf = NULL;
	struct oci_join js = { .n = 0 };
	JoinNamespace **v;
	uint32_t created = 0;
	size_t len = 0;
	int r;

	assert_return(o, err, "OCI config: the options are NULL");
	assert_return(config_json_path, err,
		      "OCI config: the path is NULL; expected a config.json path");
	assert_return(*config_json_path, err,
		      "OCI config: the path is empty; expected a config.json path");

	r = read_config(config_json_path, &buf, &len, err);
	if (r < 0)
		return r;
	r = parse_json(config_json_path, buf, len, &root, err);
	if (r < 0)
		return r;
	r = walk_namespaces(config_json_path, root, o, &js, &created, err);
	if (r < 0)
		goto fail;

	if (js.n) {
		v = realloc(o->pb->join_ns, (o->pb->n_join_ns + js.n) * sizeof(*v));
		if (!v) {
			r = err_set(err, CKPT_ENOMEM, "OCI config \"%s\": out of memory",
				    config_json_path);
			goto fail;
		}
		o->pb->join_ns = v;
		memcpy(v + o->pb->n_join_ns, js.j, js.n * sizeof(*v));
		o->pb->n_join_ns += js.n;
		js.n = 0;
	}
	if (ret_created)
		*ret_created = created;
	return 0;
fail:
	joins_free(&js);
	return r;
}
