#!/usr/bin/env bash
# Restart benchmark (issue #10 item 6; docs/performance.md, "Restart").
#
#   bench/restart.sh
#
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod and huxiao-bench with the release preset (build/release);
#   2. a fresh database huxiao_bench_restart with BENCH_SCHOOLS schools, one
#      terminal each (huxiao-bench --make-certs), and BENCH_INCIDENTS open
#      incidents spread over them: each has its first alarm and BENCH_REPEATS
#      repeat alarms from the school's terminal (terminal_events and the
#      timeline rows alarm_received, repeat_alarm), and no_unit_available;
#      the incidents of one school lie 10 minutes apart (beyond the repeat
#      window), the newest ends a minute ago; then VACUUM ANALYZE;
#   3. BENCH_RUNS times: bench/restart_probe.py starts `huxiaod serve` on it and
#      measures the seconds from the start of the process until a terminal
#      (mutual TLS, trying every 5 ms) has its welcome; then SIGTERM.
#   4. prints the median and the maximum, and one line a script can read:
#        restart: incidents=N alarms=N welcome_s_median=S welcome_s_max=S
#
# Environment (defaults in brackets):
#   BENCH_INCIDENTS [10000]  BENCH_SCHOOLS [2000]  BENCH_REPEATS [10]
#   BENCH_RUNS [5]     BENCH_JOBS [2]
#   BENCH_REUSE=1      keep the database (and its certificates in
#                      .local/bench/restart-certs) if it holds the data set
#   BENCH_NO_BUILD=1   use the build as it is
#   BENCH_BUILD        the build directory [build/release]; e.g. build/ci
#                      (RelWithDebInfo) with BENCH_NO_BUILD=1
#   BENCH_OUT          where results go [.local/bench/restart-YYYYmmdd-HHMMSS]
#
# Loopback only. Exit status: non-zero when a step fails; missing the 2 s
# target is reported, not a failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

INCIDENTS=${BENCH_INCIDENTS:-10000}
SCHOOLS=${BENCH_SCHOOLS:-2000}
REPEATS=${BENCH_REPEATS:-10}
RUNS=${BENCH_RUNS:-5}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/restart-$(date -u +%Y%m%d-%H%M%S)}
DB=huxiao_bench_restart
CERTS=$HUXIAO_ROOT/.local/bench/restart-certs  # belong to the database: kept with it
BUILD=${BENCH_BUILD:-$HUXIAO_ROOT/build/release}
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin
PSQL="$PG_BIN/psql"
[[ -x "$PSQL" ]] || PSQL=$(command -v psql)

for v in "$INCIDENTS" "$SCHOOLS" "$RUNS"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -ge 1 ]] || die "BENCH_INCIDENTS, BENCH_SCHOOLS, BENCH_RUNS take whole numbers >= 1 (got '$v')"
done
[[ "$REPEATS" =~ ^[0-9]+$ ]] || die "BENCH_REPEATS takes a whole number (got '$REPEATS')"
((INCIDENTS <= 1000000 && SCHOOLS <= 20000 && REPEATS <= 100 && RUNS <= 50)) \
  || die "bounds: BENCH_INCIDENTS <= 1000000, BENCH_SCHOOLS <= 20000, BENCH_REPEATS <= 100, BENCH_RUNS <= 50"
command -v python3 >/dev/null || die "python3 is needed (bench/restart_probe.py)"

mkdir -p "$OUT"
log_info "results go to $OUT"

# --- 1. build -------------------------------------------------------------------
bench_build huxiaod huxiao-bench
[[ -x "$HUXIAOD_BIN" && -x "$BENCH_BIN" ]] || die "missing $HUXIAOD_BIN or $BENCH_BIN"

# --- 2. cluster, database, registry, data set ----------------------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
admin() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

# A free loopback port for the terminal listener: the probe must know it
# before huxiaod has opened it.
TERMINAL_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": 4 },
  "terminal_listener": {
    "address": "127.0.0.1", "port": $TERMINAL_PORT,
    "cert": "$CERTS/server.crt", "key": "$CERTS/server.key", "client_ca": "$CERTS/terminal-ca.crt"
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "$CERTS/server.crt", "key": "$CERTS/server.key" },
  "log": { "level": "info", "format": "text" }
}
JSON

expected_alarms=$((INCIDENTS * (REPEATS + 1)))
have=0
if [[ -n "${BENCH_REUSE:-}" && -f "$CERTS/registry.json" ]] \
  && admin -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  have=$(db -Atc "SELECT count(*) || '/' || (SELECT count(*) FROM terminal_events) FROM incidents WHERE closed_at IS NULL" 2>/dev/null || echo 0)
