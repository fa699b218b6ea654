/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration channel's authentication: the token file read once by its
 * rules, the credentials (TLS files, the token's pre-shared key), the TLS
 * session and its handshake, the peer's identity, the preambles confirmed,
 * and the token proven inside a certificate session.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "chan-int.h"

/* Labels (docs/migration.md, "The channel"). */
#define LABEL_PSK "ckpt-migrate v2 psk"
#define LABEL_PROOF_KEY "ckpt-migrate v2 proof key"
#define LABEL_PROOF "ckpt-migrate v2 proof"
#define EXPORTER_PREAMBLES "EXPORTER-ckpt-migrate-preambles"
#define EXPORTER_TOKEN "EXPORTER-ckpt-migrate-token"
#define PSK_IDENTITY "ckpt-migrate-v2"

/*
 * TLS 1.3 keyed by the token, with an (EC)DHE exchange for forward secrecy;
 * certificates: TLS 1.2 or 1.3 with ECDHE and AEAD ciphers only. No other
 * version, no key exchange without forward secrecy, no CBC.
 */
#define PRIO_PSK                                                                              \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK:+DHE-PSK:-CIPHER-ALL:+AES-256-GCM:" \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"
#define PRIO_CERT                                                                                 \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"

/* ------------------------------------------------------------------ */
/* The token                                                           */
/* ------------------------------------------------------------------ */

struct chan_token {
	uint8_t psk[32];       /* HMAC-SHA256(secret, LABEL_PSK) */
	uint8_t proof_key[32]; /* HMAC-SHA256(secret, LABEL_PROOF_KEY) */
};

#define TOKEN_PAGE 4096

void chan_token_free(struct chan_token *t)
{
	if (!t)
		return;
	gnutls_memset(t, 0, sizeof(*t));
	munmap(t, TOKEN_PAGE);
}

/* Keys in a page of their own, left out of core dumps, locked in memory when allowed. */
static struct chan_token *token_page(void)
{
	void *p =
		mmap(NULL, TOKEN_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, TOKEN_PAGE, MADV_DONTDUMP);
	mlock(p, TOKEN_PAGE); /* best effort: RLIMIT_MEMLOCK may refuse */
	return p;
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* An all-hex secret of even length is decoded in place; returns its length in bytes. */
static size_t token_decode(uint8_t *buf, size_t len)
{
	if (len == 0 || len % 2)
		return len;
	for (size_t i = 0; i < len; i++)
		if (hexval(buf[i]) < 0)
			return len;
	for (size_t i = 0; i < len / 2; i++)
		buf[i] = (uint8_t)(hexval(buf[2 * i]) << 4 | hexval(buf[2 * i + 1]));
	return len / 2;
}

/* The directory the token file sits in: the caller's or root's, writable by nobody else. */
static int token_dir_check(const char *path, int dfd, const char *dir, ckpt_err *err)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(dfd, &st) < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file '%s': its directory '%s'", path,
			       dir);
	if (st.st_uid != me && st.st_uid != 0)
		return err_set(
			err, CKPT_EPERM,
			"token file '%s' is in directory '%s', owned by uid %u: that user could replace "
			"the file (expected a directory owned by you (uid %u) or root)",
			path, dir, (unsigned)st.st_uid, (unsigned)me);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(
			err, CKPT_EPERM,
			"token file '%s' is in directory '%s' (mode %04o), which %s can write: they could "
			"replace the file (move it into a directory only you can write, for example "
			"/etc/ckpt with mode 0700)",
			path, dir, (unsigned)(st.st_mode & 07777),
			st.st_mode & S_IWOTH ? "others" : "its group");
	return 0;
}

/* The file itself: not a symlink, regular, the caller's or root's, owner-only. */
static int token_file_check(const char *path, int fd, ckpt_err *err)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file '%s': fstat", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, CKPT_EINVAL,
			       "token file '%s' is not a regular file (expected a file of secret "
			       "bytes: make one with `ckpt token new FILE`)",
			       path);
	if (st.st_uid != me && st.st_uid != 0)
		return err_set(
			err, CKPT_EPERM,
			"token file '%s' is owned by uid %u, not by you (uid %u) or root: that user could "
			"change the secret (make your own with `ckpt token new FILE`)",
			path, (unsigned)st.st_uid, (unsigned)me);
	if (st.st_mode & 077)
		return err_set(
			err, CKPT_EPERM,
			"token file '%s' has mode %04o: group or others can read or change it "
			"(expected owner-only: chmod 600 '%s')",
			path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_size > CHAN_TOKEN_MAX + 2)
		return err_set(err, CKPT_EINVAL,
			       "token file '%s' has %lld bytes (expected at most %u)", path,
			       (long long)st.st_size, CHAN_TOKEN_MAX);
	return 0;
}

