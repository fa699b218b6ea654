#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library signals through pidfds only: a shipped build (no CKPT_VALGRIND_SIGNAL_FALLBACK)
# imports none of the calls that signal by pid or thread id.
#   check-no-kill.sh LIBCKPT_SO
set -uo pipefail
lib=${1:?usage: check-no-kill.sh LIBCKPT_SO}
undef=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//') || {
	echo "case: abi_no_signal_by_pid: FAILED"
	echo "  nm -D failed on $lib"
	exit 1
}
bad=$(grep -xE 'kill|tkill|tgkill|killpg|sigqueue|pthread_kill|raise' <<<"$undef" | tr '\n' ' ')
if [ -z "$bad" ]; then
	echo "case: abi_no_signal_by_pid: ok"
	exit 0
fi
echo "case: abi_no_signal_by_pid: FAILED"
echo "  $lib imports $bad(signals must go through pidfd_send_signal)"
exit 1
