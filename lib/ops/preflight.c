/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The preflight of a dump (ckpt_preflight_dump): what in the tree CRIU would
 * refuse, seen from /proc before anything is dumped. Read-only: it opens files under /proc and
 * one sock_diag netlink socket per network namespace of the tree (in a
 * short-lived helper thread that enters it, never the caller's thread).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "rpc/client.h"
#include "diagnose/diagnose.h"
#include "base/error.h"
#include "base/jsonw.h"
#include "rpc/opts.h"
#include "proc/procfs.h"

#define MAX_TASKS 4096
#define MAX_FINDINGS 256
#define MAX_FDS 65536 /* fds looked at over the whole tree */
#define MAX_PROCS (1 << 20)

/* ---- the report ---- */

struct finding {
	ckpt_finding_kind kind;
	pid_t pid;
	const char *id;
	int hint_opt;
	char *what;
	char *hint;
};

struct ckpt_preflight {
	pid_t pid;
	size_t nr_tasks;
	struct finding *f;
	size_t n;
	bool oom;
};

static void add(ckpt_preflight *p, ckpt_finding_kind kind, pid_t pid, const char *id, int hint_opt,
		const char *hint, const char *fmt, ...) _printf_(7, 8);
/*
 * A finding's two strings are owned by p->f[p->n] once p->n counts it, and are freed with p
 * (ckpt_preflight_free) or here when the second strdup fails. gcc 12's analyzer models the
 * store at the symbolic index p->f[p->n] as one slot it overwrites with every call, so it
 * reports the previous finding's strings as leaked in add() and in its callers: false
 * malloc-leaks, silenced over add() and the loop that calls it most (collect_fds).
 */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static void add(ckpt_preflight *p, ckpt_finding_kind kind, pid_t pid, const char *id, int hint_opt,
		const char *hint, const char *fmt, ...)
{
	char what[512], clean[512];
	struct finding *nf, *f;
	va_list ap;

	if (p->oom || p->n >= MAX_FINDINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	sanitize_copy(clean, sizeof(clean), what);
	nf = realloc(p->f, (p->n + 1) * sizeof(*p->f));
	if (!nf) {
		p->oom = true;
		return;
	}
	p->f = nf;
	f = &p->f[p->n];
	*f = (struct finding){ .kind = kind, .pid = pid, .id = id, .hint_opt = hint_opt };
	f->what = strdup(clean);
	f->hint = strdup(hint);
	if (!f->what || !f->hint) {
		free(f->what);
		free(f->hint);
		p->oom = true;
		return;
	}
	p->n++;
}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif

void ckpt_preflight_free(ckpt_preflight *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].what);
		free(p->f[i].hint);
	}
	free(p->f);
	free(p);
}

static const struct finding *at(const ckpt_preflight *p, size_t i)
{
	return p && i < p->n ? &p->f[i] : NULL;
}

size_t ckpt_preflight_nr_tasks(const ckpt_preflight *p)
{
	return p ? p->nr_tasks : 0;
}

size_t ckpt_preflight_nr_findings(const ckpt_preflight *p)
{
	return p ? p->n : 0;
}

ckpt_finding_kind ckpt_preflight_kind(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->kind : 0;
}

pid_t ckpt_preflight_pid(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->pid : -1;
}

const char *ckpt_preflight_id(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->id : NULL;
}

const char *ckpt_preflight_what(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->what : NULL;
}

const char *ckpt_preflight_hint(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->hint : NULL;
}

int ckpt_preflight_hint_opt(const ckpt_preflight *p, size_t i)
{
	return at(p, i) ? at(p, i)->hint_opt : 0;
}

