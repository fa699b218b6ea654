/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A program that links only libckpt (test_light_core.sh runs it): the core works without
 * loading GnuTLS, libarchive, libzstd or libnl, and each optional part loads its library on
 * first use, or, when the library is absent, fails with CKPT_EMISSINGLIB naming the package.
 *
 *   light-core present   the libraries are installed: after a version request none of them
 *                        is mapped; an archive read, a token file and a veth each load theirs
 *   light-core absent    they are hidden (test_light_core.sh): the same calls fail cleanly
 *
 * Prints one "case: light_core_MODE_NAME: ok|FAILED" line per check; exits 1 if one failed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ckpt/ckpt.h>
#include <ckpt/experimental.h>

static const char *mode;
static int failed;

static void report(const char *name, bool ok, const char *what, const char *detail)
{
	printf("case: light_core_%s_%s: %s\n", mode, name, ok ? "ok" : "FAILED");
	if (!ok) {
		printf("  %s: %s\n", what, detail ? detail : "");
		failed = 1;
	}
}

/* The optional libraries (or their dependencies) mapped into this process, "" if none. */
static void mapped(char *buf, size_t size)
{
	static const char *const libs[] = { "libgnutls", "libarchive", "libzstd",  "libnl-",
					    "libxml2",	 "libicu",     "libnettle" };
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");

	buf[0] = '\0';
	if (!f) {
		snprintf(buf, size, "(cannot read /proc/self/maps)");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *path = strchr(line, '/');

		if (!path)
			continue;
		for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
			const char *base = strrchr(path, '/') + 1;

			if (strncmp(base, libs[i], strlen(libs[i])) == 0 && !strstr(buf, base) &&
			    strlen(buf) + strlen(base) + 2 < size) {
				strcat(buf, base);
				strcat(buf, " ");
				break;
			}
		}
	}
	fclose(f);
	for (char *nl; (nl = strchr(buf, '\n'));)
		*nl = ' ';
}

static bool has(const char *lib, const char *maps)
{
	return strstr(maps, lib) != NULL;
}

/* A call of an optional part: present, it ran (any answer but CKPT_EMISSINGLIB) and its
 * library is mapped now; absent, CKPT_EMISSINGLIB with the package named, and nothing mapped. */
static void part(const char *name, int r, const ckpt_err *err, const char *lib, const char *package)
{
	char maps[1024], what[1200];

	mapped(maps, sizeof(maps));
	if (strcmp(mode, "present") == 0) {
		snprintf(what, sizeof(what), "%d (%s), mapped: %s", r, err->msg, maps);
		report(name, r != CKPT_EMISSINGLIB && has(lib, maps),
		       "expected the call to run and its library to be mapped", what);
		return;
	}
	snprintf(what, sizeof(what), "%d, msg '%s', hint '%s', mapped: '%s'", r, err->msg,
		 err->hint, maps);
	report(name,
	       r == CKPT_EMISSINGLIB && err->code == CKPT_EMISSINGLIB &&
		       strstr(err->msg, package) && strstr(err->msg, "dlopen") &&
		       strstr(err->hint, package) && !has(lib, maps),
	       "expected CKPT_EMISSINGLIB naming the package, nothing mapped", what);
}

int main(int argc, char **argv)
{
	ckpt_err err = CKPT_ERR_INIT;
	ckpt_archive *a = NULL;
	ckpt_migrate_opts *m;
	ckpt_client *c;
	ckpt_opts *o;
	unsigned version = 0;
	char maps[1024];
	int r;

	if (argc != 2 || (strcmp(argv[1], "present") != 0 && strcmp(argv[1], "absent") != 0)) {
		fprintf(stderr, "usage: light-core present|absent\n");
		return 2;
	}
	mode = argv[1];

	/* the core: options, a client, a version request to the real criu ($CKPT_CRIU) */
	o = ckpt_opts_new();
	c = ckpt_client_new();
	r = o && c ? ckpt_opts_set_pid(o, 1, &err) : -1;
	report("objects", r == 0, "ckpt_opts/ckpt_client", err.msg);
	r = c ? ckpt_criu_version(c, &version, &err) : -1;
	report("criu_version", r == 0 && version > 0, "ckpt_criu_version", err.msg);
	mapped(maps, sizeof(maps));
	report("nothing_mapped", maps[0] == '\0', "mapped after the version request", maps);

	/* each optional part, first use */
	err = (ckpt_err)CKPT_ERR_INIT;
	r = ckpt_archive_read("/nonexistent/light-core.tar", NULL, &a, &err);
	part("archive", r, &err, "libarchive", "libarchive13");
	ckpt_archive_free(a);

	err = (ckpt_err)CKPT_ERR_INIT;
	m = ckpt_migrate_opts_new();
	r = m ? ckpt_migrate_opts_set_token_file(m, "/nonexistent/light-core.token", &err) : -1;
	part("migrate", r, &err, "libgnutls", "libgnutls");
	ckpt_migrate_opts_free(m);

	err = (ckpt_err)CKPT_ERR_INIT;
	r = c ? ckpt_client_set_netns_veth(c, NULL, NULL, NULL, NULL, &err) : -1;
	part("netns", r, &err, "libnl-route-3", "libnl-3-200");

	/* a second use answers the same, from what the first load recorded */
	err = (ckpt_err)CKPT_ERR_INIT;
	r = ckpt_archive_read("/nonexistent/light-core.tar", NULL, &a, &err);
	part("archive_again", r, &err, "libarchive", "libarchive13");
	ckpt_archive_free(a);

	if (strcmp(mode, "absent") == 0) {
		const char *s = ckpt_strerror(CKPT_EMISSINGLIB);

		report("strerror", s && strstr(s, "not installed"), "ckpt_strerror", s);
	}
	ckpt_client_free(c);
	ckpt_opts_free(o);
	return failed;
}