/* Open path's directory, then the file in it without following a symlink. */
static int token_open(const char *path, int *ret_fd, ckpt_err *err)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int dfd = -1;
	const char *base;
	char *slash;
	int fd, r;

	if (!dir)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		if (!dir[0]) {
			dir[0] = '/';
			dir[1] = '\0';
		}
	} else {
		base = path;
		dir[0] = '.';
		dir[1] = '\0';
	}
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return err_set(err, CKPT_EINVAL, "token file '%s': not a file name", path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file '%s': its directory '%s'", path,
			       dir);
	r = token_dir_check(path, dfd, dir, err);
	if (r < 0)
		return r;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return err_set(
			err, CKPT_EPERM,
			"token file '%s' is a symlink: refused (whoever can change the link chooses the "
			"secret; give the file itself)",
			path);
	if (fd < 0)
		return err_sys(err, CKPT_EINVAL, errno, "token file '%s'", path);
	r = token_file_check(path, fd, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int chan_token_load(const char *path, struct chan_token **ret, ckpt_err *err)
{
	uint8_t buf[CHAN_TOKEN_MAX + 3];
	struct chan_token *t = NULL;
	size_t got = 0, len;
	int fd = -1, r;

	assert_return(path && ret, err, "token file: NULL argument");
	if (!*path)
		return err_set(err, CKPT_EINVAL, "token file: empty path (expected a file)");
	r = token_open(path, &fd, err);
	if (r < 0)
		return r;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_sys(err, CKPT_EINVAL, errno, "token file '%s': read", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > CHAN_TOKEN_MAX + 2) {
		r = err_set(err, CKPT_EINVAL, "token file '%s' grew past %u bytes while read", path,
			    CHAN_TOKEN_MAX);
		goto out;
	}
	len = got;
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len > CHAN_TOKEN_MAX) {
		r = err_set(err, CKPT_EINVAL,
			    "token file '%s' holds %zu bytes of secret (expected at most %u)", path,
			    len, CHAN_TOKEN_MAX);
		goto out;
	}
	len = token_decode(buf, len);
	if (len < CHAN_TOKEN_MIN) {
		r = err_set(
			err, CKPT_EINVAL,
			"token file '%s' holds %zu bytes of secret (expected at least %u random "
			"bytes, or %u hex digits: make one with `ckpt token new FILE`)",
			path, len, CHAN_TOKEN_MIN, 2 * CHAN_TOKEN_MIN);
		goto out;
	}
	{
		size_t same = 1;

		while (same < len && buf[same] == buf[0])
			same++;
		if (same == len) {
			r = err_set(
				err, CKPT_EINVAL,
				"token file '%s' holds one byte repeated (expected random bytes: "
				"make one with `ckpt token new FILE`)",
				path);
			goto out;
		}
	}
	t = token_page();
	if (!t) {
		r = err_set(err, CKPT_ENOMEM, "token file '%s': out of memory", path);
		goto out;
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, buf, len, LABEL_PSK, strlen(LABEL_PSK), t->psk) <
		    0 ||
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, buf, len, LABEL_PROOF_KEY, strlen(LABEL_PROOF_KEY),
			     t->proof_key) < 0) {
		r = err_set(err, CKPT_ENOMEM, "token file '%s': HMAC-SHA256 failed", path);
		goto out;
	}
	*ret = t;
	t = NULL;
	r = 0;
out:
	gnutls_memset(buf, 0, sizeof(buf));
	chan_token_free(t);
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */
/* ------------------------------------------------------------------ */

struct chan_creds {
	uint8_t methods;
	enum chan_side side;
	const struct chan_token *token;
	gnutls_certificate_credentials_t cert;
	gnutls_psk_client_credentials_t pskc;
	gnutls_psk_server_credentials_t psks;
	gnutls_priority_t prio;
	char *peers[CHAN_PEERS_MAX];
	size_t n_peers;
	char desc[512];
};

