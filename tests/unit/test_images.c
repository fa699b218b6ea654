/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: a real CRIU checkpoint (tests/fixtures/images/sleep),
 * synthetic trees built with our own protobuf descriptions, and corrupt
 * inputs (truncated, wrong magic, oversized entries, random bytes,
 * symlinks, FIFOs) that must all come back as CKPT_EBADIMG or CKPT_EIMAGES
 * with a message naming the file, never a crash or a hang.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include <ckpt/ckpt.h>

#include "images/core.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/files.pb-c.h"
#include "images/fs.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/inventory.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/stats.pb-c.h"

#ifndef CKPT_FIXTURES_DIR
#error "CKPT_FIXTURES_DIR must name tests/fixtures"
#endif
#define SLEEP_DIR CKPT_FIXTURES_DIR "/images/sleep"

#define IMG_COMMON_MAGIC 0x54564319u
#define IMG_SERVICE_MAGIC 0x55105940u
#define INVENTORY_MAGIC 0x58313116u
#define PSTREE_MAGIC 0x50273030u
#define FDINFO_MAGIC 0x56213732u
#define PAGEMAP_MAGIC 0x56084025u
#define CORE_MAGIC 0x55053847u
#define IDS_MAGIC 0x54432030u
#define STATS_MAGIC 0x57093306u
#define FILES_MAGIC 0x56303138u
#define FS_MAGIC 0x51403912u
#define MM_MAGIC 0x57492820u

/* ---- helpers ---- */

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ckpt-test-images-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static void teardown(void)
{
	rm_flat(tmpdir);
}

static void write_file(const char *name, const void *buf, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? (size_t)n : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Copy the real fixture into tmpdir, so a test can break one file of it. */
static void copy_fixture(void)
{
	DIR *d = opendir(SLEEP_DIR);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char src[512];
		void *buf;
		size_t len;

		if (de->d_name[0] == '.' || strstr(de->d_name, ".md"))
			continue;
		snprintf(src, sizeof(src), "%s/%s", SLEEP_DIR, de->d_name);
		buf = read_whole(src, &len);
		write_file(de->d_name, buf, len);
		free(buf);
	}
	closedir(d);
}

/* An image file being built: magics, then entries. */
struct wbuf {
	uint8_t *p;
	size_t n;
};

static void wput(struct wbuf *w, const void *data, size_t len)
{
	w->p = realloc(w->p, w->n + len + 1);
	ck_assert_ptr_nonnull(w->p);
	memcpy(w->p + w->n, data, len);
	w->n += len;
}

static void wu32(struct wbuf *w, uint32_t v)
{
	wput(w, &v, sizeof(v));
}

static void wstart(struct wbuf *w, uint32_t head, uint32_t magic)
{
	memset(w, 0, sizeof(*w));
	if (head)
		wu32(w, head);
	wu32(w, magic);
}

/* Append one entry; extra bytes (unknown fields) are appended to its protobuf. */
static void wmsg_extra(struct wbuf *w, const void *msg, const void *extra, size_t extra_len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *b = malloc(n + extra_len + 1);

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(protobuf_c_message_pack(msg, b), n);
	if (extra_len)
		memcpy(b + n, extra, extra_len);
	wu32(w, (uint32_t)(n + extra_len));
	wput(w, b, n + extra_len);
	free(b);
}

static void wmsg(struct wbuf *w, const void *msg)
{
	wmsg_extra(w, msg, NULL, 0);
}

static void wdone(struct wbuf *w, const char *name)
{
	write_file(name, w->p, w->n);
	free(w->p);
	memset(w, 0, sizeof(*w));
}

static void write_inventory(void)
{
	CkptImg__Inventory inv = CKPT_IMG__INVENTORY__INIT;
	struct wbuf w;

	inv.has_img_version = true;
	inv.img_version = 2;
	inv.has_fdinfo_per_id = true;
	inv.fdinfo_per_id = true;
	wstart(&w, 0, INVENTORY_MAGIC);
	wmsg(&w, &inv);
	wdone(&w, "inventory.img");
}

static void write_pstree1(uint32_t pid)
{
	CkptImg__Pstree e = CKPT_IMG__PSTREE__INIT;
	struct wbuf w;

	e.has_pid = e.has_ppid = e.has_pgid = e.has_sid = true;
	e.pid = e.pgid = e.sid = pid;
	e.n_threads = 1;
	e.threads = &pid;
	wstart(&w, IMG_COMMON_MAGIC, PSTREE_MAGIC);
	wmsg(&w, &e);
	wdone(&w, "pstree.img");
}

static void write_core(uint32_t pid, const char *comm, uint32_t state, uint32_t exit_code)
{
	CkptImg__Core core = CKPT_IMG__CORE__INIT;
	CkptImg__TaskCore tc = CKPT_IMG__TASK_CORE__INIT;
	struct wbuf w;
	char name[64];

	core.has_mtype = true;
	core.mtype = 1;
	core.tc = &tc;
	tc.has_task_state = tc.has_exit_code = true;
	tc.task_state = state;
	tc.exit_code = exit_code;
	tc.comm = (char *)comm;
	snprintf(name, sizeof(name), "core-%u.img", pid);
	wstart(&w, IMG_COMMON_MAGIC, CORE_MAGIC);
	wmsg(&w, &core);
	wdone(&w, name);
}

/* Read tmpdir; returns the code, info in *ret when 0. */
static int read_tmp(ckpt_image_info **ret, ckpt_err *err)
{
	memset(err, 0, sizeof(*err));
	*ret = NULL;
	return ckpt_image_info_read(AT_FDCWD, tmpdir, ret, err);
}

