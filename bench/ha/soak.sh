#!/usr/bin/env bash
# The proof of contract §8 under load (issue "High availability", item 6;
# docs/availability.md §7): faults of every kind, again and again, while
# terminals raise alarms in a closed loop, then every ack checked against the
# database.
#
#   bench/ha/soak.sh [--short] [CYCLES [FAULT...]]
#
# FAULT (default: all five, CYCLES [3] of each, in turn):
#   huxiaod-kill     kill -9 of the leading huxiaod; restarted as a standby
#                    once the other one leads
#   huxiaod-pause    SIGSTOP of the leading huxiaod for 2 x lease + 1 s, then
#                    SIGCONT: it must ack nothing more and step down
#   pg-kill-node     kill -9 of the PostgreSQL primary's Patroni, postmaster
#                    and backends
#   pg-kill-postmaster  kill -9 of the primary's postmaster only
#   pg-pause         SIGSTOP of the primary's node until a standby has been
#                    promoted, then SIGCONT
# and, only when named (the issue's proof is the five above):
#   pg-kill-standby  kill -9 of a synchronous standby's Patroni, postmaster
#                    and backends: commits wait until Patroni drops it from
#                    synchronous_standby_names
#   pg-pause-standby SIGSTOP of a synchronous standby's node for
#                    SOAK_STANDBY_PAUSE [20] s, then SIGCONT
# --short: one cycle of huxiaod-kill and one of pg-kill-postmaster with a few
# terminals, on a cluster of its own that is stopped at the end (the README's
# test command runs it through ctest: HaSoak.Short).
#
# One run: tools/ha.sh (etcd + three PostgreSQL 15 under Patroni, synchronous
# strict) with a fresh database huxiao_soak; two huxiaod nodes "a" and "b"
# (ha enabled, lease SOAK_LEASE_TTL s) on the cluster's multi-host URL; the
# units of the registry simulated by huxiao-sim (they accept offers, drive,
# clear); SOAK_TERMINALS terminals of huxiao-bench in a closed loop, each
# given both servers (--server, back-off with jitter) and logging every ack.
# Before each fault the load runs SOAK_SETTLE s; after it the script heals
# (restarts what was killed, tools/ha.sh start) and waits until acks flow
# again. At the end it checks, on the healed cluster:
#   lost         acked alarms with no row in terminal_events
#   wrong        acks naming another incident than the database has
#   interleaved  timeline events whose leader epoch is lower than the one
#                before them in the same incident
#   double       a unit accepting an incident while an earlier accepted one
#                was neither cleared by it nor closed
#   late_acks    acks from a paused leader after its SIGCONT
# and prints per fault the p50/p99/max over cycles of the longest gap between
# two consecutive acks (of any terminal) around the fault, and the time a
# paused leader took to step down after SIGCONT. Last line:
#   ha: cycles=… lost=0 wrong=0 interleaved=0 double=0 late_acks=0 huxiaod_gap_p99_s=… pg_crash_gap_max_s=… pg_node_gap_max_s=… sync_cost_ratio=…
# sync_cost_ratio (skipped with --short): alarms/s of SOAK_SYNC_TERMINALS [64]
# terminals for SOAK_SYNC_DURATION [10] s against one huxiaod on the
# replicated cluster over the same against tools/pg.sh's single PostgreSQL,
# with pgbench's single-row insert ratio on the same two beside it; measured
# SOAK_SYNC_ROUNDS [3] times after a warm-up pair, replicated and single
# back to back, and the median of the rounds' ratios reported (one pair alone
# swung 0.59-1.13 on a shared machine). Each round also runs huxiaod on the
# replicated cluster with synchronous_commit = local ("commits not waiting
# for the standbys"): replicated over that is the synchronous wait's own
# cost, apart from that of three PostgreSQL servers sharing this machine.
#
# Environment: SOAK_TERMINALS [32]  SOAK_UNITS [30]  SOAK_SETTLE [5]
#   SOAK_LEASE_TTL [3]  SOAK_OUT [.local/bench/soak-DATE]  BENCH_NO_BUILD=1
#   SOAK_UNTIL (a time for date -d, e.g. "14:40 UTC"): no new round of the
#   faults starts after it, and the run goes on to its checks with the rounds
#   done (on a busy shared machine a round takes several times its usual
#   minutes; cycles= in the last line says how many ran)
#   SOAK_BUILD (a build directory with huxiaod, huxiao-bench, huxiao-sim;
#   default build/release, built first unless BENCH_NO_BUILD)
#   HUXIAO_HA_DIR (the cluster's state; default .local/ha, --short .local/ha-soak)
# Exit status: 0 when every check holds (the gaps are reported, not judged),
# 1 otherwise or when a step fails.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$HUXIAO_ROOT"