uint8_t chan_creds_methods(const struct chan_creds *cr)
{
	return cr->methods;
}

const char *chan_creds_describe(const struct chan_creds *cr)
{
	return cr->desc;
}

void chan_creds_free(struct chan_creds *cr)
{
	if (!cr)
		return;
	if (cr->cert)
		gnutls_certificate_free_credentials(cr->cert);
	if (cr->pskc)
		gnutls_psk_free_client_credentials(cr->pskc);
	if (cr->psks)
		gnutls_psk_free_server_credentials(cr->psks);
	if (cr->prio)
		gnutls_priority_deinit(cr->prio);
	for (size_t i = 0; i < cr->n_peers; i++)
		free(cr->peers[i]);
	free(cr);
}

/* The receiver's PSK lookup: the one identity, the token's key (gnutls frees the copy). */
static int psk_server_key(gnutls_session_t s, const gnutls_datum_t *user, gnutls_datum_t *key)
{
	const struct chan *c = gnutls_session_get_ptr(s);

	if (!c || !c->cr->token || user->size != strlen(PSK_IDENTITY) ||
	    memcmp(user->data, PSK_IDENTITY, user->size))
		return -1;
	key->data = gnutls_malloc(sizeof(c->cr->token->psk));
	if (!key->data)
		return -1;
	memcpy(key->data, c->cr->token->psk, sizeof(c->cr->token->psk));
	key->size = sizeof(c->cr->token->psk);
	return 0;
}

