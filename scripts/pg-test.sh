#!/usr/bin/env bash
# pg-test.sh start|stop|url: a throwaway PostgreSQL for the tests.
#
#   start  installs Debian's postgresql package when no server binaries are
#          found (as root), initdb's a cluster in a new temporary directory,
#          starts it on a free 127.0.0.1 port and prints its URL
#   url    prints the URL of the running cluster (for DSGEN_TEST_POSTGRES)
#   restart restarts the running cluster on its port (pg_ctl restart -m fast:
#          every connection is dropped), for fault tests
#   stop   stops the cluster and removes its directory
#
# The server refuses to run as root: as root the cluster belongs to the
# `postgres` user the package creates. The state (directory, port) is kept in
# $PG_TEST_STATE (default .pg-test in the repository root), so start and stop
# may run from different shells. Test databases are created by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
state="${PG_TEST_STATE:-$PWD/.pg-test}"

die() { echo "pg-test: $*" >&2; exit 1; }

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

# as runs a command as the cluster's owner: postgres when we are root.
as() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

start() {
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    . "$state"
    if [ -n "${PGDIR:-}" ] && as "$BIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
      return 0
    fi
    rm -f "$state"
  fi
  local bin
  if ! bin=$(bindir); then
    [ "$(id -u)" = 0 ] || die "no PostgreSQL server binaries; install Debian's postgresql package"
    echo "pg-test: installing postgresql" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(bindir) || die "postgresql installed but no initdb found"
  fi
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dsgen-pg-test.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root and no postgres user to run the server as"
    chown postgres: "$dir"
  fi
  as "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  local port tries=0
  while :; do
    port=$(free_port) || die "no free port"
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || { cat "$dir/log" >&2; die "the server did not start"; }
  done
  printf 'BIN=%q\nPGDIR=%q\nPGPORT=%q\n' "$bin" "$dir" "$port" >"$state"
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

url() {
  [ -f "$state" ] || die "not started (no $state)"
  # shellcheck disable=SC1090
  . "$state"
  echo "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
}

restart() {
  [ -f "$state" ] || die "not started (no $state)"
  # shellcheck disable=SC1090
  . "$state"
  as "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -m fast -w -t 60 restart >/dev/null
}

stop() {
  [ -f "$state" ] || return 0
  # shellcheck disable=SC1090
  . "$state"
  as "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
  rm -f "$state"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) url ;;
restart) restart ;;
*) die "usage: $0 start|stop|url|restart" ;;
esac