#define ck_assert_bad(r, e, want, needle)                                                        \
	do {                                                                                     \
		ck_assert_msg((r) == (want), "got %d (%s), want %d: %s", (r), ckpt_strerror(r),  \
			      (want), (e).msg);                                                  \
		ck_assert_int_eq((e).code, (want));                                              \
		ck_assert_msg(strstr((e).msg, (needle)), "message \"%s\" lacks \"%s\"", (e).msg, \
			      (needle));                                                         \
	} while (0)

/* ---- the real checkpoint ---- */

START_TEST(test_fixture_read)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	uint64_t v;
	int r;

	r = ckpt_image_info_read(AT_FDCWD, SLEEP_DIR, &info, &err);
	ck_assert_msg(r == 0, "read: %d %s", r, err.msg);
	ck_assert_uint_eq(ckpt_image_info_version(info), 2);
	ck_assert_uint_eq(ckpt_image_info_nr_processes(info), 1);
	ck_assert_int_eq(ckpt_image_info_pid(info, 0), 6258);
	ck_assert_int_eq(ckpt_image_info_ppid(info, 0), 0);
	ck_assert_str_eq(ckpt_image_info_comm(info, 0), "sleep");
	ck_assert_int_eq(ckpt_image_info_state(info, 0), CKPT_TASK_ALIVE);
	ck_assert_uint_eq(ckpt_image_info_exit_code(info, 0), 0);
	ck_assert_uint_eq(ckpt_image_info_nr_threads(info, 0), 1);
	ck_assert_uint_eq(ckpt_image_info_pages(info, 0), 27);
	ck_assert_uint_eq(ckpt_image_info_memory_bytes(info, 0), 27 * 4096);
	ck_assert_uint_eq(ckpt_image_info_nr_files(info, 0), 5);
	ck_assert_uint_eq(ckpt_image_info_total_bytes(info), 114966);

	ck_assert(ckpt_image_info_has_dump_stats(info));
	ck_assert(!ckpt_image_info_has_restore_stats(info));
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_WRITTEN, &v), 0);
	ck_assert_uint_eq(v, 27);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_SCANNED, &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_FROZEN_TIME, &v), 0);
	ck_assert_uint_eq(v, 8958);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_FREEZING_TIME, &v), 0);
	ck_assert_uint_eq(v, 401);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_MEMDUMP_TIME, &v), 0);
	ck_assert_uint_eq(v, 645);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_MEMWRITE_TIME, &v), 0);
	ck_assert_uint_eq(v, 118);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_SKIPPED_PARENT, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGE_PIPES, &v), 0);
	ck_assert_uint_eq(v, 6);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_RESTORE_TIME, &v), CKPT_ENOTSUP);
	ck_assert_int_eq(ckpt_image_info_stat(info, (ckpt_image_stat)999, &v), CKPT_EINVAL);
	ck_assert_str_eq(ckpt_image_stat_name(CKPT_STAT_FROZEN_TIME), "frozen_time_us");
	ck_assert_ptr_null(ckpt_image_stat_name((ckpt_image_stat)999));

	/* out of range */
	ck_assert_int_eq(ckpt_image_info_pid(info, 1), -1);
	ck_assert_ptr_null(ckpt_image_info_comm(info, 1));
	ck_assert_uint_eq(ckpt_image_info_pages(info, 7), 0);
	ck_assert_int_eq(ckpt_image_info_state(info, 1), CKPT_TASK_UNKNOWN);

	ckpt_image_info_free(info);
	ckpt_image_info_free(NULL);
}
END_TEST

START_TEST(test_fixture_json)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	json_object *o, *procs, *p, *v, *stats;
	char *s;

	ck_assert_int_eq(ckpt_image_info_read(AT_FDCWD, SLEEP_DIR, &info, &err), 0);
	s = ckpt_image_info_to_json(info);
	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "images_version", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	ck_assert(json_object_object_get_ex(o, "network_lock_method", &v));
	ck_assert_str_eq(json_object_get_string(v), "iptables");
	ck_assert(json_object_object_get_ex(o, "processes", &procs));
	ck_assert_uint_eq(json_object_array_length(procs), 1);
	p = json_object_array_get_idx(procs, 0);
	ck_assert(json_object_object_get_ex(p, "pid", &v));
	ck_assert_int_eq(json_object_get_int(v), 6258);
	ck_assert(json_object_object_get_ex(p, "comm", &v));
	ck_assert_str_eq(json_object_get_string(v), "sleep");
	ck_assert(json_object_object_get_ex(p, "memory_bytes", &v));
	ck_assert_int_eq(json_object_get_int64(v), 110592);
	ck_assert(json_object_object_get_ex(o, "dump_stats", &stats));
	ck_assert(json_object_object_get_ex(stats, "pages_written", &v));
	ck_assert_int_eq(json_object_get_int64(v), 27);
	ck_assert(!json_object_object_get_ex(o, "restore_stats", &v));
	json_object_put(o);
	ckpt_free(s);
	ckpt_image_info_free(info);
	ck_assert_ptr_null(ckpt_image_info_to_json(NULL));
}
END_TEST

