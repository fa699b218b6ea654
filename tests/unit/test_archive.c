/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit_archive: lib/archive/ and lib/base/jsonw.c. Archives written from the
 * fixture images and read back in every compression; hostile archives
 * (traversal, absolute names, links, devices, bombs, truncation, wrong
 * magic, duplicates) built here with libarchive, each refused with its own
 * message and nothing written outside the extraction directory; container
 * archives told apart as checkpointctl does.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "base/error.h"
#include "rpc/opts.h"
#include "base/jsonw.h"

#define SLEEP_DIR CKPT_FIXTURES_DIR "/images/sleep"

static char tmp[64];

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/ckpt-test-archive-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Names in dir (not . and ..). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- a tar built entry by entry ---- */

struct ent {
	const char *name;
	mode_t type;	  /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, 0: a hard link */
	const char *data; /* file contents, link target */
	int64_t size;	  /* for a zero-filled file of this size when data is NULL */
};

static void build(const char *path, int filter, const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	static char zeros[1 << 16];

	archive_write_set_format_pax_restricted(a);
	if (filter == 1)
		archive_write_add_filter_gzip(a);
	else if (filter == 2)
		archive_write_add_filter_zstd(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		int64_t size = ents[i].data && ents[i].type == AE_IFREG ?
				       (int64_t)strlen(ents[i].data) :
				       ents[i].size;

		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_perm(e, 0644);
		if (ents[i].type == 0) {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].data);
		} else {
			archive_entry_set_filetype(e, ents[i].type);
		}
		if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, ents[i].data);
		if (ents[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		if (ents[i].type == AE_IFREG)
			archive_entry_set_size(e, size);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].type == AE_IFREG) {
			if (ents[i].data) {
				archive_write_data(a, ents[i].data, (size_t)size);
			} else {
				for (int64_t left = size; left > 0; left -= (int64_t)sizeof(zeros))
					archive_write_data(a, zeros,
							   left < (int64_t)sizeof(zeros) ?
								   (size_t)left :
								   sizeof(zeros));
			}
		}
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Extract path into tmp/x (made here); must fail with code and a message holding want. */
static void refused(const char *path, const ckpt_archive_limits *lim, int code, const char *want)
{
	char dest[128], outside[160];
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	int r;

	snprintf(dest, sizeof(dest), "%s/x", tmp);
	mkdir(dest, 0700);
	r = ckpt_archive_extract(path, lim, dest, 0, &a, &err);
	ck_assert_msg(r == code, "%s: got %d (%s), want %d", path, r, err.msg, code);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(err.msg, want), "%s: message '%s' lacks '%s'", path, err.msg, want);
	ck_assert_msg(count_entries(dest) == 0, "%s: something was left in the target", path);
	/* Nothing written outside: the traversal targets do not exist. */
	snprintf(outside, sizeof(outside), "%s/evil", tmp);
	ck_assert_int_ne(access(outside, F_OK), 0);
	ck_assert_int_ne(access("/tmp/ckpt-test-archive-evil", F_OK), 0);
	/* Reading without extracting refuses it the same way (a file in the way of a
	 * directory harms only an extraction). */
	memset(&err, 0, sizeof(err));
	r = ckpt_archive_read(path, lim, &a, &err);
	if (!strstr(want, "in the way"))
		ck_assert_int_eq(r, code);
	else
		ckpt_archive_free(a);
}

static const struct ent good_meta[] = {
	{ "config.dump", AE_IFREG, "{}", 0 },
	{ "spec.dump", AE_IFREG, "{}", 0 },
	{ "checkpoint", AE_IFDIR, NULL, 0 },
};

#define HOSTILE(fname, extra, code, want)                                             \
	do {                                                                          \
		struct ent e[] = { good_meta[0], good_meta[1], good_meta[2], extra }; \
		char p[128];                                                          \
		snprintf(p, sizeof(p), "%s/%s", tmp, fname);                          \
		build(p, 0, e, ARRAY_SIZE(e));                                        \
		refused(p, NULL, code, want);                                         \
	} while (0)

