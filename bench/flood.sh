#!/usr/bin/env bash
# Connection and console flood benchmark (issue #8 items 2 and 5;
# docs/performance.md, "Connection flood").
#
#   bench/flood.sh
#
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod and huxiao-bench with the release preset (build/release);
#   2. a fresh database huxiao_bench_flood with BENCH_TERMINALS schools and
#      terminals and BENCH_UNITS units, certificates and unit tokens (as
#      bench/dispatch.sh), and a dispatcher token for the console check;
#   3. starts huxiaod (release build, default connection limits);
#   4. run "quiet": huxiao-bench dispatch from 127.0.0.1 (terminals alarm,
#      units accept, arrive and clear), as in bench/dispatch.sh;
#   5. run "flood": the same while two `huxiao-bench flood` processes hold
#      BENCH_JUNK junk connections from 127.0.0.2 against each listener (a
#      third idle TCP, a third half-open TLS, a third a byte a minute; a slot
#      the server closes reconnects after BENCH_RECONNECT s). During the run a
#      console (dispatcher token, 127.0.0.1) reads the incident list over
#      HTTPS every second;
#   5b. run "console" (issue #8 item 5): the same while BENCH_CONSOLES
#      consoles (`huxiao-bench console-flood`, dispatcher token) ask for
#      snapshots over /ws/console as fast as they can;
#   6. prints a table: alarm -> offer p50/p99 (client and server histogram),
#      acks, the console requests, and what the server refused by cause.
#
# Environment (defaults in brackets):
#   BENCH_JUNK [10000]  BENCH_RECONNECT [1]  BENCH_RATE [50]  BENCH_WARMUP [2]
#   BENCH_DURATION [20]  BENCH_TERMINALS [200]  BENCH_UNITS [100]
#   BENCH_PER_ADDRESS [256]  max_unauthenticated_per_address of both listeners:
#                the real clients connect all at once from 127.0.0.1, so it
#                must exceed BENCH_TERMINALS (the defaults, 32 and 64, would
#                refuse part of that burst; refused terminals retry)
#   BENCH_POOL_SIZE [4]  BENCH_JOBS [2]
#   BENCH_CONSOLES [1]  consoles of the "console" run
#   BENCH_RUNS ["quiet flood console"]  which runs, in that order
#   BENCH_OUT   where results go [.local/bench/flood-YYYYmmdd-HHMMSS]
#   BENCH_NO_BUILD=1  use the build as it is
#   BENCH_BUILD  the build directory [build/release]; e.g. build/ci (RelWithDebInfo)
#                with BENCH_NO_BUILD=1 when the release build is not at hand
#
# Loopback only; bounded by BENCH_JUNK (at most 20000) and the duration.
# Exit status: non-zero when a step fails or a run lost offers or acks or saw
# disconnects; missing the 5 ms target is reported, not a failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

RATE=${BENCH_RATE:-50}
WARMUP=${BENCH_WARMUP:-2}
DURATION=${BENCH_DURATION:-20}
TERMINALS=${BENCH_TERMINALS:-200}
UNITS=${BENCH_UNITS:-100}
POOL_SIZE=${BENCH_POOL_SIZE:-4}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/flood-$(date -u +%Y%m%d-%H%M%S)}
JUNK=${BENCH_JUNK:-10000}
PER_ADDRESS=${BENCH_PER_ADDRESS:-256}
RECONNECT=${BENCH_RECONNECT:-1}
CONSOLES=${BENCH_CONSOLES:-1}
RUNS=${BENCH_RUNS:-quiet flood console}
DB=huxiao_bench_flood
BUILD=${BENCH_BUILD:-$HUXIAO_ROOT/build/release}
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x "$PG_BIN/psql" ]] || PG_BIN=$(dirname "$(command -v psql)")

for v in "$WARMUP" "$DURATION" "$TERMINALS" "$UNITS" "$POOL_SIZE" "$JUNK" "$PER_ADDRESS"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP, BENCH_DURATION, BENCH_TERMINALS, BENCH_UNITS, BENCH_POOL_SIZE, BENCH_JUNK take whole numbers (got '$v')"
done
((JUNK <= 20000)) || die "BENCH_JUNK is at most 20000"
[[ "$CONSOLES" =~ ^[0-9]+$ ]] && ((CONSOLES >= 1 && CONSOLES <= 100)) || die "BENCH_CONSOLES takes 1-100 (got '$CONSOLES')"
for r in $RUNS; do
  [[ "$r" == quiet || "$r" == flood || "$r" == console ]] || die "BENCH_RUNS takes quiet, flood and console (got '$r')"
