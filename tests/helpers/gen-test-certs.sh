#!/usr/bin/env bash
# Make the TLS files the migration tests use (GnuTLS certtool, Debian gnutls-bin):
#   tests/helpers/gen-test-certs.sh DIR
# DIR/ca.pem            a test CA;  ca-key.pem its key
# DIR/receiver.pem      signed by it, for 127.0.0.1 / localhost / 10.99.0.0/24 hosts; receiver-key.pem
# DIR/source.pem        signed by it (the client side);  source-key.pem
# DIR/other-ca.pem      a second, unrelated CA
# DIR/rogue.pem         signed by the other CA (must be refused);  rogue-key.pem
# DIR/mallory.pem       signed by the test CA, CN=mallory and no SAN: a holder of the CA
#                       whom no side names (must be refused by both);  mallory-key.pem
# ECDSA P-256 keys, valid for 10 years from now. Nothing outside DIR is touched.
set -euo pipefail
DIR=${1:?usage: gen-test-certs.sh DIR}
command -v certtool >/dev/null || { echo "gen-test-certs: certtool missing (Debian package gnutls-bin)" >&2; exit 3; }
mkdir -p "$DIR"
cd "$DIR"
key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null; }
tmpl() { # name, extra lines
	printf 'cn = "%s"\norganization = "libckpt tests"\nexpiration_days = 3650\n%s\n' "$1" "$2" >"$1.tmpl"
}
ca() { # name
	key "$1-key.pem"
	tmpl "$1" $'ca\ncert_signing_key'
	certtool --generate-self-signed --load-privkey "$1-key.pem" --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
leaf() { # name, ca, extra template lines
	key "$1-key.pem"
	tmpl "$1" "$3"
	certtool --generate-certificate --load-privkey "$1-key.pem" --load-ca-certificate "$2.pem" \
		--load-ca-privkey "$2-key.pem" --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
ca ca
ca other-ca
leaf receiver ca $'tls_www_server\ntls_www_client\nsigning_key\nip_address = "127.0.0.1"\nip_address = "10.99.0.1"\nip_address = "10.99.0.2"\ndns_name = "localhost"'
leaf source ca $'tls_www_client\ntls_www_server\nsigning_key\nip_address = "127.0.0.1"\nip_address = "10.99.0.1"\nip_address = "10.99.0.2"'
leaf mallory ca $'tls_www_client\ntls_www_server\nsigning_key'
leaf rogue other-ca $'tls_www_client\ntls_www_server\nsigning_key\nip_address = "127.0.0.1"\ndns_name = "localhost"'
rm -f ./*.tmpl
chmod 600 ./*-key.pem
