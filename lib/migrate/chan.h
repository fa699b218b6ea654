/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel (private): TLS sessions, authentication, framing, messages, file transfer. */
#ifndef CKPT_CHAN_H
#define CKPT_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ckpt/ckpt.h>

/*
 * One channel is one connected stream socket (TCP, or a unix socketpair in
 * tests) between a migration source and a receiver, and every byte after a
 * 16-byte preamble is inside TLS (GnuTLS): the wire format is in
 * docs/migration.md ("The channel"); in short:
 *
 *   preamble  16 bytes each way, in the clear: "ckpt-mig", protocol version
 *             (u16), the authentication methods (u8), the side (u8), 4 zero bytes
 *   TLS       token only: TLS 1.3 keyed by the token (PSK with (EC)DHE);
 *             certificates: mutual X.509, TLS 1.2 or 1.3, the peer's certificate
 *             naming one of the identities the caller named; both: the
 *             certificate handshake, then a proof of the token bound to this TLS
 *             session (an exporter)
 *   confirm   each side sends an exporter value over both preambles: a preamble
 *             altered in transit fails here
 *   frames    type (u16), flags (u16, 0), length (u32), payload (<= CHAN_MAX_PAYLOAD),
 *             big-endian, inside TLS
 *
 * Every read has a deadline (the channel's timeout, per message); a peer that
 * fails authentication, speaks another protocol version, or sends an oversized
 * or malformed frame is refused with an error naming what was wrong, before any
 * message is acted on. A pages connection is a channel whose TLS session is
 * handed to a pump (pump.h) after its HELLO.
 */

#define CHAN_PROTO_VERSION 2
#define CHAN_MAGIC "ckpt-mig" /* 8 bytes, no NUL on the wire */
#define CHAN_PREAMBLE_SIZE 16
#define CHAN_HDR_SIZE 8
#define CHAN_MAX_PAYLOAD (128 * 1024) /* hard cap of one frame's payload */
#define CHAN_FILE_CHUNK (64 * 1024)   /* file data per FILE_DATA frame */
#define CHAN_NAME_MAX 128	      /* an image file name */
#define CHAN_CPUINFO_MAX (64 * 1024)  /* CRIU's cpuinfo.img */
#define CHAN_SESSION_SIZE 16
#define CHAN_TOKEN_MIN 32   /* bytes of secret in a token file (hex digits count as half a byte) */
#define CHAN_TOKEN_MAX 4096 /* bytes in a token file */
#define CHAN_PEERS_MAX 16   /* identities a side may name */
#define CHAN_PEER_NAME_MAX 255
#define CHAN_DEFAULT_MAX_FILES 65536
#define CHAN_DEFAULT_MAX_TOTAL (16ULL << 30)

/* Which end of the connection: the side that connected or the one that accepted. */
enum chan_side {
	CHAN_CONNECTING = 1, /* the migration source (ckpt migrate) */
	CHAN_ACCEPTING = 2,  /* the receiver (ckpt receive) */
};

/* Authentication methods (preamble bits). */
#define CHAN_AUTH_TOKEN 0x1
#define CHAN_AUTH_TLS 0x2

/* ---- the token: a secret read once, kept only as keys derived from it ---- */

/*
 * What a token file yields: the TLS pre-shared key and the key of the proof
 * (both HMAC-SHA256 of the secret under their own labels). Kept in memory
 * left out of core dumps (MADV_DONTDUMP) and locked when the system allows.
 */
struct chan_token;

/*
 * Read a token file, once, by the rules of docs/security.md: not a symlink,
 * a regular file owned by the caller (euid) or root, no access for group or
 * others, in a directory owned by the caller or root that group and others
 * cannot write, at least CHAN_TOKEN_MIN bytes of secret (an all-hex file is
 * decoded first, so 64 hex digits are 32 bytes). Each refusal says which
 * rule and the fix (CKPT_EPERM for ownership and modes, CKPT_EINVAL for the
 * contents).
 */
int chan_token_load(const char *path, struct chan_token **ret, ckpt_err *err);
void chan_token_free(struct chan_token *t);

