#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one program as upstream's run.sh does (setsid, stdin /dev/null, output appended
# to a log) under a deadline, as a child subreaper, and kills what it leaves behind.
# The program gets only fds 0-2.
#
#   run-one.py TIMEOUT_S LOG -- PROGRAM ARGS...
#
# Prints one word on stdout: exit:N, signal:N or timeout; then, if the program left
# processes behind (they were reparented to us and killed), " leftover:N".
# Exit status: 0 once the program was run (whatever its outcome), 2 on bad usage.
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children():
    me = str(os.getpid())
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        # the fields after the command name (which may hold spaces): state ppid ...
        if st[st.rindex(")") + 2:].split()[1] == me:
            out.append(int(d))
    return out


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print("usage: run-one.py TIMEOUT_S LOG -- PROGRAM ARGS...", file=sys.stderr)
        return 2
    timeout, log, argv = float(sys.argv[1]), sys.argv[2], sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"run-one: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}",
              file=sys.stderr)
        return 2
    logfd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(logfd, 1)
            os.dup2(logfd, 2)
            # nothing else of ours or of whoever started us: an inherited descriptor with
            # a lock on it (flock(1)'s) would make CRIU refuse to dump ("file locks")
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            os.execv(argv[0], argv)
        except OSError as e:
            os.write(2, f"run-one: cannot run {argv[0]}: {e.strerror}\n".encode())
        os._exit(127)
    os.close(logfd)
    deadline = time.monotonic() + timeout
    result = None
    while result is None:
        # reap the program and any orphan reparented to us
        try:
            p, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            p = 0
        if p == pid:
            if os.WIFEXITED(status):
                result = f"exit:{os.WEXITSTATUS(status)}"
            else:
                result = f"signal:{os.WTERMSIG(status)}"
            break
        if p:
            continue
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            result = "timeout"
            break
        time.sleep(0.02)
    # What the program left running (restored trees, namespace holders): killed and reaped.
    left = set()
    for _ in range(100):
        kids = children()
        if not kids:
            break
        for k in kids:
            left.add(k)
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
        while True:
            try:
                p, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if p == 0:
                break
    print(result + (f" leftover:{len(left)}" if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
