#!/bin/sh
# Install every Debian package kessai needs to build, test and run the demo.
# Idempotent: packages already installed are skipped, and when nothing is
# missing this touches no network.  Uses sudo when not root.
set -eu

PACKAGES="
build-essential pkg-config clang libclang-rt-14-dev
libmicrohttpd-dev libjansson-dev libsodium-dev libsqlite3-dev libinih-dev
liboath-dev libpwquality-dev cracklib-runtime libqrencode-dev libzint-dev
libcmocka-dev libcurl4-openssl-dev libssl-dev libzbar-dev
sqlite3 curl oathtool
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "deps: installing$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
