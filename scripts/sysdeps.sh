#!/usr/bin/env bash
# Install the Debian packages rettid's tests and demo need, when they are missing and apt-get is usable;
# otherwise say exactly what to install by hand. Exit 0 either way: tests that need a missing program
# say so themselves (and fail under CI=true).
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "rettid: not a Debian system; please install the equivalents of: ${missing[*]}" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "rettid: missing system packages: ${missing[*]}" >&2
    echo "rettid: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
echo "rettid: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/rettid-apt.log 2>&1; then
  $SUDO apt-get update >>/tmp/rettid-apt.log 2>&1
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/rettid-apt.log 2>&1; then
    echo "rettid: apt-get failed (see /tmp/rettid-apt.log); install by hand: ${missing[*]}" >&2
    exit 0
  fi
fi
# Debian starts the packaged daemons; the tests start their own on free loopback ports instead.
for svc in mosquitto gpsd gpsd.socket postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
  fi
done
exit 0
