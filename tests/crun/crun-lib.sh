# shellcheck shell=bash
# Shared by tests/crun/test_crun.sh and bench/crun/run.sh: crun 1.28 (Debian
# testing) checkpointing a busybox container through a chosen libcriu.so.2,
# with the workarounds of ../shared/runtimes.md (hybrid cgroups: a private
# mount namespace with an empty cgroup.controllers; pipes for stdio; the
# nftables network lock through org.criu.config; default --root).
#
# Needs: the variables of scripts/provision-crun.sh (eval'd), WORK (scratch dir).

CRUN_IDS=()

crun_setup() {
	local root=$1
	mkdir -p "$WORK/bin" "$WORK/lddebug"
	: >"$WORK/empty_controllers"
	printf 'network-lock nftables\n' >"$WORK/criu-nft.conf"
	# Debian's libcriu execs `criu` from PATH; ours takes $CKPT_CRIU, else PATH.
	ln -sf "$CKPT_CRIU" "$WORK/bin/criu"
	# crunx LIBCRIU_DIR ARGS...: crun in a private mount namespace, through the
	# testing loader, with LIBCRIU_DIR first on its library path.
	cat >"$WORK/bin/crunx" <<X
#!/bin/sh
libcriu_dir=\$1; shift
exec unshare -m --propagation private sh -c '
mount --bind "$WORK/empty_controllers" /sys/fs/cgroup/unified/cgroup.controllers || exit 125
libcriu_dir=\$1; shift
exec "$CKPT_CRIU_LOADER" --library-path "\$libcriu_dir:$CKPT_CRUN_LIBDIR:$CKPT_CRIU_LIBDIR" "$CKPT_CRUN_BIN" --cgroup-manager=cgroupfs "\$@"' crun "\$libcriu_dir" "\$@"
X
	chmod +x "$WORK/bin/crunx"
	# The rootfs: bookworm's busybox-static.
	local bb
	bb=$(command -v busybox)
	file -L "$bb" 2>/dev/null | grep -q 'statically linked' || [ -x /bin/busybox ] || { echo "busybox-static missing" >&2; return 1; }
	mkdir -p "$root/rootfs/bin" "$root/rootfs/"{proc,sys,dev,tmp,data,etc}
	cp "$bb" "$root/rootfs/bin/busybox"
	for a in sh sleep echo cat true mv; do ln -sf busybox "$root/rootfs/bin/$a"; done
}

# crun_bundle DIR MODE: config.json for the counter container. MODE: nonet (no network
# namespace), net (its own, with the nftables lock), abs (as nonet, but root.path is an
# absolute path outside the bundle, as Podman writes it).
crun_bundle() {
	local b=$1 mode=$2 rootfs
	mkdir -p "$b" "$WORK/data-$mode"
	if [ "$mode" = abs ]; then
		rootfs=$WORK/rootfs-abs
	else
		rootfs=$b/rootfs
	fi
	[ -e "$rootfs" ] || cp -a "$WORK/base/rootfs" "$rootfs"
	rm -f "$b/config.json"
	(cd "$b" && PATH=$WORK/bin:$PATH crunx "$OUR_LIBCRIU_DIR" spec)
	python3 - "$b/config.json" "$mode" "$WORK/data-$mode" "$WORK/criu-nft.conf" "$rootfs" <<'PY'
import json, sys
p, mode, data, conf, rootfs = sys.argv[1:]
c = json.load(open(p))
if mode == "abs":
    c["root"]["path"] = rootfs
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c",
    "i=0; while true; do i=$((i+1)); echo $i > /data/.counter; mv /data/.counter /data/counter; echo $i; sleep 0.2; done"]
c["mounts"].append({"destination": "/data", "type": "bind", "source": data, "options": ["rbind", "rw"]})
ns = c["linux"]["namespaces"]
if mode in ("nonet", "abs"):
    c["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"]
else:
    if not any(n["type"] == "network" for n in ns):
        ns.append({"type": "network"})
    c.setdefault("annotations", {})["org.criu.config"] = conf
