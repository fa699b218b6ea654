/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: OCI config.json -> options (namespaces), through a temp file. */
#include "rpc/opts.h"
#include "base/parse.h"

#include <fcntl.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/ckpt-fuzz-oci-XXXXXX";
	ckpt_err err = CKPT_ERR_INIT;
	uint32_t created = 0;
	ckpt_opts *o;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	o = ckpt_opts_new();
	if (o) {
		int r = ckpt_opts_from_oci_config(o, path, &created, &err);

		if (r < 0 && err.code != r)
			__builtin_trap();
		if (r == 0)
			free(ckpt_opts_to_json(o));
		ckpt_opts_free(o);
	}
	unlink(path);
	return 0;
}