done
[[ "$RECONNECT" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_RECONNECT takes a number (got '$RECONNECT')"
# Junk and real clients need descriptors: the flood processes and huxiaod inherit this.
ulimit -n "$(ulimit -Hn)"
[[ "$RATE" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_RATE takes a number (got '$RATE')"
command -v curl >/dev/null || die "curl is needed to scrape /metrics"

mkdir -p "$OUT"
log_info "results go to $OUT"

# --- 1. build -------------------------------------------------------------------
bench_build huxiaod huxiao-bench
[[ -x "$HUXIAOD_BIN" && -x "$BENCH_BIN" ]] || die "missing $HUXIAOD_BIN or $BENCH_BIN"

# --- 2. cluster, database, registry, certificates, tokens --------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
admin_db() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "${ADMIN_URL%/*}/$DB" "$@"; }

log_step "Fresh database $DB: $TERMINALS schools and terminals, $UNITS units, certificates, unit tokens"
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
rm -rf "$OUT/certs"
"$BENCH_BIN" --make-certs "$OUT/certs" --terminals "$TERMINALS" --prefix T-B --school-prefix S-B \
  --units "$UNITS" --unit-prefix P-B

# repeat_window_s 0: an alarm never joins an open incident, so every alarm
# gets its own incident and offer (incidents resolve within milliseconds
# anyway). unit_stale_s 3600: the units report their position once.
cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": $POOL_SIZE },
  "terminal_listener": {
    "address": "127.0.0.1", "port": 0,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/terminal-ca.crt",
    "max_unauthenticated_per_address": $PER_ADDRESS
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "certs/server.crt", "key": "certs/server.key",
                    "max_unauthenticated_per_address": $PER_ADDRESS },
  "dispatch": { "repeat_window_s": 0, "unit_stale_s": 3600 },
  "log": { "level": "warn", "format": "text" }
}
JSON
"$HUXIAOD_BIN" import --config "$OUT/huxiao.json" "$OUT/certs/registry.json" >"$OUT/import.log" 2>&1 \
  || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }

# One token per unit, as `huxiaod token create --role unit --unit ID` would
# store it (api_tokens.token_hash = SHA-256 of the token, server/db/registry_store.cpp).
admin_db -At >"$OUT/unit-tokens.txt" <<'SQL'
WITH t AS MATERIALIZED (
    SELECT id, 'hxb_' || md5(random()::text || clock_timestamp()::text || id) AS token
      FROM units WHERE id LIKE 'P-B%'
), ins AS (
    INSERT INTO api_tokens (name, role, unit_id, token_hash)
    SELECT 'bench-' || id, 'unit', id, sha256(convert_to(token, 'UTF8')) FROM t
    RETURNING unit_id
)
SELECT t.id || ' ' || t.token FROM t JOIN ins ON ins.unit_id = t.id ORDER BY t.id;
SQL
CONSOLE_TOKEN="hxb_console_$(date +%s%N)"
admin_db -c "INSERT INTO api_tokens (name, role, token_hash) VALUES ('bench-console', 'dispatcher', sha256(convert_to('$CONSOLE_TOKEN', 'UTF8')))" >/dev/null
tokens=$(wc -l <"$OUT/unit-tokens.txt")
((tokens >= UNITS)) || die "only $tokens unit tokens were created (need $UNITS)"

# --- 3. server ------------------------------------------------------------------------
log_step "Starting huxiaod (release build, pool_size $POOL_SIZE)"
"$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod.out" 2>"$OUT/huxiaod.err" &
SERVER_PID=$!
cleanup() {
  for p in ${FLOOD_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
TERMINAL_PORT=$(bench_listener_port terminal "$SERVER_PID")
API_PORT=$(bench_listener_port api "$SERVER_PID")

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common server sql 2>/dev/null || echo ' (+ uncommitted changes in common/ server/ sql/)')"
  echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "postgres: $(admin -Atc "SELECT current_setting('server_version') || ', synchronous_commit ' || current_setting('synchronous_commit') || ', fsync ' || current_setting('fsync')")"
  echo "huxiaod: pool_size $POOL_SIZE, log warn, dispatch.repeat_window_s 0, unit_stale_s 3600, max_unauthenticated_per_address $PER_ADDRESS, other connection limits at their defaults"
  echo "load: $TERMINALS terminals, $UNITS units, $RATE alarms/s, warmup ${WARMUP}s, measured ${DURATION}s"
  echo "flood: $JUNK junk connections from 127.0.0.2 against each listener, reconnect after ${RECONNECT}s"
} | tee "$OUT/environment.txt" >&2

# --- 4./5. runs ---------------------------------------------------------------------
# The console: GET /api/v1/incidents once a second from 127.0.0.1; one line
# per request: HTTP status and seconds.
console_probe() {  # console_probe SECONDS FILE
  local end=$((SECONDS + $1))
  while ((SECONDS < end)); do
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
      --cacert "$OUT/certs/server-ca.crt" -H "Authorization: Bearer $CONSOLE_TOKEN" \
      "https://127.0.0.1:$API_PORT/api/v1/incidents?limit=10" >>"$2" 2>/dev/null || echo "000 10" >>"$2"
    sleep 1
  done
}

RESULTS=$OUT/results.tsv
printf 'run\talarms\toffer_p50\toffer_p99\toffer_max\tack_p99\tsrv_count\tsrv_p50\tsrv_p99\tconsole_ok\tconsole_max_s\trefused\ttimed_out\taccept_errors\tproblems\n' >"$RESULTS"
failures=0

run() {  # run NAME
  local name=$1 result status problems k v srv refused timed accept_errors console_ok console_max
  log_step "run $name: huxiao-bench dispatch ($TERMINALS terminals, $UNITS units, $RATE alarms/s, ${WARMUP}+${DURATION}s)"
  scrape "$OUT/metrics-$name-before.txt"
  : >"$OUT/console-$name.txt"
  console_probe $((WARMUP + DURATION)) "$OUT/console-$name.txt" &
  local probe=$!
  set +e
  result=$("$BENCH_BIN" dispatch --terminal-port "$TERMINAL_PORT" --api-port "$API_PORT" \
    --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" --unit-tokens "$OUT/unit-tokens.txt" \
    --terminals "$TERMINALS" --units "$UNITS" --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION" \
    2>>"$OUT/huxiao-bench.err")
  status=$?
  set -e
  wait "$probe" || true
  scrape "$OUT/metrics-$name-after.txt"
  echo "$result" >"$OUT/bench-$name.json"
  echo "$result" >&2
  problems=''
  [[ $status -eq 0 && -n "$result" ]] || problems="exit $status"
  for k in missing_offers missing_acks unmatched_offers incident_mismatches disconnects; do
    v=$(json_top "$result" "$k"); [[ -z "$v" || "$v" == 0 ]] || problems="$problems $k=$v"
  done
  [[ -z "$problems" ]] || failures=$((failures + 1))
  srv=$(histogram_summary huxiao_alarm_to_offer_seconds "$OUT/metrics-$name-before.txt" "$OUT/metrics-$name-after.txt")
  read -r sc s50 s99 _ <<<"$srv"
  refused=$(grep '^huxiao_connections_refused_total' "$OUT/metrics-$name-after.txt" | awk '{ s += $2 } END { print s + 0 }')
  timed=$(grep '^huxiao_connections_timed_out_total' "$OUT/metrics-$name-after.txt" | awk '{ s += $2 } END { print s + 0 }')
  accept_errors=$(grep '^huxiao_accept_errors_total' "$OUT/metrics-$name-after.txt" | awk '{ s += $2 } END { print s + 0 }')
  console_ok=$(awk '$1 == 200 { n++ } END { print n + 0 }' "$OUT/console-$name.txt")/$(wc -l <"$OUT/console-$name.txt")
  console_max=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { printf "%.3f", m }' "$OUT/console-$name.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(json_top "$result" alarms_measured)" \
    "$(json_num "$result" offer_ms p50)" "$(json_num "$result" offer_ms p99)" "$(json_num "$result" offer_ms max)" \
    "$(json_num "$result" ack_ms p99)" "$sc" "$s50" "$s99" "$console_ok" "$console_max" \
    "$refused" "$timed" "$accept_errors" "${problems:-none}" >>"$RESULTS"
}

flood_run() {
  log_step "Flood: $JUNK junk connections from 127.0.0.2 against each listener"
  FLOOD_S=$((WARMUP + DURATION + 10))
  "$BENCH_BIN" flood --port "$TERMINAL_PORT" --connections "$JUNK" --duration "$FLOOD_S" \
    --reconnect "$RECONNECT" >"$OUT/flood-terminal.json" 2>"$OUT/flood-terminal.err" &
  FLOOD_PIDS=$!
  "$BENCH_BIN" flood --port "$API_PORT" --api --connections "$JUNK" --duration "$FLOOD_S" \
    --reconnect "$RECONNECT" >"$OUT/flood-api.json" 2>"$OUT/flood-api.err" &
  FLOOD_PIDS="$FLOOD_PIDS $!"
  sleep 5  # let the junk build up before measuring
  run flood
  for p in $FLOOD_PIDS; do wait "$p" || true; done
  FLOOD_PIDS=''
}

console_run() {
  log_step "Console flood: $CONSOLES console(s) asking for snapshots as fast as they can (/ws/console, dispatcher token)"
  (umask 077 && echo "$CONSOLE_TOKEN" >"$OUT/console-token.txt")
  "$BENCH_BIN" console-flood --api-port "$API_PORT" --ca "$OUT/certs/server-ca.crt" \
    --token-file "$OUT/console-token.txt" --consoles "$CONSOLES" --duration $((WARMUP + DURATION + 5)) \
    >"$OUT/console-flood.json" 2>"$OUT/console-flood.err" &
  FLOOD_PIDS=$!
  sleep 2  # let the consoles reach their rate limit before measuring
  run console
  wait "$FLOOD_PIDS" || true
  FLOOD_PIDS=''
}

for r in $RUNS; do
  case "$r" in
    quiet) run quiet ;;
    flood) flood_run ;;
    console) console_run ;;
  esac
