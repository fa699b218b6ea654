#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs shellcheck over every shell script of the tree (*.sh, files with a sh/bash shebang, the bash
# completion): one "case: shellcheck:FILE: ok|FAILED" line each, the findings under a failed one.
# Settings in .shellcheckrc; a finding is fixed, or disabled on its line with a comment saying why.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
command -v shellcheck >/dev/null || { echo "check-shell: shellcheck missing (scripts/deps.sh)" >&2; exit 2; }

scripts() {
	local f
	git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
		[ -f "$f" ] || continue
		case $f in
		*.sh | cli/ckpt.bash-completion) echo "$f" ;;
		*) head -n1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba)?sh( |$)' && echo "$f" ;;
		esac
	done
}

failed=0
while IFS= read -r f; do
	if out=$(shellcheck -f gcc "$f" 2>&1); then
		echo "case: shellcheck:$f: ok"
	else
		echo "case: shellcheck:$f: FAILED"
		while IFS= read -r line; do echo "  $line"; done <<<"$out"
		failed=1
	fi
done < <(scripts)
exit $failed
