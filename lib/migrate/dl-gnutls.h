/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GnuTLS, loaded on first use (base/dl.h): every call of lib/migrate/ goes through its table. */
#ifndef CKPT_DL_GNUTLS_H
#define CKPT_DL_GNUTLS_H

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "base/dl.h"

/*
 * The names this library's code calls, each a field of struct dl_gnutls. A name missing
 * here fails the link (libckpt is linked with --no-undefined and without the library);
 * gnutls_malloc and gnutls_free are variables in GnuTLS (pointers to its allocator): their
 * fields point to the variables, and the names stand for the variables themselves.
 */
/* clang-format off */
#define DL_GNUTLS_SYMS(X) \
	X(gnutls_alert_get) X(gnutls_alert_get_name) X(gnutls_alert_send_appropriate) \
	X(gnutls_bye) X(gnutls_certificate_allocate_credentials) \
	X(gnutls_certificate_free_credentials) X(gnutls_certificate_get_peers) \
	X(gnutls_certificate_send_x509_rdn_sequence) X(gnutls_certificate_server_set_request) \
	X(gnutls_certificate_set_x509_crl_file) X(gnutls_certificate_set_x509_key_file) \
	X(gnutls_certificate_set_x509_trust_file) X(gnutls_certificate_verification_status_print) \
	X(gnutls_certificate_verify_peers) X(gnutls_cipher_get) X(gnutls_cipher_get_name) \
	X(gnutls_credentials_set) X(gnutls_deinit) X(gnutls_error_is_fatal) X(gnutls_free) \
	X(gnutls_handshake) X(gnutls_hash) X(gnutls_hash_deinit) X(gnutls_hash_init) \
	X(gnutls_hmac_fast) X(gnutls_init) X(gnutls_malloc) X(gnutls_memset) X(gnutls_prf_rfc5705) \
	X(gnutls_priority_deinit) X(gnutls_priority_init) X(gnutls_priority_set) \
	X(gnutls_protocol_get_name) X(gnutls_protocol_get_version) \
	X(gnutls_psk_allocate_client_credentials) X(gnutls_psk_allocate_server_credentials) \
	X(gnutls_psk_free_client_credentials) X(gnutls_psk_free_server_credentials) \
	X(gnutls_psk_set_client_credentials2) X(gnutls_psk_set_server_credentials_function2) \
	X(gnutls_record_check_pending) X(gnutls_record_get_direction) X(gnutls_record_recv) \
	X(gnutls_record_send) X(gnutls_rnd) X(gnutls_session_get_ptr) X(gnutls_session_set_ptr) \
	X(gnutls_session_set_verify_function) X(gnutls_strerror) X(gnutls_transport_set_errno) \
	X(gnutls_transport_set_ptr) X(gnutls_transport_set_pull_function) \
	X(gnutls_transport_set_push_function) X(gnutls_x509_crt_check_hostname2) \
	X(gnutls_x509_crt_deinit) X(gnutls_x509_crt_get_dn3) X(gnutls_x509_crt_get_dn_by_oid) \
	X(gnutls_x509_crt_import) X(gnutls_x509_crt_init)
/* clang-format on */

struct dl_gnutls {
	DL_GNUTLS_SYMS(DL_FIELD)
};

/* The table, loaded on first use; call only after dl_need_gnutls() succeeded. */
const struct dl_gnutls *dl_gnutls(void);
/* Load the library once: 0, or CKPT_EMISSINGLIB naming it and its package. */
int dl_need_gnutls(ckpt_err *err);