char *ckpt_preflight_to_json(const ckpt_preflight *p)
{
	struct jsonw w;

	if (!p)
		return NULL;
	jw_init(&w, false);
	jw_object_begin(&w, NULL);
	jw_int(&w, "pid", p->pid);
	jw_uint(&w, "tasks", p->nr_tasks);
	jw_array_begin(&w, "findings");
	for (size_t i = 0; i < p->n; i++) {
		const struct finding *f = &p->f[i];

		jw_object_begin(&w, NULL);
		jw_int(&w, "kind", f->kind);
		jw_string(&w, "id", f->id);
		jw_int(&w, "pid", f->pid);
		jw_string(&w, "what", f->what);
		jw_string(&w, "hint", f->hint);
		jw_int(&w, "hint_opt", f->hint_opt);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* ---- the tree ---- */

struct fd_info {
	int fd;
	char link[256];	   /* readlink of /proc/PID/fd/N */
	unsigned long ino; /* socket:[INO] */
	int pts;	   /* /dev/pts/N, else -1 */
	int ptmx_index;	   /* a pty master's tty-index, else -1 */
};

struct task {
	struct procfs_stat st;
	ino_t netns, ipcns;
	struct fd_info *fds;
	size_t nfds;
};

struct scan {
	const ckpt_client *c;
	const ckpt_opts *o;
	struct diag_opts opts;
	ckpt_preflight *p;
	struct task *t;
	size_t nt;
	size_t fds_left;
};

static void tasks_free(struct scan *s)
{
	for (size_t i = 0; i < s->nt; i++)
		free(s->t[i].fds);
	free(s->t);
}

/* All processes' (pid, ppid); then the root and its descendants, in breadth-first order. */
static int collect_tree(struct scan *s, pid_t root, ckpt_err *err)
{
	_cleanup_free_ struct procfs_stat *all = NULL;
	size_t nall = 0, cap = 0;
	DIR *d = procfs_opendir_at(PROCFS_ROOT, NULL);
	struct dirent *e;

	if (!d)
		return err_sys(err, CKPT_ESYS, errno, "preflight: cannot read /proc");
	while ((e = readdir(d)) && nall < MAX_PROCS) {
		struct procfs_stat st;
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || procfs_stat((pid_t)pid, &st) < 0)
			continue;
		if (nall == cap) {
			size_t ncap = cap ? cap * 2 : 512;
			struct procfs_stat *na = realloc(all, ncap * sizeof(*all));

			if (!na) {
				closedir(d);
				return err_set(err, CKPT_ENOMEM, "preflight: out of memory");
			}
			all = na;
			cap = ncap;
		}
		all[nall++] = st;
	}
	closedir(d);

	s->t = calloc(MAX_TASKS, sizeof(*s->t));
	if (!s->t)
		return err_set(err, CKPT_ENOMEM, "preflight: out of memory");
	for (size_t i = 0; i < nall; i++)
		if (all[i].pid == root)
			s->t[s->nt++].st = all[i];
	if (!s->nt)
		return err_set(err, CKPT_ENOTARGET, "preflight: pid %d: no such process",
			       (int)root);
	for (size_t k = 0; k < s->nt; k++)
		for (size_t i = 0; i < nall && s->nt < MAX_TASKS; i++)
			if (all[i].ppid == s->t[k].st.pid && all[i].pid != root)
				s->t[s->nt++].st = all[i];
	return 0;
}

/* The task's fds (the first MAX_FDS of the tree), with what each is. */
static void collect_fds(struct scan *s, struct task *t)
{
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	if (t->st.state == 'Z' || t->st.state == 'X')
		return;
	d = procfs_opendir_at(t->st.pid, "fd");
	if (!d)
		return;
	while ((e = readdir(d)) && s->fds_left) {
		struct fd_info fi = { .pts = -1, .ptmx_index = -1 };
		char lpath[96];
		ssize_t n;
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || fd < 0 || e->d_name[0] == '\0')
			continue;
		fi.fd = (int)fd;
		snprintf(lpath, sizeof(lpath), "fd/%ld", fd);
		n = procfs_readlink_at(t->st.pid, lpath, fi.link, sizeof(fi.link));
		if (n < 0)
			continue;
		if (sscanf(fi.link, "socket:[%lu]", &fi.ino) != 1)
			fi.ino = 0;
		if (!strncmp(fi.link, "/dev/pts/", 9) && fi.link[9] >= '0' && fi.link[9] <= '9')
			fi.pts = atoi(fi.link + 9);
		if (!strcmp(fi.link, "/dev/ptmx") || !strcmp(fi.link, "/dev/pts/ptmx")) {
			char info[1024], *p;

			snprintf(lpath, sizeof(lpath), "fdinfo/%ld", fd);
			if (procfs_read_at(t->st.pid, lpath, info, sizeof(info)) > 0 &&
			    (p = strstr(info, "tty-index:")))
				fi.ptmx_index = atoi(p + 10);
		}
		if (t->nfds == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fd_info *na = realloc(t->fds, ncap * sizeof(*na));

			if (!na) {
				s->p->oom = true;
				break;
			}
			t->fds = na;
			cap = ncap;
		}
		t->fds[t->nfds++] = fi;
		s->fds_left--;
	}
	closedir(d);
}

