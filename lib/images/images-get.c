/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The images reader: what a read holds, through the getters and as JSON
 * (`ckpt inspect`), and what the archive code asks of it (archive-int.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include "base/error.h"
#include "images-int.h"
#include "archive-int.h"
#include "base/jsonw.h"

/* The statistics' keys and names, indexed by ST_* (images-int.h). */
static const struct stat_desc {
	ckpt_image_stat key;
	const char *name;
	bool restore;
} stat_descs[ST_NR] = {
	[ST_FREEZING] = { CKPT_STAT_FREEZING_TIME, "freezing_time_us", false },
	[ST_FROZEN] = { CKPT_STAT_FROZEN_TIME, "frozen_time_us", false },
	[ST_MEMDUMP] = { CKPT_STAT_MEMDUMP_TIME, "memdump_time_us", false },
	[ST_MEMWRITE] = { CKPT_STAT_MEMWRITE_TIME, "memwrite_time_us", false },
	[ST_PAGES_SCANNED] = { CKPT_STAT_PAGES_SCANNED, "pages_scanned", false },
	[ST_PAGES_SKIPPED_PARENT] = { CKPT_STAT_PAGES_SKIPPED_PARENT, "pages_skipped_parent",
				      false },
	[ST_PAGES_WRITTEN] = { CKPT_STAT_PAGES_WRITTEN, "pages_written", false },
	[ST_IRMAP] = { CKPT_STAT_IRMAP_RESOLVE_TIME, "irmap_resolve_time_us", false },
	[ST_PAGES_LAZY] = { CKPT_STAT_PAGES_LAZY, "pages_lazy", false },
	[ST_PAGE_PIPES] = { CKPT_STAT_PAGE_PIPES, "page_pipes", false },
	[ST_PAGE_PIPE_BUFS] = { CKPT_STAT_PAGE_PIPE_BUFS, "page_pipe_bufs", false },
	[ST_SHPAGES_SCANNED] = { CKPT_STAT_SHPAGES_SCANNED, "shpages_scanned", false },
	[ST_SHPAGES_SKIPPED_PARENT] = { CKPT_STAT_SHPAGES_SKIPPED_PARENT, "shpages_skipped_parent",
					false },
	[ST_SHPAGES_WRITTEN] = { CKPT_STAT_SHPAGES_WRITTEN, "shpages_written", false },
	[ST_PAGES_COMPARED] = { CKPT_STAT_PAGES_COMPARED, "pages_compared", true },
	[ST_PAGES_SKIPPED_COW] = { CKPT_STAT_PAGES_SKIPPED_COW, "pages_skipped_cow", true },
	[ST_FORKING] = { CKPT_STAT_FORKING_TIME, "forking_time_us", true },
	[ST_RESTORE] = { CKPT_STAT_RESTORE_TIME, "restore_time_us", true },
	[ST_PAGES_RESTORED] = { CKPT_STAT_PAGES_RESTORED, "pages_restored", true },
};

/* ---- getters ---- */

uint32_t ckpt_image_info_version(const ckpt_image_info *info)
{
	return info ? info->img_version : 0;
}

uint64_t ckpt_image_info_total_bytes(const ckpt_image_info *info)
{
	return info ? info->total_bytes : 0;
}

size_t ckpt_image_info_nr_processes(const ckpt_image_info *info)
{
	return info ? info->n_procs : 0;
}

static const struct img_proc *proc_at(const ckpt_image_info *info, size_t i)
{
	return info && i < info->n_procs ? &info->procs[i] : NULL;
}

pid_t ckpt_image_info_pid(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? (pid_t)p->pid : -1;
}

pid_t ckpt_image_info_ppid(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? (pid_t)p->ppid : -1;
}

const char *ckpt_image_info_comm(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->comm : NULL;
}

ckpt_task_state ckpt_image_info_state(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	if (!p)
		return CKPT_TASK_UNKNOWN;
	switch (p->state) {
	case CKPT_TASK_ALIVE:
	case CKPT_TASK_DEAD:
	case CKPT_TASK_STOPPED:
	case CKPT_TASK_ZOMBIE: return (ckpt_task_state)p->state;
	default: return CKPT_TASK_UNKNOWN;
	}
}

uint32_t ckpt_image_info_exit_code(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->exit_code : 0;
}

size_t ckpt_image_info_nr_threads(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->nr_threads : 0;
}

uint64_t ckpt_image_info_pages(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->pages : 0;
}

uint64_t ckpt_image_info_memory_bytes(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->memory_bytes : 0;
}

uint64_t ckpt_image_info_nr_files(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->nr_files : 0;
}

bool ckpt_image_info_has_dump_stats(const ckpt_image_info *info)
{
	return info && info->has_dump_stats;
}

bool ckpt_image_info_has_restore_stats(const ckpt_image_info *info)
{
	return info && info->has_restore_stats;
}

static int stat_index(ckpt_image_stat key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(stat_descs); i++)
		if (stat_descs[i].key == key)
			return (int)i;
	return -1;
}

