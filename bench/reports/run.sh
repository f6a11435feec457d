#!/usr/bin/env bash
# Response-time report benchmark (issue 5, item 6; docs/performance.md "Reports").
#
#   bench/reports/run.sh
#
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod with the release preset (build/release);
#   2. creates a fresh database huxiao_reports, applies the migrations
#      (huxiaod migrate) and fills it with a realistic year for a large city
#      (bench/reports/generate.sql: 1,000,000 incidents, 5,000 schools,
#      400 units, ~7 timeline events per incident), then VACUUM ANALYZE;
#   3. starts huxiaod (release build) on it with a throwaway certificate and
#      creates an auditor token;
#   4. times GET /api/v1/reports/response-times for the whole year grouped by
#      district, school, unit and kind through the real HTTPS API with curl
#      (one warm-up, then BENCH_RUNS timed runs each; median and max);
#   5. checks the figures by district against PostgreSQL's percentile_cont
#      run directly over the same incidents (the exactness claim);
#   6. records the query plans of one more run of each report with
#      auto_explain (EXPLAIN ANALYZE of the statements the server sent).
#
# Environment (defaults in brackets):
#   BENCH_INCIDENTS [1000000]  BENCH_SCHOOLS [5000]  BENCH_UNITS [400]
#   BENCH_RUNS [7]       timed runs per report
#   BENCH_REUSE=1        keep the database if it already holds the data set
#   BENCH_NO_BUILD=1     use build/release as it is
#   BENCH_JOBS [2]       build jobs
#   BENCH_OUT            where results go [.local/bench/reports-YYYYmmdd-HHMMSS]
#
# Exit status: non-zero when a step fails or a figure differs from
# PostgreSQL's own; missing a time target is reported, not a failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$HUXIAO_ROOT"

INCIDENTS=${BENCH_INCIDENTS:-1000000}
SCHOOLS=${BENCH_SCHOOLS:-5000}
UNITS=${BENCH_UNITS:-400}
RUNS=${BENCH_RUNS:-7}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/reports-$(date -u +%Y%m%d-%H%M%S)}
DB=huxiao_reports
YEAR=2025
FROM="${YEAR}-01-01T00:00:00%2B08:00"   # the calendar year in Asia/Shanghai
TO="$((YEAR + 1))-01-01T00:00:00%2B08:00"
BUILD=$HUXIAO_ROOT/build/release
HUXIAOD_BIN=$BUILD/server/huxiaod
PG_BIN=/usr/lib/postgresql/15/bin
PSQL="$PG_BIN/psql"
[[ -x "$PSQL" ]] || PSQL=$(command -v psql)

for v in "$INCIDENTS" "$SCHOOLS" "$UNITS" "$RUNS"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -ge 1 ]] || die "BENCH_INCIDENTS, BENCH_SCHOOLS, BENCH_UNITS, BENCH_RUNS take whole numbers (got '$v')"
done
for tool in curl openssl jq; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
mkdir -p "$OUT"
log_info "results go to $OUT"

# --- 1. build -------------------------------------------------------------------
bench_build huxiaod
[[ -x "$HUXIAOD_BIN" ]] || die "missing $HUXIAOD_BIN"

# --- 2. cluster, database, data set -----------------------------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
ADMIN_DB_URL="${ADMIN_URL%/*}/$DB"
admin() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }

rm -rf "$OUT/certs"
mkdir -p "$OUT/certs"
(
  cd "$OUT/certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=huxiao reports bench CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr \
    -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
    -extfile server.ext 2>/dev/null
)
cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": 4 },
  "terminal_listener": {
    "address": "127.0.0.1", "port": 0,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/ca.crt"
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "certs/server.crt", "key": "certs/server.key" },
  "sla": { "ack_s": 60, "arrival_s": 300 },
  "log": { "level": "warn", "format": "text" }
}
JSON

have=0
if [[ -n "${BENCH_REUSE:-}" ]] \
  && admin -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  have=$("$PSQL" -X -Atq "$DB_URL" -c "SELECT count(*) FROM incidents" 2>/dev/null || echo 0)
fi
if [[ "$have" == "$INCIDENTS" ]]; then
  log_ok "reusing $DB ($have incidents)"
  "$HUXIAOD_BIN" migrate --config "$OUT/huxiao.json" >"$OUT/migrate.log" 2>&1 \
    || { cat "$OUT/migrate.log" >&2; die "huxiaod migrate failed"; }