static const char shell_job_hint[] =
	"The tree was started from a shell: its root is not a session leader, or it uses a terminal whose "
	"other end is outside the tree. Set CKPT_OPT_SHELL_JOB (and again at restore), or start the program "
	"in a session of its own without a terminal (setsid, stdio not a tty).";

static void check_tty(struct scan *s)
{
	const struct task *root = &s->t[0];

	if (diag_opt_on(&s->opts, CKPT_OPT_SHELL_JOB))
		return;
	if (root->st.session != root->st.pid)
		add(s->p, CKPT_FINDING_NOT_SESSION_LEADER, root->st.pid, "shell-job",
		    CKPT_OPT_SHELL_JOB, shell_job_hint,
		    "pid %d ('%s') is not a session leader (its session is %d's)",
		    (int)root->st.pid, root->st.comm, (int)root->st.session);
	for (size_t i = 0; i < s->nt; i++) {
		const struct task *t = &s->t[i];

		for (size_t j = 0; j < t->nfds; j++) {
			int pts = t->fds[j].pts;
			bool master_inside = false;

			if (pts < 0)
				continue;
			for (size_t a = 0; a < s->nt && !master_inside; a++)
				for (size_t b = 0; b < s->t[a].nfds; b++)
					if (s->t[a].fds[b].ptmx_index == pts)
						master_inside = true;
			if (master_inside)
				continue;
			add(s->p, CKPT_FINDING_TTY, t->st.pid, "shell-job", CKPT_OPT_SHELL_JOB,
			    shell_job_hint,
			    "pid %d ('%s') has the terminal %s open on fd %d; its master is outside the tree",
			    (int)t->st.pid, t->st.comm, t->fds[j].link, t->fds[j].fd);
			break; /* one per task */
		}
	}
}

/* ---- TCP: /proc/PID/net/tcp{,6} of each network namespace of the tree ---- */

static bool tcp_connected_state(unsigned st)
{
	/* ESTABLISHED SYN_SENT FIN_WAIT1 FIN_WAIT2 CLOSE_WAIT LAST_ACK CLOSING: CRIU's "connected" */
	return st == 1 || st == 2 || st == 4 || st == 5 || st == 8 || st == 9 || st == 11;
}