static int creds_tls_files(struct chan_creds *cr, const struct chan_auth *a, ckpt_err *err)
{
	int r;

	if (gnutls_certificate_allocate_credentials(&cr->cert) < 0)
		return err_set(err, CKPT_ENOMEM, "migration: TLS credentials");
	r = gnutls_certificate_set_x509_trust_file(cr->cert, a->tls_cacert, GNUTLS_X509_FMT_PEM);
	if (r <= 0)
		return err_set(err, CKPT_EINVAL,
			       "TLS CA certificate file '%s': %s (expected a PEM certificate)",
			       a->tls_cacert, r < 0 ? gnutls_strerror(r) : "no certificate in it");
	if (a->tls_cacrl) {
		r = gnutls_certificate_set_x509_crl_file(cr->cert, a->tls_cacrl,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return err_set(err, CKPT_EINVAL,
				       "TLS CRL file '%s': %s (expected a PEM CRL)", a->tls_cacrl,
				       gnutls_strerror(r));
	}
	r = gnutls_certificate_set_x509_key_file(cr->cert, a->tls_cert, a->tls_key,
						 GNUTLS_X509_FMT_PEM);
	if (r < 0)
		return err_set(
			err, CKPT_EINVAL,
			"TLS certificate '%s' with key '%s': %s (expected a PEM certificate and its key)",
			a->tls_cert, a->tls_key, gnutls_strerror(r));
	return 0;
}

static int creds_peers(struct chan_creds *cr, const struct chan_auth *a, ckpt_err *err)
{
	size_t off;

	if (a->n_peers > CHAN_PEERS_MAX)
		return err_set(err, CKPT_EINVAL, "%zu TLS peer names (at most %u)", a->n_peers,
			       CHAN_PEERS_MAX);
	if (a->n_peers == 0)
		return err_set(
			err, CKPT_EINVAL,
			"mutual TLS needs the identities of the peers to accept: any certificate the CA "
			"signed would do otherwise (name each peer's certificate, by a DNS name, an "
			"address or its common name)");
	off = (size_t)snprintf(cr->desc, sizeof(cr->desc), "mutual TLS (peers: ");
	for (size_t i = 0; i < a->n_peers; i++) {
		cr->peers[i] = strdup(a->peers[i]);
		if (!cr->peers[i])
			return err_set(err, CKPT_ENOMEM, "out of memory");
		cr->n_peers++;
		if (off < sizeof(cr->desc))
			off += (size_t)snprintf(cr->desc + off, sizeof(cr->desc) - off, "%s%s",
						i ? ", " : "", a->peers[i]);
	}
	if (off < sizeof(cr->desc))
		snprintf(cr->desc + off, sizeof(cr->desc) - off, ")");
	return 0;
}

int chan_creds_new(const struct chan_auth *a, enum chan_side side, struct chan_creds **ret,
		   ckpt_err *err)
{
	bool tls = a && (a->tls_cacert || a->tls_cert || a->tls_key);
	struct chan_creds *cr;
	const char *errpos = NULL;
	int r = 0;

	assert_return(ret, err, "migration credentials: NULL argument");
	if (!a || (!a->token && !tls))
		return err_set(
			err, CKPT_EINVAL,
			"migration refuses to run unauthenticated: give a token file or TLS files (a "
			"CA, a certificate and its key); a receiver restores whatever images reach "
			"it, as root");
	if (tls && (!a->tls_cacert || !a->tls_cert || !a->tls_key))
		return err_set(err, CKPT_EINVAL,
			       "mutual TLS needs all three files: the CA certificate, this side's "
			       "certificate and its key (%s is missing)",
			       !a->tls_cacert ? "the CA certificate" :
			       !a->tls_cert   ? "the certificate" :
						"the key");
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return err_set(err, CKPT_ENOMEM, "out of memory");
	cr->side = side;
	cr->token = a->token;
	if (tls) {
		cr->methods |= CHAN_AUTH_TLS;
		r = creds_tls_files(cr, a, err);
		if (r == 0)
			r = creds_peers(cr, a, err);
		if (r == 0 && a->token)
			snprintf(cr->desc + strlen(cr->desc), sizeof(cr->desc) - strlen(cr->desc),
				 " and a token");
	} else {
		gnutls_datum_t user = { (unsigned char *)PSK_IDENTITY, strlen(PSK_IDENTITY) };
		gnutls_datum_t key = { (unsigned char *)a->token->psk, sizeof(a->token->psk) };

		snprintf(cr->desc, sizeof(cr->desc), "a token (TLS 1.3 keyed by it)");
		if (side == CHAN_CONNECTING) {
			if (gnutls_psk_allocate_client_credentials(&cr->pskc) < 0 ||
			    gnutls_psk_set_client_credentials2(cr->pskc, &user, &key,
							       GNUTLS_PSK_KEY_RAW) < 0)
				r = err_set(err, CKPT_ENOMEM, "migration: TLS PSK credentials");
		} else {
			if (gnutls_psk_allocate_server_credentials(&cr->psks) < 0)
				r = err_set(err, CKPT_ENOMEM, "migration: TLS PSK credentials");
			else
				gnutls_psk_set_server_credentials_function2(cr->psks,
									    psk_server_key);
		}
	}
	if (a->token)
		cr->methods |= CHAN_AUTH_TOKEN;
	if (r == 0 && gnutls_priority_init(&cr->prio, tls ? PRIO_CERT : PRIO_PSK, &errpos) < 0)
		r = err_set(err, CKPT_ENOTSUP,
			    "this GnuTLS refuses the migration's TLS priorities at '%s'",
			    errpos ? errpos : "?");
	if (r < 0) {
		chan_creds_free(cr);
		return r;
	}
	*ret = cr;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The session                                                         */
/* ------------------------------------------------------------------ */

/* Does crt carry name: a SAN DNS name or address (no wildcards), or exactly its CN? */
static bool crt_names(gnutls_x509_crt_t crt, const char *name)
{
	char cn[256];
	size_t n = sizeof(cn);

	if (gnutls_x509_crt_check_hostname2(crt, name, GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS))
		return true;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) == 0 &&
	    n < sizeof(cn)) {
		cn[n] = '\0';
		return !strcasecmp(cn, name);
	}
	return false;
}

/*
 * During the handshake, on either side: the peer's chain, its key purpose
 * (a server certificate from the receiver, a client one from the source),
 * and one of the identities named. A refusal aborts the handshake with an
 * alert, so the peer learns at once.
 */
