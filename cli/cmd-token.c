/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ckpt token new FILE: a migration token, 32 random bytes from the kernel's CSPRNG, mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ckpt-cli.h"

#define TOKEN_BYTES 32

static const char help_text[] =
	"Usage: ckpt token new FILE\n"
	"\n"
	"Make a token for `ckpt migrate` and `ckpt receive --token-file FILE`: 32 random\n"
	"bytes from the kernel (getrandom), written as 64 hex digits, in a new file of mode\n"
	"0600 (an existing file or symlink is never written through). Copy it to the other\n"
	"host by a channel you trust (scp, your configuration management). The token keys\n"
	"a TLS 1.3 session: whoever holds it can migrate a tree into a receiver that uses\n"
	"it, as root. The file is then checked as a migration reads it: yours or root's, in\n"
	"a directory only you (or root) can write; if it would be refused it is removed.\n"
	"\n"
	"  --json         print the result as JSON\n"
	"  -q, --quiet    no progress lines\n"
	"  -v, --verbose  libckpt's diagnostics on stderr\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit codes: 0 made; 1 failed (nothing left behind); 2 usage error.\n";

static int token_new(struct cli *cli, const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_BYTES];
	char text[2 * TOKEN_BYTES + 1];
	ckpt_migrate_opts *m = NULL;
	ckpt_err err = CKPT_ERR_INIT;
	size_t got = 0;
	int fd, r;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_fail(cli, EXIT_FAILED, "getrandom: %s", cli_strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 15];
	}
	text[2 * TOKEN_BYTES] = '\n';
	explicit_bzero(raw, sizeof(raw));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = errno;
		explicit_bzero(text, sizeof(text));
		return cli_fail(cli, EXIT_FAILED, "'%s': %s%s", path, cli_strerror(r),
				r == EEXIST ? " (a token is never overwritten: remove it first, or "
					      "give another name)" :
					      "");
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, sizeof(text)) != (ssize_t)sizeof(text) ||
	    fsync(fd) < 0) {
		r = errno;
		close(fd);
		unlink(path);
		explicit_bzero(text, sizeof(text));
		return cli_fail(cli, EXIT_FAILED, "'%s': %s", path, cli_strerror(r));
	}
	close(fd);
	explicit_bzero(text, sizeof(text));
	/* read it back as a migration will, with every rule */
	m = ckpt_migrate_opts_new();
	if (!m || ckpt_migrate_opts_set_token_file(m, path, &err) < 0) {
		unlink(path);
		ckpt_migrate_opts_free(m);
		if (!m)
			return cli_fail(cli, EXIT_FAILED, "out of memory");
		return cli_fail(cli, EXIT_FAILED, "%s; removed it", err.msg);
	}
	ckpt_migrate_opts_free(m);
	if (cli->json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "token_file", cli_json_str(path));
		json_object_object_add(j, "bytes", json_object_new_int(TOKEN_BYTES));
		cli_print_json(j);
	} else {
		printf("made token '%s' (32 random bytes, mode 0600)\n", path);
	}
	return EXIT_OK;
}

/* token's flags: what getopt parses, `ckpt __flags` lists and completion offers. */
const struct option cli_token_options[] = {
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int cmd_token(struct cli *cli, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "+" CLI_COMMON_SHORTOPTS, cli_token_options, NULL)) !=
	       -1) {
		if (cli_common_opt(cli, c))
			continue;
		if (c == 'h') {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
		return cli_getopt_error(cli, c, argv, cli_token_options);
	}
	if (optind >= argc)
		return cli_usage_error(cli, "expected `ckpt token new FILE`");
	if (strcmp(argv[optind], "new"))
		return cli_usage_error(cli, "unknown action '%s' (expected `ckpt token new FILE`)",
				       argv[optind]);
	if (optind + 2 != argc)
		return cli_usage_error(cli, "expected `ckpt token new FILE` (one FILE)");
	return token_new(cli, argv[optind + 1]);
}