SHORT=0
if [[ ${1:-} == --short ]]; then
  SHORT=1
  shift
fi
if ((SHORT)); then
  CYCLES=1
  FAULTS=(huxiaod-kill pg-kill-postmaster)
  : "${SOAK_TERMINALS:=8}" "${SOAK_UNITS:=6}" "${SOAK_SETTLE:=3}"
  export HUXIAO_HA_DIR="${HUXIAO_HA_DIR:-$HUXIAO_ROOT/.local/ha-soak}"
else
  CYCLES=${1:-3}
  shift || true
  FAULTS=("$@")
  ((${#FAULTS[@]} > 0)) || FAULTS=(huxiaod-kill huxiaod-pause pg-kill-node pg-kill-postmaster pg-pause)
fi
TERMINALS=${SOAK_TERMINALS:-32}
UNITS=${SOAK_UNITS:-30}
SETTLE=${SOAK_SETTLE:-5}
TTL=${SOAK_LEASE_TTL:-3}
SYNC_TERMINALS=${SOAK_SYNC_TERMINALS:-64}
SYNC_DURATION=${SOAK_SYNC_DURATION:-10}
SYNC_ROUNDS=${SOAK_SYNC_ROUNDS:-3}
STANDBY_PAUSE=${SOAK_STANDBY_PAUSE:-20}
OUT=${SOAK_OUT:-$HUXIAO_ROOT/.local/bench/soak-$(date -u +%Y%m%d-%H%M%S)}
BUILD=${SOAK_BUILD:-$HUXIAO_ROOT/build/release}
JOBS=${BENCH_JOBS:-2}
PG_BIN=/usr/lib/postgresql/15/bin
HA=tools/ha.sh
DB=huxiao_soak

[[ "$CYCLES" =~ ^[0-9]+$ && $CYCLES -ge 1 ]] || die "CYCLES must be a whole number >= 1 (got '$CYCLES')"
for v in "$TERMINALS" "$UNITS" "$SETTLE" "$TTL" "$SYNC_TERMINALS" "$SYNC_DURATION" "$SYNC_ROUNDS" "$STANDBY_PAUSE"; do
  [[ "$v" =~ ^[0-9]+$ && $v -ge 1 ]] || die "SOAK_* settings take whole numbers >= 1 (got '$v')"
done
for f in "${FAULTS[@]}"; do
  case $f in
    huxiaod-kill | huxiaod-pause | pg-kill-node | pg-kill-postmaster | pg-pause) ;;
    pg-kill-standby | pg-pause-standby) ;;
    *) die "unknown fault '$f' (huxiaod-kill huxiaod-pause pg-kill-node pg-kill-postmaster pg-pause pg-kill-standby pg-pause-standby)" ;;
  esac
done
UNTIL_S=''
if [[ -n "${SOAK_UNTIL:-}" ]]; then
  UNTIL_S=$(date -u -d "$SOAK_UNTIL" +%s) || die "SOAK_UNTIL: not a time date -d understands ('$SOAK_UNTIL')"
fi
mkdir -p "$OUT"
log_info "results go to $OUT"

[[ -n "${SOAK_BUILD:-}" ]] || bench_build huxiaod huxiao-bench huxiao-sim
HUXIAOD=$BUILD/server/huxiaod
BENCH=$BUILD/tools/bench/huxiao-bench
SIM=$BUILD/tools/sim/huxiao-sim
for b in "$HUXIAOD" "$BENCH" "$SIM"; do [[ -x "$b" ]] || die "missing $b"; done

