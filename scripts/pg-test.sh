#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests.
#
# Run a command against a fresh cluster (stopped and deleted afterwards, even on failure):
#   scripts/pg-test.sh cargo test --workspace
#   scripts/pg-test.sh psql          # PGHOST/PGPORT/PGUSER/PGDATABASE are exported too
#
# Or source it and manage the lifetime yourself:
#   . scripts/pg-test.sh
#   pg_test_start        # exports TESSERA_TEST_POSTGRES_URL (sets PG_TEST_DIR, PG_TEST_PORT)
#   trap pg_test_stop EXIT
#
# Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin, Debian package
# `postgresql`). initdb refuses to run as root, so as root the cluster runs as the
# `postgres` system user.

# Deliberately not taken from the environment: a nested run must never stop or
# delete a cluster it did not start.
PG_TEST_DIR=""
PG_TEST_PORT=""

_pg_test_log() { printf '==> [pg-test] %s\n' "$*" >&2; }

_pg_test_bindir() {
  local initdb
  initdb="$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1 || true)"
  if [ -z "$initdb" ]; then
    initdb="$(command -v initdb 2>/dev/null || true)"
  fi
  [ -n "$initdb" ] || return 1
  dirname "$initdb"
}

# Runs a command as the cluster owner (postgres when we are root), from / so that
# the postgres user never needs access to the caller's working directory.
_pg_test_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

_pg_test_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_test_start() {
  local bindir base port attempt tries=20
  bindir="$(_pg_test_bindir)" || {
    echo "pg-test: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    return 1
  }
  base="${TESSERA_PG_TMPDIR:-/tmp}"
  PG_TEST_DIR="$(mktemp -d "$base/tessera-pg.XXXXXX")" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || {
      echo "pg-test: running as root needs the 'postgres' system user" >&2
      rm -rf "$PG_TEST_DIR"
      PG_TEST_DIR=""
      return 1
    }
    chown postgres:postgres "$PG_TEST_DIR"
  fi
  chmod 700 "$PG_TEST_DIR"
  _pg_test_log "initdb in $PG_TEST_DIR ($bindir)"
  if ! _pg_test_as_owner "$bindir/initdb" -D "$PG_TEST_DIR/data" -A trust -U postgres \
    -E UTF8 --no-locale >"$PG_TEST_DIR/initdb.log" 2>&1; then
    cat "$PG_TEST_DIR/initdb.log" >&2
    pg_test_stop
    return 1
  fi

  port="${TESSERA_PG_PORT:-55432}"
  for ((attempt = 0; attempt < tries; attempt++, port++)); do
    if _pg_test_port_in_use "$port"; then
      continue
    fi
    if _pg_test_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" -w -t 60 \
      -o "-p $port -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      PG_TEST_PORT="$port"
      break
    fi
    _pg_test_log "could not start on port $port, trying the next one"
    tail -n 5 "$PG_TEST_DIR/log" >&2 || true
  done
  if [ -z "$PG_TEST_PORT" ]; then
    echo "pg-test: could not start PostgreSQL (see above)" >&2
    pg_test_stop
    return 1
  fi

  if ! "$bindir/psql" -h 127.0.0.1 -p "$PG_TEST_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c 'CREATE DATABASE tessera_test' >/dev/null; then
    echo "pg-test: could not create database tessera_test" >&2
    pg_test_stop
    return 1
  fi
  export TESSERA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/tessera_test"
  _pg_test_log "PostgreSQL running: $TESSERA_TEST_POSTGRES_URL"
}

# Idempotent: safe to call from several traps.
pg_test_stop() {
  local bindir
  if [ -z "${PG_TEST_DIR:-}" ]; then
    return 0
  fi
  if [ -f "$PG_TEST_DIR/data/postmaster.pid" ] && bindir="$(_pg_test_bindir)"; then
    _pg_test_log "stopping PostgreSQL (port ${PG_TEST_PORT:-?})"
    _pg_test_as_owner "$bindir/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_TEST_DIR"
  _pg_test_log "removed $PG_TEST_DIR"
  PG_TEST_DIR=""
  PG_TEST_PORT=""
  unset TESSERA_TEST_POSTGRES_URL
}

# Executed (not sourced): run the given command with a throwaway cluster.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ $# -eq 0 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
  fi
  trap pg_test_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pg_test_start
  export PGHOST=127.0.0.1 PGPORT="$PG_TEST_PORT" PGUSER=postgres PGDATABASE=tessera_test
  rc=0
  "$@" || rc=$?
  exit "$rc"
fi
