#!/usr/bin/env bash
# Make sure a tool the tests need is installed from Debian's packages:
#   scripts/ensure_debian_package.sh TARGET PACKAGE COMMAND...
# e.g. `ensure_debian_package.sh test openssl openssl` (the offer tests run `openssl s_server`),
#      `ensure_debian_package.sh browser-test chromium chromium chromium-browser` (headless Chromium).
# Any COMMAND on PATH counts as installed.
#   exit 0: installed (already, or now with apt-get as root)
#   exit 3: not installed and cannot be here (not root, or no apt-get): the caller skips, saying so
#   exit 1: CI=true and it cannot be installed, or the install failed: CI must not pass unlooked
set -euo pipefail

target=$1 package=$2
shift 2
installed() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 && return 0; done
    return 1
}

if installed "$@"; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "$target: installing $package from Debian's packages (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "$package" >/dev/null
    installed "$@" && exit 0
    echo "$target: apt-get installed $package but $1 is not on PATH" >&2
    exit 1
fi

why="$package is not installed and installing it needs root and apt-get (Debian: apt-get install $package)"
if [ "${CI:-}" = "true" ]; then
    echo "$target: FAILED: $why" >&2
    exit 1
fi
echo "$target: the tests that need $package will be SKIPPED: $why" >&2
exit 3