else
  log_step "Fresh database $DB: migrations, then $INCIDENTS incidents, $SCHOOLS schools, $UNITS units"
  admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null
  "$HUXIAOD_BIN" migrate --config "$OUT/huxiao.json" >"$OUT/migrate.log" 2>&1 \
    || { cat "$OUT/migrate.log" >&2; die "huxiaod migrate failed"; }
  t0=$(date +%s.%N)
  "$PSQL" -X -q -v ON_ERROR_STOP=1 -v incidents="$INCIDENTS" -v schools="$SCHOOLS" -v units="$UNITS" \
    -v year="$YEAR" -f bench/reports/generate.sql "$DB_URL" >"$OUT/generate.log" 2>&1 \
    || { tail -n 20 "$OUT/generate.log" >&2; die "the generator failed (log: $OUT/generate.log)"; }
  t1=$(date +%s.%N)
  # As autovacuum would have done over a year: statistics, and the visibility
  # map that lets the report read its covering indexes without the heap.
  "$PSQL" -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB_URL" -c "VACUUM (ANALYZE) incidents, incident_events, schools, districts, units" \
    >>"$OUT/generate.log" 2>&1 || die "VACUUM ANALYZE failed"
  t2=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "generated in %.1f s, VACUUM ANALYZE %.1f s\n", b - a, c - b }' \
    | tee "$OUT/generate-time.txt" >&2
fi
"$PSQL" -X -At "$DB_URL" >"$OUT/dataset.txt" <<'SQL'
SELECT 'incidents ' || count(*) || ', drills ' || count(*) FILTER (WHERE drill)
       || ', unreached ' || count(*) FILTER (WHERE first_arrival_at IS NULL)
       || ', received ' || min(received_at) || ' .. ' || max(received_at) FROM incidents;
SELECT 'incident_events ' || count(*) FROM incident_events;
SELECT 'schools ' || (SELECT count(*) FROM schools) || ', units ' || (SELECT count(*) FROM units)
       || ', districts ' || (SELECT count(*) FROM districts);
SELECT 'sizes: incidents ' || pg_size_pretty(pg_relation_size('incidents'))
       || ', incidents_report_district_idx ' || pg_size_pretty(pg_relation_size('incidents_report_district_idx'))
       || ', incidents_report_school_idx ' || pg_size_pretty(pg_relation_size('incidents_report_school_idx'));
SQL
cat "$OUT/dataset.txt" >&2

# --- 3. server ----------------------------------------------------------------------
SERVER_PID=''
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=''
}
trap 'stop_server; admin -c "ALTER DATABASE $DB RESET ALL" >/dev/null 2>&1 || true' EXIT
API_PORT=''
start_server() {
  "$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod.out" 2>>"$OUT/huxiaod.err" &
  SERVER_PID=$!
  API_PORT=$(bench_listener_port api "$SERVER_PID")
}
log_step "Starting huxiaod (release build)"
start_server
TOKEN=$("$HUXIAOD_BIN" token create --config "$OUT/huxiao.json" --role auditor \
  --name "bench-$(date +%s%N)" | head -n1)

report_url() { # report_url GROUP_BY [csv]
  echo "https://127.0.0.1:$API_PORT/api/v1/reports/response-times${2:+.csv}?from=$FROM&to=$TO&group_by=$1"
}
fetch() { # fetch GROUP_BY FILE -> prints total seconds; fails on a non-200
  local code
  code=$(curl -sS --cacert "$OUT/certs/ca.crt" -H "Authorization: Bearer $TOKEN" -o "$2" \
    -w '%{http_code} %{time_total}' "$(report_url "$1")")
  [[ "${code%% *}" == 200 ]] || { head -c 500 "$2" >&2; echo >&2; die "report by $1 answered ${code%% *}"; }
  echo "${code#* }"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- server sql 2>/dev/null || echo ' (+ uncommitted changes in server/ sql/)')"
  echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "postgres: $(admin -Atc "SELECT current_setting('server_version') || ', shared_buffers ' || current_setting('shared_buffers') || ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')")"
  echo "range: $FROM .. $TO (drills excluded), $RUNS timed runs after one warm-up, curl over HTTPS"
} | sed 's/%2B/+/g' | tee "$OUT/environment.txt" >&2