fi
if [[ "$have" == "$INCIDENTS/$expected_alarms" ]]; then
  log_ok "reusing $DB ($INCIDENTS open incidents, $expected_alarms alarms)"
else
  log_step "Fresh database $DB: $SCHOOLS schools and terminals, $INCIDENTS open incidents with $REPEATS repeat alarms each"
  admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null
  rm -rf "$CERTS"
  "$BENCH_BIN" --make-certs "$CERTS" --terminals "$SCHOOLS" --prefix T-R --school-prefix S-R \
    --units 0 --unit-prefix P-R >"$OUT/make-certs.log" 2>&1 \
    || { cat "$OUT/make-certs.log" >&2; die "huxiao-bench --make-certs failed"; }
  "$HUXIAOD_BIN" import --config "$OUT/huxiao.json" "$CERTS/registry.json" >"$OUT/import.log" 2>&1 \
    || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }
  t0=$(date +%s.%N)
  db -v incidents="$INCIDENTS" -v repeats="$REPEATS" -f bench/restart_generate.sql >"$OUT/generate.log" 2>&1 \
    || { tail -n 20 "$OUT/generate.log" >&2; die "generating the data set failed"; }
  db -c "VACUUM (ANALYZE) incidents, incident_events, terminal_events" >>"$OUT/generate.log" 2>&1 \
    || die "VACUUM ANALYZE failed"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "generated in %.1f s\n", b - a }' >&2
fi
db -At >"$OUT/dataset.txt" <<'SQL'
SELECT 'open incidents ' || count(*) FILTER (WHERE closed_at IS NULL) || ' of ' || count(*) FROM incidents;
SELECT 'terminal_events ' || count(*) FROM terminal_events;
SELECT 'incident_events ' || count(*) FROM incident_events;
SELECT 'schools ' || (SELECT count(*) FROM schools) || ', terminals ' || (SELECT count(*) FROM terminals);
SQL
cat "$OUT/dataset.txt" >&2
TERMINAL=$(db -Atc "SELECT id FROM terminals ORDER BY id LIMIT 1")

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common server sql 2>/dev/null || echo ' (+ uncommitted changes in common/ server/ sql/)')"
  echo "build: $BUILD"
  echo "cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "postgres: $(admin -Atc "SELECT current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers')")"
} | tee "$OUT/environment.txt" >&2

# --- 3. runs --------------------------------------------------------------------------
log_step "$RUNS restarts: huxiaod serve until $TERMINAL has its welcome"
: >"$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
  mkdir -p "$OUT/run-$i"
  line=$(cd "$OUT/run-$i" && python3 "$HUXIAO_ROOT/bench/restart_probe.py" "$TERMINAL_PORT" "$TERMINAL" \
    "$CERTS/$TERMINAL.crt" "$CERTS/$TERMINAL.key" "$CERTS/server-ca.crt" \
    -- "$HUXIAOD_BIN" serve --config "$OUT/huxiao.json") \
    || { tail -n 20 "$OUT/run-$i/huxiaod.err" >&2; die "run $i failed"; }
  recovered=$(grep -o '[0-9]* open incidents recovered' "$OUT/run-$i/huxiaod.err" "$OUT/run-$i/huxiaod.out" | head -n1 | cut -d: -f2)
  echo "run $i: $line ($recovered)" | tee -a "$OUT/runs.txt" >&2
  [[ "$recovered" == "$INCIDENTS open incidents recovered" ]] \
    || die "run $i: expected $INCIDENTS open incidents recovered (got '$recovered')"
done

# --- 4. summary -----------------------------------------------------------------------
sed -n 's/.*welcome_s=\([0-9.]*\).*/\1/p' "$OUT/runs.txt" | sort -n >"$OUT/welcome_s.txt"
median=$(awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$OUT/welcome_s.txt")
max=$(tail -n1 "$OUT/welcome_s.txt")
verdict=$(awk -v m="$median" 'BEGIN { print (m <= 2.0) ? "met" : "missed" }')
log_ok "welcome after start: median ${median} s, max ${max} s over $RUNS runs (target <= 2 s: $verdict)"
echo "restart: incidents=$INCIDENTS alarms=$expected_alarms welcome_s_median=$median welcome_s_max=$max" \
  | tee "$OUT/summary.txt"
