#!/usr/bin/env bash
# Alarm -> offer latency benchmark (issue 3, "End to end"; docs/performance.md,
# "Dispatch latency").
#
#   bench/dispatch.sh
#
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod and huxiao-bench with the release preset (build/release);
#   2. creates a fresh database huxiao_bench_dispatch: 500 schools with one
#      terminal each, 200 patrol units spread over the same area, in-process
#      certificates (huxiao-bench --make-certs ... --units 200), and one unit
#      token per unit (inserted with SQL, hashed like `huxiaod token create`:
#      SHA-256 of the token);
#   3. starts huxiaod (release build, settings below);
#   4. run "normal": huxiao-bench dispatch: 500 TLS terminals and 200
#      WebSocket units; alarms at BENCH_RATE/s, round robin over the terminals
#      (each terminal every 500/RATE s), for WARMUP + DURATION s; units accept,
#      report arrival and clear every offer at once (each incident resolves,
#      the unit is free again). Measured in the client on one steady clock:
#      alarm frame written -> first offer of its incident read by a unit, and
#      alarm -> ack. /metrics is scraped before and after
#      (huxiao_alarm_to_offer_seconds, server side: frame received -> offer
#      queued to the unit's session);
#   5. run "slow": the same, after a trigger on incident_events makes every
#      transaction that writes a timeline event (every alarm and every dispatch
#      step) sleep BENCH_SLOW_MS ms before it can commit;
#   6. prints a table.
#
# Environment (defaults in brackets):
#   BENCH_RATE [50]  BENCH_WARMUP [2]  BENCH_DURATION [20]  BENCH_SLOW_MS [50]
#   BENCH_TERMINALS [500]  BENCH_UNITS [200]  BENCH_POOL_SIZE [4]  BENCH_JOBS [2]
#   BENCH_OUT   where results go [.local/bench/dispatch-YYYYmmdd-HHMMSS]
#   BENCH_NO_BUILD=1  use build/release as it is
#
# Exit status: non-zero when a step fails or a run lost offers or acks, saw
# disconnects or mismatched incidents; missing the target is reported, not a
# failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

RATE=${BENCH_RATE:-50}
WARMUP=${BENCH_WARMUP:-2}
DURATION=${BENCH_DURATION:-20}
SLOW_MS=${BENCH_SLOW_MS:-50}
TERMINALS=${BENCH_TERMINALS:-500}
UNITS=${BENCH_UNITS:-200}
POOL_SIZE=${BENCH_POOL_SIZE:-4}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/dispatch-$(date -u +%Y%m%d-%H%M%S)}
DB=huxiao_bench_dispatch
BUILD=$HUXIAO_ROOT/build/release
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x "$PG_BIN/psql" ]] || PG_BIN=$(dirname "$(command -v psql)")

for v in "$WARMUP" "$DURATION" "$SLOW_MS" "$TERMINALS" "$UNITS" "$POOL_SIZE"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP, BENCH_DURATION, BENCH_SLOW_MS, BENCH_TERMINALS, BENCH_UNITS, BENCH_POOL_SIZE take whole numbers (got '$v')"
done
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
    "max_unauthenticated_per_address": 2000
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "certs/server.crt", "key": "certs/server.key",
                    "max_unauthenticated_per_address": 1024 },
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
tokens=$(wc -l <"$OUT/unit-tokens.txt")
((tokens >= UNITS)) || die "only $tokens unit tokens were created (need $UNITS)"

# --- 3. server ------------------------------------------------------------------------
log_step "Starting huxiaod (release build, pool_size $POOL_SIZE)"
"$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod.out" 2>"$OUT/huxiaod.err" &
SERVER_PID=$!
cleanup() {
  admin_db -c "DROP TRIGGER IF EXISTS bench_slow_commit ON incident_events" >/dev/null 2>&1 || true
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
  echo "huxiaod: pool_size $POOL_SIZE, log warn, dispatch.repeat_window_s 0, unit_stale_s 3600"
  echo "load: $TERMINALS terminals, $UNITS units, $RATE alarms/s, warmup ${WARMUP}s, measured ${DURATION}s; slow run: +${SLOW_MS} ms per timeline transaction"
} | tee "$OUT/environment.txt" >&2

# --- 4./5. runs ---------------------------------------------------------------------
RESULTS=$OUT/results.tsv
printf 'run\talarms\toffer_p50\toffer_p90\toffer_p99\toffer_max\tack_p50\tack_p99\tack_max\tsrv_count\tsrv_p50\tsrv_p99\tsrv_le1ms\tsrv_le2ms\tsrv_le5ms\tsrv_ack_p50\tsrv_ack_p99\tproblems\n' >"$RESULTS"
failures=0

