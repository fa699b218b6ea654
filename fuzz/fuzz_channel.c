/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer: the migration channel's parser (lib/migrate/chan-frame.c,
 * chan-msg.c, chan-files.c) on a stream of frames as chan_recv sees them
 * inside TLS after authentication: frame headers, every message type's
 * decoder, and the file-transfer state machine (in its check-only mode:
 * nothing is written). The first byte picks caps for the transfer, so small
 * count and size limits are reached too.
 */
#include "base/error.h"
#include "migrate/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chan_limits lim = { 0 };
	struct chan_rx rx;
	ckpt_err err = CKPT_ERR_INIT;
	size_t off = 1;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		lim.max_files = 1 + (data[0] >> 1 & 7);
		lim.max_total = (uint64_t)(data[0] >> 4) * 1000;
	}
	chan_rx_init(&rx, -1, &lim);
	while (size - off >= CHAN_HDR_SIZE) {
		struct chan_msg m;
		uint16_t type;
		uint32_t len;
		int r = chan_hdr_decode(data + off, &type, &len, &err);

		if (r < 0) {
			if (err.code != r || !err.msg[0])
				__builtin_trap();
			break;
		}
		if (len > CHAN_MAX_PAYLOAD)
			__builtin_trap();
		off += CHAN_HDR_SIZE;
		if (len > size - off)
			break; /* a truncated stream */
		r = chan_msg_decode(type, data + off, len, &m, &err);
		off += len;
		if (r < 0) {
			if (err.code != r || !err.msg[0])
				__builtin_trap();
			break;
		}
		if (m.type != type || m.data != data + off - len || m.len != len)
			__builtin_trap();
		/* what was decoded keeps its promises */
		switch (type) {
		case CHAN_MSG_HELLO:
			if (m.u.hello.proto != CHAN_PROTO_VERSION ||
			    m.u.hello.role < CHAN_ROLE_SOURCE || m.u.hello.role > CHAN_ROLE_PAGES ||
			    m.u.hello.mode > CHAN_MODE_LAZY ||
			    m.u.hello.cpuinfo_len > CHAN_CPUINFO_MAX ||
			    strlen(m.u.hello.check_msg) >= 512 ||
			    (m.u.hello.cpuinfo_len &&
			     (m.u.hello.cpuinfo < m.data ||
			      m.u.hello.cpuinfo + m.u.hello.cpuinfo_len > m.data + m.len)))
				__builtin_trap();
			continue;
		case CHAN_MSG_FILE_BEGIN:
			if (strchr(m.u.file_begin.name, '/') || m.u.file_begin.name[0] == '.' ||
			    !m.u.file_begin.name[0])
				__builtin_trap();
			break;
		case CHAN_MSG_ERROR:
			if (m.u.error.code >= 0)
				__builtin_trap();
			continue;
		case CHAN_MSG_RESTORE:
			if (m.u.restore.flags & ~(uint32_t)CHAN_RESTORE_F_LAZY)
				__builtin_trap();
			continue;
		case CHAN_MSG_FILE_DATA:
		case CHAN_MSG_FILE_END:
		case CHAN_MSG_FILES_DONE: break;
		default: continue;
		}
		r = chan_rx_feed(&rx, &m, &err);
		if (r < 0) {
			if (err.code != r || rx.open)
				__builtin_trap();
			break;
		}
		if (rx.files > rx.max_files || rx.total > rx.max_total ||
		    (rx.open && rx.got > rx.size))
			__builtin_trap();
		if (r == 1 && !rx.done)
			__builtin_trap();
	}
	chan_rx_abort(&rx);
	return 0;
}
