/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Messages on a connection: one protobuf message per SOCK_SEQPACKET packet,
 * sized with MSG_PEEK|MSG_TRUNC and capped, every wait bounded by the
 * connection's deadline. The transport sends what it is given unchanged and
 * leaves killing and reaping criu to its caller.
 */
#ifndef CKPT_TRANSPORT_H
#define CKPT_TRANSPORT_H

#include "conn.h"
#include "base/error.h"
#include "rpc.pb-c.h"

#define CKPT_MAX_MSG (1024 * 1024) /* the size cap of a request and of a reply */

/* 0, or CKPT_ETIMEDOUT (nothing else done), CKPT_ECRIU_DIED, CKPT_ETOOBIG, CKPT_ESYS. */
int conn_send(struct conn *conn, const CriuReq *req, ckpt_err *err);
/* One reply; *ret_fd gets an fd passed with it (CLOEXEC) or -1. Errors as conn_send, and CKPT_EPROTO. */
int conn_recv(struct conn *conn, CriuResp **ret, int *ret_fd, ckpt_err *err);
/* Validate a reply from raw bytes (pure; used by conn_recv and the fuzzer). */
int resp_decode(const uint8_t *buf, size_t len, CriuResp **ret, ckpt_err *err);

#endif