START_TEST(hostile_traversal)
{
	HOSTILE("dotdot.tar", ((struct ent){ "checkpoint/../../evil", AE_IFREG, "x", 0 }),
		CKPT_EBADIMG, "'..' component");
	HOSTILE("dotdot2.tar", ((struct ent){ "../ckpt-test-archive-evil", AE_IFREG, "x", 0 }),
		CKPT_EBADIMG, "'..' component");
	HOSTILE("abs.tar", ((struct ent){ "/tmp/ckpt-test-archive-evil", AE_IFREG, "x", 0 }),
		CKPT_EBADIMG, "absolute name");
}
END_TEST

START_TEST(hostile_links_devices)
{
	HOSTILE("symlink.tar", ((struct ent){ "checkpoint/evil", AE_IFLNK, "/etc", 0 }),
		CKPT_EBADIMG, "symbolic link (to '/etc')");
	HOSTILE("hardlink.tar", ((struct ent){ "checkpoint/evil", 0, "/etc/passwd", 0 }),
		CKPT_EBADIMG, "hard link");
	HOSTILE("dev.tar", ((struct ent){ "checkpoint/null", AE_IFCHR, NULL, 0 }), CKPT_EBADIMG,
		"character device");
	HOSTILE("fifo.tar", ((struct ent){ "checkpoint/fifo", AE_IFIFO, NULL, 0 }), CKPT_EBADIMG,
		"a FIFO");
}
END_TEST

START_TEST(hostile_duplicates)
{
	HOSTILE("dup.tar", ((struct ent){ "config.dump", AE_IFREG, "{}", 0 }), CKPT_EBADIMG,
		"appears twice");
	HOSTILE("inway.tar", ((struct ent){ "config.dump/x", AE_IFREG, "{}", 0 }), CKPT_EBADIMG,
		"in the way");
}
END_TEST

START_TEST(hostile_bomb)
{
	/* 64 MiB of zeros: a few KiB of zstd. */
	struct ent e[] = { good_meta[0],
			   good_meta[1],
			   good_meta[2],
			   { "checkpoint/pages-1.img", AE_IFREG, NULL, 64 << 20 } };
	ckpt_archive_limits lim = CKPT_ARCHIVE_LIMITS_INIT;
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/bomb.tar.zst", tmp);
	build(p, 2, e, ARRAY_SIZE(e));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_lt(st.st_size, 1 << 20);
	lim.max_total_bytes = 16 << 20;
	refused(p, &lim, CKPT_ETOOBIG, "max_total_bytes cap of 16777216");
	lim.max_total_bytes = 0;
	lim.max_entry_bytes = 1 << 20;
	refused(p, &lim, CKPT_ETOOBIG, "max_entry_bytes cap of 1048576");
	lim.max_entry_bytes = 0;
	lim.max_entries = 3;
	refused(p, &lim, CKPT_ETOOBIG, "more than 3 entries");
}
END_TEST

START_TEST(hostile_truncated_magic)
{
	ckpt_archive_write_opts o = CKPT_ARCHIVE_WRITE_OPTS_INIT;
	ckpt_err err = CKPT_ERR_INIT;
	char p[128], q[128];
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/good.tar.zst", tmp);
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(truncate(p, st.st_size / 2), 0);
	refused(p, NULL, CKPT_EBADIMG, "truncated");

	snprintf(p, sizeof(p), "%s/good.tar", tmp);
	o.compression = CKPT_COMPRESSION_NONE;
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(truncate(p, st.st_size / 2), 0);
	refused(p, NULL, CKPT_EBADIMG, "truncated");

	snprintf(q, sizeof(q), "%s/random.bin", tmp);
	fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "PK\x03\x04 not a tar, a zip header and some more bytes", 40),
			 40);
	close(fd);
	refused(q, NULL, CKPT_EBADIMG, "starts with 50 4b 03 04");

	/* gzip magic, but no tar inside */
	snprintf(q, sizeof(q), "%s/notar.gz", tmp);
	ck_assert_int_eq(system("echo hello | gzip > /tmp/ckpt-test-notar.gz"), 0);
	ck_assert_int_eq(rename("/tmp/ckpt-test-notar.gz", q), 0);
	refused(q, NULL, CKPT_EBADIMG, "does not hold a tar");
}
END_TEST

