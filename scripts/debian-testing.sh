# shellcheck shell=bash
# Sourced by the provisioning scripts: a private apt configuration for Debian
# testing, so packages can be fetched and unpacked into a private prefix
# without touching the system's apt setup (nothing is installed).
#
#   . scripts/debian-testing.sh
#   debian_apt_init APT_DIR [deb-src]  sets the array aptopts and runs apt-get update
#                                    (deb-src: the source index instead of the binary one)
#   debian_download APT_DIR PKG...   downloads the .debs into APT_DIR/debs
#   debian_mirror                    prints the Debian mirror the system's apt sources use

# The mirror of the system's own Debian suite (the one apt would update from, not -security or
# -updates), from apt's view of its sources; $CKPT_DEBIAN_MIRROR overrides it.
debian_mirror() {
	local uri
	if [ -n "${CKPT_DEBIAN_MIRROR:-}" ]; then
		echo "$CKPT_DEBIAN_MIRROR"
		return
	fi
	# shellcheck disable=SC2016 # $(IDENTIFIER) etc. are apt's format fields, not shell
	uri=$(apt-get indextargets --format '$(IDENTIFIER) $(RELEASE) $(REPO_URI)' 2>/dev/null |
		awk '$1 == "Packages" && $2 !~ /-/ { print $3; exit }')
	[ -n "$uri" ] || { echo "no Debian mirror in the system's apt sources (set CKPT_DEBIAN_MIRROR)" >&2; return 1; }
	echo "${uri%/}"
}

DEBIAN_SUITE=${CKPT_CRIU_SUITE:-forky}
DEBIAN_MIRROR=$(debian_mirror)

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
