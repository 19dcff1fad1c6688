#!/usr/bin/env bash
# Rebuilds web/qrcode.mjs from the npm registry: the console's only
# third-party code, committed so a fresh machine needs no build step.
#   web/vendor.sh
set -euo pipefail
cd "$(dirname "$0")"
qr=qrcode-generator@2.0.4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$qr" >/dev/null && tar xzf qrcode-generator-*.tgz)
cp "$tmp/package/dist/qrcode.mjs" qrcode.mjs
echo "vendor: $qr → web/qrcode.mjs"