json.dump(c, open(p, "w"), indent=1)
PY
}

# The counter (written to a temporary file and renamed, so never empty; retry anyway).
crun_counter() {
	local v
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		v=$(cat "$WORK/data-$1/counter" 2>/dev/null)
		[ -n "$v" ] && { echo "$v"; return; }
		sleep 0.02
	done
	echo -1
}

# crun_wait_counter MODE MIN TIMEOUT_S: the counter value once >= MIN, or fail.
crun_wait_counter() {
	local mode=$1 min=$2 t=$(($3 * 20)) v
	while [ "$t" -gt 0 ]; do
		v=$(crun_counter "$mode")
		[ "$v" -ge "$min" ] 2>/dev/null && { echo "$v"; return 0; }
		sleep 0.05
		t=$((t - 1))
	done
	crun_counter "$mode"
	return 1
}

now_ns() { date +%s%N; }

# crun_env TAG CMD...: CMD with $WORK/bin first on PATH and, unless CRUN_LDDEBUG=0,
# LD_DEBUG=libs into $WORK/lddebug/TAG.PID (which libcriu.so.2 was loaded).
crun_env() {
	local tag=$1
	shift
	if [ "${CRUN_LDDEBUG:-1}" = 1 ]; then
		LD_DEBUG=libs LD_DEBUG_OUTPUT="$WORK/lddebug/$tag" PATH="$WORK/bin:$PATH" "$@"
	else
		PATH="$WORK/bin:$PATH" "$@"
	fi
}

# crun_bg LIBDIR TAG ARGS...: run crunx with pipes for stdio (stdin: an empty pipe;
# stdout/stderr: a pipe into $WORK/TAG.out); wait for crun itself; its exit code
# goes to $WORK/TAG.rc and its wall time (ms) to $WORK/TAG.ms.
crun_bg() {
	local lib=$1 tag=$2
	shift 2
	rm -f "$WORK/$tag.rc" "$WORK/$tag.ms"
	( true | {
		s=$(now_ns)
		crun_env "$tag" crunx "$lib" "$@"
		r=$?
		echo $((($(now_ns) - s) / 1000000)) >"$WORK/$tag.ms"
		echo $r >"$WORK/$tag.rc"
	} 2>&1 | cat >"$WORK/$tag.out" ) &
	local t=600
	while [ ! -e "$WORK/$tag.rc" ] && [ $t -gt 0 ]; do sleep 0.05; t=$((t - 1)); done
	[ -e "$WORK/$tag.rc" ] && [ "$(cat "$WORK/$tag.rc")" = 0 ]
}

# crun_fg LIBDIR TAG ARGS...: the same in the foreground (checkpoint, delete).
crun_fg() {
	local lib=$1 tag=$2 s r
	shift 2
	s=$(now_ns)
	crun_env "$tag" crunx "$lib" "$@" </dev/null >"$WORK/$tag.out" 2>&1
	r=$?
	echo $((($(now_ns) - s) / 1000000)) >"$WORK/$tag.ms"
	return $r
}

# Which libcriu.so.2 did the crun runs of TAG load? (from LD_DEBUG=libs)
crun_loaded_libcriu() {
	grep -h 'calling init: .*libcriu\.so\.2' "$WORK/lddebug/$1"* 2>/dev/null |
		sed 's/.*calling init: //' | sort -u
}

crun_rm_cgroups() {
	local id=$1 d
	for d in /sys/fs/cgroup/*/"$id" /sys/fs/cgroup/unified/"$id"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
}

crun_cleanup_id() {
	local id=$1
	PATH="$WORK/bin:$PATH" crunx "$OUR_LIBCRIU_DIR" delete -f "$id" >/dev/null 2>&1 || true
	crun_rm_cgroups "$id"
}

crun_cleanup_all() {
	local id
	for id in "${CRUN_IDS[@]}"; do crun_cleanup_id "$id"; done
}