static const char *tcp_state_name(unsigned st)
{
	static const char *const names[] = { "?",	   "established", "syn-sent",  "syn-recv",
					     "fin-wait1",  "fin-wait2",	  "time-wait", "close",
					     "close-wait", "last-ack",	  "listen",    "closing" };
	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

/* "0100007F:9C40" (IPv4, or 32 hex digits for IPv6) as "127.0.0.1:40000" */
static void fmt_addr(const char *hex, char *buf, size_t size)
{
	unsigned port = 0;
	const char *colon = strchr(hex, ':');

	if (!colon)
		snprintf(buf, size, "?");
	else if (colon - hex == 8) {
		unsigned a = (unsigned)strtoul(hex, NULL, 16);

		sscanf(colon + 1, "%x", &port);
		snprintf(buf, size, "%u.%u.%u.%u:%u", a & 0xff, a >> 8 & 0xff, a >> 16 & 0xff,
			 a >> 24, port);
	} else {
		sscanf(colon + 1, "%x", &port);
		snprintf(buf, size, "[%.*s]:%u", (int)(colon - hex), hex, port);
	}
}

static bool tcp_in_tree(const struct scan *s, unsigned long ino, const struct task **rt,
			const struct fd_info **rf)
{
	for (size_t i = 0; i < s->nt; i++)
		for (size_t j = 0; j < s->t[i].nfds; j++)
			if (s->t[i].fds[j].ino == ino) {
				*rt = &s->t[i];
				*rf = &s->t[i].fds[j];
				return true;
			}
	return false;
}

/* Returns how many connected TCP sockets of the tree it saw; reports them unless told not to. */
static size_t check_tcp(struct scan *s, bool report)
{
	static const char hint[] =
		"The tree has established TCP connections: set CKPT_OPT_TCP_ESTABLISHED to "
		"checkpoint them (and again at restore), or CKPT_OPT_TCP_CLOSE to drop them.";
	size_t seen = 0;

	for (size_t i = 0; i < s->nt; i++) {
		bool first_in_ns = true;

		for (size_t k = 0; k < i; k++)
			if (s->t[k].netns == s->t[i].netns)
				first_in_ns = false;
		if (!first_in_ns)
			continue;
		for (int v6 = 0; v6 < 2; v6++) {
			FILE *f;
			char line[512];

			f = procfs_fopen_at(s->t[i].st.pid, v6 ? "net/tcp6" : "net/tcp");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				char local[80], remote[80], la[96], ra[96];
				unsigned st;
				unsigned long ino;
				const struct task *t;
				const struct fd_info *fi;

				if (sscanf(line, " %*d: %79s %79s %x %*s %*s %*s %*u %*u %lu",
					   local, remote, &st, &ino) != 4)
					continue;
				if (!ino || !tcp_connected_state(st) ||
				    !tcp_in_tree(s, ino, &t, &fi))
					continue;
				seen++;
				if (!report)
					continue;
				fmt_addr(local, la, sizeof(la));
				fmt_addr(remote, ra, sizeof(ra));
				add(s->p, CKPT_FINDING_TCP_ESTABLISHED, t->st.pid,
				    "tcp-established", CKPT_OPT_TCP_ESTABLISHED, hint,
				    "pid %d ('%s') fd %d: TCP %s -> %s, %s", (int)t->st.pid,
				    t->st.comm, fi->fd, la, ra, tcp_state_name(st));
			}
			fclose(f);
		}
	}
	return seen;
}

/* ---- file locks: the "lock:" lines of each fd's fdinfo ---- */

static void check_locks(struct scan *s)
{
	static const char hint[] =
		"A task of the tree holds file locks (flock or POSIX; a lock fd inherited from "
		"a wrapper such as flock(1) counts too): set CKPT_OPT_FILE_LOCKS to checkpoint "
		"them, and again at restore.";

	if (diag_opt_on(&s->opts, CKPT_OPT_FILE_LOCKS))
		return;
	for (size_t i = 0; i < s->nt; i++) {
		const struct task *t = &s->t[i];

		for (size_t j = 0; j < t->nfds; j++) {
			const struct fd_info *fi = &t->fds[j];
			char path[96], info[4096], type[16] = "", mode[16] = "", *p;

			if (fi->ino || !strncmp(fi->link, "pipe:", 5) ||
			    !strncmp(fi->link, "anon_inode:", 11))
				continue;
			snprintf(path, sizeof(path), "fdinfo/%d", fi->fd);
			if (procfs_read_at(t->st.pid, path, info, sizeof(info)) <= 0 ||
			    !(p = strstr(info, "lock:")))
				continue;
			/* "lock:\t1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF" */
			if (sscanf(p, "lock: %*d: %15s %*s %15s", type, mode) != 2)
				snprintf(type, sizeof(type), "?");
			add(s->p, CKPT_FINDING_FILE_LOCK, t->st.pid, "file-locks",
			    CKPT_OPT_FILE_LOCKS, hint,
			    "pid %d ('%s') fd %d (%s) holds a %s %s lock", (int)t->st.pid,
			    t->st.comm, fi->fd, fi->link, type, mode);
		}
	}
}

