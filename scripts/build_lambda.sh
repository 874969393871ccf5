#!/usr/bin/env bash
# The Lambda artifact: the locked runtime wheels for the Lambda's platform, then the runtime package
# (functions/origin_auditor) and nothing else. The lab and the demo live in lab/, outside it, so
# there is nothing to delete afterwards.
#
#   scripts/build_lambda.sh ARTIFACTS_DIR [--no-deps]
#
# --no-deps copies the code only (no wheel downloads): what the packaging test builds.
# LAMBDA_PIP overrides the pip command (default: python3 -m pip).
set -euo pipefail

usage="usage: $0 ARTIFACTS_DIR [--no-deps]"
artifacts=${1:?$usage}
deps=yes
case "${2:-}" in
    "") ;;
    --no-deps) deps=no ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
read -r -a pip <<< "${LAMBDA_PIP:-python3 -m pip}"

mkdir -p "$artifacts"
if [ "$deps" = yes ]; then
    # Wheels for the Lambda's platform, not this machine's: no Docker, no local python3.14 needed.
    "${pip[@]}" install -q --no-compile --disable-pip-version-check \
        --platform manylinux2014_aarch64 --implementation cp --python-version 3.14 \
        --only-binary=:all: --require-hashes --no-deps \
        --target "$artifacts" -r "$root/requirements.lock"
fi
# A rebuild into the same directory must not keep modules that were since moved or deleted.
rm -rf "${artifacts:?}/origin_auditor"
# tar rather than cp -R: it leaves the checkout's bytecode caches behind.
tar -C "$root/functions" --exclude=__pycache__ --exclude='*.pyc' -cf - origin_auditor \
    | tar -C "$artifacts" -xf -