# --- 4. timed runs -------------------------------------------------------------------
# CPU seconds used by the cluster (the postmaster, its live children, and the
# children it has reaped, such as parallel workers), to tell the cost of a
# report from the waiting caused by other load on the machine.
HZ=$(getconf CLK_TCK)
PM_PID=$(head -n1 "$(admin -Atc 'SHOW data_directory')/postmaster.pid" 2>/dev/null || true)
cluster_cpu_s() {
  [[ -n "$PM_PID" ]] || { echo 0; return; }
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v hz="$HZ" -v pm="$PM_PID" '{
      rest = $0; sub(/^.*\) /, "", rest); n = split(rest, f, " ")
      if ($1 == pm) t += f[12] + f[13] + f[14] + f[15]; else if (f[2] == pm) t += f[12] + f[13]
    } END { print t / hz }'
}
RESULTS=$OUT/results.tsv
printf 'group_by\trun\tseconds\tcluster_cpu_s\n' >"$RESULTS"
for g in district school unit kind; do
  log_step "report by $g: warm-up + $RUNS runs"
  fetch "$g" "$OUT/report-$g.json" >/dev/null
  for run in $(seq 1 "$RUNS"); do
    c0=$(cluster_cpu_s)
    seconds=$(fetch "$g" "$OUT/report-$g.json")
    c1=$(cluster_cpu_s)
    printf '%s\t%s\t%s\t%s\n' "$g" "$run" "$seconds" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" >>"$RESULTS"
  done
  curl -sS --cacert "$OUT/certs/ca.crt" -H "Authorization: Bearer $TOKEN" -o "$OUT/report-$g.csv" \
    "$(report_url "$g" csv)"
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/environment.txt" >&2

TABLE=$OUT/table.txt
awk -F'\t' '
  NR == 1 { next }
  { v[$1] = v[$1] " " $3; cpu[$1] += $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    printf "%-9s %6s %10s %10s %10s %12s  %s\n", "group_by", "runs", "median_ms", "min_ms", "max_ms", "pg_cpu_ms", "target"
    for (i = 1; i <= n; i++) {
      g = order[i]; m = split(v[g], a, " ")
      for (x = 2; x <= m; x++) { t = a[x]; for (y = x - 1; y >= 1 && a[y] > t; y--) a[y + 1] = a[y]; a[y + 1] = t }
      med = m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
      target = g == "district" ? 0.3 : g == "school" ? 1.0 : 0
      verdict = target == 0 ? "-" : (med <= target ? "met" : "MISSED") sprintf(" (median <= %d ms)", target * 1000)
      printf "%-9s %6d %10.0f %10.0f %10.0f %12.0f  %s\n", g, m, med * 1000, a[1] * 1000, a[m] * 1000, cpu[g] / m * 1000, verdict
    }
  }' "$RESULTS" >"$TABLE"
for g in district school unit kind; do
  echo "$g: $(jq '.groups | length' "$OUT/report-$g.json") groups, $(jq '[.groups[].count] | add' "$OUT/report-$g.json") incidents"
done >"$OUT/groups.txt"

# --- 5. exactness: the API's figures by district against percentile_cont -------------
log_step "Checking the figures by district against PostgreSQL's percentile_cont"
FROM_SQL=$(sed 's/%2B/+/' <<<"$FROM")
TO_SQL=$(sed 's/%2B/+/' <<<"$TO")
"$PSQL" -X -At -F $'\t' "$DB_URL" >"$OUT/check-sql.tsv" <<SQL
SELECT i.district_id, count(*), count(*) FILTER (WHERE i.first_arrival_at IS NULL),
       array_to_string(percentile_cont('{0.5,0.9,0.95,0.99}'::float8[]) WITHIN GROUP
         (ORDER BY extract(epoch FROM i.first_arrival_at - i.received_at)::float8), ','),
       array_to_string(percentile_cont('{0.5,0.9,0.95,0.99}'::float8[]) WITHIN GROUP
         (ORDER BY extract(epoch FROM i.first_accept_at - i.received_at)::float8), ','),
       array_to_string(percentile_cont('{0.5,0.9,0.95,0.99}'::float8[]) WITHIN GROUP
         (ORDER BY extract(epoch FROM i.first_offer_at - i.received_at)::float8), ','),
       count(*) FILTER (WHERE i.first_arrival_at - i.received_at <= make_interval(secs => coalesce(d.sla_arrival_s, 300)))
  FROM incidents i JOIN districts d ON d.id = i.district_id
 WHERE i.received_at >= '$FROM_SQL' AND i.received_at < '$TO_SQL' AND NOT i.drill
 GROUP BY 1 ORDER BY 1;