done
scrape "$OUT/metrics-end.txt"

# --- 6. table -----------------------------------------------------------------------
TABLE=$OUT/table.txt
awk -F'\t' 'NR > 1 {
    target = ($4 != "" && $4 + 0 <= 5 && $9 != "-" && $9 + 0 <= 5) ? "met" : "MISSED"
    printf "%-6s %6s | %6.2f %6.2f %7.2f ms | %7.2f ms | %6s %6s %6s ms | %7s %6ss | %8s %8s %6s | %s\n",
      $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, target
  }
  BEGIN {
    printf "%-6s %6s | %-25s | %-10s | %-23s | %-15s | %-26s | %s\n", "run", "alarms", "offer p50/p99/max (client)",
      "ack p99", "server n p50 p99", "console ok/max", "refused timed-out acc.err", "p99 <= 5 ms"
  }' "$RESULTS" >"$TABLE"

printf '\n' >&2
cat "$OUT/environment.txt"
echo
cat "$TABLE"
echo
[[ -s "$OUT/flood-terminal.json" ]] && echo "flood (terminal): $(cat "$OUT/flood-terminal.json")"
[[ -s "$OUT/flood-api.json" ]] && echo "flood (api):      $(cat "$OUT/flood-api.json")"
[[ -s "$OUT/console-flood.json" ]] && echo "console flood:    $(cat "$OUT/console-flood.json")"

echo "refused by cause after the flood:"
grep -E '^huxiao_connections_refused_total|^huxiao_connections_timed_out_total|^huxiao_accept_errors_total' "$OUT/metrics-end.txt" | awk '$2 > 0' | sed 's/^/  /'
echo "offer = alarm frame written by a terminal -> first offer of its incident read by a unit (client, one steady clock)"
echo "server = huxiao_alarm_to_offer_seconds over the run, p50/p99 interpolated in buckets"
echo "console = GET /api/v1/incidents once a second with a dispatcher token (HTTP 200 / all, slowest)"
echo "console flood = snapshot requests written, snapshots and errors (by code) received, sessions the server closed"
echo "details: $RESULTS, $OUT/bench-*.json, $OUT/flood-*.json, $OUT/metrics-*.txt"
grep -v 'none$' "$RESULTS" | tail -n +2 | sed 's/^/problem: /' || true

cleanup
trap - EXIT
if ((failures > 0)); then
  log_warn "$failures run(s) lost offers or acks or saw disconnects (see the problems above)"
  exit 1
fi
log_ok "benchmark complete: $TABLE"
