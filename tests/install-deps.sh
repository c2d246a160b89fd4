#!/bin/sh
# Installs what building, testing and the demo need on Debian 12 (run as root), then the test IdP's
# Node modules. Safe to run again: it installs only what is missing.
set -eu
cd "$(dirname "$0")/.."

pkgs="build-essential autoconf automake libtool pkg-config libssl-dev libcurl4-openssl-dev
 libcjson-dev libcdb-dev libpam0g-dev libcmocka-dev libqrencode-dev clang clang-tools clang-format
 valgrind openssl ca-certificates curl groff-base zbar-tools
 openssh-server openssh-client sudo expect perl-base util-linux systemd
 dpkg-dev debhelper dh-nss lintian rpm fakeroot redis-server libhiredis-dev"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: these Debian packages are missing:$missing (run as root)" >&2
        exit 1
    fi
    echo "install-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d tests/idp/node_modules ] ||
    ! cmp -s tests/idp/package-lock.json tests/idp/node_modules/.package-lock.json 2>/dev/null; then
    echo "install-deps: installing the test IdP's Node modules (npm ci)"
    (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