int ckpt_image_info_stat(const ckpt_image_info *info, ckpt_image_stat key, uint64_t *ret_value)
{
	int i = stat_index(key);

	if (!info || !ret_value || i < 0)
		return CKPT_EINVAL;
	if (!info->stat_has[i])
		return CKPT_ENOTSUP;
	*ret_value = info->stat_val[i];
	return 0;
}

const char *ckpt_image_stat_name(ckpt_image_stat key)
{
	int i = stat_index(key);

	return i < 0 ? NULL : stat_descs[i].name;
}

const char *ckpt_image_info_cmdline(const ckpt_image_info *info, size_t i)
{
	const struct img_proc *p = proc_at(info, i);

	return p ? p->cmdline : NULL;
}

/* ---- JSON ---- */

static const char *state_name(uint32_t state)
{
	switch (state) {
	case CKPT_TASK_ALIVE: return "alive";
	case CKPT_TASK_DEAD: return "dead";
	case CKPT_TASK_STOPPED: return "stopped";
	case CKPT_TASK_ZOMBIE: return "zombie";
	default: return "unknown";
	}
}

/* CRIU's internal values, as the inventory records them (not the RPC's). */
static const char *const lsm_names[] = { "none", "selinux", "apparmor" };
static const char *const lock_names[] = { "iptables", "nftables", "skip" };

/* A known value by name, else the number. */
static void jw_enum(struct jsonw *w, const char *key, uint32_t v, const char *const *names,
		    size_t n)
{
	if (v < n)
		jw_string(w, key, names[v]);
	else
		jw_uint(w, key, v);
}

static const char *fd_type_name(uint32_t t)
{
	static const char *const names[] = {
		[FD_UND] = "UND",
		[FD_REG] = "REG",
		[FD_PIPE] = "PIPE",
		[FD_FIFO] = "FIFO",
		[FD_INETSK] = "INETSK",
		[FD_UNIXSK] = "UNIXSK",
		[FD_EVENTFD] = "EVENTFD",
		[FD_EVENTPOLL] = "EVENTPOLL",
		[FD_INOTIFY] = "INOTIFY",
		[FD_SIGNALFD] = "SIGNALFD",
		[FD_PACKETSK] = "PACKETSK",
		[FD_TTY] = "TTY",
		[FD_FANOTIFY] = "FANOTIFY",
		[FD_NETLINKSK] = "NETLINKSK",
		[FD_NS] = "NS",
		[FD_TUNF] = "TUNF",
		[FD_EXT] = "EXT",
		[FD_TIMERFD] = "TIMERFD",
		[FD_MEMFD] = "MEMFD",
		[FD_BPFMAP] = "BPFMAP",
		[FD_PIDFD] = "PIDFD",
	};

	return t < ARRAY_SIZE(names) && names[t] ? names[t] : "UNKNOWN";
}

/* A NUL-separated list (argv, environ) as an array of strings. */
static void jw_nul_list(struct jsonw *w, const char *key, const char *p, size_t len)
{
	size_t i = 0;

	jw_array_begin(w, key);
	while (i < len) {
		size_t n = strnlen(p + i, len - i);

		if (n || i + n < len)
			jw_stringn(w, NULL, p + i, n);
		i += n + 1;
	}
	jw_array_end(w);
}

static const char *sk_type_name(uint32_t t)
{
	switch (t) {
	case SOCK_STREAM: return "STREAM";
	case SOCK_DGRAM: return "DGRAM";
	case SOCK_SEQPACKET: return "SEQPACKET";
	case SOCK_RAW: return "RAW";
	default: return "?";
	}
}

