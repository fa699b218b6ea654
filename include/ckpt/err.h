/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libckpt's errors, and what every other header needs: CKPT_EXPORT, the
 * library's version and ckpt_free. See ckpt_err(3) and libckpt(3).
 */
#ifndef CKPT_CKPT_ERR_H
#define CKPT_CKPT_ERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <ckpt/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(CKPT_STATIC)
#define CKPT_EXPORT __attribute__((visibility("default")))
#else
#define CKPT_EXPORT
#endif

/*
 * A deprecated interface: kept, with its ABI, for callers built against it;
 * the compiler says what replaces it. Define CKPT_NO_DEPRECATION_WARNINGS to
 * silence that.
 */
#if defined(__GNUC__) && !defined(CKPT_NO_DEPRECATION_WARNINGS)
#define CKPT_DEPRECATED(what) __attribute__((deprecated(what)))
#else
#define CKPT_DEPRECATED(what)
#endif

/*
 * Error codes. Values are pinned and never renumbered. They are libckpt's
 * own, not errno values, so that two different failures never share a code
 * (a missing criu binary and a missing images dir are both ENOENT to the
 * kernel); the errno of the failing system call, if any, is in
 * ckpt_err.sys_errno.
 */
enum {
	CKPT_OK = 0,
	CKPT_EINVAL = -1,	 /* a bad argument or option value */
	CKPT_ENOMEM = -2,	 /* out of memory */
	CKPT_ESYS = -3,		 /* a system call failed (sys_errno says which) */
	CKPT_ECRIU_EXEC = -4,	 /* criu could not be found or started */
	CKPT_ECRIU_VERSION = -5, /* criu is too old for this request */
	CKPT_ESERVICE = -6,	 /* the criu service socket cannot be reached */
	CKPT_ETIMEDOUT = -7,	 /* the request did not finish before the deadline */
	CKPT_EPROTO = -8,	 /* a malformed or unexpected reply */
	CKPT_ETOOBIG = -9,	 /* a reply above the size cap, or a request too big */
	CKPT_ECRIU_DIED = -10,	 /* criu exited or closed the socket before replying */
	CKPT_ECRIU = -11,	 /* CRIU ran the request and reported failure */
	CKPT_ENOTARGET = -12,	 /* the target pid does not exist */
	CKPT_EIMAGES = -13,	 /* the images or work dir is unusable */
	CKPT_EEXIST = -14,	 /* the images dir already holds a checkpoint */
	CKPT_ECALLBACK = -15,	 /* a notification callback failed */
	CKPT_ENOTSUP = -16,	 /* not supported by this criu or transport */
	CKPT_EPERM = -17,	 /* a credential or permission check refused */
	CKPT_EBADIMG = -18,	 /* an image file is missing, truncated or corrupt */
	CKPT_ENETSETUP = -19,	 /* network setup of a restored namespace failed */
	CKPT_EMISSINGLIB =
		-20, /* an optional library (GnuTLS, libarchive, libnl) is not installed */
};

#define CKPT_ERR_MSG_MAX 512
#define CKPT_ERR_LOG_MAX 1024
#define CKPT_ERR_HINT_MAX 512

/*
 * The layout version of ckpt_err. CKPT_ERR_INIT sets it; the library keeps
 * it on every fill and writes only the fields that version has, so a later
 * libckpt can add fields at the end without breaking callers built against
 * this header. A version of 0 (a memset struct) is taken as 1.
 */
#define CKPT_ERR_VERSION 1

/* ckpt_err.flags */
enum {
	CKPT_ERR_F_OUTCOME_UNKNOWN =
		1u << 0, /* criu may have finished: it died, timed out or sent garbage */
	CKPT_ERR_F_TARGET_GONE = 1u << 1, /* the dumped tree no longer exists */
	CKPT_ERR_F_IMAGES_KEPT = 1u << 2, /* images that may be complete were kept in images_path */
};

typedef struct ckpt_err {
	unsigned version;	    /* CKPT_ERR_VERSION, set by CKPT_ERR_INIT and kept */
	int code;		    /* the same negative value as the return */
	int criu_errno;		    /* CRIU's cr_errno, 0 if it gave none */
	int sys_errno;		    /* errno of the failed system call, 0 if none */
	int wait_status;	    /* criu's wait status if it died and was reaped by us, else 0 */
	int hint_opt;		    /* the ckpt_opt key that fixes it (see hint), 0 if none */
	unsigned flags;		    /* CKPT_ERR_F_* */
	char step[32];		    /* "spawn", "connect", "send", "recv", "dump", ... */
	char msg[CKPT_ERR_MSG_MAX]; /* what failed, naming the input or step; CRIU's decisive line */
	char hint[CKPT_ERR_HINT_MAX]; /* the likely cause and what to do about it, "" if unknown */
	char log_path[256];	      /* CRIU's log file of this request, "" if none */
	char images_path[256];	      /* with CKPT_ERR_F_IMAGES_KEPT: where the images are */
	char criu_log[CKPT_ERR_LOG_MAX]; /* the error lines of CRIU's log, decisive first, "" if none */
} ckpt_err;

#ifdef __cplusplus
#define CKPT_ERR_INIT                                                                  \
	{                                                                              \
		CKPT_ERR_VERSION, 0, 0, 0, 0, 0, 0, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, \
		{                                                                      \
			0                                                              \
		}                                                                      \
	}
#else
#define CKPT_ERR_INIT                       \
	{                                   \
		.version = CKPT_ERR_VERSION \
	}
#endif

/* Static, thread-safe text for a CKPT_E* code. */
CKPT_EXPORT const char *ckpt_strerror(int code);

/* This library's version, "MAJOR.MINOR.PATCH". */
CKPT_EXPORT const char *ckpt_version(void);
/* CKPT_VERSION_NUMBER of the library actually loaded. */
CKPT_EXPORT unsigned ckpt_version_number(void);

/* Free memory returned by the library (strings from *_to_json etc.). */
CKPT_EXPORT void ckpt_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* CKPT_CKPT_ERR_H */