/* ---- writing and reading back ---- */

static void roundtrip(ckpt_compression c, const char *suffix)
{
	ckpt_archive_write_opts o;
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	ckpt_image_info *info = NULL;
	char p[128], path[256];
	struct stat st, st2;
	json_object *j, *v;
	char *s;

	ckpt_archive_write_opts_init(&o);
	snprintf(p, sizeof(p), "%s/sleep.tar%s", tmp, suffix);
	o.compression = c;
	o.name = "my-sleep";
	o.created_time = 1700000000;
	o.criu_version = "4.2.1";
	ck_assert_msg(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(count_entries(tmp), 1); /* no temporary left beside it */

	/* A second write is refused; with overwrite it replaces. */
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), CKPT_EEXIST);
	o.overwrite = true;
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), 0);

	ck_assert_int_eq(ckpt_archive_read(p, NULL, &a, &err), 0);
	ck_assert_int_eq(ckpt_archive_get_compression(a), c);
	ck_assert_int_eq(ckpt_archive_get_engine(a), CKPT_ENGINE_LIBCKPT);
	ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_NAME), "my-sleep");
	ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_RUNTIME), "libckpt");
	ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_CREATED), "2023-11-14T22:13:20Z");
	ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_CRIU_VERSION), "4.2.1");
	ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_WRITER_VERSION), ckpt_version());
	ck_assert_uint_eq(ckpt_archive_get_size(a, CKPT_ARCHIVE_SIZE_PAGES), 110592);
	ck_assert_ptr_null(ckpt_archive_dir(a));
	ck_assert_int_eq(ckpt_archive_check_restorable(a, &err), 0);
	ck_assert_int_eq(ckpt_archive_image_info(a, 0, &info, &err),
			 CKPT_EINVAL); /* not extracted */
	ckpt_archive_free(a);

	ck_assert_int_eq(ckpt_archive_extract(p, NULL, tmp, 0, &a, &err), 0);
	ck_assert_ptr_nonnull(ckpt_archive_dir(a));
	ck_assert_int_eq(stat(ckpt_archive_dir(a), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/checkpoint/pages-1.img", ckpt_archive_dir(a));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(stat(SLEEP_DIR "/pages-1.img", &st2), 0);
	ck_assert_int_eq(st.st_size, st2.st_size);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/stats-dump", ckpt_archive_dir(a)); /* top level */
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/checkpoint/stats-dump", ckpt_archive_dir(a));
	ck_assert_int_ne(stat(path, &st), 0);

	ck_assert_int_eq(ckpt_archive_image_info(a, CKPT_IMAGE_READ_ALL, &info, &err), 0);
	ck_assert_uint_eq(ckpt_image_info_nr_processes(info), 1);
	ck_assert_int_eq(ckpt_image_info_pid(info, 0), 6258);
	ck_assert(ckpt_image_info_has_dump_stats(info)); /* from the top-level stats-dump */
	ckpt_image_info_free(info);

	s = ckpt_archive_to_json(a);
	ck_assert_ptr_nonnull(s);
	j = json_tokener_parse(s);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "engine", &v));
	ck_assert_str_eq(json_object_get_string(v), "libckpt");
	ck_assert(json_object_object_get_ex(j, "name", &v));
	ck_assert_str_eq(json_object_get_string(v), "my-sleep");
	json_object_put(j);
	ckpt_free(s);

	snprintf(path, sizeof(path), "%s", ckpt_archive_dir(a));
	ck_assert_int_eq(ckpt_archive_remove(a, &err), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	ckpt_archive_free(a);
	ck_assert_int_eq(unlink(p), 0);
}

START_TEST(roundtrip_all)
{
	roundtrip(CKPT_COMPRESSION_ZSTD, ".zst");
	roundtrip(CKPT_COMPRESSION_GZIP, ".gz");
	roundtrip(CKPT_COMPRESSION_NONE, "");
}
END_TEST