START_TEST(test_fixture_dirfd_and_stats_only)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	uint64_t v;
	int dfd = open(SLEEP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(dfd, 0);
	/* NULL path: dirfd itself; the fd stays the caller's. */
	ck_assert_int_eq(ckpt_image_info_read(dfd, NULL, &info, &err), 0);
	ck_assert_int_eq(ckpt_image_info_pid(info, 0), 6258);
	ckpt_image_info_free(info);
	ck_assert_int_ge(fcntl(dfd, F_GETFD), 0);

	ck_assert_int_eq(ckpt_image_info_read_stats(dfd, "", &info, &err), 0);
	ck_assert_uint_eq(ckpt_image_info_nr_processes(info), 0);
	ck_assert(ckpt_image_info_has_dump_stats(info));
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_WRITTEN, &v), 0);
	ck_assert_uint_eq(v, 27);
	ckpt_image_info_free(info);
	close(dfd);

	/* bad arguments */
	ck_assert_int_eq(ckpt_image_info_read(AT_FDCWD, SLEEP_DIR, NULL, &err), CKPT_EINVAL);
	ck_assert_int_eq(ckpt_image_info_read(-5, SLEEP_DIR, &info, NULL), CKPT_EINVAL);
}
END_TEST

/* ---- synthetic images ---- */

START_TEST(test_synthetic_tree)
{
	ckpt_err err;
	ckpt_image_info *info;
	struct wbuf w;
	uint32_t threads100[] = { 100, 101 }, threads200[] = { 200 };
	uint8_t unknown[] = { 0x98, 0x06, 0x01 }; /* field 99, varint 1 */
	uint64_t v;
	int r;

	write_inventory();
	{
		CkptImg__Pstree a = CKPT_IMG__PSTREE__INIT, b = CKPT_IMG__PSTREE__INIT;

		a.has_pid = a.has_ppid = true;
		a.pid = 100;
		a.n_threads = 2;
		a.threads = threads100;
		b.has_pid = b.has_ppid = true;
		b.pid = 200;
		b.ppid = 100;
		b.n_threads = 1;
		b.threads = threads200;
		/* v1 images: no head magic */
		wstart(&w, 0, PSTREE_MAGIC);
		wmsg_extra(&w, &a, unknown, sizeof(unknown));
		wmsg(&w, &b);
		wdone(&w, "pstree.img");
	}
	write_core(100, "par\x01nt\n", CKPT_TASK_ALIVE, 0);
	write_core(200, "child", CKPT_TASK_ZOMBIE, 9);
	{
		CkptImg__KobjIds ids = CKPT_IMG__KOBJ_IDS__INIT;

		ids.has_files_id = true;
		ids.files_id = 7;
		wstart(&w, IMG_COMMON_MAGIC, IDS_MAGIC);
		wmsg(&w, &ids);
		wdone(&w, "ids-100.img");
	}
	{
		CkptImg__Fdinfo fd = CKPT_IMG__FDINFO__INIT;
		int i;

		wstart(&w, IMG_COMMON_MAGIC, FDINFO_MAGIC);
		for (i = 0; i < 3; i++) {
			fd.has_fd = true;
			fd.fd = (uint32_t)i;
			wmsg(&w, &fd);
		}
		wdone(&w, "fdinfo-7.img");
	}
	{
		CkptImg__PagemapHead h = CKPT_IMG__PAGEMAP_HEAD__INIT;
		CkptImg__PagemapEntry e1 = CKPT_IMG__PAGEMAP_ENTRY__INIT;
		CkptImg__PagemapEntry e2 = CKPT_IMG__PAGEMAP_ENTRY__INIT;
		CkptImg__PagemapEntry e3 = CKPT_IMG__PAGEMAP_ENTRY__INIT;
		CkptImg__PagemapEntry e4 = CKPT_IMG__PAGEMAP_ENTRY__INIT;

		h.has_pages_id = true;
		h.pages_id = 3;
		/* CRIU >= 4.2: nr_pages, flags present|lazy */
		e1.has_vaddr = e1.has_compat_nr_pages = e1.has_nr_pages = e1.has_flags = true;
		e1.vaddr = 0x10000;
		e1.nr_pages = 5;
		e1.flags = 4 | 2;
		/* old: compat_nr_pages, in_parent */
		e2.has_vaddr = e2.has_compat_nr_pages = e2.has_in_parent = true;
		e2.vaddr = 0x20000;
		e2.compat_nr_pages = 2;
		e2.in_parent = true;
		/* old: no flags means present */
		e3.has_vaddr = e3.has_compat_nr_pages = true;
		e3.vaddr = 0x30000;
		e3.compat_nr_pages = 4;
		/* parent by flag */
		e4.has_vaddr = e4.has_nr_pages = e4.has_flags = true;
		e4.vaddr = 0x40000;
		e4.nr_pages = 100;
		e4.flags = 1;
		wstart(&w, IMG_COMMON_MAGIC, PAGEMAP_MAGIC);
		wmsg(&w, &h);
		wmsg(&w, &e1);
		wmsg_extra(&w, &e2, unknown, sizeof(unknown));
		wmsg(&w, &e3);
		wmsg(&w, &e4);
		wdone(&w, "pagemap-100.img");
	}
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/pages-3.img", tmpdir);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, 9 * 4096), 0);
		close(fd);
	}
	{
		CkptImg__Stats s = CKPT_IMG__STATS__INIT;
		CkptImg__RestoreStats rs = CKPT_IMG__RESTORE_STATS__INIT;

		rs.has_forking_time = rs.has_restore_time = rs.has_pages_compared = true;
		rs.has_pages_skipped_cow = true;
		rs.forking_time = 1234;
		rs.restore_time = 5678;
		s.restore = &rs;
		wstart(&w, IMG_SERVICE_MAGIC, STATS_MAGIC);
		wmsg(&w, &s);
		wdone(&w, "stats-restore");
	}

	r = read_tmp(&info, &err);
	ck_assert_msg(r == 0, "read: %d %s", r, err.msg);
	ck_assert_uint_eq(ckpt_image_info_nr_processes(info), 2);
	ck_assert_int_eq(ckpt_image_info_pid(info, 0), 100);
	ck_assert_int_eq(ckpt_image_info_ppid(info, 0), 0);
	ck_assert_str_eq(ckpt_image_info_comm(info, 0), "par?nt?");
	ck_assert_uint_eq(ckpt_image_info_nr_threads(info, 0), 2);
	ck_assert_uint_eq(ckpt_image_info_pages(info, 0), 9);
	ck_assert_uint_eq(ckpt_image_info_memory_bytes(info, 0), 9 * 4096);
	ck_assert_uint_eq(ckpt_image_info_nr_files(info, 0), 3);
	ck_assert_int_eq(ckpt_image_info_state(info, 0), CKPT_TASK_ALIVE);

	ck_assert_int_eq(ckpt_image_info_pid(info, 1), 200);
	ck_assert_int_eq(ckpt_image_info_ppid(info, 1), 100);
	ck_assert_str_eq(ckpt_image_info_comm(info, 1), "child");
	ck_assert_int_eq(ckpt_image_info_state(info, 1), CKPT_TASK_ZOMBIE);
	ck_assert_uint_eq(ckpt_image_info_exit_code(info, 1), 9);
	ck_assert_uint_eq(ckpt_image_info_pages(info, 1), 0);

	ck_assert(!ckpt_image_info_has_dump_stats(info));
	ck_assert(ckpt_image_info_has_restore_stats(info));
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_FORKING_TIME, &v), 0);
	ck_assert_uint_eq(v, 1234);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_RESTORE_TIME, &v), 0);
	ck_assert_uint_eq(v, 5678);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_RESTORED, &v), CKPT_ENOTSUP);
	ck_assert_int_eq(ckpt_image_info_stat(info, CKPT_STAT_PAGES_WRITTEN, &v), CKPT_ENOTSUP);
	ckpt_image_info_free(info);

	/* the zombie's core gone: an error naming it */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/core-200.img", tmpdir);
		ck_assert_int_eq(unlink(path), 0);
	}
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "core-200.img");
	ck_assert_ptr_null(info);
}
END_TEST