/* ---- unix sockets: their peers, from sock_diag in the tree's network namespace ---- */

struct diag_sock {
	int nsfd; /* the namespace to enter, -1: ours */
	int fd;	  /* the netlink socket, -1 on failure */
	int sys;
};

static void *open_diag_in_ns(void *arg)
{
	struct diag_sock *j = arg;

	if (j->nsfd >= 0 && setns(j->nsfd, CLONE_NEWNET) < 0) {
		j->sys = errno;
		return NULL;
	}
	j->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (j->fd < 0)
		j->sys = errno;
	return NULL;
}

/* A sock_diag socket in pid's network namespace (a helper thread enters it; this thread never does). */
static int diag_socket(pid_t pid, bool ours)
{
	struct diag_sock j = { .nsfd = -1, .fd = -1 };
	pthread_t th;

	if (!ours) {
		j.nsfd = procfs_open_at(pid, "ns/net", O_RDONLY);
		if (j.nsfd < 0)
			return -1;
	}
	if (pthread_create(&th, NULL, open_diag_in_ns, &j) == 0)
		pthread_join(th, NULL);
	if (j.nsfd >= 0)
		close(j.nsfd);
	return j.fd;
}

struct usk {
	bool found;
	int type;
	uint32_t peer;
	char name[110]; /* "@abstract" or a path, "" if none */
};

/* Ask for one unix socket by inode. */
static int unix_lookup(int nl, uint32_t ino, struct usk *ret)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX,
		       .udiag_states = ~0u,
		       .udiag_ino = ino,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER,
		       .udiag_cookie = { ~0u, ~0u } },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		char buf[8192];
		struct nlmsghdr align;
	} u;
	ssize_t n;

	memset(ret, 0, sizeof(*ret));
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	n = recv(nl, u.buf, sizeof(u.buf), 0);
	if (n < 0)
		return -1;
	for (struct nlmsghdr *h = &u.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		struct unix_diag_msg *m;
		struct rtattr *a;
		int len;

		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -1; /* NLMSG_ERROR: not in this namespace, or gone */
		m = NLMSG_DATA(h);
		if (m->udiag_ino != ino)
			continue;
		ret->found = true;
		ret->type = m->udiag_type;
		len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			size_t alen = RTA_PAYLOAD(a);
			const char *v = RTA_DATA(a);

			if (a->rta_type == UNIX_DIAG_PEER && alen >= 4)
				memcpy(&ret->peer, v, 4);
			else if (a->rta_type == UNIX_DIAG_NAME && alen > 0) {
				char tmp[110];
				size_t k = alen < sizeof(tmp) - 1 ? alen : sizeof(tmp) - 1;

				memcpy(tmp, v, k);
				tmp[k] = '\0';
				if (v[0] == '\0') { /* abstract */
					tmp[0] = '@';
					for (size_t x = 1; x < k; x++)
						if (!tmp[x])
							tmp[x] = '@';
				}
				sanitize_copy(ret->name, sizeof(ret->name), tmp);
			}
		}
		return 0;
	}
	return -1;
}

static bool sk_in_tree(const struct scan *s, unsigned long ino)
{
	for (size_t i = 0; i < s->nt; i++)
		for (size_t j = 0; j < s->t[i].nfds; j++)
			if (s->t[i].fds[j].ino == ino)
				return true;
	return false;
}

/* The inode is in o's CKPT_OPT_UNIX_SK_INO list: the caller declared it external. */
static bool sk_declared(const struct scan *s, uint32_t ino)
{
	const CriuOpts *pb = s->o->pb;

	for (size_t i = 0; i < pb->n_unix_sk_ino; i++)
		if (pb->unix_sk_ino[i]->inode == ino)
			return true;
	return false;
}

