/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration channel's file transfer: the images sent by name and received into a directory (untrusted input). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "chan-int.h"

int chan_send_file(struct chan *c, int dirfd, const char *name, ckpt_err *err)
{
	_cleanup_close_ int fd = -1;
	gnutls_hash_hd_t hash = NULL;
	uint8_t digest[32];
	struct stat st;
	struct enc e;
	uint64_t left;
	int r;

	r = chan_name_check(name, strlen(name), err);
	if (r < 0)
		return r;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_sys(err, errno == ELOOP ? CKPT_EINVAL : CKPT_EIMAGES, errno,
			       "image file \"%s\" (expected a regular file)", name);
	if (fstat(fd, &st) < 0)
		return err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": fstat", name);
	if (!S_ISREG(st.st_mode))
		return err_set(
			err, CKPT_EINVAL,
			"image file \"%s\" is not a regular file (only regular files are sent)",
			name);
	if (gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0)
		return err_set(err, CKPT_ENOMEM, "migration channel: SHA-256 unavailable");

	e = chan_enc_start(c);
	enc_str(&e, name, CHAN_NAME_MAX);
	enc_u32(&e, (uint32_t)(st.st_mode & (S_IFMT | 0777)));
	enc_u64(&e, (uint64_t)st.st_size);
	r = chan_enc_send(c, &e, CHAN_MSG_FILE_BEGIN, err);
	for (left = (uint64_t)st.st_size; r == 0 && left;) {
		size_t want = left < CHAN_FILE_CHUNK ? (size_t)left : CHAN_FILE_CHUNK;
		ssize_t n = pread(fd, chan_payload(c), want, st.st_size - (off_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": read", name);
			break;
		}
		if (n == 0) {
			r = err_set(
				err, CKPT_EIMAGES,
				"image file \"%s\" shrank while it was sent (%llu bytes missing)",
				name, (unsigned long long)left);
			break;
		}
		gnutls_hash(hash, chan_payload(c), (size_t)n);
		r = chan_frame_send(c, CHAN_MSG_FILE_DATA, (size_t)n, err);
		left -= (uint64_t)n;
		c->file_bytes_out += (uint64_t)n;
	}
	gnutls_hash_deinit(hash, digest);
	if (r < 0)
		return r;
	e = chan_enc_start(c);
	enc_bytes(&e, digest, sizeof(digest));
	r = chan_enc_send(c, &e, CHAN_MSG_FILE_END, err);
	if (r == 0)
		c->files_out++;
	return r;
}

int chan_send_files_done(struct chan *c, ckpt_err *err)
{
	struct enc e = chan_enc_start(c);

	enc_u32(&e, c->files_out);
	enc_u64(&e, c->file_bytes_out);
	return chan_enc_send(c, &e, CHAN_MSG_FILES_DONE, err);
}

void chan_rx_init(struct chan_rx *rx, int dirfd, const struct chan_limits *lim)
{
	memset(rx, 0, sizeof(*rx));
	rx->dirfd = dirfd;
	rx->fd = -1;
	rx->max_files = lim && lim->max_files ? lim->max_files : CHAN_DEFAULT_MAX_FILES;
	rx->max_total = lim && lim->max_total ? lim->max_total : CHAN_DEFAULT_MAX_TOTAL;
}

void chan_rx_abort(struct chan_rx *rx)
{
	if (rx->hash) {
		uint8_t d[32];

		gnutls_hash_deinit(rx->hash, d);
		rx->hash = NULL;
	}
	if (rx->fd >= 0) {
		close(rx->fd);
		rx->fd = -1;
	}
	if (rx->open && rx->dirfd >= 0)
		unlinkat(rx->dirfd, rx->name, 0);
	rx->open = false;
}

static int rx_fail(struct chan_rx *rx, int r)
{
	chan_rx_abort(rx);
	return r;
}

/* FILE_BEGIN: within the caps, the file created (when receiving into a dir) and its hash started. */
static int rx_file_begin(struct chan_rx *rx, const struct chan_file_begin *f, ckpt_err *err)
{
	if (rx->done || rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO, "FILE_BEGIN of \"%s\" %s", f->name,
					   rx->done ? "after FILES_DONE" :
						      "before the previous file ended"));
	if (rx->files >= rx->max_files)
		return rx_fail(rx, err_set(err, CKPT_ETOOBIG,
					   "image file \"%s\" is one more than the cap of %u files",
					   f->name, rx->max_files));
	if (f->size > rx->max_total - rx->total)
		return rx_fail(
			rx,
			err_set(err, CKPT_ETOOBIG,
				"image file \"%s\" of %llu bytes would pass the cap of %llu bytes in all",
				f->name, (unsigned long long)f->size,
				(unsigned long long)rx->max_total));
	if (gnutls_hash_init((gnutls_hash_hd_t *)&rx->hash, GNUTLS_DIG_SHA256) < 0)
		return rx_fail(rx,
			       err_set(err, CKPT_ENOMEM, "migration channel: SHA-256 unavailable"));
	memcpy(rx->name, f->name, sizeof(rx->name));
	if (rx->dirfd >= 0) {
		rx->fd = openat(rx->dirfd, f->name,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rx->fd < 0)
			return rx_fail(
				rx,
				err_sys(err, errno == EEXIST ? CKPT_EEXIST : CKPT_EIMAGES, errno,
					"image file \"%s\" cannot be created (expected a new name)",
					f->name));
	}
	rx->open = true;
	rx->size = f->size;
	rx->got = 0;
	return 0;
}

