#!/usr/bin/env bash
# make arm64-check: does rettid behave the same on arm64 Debian 12 (the base of Raspberry Pi OS)?
#
# Builds an arm64 Debian 12 root with debootstrap, runs it under qemu user-mode emulation
# (qemu-user-static + binfmt), installs this source tree there from PyPI's aarch64 wheels, records a
# scenario and replays it through the onboard core, and compares both with the same run on this machine:
# the recordings and the events must be byte-identical. Optional and not in CI: it takes ~20 minutes
# (the chroot is kept in $ARM64_ROOT and reused). Needs root (debootstrap, chroot, mount).
set -euo pipefail

ROOT=${ARM64_ROOT:-/var/tmp/rettid-arm64}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SCENARIO=${ARM64_SCENARIO:-data/scenarios/330R-bus-multipath.yaml}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ARM64_OUT:-$HERE/out/arm64-check}
PY=${PYTHON:-$HERE/.venv/bin/python}

if [ "$(id -u)" != 0 ]; then echo "arm64-check: needs root (debootstrap, chroot)" >&2; exit 2; fi
missing=""
for bin in debootstrap qemu-aarch64-static update-binfmts; do command -v "$bin" >/dev/null || missing=1; done
if [ -n "$missing" ]; then
    apt-get install -y --no-install-recommends debootstrap qemu-user-static binfmt-support >/dev/null
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

if [ ! -x "$ROOT/usr/bin/python3" ]; then
    echo "arm64-check: debootstrap arm64 bookworm into $ROOT (takes a while under qemu)"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$ROOT" "$MIRROR"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# a site whose HTTPS goes through its own CA gives pip that bundle (PIP_CERT); the root needs it too
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then cp "$PIP_CERT" "$ROOT/etc/rettid-pip-ca.crt"; fi
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT

rm -rf "$ROOT/src" "$ROOT/out" "$OUT"
mkdir -p "$ROOT/src" "$OUT/native"
git -C "$HERE" ls-files -z | (cd "$HERE" && xargs -0 tar cf -) | tar xf - -C "$ROOT/src"

run_case() {  # $1: python, $2: working dir, $3: output dir
    "$1" -m sim_bus record "$SCENARIO" -o "$3/rec" --no-progress >/dev/null
    "$1" -m onboard replay --config "$3/rec/onboard.yaml" --nmea "$3/rec/gnss.nmea" --can "$3/rec/can.log" \
        --gpio "$3/rec/gpio.csv" -o "$3/events.jsonl" >/dev/null
}
echo "arm64-check: native run"
(cd "$HERE" && run_case "$PY" "$HERE" "$OUT/native")

echo "arm64-check: installing into the arm64 root and running there"
# a clean environment: this machine's PIP_*/SSL_* settings name paths that do not exist in the root (and
# send pip's build-isolation subprocess to a CA bundle without the site's CA)
CHROOT_ENV=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8)
if [ -f "$ROOT/etc/rettid-pip-ca.crt" ]; then
    CHROOT_ENV+=(SSL_CERT_FILE=/etc/rettid-pip-ca.crt REQUESTS_CA_BUNDLE=/etc/rettid-pip-ca.crt)
fi
chroot "$ROOT" "${CHROOT_ENV[@]}" /bin/sh -euc '
    cd /src
    uname -m
    [ -x /venv/bin/python ] || python3 -m venv /venv
    [ -f /etc/rettid-pip-ca.crt ] && export PIP_CERT=/etc/rettid-pip-ca.crt
    /venv/bin/pip install --quiet --disable-pip-version-check --index-url https://pypi.org/simple .
'
start=$(date +%s)
chroot "$ROOT" "${CHROOT_ENV[@]}" /bin/bash -euc "cd /src && SCENARIO='$SCENARIO' && $(declare -f run_case); run_case /venv/bin/python /src /out"
echo "arm64-check: arm64 record + replay took $(( $(date +%s) - start )) s under qemu"
cp -r "$ROOT/out" "$OUT/arm64"

status=0
for f in rec/gnss.nmea rec/can.log rec/gpio.csv rec/truth.jsonl events.jsonl; do
    if cmp -s "$OUT/native/$f" "$OUT/arm64/$f"; then
        echo "same      $f ($(wc -l < "$OUT/native/$f") lines)"
    else
        echo "DIFFERENT $f"; status=1
    fi
done
exit $status
