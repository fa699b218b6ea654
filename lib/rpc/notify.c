/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Notifications: the callback table, ckpt_notify, and the send → notify/ack → final reply loop. */
#include <stdio.h>

#include "notify.h"
#include "request.h"
#include "transport.h"

struct ckpt_notify {
	const char *name;
	pid_t pid;
	int fd;
};

const char *ckpt_notify_name(const ckpt_notify *ev)
{
	return ev ? ev->name : NULL;
}

pid_t ckpt_notify_pid(const ckpt_notify *ev)
{
	return ev ? ev->pid : 0;
}

int ckpt_notify_take_fd(ckpt_notify *ev)
{
	int fd;

	if (!ev)
		return -1;
	fd = ev->fd;
	ev->fd = -1;
	return fd;
}

int notify_table_set(struct notify_table *t, const char *name, ckpt_notify_fn fn, void *userdata,
		     ckpt_err *err)
{
	struct notify_slot *slot = NULL;

	if (name && (!*name || strlen(name) > 64))
		return err_set(err, CKPT_EINVAL, "notify: '%s' is not a notification name", name);
	for (size_t i = 0; i < t->n; i++)
		if ((!name && !t->v[i].name) ||
		    (name && t->v[i].name && !strcmp(name, t->v[i].name)))
			slot = &t->v[i];
	if (!fn) {
		if (slot) {
			free(slot->name);
			*slot = t->v[--t->n];
		}
		return 0;
	}
	if (!slot) {
		if (t->n == CKPT_NOTIFY_MAX)
			return err_set(err, CKPT_EINVAL, "notify: more than %d callbacks",
				       CKPT_NOTIFY_MAX);
		slot = &t->v[t->n];
		slot->name = name ? strdup(name) : NULL;
		if (name && !slot->name)
			return err_set(err, CKPT_ENOMEM, "notify: out of memory");
		t->n++;
	}
	slot->fn = fn;
	slot->userdata = userdata;
	return 0;
}

void notify_table_free(struct notify_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	t->n = 0;
}

static const struct notify_slot *find_slot(const struct notify_table *t, const char *name)
{
	const struct notify_slot *any = NULL;

	for (size_t i = 0; t && i < t->n; i++) {
		if (!t->v[i].name)
			any = &t->v[i];
		else if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	}
	return any;
}

void exchange_init(struct exchange *x, const char *op, const struct notify_table *table,
		   const struct logger *log)
{
	memset(x, 0, sizeof(*x));
	x->op = op;
	x->table = table;
	x->log = log;
	x->pts_fd = -1;
}

void exchange_done(struct exchange *x)
{
	if (x->pts_fd >= 0)
		close(x->pts_fd);
	x->pts_fd = -1;
}

/* One notification: record what it says, run the hooks and the callback. 0 or the failure, err filled. */
static int dispatch(struct exchange *x, const CriuNotify *n, int fd, ckpt_err *err)
{
	const struct notify_slot *s = find_slot(x->table, n->script);
	ckpt_notify ev = { .name = n->script, .pid = n->has_pid ? n->pid : 0, .fd = fd };
	bool pts = !strcmp(n->script, "orphan-pts-master");
	int r = 0;

	log_at(x->log, CKPT_LOG_DEBUG, "%s: notification '%s' pid %d%s", x->op, n->script,
	       (int)ev.pid, fd >= 0 ? " with an fd" : "");
	if (!strcmp(n->script, "setup-namespaces")) {
		x->setup_ns_pid = ev.pid;
		if (x->on_root && ev.pid > 0)
			x->on_root(x->root_userdata, ev.pid);
	} else if (!strcmp(n->script, "post-restore"))
		x->post_restore_pid = ev.pid;
	else if (!strcmp(n->script, "post-dump"))
		x->post_dump_seen = true;
	if (x->on_setup_ns && !strcmp(n->script, "setup-namespaces")) {
		r = x->on_setup_ns(x->setup_ns_userdata, ev.pid, err);
		if (r < 0) {
			if (ev.fd >= 0)
				close(ev.fd);
			err_prefix(err, "%s", x->op);
			return r;
		}
	}
	if (s)
		r = s->fn(s->userdata, &ev);
	if (ev.fd >= 0) {
		if (pts && x->pts_fd < 0)
			x->pts_fd = ev.fd; /* for ckpt_client_take_pts_master */
		else
			close(ev.fd);
	}
	if (r < 0)
		return err_set(
			err, CKPT_ECALLBACK,
			"%s: the '%s' notification callback failed (returned %d); criu aborts",
			x->op, n->script, r);
	return 0;
}

int exchange_run(struct exchange *x, struct conn *conn, const CriuReq *req, CriuResp **ret,
		 ckpt_err *err)
{
	ckpt_err cb_detail = { .version = CKPT_ERR_VERSION };
	CriuResp *resp = NULL;
	int r, cb_err = 0;

	r = conn_send(conn, req, err);
	while (r == 0) {
		CriuReq ack;
		int fd = -1;

		r = conn_recv(conn, &resp, &fd, err);
		if (r < 0)
			break;
		if (resp->type != CRIU_REQ_TYPE__NOTIFY) {
			if (fd >= 0)
				close(fd);
			break;
		}
		/* a notification: run it (once one failed, refuse the rest) and answer */
		snprintf(x->last, sizeof(x->last), "%s", resp->notify->script);
		if (!cb_err)
			cb_err = dispatch(x, resp->notify, fd, &cb_detail);
		else if (fd >= 0)
			close(fd);
		criu_resp__free_unpacked(resp, NULL);
		resp = NULL;
		if (conn->deadline_us && now_us() >= conn->deadline_us) {
			/* the deadline passed while we ran it: no answer, so CRIU takes no further step */
			r = err_at(
				err, "notify",
				err_set(err, CKPT_ETIMEDOUT,
					"notify: the deadline passed during the '%s' notification",
					x->last));
			break;
		}
		request_notify_ack(&ack, cb_err == 0);
		r = conn_send(conn, &ack, err);
	}
	if (cb_err && (r == 0 || r == CKPT_ECRIU_DIED || r == CKPT_ETIMEDOUT)) {
		/* CRIU aborted (or just went away) because we said so: the callback's failure is the news */
		if (resp)
			criu_resp__free_unpacked(resp, NULL);
		err_copy(err, &cb_detail);
		return err_at(err, "notify", cb_err);
	}
	if (r < 0) {
		err_prefix(err, "%s", x->op);
		return r;
	}
	*ret = resp;
	return 0;
}
