#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests, under the repo.
#
#   tools/pg.sh start       create on first use, start, wait, ensure role+db "huxiao"
#   tools/pg.sh stop        fast shutdown
#   tools/pg.sh restart     stop, then start
#   tools/pg.sh status      "running …" (exit 0) or "stopped" (exit 3)
#   tools/pg.sh url         postgresql://huxiao@127.0.0.1:PORT/huxiao
#   tools/pg.sh admin-url   postgresql://postgres@127.0.0.1:PORT/postgres
#   tools/pg.sh psql [ARGS] psql on database huxiao as role huxiao
#                           (override with -U postgres -d postgres, etc.)
#
# Layout: .local/pg/data (cluster), .local/pg/log (server log), .local/pg
# (Unix socket), .local/pg/port (the chosen loopback port, reused). When run
# as root, the cluster belongs to the "postgres" system user; if that user
# cannot reach the repo, the cluster lives in /tmp/huxiao-pg-<hash> instead
# (the port file stays in .local/pg). Only 127.0.0.1 is listened on; auth is
# "trust", so this is for development only.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PG_STATE_DIR="$HUXIAO_ROOT/.local/pg"
PG_PORT_FILE="$PG_STATE_DIR/port"
PG_FIRST_PORT=55432
PG_LAST_PORT=55631
APP_ROLE=huxiao
APP_DB=huxiao

