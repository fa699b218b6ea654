# shellcheck shell=bash
# Sourced by the provisioning scripts: a private apt configuration for Debian
# testing, so packages can be fetched and unpacked into a private prefix
# without touching the system's apt setup (nothing is installed).
#
#   . scripts/debian-testing.sh
#   debian_apt_init APT_DIR [deb-src]  sets the array aptopts and runs apt-get update
#                                    (deb-src: the source index instead of the binary one)
#   debian_download APT_DIR PKG...   downloads the .debs into APT_DIR/debs
#
# The mirror is the system's own Debian archive: the first `URIs:` of a deb822
# /etc/apt/sources.list.d/*.sources stanza, else the first `deb` line of the
# one-line /etc/apt/sources.list (and sources.list.d/*.list), that names the
# Debian archive (signed by debian-archive-keyring, or a URI ending in /debian)
# and is not the security archive. CKPT_DEBIAN_MIRROR overrides it.
DEBIAN_SUITE=${CKPT_CRIU_SUITE:-forky}

# debian_system_mirror [APT_ETC]: prints the system's Debian archive URI, or fails.
debian_system_mirror() {
	local etc=${1:-/etc/apt}
	python3 - "$etc" <<'PY'
import glob, os, re, sys
etc = sys.argv[1]

def is_archive(uri, suites, signed_by):
    u = uri.rstrip("/")
    if "security" in u.rsplit("/", 1)[-1] or any(s.endswith("-security") for s in suites):
        return False
    return u.endswith("/debian") or "debian-archive-keyring" in signed_by

def deb822(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    for stanza in re.split(r"\n[ \t]*\n", text):
        f, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                f[key] += " " + line.strip()
                continue
            if ":" in line:
                key, v = line.split(":", 1)
                key = key.strip().lower()
                f[key] = v.strip()
        if f.get("enabled", "yes").lower() == "no" or "deb" not in f.get("types", "").split():
            continue
        suites = f.get("suites", "").split()
        for uri in f.get("uris", "").split():
            if is_archive(uri, suites, f.get("signed-by", "")):
                yield uri

def oneline(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)", line)
        if m and is_archive(m.group(2), [m.group(3)], m.group(1) or ""):
            yield m.group(2)

files = sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.sources")))
files = [(p, deb822) for p in files]
files += [(p, oneline) for p in [os.path.join(etc, "sources.list")] +
          sorted(glob.glob(os.path.join(etc, "sources.list.d", "*.list")))]
for path, parse in files:
    if os.path.isfile(path):
        for uri in parse(path):
            print(uri.rstrip("/"))
            sys.exit(0)
sys.exit(1)
PY
}

if [ -n "${CKPT_DEBIAN_MIRROR:-}" ]; then
	DEBIAN_MIRROR=$CKPT_DEBIAN_MIRROR
elif ! DEBIAN_MIRROR=$(debian_system_mirror /etc/apt); then
	DEBIAN_MIRROR=
fi

debian_apt_init() {
	local apt=$1 type=${2:-deb}
	command -v apt-get >/dev/null || { echo "no apt-get here" >&2; return 3; }
	if [ -z "$DEBIAN_MIRROR" ]; then
		echo "debian-testing: no Debian archive found in the system's apt sources" \
			"(/etc/apt/sources.list.d/*.sources URIs:, /etc/apt/sources.list deb lines);" \
			"set CKPT_DEBIAN_MIRROR to a Debian mirror URI, e.g. http://HOST/debian" >&2
		return 3
	fi
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.d" "$apt/debs"
	echo "$type [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $DEBIAN_SUITE main" \
		>"$apt/sources.list"
	aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.d"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		-o "Dir::State::status=/dev/null" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=root")
	apt-get "${aptopts[@]}" -qq update >&2
}

debian_download() {
	local apt=$1
	shift
	(cd "$apt/debs" && apt-get "${aptopts[@]}" -qq download "$@" >&2)
}