/*
 * CKPT_IMAGE_READ_*: argv and environment found through a pagemap that mixes
 * CRIU 4.2's nr_pages (field 5, field 2 left 0) with the older field 2, open
 * files, a cwd, sockets and memory maps, from images written here.
 */
START_TEST(test_synthetic_detail)
{
	const long psz = sysconf(_SC_PAGESIZE);
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	json_object *o, *p, *a, *v;
	struct wbuf w;
	char *s;

	write_inventory();
	write_pstree1(100);
	write_core(100, "prog", CKPT_TASK_ALIVE, 0);
	{
		CkptImg__KobjIds ids = CKPT_IMG__KOBJ_IDS__INIT;

		ids.has_files_id = true;
		ids.files_id = 7;
		wstart(&w, IMG_COMMON_MAGIC, IDS_MAGIC);
		wmsg(&w, &ids);
		wdone(&w, "ids-100.img");
	}
	{
		CkptImg__PagemapHead h = CKPT_IMG__PAGEMAP_HEAD__INIT;
		CkptImg__PagemapEntry e1 = CKPT_IMG__PAGEMAP_ENTRY__INIT;
		CkptImg__PagemapEntry e2 = CKPT_IMG__PAGEMAP_ENTRY__INIT;
		CkptImg__PagemapEntry e3 = CKPT_IMG__PAGEMAP_ENTRY__INIT;

		h.has_pages_id = true;
		h.pages_id = 3;
		/* CRIU 4.2: nr_pages in field 5, field 2 written as 0 */
		e1.has_vaddr = e1.has_compat_nr_pages = e1.has_nr_pages = e1.has_flags = true;
		e1.vaddr = 0x10000;
		e1.nr_pages = 2;
		e1.flags = 4;
		/* in a parent: not in pages-3.img */
		e2.has_vaddr = e2.has_nr_pages = e2.has_flags = true;
		e2.vaddr = 0x20000;
		e2.nr_pages = 1;
		e2.flags = 1;
		/* older CRIU: field 2, no flags (present) */
		e3.has_vaddr = e3.has_compat_nr_pages = true;
		e3.vaddr = 0x30000;
		e3.compat_nr_pages = 1;
		wstart(&w, IMG_COMMON_MAGIC, PAGEMAP_MAGIC);
		wmsg(&w, &h);
		wmsg(&w, &e1);
		wmsg(&w, &e2);
		wmsg(&w, &e3);
		wdone(&w, "pagemap-100.img");
	}
	{
		/* pages-3.img: e1's two pages, then e3's page */
		size_t len = 3 * (size_t)psz;
		char *pg = calloc(1, len);

		ck_assert_ptr_nonnull(pg);
		memcpy(pg + 100, "prog\0--flag\0", 12);
		memcpy(pg + 2 * psz + 8, "A=1\0B=\x01\0", 8);
		write_file("pages-3.img", pg, len);
		free(pg);
	}
	{
		CkptImg__MmEntry mm = CKPT_IMG__MM_ENTRY__INIT;
		CkptImg__VmaEntry v1 = CKPT_IMG__VMA_ENTRY__INIT, v2 = CKPT_IMG__VMA_ENTRY__INIT;
		CkptImg__VmaEntry *vmas[] = { &v1, &v2 };

		mm.has_mm_arg_start = mm.has_mm_arg_end = mm.has_mm_env_start = mm.has_mm_env_end =
			true;
		mm.mm_arg_start = 0x10000 + 100;
		mm.mm_arg_end = 0x10000 + 112;
		mm.mm_env_start = 0x30000 + 8;
		mm.mm_env_end = 0x30000 + 16;
		mm.has_exe_file_id = true;
		mm.exe_file_id = 1;
		v1.has_start = v1.has_end = v1.has_prot = v1.has_status = v1.has_shmid =
			v1.has_pgoff = true;
		v1.start = 0x400000;
		v1.end = 0x401000;
		v1.prot = 5;
		v1.status = 1 | (1 << 6);
		v1.shmid = 1;
		v1.pgoff = 0x2000;
		v2.has_start = v2.has_end = v2.has_prot = v2.has_status = true;
		v2.start = 0x7ff000;
		v2.end = 0x800000;
		v2.prot = 3;
		v2.status = 1 | (1 << 5);
		mm.n_vmas = 2;
		mm.vmas = vmas;
		wstart(&w, IMG_COMMON_MAGIC, MM_MAGIC);
		wmsg(&w, &mm);
		wdone(&w, "mm-100.img");
	}
	{
		CkptImg__FsEntry fs = CKPT_IMG__FS_ENTRY__INIT;

		fs.has_cwd_id = fs.has_root_id = true;
		fs.cwd_id = 3;
		fs.root_id = 4;
		wstart(&w, IMG_COMMON_MAGIC, FS_MAGIC);
		wmsg(&w, &fs);
		wdone(&w, "fs-100.img");
	}
	{
		CkptImg__File f1 = CKPT_IMG__FILE__INIT, f2 = CKPT_IMG__FILE__INIT;
		CkptImg__File f3 = CKPT_IMG__FILE__INIT, f4 = CKPT_IMG__FILE__INIT;
		CkptImg__File f5 = CKPT_IMG__FILE__INIT;
		CkptImg__RegFile r1 = CKPT_IMG__REG_FILE__INIT, r3 = CKPT_IMG__REG_FILE__INIT;
		CkptImg__RegFile r4 = CKPT_IMG__REG_FILE__INIT;
		CkptImg__InetSk isk = CKPT_IMG__INET_SK__INIT;
		CkptImg__UnixSk usk = CKPT_IMG__UNIX_SK__INIT;
		CkptImg__SkOpts so = CKPT_IMG__SK_OPTS__INIT;
		uint32_t addr = 0x0100007f; /* 127.0.0.1 as the bytes sit in memory (LE host) */
		uint8_t uname[] = { 0, 'a', 'b' };

		f1.has_type = f1.has_id = true;
		f1.type = 1;
		f1.id = 1;
		r1.name = "/usr/bin/prog";
		f1.reg = &r1;
		f2.has_type = f2.has_id = true;
		f2.type = 4;
		f2.id = 2;
		isk.has_family = isk.has_proto = isk.has_state = isk.has_src_port = true;
		isk.family = 2;
		isk.proto = 6;
		isk.state = 10;
		isk.src_port = 8080;
		isk.n_src_addr = 1;
		isk.src_addr = &addr;
		so.has_so_sndbuf = so.has_so_rcvbuf = true;
		so.so_sndbuf = 1000;
		so.so_rcvbuf = 2000;
		isk.opts = &so;
		f2.isk = &isk;
		f3.has_type = f3.has_id = true;
		f3.type = 1;
		f3.id = 3;
		r3.name = "/srv";
		f3.reg = &r3;
		f4.has_type = f4.has_id = true;
		f4.type = 1;
		f4.id = 4;
		r4.name = "/";
		f4.reg = &r4;
		f5.has_type = f5.has_id = true;
		f5.type = 5;
		f5.id = 5;
		usk.has_type = usk.has_state = usk.has_name = true;
		usk.type = 1;
		usk.state = 10;
		usk.name.data = uname;
		usk.name.len = sizeof(uname);
		f5.usk = &usk;
		wstart(&w, IMG_COMMON_MAGIC, FILES_MAGIC);
		wmsg(&w, &f4); /* not sorted by id */
		wmsg(&w, &f2);
		wmsg(&w, &f1);
		wmsg(&w, &f3);
		wmsg(&w, &f5);
		wdone(&w, "files.img");
	}
	{
		CkptImg__Fdinfo a1 = CKPT_IMG__FDINFO__INIT, a2 = CKPT_IMG__FDINFO__INIT;
		CkptImg__Fdinfo a3 = CKPT_IMG__FDINFO__INIT;

		a1.has_fd = a1.has_id = a1.has_type = true;
		a1.fd = 0;
		a1.id = 1;
		a1.type = 1;
		a2.has_fd = a2.has_id = a2.has_type = true;
		a2.fd = 3;
		a2.id = 2;
		a2.type = 4;
		a3.has_fd = a3.has_id = a3.has_type = true;
		a3.fd = 4;
		a3.id = 5;
		a3.type = 5;
		wstart(&w, IMG_COMMON_MAGIC, FDINFO_MAGIC);
		wmsg(&w, &a1);
		wmsg(&w, &a2);
		wmsg(&w, &a3);
		wdone(&w, "fdinfo-7.img");
	}

	ck_assert_msg(ckpt_image_info_read_detail(AT_FDCWD, tmpdir, CKPT_IMAGE_READ_ALL, &info,
						  &err) == 0,
		      "%s", err.msg);
	ck_assert_uint_eq(ckpt_image_info_pages(info, 0), 3); /* both encodings counted */
	ck_assert_str_eq(ckpt_image_info_cmdline(info, 0), "prog --flag");
	s = ckpt_image_info_to_json(info);
	ck_assert_ptr_nonnull(s);
	o = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o);
	free(s);
	json_object_object_get_ex(o, "processes", &a);
	p = json_object_array_get_idx(a, 0);
	ck_assert(json_object_object_get_ex(p, "cmdline", &a));
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "--flag");
	ck_assert(json_object_object_get_ex(p, "environment", &a));
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "B=\x01");
	ck_assert(json_object_object_get_ex(p, "files", &a));
	ck_assert_uint_eq(json_object_array_length(a), 6); /* 3 fds, cwd, root, exe */
	ck_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(a, 0), "path")),
			 "/usr/bin/prog");
	ck_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(a, 1), "path")),
			 "socket:[0]");
	ck_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(a, 3), "path")),
			 "/srv");
	ck_assert(json_object_object_get_ex(p, "sockets", &a));
	ck_assert_uint_eq(json_object_array_length(a), 2);
	v = json_object_array_get_idx(a, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "protocol")), "TCP");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "state")), "LISTEN");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "local")),
			 "127.0.0.1:8080");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(v, "recv_buf")), 2000);
	v = json_object_array_get_idx(a, 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "name")), "@ab");
	ck_assert(json_object_object_get_ex(p, "mems", &a));
	ck_assert_uint_eq(json_object_array_length(a), 2);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(a, 0), "resource")),
			 "/usr/bin/prog + 0x2000");
	ck_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(a, 0), "prot")),
			 "r-x");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(a, 1), "resource")),
			 "[heap]");
	json_object_put(o);
	ckpt_image_info_free(info);

	/* Without the flags none of it is read or shown. */
	ck_assert_int_eq(ckpt_image_info_read(AT_FDCWD, tmpdir, &info, &err), 0);
	ck_assert_ptr_null(ckpt_image_info_cmdline(info, 0));
	s = ckpt_image_info_to_json(info);
	ck_assert_ptr_null(strstr(s, "cmdline"));
	ck_assert_ptr_null(strstr(s, "sockets"));
	free(s);
	ckpt_image_info_free(info);
	/* Unknown flags are refused. */
	ck_assert_int_eq(ckpt_image_info_read_detail(AT_FDCWD, tmpdir, 1u << 20, &info, &err),
			 CKPT_EINVAL);
}
END_TEST