usage() {
  sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

require_binaries() {
  local b
  for b in initdb pg_ctl postgres pg_isready psql; do
    [[ -x "$PG_BIN/$b" ]] || die "$PG_BIN/$b not found: install PostgreSQL 15 (tools/setup.sh does, or: apt-get install postgresql-15 postgresql-client-15)"
  done
}

# Runs a PostgreSQL server-side program as the cluster owner: the "postgres"
# system user when we are root (initdb and pg_ctl refuse to run as root),
# ourselves otherwise. The working directory is the cluster base so that the
# postgres user never trips over an unreadable current directory. File
# descriptor 9 (our lock) is closed so the server does not inherit it.
as_pg() {
  if is_root; then
    (cd "$PG_BASE" && runuser -u postgres -- "$@" 9>&-)
  else
    (cd "$PG_BASE" && "$@" 9>&-)
  fi
}

# Decides where the cluster lives (PG_BASE, PG_DATA, PG_LOG, PG_SOCK_DIR).
resolve_paths() {
  mkdir -p "$PG_STATE_DIR"
  PG_BASE="$PG_STATE_DIR"
  local fallback
  fallback="/tmp/huxiao-pg-$(printf '%s' "$HUXIAO_ROOT" | sha256sum | cut -c1-12)"

  if is_root; then
    id postgres >/dev/null 2>&1 \
      || die "system user 'postgres' does not exist (it comes with the postgresql-common package; run tools/setup.sh)"
    if [[ ! -d "$PG_STATE_DIR/data" ]]; then
      chown postgres:postgres "$PG_STATE_DIR"
      chmod 0700 "$PG_STATE_DIR"
    fi
    if ! runuser -u postgres -- test -w "$PG_STATE_DIR" -a -x "$PG_STATE_DIR" 2>/dev/null; then
      if [[ -d "$fallback/data" ]]; then
        log_info "cluster is in $fallback (user 'postgres' cannot reach $PG_STATE_DIR)"
      else
        log_warn "user 'postgres' cannot reach $PG_STATE_DIR (a parent directory is not traversable);"
        log_warn "using $fallback for the cluster instead (the port is still kept in $PG_PORT_FILE)"
      fi
      PG_BASE="$fallback"
      mkdir -p "$PG_BASE"
      chown postgres:postgres "$PG_BASE"
      chmod 0700 "$PG_BASE"
    fi
  fi
  PG_DATA="$PG_BASE/data"
  PG_LOG="$PG_BASE/log"
  PG_SOCK_DIR="$PG_BASE"
  # A Unix socket path has a hard length limit (107 bytes on Linux), and
  # "/.s.PGSQL.NNNNN.lock" needs 20 of them.
  if (( ${#PG_SOCK_DIR} > 80 )); then
    PG_SOCK_DIR="$fallback-sock"
    mkdir -p "$PG_SOCK_DIR"
    is_root && chown postgres:postgres "$PG_SOCK_DIR"
    chmod 0700 "$PG_SOCK_DIR"
  fi
}

port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

remembered_port() {
  local p=''
  [[ -r "$PG_PORT_FILE" ]] && p="$(tr -dc '0-9' <"$PG_PORT_FILE")"
  printf '%s' "$p"
}

is_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

# The port of the running cluster, from line 4 of postmaster.pid.
running_port() {
  sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9'
}

pick_port() {
  local port
  port="$(remembered_port)"
  if [[ -n "$port" ]] && ! port_in_use "$port"; then
    printf '%s' "$port"
    return 0
  fi
  [[ -n "$port" ]] && log_info "port $port is taken by another program; choosing a new one"
  for ((port = PG_FIRST_PORT; port <= PG_LAST_PORT; port++)); do
    if ! port_in_use "$port"; then
      printf '%s' "$port"
      return 0
    fi
  done
  die "no free port in $PG_FIRST_PORT-$PG_LAST_PORT on 127.0.0.1"
}

init_cluster() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  log_step "Creating the private PostgreSQL 15 cluster in $PG_DATA"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C \
    --no-instructions >"$PG_BASE/initdb.log" 2>&1 \
    || { cat "$PG_BASE/initdb.log" >&2; die "initdb failed (output above)"; }
  printf "\n# huxiao: per-start settings (port, socket, tuning) live in huxiao.conf.\ninclude_if_exists = 'huxiao.conf'\n" \
    | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
  log_ok "cluster created"
}

write_settings() {
  local port=$1
  as_pg tee "$PG_DATA/huxiao.conf" >/dev/null <<CONF
# Written by tools/pg.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_SOCK_DIR'
max_connections = 600   # bench/ingest.sh runs pgbench with 500 clients
shared_buffers = 256MB
fsync = on
synchronous_commit = on
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
CONF
}

admin_psql() {
  PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U postgres -d postgres "${@:2}"
}

ensure_role_and_db() {
  local port=$1
  admin_psql "$port" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
        CREATE ROLE $APP_ROLE LOGIN CREATEDB;
      ELSE
        ALTER ROLE $APP_ROLE LOGIN CREATEDB;
      END IF;
    END \$\$;" || die "could not create role $APP_ROLE"
  if [[ "$(admin_psql "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")" != "1" ]]; then
    admin_psql "$port" -c "CREATE DATABASE $APP_DB OWNER $APP_ROLE" || die "could not create database $APP_DB"
    log_info "created database $APP_DB owned by $APP_ROLE"
  fi
}

cmd_start() {
  init_cluster
  local port
  if is_running; then
    port="$(running_port)"
    log_info "already running on 127.0.0.1:$port"
  else
    port="$(pick_port)"
    write_settings "$port"
    log_step "Starting PostgreSQL on 127.0.0.1:$port (log: $PG_LOG)"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 >/dev/null; then
      tail -n 20 "$PG_LOG" >&2 || true
      die "PostgreSQL did not start (last log lines above)"
    fi
  fi
  printf '%s\n' "$port" >"$PG_PORT_FILE"
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 30 \
    || die "PostgreSQL on port $port is not accepting connections (see $PG_LOG)"
  ensure_role_and_db "$port"
  log_ok "PostgreSQL ready: postgresql://$APP_ROLE@127.0.0.1:$port/$APP_DB"
}

cmd_stop() {
  if ! is_running; then
    log_info "PostgreSQL is not running"
    return 0
  fi
  log_step "Stopping PostgreSQL (fast shutdown)"
  as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null \
    || die "pg_ctl stop failed (see $PG_LOG)"
  log_ok "stopped"
}

cmd_restart() {
  cmd_stop
  cmd_start
}

cmd_status() {
  if is_running; then
    printf 'running on 127.0.0.1:%s (data %s, log %s, pid %s)\n' \
      "$(running_port)" "$PG_DATA" "$PG_LOG" "$(head -n1 "$PG_DATA/postmaster.pid")"
  elif [[ -f "$PG_DATA/PG_VERSION" ]]; then
    printf 'stopped (data %s)\n' "$PG_DATA"
    return 3
  else
    printf 'stopped (not created yet; tools/pg.sh start creates it)\n'
    return 3
  fi
}

port_or_die() {
  local port
  port="$(remembered_port)"
  [[ -n "$port" ]] || die "the cluster has not been started yet: run tools/pg.sh start"
  printf '%s' "$port"
}

with_lock() {
  exec 9>"$PG_STATE_DIR/.lock"
  flock -w 120 9 || die "another tools/pg.sh holds $PG_STATE_DIR/.lock"
  "$@"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  case "$cmd" in
    url)       printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$APP_ROLE" "$(port_or_die)" "$APP_DB"; return ;;
    admin-url) printf 'postgresql://postgres@127.0.0.1:%s/postgres\n' "$(port_or_die)"; return ;;
    psql)
      require_binaries
      PGHOST=127.0.0.1 PGPORT="$(port_or_die)" PGUSER="$APP_ROLE" PGDATABASE="$APP_DB" \
        exec "$PG_BIN/psql" "$@"
      ;;
    start | stop | restart | status) ;;
    -h | --help | help) usage ;;
    *) log_warn "unknown command: $cmd"; usage ;;
  esac

  require_binaries
  resolve_paths
  case "$cmd" in
    start)   with_lock cmd_start ;;
    stop)    with_lock cmd_stop ;;
    restart) with_lock cmd_restart ;;
    status)  cmd_status ;;
  esac
}

main "$@"