/* ---- credentials: what one side authenticates with, loaded once per migration ---- */

struct chan_auth {
	const struct chan_token *token; /* borrowed; NULL: no token */
	const char *tls_cacert;		/* PEM: the CA that signed the peer's certificate */
	const char *tls_cert;		/* PEM: this side's certificate */
	const char *tls_key;		/* PEM: its private key */
	const char *tls_cacrl;		/* PEM: revoked certificates, optional */
	/* the identities the peer's certificate must carry (SAN DNS or IP, or CN): one of them */
	const char *const *peers;
	size_t n_peers;
};

struct chan_creds;

/*
 * Load what a, for side, asks for: the TLS files (each checked, named in the
 * error) and the token's keys. a's strings are copied; its token must outlive
 * the credentials. With TLS, at least one peer identity is required. One
 * credentials object serves every connection of a migration, from any thread.
 */
int chan_creds_new(const struct chan_auth *a, enum chan_side side, struct chan_creds **ret,
		   ckpt_err *err);
void chan_creds_free(struct chan_creds *cr);
/* "a token", "mutual TLS (peers: a, b)", "mutual TLS (peers: ...) and a token": for messages. */
const char *chan_creds_describe(const struct chan_creds *cr);

enum chan_msg_type {
	CHAN_MSG_HELLO = 1,	 /* both ways, first: versions, mode, criu check, cpuinfo */
	CHAN_MSG_ERROR = 2,	 /* either way: the sender gives up; code, stage, text */
	CHAN_MSG_FILE_BEGIN = 3, /* source: name, mode, size of the next image file */
	CHAN_MSG_FILE_DATA = 4,	 /* source: up to CHAN_FILE_CHUNK bytes of it */
	CHAN_MSG_FILE_END = 5,	 /* source: its SHA-256 */
	CHAN_MSG_FILES_DONE = 6, /* source: count and total bytes of the files sent */
	CHAN_MSG_RESTORE = 7,	 /* source: restore now (flags) */
	CHAN_MSG_RESULT = 8,	 /* receiver: ready / running (pid) / failed (error) / pages done */
	CHAN_MSG_ACK = 9,	 /* source: what it did after the result (committed / resumed) */
	CHAN_MSG_RESOLVE = 10,	 /* source, on a new connection: the result of session X? */
	CHAN_MSG_MAX_ = 10,
};

enum chan_role { CHAN_ROLE_SOURCE = 1, CHAN_ROLE_RECEIVER = 2, CHAN_ROLE_PAGES = 3 };
enum chan_mode { CHAN_MODE_NONE = 0, CHAN_MODE_COPY = 1, CHAN_MODE_LAZY = 2 };
enum chan_result_status {
	CHAN_RESULT_RUNNING = 1,    /* the restored tree runs on the receiver */
	CHAN_RESULT_FAILED = 2,	    /* the restore failed; nothing of it runs */
	CHAN_RESULT_PAGES_DONE = 3, /* lazy: every page has reached the receiver */
	CHAN_RESULT_UNKNOWN = 4, /* answer to RESOLVE: no durable record says how session X ended */
	CHAN_RESULT_READY =
		5, /* after FILES_DONE: images accepted (pages landed; lazy: daemon up) */
};
enum chan_ack_decision { CHAN_ACK_COMMITTED = 1, CHAN_ACK_RESUMED = 2 };

#define CHAN_RESTORE_F_LAZY 0x1

struct chan_hello {
	uint16_t proto; /* CHAN_PROTO_VERSION, again inside the authenticated channel */
	uint8_t role;	/* enum chan_role */
	uint8_t mode;	/* enum chan_mode */
	uint8_t session[CHAN_SESSION_SIZE]; /* the source's random session id; the receiver echoes it */
	uint32_t libckpt_version;	    /* CKPT_VERSION_NUMBER */
	char libckpt_version_str[32];
	uint32_t criu_version; /* major*10000 + minor*100 + sublevel; 0: unknown */
	char criu_version_str[64];
	uint32_t flags;
	int32_t check_code; /* receiver: 0 if criu check (and cpuinfo check) passed */
	char check_msg[512];
	const uint8_t *cpuinfo; /* source: CRIU's cpuinfo.img; borrowed from the message */
	uint32_t cpuinfo_len;
};