now_ms() { date +%s%3N; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- processes and their cleanup ---------------------------------------------------
declare -A NODE_PID=()
BENCH_PID=''
SIM_PID=''
cleanup() {
  local pid until
  for pid in $BENCH_PID $SIM_PID "${NODE_PID[@]}"; do
    [[ -n "$pid" ]] || continue
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  # 30 s to exit, then kill -9 (and say so: a process that does not exit on
  # SIGTERM is a finding).
  until=$((SECONDS + 30))
  for pid in $BENCH_PID $SIM_PID "${NODE_PID[@]}"; do
    [[ -n "$pid" ]] || continue
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < until)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log_warn "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)) did not exit within 30 s of SIGTERM: kill -9"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if ((SHORT)); then "$HA" stop --immediate >>"$OUT/ha.log" 2>&1 || true; fi
}
trap cleanup EXIT

heal_cluster() {
  "$HA" start >>"$OUT/ha.log" 2>&1 || { tail -n 30 "$OUT/ha.log" >&2; "$HA" logs 20 >&2 || true; die "tools/ha.sh start failed (log: $OUT/ha.log)"; }
}

# --- 1. cluster, database, registry ----------------------------------------------------
log_step "Replicated PostgreSQL (tools/ha.sh start; state in ${HUXIAO_HA_DIR:-.local/ha})"
heal_cluster
HA_URL=$("$HA" url)
ADMIN_URL=$("$HA" admin-url)
# with_db URL DB: the same URL naming database DB (its parameters kept)
with_db() { sed -E "s#/huxiao(\?|\$)#/$2\1#" <<<"$1"; }
URL=$(with_db "$HA_URL" "$DB")
admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
sql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At "$URL"; }
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null

# Certificates for the soak's terminals and for the sync-cost run's (its
# first SYNC_TERMINALS); the soak's load uses the first TERMINALS.
CERTS=$TERMINALS
((SHORT || SYNC_TERMINALS <= TERMINALS)) || CERTS=$SYNC_TERMINALS
log_step "$CERTS schools and terminals ($TERMINALS in the soak), $UNITS units, certificates"
rm -rf "$OUT/certs"
"$BENCH" --make-certs "$OUT/certs" --terminals "$CERTS" --prefix T-S --school-prefix S-S \
  --units "$UNITS" --unit-prefix P-S 2>"$OUT/make-certs.log"
# The units are huxiao-sim's; the terminals huxiao-bench's.
python3 - "$OUT/certs/registry.json" "$OUT/units-registry.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["terminals"] = []
json.dump(doc, open(sys.argv[2], "w"))
PY

# node_config NAME TERMINAL_PORT API_PORT [ha true|false] -> $OUT/NAME.json
node_config() {
  local name=$1 tport=$2 aport=$3 ha=${4:-true}
  cat >"$OUT/$name.json" <<JSON
{
  "database": { "url": "${DB_URL_FOR_NODES:-$URL}", "pool_size": 4, "connect_timeout_s": 2 },
  "terminal_listener": {
    "address": "127.0.0.1", "port": $tport,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/terminal-ca.crt",
    "max_frames_per_s": 10000, "max_unauthenticated_per_address": 2000,
    "session_ticket_key": "ticket.key"
  },
  "api_listener": { "address": "127.0.0.1", "port": $aport, "cert": "certs/server.crt", "key": "certs/server.key",
                    "session_ticket_key": "ticket.key" },
  "dispatch": { "offer_timeout_s": 10 },
  "ha": { "enabled": $ha, "node": "$name", "lease_ttl_s": $TTL,
          "advertise_terminal": "127.0.0.1:$tport", "advertise_api": "127.0.0.1:$aport" },
  "log": { "level": "info", "format": "text" }
}
JSON
}
head -c 80 /dev/urandom >"$OUT/ticket.key"
chmod 600 "$OUT/ticket.key"
declare -A TPORT=() APORT=()
for n in a b; do
  TPORT[$n]=$(free_port)
  APORT[$n]=$(free_port)
  node_config "$n" "${TPORT[$n]}" "${APORT[$n]}"
done
"$HUXIAOD" import --config "$OUT/a.json" "$OUT/certs/registry.json" >"$OUT/import.log" 2>&1 \
  || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }

# --- 2. the two servers ------------------------------------------------------------------
start_node() {  # start_node NAME
  "$HUXIAOD" serve --config "$OUT/$1.json" >>"$OUT/$1.out" 2>>"$OUT/$1.err" &
  NODE_PID[$1]=$!
}
# readyz NAME -> the HTTP status of its /readyz (000 when nothing answers)
readyz() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 1 --cacert "$OUT/certs/server-ca.crt" \
    "https://127.0.0.1:${APORT[$1]}/readyz" 2>/dev/null || true
}
leader() {  # the node whose /readyz is 200, or nothing
  local n
  for n in a b; do [[ $(readyz "$n") == 200 ]] && { echo "$n"; return 0; }; done
  return 0
}
wait_for_leader() {  # wait_for_leader BOUND_S -> the leader's name
  local until=$((SECONDS + $1)) l
  while ((SECONDS < until)); do
    l=$(leader)
    [[ -n "$l" ]] && { echo "$l"; return 0; }
    sleep 0.1
  done
  return 1
}
other() { [[ $1 == a ]] && echo b || echo a; }

log_step "Two huxiaod nodes (lease ${TTL} s): a on ${TPORT[a]}/${APORT[a]}, b on ${TPORT[b]}/${APORT[b]}"
start_node a
first=$(wait_for_leader 60) || { tail -n 20 "$OUT/a.err" >&2; die "node a did not lead within 60 s"; }
start_node b
log_ok "node $first leads"

# --- 3. units and terminals --------------------------------------------------------------
servers_sim=(--server "127.0.0.1:${TPORT[a]}:${APORT[a]}" --server "127.0.0.1:${TPORT[b]}:${APORT[b]}")
"$SIM" --config "$OUT/a.json" --certs "$OUT/certs" --registry "$OUT/units-registry.json" \
  "${servers_sim[@]}" --speed-kmh 300 --drill-share 0 --decline-share 0.1 --seed 7 \
  >"$OUT/sim.out" 2>"$OUT/sim.err" &
SIM_PID=$!
: >"$OUT/acks.log"
"$BENCH" --server "127.0.0.1:${TPORT[a]}" --server "127.0.0.1:${TPORT[b]}" --ca "$OUT/certs/server-ca.crt" \
  --certs "$OUT/certs" --prefix T-S --terminals "$TERMINALS" --warmup 0 --duration 0 \
  --timeout-ms 3000 --connect-timeout 60 --reconnect-cap-ms 1000 --kind intrusion \
  --ack-log "$OUT/acks.log" >"$OUT/bench.json" 2>"$OUT/bench.err" &
BENCH_PID=$!

acks_now() { wc -l <"$OUT/acks.log"; }
# wait_for_acks BOUND_S: until the ack log grows again (acks flow).
wait_for_acks() {
  local until=$((SECONDS + $1)) before
  before=$(acks_now)
  while ((SECONDS < until)); do
    sleep 0.2
    (($(acks_now) > before)) && return 0
    kill -0 "$BENCH_PID" 2>/dev/null || die "huxiao-bench exited: $(tail -n 5 "$OUT/bench.err")"
  done
  return 1
}
wait_for_acks 60 || die "no ack within 60 s of start ($(tail -n 3 "$OUT/bench.err"))"
log_ok "acks flow ($TERMINALS terminals)"

# --- 4. the faults -----------------------------------------------------------------------
: >"$OUT/faults.log"  # FAULT CYCLE T_FAULT_MS T_HEALED_MS [STEP_DOWN_MS T_CONT_MS SERVER READYZ_MS]
node_running() { kill -0 "${NODE_PID[$1]}" 2>/dev/null; }
ensure_nodes() {  # a node that died (or was killed) starts again
  local n
  for n in a b; do node_running "$n" || start_node "$n"; done
}
# step_down_logged NODE SINCE_MS -> ms from SINCE_MS to the node's first
# "restarting as a standby" log line at or after it (its log's wall-clock
# timestamps, milliseconds, UTC), or "?" when there is none.
step_down_logged() {
  local line at
  while IFS= read -r line; do
    at=$(date -u -d "${line%% *}" +%s%3N 2>/dev/null) || continue
    if ((at >= $2)); then echo $((at - $2)); return 0; fi
  done < <(grep 'restarting as a standby' "$OUT/$1.err" || true)
  echo '?'
}
pg_primary() { "$HA" primary 2>/dev/null | cut -d' ' -f1 || true; }  # nothing while none leads
# A synchronous standby that streams (the first of them), or nothing.
pg_standby() {
  "$HA" status 2>/dev/null | awk '$2 == "sync_standby" && ($3 == "streaming" || $3 == "running") { print $1; exit }' || true
}