#ifndef DL_GNUTLS_IMPL /* dl-gnutls.c itself sees the real names */
#define gnutls_alert_get (dl_gnutls()->gnutls_alert_get)
#define gnutls_alert_get_name (dl_gnutls()->gnutls_alert_get_name)
#define gnutls_alert_send_appropriate (dl_gnutls()->gnutls_alert_send_appropriate)
#define gnutls_bye (dl_gnutls()->gnutls_bye)
#define gnutls_certificate_allocate_credentials \
	(dl_gnutls()->gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials (dl_gnutls()->gnutls_certificate_free_credentials)
#define gnutls_certificate_get_peers (dl_gnutls()->gnutls_certificate_get_peers)
#define gnutls_certificate_send_x509_rdn_sequence \
	(dl_gnutls()->gnutls_certificate_send_x509_rdn_sequence)
#define gnutls_certificate_server_set_request (dl_gnutls()->gnutls_certificate_server_set_request)
#define gnutls_certificate_set_x509_crl_file (dl_gnutls()->gnutls_certificate_set_x509_crl_file)
#define gnutls_certificate_set_x509_key_file (dl_gnutls()->gnutls_certificate_set_x509_key_file)
#define gnutls_certificate_set_x509_trust_file (dl_gnutls()->gnutls_certificate_set_x509_trust_file)
#define gnutls_certificate_verification_status_print \
	(dl_gnutls()->gnutls_certificate_verification_status_print)
#define gnutls_certificate_verify_peers (dl_gnutls()->gnutls_certificate_verify_peers)
#define gnutls_cipher_get (dl_gnutls()->gnutls_cipher_get)
#define gnutls_cipher_get_name (dl_gnutls()->gnutls_cipher_get_name)
#define gnutls_credentials_set (dl_gnutls()->gnutls_credentials_set)
#define gnutls_deinit (dl_gnutls()->gnutls_deinit)
#define gnutls_error_is_fatal (dl_gnutls()->gnutls_error_is_fatal)
#define gnutls_free (*dl_gnutls()->gnutls_free)
#define gnutls_handshake (dl_gnutls()->gnutls_handshake)
#define gnutls_hash (dl_gnutls()->gnutls_hash)
#define gnutls_hash_deinit (dl_gnutls()->gnutls_hash_deinit)
#define gnutls_hash_init (dl_gnutls()->gnutls_hash_init)
#define gnutls_hmac_fast (dl_gnutls()->gnutls_hmac_fast)
#define gnutls_init (dl_gnutls()->gnutls_init)
#define gnutls_malloc (*dl_gnutls()->gnutls_malloc)
#define gnutls_memset (dl_gnutls()->gnutls_memset)
#define gnutls_prf_rfc5705 (dl_gnutls()->gnutls_prf_rfc5705)
#define gnutls_priority_deinit (dl_gnutls()->gnutls_priority_deinit)
#define gnutls_priority_init (dl_gnutls()->gnutls_priority_init)
#define gnutls_priority_set (dl_gnutls()->gnutls_priority_set)
#define gnutls_protocol_get_name (dl_gnutls()->gnutls_protocol_get_name)
#define gnutls_protocol_get_version (dl_gnutls()->gnutls_protocol_get_version)
#define gnutls_psk_allocate_client_credentials (dl_gnutls()->gnutls_psk_allocate_client_credentials)
#define gnutls_psk_allocate_server_credentials (dl_gnutls()->gnutls_psk_allocate_server_credentials)
#define gnutls_psk_free_client_credentials (dl_gnutls()->gnutls_psk_free_client_credentials)
#define gnutls_psk_free_server_credentials (dl_gnutls()->gnutls_psk_free_server_credentials)
#define gnutls_psk_set_client_credentials2 (dl_gnutls()->gnutls_psk_set_client_credentials2)
#define gnutls_psk_set_server_credentials_function2 \
	(dl_gnutls()->gnutls_psk_set_server_credentials_function2)
#define gnutls_record_check_pending (dl_gnutls()->gnutls_record_check_pending)
#define gnutls_record_get_direction (dl_gnutls()->gnutls_record_get_direction)
#define gnutls_record_recv (dl_gnutls()->gnutls_record_recv)
#define gnutls_record_send (dl_gnutls()->gnutls_record_send)
#define gnutls_rnd (dl_gnutls()->gnutls_rnd)
#define gnutls_session_get_ptr (dl_gnutls()->gnutls_session_get_ptr)
#define gnutls_session_set_ptr (dl_gnutls()->gnutls_session_set_ptr)
#define gnutls_session_set_verify_function (dl_gnutls()->gnutls_session_set_verify_function)
#define gnutls_strerror (dl_gnutls()->gnutls_strerror)
#define gnutls_transport_set_errno (dl_gnutls()->gnutls_transport_set_errno)
#define gnutls_transport_set_ptr (dl_gnutls()->gnutls_transport_set_ptr)
#define gnutls_transport_set_pull_function (dl_gnutls()->gnutls_transport_set_pull_function)
#define gnutls_transport_set_push_function (dl_gnutls()->gnutls_transport_set_push_function)
#define gnutls_x509_crt_check_hostname2 (dl_gnutls()->gnutls_x509_crt_check_hostname2)
#define gnutls_x509_crt_deinit (dl_gnutls()->gnutls_x509_crt_deinit)
#define gnutls_x509_crt_get_dn3 (dl_gnutls()->gnutls_x509_crt_get_dn3)
#define gnutls_x509_crt_get_dn_by_oid (dl_gnutls()->gnutls_x509_crt_get_dn_by_oid)
#define gnutls_x509_crt_import (dl_gnutls()->gnutls_x509_crt_import)
#define gnutls_x509_crt_init (dl_gnutls()->gnutls_x509_crt_init)
#endif

#endif
