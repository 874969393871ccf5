#!/usr/bin/env bash
# The openssl command (Debian's package) for `make test`: the offer tests run `openssl s_server`
# restricted to curves / signature schemes Python's ssl cannot restrict on a server
# (tests/integration/tls/test_offers.py). Exit codes: ensure_debian_package.sh.
set -euo pipefail
exec "$(dirname "$0")/ensure_debian_package.sh" test openssl openssl