static int verify_peer(gnutls_session_t s)
{
	struct chan *c = gnutls_session_get_ptr(s);
	const char *purpose = c->side == CHAN_CONNECTING ? GNUTLS_KP_TLS_WWW_SERVER :
							   GNUTLS_KP_TLS_WWW_CLIENT;
	gnutls_typed_vdata_st data = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
				       .data = (unsigned char *)purpose };
	const gnutls_datum_t *certs;
	unsigned n = 0, status = 0;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { 0 };
	bool named = false;

	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0) {
		snprintf(c->refusal, sizeof(c->refusal), "presented no TLS certificate");
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (gnutls_certificate_verify_peers(s, &data, 1, &status) < 0 || status) {
		gnutls_datum_t out = { 0 };

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
								 0) == 0 &&
		    out.data)
			snprintf(c->refusal, sizeof(c->refusal),
				 "its TLS certificate is refused: %s", (char *)out.data);
		else
			snprintf(c->refusal, sizeof(c->refusal),
				 "its TLS certificate is refused (status 0x%x)", status);
		gnutls_free(out.data);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return GNUTLS_E_MEMORY_ERROR;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
		for (size_t i = 0; i < c->cr->n_peers && !named; i++)
			named = crt_names(crt, c->cr->peers[i]);
		if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
			char shown[200];

			sanitize_copy(shown, sizeof(shown), (char *)dn.data);
			if (named)
				snprintf(c->peer, sizeof(c->peer), "certificate %s", shown);
			else
				snprintf(
					c->refusal, sizeof(c->refusal),
					"its TLS certificate (%s) names none of the peers this side "
					"accepts (%s)",
					shown, c->cr->desc);
			gnutls_free(dn.data);
		}
	}
	gnutls_x509_crt_deinit(crt);
	if (!named && !c->refusal[0])
		snprintf(c->refusal, sizeof(c->refusal),
			 "its TLS certificate names none of the peers this side accepts (%s)",
			 c->cr->desc);
	return named ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

static int session_init(struct chan *c, ckpt_err *err)
{
	const struct chan_creds *cr = c->cr;
	int r;

	r = gnutls_init(&c->tls, (c->side == CHAN_CONNECTING ? GNUTLS_CLIENT : GNUTLS_SERVER) |
					 GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r < 0) {
		c->tls = NULL;
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS session: %s",
			       gnutls_strerror(r));
	}
	gnutls_session_set_ptr(c->tls, c);
	if (gnutls_priority_set(c->tls, cr->prio) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS priorities");
	if (cr->cert) {
		if (gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cr->cert) < 0)
			return err_set(err, CKPT_ENOMEM, "migration channel: TLS credentials");
		if (c->side == CHAN_ACCEPTING) {
			gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
			/* no CA list: a client sends whatever certificate it has, refused by name */
			gnutls_certificate_send_x509_rdn_sequence(c->tls, 1);
		}
		gnutls_session_set_verify_function(c->tls, verify_peer);
	} else if (gnutls_credentials_set(c->tls, GNUTLS_CRD_PSK,
					  c->side == CHAN_CONNECTING ? (void *)cr->pskc :
								       (void *)cr->psks) < 0) {
		return err_set(err, CKPT_ENOMEM, "migration channel: TLS credentials");
	}
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_push_function(c->tls, chan_tls_push);
	gnutls_transport_set_pull_function(c->tls, chan_tls_pull);
	return 0;
}

static int handshake_failed(struct chan *c, int r, ckpt_err *err)
{
	char why[200];

	if (c->refusal[0]) /* verify_peer said what it refused */
		return err_set(err, CKPT_EPERM, "migration peer %s: %s", c->addr, c->refusal);
	chan_tls_why(c, r, why, sizeof(why));
	if (!c->cr->cert)
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s: TLS keyed by the token failed: %s (the peer holds another "
			"token, or the connection was altered)",
			c->addr, why);
	if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || r == GNUTLS_E_CERTIFICATE_REQUIRED)
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s presented no TLS certificate (mutual TLS: each side needs "
			"a certificate and its key)",
			c->addr);
	return err_set(err, CKPT_EPERM, "migration peer %s: TLS handshake failed: %s", c->addr,
		       why);
}

static int handshake(struct chan *c, ckpt_err *err)
{
	for (;;) {
		int r = gnutls_handshake(c->tls);

		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r)) {
			int w = chan_wait(c, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN,
					  "in the TLS handshake", err);

			if (w < 0)
				return w;
			continue;
		}
		/* tell the peer why, so that it fails now rather than at its deadline */
		gnutls_alert_send_appropriate(c->tls, r);
		return handshake_failed(c, r, err);
	}
	snprintf(c->cipher, sizeof(c->cipher), "%s %s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls)),
		 gnutls_cipher_get_name(gnutls_cipher_get(c->tls)));
	if (!c->cr->cert)
		snprintf(c->peer, sizeof(c->peer), "token holder");
	return 0;
}