static void check_unix(struct scan *s)
{
	ino_t my_net = procfs_ns_ino(0, "net");

	for (size_t i = 0; i < s->nt; i++) {
		const struct task *t = &s->t[i];
		int nl = -1;

		for (size_t j = 0; j < t->nfds; j++) {
			const struct fd_info *fi = &t->fds[j];
			struct usk sk, peer;
			char peer_name[128];
			const char *kind;

			if (!fi->ino || fi->ino > UINT32_MAX)
				continue;
			if (nl < 0)
				nl = diag_socket(t->st.pid, t->netns == my_net);
			if (nl < 0)
				break;
			if (unix_lookup(nl, (uint32_t)fi->ino, &sk) < 0 || !sk.found || !sk.peer)
				continue; /* not a unix socket, or not connected */
			if (sk_in_tree(s, sk.peer) || sk_declared(s, (uint32_t)fi->ino))
				continue;
			if (unix_lookup(nl, sk.peer, &peer) == 0 && peer.found && peer.name[0])
				snprintf(peer_name, sizeof(peer_name), "%s", peer.name);
			else
				peer_name[0] = '\0';
			kind = sk.type == SOCK_DGRAM	 ? "datagram" :
			       sk.type == SOCK_SEQPACKET ? "seqpacket" :
							   "stream";
			if (sk.type == SOCK_DGRAM && peer_name[0]) {
				if (diag_opt_on(&s->opts, CKPT_OPT_EXT_UNIX_SK))
					continue;
				add(s->p, CKPT_FINDING_EXT_UNIX_SK, t->st.pid, "ext-unix-sk",
				    CKPT_OPT_EXT_UNIX_SK,
				    "A unix socket of the tree is connected to a peer outside it: set CKPT_OPT_EXT_UNIX_SK "
				    "to dump it as external; at restore the peer must exist again at its path.",
				    "pid %d ('%s') fd %d: a datagram unix socket (inode %lu) connected to %s (inode %u), "
				    "outside the tree",
				    (int)t->st.pid, t->st.comm, fi->fd, fi->ino, peer_name,
				    (unsigned)sk.peer);
			} else {
				char hint[CKPT_ERR_HINT_MAX];

				snprintf(
					hint, sizeof(hint),
					"CRIU cannot checkpoint one end of a %s unix connection (even with "
					"CKPT_OPT_EXT_UNIX_SK). Close it before the dump, or name inode %lu with "
					"CKPT_OPT_UNIX_SK_INO and hand a socket back at restore with CKPT_OPT_INHERIT_FD.",
					peer_name[0] ? kind : "nameless", fi->ino);
				add(s->p, CKPT_FINDING_EXT_UNIX_SK, t->st.pid,
				    peer_name[0] ? "unix-stream-half" : "unix-nameless",
				    CKPT_OPT_UNIX_SK_INO, hint,
				    "pid %d ('%s') fd %d: a %s unix socket (inode %lu) connected to %s (inode %u), "
				    "outside the tree",
				    (int)t->st.pid, t->st.comm, fi->fd, kind, fi->ino,
				    peer_name[0] ? peer_name : "a socket without a name",
				    (unsigned)sk.peer);
			}
		}
		if (nl >= 0)
			close(nl);
	}
}

/* ---- tasks of other users ---- */

/* CAP_SYS_RESOURCE (24) in the calling thread's effective set */
static bool have_cap_sys_resource(void)
{
	char buf[4096], *p;
	unsigned long long eff;

	if (procfs_read_at(PROCFS_THREAD_SELF, "status", buf, sizeof(buf)) <= 0 ||
	    !(p = strstr(buf, "CapEff:")) || sscanf(p + 7, " %llx", &eff) != 1)
		return false;
	return eff >> 24 & 1;
}

