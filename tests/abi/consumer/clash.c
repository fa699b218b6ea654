/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names that libckpt uses inside (protobuf-c code generated from CRIU's rpc.proto, as
 * libcriu's objects define it, and internal helpers), defined again by the program: linked
 * with libckpt.a, a name the archive leaked would be a "multiple definition" error.
 */
int criu_req__init(void);
int criu_req__get_packed_size(void);
int criu_resp__unpack(void);
int criu_opts__init(void);
int err_set(void);
int now_us(void);

int criu_req__init(void)
{
	return 0;
}

int criu_req__get_packed_size(void)
{
	return 0;
}

int criu_resp__unpack(void)
{
	return 0;
}

int criu_opts__init(void)
{
	return 0;
}

int err_set(void)
{
	return 0;
}

int now_us(void)
{
	return 0;
}
