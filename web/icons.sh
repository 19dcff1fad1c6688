#!/usr/bin/env bash
# icons.sh — renders icon.svg to the PNG icons the web app manifest names
# (192 and 512 px), with Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 192 512; do
  printf '<html><body style="margin:0"><img src="file://%s/icon.svg" width="%s" height="%s"></body></html>' "$PWD" "$s" "$s" >"$tmp/icon.html"
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" --hide-scrollbars \
    --default-background-color=00000000 --window-size="$s,$s" --screenshot="$PWD/icon-$s.png" "file://$tmp/icon.html" >/dev/null 2>&1
done
