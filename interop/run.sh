#!/usr/bin/env bash
# Interop suite for CI: the unmodified Amplify JS DataStore client against
# dsgen serve, and beside dsgen's Go sync client. Installs the pinned npm
# packages, builds dsgen and the Go client once (unless DSGEN_BIN and
# GOCLIENT_BIN name binaries) and runs `npm test`; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "interop: node is not installed" >&2; exit 1; }
npm ci --no-audit --no-fund

bindir="$(mktemp -d)"
trap 'rm -rf "$bindir"' EXIT
if [[ -z "${DSGEN_BIN:-}" ]]; then
  (cd .. && go build -o "$bindir/dsgen" ./cmd/dsgen)
  export DSGEN_BIN="$bindir/dsgen"
fi
if [[ -z "${GOCLIENT_BIN:-}" ]]; then
  (cd .. && go build -o "$bindir/goclient" ./runtime/syncengine/testdata/client)
  export GOCLIENT_BIN="$bindir/goclient"
fi

npm test