START_TEST(write_refusals)
{
	ckpt_archive_write_opts o;
	ckpt_err err = CKPT_ERR_INIT;
	char p[128];

	ckpt_archive_write_opts_init(&o);
	snprintf(p, sizeof(p), "%s/x.tar", tmp);
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, tmp, p, &o, &err), CKPT_EBADIMG);
	ck_assert_msg(strstr(err.msg, "is not a checkpoint"), "%s", err.msg);
	ck_assert_int_eq(count_entries(tmp), 0);
	o.compression = CKPT_COMPRESSION_XZ;
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), CKPT_EINVAL);
	o.compression = CKPT_COMPRESSION_ZSTD;
	o.level = 40;
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), CKPT_EINVAL);
	o.level = 0;
	o.version = 99;
	ck_assert_int_eq(ckpt_archive_write(AT_FDCWD, SLEEP_DIR, p, &o, &err), CKPT_EINVAL);
	ck_assert_int_eq(count_entries(tmp), 0);
}
END_TEST

/* ---- other engines' archives ---- */

static void engine_archive(const char *spec, const char *config, ckpt_archive_engine want,
			   const char *name, const char *tool)
{
	struct ent e[] = {
		{ "./config.dump", AE_IFREG, config, 0 },
		{ "./spec.dump", AE_IFREG, spec, 0 },
		{ "./checkpoint/", AE_IFDIR, NULL, 0 },
		{ "./checkpoint/inventory.img", AE_IFREG, "x", 0 },
		{ "rootfs-diff.tar", AE_IFREG, NULL, 10240 },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	char p[128];

	snprintf(p, sizeof(p), "%s/engine.tar", tmp);
	build(p, 1, e, ARRAY_SIZE(e));
	ck_assert_msg(ckpt_archive_read(p, NULL, &a, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(ckpt_archive_get_compression(a), CKPT_COMPRESSION_GZIP);
	ck_assert_int_eq(ckpt_archive_get_engine(a), want);
	if (name)
		ck_assert_str_eq(ckpt_archive_get(a, CKPT_ARCHIVE_NAME), name);
	ck_assert_uint_eq(ckpt_archive_get_size(a, CKPT_ARCHIVE_SIZE_ROOTFS_DIFF), 10240);
	ck_assert_int_eq(ckpt_archive_check_restorable(a, &err), CKPT_ENOTSUP);
	ck_assert_msg(strstr(err.msg, ckpt_archive_engine_name(want)) && strstr(err.msg, tool),
		      "%s", err.msg);
	ckpt_archive_free(a);
	unlink(p);
}

START_TEST(engines)
{
	engine_archive(
		"{\"annotations\":{\"io.container.manager\":\"libpod\"}}",
		"{\"id\":\"f11d11844af0aaaa\",\"name\":\"web\",\"rootfsImageName\":\"quay.io/x:1\"}",
		CKPT_ENGINE_PODMAN, "web", "podman container restore --import");
	engine_archive("{\"annotations\":{\"io.container.manager\":\"cri-o\","
		       "\"io.kubernetes.cri-o.Metadata\":\"{\\\"name\\\":\\\"counter\\\"}\","
		       "\"io.kubernetes.pod.name\":\"pod1\"}}",
		       "{\"id\":\"abc\",\"name\":\"k8s_counter_pod1\"}", CKPT_ENGINE_CRIO,
		       "counter", "Kubernetes");
	engine_archive("{\"annotations\":{\"io.kubernetes.cri.container-name\":\"ctr1\"}}", "{}",
		       CKPT_ENGINE_CONTAINERD, "ctr1", "containerd");
}
END_TEST

START_TEST(bad_metadata)
{
	struct ent e[] = {
		{ "config.dump", AE_IFREG, "{not json", 0 },
		{ "spec.dump", AE_IFREG, "{}", 0 },
	};
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	char p[128];

	snprintf(p, sizeof(p), "%s/meta.tar", tmp);
	build(p, 0, e, ARRAY_SIZE(e));
	ck_assert_int_eq(ckpt_archive_read(p, NULL, &a, &err), CKPT_EBADIMG);
	ck_assert_msg(strstr(err.msg, "config.dump is not a JSON object"), "%s", err.msg);
}
END_TEST

/* ---- jsonw ---- */

START_TEST(jsonw_writer)
{
	struct jsonw w;
	char *s;

	jw_init(&w, false);
	jw_object_begin(&w, NULL);
	jw_string(&w, "a", "x\"\\\n\x01\x7f");
	jw_string(&w, "bad", "\xff\xc3(ok\xe2\x82\xac");
	jw_array_begin(&w, "l");
	jw_uint(&w, NULL, 18446744073709551615ull);
	jw_int(&w, NULL, -5);
	jw_bool(&w, NULL, true);
	jw_null(&w, NULL);
	jw_double(&w, NULL, 0.0 / 0.0);
	jw_array_end(&w);
	jw_object_begin(&w, "empty");
	jw_object_end(&w);
	jw_object_end(&w);
	s = jw_finish(&w);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(
		s,
		"{\"a\":\"x\\\"\\\\\\n\\u0001\\u007f\",\"bad\":\"\\ufffd\\ufffd(ok\xe2\x82\xac\","
		"\"l\":[18446744073709551615,-5,true,null,null],\"empty\":{}}");
	free(s);

	/* Misuse fails the whole document. */
	jw_init(&w, false);
	jw_object_begin(&w, NULL);
	jw_uint(&w, NULL, 1); /* no key in an object */
	jw_object_end(&w);
	ck_assert_ptr_null(jw_finish(&w));
	jw_init(&w, false);
	jw_array_begin(&w, NULL);
	jw_object_end(&w);
	ck_assert_ptr_null(jw_finish(&w));
	jw_init(&w, false);
	jw_object_begin(&w, NULL);
	ck_assert_ptr_null(jw_finish(&w)); /* unclosed */
	jw_init(&w, false);
	for (int i = 0; i < JW_DEPTH_MAX + 1; i++)
		jw_array_begin(&w, NULL);
	ck_assert(w.failed);
	jw_release(&w);

	jw_init(&w, true);
	jw_object_begin(&w, NULL);
	jw_uint(&w, "n", 1);
	jw_object_end(&w);
	s = jw_finish(&w);
	ck_assert_str_eq(s, "{\n  \"n\": 1\n}");
	free(s);
}
END_TEST

/* The _init() functions fill what the deprecated positional initializers did, nothing else. */
START_TEST(init_functions)
{
	const ckpt_archive_write_opts macro = CKPT_ARCHIVE_WRITE_OPTS_INIT;
	const ckpt_archive_limits lmacro = CKPT_ARCHIVE_LIMITS_INIT;
	ckpt_archive_write_opts o;
	ckpt_archive_limits l;

	memset(&o, 0x5a, sizeof(o));
	ckpt_archive_write_opts_init(&o);
	ck_assert_uint_eq(o.version, CKPT_ARCHIVE_WRITE_VERSION);
	ck_assert_int_eq(o.compression, macro.compression);
	ck_assert_int_eq(o.level, macro.level);
	ck_assert_uint_eq(o.threads, macro.threads);
	ck_assert_ptr_null(o.name);
	ck_assert_int_eq(o.created_time, macro.created_time);
	ck_assert_int_eq(o.checkpointed_time, macro.checkpointed_time);
	ck_assert_ptr_null(o.criu_version);
	ck_assert_int_eq(o.stats_dirfd, -1);
	ck_assert_ptr_null(o.stats_path);
	ck_assert(!o.overwrite && !o.no_fsync);
	memset(&l, 0x5a, sizeof(l));
	ckpt_archive_limits_init(&l);
	ck_assert_uint_eq(l.version, lmacro.version);
	ck_assert(l.max_entries == 0 && l.max_entry_bytes == 0 && l.max_total_bytes == 0);
	ckpt_archive_write_opts_init(NULL); /* accepted, as the other functions accept NULL */
	ckpt_archive_limits_init(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("archive");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, roundtrip_all);
	tcase_add_test(tc, write_refusals);
	tcase_add_test(tc, hostile_traversal);
	tcase_add_test(tc, hostile_links_devices);
	tcase_add_test(tc, hostile_duplicates);
	tcase_add_test(tc, hostile_bomb);
	tcase_add_test(tc, hostile_truncated_magic);
	tcase_add_test(tc, engines);
	tcase_add_test(tc, bad_metadata);
	tcase_add_test(tc, jsonw_writer);
	tcase_add_test(tc, init_functions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