/* FILE_DATA: within the file's declared size, hashed and written. */
static int rx_file_data(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	if (!rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "FILE_DATA outside a file (expected FILE_BEGIN)"));
	if (m->len > rx->size - rx->got)
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"image file \"%s\": %llu bytes more than its declared size of %llu",
				rx->name, (unsigned long long)(rx->got + m->len - rx->size),
				(unsigned long long)rx->size));
	gnutls_hash(rx->hash, m->data, m->len);
	for (size_t off = 0; rx->fd >= 0 && off < m->len;) {
		ssize_t w = write(rx->fd, m->data + off, m->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return rx_fail(rx, err_sys(err, CKPT_EIMAGES, errno,
						   "image file \"%s\": write", rx->name));
		off += (size_t)w;
	}
	rx->got += m->len;
	rx->total += m->len;
	return 0;
}

/* FILE_END: the whole file arrived and matches the sender's SHA-256. */
static int rx_file_end(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	uint8_t digest[32];

	if (!rx->open)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "FILE_END outside a file (expected FILE_BEGIN)"));
	if (rx->got != rx->size)
		return rx_fail(rx, err_set(err, CKPT_EPROTO,
					   "image file \"%s\" ended after %llu of its %llu bytes",
					   rx->name, (unsigned long long)rx->got,
					   (unsigned long long)rx->size));
	gnutls_hash_deinit(rx->hash, digest);
	rx->hash = NULL;
	if (!chan_equal(digest, m->u.file_end.sha256, sizeof(digest)))
		return rx_fail(
			rx,
			err_set(err, CKPT_EBADIMG,
				"image file \"%s\" does not match the SHA-256 its sender computed",
				rx->name));
	if (rx->fd >= 0 && close(rx->fd) < 0) {
		rx->fd = -1;
		return rx_fail(rx, err_sys(err, CKPT_EIMAGES, errno, "image file \"%s\": close",
					   rx->name));
	}
	rx->fd = -1;
	rx->open = false;
	rx->files++;
	return 0;
}

/* FILES_DONE: the count and bytes the sender says match what arrived; 1 (the transfer is done). */
static int rx_files_done(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	if (rx->open || rx->done)
		return rx_fail(rx, err_set(err, CKPT_EPROTO, "FILES_DONE %s",
					   rx->open ? "in the middle of a file" : "twice"));
	if (m->u.files_done.count != rx->files || m->u.files_done.total != rx->total)
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"FILES_DONE says %u files, %llu bytes; %u files, %llu bytes arrived",
				m->u.files_done.count, (unsigned long long)m->u.files_done.total,
				rx->files, (unsigned long long)rx->total));
	rx->done = true;
	return 1;
}

int chan_rx_feed(struct chan_rx *rx, const struct chan_msg *m, ckpt_err *err)
{
	switch (m->type) {
	case CHAN_MSG_FILE_BEGIN: return rx_file_begin(rx, &m->u.file_begin, err);
	case CHAN_MSG_FILE_DATA: return rx_file_data(rx, m, err);
	case CHAN_MSG_FILE_END: return rx_file_end(rx, m, err);
	case CHAN_MSG_FILES_DONE: return rx_files_done(rx, m, err);
	default:
		return rx_fail(
			rx,
			err_set(err, CKPT_EPROTO,
				"%s in the middle of the image transfer (expected a file message)",
				chan_type_name(m->type)));
	}
}

int chan_recv_files(struct chan *c, int dirfd, const struct chan_limits *lim,
		    struct chan_rx *rx_ret, ckpt_err *err)
{
	struct chan_rx rx;
	struct chan_msg m;
	int r;

	chan_rx_init(&rx, dirfd, lim);
	for (;;) {
		r = chan_recv(c, &m, err);
		if (r < 0)
			break;
		if (m.type == CHAN_MSG_ERROR) {
			r = chan_peer_error(c, &m, err);
			break;
		}
		r = chan_rx_feed(&rx, &m, err);
		if (r < 0) {
			err_prefix(err, "migration peer %s", c->addr);
			break;
		}
		if (r == 1) {
			r = 0;
			break;
		}
	}
	chan_rx_abort(&rx);
	if (rx_ret)
		*rx_ret = rx;
	return r;
}