static const char *tcp_state_name(uint32_t st)
{
	static const char *const names[] = { "?",	   "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
					     "FIN_WAIT1",  "FIN_WAIT2",	  "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT", "LAST_ACK",	  "LISTEN",    "CLOSING" };

	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

/* What an open file is, for people: a path, "pipe:[N]", "socket:[N]" or "[type]". */
static void file_desc(const ckpt_image_info *info, uint32_t id, uint32_t type, char *buf,
		      size_t size)
{
	const struct img_fent *e = img_fent_find(info, id);

	if (e && e->path && (type == FD_REG || type == FD_UNIXSK)) {
		snprintf(buf, size, "%s", e->path);
		return;
	}
	if (e && type == FD_FIFO) {
		const struct img_fent *r = img_fent_find(info, e->ino);

		if (r && r->path) {
			snprintf(buf, size, "%s", r->path);
			return;
		}
	}
	if (e && (type == FD_PIPE || type == FD_FIFO)) {
		snprintf(buf, size, "pipe:[%" PRIu32 "]", e->pipe_id);
		return;
	}
	if (e && e->socket) {
		snprintf(buf, size, "socket:[%" PRIu32 "]", e->ino);
		return;
	}
	if (!e && type == FD_REG) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "[%s]", fd_type_name(type));
	for (char *c = buf + 1; *c && *c != ']'; c++)
		*c = (char)((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
}

static void put_files(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char desc[IMG_PATH_MAX + 32], fdname[16];

	jw_array_begin(w, "files");
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct img_fd *fd = &p->fds[i];

		snprintf(fdname, sizeof(fdname), "%" PRIu32, fd->fd);
		file_desc(info, fd->id, fd->type, desc, sizeof(desc));
		jw_object_begin(w, NULL);
		jw_string(w, "fd", fdname);
		jw_string(w, "type", fd_type_name(fd->type));
		jw_string(w, "path", desc);
		jw_object_end(w);
	}
	if (p->has_fs) {
		static const char *const what[] = { "cwd", "root" };
		const uint32_t ids[] = { p->cwd_id, p->root_id };

		for (size_t i = 0; i < 2; i++) {
			file_desc(info, ids[i], FD_REG, desc, sizeof(desc));
			jw_object_begin(w, NULL);
			jw_string(w, "fd", what[i]);
			jw_string(w, "type", "DIR");
			jw_string(w, "path", desc);
			jw_object_end(w);
		}
	}
	if (p->has_mm && p->exe_id) {
		file_desc(info, p->exe_id, FD_REG, desc, sizeof(desc));
		jw_object_begin(w, NULL);
		jw_string(w, "fd", "exe");
		jw_string(w, "type", "REG");
		jw_string(w, "path", desc);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void put_sockets(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char buf[INET6_ADDRSTRLEN + 16];

	jw_array_begin(w, "sockets");
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct img_fent *e = img_fent_find(info, p->fds[i].id);

		if (!e || !e->socket)
			continue;
		jw_object_begin(w, NULL);
		jw_uint(w, "fd", p->fds[i].fd);
		switch (e->family) {
		case AF_INET:
		case AF_INET6:
			jw_string(w, "family", e->family == AF_INET ? "INET" : "INET6");
			jw_string(w, "protocol",
				  e->proto == IPPROTO_TCP ? "TCP" :
				  e->proto == IPPROTO_UDP ? "UDP" :
							    sk_type_name(e->sk_type));
			if (e->proto == IPPROTO_TCP)
				jw_string(w, "state", tcp_state_name(e->state));
			snprintf(buf, sizeof(buf), e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
				 e->src, e->src_port);
			jw_string(w, "local", buf);
			snprintf(buf, sizeof(buf), e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
				 e->dst, e->dst_port);
			jw_string(w, "remote", buf);
			break;
		case AF_UNIX:
			jw_string(w, "family", "UNIX");
			jw_string(w, "type", sk_type_name(e->sk_type));
			jw_string(w, "state", tcp_state_name(e->state));
			jw_string(w, "name", e->path ? e->path : "");
			jw_uint(w, "ino", e->ino);
			jw_uint(w, "peer", e->peer);
			break;
		case AF_PACKET:
			jw_string(w, "family", "PACKET");
			jw_string(w, "type", sk_type_name(e->sk_type));
			jw_uint(w, "protocol", ntohs((uint16_t)e->proto));
			break;
		default:
			jw_string(w, "family", "NETLINK");
			jw_uint(w, "protocol", e->proto);
			break;
		}
		jw_uint(w, "send_buf", e->sndbuf);
		jw_uint(w, "recv_buf", e->rcvbuf);
		jw_object_end(w);
	}
	jw_array_end(w);
}

/* What backs a memory map, the way `crit x mems` tells it. */
static void vma_resource(const ckpt_image_info *info, const struct img_vma *v, char *buf,
			 size_t size)
{
	const uint32_t st = v->status;
	char path[IMG_PATH_MAX + 32];

	buf[0] = '\0';
	if (st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		file_desc(info, (uint32_t)v->shmid, FD_REG, path, sizeof(path));
		if (v->pgoff)
			snprintf(buf, size, "%s + 0x%" PRIx64 "%s", path, v->pgoff,
				 st & VMA_FILE_SHARED ? " (s)" : "");
		else
			snprintf(buf, size, "%s%s", path, st & VMA_FILE_SHARED ? " (s)" : "");
	} else if (st & VMA_AREA_VDSO) {
		snprintf(buf, size, "[vdso]");
	} else if (st & VMA_AREA_VVAR) {
		snprintf(buf, size, "[vvar]");
	} else if (st & VMA_AREA_VSYSCALL) {
		snprintf(buf, size, "[vsyscall]");
	} else if (st & VMA_AREA_STACK) {
		snprintf(buf, size, "[stack]");
	} else if (v->flags & MAP_GROWSDOWN) {
		snprintf(buf, size, "[stack?]");
	} else if (st & VMA_AREA_HEAP) {
		snprintf(buf, size, "[heap]");
	} else if (st & VMA_AREA_SOCKET) {
		snprintf(buf, size, "[packet ring]");
	} else if (st & VMA_AREA_SYSVIPC) {
		snprintf(buf, size, "[sysv shm %" PRIu64 "]", v->shmid);
	} else if (st & VMA_AREA_AIORING) {
		snprintf(buf, size, "[aio]");
	} else if (st & VMA_AREA_MEMFD) {
		snprintf(buf, size, "[memfd]");
	} else if (st & VMA_ANON_SHARED) {
		snprintf(buf, size, "[shmem %" PRIu64 "]", v->shmid);
	}
	if (!(st & VMA_AREA_REGULAR) && strlen(buf) + 2 < size)
		strcat(buf, buf[0] ? " *" : "*"); /* not restored as a regular map */
}

static void put_mems(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	char buf[IMG_PATH_MAX + 64], prot[4];

	jw_array_begin(w, "mems");
	for (size_t i = 0; i < p->n_vmas; i++) {
		const struct img_vma *v = &p->vmas[i];

		snprintf(buf, sizeof(buf), "0x%" PRIx64, v->start);
		jw_object_begin(w, NULL);
		jw_string(w, "start", buf);
		snprintf(buf, sizeof(buf), "0x%" PRIx64, v->end);
		jw_string(w, "end", buf);
		prot[0] = v->prot & 1 ? 'r' : '-';
		prot[1] = v->prot & 2 ? 'w' : '-';
		prot[2] = v->prot & 4 ? 'x' : '-';
		prot[3] = '\0';
		jw_string(w, "prot", prot);
		vma_resource(info, v, buf, sizeof(buf));
		jw_string(w, "resource", buf);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void put_proc(struct jsonw *w, const ckpt_image_info *info, const struct img_proc *p)
{
	jw_object_begin(w, NULL);
	jw_uint(w, "pid", p->pid);
	jw_uint(w, "ppid", p->ppid);
	jw_uint(w, "pgid", p->pgid);
	jw_uint(w, "sid", p->sid);
	jw_string(w, "comm", p->comm ? p->comm : "");
	jw_string(w, "state", state_name(p->state));
	jw_uint(w, "exit_code", p->exit_code);
	jw_uint(w, "threads", p->nr_threads);
	jw_uint(w, "pages", p->pages);
	jw_uint(w, "pages_in_parent", p->pages_parent);
	jw_uint(w, "memory_bytes", p->memory_bytes);
	jw_uint(w, "files", p->nr_files);
	if (p->has_pagemap)
		jw_uint(w, "pages_id", p->pages_id);
	if (p->has_files_id)
		jw_uint(w, "files_id", p->files_id);
	if (info->flags & CKPT_IMAGE_READ_CMDLINE) {
		if (p->has_argv)
			jw_nul_list(w, "cmdline", p->argv, p->argv_len);
		else
			jw_null(w, "cmdline"); /* not in these images (a parent's, lazy, or none) */
	}
	if (info->flags & CKPT_IMAGE_READ_ENV) {
		if (p->has_env)
			jw_nul_list(w, "environment", p->env, p->env_len);
		else
			jw_null(w, "environment");
	}
	if (info->flags & CKPT_IMAGE_READ_FILES)
		put_files(w, info, p);
	if (info->flags & CKPT_IMAGE_READ_SOCKETS)
		put_sockets(w, info, p);
	if (info->flags & CKPT_IMAGE_READ_MEMS) {
		if (p->has_mm && p->exe_id) {
			char exe[IMG_PATH_MAX + 32];

			file_desc(info, p->exe_id, FD_REG, exe, sizeof(exe));
			jw_string(w, "exe", exe);
		}
		put_mems(w, info, p);
	}
	jw_object_end(w);
}

static void put_stats(struct jsonw *w, const ckpt_image_info *info, bool restore)
{
	jw_object_begin(w, restore ? "restore_stats" : "dump_stats");
	for (size_t i = 0; i < ARRAY_SIZE(stat_descs); i++) {
		if (stat_descs[i].restore != restore || !info->stat_has[i])
			continue;
		jw_uint(w, stat_descs[i].name, info->stat_val[i]);
	}
	jw_object_end(w);
}

/* The members of the images' JSON object, into an object w has open. */
void image_info_put_json(struct jsonw *w, const ckpt_image_info *info)
{
	uint64_t pages = 0, bytes = 0;
	size_t i;

	jw_uint(w, "images_version", info->img_version);
	if (info->has_fdinfo_per_id)
		jw_bool(w, "fdinfo_per_id", info->fdinfo_per_id);
	if (info->has_ns_per_id)
		jw_bool(w, "ns_per_id", info->ns_per_id);
	if (info->has_lsmtype)
		jw_enum(w, "lsm", info->lsmtype, lsm_names, ARRAY_SIZE(lsm_names));
	if (info->has_root_cg_set)
		jw_uint(w, "root_cg_set", info->root_cg_set);
	if (info->has_dump_uptime)
		jw_uint(w, "dump_uptime", info->dump_uptime);
	if (info->has_pre_dump_mode)
		jw_uint(w, "pre_dump_mode", info->pre_dump_mode);
	if (info->has_tcp_close)
		jw_bool(w, "tcp_close", info->tcp_close);
	if (info->has_network_lock_method)
		jw_enum(w, "network_lock_method", info->network_lock_method, lock_names,
			ARRAY_SIZE(lock_names));
	if (info->dump_criu_run_id)
		jw_string(w, "dump_criu_run_id", info->dump_criu_run_id);
	jw_array_begin(w, "processes");
	for (i = 0; i < info->n_procs; i++) {
		put_proc(w, info, &info->procs[i]);
		pages += info->procs[i].pages;
		bytes += info->procs[i].memory_bytes;
	}
	jw_array_end(w);
	jw_uint(w, "pages", pages);
	jw_uint(w, "memory_bytes", bytes);
	jw_uint(w, "total_bytes", info->total_bytes);
	if (info->has_dump_stats)
		put_stats(w, info, false);
	if (info->has_restore_stats)
		put_stats(w, info, true);
}

char *ckpt_image_info_to_json(const ckpt_image_info *info)
{
	struct jsonw w;

	if (!info)
		return NULL;
	jw_init(&w, true);
	jw_object_begin(&w, NULL);
	image_info_put_json(&w, info);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* The root process's argv as read from its memory (NUL-separated), or NULL. */
const char *image_info_root_argv(const ckpt_image_info *info, size_t *ret_len)
{
	if (!info || !info->n_procs || !info->procs[0].has_argv)
		return NULL;
	*ret_len = info->procs[0].argv_len;
	return info->procs[0].argv;
}

const char *image_info_root_cwd(const ckpt_image_info *info)
{
	const struct img_fent *e;

	if (!info || !info->n_procs || !info->procs[0].has_fs)
		return NULL;
	e = img_fent_find(info, info->procs[0].cwd_id);
	return e ? e->path : NULL;
}

uint64_t image_info_pages_in_parent(const ckpt_image_info *info)
{
	uint64_t n = 0;

	for (size_t i = 0; info && i < info->n_procs; i++)
		n += info->procs[i].pages_parent;
	return n;
}

const char *image_info_run_id(const ckpt_image_info *info)
{
	return info ? info->dump_criu_run_id : NULL;
}
