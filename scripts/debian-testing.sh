# Sourced by the provisioning scripts: a private apt configuration for Debian
# testing, so packages can be fetched and unpacked into a private prefix
# without touching the system's apt setup (nothing is installed).
#
#   . scripts/debian-testing.sh
#   debian_apt_init APT_DIR          sets the array aptopts and runs apt-get update
#   debian_download APT_DIR PKG...   downloads the .debs into APT_DIR/debs
DEBIAN_SUITE=${CKPT_CRIU_SUITE:-forky}
DEBIAN_MIRROR=${CKPT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

debian_apt_init() {
	local apt=$1
	command -v apt-get >/dev/null || { echo "no apt-get here" >&2; return 3; }
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.d" "$apt/debs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $DEBIAN_SUITE main" \
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
