#!/usr/bin/env bash
# A replicated PostgreSQL 15 for development and tests: etcd and three nodes
# under Patroni, all on loopback, data under the repo (docs/availability.md).
#
#   tools/ha.sh start       create on first use, start what is not running, wait
#                           until there is a leader and two replicas (one of them
#                           the synchronous standby), ensure role+db "huxiao"
#   tools/ha.sh stop [--immediate]
#                           stop Patroni, PostgreSQL and etcd; no process is left
#                           (--immediate: kill Patroni, PostgreSQL's immediate
#                           shutdown; what tests do, a second instead of ~15)
#   tools/ha.sh status      one line per node: role, state, ports, pids (exit 3
#                           when there is no leader)
#   tools/ha.sh url         multi-host URL of database huxiao (read-write node)
#   tools/ha.sh admin-url   the same as role postgres on database postgres
#   tools/ha.sh primary     "NODE 127.0.0.1:PORT" of the leader (exit 1: none)
#   tools/ha.sh reset       stop, then delete the cluster's data
#   tools/ha.sh fault NODE kill-postmaster|kill-node|pause|resume
#                           inject a fault into node n1, n2 or n3
#   tools/ha.sh logs [N]    the last N (20) lines of each Patroni's and etcd's log
#
# Layout: .local/ha/ports (the chosen loopback ports, reused), .local/ha/etcd
# (etcd's data, etcd.log), .local/ha/n1…n3 (patroni.yml, patroni.log, data/,
# data/log/postgresql.log). HUXIAO_HA_DIR overrides .local/ha (tests use a
# directory of their own). When run as root, everything runs as the "postgres"
# system user; if that user cannot reach the repo, the cluster lives in
# /tmp/huxiao-ha-<hash> instead (the ports file stays in .local/ha). Patroni
# runs with synchronous_mode_strict and both replicas synchronous, ttl 10 s,
# loop_wait 1 s, retry_timeout 4 s, primary_start_timeout 0 (a crashed primary
# fails over at once), through etcd's v3 API (Patroni's etcd3 section) or, with
# Patroni older than 3.0.3, its v2 API (see choose_dcs). Auth is "trust" on
# 127.0.0.1: development only.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PYTHON=/usr/bin/python3 # Debian's, the one Patroni runs on (not a pyenv shim)
HA_STATE_DIR="${HUXIAO_HA_DIR:-$HUXIAO_ROOT/.local/ha}"
HA_PORTS_FILE="$HA_STATE_DIR/ports"
# Below Linux's ephemeral range (32768-60999 by default): a port in it can be
# taken by any program's outgoing connection between our choice and the bind
# (ctest runs hundreds of loopback clients at once). That happened in a CI run
# with 56000-56399: a node's postmaster could not bind, its Patroni gave up the
# bootstrap (PatroniFatalException) and the cluster never became healthy.
HA_FIRST_PORT=26000
HA_LAST_PORT=26399
# How often start revives a node whose Patroni exited during start-up.
HA_START_REVIVALS=3
HA_NODES=(n1 n2 n3)
HA_SCOPE=huxiao
START_TIMEOUT_S="${HUXIAO_HA_START_TIMEOUT:-180}"
APP_ROLE=huxiao
APP_DB=huxiao