static void check_uids(struct scan *s)
{
	uid_t r, e, sv;
	gid_t gr, ge, gs;

	if (have_cap_sys_resource() || getresuid(&r, &e, &sv) < 0 || getresgid(&gr, &ge, &gs) < 0)
		return;
	for (size_t i = 0; i < s->nt; i++) {
		const struct task *t = &s->t[i];
		unsigned u[3], g[3];

		if (t->st.state == 'Z' || procfs_ids(t->st.pid, "Uid:", u) < 0 ||
		    procfs_ids(t->st.pid, "Gid:", g) < 0)
			continue;
		/* the kernel's rule for prlimit() on another task: its uids and gids all equal our real ones */
		if (u[0] == r && u[1] == r && u[2] == r && g[0] == gr && g[1] == gr && g[2] == gr)
			continue;
		add(s->p, CKPT_FINDING_OTHER_UID, t->st.pid, "other-uid", 0,
		    "CRIU needs CAP_SYS_RESOURCE to read the resource limits of a task of another user, and this "
		    "process (whose rights criu gets) lacks it: run it with CAP_SYS_RESOURCE (full root), or "
		    "checkpoint a tree whose tasks all run as one user. CKPT_OPT_UNPRIVILEGED does not help here.",
		    "pid %d ('%s') runs as uid %u gid %u; criu would run as uid %u gid %u without CAP_SYS_RESOURCE",
		    (int)t->st.pid, t->st.comm, u[1], g[1], (unsigned)r, (unsigned)gr);
	}
}

/* ---- SysV shared memory in criu's IPC namespace ---- */

static void check_shm(struct scan *s)
{
	if (!s->t[0].ipcns || s->t[0].ipcns != procfs_ns_ino(0, "ipc"))
		return; /* the tree has an IPC namespace of its own: CRIU dumps its segments */
	for (size_t i = 0; i < s->nt; i++) {
		const struct task *t = &s->t[i];
		char line[512];
		FILE *f;

		f = procfs_fopen_at(t->st.pid, "maps");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *k = strstr(line, "/SYSV");
			unsigned long start = strtoul(line, NULL, 16);

			if (!k)
				continue;
			k[strcspn(k, " \n")] = '\0';
			add(s->p, CKPT_FINDING_SYSV_SHM, t->st.pid, "shm-host-ipc", 0,
			    "SysV shared memory of the host's IPC namespace cannot be checkpointed (PostgreSQL uses "
			    "it): run the tree in an IPC namespace of its own (unshare --ipc, or a container).",
			    "pid %d ('%s') has SysV shared memory (key 0x%s) attached at 0x%lx, in criu's IPC namespace",
			    (int)t->st.pid, t->st.comm, k + 5, start);
			break; /* one per task */
		}
		fclose(f);
	}
}

/* ---- the network lock's programs on criu's PATH ---- */

/* criu's PATH: the client's environment, else transport.c's default. NULL: unknown (service mode). */
static const char *criu_path_var(const ckpt_client *c)
{
	if (c && c->service_path)
		return NULL;
	if (c && c->env) {
		for (char **e = c->env; *e; e++)
			if (!strncmp(*e, "PATH=", 5))
				return *e + 5;
		return ""; /* an environment without PATH: execvp's default is not CRIU's to rely on */
	}
	return CKPT_DEFAULT_PATH;
}

