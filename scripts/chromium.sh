#!/usr/bin/env bash
# Prints the path of a Chromium the console's browser test can drive,
# installing Debian's chromium package first when there is none and we are
# root (as on CI). Exits 1 when none can be had.
set -euo pipefail
find_chromium() {
  for c in "${DSGEN_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [ -n "$c" ] && command -v "$c" 2>/dev/null && return 0
  done
  return 1
}
if find_chromium; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 || true
fi
find_chromium || { echo "no chromium, and it could not be installed" >&2; exit 1; }