run() {  # run NAME
  local name=$1 result status problems k v srv ack
  log_step "run $name: huxiao-bench dispatch ($TERMINALS terminals, $UNITS units, $RATE alarms/s, ${WARMUP}+${DURATION}s)"
  scrape "$OUT/metrics-$name-before.txt"
  set +e
  result=$("$BENCH_BIN" dispatch --terminal-port "$TERMINAL_PORT" --api-port "$API_PORT" \
    --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" --unit-tokens "$OUT/unit-tokens.txt" \
    --terminals "$TERMINALS" --units "$UNITS" --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION" \
    2>>"$OUT/huxiao-bench.err")
  status=$?
  set -e
  scrape "$OUT/metrics-$name-after.txt"
  echo "$result" >"$OUT/bench-$name.json"
  echo "$result" >&2
  problems=''
  [[ $status -eq 0 && -n "$result" ]] || problems="exit $status"
  for k in missing_offers missing_acks unmatched_offers incident_mismatches skipped_busy disconnects; do
    v=$(json_top "$result" "$k"); [[ -z "$v" || "$v" == 0 ]] || problems="$problems $k=$v"
  done
  for k in terminal_errors unit_errors; do
    v=$(sed -n "s/.*\"$k\":{\([^}]*\)}.*/\1/p" <<<"$result")
    [[ -z "$v" ]] || problems="$problems $k:$v"
  done
  [[ -z "$problems" ]] || failures=$((failures + 1))
  srv=$(histogram_summary huxiao_alarm_to_offer_seconds "$OUT/metrics-$name-before.txt" "$OUT/metrics-$name-after.txt")
  ack=$(histogram_summary huxiao_ack_latency_seconds "$OUT/metrics-$name-before.txt" "$OUT/metrics-$name-after.txt")
  read -r sc s50 s99 s1 s2 s5 <<<"$srv"
  read -r _ a50 a99 _ _ _ <<<"$ack"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(json_top "$result" alarms_measured)" \
    "$(json_num "$result" offer_ms p50)" "$(json_num "$result" offer_ms p90)" "$(json_num "$result" offer_ms p99)" \
    "$(json_num "$result" offer_ms max)" \
    "$(json_num "$result" ack_ms p50)" "$(json_num "$result" ack_ms p99)" "$(json_num "$result" ack_ms max)" \
    "$sc" "$s50" "$s99" "$s1" "$s2" "$s5" "$a50" "$a99" "${problems:-none}" >>"$RESULTS"
}

run normal

log_step "Slow database: every transaction that writes incident_events sleeps ${SLOW_MS} ms before it can commit"
admin_db >/dev/null <<SQL
CREATE OR REPLACE FUNCTION bench_slow_commit() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    -- Once per transaction (huxiaod commits one pipelined batch per
    -- transaction): like a disk whose flush takes ${SLOW_MS} ms more.
    IF current_setting('huxiao_bench.slept', true) IS DISTINCT FROM 'yes' THEN
        PERFORM pg_sleep(${SLOW_MS} / 1000.0);
        PERFORM set_config('huxiao_bench.slept', 'yes', true);
    END IF;
    RETURN NEW;
END \$\$;
CREATE TRIGGER bench_slow_commit BEFORE INSERT ON incident_events
    FOR EACH ROW EXECUTE FUNCTION bench_slow_commit();
SQL
run slow
admin_db -c "DROP TRIGGER IF EXISTS bench_slow_commit ON incident_events" >/dev/null

# Every incident of the runs should be resolved (units accept, arrive, clear).
open=$("$PG_BIN/psql" -X -Atq "$DB_URL" -c "SELECT count(*) FROM incidents WHERE state NOT IN ('resolved', 'cancelled')" 2>/dev/null || echo '?')

# --- 6. table -----------------------------------------------------------------------
TABLE=$OUT/table.txt
awk -F'\t' 'NR > 1 {
    target = ($5 != "" && $5 + 0 <= 5 && $12 != "-" && $12 + 0 <= 5) ? "met" : "MISSED"
    printf "%-7s %6s | %6.2f %6.2f %6.2f %7.2f ms | %7.2f %7.2f %7.2f ms | %5s %6s %6s ms %6.1f%% | %7s %7s ms | %s\n",
      $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $15 * 100, $16, $17, target
  }
  BEGIN {
    printf "%-7s %6s | %-30s | %-28s | %-27s | %-18s | %s\n", "run", "alarms", "offer p50/p90/p99/max (client)",
      "ack p50/p99/max (client)", "server histogram n p50 p99 <=5ms", "server ack p50/p99", "p99 <= 5 ms"
  }' "$RESULTS" >"$TABLE"

printf '\n' >&2
cat "$OUT/environment.txt"
echo
cat "$TABLE"
echo
echo "offer = alarm frame written by the terminal -> first offer of its incident read by a unit (client, one steady clock)"
echo "server histogram = huxiao_alarm_to_offer_seconds over the run (frame received -> offer queued), p50/p99 interpolated in buckets"
echo "incidents not resolved or cancelled after the runs: $open"
echo "details: $RESULTS, $OUT/bench-*.json, $OUT/metrics-*.txt"
grep -v 'none$' "$RESULTS" | tail -n +2 | sed 's/^/problem: /' || true

cleanup
trap - EXIT
if ((failures > 0)); then
  log_warn "$failures run(s) lost offers or acks, saw errors or disconnects (see the problems above)"
  exit 1
fi
log_ok "benchmark complete: $TABLE"