/* The real fixture with every detail: CRIU 4.2.1's files.img, fs, mm and fdinfo. */
START_TEST(test_fixture_detail)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_image_info *info = NULL;
	char *s;

	ck_assert_int_eq(ckpt_image_info_read_detail(AT_FDCWD, SLEEP_DIR, CKPT_IMAGE_READ_ALL,
						     &info, &err),
			 0);
	s = ckpt_image_info_to_json(info);
	ck_assert_ptr_nonnull(s);
	/* The fds of `setsid sleep </dev/null >/dev/null 2>&1`, its cwd, root and exe. */
	ck_assert_ptr_nonnull(strstr(
		s,
		"\"fd\": \"0\",\n          \"type\": \"REG\",\n          \"path\": \"/dev/null\""));
	ck_assert_ptr_nonnull(strstr(s, "\"type\": \"PIPE\""));
	ck_assert_ptr_nonnull(strstr(
		s, "\"fd\": \"cwd\",\n          \"type\": \"DIR\",\n          \"path\": \"/tmp\""));
	ck_assert_ptr_nonnull(strstr(s, "\"exe\": \"/usr/bin/sleep\""));
	ck_assert_ptr_nonnull(strstr(s, "\"resource\": \"[vdso]\""));
	ck_assert_ptr_nonnull(
		strstr(s, "\"resource\": \"/usr/lib/x86_64-linux-gnu/libc.so.6 + 0x26000\""));
	ck_assert_ptr_nonnull(strstr(s, "\"sockets\": []"));
	/* Its pages were zeroed for the fixture: no argv there. */
	ck_assert_ptr_nonnull(strstr(s, "\"cmdline\": null"));
	free(s);
	ckpt_image_info_free(info);
}
END_TEST

