#!/usr/bin/env bash
# Make sure headless Chromium (Debian's package) is there for `make browser-test`.
#   exit 0: chromium is installed (already, or installed now with apt-get as root)
#   exit 3: not installed and cannot be here (not root, or no apt-get): the caller skips, saying so
#   exit 1: CI=true and it cannot be installed, or the install failed: CI must not pass unlooked
set -euo pipefail

if [ -n "${CHROMIUM:-}" ] && [ -x "${CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser-test: installing chromium from Debian's packages (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
    command -v chromium >/dev/null 2>&1 && exit 0
    echo "browser-test: apt-get installed chromium but it is not on PATH" >&2
    exit 1
fi

why="chromium is not installed and installing it needs root and apt-get (Debian: apt-get install chromium)"
if [ "${CI:-}" = "true" ]; then
    echo "browser-test: FAILED: $why" >&2
    exit 1
fi
echo "browser-test: SKIPPED: $why" >&2
exit 3
