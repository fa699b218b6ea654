# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by tests/podman/test_podman.sh and bench/crun/run.sh: bookworm's Podman 4.3.1
# running a busybox counter container with crun 1.28 (Debian testing) and a chosen
# libcriu.so.2, set up as ../shared/runtimes.md section 7 has it: one crun wrapper per
# library (a private mount namespace with an empty cgroup.controllers for the hybrid
# cgroups, the testing loader, the library's dir first on the library path, criu 4.2.1
# first on PATH, LD_DEBUG=libs to show which libcriu.so.2 crun loaded), and Podman's
# state (containers.conf, storage.conf, graph and run roots) in private dirs.
#
# Needs: the variables of scripts/provision-podman.sh (eval'd), WORK (scratch dir).

PODMAN_SHM_LOCK_EXISTED="" PODMAN_CG_EXISTED=""

# podman_setup: config files, the busybox image, and $WORK/bin/criu.
podman_setup() {
	mkdir -p "$WORK/bin" "$WORK/storage" "$WORK/run" "$WORK/tmp" "$WORK/img"
	[ -e /dev/shm/libpod_lock ] && PODMAN_SHM_LOCK_EXISTED=1
	compgen -G '/sys/fs/cgroup/*/libpod_parent' >/dev/null && PODMAN_CG_EXISTED=1
	: >"$WORK/empty_controllers"
	printf 'network-lock nftables\n' >"$WORK/criu-nft.conf"
	ln -sf "$CKPT_CRIU" "$WORK/bin/criu"
	cat >"$WORK/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]
annotations = ["org.criu.config=$WORK/criu-nft.conf"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
tmp_dir = "$WORK/tmp"
runtime = "crun"
EOF
	cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
	# The image: bookworm's busybox-static, imported from a tarball (no registry).
	local r=$WORK/img/root bb
	bb=$(command -v busybox) || { echo "busybox-static missing" >&2; return 1; }
	mkdir -p "$r/bin" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/etc" "$r/data"
	cp "$bb" "$r/bin/busybox"
	chroot "$r" /bin/busybox --install -s /bin || return 1
	tar -C "$r" -cf "$WORK/img/bbox.tar" . || return 1
	podman_cmd import --change 'CMD ["/bin/sh"]' "$WORK/img/bbox.tar" localhost/bbox:latest \
		>"$WORK/img/import.log" 2>&1 || { cat "$WORK/img/import.log" >&2; return 1; }
}

# podman_runtime NAME LIBDIR: the crun wrapper $WORK/rt-NAME/crun (named crun, as Podman
# knows it), loading LIBDIR/libcriu.so.2; LD_DEBUG output in $WORK/lddebug-NAME/ unless
# PODMAN_LDDEBUG=0 (timed runs).
podman_runtime() {
	local name=$1 lib=$2 d=$WORK/rt-$1 dbg=
	mkdir -p "$d" "$WORK/lddebug-$name"
	[ "${PODMAN_LDDEBUG:-1}" = 1 ] && dbg="LD_DEBUG=libs LD_DEBUG_OUTPUT=\"$WORK/lddebug-$name/crun\" "
	cat >"$d/crun" <<X
#!/bin/sh
# crun 1.28 through $lib/libcriu.so.2 (tests/podman/podman-lib.sh)
PATH="$WORK/bin:\$PATH"; export PATH
exec unshare -m --propagation private sh -c '
mount --bind "$WORK/empty_controllers" /sys/fs/cgroup/unified/cgroup.controllers || exit 125
${dbg}exec "$CKPT_CRIU_LOADER" --library-path "$lib:$CKPT_CRUN_LIBDIR:$CKPT_CRIU_LIBDIR" "$CKPT_CRUN_BIN" "\$@"' crun "\$@"
X
	chmod +x "$d/crun"
}

# podman_cmd ARGS...: podman with the private configuration, criu 4.2.1 first on PATH.
podman_cmd() {
	CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf \
		PATH="$WORK/bin:$PATH" "$CKPT_PODMAN" "$@"
}

now_ns() { date +%s%N; }

# podman_t NAME TAG ARGS...: podman --runtime (NAME's wrapper) ARGS, output in $WORK/TAG.out,
# wall time (ms) in $WORK/TAG.ms; returns podman's status.
podman_t() {
	local name=$1 tag=$2 s r
	shift 2
	s=$(now_ns)
	podman_cmd --runtime "$WORK/rt-$name/crun" "$@" </dev/null >"$WORK/$tag.out" 2>&1
	r=$?
	echo $((($(now_ns) - s) / 1000000)) >"$WORK/$tag.ms"
	return $r
}

# podman_start NAME CTR DATA: a counter container writing DATA/counter every 0.2 s.
podman_start() {
	local name=$1 c=$2 data=$3
	mkdir -p "$data"
	rm -f "$data/counter"
	# The single quotes are meant: the script is expanded by sh in the container.
	# shellcheck disable=SC2016
	podman_t "$name" "$c-run" run -d --name "$c" --network none -v "$data:/data" \
		localhost/bbox:latest sh -c \
		'i=0; while true; do i=$((i+1)); echo $i > /data/.c; mv /data/.c /data/counter; sleep 0.2; done'
}

# The counter (written to a temporary file and renamed, so never empty).
podman_counter() {
	local v
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		v=$(cat "$1/counter" 2>/dev/null)
		[ -n "$v" ] && { echo "$v"; return; }
		sleep 0.02
	done
	echo -1
}

# podman_wait_counter DATA MIN TIMEOUT_S: the counter once >= MIN, or fail.
podman_wait_counter() {
	local t=$(($3 * 20)) v
	while [ "$t" -gt 0 ]; do
		v=$(podman_counter "$1")
		[ "$v" -ge "$2" ] 2>/dev/null && { echo "$v"; return 0; }
		sleep 0.05
		t=$((t - 1))
	done
	podman_counter "$1"
	return 1
}

# podman_stopped DATA: the counter does not move for 0.6 s; prints it.
podman_stopped() {
	local a b
	a=$(podman_counter "$1")
	sleep 0.6
	b=$(podman_counter "$1")
	echo "$b"
	[ "$a" = "$b" ]
}

# Which libcriu.so.2 the crun runs of NAME loaded (LD_DEBUG=libs).
podman_loaded_libcriu() {
	grep -h 'calling init: .*libcriu\.so\.2' "$WORK/lddebug-$1"/crun* 2>/dev/null |
		sed 's/.*calling init: //' | sort -u
}

# CRIU's log of the last dump or restore of container C (Podman keeps them in userdata).
podman_criu_log() {
	local c=$1 what=$2 d
	d=$(podman_cmd inspect --format '{{.StaticDir}}' "$c" 2>/dev/null) || return
	[ -e "$d/$what" ] && grep -E 'Error|Warn' "$d/$what" | grep -v RLIMIT_NOFILE | tail -n 8
}

# Removes every container and leftover (podman's state is private: all of it is ours),
# then the cgroups and mounts the containers left.
podman_cleanup() {
	local ids id d m
	ids=$(podman_cmd ps -aq --no-trunc 2>/dev/null)
	for n in "$WORK"/rt-*; do
		[ -d "$n" ] || continue
		podman_cmd --runtime "$n/crun" rm -af -t 0 >/dev/null 2>&1 || true
	done
	podman_cmd rmi -af >/dev/null 2>&1 || true
	for id in $ids; do
		for d in /sys/fs/cgroup/*/libpod_parent/libpod-"$id" /sys/fs/cgroup/*/libpod_parent/libpod-conmon-"$id"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done
	# libpod_parent (and its conmon cgroup) when this run made it: rmdir removes only empty ones
	if [ -z "$PODMAN_CG_EXISTED" ]; then
		for d in /sys/fs/cgroup/*/libpod_parent; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	fi
	# mounts under $WORK (shm, overlays), deepest first
	findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	[ -n "$PODMAN_SHM_LOCK_EXISTED" ] || rm -f /dev/shm/libpod_lock
}