run_fault() {  # run_fault FAULT CYCLE
  local fault=$1 cycle=$2 l t0 t1 extra='' primary p2 until
  sleep "$SETTLE"
  l=$(wait_for_leader 30) || die "no huxiaod leads before $fault #$cycle"
  case $fault in
    huxiaod-kill)
      t0=$(now_ms)
      kill -9 "${NODE_PID[$l]}"
      wait "${NODE_PID[$l]}" 2>/dev/null || true
      wait_for_leader 60 >/dev/null || die "no takeover within 60 s after kill -9 of node $l"
      start_node "$l"
      ;;
    huxiaod-pause)
      t0=$(now_ms)
      kill -STOP "${NODE_PID[$l]}"
      sleep $((2 * TTL + 1))
      local t_cont
      t_cont=$(now_ms)
      kill -CONT "${NODE_PID[$l]}"
      # Stepped down: its /readyz no longer answers 200 (it restarts itself
      # as a standby: nothing answers, then 503). What a client sees includes
      # curl's own start and TLS handshake (hundreds of ms on a loaded
      # machine); the server's own step-down is the time of its "restarting
      # as a standby" log line.
      until=$((SECONDS + 30))
      while ((SECONDS < until)) && [[ $(readyz "$l") == 200 ]]; do sleep 0.05; done
      local seen_ms logged_ms
      seen_ms=$(($(now_ms) - t_cont))
      logged_ms=$(step_down_logged "$l" "$t_cont")
      extra="$logged_ms $t_cont 127.0.0.1:${TPORT[$l]} $seen_ms"
      ;;
    pg-kill-node | pg-kill-postmaster | pg-pause)
      primary=$(pg_primary)
      [[ -n "$primary" ]] || die "no PostgreSQL primary before $fault #$cycle"
      t0=$(now_ms)
      "$HA" fault "$primary" "${fault#pg-}" >>"$OUT/ha.log" 2>&1
      if [[ $fault == pg-pause ]]; then
        until=$((SECONDS + 90))
        while ((SECONDS < until)); do
          p2=$(pg_primary)
          [[ -n "$p2" && "$p2" != "$primary" ]] && break
          sleep 0.2
        done
        "$HA" fault "$primary" resume >>"$OUT/ha.log" 2>&1
      fi
      ;;
    pg-kill-standby | pg-pause-standby)
      local standby
      standby=$(pg_standby)
      [[ -n "$standby" ]] || die "no streaming synchronous standby before $fault #$cycle"
      t0=$(now_ms)
      if [[ $fault == pg-kill-standby ]]; then
        "$HA" fault "$standby" kill-node >>"$OUT/ha.log" 2>&1
      else
        "$HA" fault "$standby" pause >>"$OUT/ha.log" 2>&1
        sleep "$STANDBY_PAUSE"
        "$HA" fault "$standby" resume >>"$OUT/ha.log" 2>&1
      fi
      ;;
  esac
  wait_for_acks 120 || die "acks did not come back within 120 s after $fault #$cycle"
  t1=$(now_ms)
  heal_cluster
  ensure_nodes
  echo "$fault $cycle $t0 $t1 $extra" >>"$OUT/faults.log"
  log_info "$fault #$cycle: acks again after $(((t1 - t0) / 1000)).$(((t1 - t0) % 1000 / 100)) s${extra:+, stepped down ${extra%% *} ms after SIGCONT by its log (/readyz not 200 after ${extra##* } ms)}"
}

log_step "Faults: ${FAULTS[*]} ($CYCLES cycle(s) each, $SETTLE s of load before each)"
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  if [[ -n "$UNTIL_S" ]] && (($(date +%s) >= UNTIL_S)); then
    log_warn "SOAK_UNTIL ($SOAK_UNTIL) reached: $((cycle - 1)) of $CYCLES cycle(s) done"
    break
  fi
  for fault in "${FAULTS[@]}"; do run_fault "$fault" "$cycle"; done
done
sleep "$SETTLE"

