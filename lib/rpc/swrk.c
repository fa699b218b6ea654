/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* posix_spawn of `criu swrk 3`: a bare environment, stdio, the socket and the request's fds, nothing else. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "base/compat.h"
#include "swrk.h"

static const char *const default_env[] = { "PATH=" CKPT_DEFAULT_PATH, NULL };

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/*
 * Fork twice: the grandchild execs criu and is reparented away, so a
 * self-dump's tree does not hold its own criu. Only async-signal-safe calls
 * between fork and exec. Returns 0 once the intermediate child was reaped
 * (it exits at once); an exec failure in the grandchild shows as EOF.
 */
static int spawn_detached(const char *criu, char *const argv[], char *const envp[],
			  const int moves[][2], size_t n_moves, int min_fd, int *ret_errno)
{
	pid_t mid = fork(), w;
	int st;

	if (mid < 0) {
		*ret_errno = errno;
		return -1;
	}
	if (mid == 0) {
		sigset_t none;
		pid_t g = fork();

		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < n_moves; i++) {
			int s = moves[i][0] >= 0 ? moves[i][0] : open("/dev/null", O_RDWR);

			if (s < 0 || dup2(s, moves[i][1]) < 0)
				_exit(127);
		}
		for (int fd = min_fd; fd < 65536; fd++)
			close(fd);
		execve(criu, argv, envp);
		_exit(127);
	}
	while ((w = waitpid(mid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != mid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		*ret_errno = w == mid ? ECHILD : errno;
		return -1;
	}
	return 0;
}

/* The fds the child gets: each staged (dup'ed) above min_fd, then moved to its number there. */
struct staging {
	int staged[SWRK_PASS_MAX + 4];
	int moves[SWRK_PASS_MAX + 4][2]; /* {staged fd or -1 for /dev/null, fd in the child} */
	size_t n_staged, n_moves;
	int min_fd; /* the child closes everything from here up */
};

static void stage_add(struct staging *st, int s, int dst)
{
	st->staged[st->n_staged++] = s;
	st->moves[st->n_moves][0] = s;
	st->moves[st->n_moves++][1] = dst;
}

/*
 * Stage stdio, sock (>= 0) as SWRK_FD and fds[i].src as fds[i].dst above the
 * target range, so no dup2 clobbers a source. On failure the caller closes
 * what was staged.
 */
static int stage_fds(struct staging *st, const struct spawn_cfg *cfg, int sock,
		     const struct fdpass *fds, size_t n, ckpt_err *err)
{
	st->n_staged = st->n_moves = 0;
	st->min_fd = SWRK_PASS_BASE;
	if (n > SWRK_PASS_MAX)
		return err_set(err, CKPT_EINVAL, "spawn: %zu fds to pass to criu (at most %d)", n,
			       SWRK_PASS_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(st->staged); i++)
		st->staged[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if (fds[i].dst < 3 || fds[i].dst == SWRK_FD || fds[i].dst >= 1024)
			return err_set(err, CKPT_EINVAL,
				       "spawn: fd number %d in criu is not usable", fds[i].dst);
		if (fds[i].dst >= st->min_fd)
			st->min_fd = fds[i].dst + 1;
	}
	for (int i = 0; i < 3; i++) {
		int s = -1;

		if (cfg->stdio[i] >= 0 &&
		    (s = fcntl(cfg->stdio[i], F_DUPFD_CLOEXEC, st->min_fd)) < 0)
			return err_sys(err, CKPT_ESYS, errno, "spawn: stdio fd %d", cfg->stdio[i]);
		stage_add(st, s, i);
	}
	if (sock >= 0) {
		int s = fcntl(sock, F_DUPFD_CLOEXEC, st->min_fd);

		if (s < 0)
			return err_sys(err, CKPT_ESYS, errno, "spawn: fcntl");
		stage_add(st, s, SWRK_FD);
	}
	for (size_t i = 0; i < n; i++) {
		int s = fcntl(fds[i].src, F_DUPFD_CLOEXEC, st->min_fd);

		if (s < 0)
			return err_sys(err, CKPT_EINVAL, errno, "spawn: fd %d to pass to criu",
				       fds[i].src);
		stage_add(st, s, fds[i].dst);
	}
	return 0;
}

/* posix_spawn criu as our child with the staged fds and default signals; *ret_pid its pid. */
static int spawn_attached(const struct spawn_cfg *cfg, char *const argv[], char *const envp[],
			  const struct staging *st, pid_t *ret_pid, ckpt_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r, e;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return err_sys(err, CKPT_ENOMEM, r, "spawn: posix_spawn_file_actions_init");
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return err_sys(err, CKPT_ENOMEM, r, "spawn: posix_spawnattr_init");
	}
	for (size_t i = 0; r == 0 && i < st->n_moves; i++)
		r = st->moves[i][0] >= 0 ? posix_spawn_file_actions_adddup2(&fa, st->moves[i][0],
									    st->moves[i][1]) :
					   posix_spawn_file_actions_addopen(&fa, st->moves[i][1],
									    "/dev/null", O_RDWR, 0);
	if (r == 0)
		r = compat_spawn_closefrom(&fa, st->min_fd);
	sigemptyset(&none);
	sigfillset(&all);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (r == 0) {
		r = posix_spawn(ret_pid, cfg->criu, &fa, &attr, argv, envp);
		e = r;
	} else {
		e = r;
		r = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return err_sys(err, r > 0 ? CKPT_ECRIU_EXEC : CKPT_ENOMEM, e,
			       r > 0 ? "spawn: cannot run '%s %s'" :
				       "spawn: preparing to run '%s %s'",
			       cfg->criu, argv[1]);
	return 0;
}

/*
 * Spawn criu with argv: sock (>= 0) as SWRK_FD, stdio, fds[i].src as
 * fds[i].dst, nothing else; *ret_pid gets its pid (0 when detached).
 */
static int spawn_core(const struct spawn_cfg *cfg, char *const argv[], int sock,
		      const struct fdpass *fds, size_t n, pid_t *ret_pid, ckpt_err *err)
{
	struct staging st;
	int r, e = 0;
	pid_t pid = 0;
	char *const *envp = cfg->env ? cfg->env : (char *const *)default_env;

	r = stage_fds(&st, cfg, sock, fds, n, err);
	if (r == 0 && cfg->detach) {
		if (spawn_detached(cfg->criu, argv, envp, (const int(*)[2])st.moves, st.n_moves,
				   st.min_fd, &e) < 0)
			r = err_sys(err, CKPT_ECRIU_EXEC, e, "spawn: cannot start '%s %s' detached",
				    cfg->criu, argv[1]);
	} else if (r == 0) {
		r = spawn_attached(cfg, argv, envp, &st, &pid, err);
	}
	close_all(st.staged, st.n_staged);
	if (r < 0)
		return r;
	*ret_pid = pid;
	return 0;
}

int swrk_spawn(const struct spawn_cfg *cfg, const struct fdpass *fds, size_t n, struct conn *conn,
	       ckpt_err *err)
{
	char *argv[] = { "criu", "swrk", "3", NULL };
	int sv[2] = { -1, -1 };
	pid_t pid = 0;
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, CKPT_ESYS, errno, "spawn: socketpair");
	r = spawn_core(cfg, argv, sv[1], fds, n, &pid, err);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	conn->fd = sv[0];
	conn->criu = (struct proc)PROC_INIT;
	if (pid > 0) {
		r = proc_adopt_child_errno(&conn->criu, pid);
		if (r < 0) {
			/* no pidfd (a kernel before 5.3): criu cannot be handled safely */
			close(sv[0]);
			conn->fd = -1;
			return err_sys(
				err, CKPT_ESYS, -r,
				"spawn: cannot open a pidfd for criu (pid %d; libckpt needs Linux 5.4)",
				(int)pid);
		}
	}
	if (fcntl(conn->fd, F_SETFL, O_NONBLOCK) < 0)
		return err_sys(err, CKPT_ESYS, errno, "spawn: fcntl");
	return 0;
}

