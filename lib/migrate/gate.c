/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The receiver's gate: connections authenticated concurrently, each with its own deadline and limits. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#include "gate.h"
#include "migrate.h"

struct worker {
	bool used;
	bool done;
	pthread_t th;
	int fd;
	char host[INET6_ADDRSTRLEN];
	struct gate *g;
};

struct node {
	struct gate_item it;
	struct node *next;
};

struct gate {
	struct gate_cfg cfg;
	pthread_t acceptor;
	bool started;
	int wake[2];  /* main thread -> acceptor: stop */
	int ready[2]; /* a thread -> main thread: an item is queued */
	pthread_mutex_t mu;
	bool stop;
	struct worker w[GATE_PENDING];
	struct node *head, *tail;
	unsigned notes;	       /* refusals queued */
	unsigned long dropped; /* over a limit, closed at once; reported in the next note */
};

static void host_of(int fd, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(buf, n, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)n);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, (socklen_t)n);
}

/* Queue an item (under the lock); a refusal beyond the cap is only counted. */
static void enqueue(struct gate *g, const struct gate_item *it)
{
	struct node *n;
	char b = 1;

	if (it->kind == GATE_REFUSED && g->notes >= GATE_NOTES_MAX) {
		g->dropped++;
		return;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		if (it->ch)
			chan_free(it->ch);
		if (it->fd >= 0)
			close(it->fd);
		return;
	}
	n->it = *it;
	n->next = NULL;
	if (g->tail)
		g->tail->next = n;
	else
		g->head = n;
	g->tail = n;
	if (it->kind == GATE_REFUSED)
		g->notes++;
	if (write(g->ready[1], &b, 1) < 0) {
		/* full: the main thread has been told already */
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct gate *g = w->g;
	struct gate_item it = { .fd = w->fd };
	ckpt_err e = CKPT_ERR_INIT;

	snprintf(it.host, sizeof(it.host), "%s", w->host);
	if (chan_open(w->fd, CHAN_ACCEPTING, g->cfg.cr, g->cfg.auth_timeout_ms, &it.ch, &e) == 0 &&
	    chan_recv(it.ch, &it.first, &e) == 0) {
		chan_set_timeout(it.ch, g->cfg.timeout_ms);
		it.kind = GATE_CONN;
	} else {
		it.kind = GATE_REFUSED;
		snprintf(it.text, sizeof(it.text), "%s%s", it.ch ? chan_peer(it.ch) : "",
			 it.ch ? ": " : "");
		snprintf(it.text + strlen(it.text), sizeof(it.text) - strlen(it.text), "%s", e.msg);
		chan_free(it.ch);
		it.ch = NULL;
	}
	pthread_mutex_lock(&g->mu);
	if (it.kind == GATE_REFUSED || g->stop) {
		chan_free(it.ch);
		it.ch = NULL;
		close(it.fd);
		it.fd = -1;
	}
	if (!g->stop)
		enqueue(g, &it);
	w->fd = -1;
	w->done = true;
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Under the lock: join finished workers, then whether host may have one more; a free slot or NULL. */
static struct worker *slot_for(struct gate *g, const char *host)
{
	struct worker *free_w = NULL;
	unsigned all = 0, same = 0;

	for (size_t i = 0; i < GATE_PENDING; i++) {
		struct worker *w = &g->w[i];

		if (w->used && w->done) {
			pthread_join(w->th, NULL);
			w->used = false;
		}
		if (!w->used) {
			if (!free_w)
				free_w = w;
			continue;
		}
		all++;
		if (!strcmp(w->host, host))
			same++;
	}
	if (all >= GATE_PENDING || same >= GATE_PER_HOST)
		return NULL;
	return free_w;
}

static void admit(struct gate *g, int fd)
{
	char host[INET6_ADDRSTRLEN];
	pthread_attr_t attr;
	struct worker *w;
	bool ok = false;

	host_of(fd, host, sizeof(host));
	pthread_mutex_lock(&g->mu);
	w = slot_for(g, host);
	if (w) {
		*w = (struct worker){ .used = true, .fd = fd, .g = g };
		snprintf(w->host, sizeof(w->host), "%s", host);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 512 * 1024);
		ok = pthread_create(&w->th, &attr, worker_main, w) == 0;
		pthread_attr_destroy(&attr);
		if (!ok)
			w->used = false;
	}
	if (!ok) {
		struct gate_item it = { .kind = GATE_REFUSED, .fd = -1 };

		snprintf(it.host, sizeof(it.host), "%s", host);
		snprintf(it.text, sizeof(it.text),
			 "%s: closed at once: %s connections in authentication (at most %u from "
			 "one address, %u in all)",
			 host, w ? "cannot start a thread for it" : "too many", GATE_PER_HOST,
			 GATE_PENDING);
		enqueue(g, &it);
		close(fd);
	}
	pthread_mutex_unlock(&g->mu);
}

static void *acceptor_main(void *arg)
{
	struct gate *g = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = g->cfg.listen_fd, .events = POLLIN },
				       { .fd = g->wake[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(g->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				poll(NULL, 0, 50); /* out of fds: breathe, the others finish */
			continue;
		}
		if (mig_tcp_tune(fd, g->cfg.timeout_ms, "receive", NULL) < 0) {
			close(fd);
			continue;
		}
		admit(g, fd);
	}
	return NULL;
}

int gate_new(const struct gate_cfg *cfg, struct gate **ret, ckpt_err *err)
{
	struct gate *g = calloc(1, sizeof(*g));
	int e;

	if (!g)
		return err_set(err, CKPT_ENOMEM, "receive: out of memory");
	g->cfg = *cfg;
	g->wake[0] = g->wake[1] = g->ready[0] = g->ready[1] = -1;
	pthread_mutex_init(&g->mu, NULL);
	if (pipe2(g->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(g->ready, O_CLOEXEC | O_NONBLOCK) < 0) {
		e = errno;
		gate_free(g);
		return err_sys(err, CKPT_ESYS, e, "receive: pipe");
	}
	e = pthread_create(&g->acceptor, NULL, acceptor_main, g);
	if (e) {
		gate_free(g);
		return err_sys(err, CKPT_ESYS, e, "receive: cannot start the acceptor thread");
	}
	g->started = true;
	*ret = g;
	return 0;
}

/* Take the first item, if any: true with it in *ret. */
static bool pop(struct gate *g, struct gate_item *ret)
{
	struct node *n;

	pthread_mutex_lock(&g->mu);
	n = g->head;
	if (n) {
		g->head = n->next;
		if (!g->head)
			g->tail = NULL;
		if (n->it.kind == GATE_REFUSED)
			g->notes--;
		*ret = n->it;
		if (ret->kind == GATE_REFUSED && g->dropped && !g->head) {
			snprintf(ret->text + strlen(ret->text),
				 sizeof(ret->text) - strlen(ret->text),
				 " (and %lu more refused, not listed)", g->dropped);
			g->dropped = 0;
		}
	}
	pthread_mutex_unlock(&g->mu);
	free(n);
	return n != NULL;
}

int gate_next(struct gate *g, uint64_t deadline_us, struct gate_item *ret, ckpt_err *err)
{
	for (;;) {
		struct pollfd p = { .fd = g->ready[0], .events = POLLIN };
		char buf[64];
		int n;

		if (pop(g, ret))
			return 0;
		n = poll(&p, 1, poll_ms_until(deadline_us));
		if (n < 0 && errno != EINTR)
			return err_sys(err, CKPT_ESYS, errno, "receive: poll");
		if (n == 0)
			return err_set(err, CKPT_ETIMEDOUT, "receive: nothing arrived in time");
		while (read(g->ready[0], buf, sizeof(buf)) > 0)
			;
	}
}

void gate_item_close(struct gate_item *it)
{
	chan_free(it->ch);
	it->ch = NULL;
	if (it->fd >= 0)
		close(it->fd);
	it->fd = -1;
}

void gate_free(struct gate *g)
{
	struct gate_item it;
	char b = 1;

	if (!g)
		return;
	if (g->started) {
		if (write(g->wake[1], &b, 1) < 0) {
			/* cannot fail on an empty pipe */
		}
		pthread_join(g->acceptor, NULL);
	}
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	for (size_t i = 0; i < GATE_PENDING; i++)
		if (g->w[i].used && !g->w[i].done && g->w[i].fd >= 0)
			shutdown(g->w[i].fd, SHUT_RDWR); /* its chan_open fails now */
	pthread_mutex_unlock(&g->mu);
	for (size_t i = 0; i < GATE_PENDING; i++)
		if (g->w[i].used)
			pthread_join(g->w[i].th, NULL);
	while (pop(g, &it))
		gate_item_close(&it);
	for (int i = 0; i < 2; i++) {
		if (g->wake[i] >= 0)
			close(g->wake[i]);
		if (g->ready[i] >= 0)
			close(g->ready[i]);
	}
	pthread_mutex_destroy(&g->mu);
	free(g);
}
