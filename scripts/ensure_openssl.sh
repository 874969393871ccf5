#!/usr/bin/env bash
# Make sure the openssl command (Debian's package) is there: the offer tests run `openssl s_server`
# restricted to curves / signature schemes Python's ssl cannot restrict on a server
# (tests/integration/tls/test_offers.py; they skip, saying so, without it).
#   exit 0: openssl is installed (already, or installed now with apt-get as root)
#   exit 1: CI=true and it cannot be installed, or the install failed: CI must not pass unlooked
#   exit 3: not installed and cannot be here (not root, or no apt-get): the tests skip
set -euo pipefail

if command -v openssl >/dev/null 2>&1; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing openssl from Debian's packages (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends openssl >/dev/null
    command -v openssl >/dev/null 2>&1 && exit 0
    echo "test: apt-get installed openssl but it is not on PATH" >&2
    exit 1
fi

why="openssl is not installed and installing it needs root and apt-get (Debian: apt-get install openssl)"
if [ "${CI:-}" = "true" ]; then
    echo "test: FAILED: $why" >&2
    exit 1
fi
echo "test: the openssl s_server tests will be SKIPPED: $why" >&2
exit 3