START_TEST(test_pagemap_overflow)
{
	ckpt_err err;
	ckpt_image_info *info;
	struct wbuf w;
	CkptImg__PagemapHead h = CKPT_IMG__PAGEMAP_HEAD__INIT;
	CkptImg__PagemapEntry e = CKPT_IMG__PAGEMAP_ENTRY__INIT;
	int r;

	write_inventory();
	write_pstree1(42);
	write_core(42, "x", CKPT_TASK_ALIVE, 0);
	h.has_pages_id = true;
	h.pages_id = 1;
	e.has_nr_pages = e.has_flags = true;
	e.nr_pages = UINT64_MAX;
	e.flags = 4;
	wstart(&w, IMG_COMMON_MAGIC, PAGEMAP_MAGIC);
	wmsg(&w, &h);
	wmsg(&w, &e);
	wmsg(&w, &e);
	wdone(&w, "pagemap-42.img");
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "pagemap-42.img");
	ck_assert_ptr_nonnull(strstr(err.msg, "overflows"));
}
END_TEST

/* ---- corrupt inputs ---- */

START_TEST(test_missing_dir_and_not_dir)
{
	ckpt_err err;
	ckpt_image_info *info;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "%s/nope", tmpdir);
	memset(&err, 0, sizeof(err));
	r = ckpt_image_info_read(AT_FDCWD, path, &info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "nope");

	write_file("plain", "x", 1);
	snprintf(path, sizeof(path), "%s/plain", tmpdir);
	memset(&err, 0, sizeof(err));
	r = ckpt_image_info_read(AT_FDCWD, path, &info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "not a directory");
}
END_TEST

START_TEST(test_missing_inventory)
{
	ckpt_err err;
	ckpt_image_info *info;
	int r = read_tmp(&info, &err);

	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img");
	ck_assert_ptr_null(info);

	memset(&err, 0, sizeof(err));
	r = ckpt_image_info_read_stats(AT_FDCWD, tmpdir, &info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "stats-dump");
}
END_TEST