static bool on_path(const char *pathvar, const char *prog)
{
	for (const char *p = pathvar; *p;) {
		size_t n = strcspn(p, ":");
		char full[4096];

		if (n && n < sizeof(full) - strlen(prog) - 2) {
			snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, prog);
			if (faccessat(AT_FDCWD, full, X_OK, AT_EACCESS) == 0)
				return true;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

static void check_lock_tools(struct scan *s, size_t tcp_connected)
{
	const char *pathvar = criu_path_var(s->c);
	bool own_netns = s->t[0].netns && s->t[0].netns != procfs_ns_ino(0, "net");
	const char *need[2] = { 0 };
	char hint[CKPT_ERR_HINT_MAX];

	if (!pathvar)
		return;
	if (s->opts.network_lock && s->opts.network_lock != CKPT_NETWORK_LOCK_IPTABLES)
		return;
	if (own_netns) {
		/* the lock of a whole namespace: iptables-restore (and ip6tables-restore) inside it */
		need[0] = "iptables-restore";
		need[1] = "ip6tables-restore";
	} else if (tcp_connected && diag_opt_on(&s->opts, CKPT_OPT_TCP_ESTABLISHED)) {
		/* the lock of each connection: `sh -c "iptables ..."` */
		need[0] = "iptables";
	} else {
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need) && need[i]; i++) {
		if (on_path(pathvar, need[i]))
			continue;
		snprintf(
			hint, sizeof(hint),
			"CRIU's network lock (iptables, its default) runs %s, which criu cannot find on its PATH. Set "
			"CKPT_OPT_NETWORK_LOCK=nftables, or =skip when nothing can reach the tree's network during the "
			"checkpoint, or install iptables.",
			need[i]);
		add(s->p, CKPT_FINDING_NETWORK_LOCK_TOOL, s->t[0].st.pid, "network-lock",
		    CKPT_OPT_NETWORK_LOCK, hint,
		    "%s is not on criu's PATH (%s); the network lock runs it for %s", need[i],
		    *pathvar ? pathvar : "empty",
		    own_netns ? "a tree in its own network namespace" :
				"established TCP connections");
		break; /* the first missing one is enough */
	}
}

int ckpt_preflight_dump(const ckpt_client *c, const ckpt_opts *o, ckpt_preflight **ret,
			ckpt_err *err)
{
	struct scan s = { .c = c, .o = o, .fds_left = MAX_FDS };
	char why[256];
	int64_t pid = 0;
	size_t tcp;
	int r;

	assert_return(o && ret, err, "preflight: NULL argument");
	if (ckpt_opts_get_int(o, CKPT_OPT_PID, &pid, NULL) != 1 || pid <= 0)
		return err_set(err, CKPT_EINVAL,
			       "preflight: no target pid set (ckpt_opts_set_pid)");
	opts_to_diag(o, &s.opts);
	s.p = calloc(1, sizeof(*s.p));
	if (!s.p)
		return err_set(err, CKPT_ENOMEM, "preflight: out of memory");
	s.p->pid = (pid_t)pid;
	if (procfs_undumpable((pid_t)pid, why, sizeof(why))) {
		/* the only finding: the rest would be about a tree no dump may take */
		add(s.p, CKPT_FINDING_UNDUMPABLE, (pid_t)pid, "undumpable", 0, UNDUMPABLE_HINT,
		    "%s", why);
		s.p->nr_tasks = 1;
		if (s.p->oom) {
			ckpt_preflight_free(s.p);
			return err_set(err, CKPT_ENOMEM, "preflight: out of memory");
		}
		*ret = s.p;
		return 0;
	}
	r = collect_tree(&s, (pid_t)pid, err);
	if (r < 0)
		goto fail;
	s.p->nr_tasks = s.nt;
	/* the false malloc-leak of add()'s findings (above add()) */
#ifndef __clang__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
	for (size_t i = 0; i < s.nt; i++) {
		s.t[i].netns = procfs_ns_ino(s.t[i].st.pid, "net");
		s.t[i].ipcns = procfs_ns_ino(s.t[i].st.pid, "ipc");
		collect_fds(&s, &s.t[i]);
	}
#ifndef __clang__
#pragma GCC diagnostic pop
#endif
	check_tty(&s);
	tcp = check_tcp(&s, !diag_opt_on(&s.opts, CKPT_OPT_TCP_ESTABLISHED) &&
				    !diag_opt_on(&s.opts, CKPT_OPT_TCP_CLOSE));
	check_locks(&s);
	check_unix(&s);
	check_uids(&s);
	check_shm(&s);
	check_lock_tools(&s, tcp);
	if (s.p->oom) {
		r = err_set(err, CKPT_ENOMEM, "preflight: out of memory");
		goto fail;
	}
	tasks_free(&s);
	*ret = s.p;
	return 0;
fail:
	tasks_free(&s);
	ckpt_preflight_free(s.p);
	return r;
}
