/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the diagnosis of a CRIU log (CRIU's log holds container-controlled names). */
#include "diagnose/diagnose.h"
#include "base/error.h"
#include "rpc/opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_proc(void *userdata, pid_t pid, struct diag_proc *ret)
{
	(void)userdata;
	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	ret->state = pid & 1 ? 'Z' : 'S';
	ret->caller_child = pid & 2;
	return pid & 4 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct diag_probe probe = { .task = fake_proc };
	struct diag_opts opts = { 0 };
	struct diag_in in = { .probe = &probe, .opts = &opts };
	struct diag_result r;
	char cli[2 * CKPT_ERR_HINT_MAX];

	if (size < 2)
		return 0;
	/* the first two bytes: the operation and a few options; the rest is the log, unterminated */
	in.op = data[0] % 8;
	opts.bools = (uint64_t)data[1] << 1;
	in.criu_errno = data[1] & 1 ? EEXIST : 0;
	in.log = (const char *)data + 2;
	in.log_len = size - 2;
	diagnose(&in, &r);
	if (!memchr(r.headline, '\0', sizeof(r.headline)) ||
	    !memchr(r.lines, '\0', sizeof(r.lines)) || !memchr(r.hint, '\0', sizeof(r.hint)))
		__builtin_trap();
	for (const char *p = r.headline; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			__builtin_trap(); /* the headline goes to a terminal */
	if (r.hint[0] && ckpt_hint_rewrite(r.hint, NULL, NULL, cli, sizeof(cli), NULL) != 0)
		__builtin_trap();
	return 0;
}