int criu_spawn_argv(const struct spawn_cfg *cfg, char *const argv[], const struct fdpass *fds,
		    size_t n, struct proc *ret, ckpt_err *err)
{
	pid_t pid = 0;
	int r;

	if (cfg->detach || !argv || !argv[0] || !argv[1])
		return err_set(err, CKPT_EINVAL,
			       "spawn: a criu command and an attached child are expected");
	r = spawn_core(cfg, argv, -1, fds, n, &pid, err);
	if (r < 0)
		return r;
	*ret = (struct proc)PROC_INIT;
	r = proc_adopt_child_errno(ret, pid);
	if (r < 0)
		return err_from_errno(err, r, "spawn: cannot open a pidfd for criu %s (pid %d)",
				      argv[1], (int)pid);
	return 0;
}

/*
 * The keeper: a child of ours that forks criu and waits for it, so that its
 * exit status reaches us through a pipe even when the caller reaps every
 * child it has (a subreaper's waitpid(-1)). Between fork and exec, and in
 * the keeper, only async-signal-safe calls. The keeper blocks signals, holds
 * no fd of ours but its two pipes, and waits for our go (the daemon's pidfd
 * is open) before it reaps, so the pid cannot be reused under that pidfd.
 */
static void keeper_main(const char *criu, char *const argv[], char *const envp[],
			const struct staging *st, int status_w, int go_r)
{
	sigset_t all, none;
	pid_t g;
	int wst = 0;
	char c;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	g = fork();
	if (g == 0) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &dfl, NULL);
		for (size_t i = 0; i < st->n_moves; i++) {
			int s = st->moves[i][0] >= 0 ? st->moves[i][0] : open("/dev/null", O_RDWR);

			if (s < 0 || dup2(s, st->moves[i][1]) < 0)
				_exit(127);
		}
		for (int fd = st->min_fd; fd < 65536; fd++)
			close(fd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(criu, argv, envp);
		_exit(127);
	}
	for (int fd = 3; fd < 65536; fd++)
		if (fd != status_w && fd != go_r)
			close(fd);
	if (g < 0)
		_exit(1);
	if (write(status_w, &g, sizeof(g)) != (ssize_t)sizeof(g))
		_exit(1);
	while (read(go_r, &c, 1) < 0 && errno == EINTR)
		;
	while (waitpid(g, &wst, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	(void)!write(status_w, &wst, sizeof(wst));
	_exit(0);
}

int criu_spawn_kept(const struct spawn_cfg *cfg, char *const argv[], const struct fdpass *fds,
		    size_t n, struct kept *ret, ckpt_err *err)
{
	char *const *envp = cfg->env ? cfg->env : (char *const *)default_env;
	int status[2] = { -1, -1 }, go[2] = { -1, -1 }, r;
	struct staging st;
	struct pollfd p;
	pid_t keeper, g = 0;
	ssize_t got;

	*ret = (struct kept){ .keeper = PROC_INIT, .criu = PROC_INIT, .status_fd = -1 };
	if (cfg->detach || !argv || !argv[0] || !argv[1])
		return err_set(err, CKPT_EINVAL,
			       "spawn: a criu command and an attached child are expected");
	if (pipe2(status, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "spawn: pipe");
		goto out;
	}
	r = stage_fds(&st, cfg, -1, fds, n, err);
	if (r < 0) {
		close_all(st.staged, st.n_staged);
		goto out;
	}
	keeper = fork();
	if (keeper == 0)
		keeper_main(cfg->criu, argv, envp, &st, status[1], go[0]);
	close_all(st.staged, st.n_staged);
	if (keeper < 0) {
		r = err_sys(err, CKPT_ESYS, errno, "spawn: fork");
		goto out;
	}
	r = proc_adopt_child_errno(&ret->keeper, keeper);
	if (r < 0) {
		r = err_from_errno(err, r, "spawn: cannot open a pidfd for criu %s's keeper",
				   argv[1]);
		goto out;
	}
	close(status[1]);
	status[1] = -1;
	close(go[0]);
	go[0] = -1;
	/* the daemon's pid, then its pidfd, then the keeper may reap it */
	p = (struct pollfd){ .fd = status[0], .events = POLLIN };
	while (poll(&p, 1, 10000) < 0 && errno == EINTR)
		;
	got = read(status[0], &g, sizeof(g));
	if (got != (ssize_t)sizeof(g) || g <= 0) {
		r = err_set(err, CKPT_ECRIU_EXEC, "spawn: cannot start '%s %s'", cfg->criu,
			    argv[1]);
		goto out;
	}
	r = proc_open_errno(&ret->criu, g);
	if (r < 0) {
		r = err_from_errno(err, r, "spawn: cannot open a pidfd for criu %s (pid %d)",
				   argv[1], (int)g);
		goto out;
	}
	(void)!write(go[1], "g", 1);
	ret->status_fd = status[0];
	status[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (status[i] >= 0)
			close(status[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	if (r < 0)
		kept_kill(ret);
	return r;
}

int kept_status(struct kept *k, int *ret_status)
{
	ssize_t got;
	int st;

	if (k->status_fd < 0)
		return -1;
	do
		got = read(k->status_fd, &st, sizeof(st));
	while (got < 0 && errno == EINTR);
	close(k->status_fd);
	k->status_fd = -1;
	(void)proc_reap(&k->keeper, now_us() + 2000000);
	if (got != (ssize_t)sizeof(st))
		return -1;
	*ret_status = st;
	return 0;
}

void kept_kill(struct kept *k)
{
	if (k->criu.pidfd >= 0)
		(void)proc_signal_errno(&k->criu, SIGKILL);
	if (k->status_fd >= 0) {
		int st;

		(void)kept_status(k, &st); /* the keeper reaps criu, then exits */
	} else if (k->keeper.pid > 0) {
		(void)proc_reap(&k->keeper, now_us() + 2000000);
	}
	proc_close(&k->criu);
	proc_close(&k->keeper);
}
