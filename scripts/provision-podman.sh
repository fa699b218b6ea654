#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install bookworm's Podman 4.3.1 and what tests/podman needs (conmon, catatonit, the CNI
# plugins, busybox-static) when missing, and provision crun 1.28, Debian's libcriu.so.2
# and CRIU 4.2.1 from Debian testing (scripts/provision-crun.sh). Installing podman
# pulls in iptables: no test may rely on its absence.
#
#   scripts/provision-podman.sh     prints provision-crun.sh's assignments plus CKPT_PODMAN
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
log() { echo "provision-podman: $*" >&2; }

PKGS=(podman conmon catatonit containernetworking-plugins busybox-static)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || { log "no apt-get: install ${missing[*]}"; exit 3; }
	log "installing ${missing[*]} (Debian bookworm)"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
fi
podman=$(command -v podman) || { log "podman missing after the install"; exit 3; }
log "$("$podman" --version)"
"$HERE/provision-crun.sh"
printf 'CKPT_PODMAN=%q\n' "$podman"