struct chan_error {
	int32_t code; /* a CKPT_E* value */
	char stage[32];
	char msg[1024];
};

struct chan_file_begin {
	char name[CHAN_NAME_MAX + 1];
	uint32_t mode; /* st_mode: S_IFREG and permission bits only */
	uint64_t size;
};

struct chan_files_done {
	uint32_t count;
	uint64_t total;
};

struct chan_restore {
	uint32_t flags; /* CHAN_RESTORE_F_* */
};

struct chan_result {
	uint8_t status; /* enum chan_result_status */
	int32_t pid;
	int32_t code;
	char stage[32];
	char msg[1024];
};

/* One received message: valid until the next receive on the channel. */
struct chan_msg {
	uint16_t type;
	const uint8_t *data; /* the payload */
	uint32_t len;
	union {
		struct chan_hello hello;
		struct chan_error error;
		struct chan_file_begin file_begin;
		struct {
			uint8_t sha256[32];
		} file_end;
		struct chan_files_done files_done;
		struct chan_restore restore;
		struct chan_result result;
		struct {
			uint8_t decision;
		} ack;
		struct {
			uint8_t session[CHAN_SESSION_SIZE];
		} resolve;
	} u;
};

struct chan;

/*
 * Authenticate over fd (a connected stream socket, borrowed: never closed
 * here) with cr and return the channel. timeout_ms (> 0) bounds the whole
 * authentication and then every later message. Fails with CKPT_EPERM if the
 * peer is not authenticated (or refuses us), CKPT_ENOTSUP for a peer of
 * another protocol version, CKPT_EPROTO for a peer that is not a migration
 * endpoint, CKPT_ETIMEDOUT, CKPT_ESYS.
 */
int chan_open(int fd, enum chan_side side, const struct chan_creds *cr, unsigned timeout_ms,
	      struct chan **ret, ckpt_err *err);
/* Close the TLS session (if any) and free; the socket stays open. NULL is fine. */
void chan_free(struct chan *c);
void chan_set_timeout(struct chan *c, unsigned timeout_ms);

/* Bytes of a message already read from the socket and buffered (TLS): a poll on the fd would miss them. */
bool chan_pending(const struct chan *c);
/* The peer's address, "HOST:PORT". */
const char *chan_addr(const struct chan *c);
/* The socket (borrowed from the caller of chan_open). */
int chan_fd(const struct chan *c);
/* Who the peer proved to be: "certificate CN=...", "token holder", or both. */
const char *chan_peer(const struct chan *c);
/* The TLS version and cipher of the session ("TLS1.3 AES-256-GCM"). */
const char *chan_cipher(const struct chan *c);
/* Byte counters: on the wire (framing and TLS records included) and of file data. */
uint64_t chan_wire_in(const struct chan *c);
uint64_t chan_wire_out(const struct chan *c);
uint64_t chan_file_bytes_out(const struct chan *c);
uint32_t chan_files_out(const struct chan *c);

/* Send one message (payload already encoded; at most CHAN_MAX_PAYLOAD bytes). */
int chan_send(struct chan *c, uint16_t type, const void *payload, size_t len, ckpt_err *err);
/*
 * Receive, check and decode one message (deadline: the channel's timeout).
 * A deadline that passes before any byte of a message arrived leaves the
 * channel usable (call again); any other failure, a deadline in the middle of
 * a message included, ends reading on this channel.
 */
int chan_recv(struct chan *c, struct chan_msg *m, ckpt_err *err);
/*
 * Receive a message of type want. A CHAN_MSG_ERROR from the peer becomes the
 * returned error (its code, "peer: <its text>" and its stage); another type
 * is CKPT_EPROTO.
 */
int chan_expect(struct chan *c, uint16_t want, struct chan_msg *m, ckpt_err *err);
/* The peer's ERROR message m as the returned error (its code, its text, its stage). */
int chan_peer_error(struct chan *c, const struct chan_msg *m, ckpt_err *err);