log_step "Stopping the load; checking every ack against the database"
kill -TERM "$BENCH_PID"
wait "$BENCH_PID" || log_warn "huxiao-bench: $(tail -n 3 "$OUT/bench.err")"
BENCH_PID=''
kill -TERM "$SIM_PID" 2>/dev/null || true
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=''
heal_cluster

checks=$(sql <<SQL
CREATE TEMP TABLE acked (at_ms bigint, terminal text, alarm text, incident text, server text);
\copy acked FROM '$OUT/acks.log' WITH (FORMAT text, DELIMITER ' ')
SELECT (SELECT count(*) FROM acked)
  || ' ' || (SELECT count(*) FROM acked a LEFT JOIN terminal_events te
               ON te.terminal_id = a.terminal AND te.event_id = a.alarm WHERE te.terminal_id IS NULL)
  || ' ' || (SELECT count(*) FROM acked a JOIN terminal_events te
               ON te.terminal_id = a.terminal AND te.event_id = a.alarm WHERE te.incident_id <> a.incident)
  || ' ' || (SELECT count(*) FROM (SELECT epoch, lag(epoch) OVER (PARTITION BY incident_id ORDER BY seq) AS prev
                                     FROM incident_events) e WHERE e.epoch < e.prev)
  || ' ' || (SELECT count(*) FROM (
               SELECT unit_id, incident_id, at,
                      lead(at) OVER w AS next_at, lead(incident_id) OVER w AS next_incident
                 FROM incident_events WHERE type = 'unit_accepted'
               WINDOW w AS (PARTITION BY unit_id ORDER BY at, seq)) acc
             WHERE acc.next_at IS NOT NULL AND acc.next_incident <> acc.incident_id
               AND NOT EXISTS (SELECT 1 FROM incident_events e
                                WHERE e.incident_id = acc.incident_id AND e.at >= acc.at AND e.at <= acc.next_at
                                  AND ((e.type = 'unit_cleared' AND e.unit_id = acc.unit_id)
                                       OR e.type IN ('resolved', 'cancelled'))))
  || ' ' || (SELECT count(*) FROM incident_events WHERE epoch IS NULL)
  || ' ' || (SELECT count(DISTINCT epoch) FROM incident_events)
  || ' ' || (SELECT count(*) FROM incident_events WHERE type = 'unit_accepted');
SQL
)
read -r acked lost wrong interleaved double unfenced epochs accepted <<<"$checks"

