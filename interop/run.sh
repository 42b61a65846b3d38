#!/usr/bin/env bash
# Interop suite for CI: the unmodified Amplify JS DataStore client against
# dsgen serve (also two instances on one PostgreSQL), and beside dsgen's Go
# sync client. Installs the pinned npm
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

# The two-instance tests (test/multi-instance.test.mjs) need PostgreSQL: the
# server DSGEN_TEST_POSTGRES names, or else a throwaway cluster started here
# (scripts/pg-test.sh, its own state file) and stopped at the end. Without
# one they skip, except under CI=true.
if [[ -z "${DSGEN_TEST_POSTGRES:-}" ]]; then
  export PG_TEST_STATE="$bindir/pg-test.state"
  if url="$(../scripts/pg-test.sh start)"; then
    export DSGEN_TEST_POSTGRES="$url"
    trap '../scripts/pg-test.sh stop; rm -rf "$bindir"' EXIT
  elif [[ "${CI:-}" == true ]]; then
    echo "interop: no PostgreSQL for the two-instance tests" >&2
    exit 1
  else
    echo "interop: no PostgreSQL: the two-instance tests skip" >&2
  fi
fi

npm test