START_TEST(test_missing_pstree)
{
	ckpt_err err;
	ckpt_image_info *info;
	int r;

	write_inventory();
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "pstree.img");
	ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
}
END_TEST

START_TEST(test_empty_pstree)
{
	ckpt_err err;
	ckpt_image_info *info;
	struct wbuf w;
	int r;

	write_inventory();
	wstart(&w, IMG_COMMON_MAGIC, PSTREE_MAGIC);
	wdone(&w, "pstree.img");
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "pstree.img: no processes");
}
END_TEST

START_TEST(test_truncated_inventory)
{
	ckpt_err err;
	ckpt_image_info *info;
	uint8_t *buf;
	size_t len;
	int r;

	buf = read_whole(SLEEP_DIR "/inventory.img", &len);
	ck_assert_uint_gt(len, 20);
	/* cut inside the entry */
	write_file("inventory.img", buf, 20);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: truncated entry at offset 4");
	/* cut inside the size word */
	write_file("inventory.img", buf, 6);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: truncated entry at offset 4");
	/* cut inside the magic */
	write_file("inventory.img", buf, 3);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: truncated");
	/* magic only: no entry */
	write_file("inventory.img", buf, 4);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: no entry");
	/* empty */
	write_file("inventory.img", buf, 0);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img");
	free(buf);
}
END_TEST

START_TEST(test_wrong_magic)
{
	ckpt_err err;
	ckpt_image_info *info;
	uint8_t *buf;
	size_t len;
	uint32_t bad = 0xdeadbeef;
	int r;

	buf = read_whole(SLEEP_DIR "/inventory.img", &len);
	memcpy(buf, &bad, sizeof(bad));
	write_file("inventory.img", buf, len);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG,
		      "inventory.img: bad magic 0xdeadbeef, expected 0x58313116");
	free(buf);

	/* a pstree.img with a core magic */
	write_inventory();
	{
		struct wbuf w;

		wstart(&w, IMG_COMMON_MAGIC, CORE_MAGIC);
		wdone(&w, "pstree.img");
	}
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG,
		      "pstree.img: bad magic 0x55053847, expected 0x50273030");
}
END_TEST

START_TEST(test_oversized_entry)
{
	ckpt_err err;
	ckpt_image_info *info;
	uint32_t sizes[] = { 0xffffffffu, 0x7fffffffu, (16u << 20) + 1 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t buf[16];
		uint32_t m = INVENTORY_MAGIC;

		memset(buf, 0x08, sizeof(buf));
		memcpy(buf, &m, 4);
		memcpy(buf + 4, &sizes[i], 4);
		write_file("inventory.img", buf, sizeof(buf));
		r = read_tmp(&info, &err);
		ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: entry at offset 4 claims");
		ck_assert_ptr_nonnull(strstr(err.msg, "16 MiB"));
	}
	/* within the cap but beyond the end of the file */
	{
		uint8_t buf[12];
		uint32_t m = INVENTORY_MAGIC, sz = 1000;

		memset(buf, 0x08, sizeof(buf));
		memcpy(buf, &m, 4);
		memcpy(buf + 4, &sz, 4);
		write_file("inventory.img", buf, sizeof(buf));
		r = read_tmp(&info, &err);
		ck_assert_bad(r, err, CKPT_EBADIMG, "1000 bytes announced, 4 left");
	}
}
END_TEST

START_TEST(test_undecodable_entry)
{
	ckpt_err err;
	ckpt_image_info *info;
	/* magic, size 3, then a field with wire type 7 (invalid) */
	uint8_t buf[] = { 0x16, 0x31, 0x31, 0x58, 3, 0, 0, 0, 0x0f, 0xff, 0xff };
	int r;

	write_file("inventory.img", buf, sizeof(buf));
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: entry at offset 4 is not a valid");

	/* a valid protobuf without the img_version */
	{
		uint8_t nover[] = { 0x16, 0x31, 0x31, 0x58, 2, 0, 0, 0, 0x10, 0x01 };

		write_file("inventory.img", nover, sizeof(nover));
		r = read_tmp(&info, &err);
		ck_assert_bad(r, err, CKPT_EBADIMG, "inventory.img: no img_version");
	}
	/* a pstree entry without a pid */
	write_inventory();
	{
		uint8_t nopid[] = { 0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50, /* magics */
				    2,	  0,	0,    0,    0x10, 0x01 /* ppid 1, no pid */ };

		write_file("pstree.img", nopid, sizeof(nopid));
		r = read_tmp(&info, &err);
		ck_assert_bad(r, err, CKPT_EBADIMG, "pstree.img: entry at offset 8: no valid pid");
	}
}
END_TEST

START_TEST(test_symlink_refused)
{
	ckpt_err err;
	ckpt_image_info *info;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "%s/inventory.img", tmpdir);
	ck_assert_int_eq(symlink(SLEEP_DIR "/inventory.img", path), 0);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "inventory.img: is a symlink");

	/* a symlinked pages file too */
	rm_flat(tmpdir);
	ck_assert_int_eq(mkdir(tmpdir, 0700), 0);
	copy_fixture();
	snprintf(path, sizeof(path), "%s/pages-1.img", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink(SLEEP_DIR "/pages-1.img", path), 0);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "pages-1.img: is a symlink");
}
END_TEST