SQL
jq -r '.groups[] | [.key, .count, .unreached,
         ([.arrival_s.p50, .arrival_s.p90, .arrival_s.p95, .arrival_s.p99] | map(tostring) | join(",")),
         ([.ack_s.p50, .ack_s.p90, .ack_s.p95, .ack_s.p99] | map(tostring) | join(",")),
         ([.dispatch_s.p50, .dispatch_s.p90, .dispatch_s.p95, .dispatch_s.p99] | map(tostring) | join(",")),
         (.sla_arrival_pct * .count / 100 | round)] | @tsv' "$OUT/report-district.json" >"$OUT/check-api.tsv"
mismatch=$(awk -F'\t' '
  NR == FNR { sql[$1] = $0; next }
  {
    if (!($1 in sql)) { print "missing " $1; next }
    split(sql[$1], s, "\t")
    for (f = 2; f <= 7; f++) {
      ns = split(s[f], x, ","); na = split($f, y, ",")
      if (ns != na) { print $1 " field " f; continue }
      for (k = 1; k <= ns; k++) {
        d = x[k] - y[k]; if (d < 0) d = -d
        if (d > 1e-6) print $1 " field " f " value " k ": sql " x[k] " api " y[k]
      }
    }
    if ($8 != s[8]) print $1 " sla_arrival count: sql " s[8] " api " $8
  }' "$OUT/check-sql.tsv" "$OUT/check-api.tsv")
if [[ -n "$mismatch" ]]; then
  echo "$mismatch" >"$OUT/check-mismatch.txt"
  log_warn "figures differ from PostgreSQL's percentile_cont (see $OUT/check-mismatch.txt):"
  head -n 10 <<<"$mismatch" >&2
  check="FAILED"
else
  check="ok: count, unreached, p50/p90/p95/p99 of the three times and the arrival SLA count of every district equal PostgreSQL's percentile_cont over the same incidents (within 1 µs)"
  log_ok "$check"
fi

# --- 6. query plans -------------------------------------------------------------------
log_step "Query plans (auto_explain, one run each)"
PG_LOG=$(tools/pg.sh status | sed -n 's/.* log \([^,)]*\).*/\1/p')
stop_server
admin -c "ALTER DATABASE $DB SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER DATABASE $DB SET auto_explain.log_min_duration = 50" \
  -c "ALTER DATABASE $DB SET auto_explain.log_analyze = on" \
  -c "ALTER DATABASE $DB SET auto_explain.log_buffers = on" >/dev/null
start_server
if [[ -n "$PG_LOG" && -r "$PG_LOG" ]]; then
  offset=$(stat -c %s "$PG_LOG")
  for g in district school; do fetch "$g" "$OUT/plan-run-$g.json" >/dev/null; done
  sleep 1
  tail -c +"$((offset + 1))" "$PG_LOG" >"$OUT/plans.log"
  log_info "plans: $OUT/plans.log"
else
  log_warn "cannot read the cluster log ($PG_LOG); no plans recorded"
fi
stop_server
admin -c "ALTER DATABASE $DB RESET ALL" >/dev/null

# --- summary --------------------------------------------------------------------------
printf '\n' >&2
cat "$OUT/environment.txt"
cat "$OUT/dataset.txt"
[[ -f "$OUT/generate-time.txt" ]] && cat "$OUT/generate-time.txt"
echo
cat "$TABLE"
echo
cat "$OUT/groups.txt"
echo "exactness: $check"
echo "pg_cpu_ms: CPU time of the PostgreSQL cluster per report (all processes, parallel workers included), mean over the runs."
echo "details: $RESULTS, plans: $OUT/plans.log"
trap - EXIT
[[ "$check" != FAILED ]] || exit 1
log_ok "benchmark complete: $TABLE"