static int exporter(struct chan *c, const char *label, const uint8_t *ctx, size_t ctx_len,
		    uint8_t out[32], ckpt_err *err)
{
	if (gnutls_prf_rfc5705(c->tls, strlen(label), label, ctx_len, (const char *)ctx, 32,
			       (char *)out) < 0)
		return err_set(err, CKPT_ESYS, "migration channel: TLS exporter failed");
	return 0;
}

/*
 * After the handshake: the accepting side's verdict byte (with TLS 1.3 the
 * client's handshake ends before its certificate is judged) and both sides'
 * exporter over the two preambles, compared: a preamble altered in transit
 * fails here.
 */
static int confirm(struct chan *c, const uint8_t pre[2 * CHAN_PREAMBLE_SIZE], ckpt_err *err)
{
	uint8_t mine[33] = { 0 }, theirs[33];
	bool acc = c->side == CHAN_ACCEPTING;
	int r, w;

	r = exporter(c, EXPORTER_PREAMBLES, pre, 2 * CHAN_PREAMBLE_SIZE, mine + 1, err);
	if (r < 0)
		return r;
	w = chan_io_write(c, acc ? mine : mine + 1, acc ? 33 : 32, err);
	if (w < 0 && acc)
		return w;
	if (w < 0)
		/*
		 * A receiver that refused our certificate sent its alert and
		 * closed: our write can meet the reset first. Its alert, read
		 * now, says why.
		 */
		err_reset(err);
	r = chan_read_exact(c, acc ? theirs + 1 : theirs, acc ? 32 : 33, "the TLS confirmation",
			    err);
	if (!acc && (r == CKPT_EPROTO || (r < 0 && w < 0))) {
		/* an alert or a close here: our certificate was refused */
		err_prefix(err, "%s",
			   c->cr->cert ? "the peer refused our TLS certificate" :
					 "the peer ended the session after its handshake");
		if (err)
			err->code = CKPT_EPERM;
		return CKPT_EPERM;
	}
	if (r < 0)
		return r;
	if (w < 0)
		return err_set(
			err, CKPT_ESYS,
			"migration peer %s: the connection failed right after the TLS handshake",
			c->addr);
	if (!acc && theirs[0] != 0)
		return err_set(err, CKPT_EPROTO,
			       "migration peer %s: TLS verdict byte %u (expected 0)", c->addr,
			       theirs[0]);
	if (!chan_equal(mine + 1, theirs + 1, 32))
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s: the preambles differ on the two sides (altered in "
			"transit); refused",
			c->addr);
	return 0;
}

/* Mutual TLS and a token: each side proves the token over this session's exporter. */
static int token_proof(struct chan *c, ckpt_err *err)
{
	uint8_t exp[32], msg[64], mine[32], want[32], theirs[32];
	size_t l = strlen(LABEL_PROOF);
	uint8_t role_self = c->side == CHAN_CONNECTING ? 'C' : 'S';
	int r;

	r = exporter(c, EXPORTER_TOKEN, NULL, 0, exp, err);
	if (r < 0)
		return r;
	memcpy(msg, LABEL_PROOF, l);
	memcpy(msg + l + 1, exp, sizeof(exp));
	msg[l] = role_self;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->cr->token->proof_key, 32, msg, l + 1 + 32,
			     mine) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
	msg[l] = role_self == 'C' ? 'S' : 'C';
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, c->cr->token->proof_key, 32, msg, l + 1 + 32,
			     want) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: HMAC-SHA256 failed");
	r = chan_io_write(c, mine, sizeof(mine), err);
	if (r == 0)
		r = chan_read_exact(c, theirs, sizeof(theirs), "the peer's token proof", err);
	gnutls_memset(msg, 0, sizeof(msg));
	if (r < 0)
		return r;
	if (!chan_equal(theirs, want, sizeof(want)))
		return err_set(
			err, CKPT_EPERM,
			"migration peer %s (%s) does not hold our token: the two token files "
			"differ; refused",
			c->addr, c->peer);
	snprintf(c->peer + strlen(c->peer), sizeof(c->peer) - strlen(c->peer), " (token holder)");
	return 0;
}

int chan_auth_run(struct chan *c, const uint8_t pre[2 * CHAN_PREAMBLE_SIZE], ckpt_err *err)
{
	int r;

	r = session_init(c, err);
	if (r == 0)
		r = handshake(c, err);
	if (r == 0)
		r = confirm(c, pre, err);
	if (r == 0 && c->cr->cert && c->cr->token)
		r = token_proof(c, err);
	return r;
}