# Per cycle, the longest gap between two consecutive acks that overlaps the
# span from the fault to acks flowing again; late acks of a paused leader.
sort -n -k1,1 "$OUT/acks.log" | awk '{ print $1, $5 }' >"$OUT/acks.sorted"
gaps=$(awk '
  FNR == NR { fault[++nf] = $1; t0[nf] = $3; t1[nf] = $4; tcont[nf] = $6; srv[nf] = $7; next }
  {
    t = $1
    for (i = 1; i <= nf; i++) {
      if (prev != "" && t >= t0[i] && prev <= t1[i] && t - prev > gap[i]) gap[i] = t - prev
      if (tcont[i] != "" && $2 == srv[i] && t > tcont[i] + 0 && t <= tcont[i] + 10000) late[i]++
    }
    prev = t
  }
  END { for (i = 1; i <= nf; i++) printf "%s %.3f %d\n", fault[i], gap[i] / 1000, late[i] + 0 }
' "$OUT/faults.log" "$OUT/acks.sorted")
echo "$gaps" >"$OUT/gaps.txt"
late_acks=$(awk '{ s += $3 } END { print s + 0 }' <<<"$gaps")

# stats FAULT -> "n p50 p99 max" of its cycles' gaps (nearest rank)
stats() {
  awk -v f="$1" '$1 == f { print $2 }' <<<"$gaps" | sort -n | awk '
    { v[++n] = $1 }
    function rank(p,   k) { k = int(p * n + 0.999999); if (k < 1) k = 1; return v[k] }
    END { if (n == 0) { print "0 - - -"; exit } printf "%d %.1f %.1f %.1f\n", n, rank(0.5), rank(0.99), v[n] }'
}
printf '\n%-20s %6s %8s %8s %8s  %s\n' fault cycles gap_p50 gap_p99 gap_max "step_down_ms (paused leader, after SIGCONT, by its log; /readyz)"
declare -A MAX=() P99=()
for f in huxiaod-kill huxiaod-pause pg-kill-node pg-kill-postmaster pg-pause pg-kill-standby pg-pause-standby; do
  read -r n p50 p99 max <<<"$(stats "$f")"
  ((n > 0)) || continue
  MAX[$f]=$max
  P99[$f]=$p99
  steps=$(awk -v f="$f" '$1 == f && $5 != "" { printf "%s;%s ", $5, $8 }' "$OUT/faults.log")
  printf '%-20s %6s %8s %8s %8s  %s\n' "$f" "$n" "$p50" "$p99" "$max" "${steps:--}"
done

# sync_cost_ratio: one huxiaod (ha off) on the replicated cluster vs on tools/pg.sh's.
sync_cost=n/a
if ((!SHORT)); then
  log_step "Synchronous replication's cost: $SYNC_TERMINALS terminals for $SYNC_DURATION s, replicated vs single PostgreSQL"
  for pid in "${NODE_PID[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PID[@]}"; do wait "$pid" 2>/dev/null || true; done
  NODE_PID=()
  tools/pg.sh start >>"$OUT/pg.log" 2>&1 || die "tools/pg.sh start failed"
  # A fresh database on each cluster, so that both start equal.
  SYNC_DB=huxiao_soak_sync
  for admin_url in "$ADMIN_URL" "$(tools/pg.sh admin-url)"; do
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "DROP DATABASE IF EXISTS $SYNC_DB WITH (FORCE)" \
      -c "CREATE DATABASE $SYNC_DB OWNER huxiao" >/dev/null
  done
  SINGLE_URL=$(tools/pg.sh url)
  # "unwaited": the same replicated cluster and database, but the sessions
  # commit with synchronous_commit = local (the replicas still stream, only
  # the commits stop waiting for them). Against it the synchronous wait's
  # own cost shows apart from that of running three PostgreSQL servers on
  # this machine's cores (docs/availability.md §7).
  declare -A SYNC_URL=([replicated]=$(with_db "$HA_URL" "$SYNC_DB") [single]=$(with_db "$SINGLE_URL" "$SYNC_DB"))
  SYNC_URL[unwaited]="${SYNC_URL[replicated]}&options=-csynchronous_commit%3Dlocal"
  [[ ${SYNC_URL[replicated]} == *\?* ]] || die "the replicated URL has no query part: ${SYNC_URL[replicated]}"
  echo "INSERT INTO soak_pgbench (v) VALUES ('x');" >"$OUT/pgbench.sql"
  declare -A SYNC_PORT=()
  for where in replicated single unwaited; do
    SYNC_PORT[$where]=$(free_port)
    DB_URL_FOR_NODES=${SYNC_URL[$where]} node_config "sync-$where" "${SYNC_PORT[$where]}" "$(free_port)" false
    [[ $where == unwaited ]] && continue  # the replicated database, imported above
    "$HUXIAOD" import --config "$OUT/sync-$where.json" "$OUT/certs/registry.json" >>"$OUT/import.log" 2>&1 \
      || die "import for $where failed"
    "$PG_BIN/psql" -X -q "${SYNC_URL[$where]}" \
      -c "CREATE TABLE IF NOT EXISTS soak_pgbench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), v text)" >/dev/null
  done
  # sync_round WHERE: ROUND_RATE = huxiaod's alarms/s, ROUND_TPS = pgbench's
  # single-row insert with as many clients, on the same database. (Not in a
  # subshell: the server it starts stays in NODE_PID for cleanup.)
  sync_round() {
    local where=$1 sp=${SYNC_PORT[$1]} until
    "$HUXIAOD" serve --config "$OUT/sync-$where.json" >>"$OUT/sync-$where.out" 2>>"$OUT/sync-$where.err" &
    NODE_PID[sync]=$!
    until=$((SECONDS + 30))
    until (echo >"/dev/tcp/127.0.0.1/$sp") 2>/dev/null || ((SECONDS > until)); do sleep 0.1; done
    "$BENCH" --server "127.0.0.1:$sp" --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" --prefix T-S \
      --terminals "$SYNC_TERMINALS" --warmup 2 --duration "$SYNC_DURATION" >"$OUT/sync-$where.json.out" 2>>"$OUT/bench.err" \
      || log_warn "huxiao-bench against the $where cluster: $(tail -n 2 "$OUT/bench.err")"
    ROUND_RATE=$(sed -n 's/.*"alarms_per_s":\([0-9.]*\).*/\1/p' "$OUT/sync-$where.json.out")
    kill -TERM "${NODE_PID[sync]}"
    wait "${NODE_PID[sync]}" 2>/dev/null || true
    unset 'NODE_PID[sync]'
    ROUND_TPS=''  # unwaited: huxiaod only (the figure asked is its own)
    [[ $where == unwaited ]] || ROUND_TPS=$("$PG_BIN/pgbench" -n -M prepared -c "$SYNC_TERMINALS" -j 2 \
      -T "$SYNC_DURATION" -f "$OUT/pgbench.sql" "${SYNC_URL[$where]}" 2>>"$OUT/pgbench.err" \
      | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    ROUND_RATE=${ROUND_RATE:-0} ROUND_TPS=${ROUND_TPS:-0}
  }
  ratio() { awk -v r="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", r / s; else print "n/a" }'; }
  median() { tr ' ' '\n' | grep -v '^n/a$' | grep . | sort -n | awk '{ v[++n] = $1 } END { if (n) print v[int((n + 1) / 2)]; else print "n/a" }'; }
  ratios='' pgb_ratios='' wait_ratios=''
  printf '\nsync cost, %s terminals, %s s each:\n' "$SYNC_TERMINALS" "$SYNC_DURATION"
  # One pair first, not counted: each fresh database's first run was always
  # its slowest (the single PostgreSQL's 2,142-2,536 alarms/s, then
  # 4,200-5,233), which flattered the first round's ratio.
  sync_round replicated
  sync_round single
  printf '  warm-up (not counted): huxiaod %s alarms/s single\n' "$ROUND_RATE"
  for ((round = 1; round <= SYNC_ROUNDS; round++)); do
    sync_round replicated
    rep_rate=$ROUND_RATE rep_tps=$ROUND_TPS
    sync_round single
    single_rate=$ROUND_RATE single_tps=$ROUND_TPS
    sync_round unwaited
    unwaited_rate=$ROUND_RATE
    r=$(ratio "$rep_rate" "$single_rate")
    pr=$(ratio "$rep_tps" "$single_tps")
    wr=$(ratio "$rep_rate" "$unwaited_rate")
    ratios+="$r "
    pgb_ratios+="$pr "
    wait_ratios+="$wr "
    printf '  round %d: huxiaod %s alarms/s replicated, %s single (ratio %s); pgbench %s vs %s tps (ratio %s);' \
      "$round" "$rep_rate" "$single_rate" "$r" "$rep_tps" "$single_tps" "$pr"
    printf ' replicated with commits not waiting for the standbys: huxiaod %s alarms/s (synchronous / not: %s)\n' \
      "$unwaited_rate" "$wr"
  done
  sync_cost=$(median <<<"$ratios")
  printf '  median of %d rounds: huxiaod ratio %s, pgbench ratio %s; the synchronous wait alone (same cluster): %s\n' \
    "$SYNC_ROUNDS" "$sync_cost" "$(median <<<"$pgb_ratios")" "$(median <<<"$wait_ratios")"
fi

pg_node_max=$(printf '%s\n' "${MAX[pg-kill-node]:-}" "${MAX[pg-pause]:-}" | awk 'NF { if ($1 > m) m = $1; n++ } END { print n ? m : "n/a" }')
printf '\nacked %s alarms; %s timeline epochs; %s acceptances by units; %s events without an epoch\n' \
  "$acked" "$epochs" "$accepted" "$unfenced"
total_cycles=$(wc -l <"$OUT/faults.log")
echo "ha: cycles=$total_cycles lost=$lost wrong=$wrong interleaved=$interleaved double=$double late_acks=$late_acks huxiaod_gap_p99_s=${P99[huxiaod-kill]:-n/a} pg_crash_gap_max_s=${MAX[pg-kill-postmaster]:-n/a} pg_node_gap_max_s=$pg_node_max sync_cost_ratio=$sync_cost" \
  | tee "$OUT/summary.txt"
((acked > 0 && lost == 0 && wrong == 0 && interleaved == 0 && double == 0 && late_acks == 0))