usage() {
  sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

require_binaries() {
  local b
  for b in initdb pg_ctl postgres pg_basebackup pg_rewind psql; do
    [[ -x "$PG_BIN/$b" ]] || die "$PG_BIN/$b not found: install PostgreSQL 15 (tools/setup.sh does)"
  done
  command -v patroni >/dev/null 2>&1 || die "patroni not found: apt-get install patroni (listed in tools/debian-packages.txt; tools/setup.sh installs it)"
  command -v etcd >/dev/null 2>&1 || die "etcd not found: apt-get install etcd-server (listed in tools/debian-packages.txt)"
  command -v curl >/dev/null 2>&1 || die "curl not found (it asks Patroni's REST API for the cluster's state)"
  [[ -x "$PYTHON" ]] || die "$PYTHON not found (it comes with the patroni package)"
}

# --- where things live ----------------------------------------------------------

# Decides HA_BASE (where data, configs and logs live) and, as root, makes it
# belong to "postgres". Like tools/pg.sh: a repo the postgres user cannot
# traverse moves the cluster to /tmp.
resolve_paths() {
  mkdir -p "$HA_STATE_DIR"
  HA_BASE="$HA_STATE_DIR"
  local hash
  hash="$(printf '%s' "$HA_STATE_DIR" | sha256sum | cut -c1-12)"
  if is_root; then
    id postgres >/dev/null 2>&1 \
      || die "system user 'postgres' does not exist (it comes with the postgresql-common package; run tools/setup.sh)"
    chown postgres:postgres "$HA_STATE_DIR"
    chmod 0700 "$HA_STATE_DIR"
    if ! runuser -u postgres -- test -w "$HA_STATE_DIR" -a -x "$HA_STATE_DIR" 2>/dev/null; then
      HA_BASE="/tmp/huxiao-ha-$hash"
      [[ -d "$HA_BASE" ]] || log_warn "user 'postgres' cannot reach $HA_STATE_DIR; the cluster lives in $HA_BASE"
      mkdir -p "$HA_BASE"
      chown postgres:postgres "$HA_BASE"
      chmod 0700 "$HA_BASE"
    fi
  fi
  # A Unix socket path has a hard length limit (107 bytes on Linux), and
  # "/.s.PGSQL.NNNNN.lock" needs 20 of them.
  HA_SOCK_BASE="$HA_BASE"
  if ((${#HA_SOCK_BASE} > 76)); then
    HA_SOCK_BASE="/tmp/huxiao-ha-$hash-sock"
  fi
}

node_dir() { printf '%s/%s' "$HA_BASE" "$1"; }
node_data() { printf '%s/%s/data' "$HA_BASE" "$1"; }

make_owned_dir() {
  mkdir -p "$1"
  chmod 0700 "$1"
  is_root && chown postgres:postgres "$1"
  return 0
}

# --- ports ----------------------------------------------------------------------

# A listener counts, and so does a live connection bound to the port (another
# program's client socket makes our bind fail just the same). A closing one
# (TIME-WAIT, FIN-WAIT: what a node killed with -9 leaves behind) does not:
# PostgreSQL and Patroni bind with SO_REUSEADDR, and a node that came back on
# other ports would no longer be where its clients' multi-host URL says.
port_in_use() {
  [[ -n "$(ss -Htan state listening state established state syn-sent state syn-recv \
    state close-wait "sport = :$1" 2>/dev/null)" ]]
}

# The ports file holds KEY=PORT lines: etcd_client, etcd_peer, and pg_NODE,
# api_NODE for each node.
read_port() {
  [[ -r "$HA_PORTS_FILE" ]] || return 0
  sed -n "s/^$1=\([0-9]*\)\$/\1/p" "$HA_PORTS_FILE"
}

port_or_die() {
  local p
  p="$(read_port "$1")"
  [[ -n "$p" ]] || die "the cluster has not been started yet: run tools/ha.sh start"
  printf '%s' "$p"
}

# Whether the component that port KEY belongs to runs (then the port is ours).
owner_alive() {
  case "$1" in
    etcd_*) [[ -n "$(etcd_pid)" ]] ;;
    pg_* | api_*) [[ -n "$(patroni_pid "${1#*_}")$(postmaster_pid "${1#*_}")" ]] ;;
    *) return 1 ;;
  esac
}

# Chooses free ports for everything that has none yet (or whose port another
# program took while we were stopped) and writes the ports file.
assign_ports() {
  local -a keys=(etcd_client etcd_peer)
  local n k
  for n in "${HA_NODES[@]}"; do keys+=("pg_$n" "api_$n"); done
  local -A chosen=()
  local -A taken=()
  for k in "${keys[@]}"; do
    local p
    p="$(read_port "$k")"
    if [[ -n "$p" ]] && { owner_alive "$k" || ! port_in_use "$p"; }; then
      chosen[$k]=$p
      taken[$p]=1
    elif [[ -n "$p" ]]; then
      [[ $k == etcd_* && -d "$HA_BASE/etcd/data" ]] \
        && die "etcd's port $p is taken by another program; free it or run tools/ha.sh reset"
      log_info "port $p ($k) is taken by another program; choosing a new one"
    fi
  done
  # Each state directory starts its search in a block of its own (from a hash
  # of its path), so that two worktrees or a test's cluster starting at the
  # same time rarely reach for the same free port.
  local block
  block=$((16#$(printf '%s' "$HA_STATE_DIR" | sha256sum | cut -c1-4) % ((HA_LAST_PORT - HA_FIRST_PORT + 1) / 10)))
  local next=$((HA_FIRST_PORT + block * 10)) tries=0
  for k in "${keys[@]}"; do
    [[ -n "${chosen[$k]:-}" ]] && continue
    while [[ -n "${taken[$next]:-}" ]] || port_in_use "$next"; do
      next=$((next + 1))
      ((next > HA_LAST_PORT)) && next=$HA_FIRST_PORT
      tries=$((tries + 1))
      ((tries <= HA_LAST_PORT - HA_FIRST_PORT)) || die "no free port in $HA_FIRST_PORT-$HA_LAST_PORT on 127.0.0.1"
    done
    chosen[$k]=$next
    taken[$next]=1
  done
  local tmp="$HA_PORTS_FILE.tmp"
  : >"$tmp"
  for k in "${keys[@]}"; do printf '%s=%s\n' "$k" "${chosen[$k]}" >>"$tmp"; done
  mv "$tmp" "$HA_PORTS_FILE"
}

# --- processes ------------------------------------------------------------------

# PID when it is alive and its command name is NAME.
alive_as() {
  local pid=$1 name=$2
  [[ -n "$pid" && -r "/proc/$pid/comm" ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]
}

pid_from_file() {
  local f=$1
  [[ -r "$f" ]] && tr -dc '0-9' <"$f"
  return 0
}

etcd_pid() {
  local pid
  pid="$(pid_from_file "$HA_BASE/etcd/etcd.pid")"
  alive_as "$pid" etcd && printf '%s' "$pid"
  return 0
}

patroni_pid() {
  local pid
  pid="$(pid_from_file "$(node_dir "$1")/patroni.pid")"
  alive_as "$pid" patroni && printf '%s' "$pid"
  return 0
}

postmaster_pid() {
  local pid
  pid="$(sed -n '1p' "$(node_data "$1")/postmaster.pid" 2>/dev/null | tr -dc '0-9')"
  alive_as "$pid" postgres && printf '%s' "$pid"
  return 0
}

# Starts a daemon in its own session with its output in LOG, records its pid.
spawn() {
  local dir=$1 log=$2 pidfile=$3
  shift 3
  # setsid: the daemon leaves our process group and terminal, so a Ctrl-C of
  # whoever called us does not reach it. Nothing of ours stays open in it.
  if is_root; then
    (cd "$dir" && exec setsid setpriv --reuid=postgres --regid=postgres --init-groups -- \
      env HOME="$dir" "$@" </dev/null >>"$log" 2>&1 9>&-) &
  else
    (cd "$dir" && exec setsid env HOME="$dir" "$@" </dev/null >>"$log" 2>&1 9>&-) &
  fi
  printf '%s\n' "$!" >"$pidfile"
}

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2
  shift 2
  local until=$((SECONDS + limit))
  while ((SECONDS < until)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# --- etcd ---------------------------------------------------------------------

# Which of Patroni's etcd sections to use (HA_DCS): etcd3 (etcd's v3 API) when
# Patroni is 3.0.3 or newer, else etcd (the v2 API, which etcd 3.4 serves with
# --enable-v2). Patroni 3.0.2 (Debian 12) has a split-brain bug in etcd3 only:
# a primary that was paused longer than ttl writes its name over the leader
# key that a promoted standby now holds (an unconditional put with a fresh
# lease; fixed by patroni/patroni#2689 in 3.0.3). The promoted node is then
# demoted and rewound, and what it committed meanwhile, acknowledged to
# clients, is gone: seen here with SIGSTOP/SIGCONT of the primary
# (bench/ha/failover.sh pause). The v2 section updates the key with
# compare-and-swap on its owner's name and is safe. HUXIAO_HA_DCS overrides.
# The choice is kept in the state directory: the two keep separate data.
choose_dcs() {
  local version wanted
  version="$(patroni --version 2>/dev/null | awk '{ print $2 }')"
  if [[ -n "${HUXIAO_HA_DCS:-}" ]]; then
    wanted=$HUXIAO_HA_DCS
    [[ $wanted == etcd || $wanted == etcd3 ]] || die "HUXIAO_HA_DCS must be etcd or etcd3, not '$wanted'"
  elif [[ -n "$version" && "$(printf '%s\n3.0.3\n' "$version" | sort -V | head -n1)" == 3.0.3 ]]; then
    wanted=etcd3
  else
    wanted=etcd
  fi
  local file="$HA_BASE/dcs"
  if [[ -r "$file" ]]; then
    HA_DCS="$(cat "$file")"
    [[ -z "${HUXIAO_HA_DCS:-}" || "$HA_DCS" == "$wanted" ]] \
      || die "the cluster was created with Patroni's $HA_DCS section; tools/ha.sh reset to start over with $wanted"
    [[ "$HA_DCS" == "$wanted" ]] \
      || log_warn "the cluster uses Patroni's $HA_DCS section (made earlier); $wanted is the choice for Patroni $version now (tools/ha.sh reset to switch)"
  else
    HA_DCS=$wanted
    printf '%s\n' "$HA_DCS" >"$file"
  fi
}

etcd_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$(read_port etcd_client)/health" 2>/dev/null \
    | grep -q '"health":"true"'
}

start_etcd() {
  local dir="$HA_BASE/etcd"
  make_owned_dir "$dir"
  if [[ -n "$(etcd_pid)" ]]; then
    log_info "etcd is running (pid $(etcd_pid))"
  else
    local client peer
    client="$(read_port etcd_client)"
    peer="$(read_port etcd_peer)"
    log_step "Starting etcd on 127.0.0.1:$client (log: $dir/etcd.log)"
    # One etcd member is enough on one machine: it is the configuration store
    # that Patroni's leader key lives in, not a copy of the data.
    spawn "$dir" "$dir/etcd.log" "$dir/etcd.pid" etcd \
      --name huxiao-etcd --data-dir "$dir/data" \
      --listen-client-urls "http://127.0.0.1:$client" \
      --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" \
      --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "huxiao-etcd=http://127.0.0.1:$peer" \
      --initial-cluster-state new --initial-cluster-token huxiao-ha \
      --auto-compaction-retention 1 --enable-v2=true --logger zap --log-level warn
  fi
  wait_until 30 "etcd" etcd_healthy || {
    tail -n 20 "$dir/etcd.log" >&2 || true
    die "etcd did not become healthy (last log lines above)"
  }
}

# --- Patroni ------------------------------------------------------------------

# Patroni's cluster-wide settings (kept in etcd), as JSON (which is YAML too).
#  - The leader key lives ttl s without an update; Patroni's loop runs every
#    loop_wait s; etcd and PostgreSQL calls are retried for retry_timeout s
#    (loop_wait + 2 * retry_timeout <= ttl). A dead or hung primary node is
#    replaced once its key expires, ttl s after its last update; a crashed
#    postmaster at once (primary_start_timeout 0: fail over to the synchronous
#    standby rather than restart the primary in place). ttl 10 / loop_wait 1
#    (was 12 / 2) for the goal of a node's death within 20 s: the key expires
#    9-10 s after the death instead of 10-12, and the new primary's Patroni
#    creates the remaining replica's slot (which the first synchronous commits
#    wait for) within a second. The price: an etcd or PostgreSQL call that
#    stalls longer than retry_timeout (4 s) demotes the primary, a false
#    failover (docs/availability.md §1).
#  - synchronous_mode: every commit waits for the synchronous standbys, and
#    only they may be promoted, so an acknowledged commit survives the
#    primary's loss. Strict: with no standby left, commits wait rather than
#    go unreplicated. synchronous_node_count 2: with three nodes both replicas
#    are synchronous (PostgreSQL's "2 (nA,nB)"), so at a primary's loss Patroni
#    promotes the more advanced of the two (each refuses while the other
#    reports more WAL) and the other follows without pg_rewind. With one
#    synchronous standby the asynchronous replica could have received WAL the
#    promoted standby lacked, and strict mode then held every commit until it
#    had rewound (17-25 s more). With one replica left Patroni names just that
#    one ("nA"), so a replica's death stalls commits only until the primary's
#    next loop drops it.
#  - wal_keep_size 512 MB (was 32 MB), more than max_wal_size: a killed
#    primary that rewinds from the new one resumes from its last checkpoint
#    before the divergence, up to a checkpoint's worth of WAL back, and the
#    slot the new primary makes for it starts at the new primary's position,
#    so only wal_keep_size keeps that WAL. With 32 MB, under the soak's write
#    rate, the rewound node asked every second for a segment already recycled
#    and never rejoined (docs/availability.md §7). It is a ceiling, not an
#    allocation: a fresh test cluster writes little. min_wal_size stays small.
#  - wal_retrieve_retry_interval 1 s: a replica reattaches to a new primary
#    within a second or so instead of 5 s, and in strict mode the new
#    primary's commits wait for exactly that.
# The settings live in config/patroni-dcs.json, which docker/compose.ha.yaml's
# nodes read too; here on one line, as Patroni's YAML takes it.
dcs_settings() {
  tr -d '\n' <"$HUXIAO_ROOT/config/patroni-dcs.json"
}

write_patroni_config() {
  local n=$1 dir pg api etcd sock
  dir="$(node_dir "$n")"
  pg="$(read_port "pg_$n")"
  api="$(read_port "api_$n")"
  etcd="$(read_port etcd_client)"
  sock="$HA_SOCK_BASE/$n"
  make_owned_dir "$sock"
  local cfg="$dir/patroni.yml"
  cat >"$cfg" <<YAML
# Written by tools/ha.sh on every start; edits are overwritten.
# "bootstrap.dcs" is the cluster-wide part, kept in etcd; tools/ha.sh start
# writes it there again (PATCH /config) so that it follows dcs_settings.
scope: $HA_SCOPE
namespace: /huxiao/
name: $n

log:
  level: INFO

restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api

$HA_DCS:
  hosts: 127.0.0.1:$etcd
  protocol: http

bootstrap:
  dcs: $(dcs_settings)
  initdb:
    - encoding: UTF8
    - locale: C

postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  # A node whose timeline went its own way after a crash is rewound, or, if
  # that fails, cloned again (development: nothing here is precious).
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: postgres
      password: huxiao-dev
    replication:
      username: replicator
      password: huxiao-dev
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: '$sock'
    shared_buffers: 64MB
    fsync: "on"
    logging_collector: "on"
    log_directory: log
    log_filename: postgresql.log
    log_line_prefix: '%m [%p] %q%u@%d '
    log_timezone: UTC
    timezone: UTC

watchdog:
  mode: off

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
YAML
  is_root && chown postgres:postgres "$cfg"
  chmod 0600 "$cfg"
}

start_node() {
  local n=$1 dir
  dir="$(node_dir "$n")"
  make_owned_dir "$dir"
  write_patroni_config "$n"
  if [[ -n "$(patroni_pid "$n")" ]]; then
    log_info "$n: Patroni is running (pid $(patroni_pid "$n"))"
    return 0
  fi
  log_step "Starting $n: PostgreSQL on 127.0.0.1:$(read_port "pg_$n"), Patroni API on 127.0.0.1:$(read_port "api_$n") (log: $dir/patroni.log)"
  spawn "$dir" "$dir/patroni.log" "$dir/patroni.pid" patroni "$dir/patroni.yml"
}

# The cluster as Patroni's REST API (GET /cluster, from the first node that
# answers) sees it: one line per member, "NAME ROLE STATE PORT TIMELINE LAG".
cluster_members() {
  local n json=''
  for n in "${HA_NODES[@]}"; do
    json="$(curl -fsS --max-time 2 "http://127.0.0.1:$(read_port "api_$n")/cluster" 2>/dev/null)" && break
    json=''
  done
  [[ -n "$json" ]] || return 1
  printf '%s' "$json" | "$PYTHON" -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print(m.get("name", "?"), m.get("role", "?"), m.get("state", "?") or "?",
          m.get("port", "?"), m.get("timeline", "-"), m.get("lag", "-"))
'
}

# The synchronous standbys a healthy cluster has: synchronous_node_count of
# config/patroni-dcs.json, at most the number of replicas.
wanted_sync_standbys() {
  local count
  count="$(sed -n 's/.*"synchronous_node_count": *\([0-9][0-9]*\).*/\1/p' "$HUXIAO_ROOT/config/patroni-dcs.json")"
  count=${count:-1}
  ((count < ${#HA_NODES[@]} - 1)) || count=$((${#HA_NODES[@]} - 1))
  echo "$count"
}

# True when there is a running leader and every node is a running replica,
# as many of them synchronous standbys as the settings ask: the cluster can
# lose any one node (and, with both replicas synchronous, the one promoted
# then is the most advanced, so the other follows without a rewind).
cluster_healthy() {
  local members
  members="$(cluster_members)" || return 1
  local leaders sync running
  leaders="$(awk '$2 == "leader" && $3 == "running"' <<<"$members" | wc -l)"
  sync="$(awk '$2 == "sync_standby" && ($3 == "running" || $3 == "streaming")' <<<"$members" | wc -l)"
  running="$(awk '$3 == "running" || $3 == "streaming"' <<<"$members" | wc -l)"
  [[ $leaders -eq 1 && $sync -ge $(wanted_sync_standbys) && $running -eq ${#HA_NODES[@]} ]]
}

leader_port() {
  local members
  members="$(cluster_members)" || return 1
  awk '$2 == "leader" && $3 == "running" { print $4; found = 1 } END { exit !found }' <<<"$members"
}

# Writes dcs_settings into etcd through Patroni's REST API; Patroni applies
# what changed within a loop (parameters by reload; a few need a restart,
# which "status" then shows as pending).
apply_dcs_settings() {
  local n
  for n in "${HA_NODES[@]}"; do
    curl -fsS --max-time 5 -X PATCH -H 'Content-Type: application/json' \
      --data "$(dcs_settings)" "http://127.0.0.1:$(read_port "api_$n")/config" >/dev/null 2>&1 \
      && return 0
  done
  log_warn "could not write Patroni's cluster settings (PATCH /config)"
}

admin_psql() {
  PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
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

multi_host() {
  local n hosts=''
  for n in "${HA_NODES[@]}"; do hosts+="${hosts:+,}127.0.0.1:$(port_or_die "pg_$n")"; done
  printf '%s' "$hosts"
}

# --- commands -------------------------------------------------------------------

# A node whose Patroni exited while the cluster starts (its bootstrap failed:
# PatroniFatalException, its data renamed to data.failed) is started again,
# on new ports if another program holds its old ones; it then joins as a
# replica of whichever node bootstrapped. At most HA_START_REVIVALS times per
# node, so a node that cannot start fails the start with its log.
declare -A REVIVALS=()
# Exited: the process that spawn() started is gone (or a zombie). Not "is not
# called patroni": just after spawn() it is still setsid/setpriv/env on its
# way to exec Patroni, and must not be started a second time.
patroni_exited() {
  local pid state
  pid="$(pid_from_file "$(node_dir "$1")/patroni.pid")"
  [[ -n "$pid" && -r "/proc/$pid/stat" ]] || return 0
  state="$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null)"
  [[ "$state" == Z ]]
}
revive_exited_nodes() {
  local n
  for n in "${HA_NODES[@]}"; do
    patroni_exited "$n" || continue
    ((${REVIVALS[$n]:-0} < HA_START_REVIVALS)) || continue
    REVIVALS[$n]=$((${REVIVALS[$n]:-0} + 1))
    log_info "$n: Patroni exited during start-up (last lines of its log below); starting it again (${REVIVALS[$n]} of $HA_START_REVIVALS)"
    tail -n 4 "$(node_dir "$n")/patroni.log" >&2 2>/dev/null || true
    rm -rf "$(node_dir "$n")/data.failed"
    assign_ports
    start_node "$n"
  done
}

healthy_or_revive() {
  cluster_healthy && return 0
  revive_exited_nodes
  return 1
}

cmd_start() {
  assign_ports
  choose_dcs
  start_etcd
  local n
  for n in "${HA_NODES[@]}"; do start_node "$n"; done
  log_step "Waiting for a leader and two replicas ($(wanted_sync_standbys) synchronous; up to ${START_TIMEOUT_S}s)"
  if ! wait_until "$START_TIMEOUT_S" "cluster" healthy_or_revive; then
    cmd_status >&2 || true
    for n in "${HA_NODES[@]}"; do
      printf -- '--- %s/patroni.log (last lines)\n' "$n" >&2
      tail -n 8 "$(node_dir "$n")/patroni.log" >&2 2>/dev/null || true
    done
    die "the cluster did not become healthy within ${START_TIMEOUT_S}s (state and logs above)"
  fi
  local port
  port="$(leader_port)" || die "no leader"
  apply_dcs_settings
  ensure_role_and_db "$port"
  log_ok "cluster ready: postgresql://$APP_ROLE@$(multi_host)/$APP_DB?target_session_attrs=read-write"
}

# Sends SIGCONT first: a paused process (a fault test's SIGSTOP) would never
# act on SIGTERM.
signal() {
  local sig=$1
  shift
  local pid
  for pid in "$@"; do
    [[ -n "$pid" ]] || continue
    kill -CONT "$pid" 2>/dev/null || true
    kill "-$sig" "$pid" 2>/dev/null || true
  done
}

all_gone() {
  local pid
  for pid in "$@"; do
    [[ -d "/proc/$pid" ]] && return 1
  done
  return 0
}

# Every PostgreSQL, Patroni or etcd process whose working directory is inside
# DIR (Patroni runs in its node's directory, PostgreSQL in its data
# directory): backends orphaned by a killed postmaster, a pg_basebackup or
# pg_rewind Patroni started, anything a pid file missed.
processes_in() {
  local dir=$1 cwd p comm
  while IFS= read -r cwd; do
    p="${cwd%/cwd}"
    comm="$(cat "$p/comm" 2>/dev/null)" || continue
    case "$comm" in
      postgres | patroni | etcd | pg_basebackup | pg_rewind | initdb | pg_ctl) printf '%s\n' "${p#/proc/}" ;;
    esac
  done < <(find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$dir" -o -lname "$dir/*" \) 2>/dev/null)
}

cmd_stop() {
  local mode=${1:-}
  [[ -z "$mode" || "$mode" == --immediate ]] || die "stop: unknown option '$mode' (expected --immediate)"
  local n
  local -a patronis=() postmasters=()
  for n in "${HA_NODES[@]}"; do
    patronis+=("$(patroni_pid "$n")")
    postmasters+=("$(postmaster_pid "$n")")
  done
  signal CONT "${postmasters[@]}"
  if [[ "$mode" == --immediate ]]; then
    # Patroni killed first, so that nobody fails over or restarts anything;
    # PostgreSQL's immediate shutdown (SIGQUIT; crash recovery at the next
    # start); nothing is waited for but the processes' end.
    log_step "Stopping Patroni and PostgreSQL (immediate)"
    signal KILL "${patronis[@]}"
    signal QUIT "${postmasters[@]}"
  else
    log_step "Stopping Patroni and PostgreSQL"
  fi
  # SIGTERM: Patroni stops its PostgreSQL (fast shutdown) and exits. The
  # replicas go first, while the leader can still release its synchronous
  # standby (which otherwise waits for that), and no replica is left to take
  # over when the leader goes.
  local leader=''
  leader="$(cluster_members 2>/dev/null | awk '$2 == "leader" { print $1 }')" || true
  local -a first=() last=()
  local i p
  for i in "${!HA_NODES[@]}"; do
    p="${patronis[$i]}"
    [[ -n "$p" ]] || continue
    if [[ "${HA_NODES[$i]}" == "$leader" ]]; then last+=("$p"); else first+=("$p"); fi
  done
  local -a group
  for group in first last; do
    local -n pids="$group"
    ((${#pids[@]} > 0)) || continue
    signal TERM "${pids[@]}"
    if ! wait_until 30 "Patroni" all_gone "${pids[@]}"; then
      log_warn "Patroni (pids ${pids[*]}) did not stop within 30s; killing it"
      signal KILL "${pids[@]}"
    fi
  done
  # A PostgreSQL left without its Patroni (killed earlier) is stopped here.
  for n in "${HA_NODES[@]}"; do
    p="$(postmaster_pid "$n")"
    [[ -n "$p" ]] || continue
    signal INT "$p" # fast shutdown
    wait_until 20 "postmaster" all_gone "$p" || signal KILL "$p"
  done
  p="$(etcd_pid)"
  if [[ -n "$p" ]]; then
    log_step "Stopping etcd"
    signal TERM "$p"
    wait_until 20 "etcd" all_gone "$p" || signal KILL "$p"
  fi
  local -a rest
  mapfile -t rest < <(processes_in "$HA_BASE")
  if ((${#rest[@]} > 0)); then
    log_info "ending leftover processes: ${rest[*]}"
    signal KILL "${rest[@]}"
    wait_until 10 "leftovers" all_gone "${rest[@]}" || die "processes ${rest[*]} did not end"
  fi
  log_ok "stopped"
}

cmd_reset() {
  cmd_stop --immediate
  log_step "Deleting the cluster's data in $HA_BASE"
  rm -rf "${HA_BASE:?}/etcd" "${HA_BASE:?}"/n[0-9]*
  [[ "$HA_SOCK_BASE" != "$HA_BASE" ]] && rm -rf "$HA_SOCK_BASE"
  rm -f "$HA_PORTS_FILE" "$HA_BASE/dcs"
  log_ok "reset"
}

cmd_status() {
  [[ -r "$HA_PORTS_FILE" ]] || {
    printf 'stopped (not created yet; tools/ha.sh start creates it)\n'
    return 3
  }
  local members=''
  members="$(cluster_members)" || members=''
  printf '%-5s %-13s %-10s %-16s %-16s %-12s %-15s %-9s %s\n' \
    node role state postgres patroni_api patroni_pid postmaster_pid timeline lag
  local n role state tl lag line
  for n in "${HA_NODES[@]}"; do
    line="$(awk -v n="$n" '$1 == n' <<<"$members")"
    if [[ -n "$line" ]]; then
      read -r _ role state _ tl lag <<<"$line"
    else
      role='-' state='down' tl='-' lag='-'
    fi
    printf '%-5s %-13s %-10s %-16s %-16s %-12s %-15s %-9s %s\n' "$n" "$role" "$state" \
      "127.0.0.1:$(read_port "pg_$n")" "127.0.0.1:$(read_port "api_$n")" \
      "$(patroni_pid "$n" | grep . || echo -)" "$(postmaster_pid "$n" | grep . || echo -)" "$tl" "$lag"
  done
  local e
  e="$(etcd_pid)"
  printf '%-5s %-13s %-10s %-16s %-16s %s\n' etcd dcs "$([[ -n "$e" ]] && echo running || echo down)" \
    "127.0.0.1:$(read_port etcd_client)" - "${e:--}"
  grep -q ' leader running ' <<<"$members" || return 3
}

cmd_logs() {
  local lines=${1:-20} n f
  [[ "$lines" =~ ^[0-9]+$ ]] || die "logs: expected a number of lines, got '$lines'"
  for n in "${HA_NODES[@]}"; do
    f="$(node_dir "$n")/patroni.log"
    printf -- '--- %s\n' "$f"
    [[ -r "$f" ]] && tail -n "$lines" "$f"
  done
  f="$HA_BASE/etcd/etcd.log"
  printf -- '--- %s\n' "$f"
  [[ -r "$f" ]] && tail -n "$lines" "$f"
  return 0
}

cmd_primary() {
  local members
  members="$(cluster_members)" || die "no Patroni answers: is the cluster running? (tools/ha.sh start)"
  awk '$2 == "leader" && $3 == "running" { print $1, "127.0.0.1:" $4; found = 1 } END { exit !found }' \
    <<<"$members" || { log_warn "there is no running leader right now"; return 1; }
}

# Fault injection for tests and measurements (docs/availability.md):
#   kill-postmaster  kill -9 of the node's postmaster (Patroni lives on)
#   kill-node        kill -9 of Patroni, the postmaster and every backend: the
#                    machine is gone
#   pause / resume   SIGSTOP / SIGCONT of all of them: a hung machine
cmd_fault() {
  local n=${1:-} what=${2:-}
  [[ " ${HA_NODES[*]} " == *" $n "* ]] || die "fault: unknown node '$n' (${HA_NODES[*]})"
  local -a pids
  case "$what" in
    kill-postmaster)
      local pm
      pm="$(postmaster_pid "$n")"
      [[ -n "$pm" ]] || die "$n has no running postmaster"
      kill -KILL "$pm"
      printf 'killed postmaster %s of %s\n' "$pm" "$n"
      ;;
    kill-node | pause | resume)
      mapfile -t pids < <(processes_in "$(node_dir "$n")")
      ((${#pids[@]} > 0)) || die "$n has no processes"
      local sig=KILL
      [[ $what == pause ]] && sig=STOP
      [[ $what == resume ]] && sig=CONT
      kill "-$sig" "${pids[@]}" 2>/dev/null || true
      printf '%s: SIG%s to %s\n' "$n" "$sig" "${pids[*]}"
      ;;
    *) die "fault: expected kill-postmaster, kill-node, pause or resume, got '$what'" ;;
  esac
}

with_lock() {
  exec 9>"$HA_STATE_DIR/.lock"
  flock -w 300 9 || die "another tools/ha.sh holds $HA_STATE_DIR/.lock"
  "$@"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  case "$cmd" in
    url)
      [[ -r "$HA_PORTS_FILE" ]] || die "the cluster has not been started yet: run tools/ha.sh start"
      printf 'postgresql://%s@%s/%s?target_session_attrs=read-write\n' "$APP_ROLE" "$(multi_host)" "$APP_DB"
      return
      ;;
    admin-url)
      [[ -r "$HA_PORTS_FILE" ]] || die "the cluster has not been started yet: run tools/ha.sh start"
      printf 'postgresql://postgres@%s/postgres?target_session_attrs=read-write\n' "$(multi_host)"
      return
      ;;
    start | stop | status | primary | reset | fault | logs) ;;
    -h | --help | help) usage ;;
    *)
      log_warn "unknown command: $cmd"
      usage
      ;;
  esac

  require_binaries
  resolve_paths
  case "$cmd" in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop "$@" ;;
    reset) with_lock cmd_reset ;;
    status) cmd_status ;;
    primary) cmd_primary ;;
    fault) cmd_fault "$@" ;;
    logs) cmd_logs "$@" ;;
  esac
}

main "$@"