int chan_send_hello(struct chan *c, const struct chan_hello *h, ckpt_err *err);
/* Give up: tell the peer why (best effort; errors of the send itself are ignored). */
void chan_send_error(struct chan *c, int code, const char *stage, const char *msg);
int chan_send_restore(struct chan *c, const struct chan_restore *r, ckpt_err *err);
int chan_send_result(struct chan *c, const struct chan_result *r, ckpt_err *err);
int chan_send_ack(struct chan *c, uint8_t decision, ckpt_err *err);
int chan_send_resolve(struct chan *c, const uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err);

/* A fresh random session id. */
int chan_session_new(uint8_t session[CHAN_SESSION_SIZE], ckpt_err *err);

/*
 * Hand the channel's TLS session over (to a pump, pump.h): *ret_tls gets the
 * gnutls_session_t with no transport pointer; the new owner sets its own
 * (push and pull functions and their pointer) before any use. The channel is
 * freed; the socket stays the caller's.
 */
int chan_release_tls(struct chan *c, void **ret_tls, ckpt_err *err);

/* ---- file transfer ---- */

/* A plain file name of one directory: [A-Za-z0-9._+-], 1..CHAN_NAME_MAX bytes, no leading '.'. */
int chan_name_check(const char *name, size_t len, ckpt_err *err);

/* Send the regular file name of dirfd (FILE_BEGIN, FILE_DATA..., FILE_END). */
int chan_send_file(struct chan *c, int dirfd, const char *name, ckpt_err *err);
/* Send FILES_DONE with the count and bytes of the files sent so far. */
int chan_send_files_done(struct chan *c, ckpt_err *err);

struct chan_limits {
	uint32_t max_files; /* 0: CHAN_DEFAULT_MAX_FILES */
	uint64_t max_total; /* bytes; 0: CHAN_DEFAULT_MAX_TOTAL */
};

/* The receiving end of a file transfer into one directory. */
struct chan_rx {
	int dirfd; /* borrowed; -1: check the stream, write nothing (fuzzing) */
	uint32_t max_files;
	uint64_t max_total;
	uint32_t files; /* completed */
	uint64_t total; /* bytes received, all files */
	bool done;	/* FILES_DONE accepted */
	/* the file being received */
	bool open;
	int fd;
	char name[CHAN_NAME_MAX + 1];
	uint64_t size, got;
	void *hash; /* gnutls_hash_hd_t */
};

void chan_rx_init(struct chan_rx *rx, int dirfd, const struct chan_limits *lim);
/*
 * Feed one decoded message of the transfer. Returns 0 to go on, 1 when
 * FILES_DONE matched what arrived, or a negative error; on error the file
 * being written is removed (files already complete stay: the caller owns the
 * directory and removes it).
 */
int chan_rx_feed(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err);
/* Close and remove an unfinished file. */
void chan_rx_abort(struct chan_rx *rx);
/* Receive files until FILES_DONE (chan_recv + chan_rx_feed); rx_ret (may be NULL) gets the totals. */
int chan_recv_files(struct chan *c, int dirfd, const struct chan_limits *lim,
		    struct chan_rx *rx_ret, ckpt_err *err);

/* ---- the parser's parts, pure (used by chan_recv, the tests and fuzz/fuzz_channel.c) ---- */

/* Check a frame header: a known type, zero flags, length within the cap. */
int chan_hdr_decode(const uint8_t hdr[CHAN_HDR_SIZE], uint16_t *ret_type, uint32_t *ret_len,
		    ckpt_err *err);
/* Decode and check a payload of type into m (m->data points into payload). */
int chan_msg_decode(uint16_t type, const uint8_t *payload, uint32_t len, struct chan_msg *m,
		    ckpt_err *err);
const char *chan_type_name(uint16_t type);

/* ---- for tests: bytes written past the framing (a hostile peer) ---- */
int chan_write_raw(struct chan *c, const void *buf, size_t len, ckpt_err *err);

#endif
