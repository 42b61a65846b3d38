#!/usr/bin/env bash
# Interop suite for CI: the unmodified Amplify JS DataStore client against
# dsgen serve. Installs the pinned npm packages, builds dsgen once (unless
# DSGEN_BIN names a binary) and runs `npm test`; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "interop: node is not installed" >&2; exit 1; }
npm ci --no-audit --no-fund

if [[ -z "${DSGEN_BIN:-}" ]]; then
  bindir="$(mktemp -d)"
  trap 'rm -rf "$bindir"' EXIT
  (cd .. && go build -o "$bindir/dsgen" ./cmd/dsgen)
  export DSGEN_BIN="$bindir/dsgen"
fi

npm test
