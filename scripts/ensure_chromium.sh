#!/usr/bin/env bash
# Headless Chromium (Debian's package) for `make browser-test`; exit codes: ensure_debian_package.sh.
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] && [ -x "${CHROMIUM}" ]; then exit 0; fi
exec "$(dirname "$0")/ensure_debian_package.sh" browser-test chromium chromium chromium-browser
