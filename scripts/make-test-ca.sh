#!/usr/bin/env bash
# Make a TEST certificate authority plus broker and client certificates with openssl.
#
#   scripts/make-test-ca.sh OUTDIR [CLIENT_CN ...]
#
# Writes OUTDIR/ca.{key,crt}, OUTDIR/broker.{key,crt} (CN=localhost, SAN localhost/127.0.0.1 plus the
# names in $BROKER_SANS, e.g. "DNS:mqtt.example.dk"), and OUTDIR/<CN>.{key,crt} for each client common
# name. Mosquitto's `use_identity_as_username true` turns the client certificate's CN into the MQTT user
# name that systemd/mosquitto/aclfile grants topics to, so the CN *is* the per-unit credential.
# Default clients: the example units named in systemd/mosquitto/aclfile.
#
# For tests and bench setups only: the CA key sits unencrypted next to the certificates. A production
# CA lives offline; units get a key generated on the unit and a certificate signed from a CSR.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 OUTDIR [CLIENT_CN ...]" >&2
    exit 2
fi
out=$1
shift
clients=("$@")
if [[ ${#clients[@]} -eq 0 ]]; then
    clients=(veh-lokaltog-2051 veh-lokaltog-2052 display-hillerod central central-collector controlroom controlroom-rt)
fi
days=${DAYS:-825}
mkdir -p "$out"
cd "$out"

newkey() {  # EC P-256 keys: small, fast on a Raspberry Pi, supported by every TLS stack we use
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 600 "$1"
}

if [[ ! -f ca.crt ]]; then
    newkey ca.key
    openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=rettid test/CN=rettid test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.crt
fi

sign() {  # sign NAME CN EXTFILE
    local name=$1 cn=$2 ext=$3
    newkey "$name.key"
    openssl req -new -key "$name.key" -subj "/O=rettid test/CN=$cn" -out "$name.csr"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
        -extfile "$ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$ext"
}

sans="DNS:localhost,IP:127.0.0.1${BROKER_SANS:+,$BROKER_SANS}"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
    "$sans" > broker.ext
sign broker localhost broker.ext

for cn in "${clients[@]}"; do
    if [[ ! $cn =~ ^[A-Za-z0-9._-]+$ ]]; then
        echo "$0: client name '$cn' must use only letters, digits, '.', '_' and '-'" >&2
        exit 2
    fi
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n' \
        > "$cn.ext"
    sign "$cn" "$cn" "$cn.ext"
done
echo "test CA and certificates in $(pwd): ca.crt broker.crt ${clients[*]/%/.crt}"