START_TEST(test_fifo_refused)
{
	ckpt_err err;
	ckpt_image_info *info;
	char path[256];
	int r;

	write_inventory();
	snprintf(path, sizeof(path), "%s/pstree.img", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* must not block on the FIFO */
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "pstree.img: not a regular file");

	/* a directory in place of an image */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	r = read_tmp(&info, &err);
	ck_assert_bad(r, err, CKPT_EIMAGES, "pstree.img: not a regular file");
	ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

/* xorshift: deterministic across runs and libcs */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

START_TEST(test_random_inventory)
{
	uint64_t seed = 0x5eed1234abcdULL;
	int i;

	for (i = 0; i < 200; i++) {
		ckpt_err err;
		ckpt_image_info *info;
		uint8_t buf[600];
		size_t len = (size_t)(rng_next(&seed) % sizeof(buf)), j;
		int r;

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rng_next(&seed);
		write_file("inventory.img", buf, len);
		r = read_tmp(&info, &err);
		ck_assert_msg(r == CKPT_EBADIMG, "round %d: %d %s", i, r, err.msg);
		ck_assert_msg(strstr(err.msg, "inventory.img"), "round %d: %s", i, err.msg);
	}
}
END_TEST

/*
 * Each of the real fixture's files in turn, replaced by random bytes behind
 * its true magic, or bit-flipped: the read must fail with CKPT_EBADIMG
 * naming an image file, or succeed (a flip can leave valid protobuf).
 */
START_TEST(test_random_fixture_files)
{
	static const char *const targets[] = {
		"inventory.img",    "pstree.img",   "core-6258.img", "ids-6258.img",
		"pagemap-6258.img", "fdinfo-2.img", "stats-dump",
	};
	uint64_t seed = 0xc0ffee42ULL;
	int i, ok = 0, bad = 0;

	copy_fixture();
	for (i = 0; i < 200; i++) {
		const char *name = targets[rng_next(&seed) % 7];
		char src[512];
		uint8_t *orig, *buf;
		size_t len, n, j, keep;
		ckpt_err err;
		ckpt_image_info *info;
		int r;

		snprintf(src, sizeof(src), "%s/%s", SLEEP_DIR, name);
		orig = read_whole(src, &len);
		keep = strcmp(name, "inventory.img") ? 8 : 4; /* the magic words */
		if (i % 2) {
			/* true magic, random rest */
			n = keep + (size_t)(rng_next(&seed) % 300);
			buf = malloc(n);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf, orig, keep);
			for (j = keep; j < n; j++)
				buf[j] = (uint8_t)rng_next(&seed);
		} else {
			/* the real file with 1..4 bit flips, maybe cut short */
			n = len;
			buf = malloc(n);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf, orig, n);
			for (j = 0; j <= rng_next(&seed) % 4; j++) {
				size_t at = (size_t)(rng_next(&seed) % n);

				buf[at] ^= (uint8_t)(1u << (rng_next(&seed) % 8));
			}
			if (rng_next(&seed) % 4 == 0)
				n = (size_t)(rng_next(&seed) % n);
		}
		write_file(name, buf, n);
		r = read_tmp(&info, &err);
		if (r == 0) {
			char *js = ckpt_image_info_to_json(info);

			ck_assert_ptr_nonnull(js);
			ckpt_free(js);
			ckpt_image_info_free(info);
			ok++;
		} else {
			ck_assert_msg(r == CKPT_EBADIMG, "round %d (%s): %d %s", i, name, r,
				      err.msg);
			ck_assert_msg(strstr(err.msg, ".img") || strstr(err.msg, "stats-"),
				      "round %d (%s): %s", i, name, err.msg);
			bad++;
		}
		write_file(name, orig, len); /* restore */
		free(buf);
		free(orig);
	}
	ck_assert_int_gt(bad, 50);
	(void)ok;
}
END_TEST

/* The library prints nothing, even when reading garbage. */
START_TEST(test_silent)
{
	int pipefd[2], saved1, saved2;
	ckpt_err err;
	ckpt_image_info *info;
	char c;
	uint8_t junk[64];

	memset(junk, 0xa5, sizeof(junk));
	write_file("inventory.img", junk, sizeof(junk));
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
	fflush(stdout);
	fflush(stderr);
	saved1 = dup(1);
	saved2 = dup(2);
	dup2(pipefd[1], 1);
	dup2(pipefd[1], 2);
	(void)read_tmp(&info, &err);
	(void)ckpt_image_info_read(AT_FDCWD, "/nonexistent/dir", &info, &err);
	fflush(stdout);
	fflush(stderr);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(pipefd[1]);
	ck_assert_int_le(read(pipefd[0], &c, 1), 0); /* EOF: nothing was written */
	close(pipefd[0]);
}
END_TEST

static Suite *images_suite(void)
{
	Suite *s = suite_create("images");
	TCase *tc = tcase_create("images");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fixture_read);
	tcase_add_test(tc, test_fixture_json);
	tcase_add_test(tc, test_fixture_dirfd_and_stats_only);
	tcase_add_test(tc, test_synthetic_tree);
	tcase_add_test(tc, test_synthetic_detail);
	tcase_add_test(tc, test_fixture_detail);
	tcase_add_test(tc, test_pagemap_overflow);
	tcase_add_test(tc, test_missing_dir_and_not_dir);
	tcase_add_test(tc, test_missing_inventory);
	tcase_add_test(tc, test_missing_pstree);
	tcase_add_test(tc, test_empty_pstree);
	tcase_add_test(tc, test_truncated_inventory);
	tcase_add_test(tc, test_wrong_magic);
	tcase_add_test(tc, test_oversized_entry);
	tcase_add_test(tc, test_undecodable_entry);
	tcase_add_test(tc, test_symlink_refused);
	tcase_add_test(tc, test_fifo_refused);
	tcase_add_test(tc, test_random_inventory);
	tcase_add_test(tc, test_random_fixture_files);
	tcase_add_test(tc, test_silent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(images_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
