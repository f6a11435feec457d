#!/usr/bin/env bash
# Durable alarm intake benchmark (issue 2, item 9; docs/performance.md).
#
#   bench/ingest.sh
#
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod and huxiao-bench with the release preset (build/release);
#   2. starts the cluster (restarting it once if max_connections is too low
#      for pgbench's 500 clients: tools/pg.sh writes 600);
#   3. creates a fresh database huxiao_bench, 500 schools with one terminal
#      each and their certificates (in-process: huxiao-bench --make-certs),
#      imports them and starts huxiaod (release build, settings below);
#   4. for each concurrency (1, 64, 500): huxiao-bench with that many TLS
#      terminals in a closed loop (alarm -> wait for the durable ack -> next
#      alarm), then pgbench with as many clients inserting one alarm-shaped row
#      per transaction; both warm up WARMUP s and are measured DURATION s;
#   5. prints a table with the ratios the targets are about.
#
# Environment (defaults in brackets):
#   BENCH_CONCURRENCY ["1 64 500"]  BENCH_WARMUP [2]  BENCH_DURATION [10]
#   BENCH_ROUNDS [3]      repeat the whole sequence (the side that goes first
#                         alternates); medians are printed too
#   BENCH_POOL_SIZE [4]   huxiaod database.pool_size (group-commit lanes)
#   BENCH_IN_FLIGHT       huxiaod database.batches_in_flight (batches in flight
#                         per lane); unset: the key is left out (the server's
#                         default; builds before it existed refuse the key)
#   BENCH_THREADS [1]     huxiao-bench I/O threads
#   BENCH_NICE [0]        e.g. -10: run PostgreSQL (postmaster and backends),
#                         huxiaod, huxiao-bench and pgbench at that niceness, so
#                         that other work on the machine takes less of the CPU
#                         (needs root; the cluster is put back to 0 at the end)
#   BENCH_JOBS [2]        build jobs
#   BENCH_OUT             where results go [.local/bench/ingest-YYYYmmdd-HHMMSS]
#   BENCH_NO_BUILD=1      use build/release as it is
#   BENCH_BUILD_DIR       take huxiaod and huxiao-bench from this build tree
#                         instead (implies BENCH_NO_BUILD): e.g. another
#                         worktree's build/release, to measure two commits
#                         back to back on the same cluster
#
# The last line of the output is for scripts:
#   ingest: c1_p99_diff_ms=… c64_ratio=… c500_ratio=… rows_match=yes|no
# (medians over the rounds; "-" for a concurrency that was not run).
#
# Exit status: non-zero when a step fails or a run saw errors, timeouts or
# disconnects; missing a performance target is reported, not a failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

CONCURRENCY=${BENCH_CONCURRENCY:-"1 64 500"}
WARMUP=${BENCH_WARMUP:-2}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
POOL_SIZE=${BENCH_POOL_SIZE:-4}
THREADS=${BENCH_THREADS:-1}
NICE=${BENCH_NICE:-0}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/ingest-$(date -u +%Y%m%d-%H%M%S)}
TERMINALS=500
DB=huxiao_bench
BUILD=$HUXIAO_ROOT/build/release
if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
  BUILD=$(cd "$BENCH_BUILD_DIR" && pwd)
  BENCH_NO_BUILD=1
fi
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin
PGBENCH=$PG_BIN/pgbench
[[ -x "$PGBENCH" ]] || PGBENCH=$(command -v pgbench || true)
[[ -n "$PGBENCH" ]] || die "pgbench not found (package postgresql-contrib / postgresql-15)"

[[ "$NICE" =~ ^-?[0-9]+$ ]] || die "BENCH_NICE takes a whole number (got '$NICE')"
for v in "$WARMUP" "$DURATION" "$ROUNDS" "$POOL_SIZE" "$THREADS"; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP, BENCH_DURATION, BENCH_ROUNDS, BENCH_POOL_SIZE, BENCH_THREADS take whole numbers (got '$v')"
done
[[ -z "${BENCH_IN_FLIGHT:-}" || "$BENCH_IN_FLIGHT" =~ ^[0-9]+$ ]] ||
  die "BENCH_IN_FLIGHT takes a whole number (got '$BENCH_IN_FLIGHT')"
max_c=0
for c in $CONCURRENCY; do
  [[ "$c" =~ ^[0-9]+$ && $c -ge 1 && $c -le $TERMINALS ]] || die "BENCH_CONCURRENCY: $c is not between 1 and $TERMINALS"
  ((c > max_c)) && max_c=$c
done

mkdir -p "$OUT"
log_info "results go to $OUT"

# --- 1. build -------------------------------------------------------------------
bench_build huxiaod huxiao-bench
[[ -x "$HUXIAOD_BIN" && -x "$BENCH_BIN" ]] || die "missing $HUXIAOD_BIN or $BENCH_BIN"

# --- 2. cluster -------------------------------------------------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
need=$((max_c + POOL_SIZE + 10))
have=$(admin -Atc "SHOW max_connections")
if ((have < need)); then
  log_warn "max_connections is $have, pgbench -c $max_c needs $need: restarting the cluster (tools/pg.sh sets 600)"
  tools/pg.sh restart
  have=$(admin -Atc "SHOW max_connections")
  ((have >= need)) || die "max_connections is still $have after a restart (need $need); see tools/pg.sh"
fi

# --- 3. database, registry, certificates, server ------------------------------------
log_step "Fresh database $DB, $TERMINALS schools and terminals, certificates"
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" \
  -c "ALTER DATABASE $DB SET track_wal_io_timing = on" >/dev/null
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
rm -rf "$OUT/certs"
"$BENCH_BIN" --make-certs "$OUT/certs" --terminals $TERMINALS --prefix T-B --school-prefix S-B

IN_FLIGHT_JSON=''
[[ -n "${BENCH_IN_FLIGHT:-}" ]] && IN_FLIGHT_JSON=", \"batches_in_flight\": $BENCH_IN_FLIGHT"
cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": $POOL_SIZE$IN_FLIGHT_JSON },
  "terminal_listener": {
    "address": "127.0.0.1", "port": 0,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/terminal-ca.crt",
    "max_frames_per_s": 10000, "max_unauthenticated_per_address": 2000
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "certs/server.crt", "key": "certs/server.key" },
  "log": { "level": "warn", "format": "text" }
}
JSON
"$HUXIAOD_BIN" import --config "$OUT/huxiao.json" "$OUT/certs/registry.json" >"$OUT/import.log" 2>&1 \
  || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }

# The pgbench side: one alarm-shaped row per transaction, unique on
# (terminal, event id) like terminal_events.
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "${ADMIN_URL%/*}/$DB" >/dev/null <<'SQL'
SET ROLE huxiao;
CREATE TABLE pgbench_alarms (
    seq          bigserial PRIMARY KEY,
    terminal_id  text NOT NULL,
    event_id     text NOT NULL,
    kind         text NOT NULL,
    at           timestamptz,
    drill        boolean NOT NULL DEFAULT false,
    note         text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (terminal_id, event_id)
);
SQL
cat >"$OUT/pgbench-insert.sql" <<'SQL'
\set e random(1, 9000000000000000000)
INSERT INTO pgbench_alarms (terminal_id, event_id, kind, at, drill, note) VALUES ('T-B' || lpad(:client_id::text, 4, '0'), 'e' || :e, 'intrusion', now(), false, 'pgbench');
SQL

log_step "Starting huxiaod (release build, pool_size $POOL_SIZE)"
# The cluster's processes at the benchmark's niceness (new backends inherit
# the postmaster's), and back to 0 at the end.
PM_PID=$(head -n1 "$(admin -Atc 'SHOW data_directory')/postmaster.pid" 2>/dev/null || true)
renice_cluster() {
  [[ -n "$PM_PID" ]] || return 0
  renice -n "$1" -p "$PM_PID" $(ps -o pid= --ppid "$PM_PID") >/dev/null 2>&1 || log_warn "could not renice the cluster to $1"
}
if [[ "$NICE" != 0 ]]; then
  log_info "running the cluster, huxiaod and the load generators at niceness $NICE"
  renice_cluster "$NICE"
fi
nice -n "$NICE" "$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod.out" 2>"$OUT/huxiaod.err" &
SERVER_PID=$!
stop_server() {
  [[ "$NICE" == 0 ]] || renice_cluster 0
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
TERMINAL_PORT=$(bench_listener_port terminal "$SERVER_PID")

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
    echo "commit: $(git -C "$BUILD/.." rev-parse --short HEAD 2>/dev/null || echo '?') (binaries of $BUILD)"
  else
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common server sql 2>/dev/null || echo ' (+ uncommitted changes in common/ server/ sql/)')"
  fi
  echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "postgres: $(admin -Atc "SELECT current_setting('server_version') || ', max_connections ' || current_setting('max_connections') || ', shared_buffers ' || current_setting('shared_buffers') || ', synchronous_commit ' || current_setting('synchronous_commit') || ', wal_sync_method ' || current_setting('wal_sync_method') || ', fsync ' || current_setting('fsync')")"
  echo "huxiaod: pool_size $POOL_SIZE, batches_in_flight ${BENCH_IN_FLIGHT:-default}, batch_max 512 (default), log warn, max_frames_per_s 10000"
  echo "huxiao-bench: $THREADS I/O thread(s); pgbench: -n -M prepared -j min(2,c); niceness $NICE"
  echo "warmup ${WARMUP}s, measured ${DURATION}s, rounds $ROUNDS"
} | tee "$OUT/environment.txt" >&2

# --- 4. runs ------------------------------------------------------------------------
json_num() {  # json_num JSON KEY -> the first number after "KEY":
  sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1" | head -n1
}
wal_snapshot() {  # "wal_sync wal_sync_time_ms"
  admin -Atc "SELECT wal_sync || ' ' || round(wal_sync_time::numeric, 3) FROM pg_stat_wal" | tr -d '\n'
}
# CPU accounting, to show how the 2 cores were shared during each run: the
# cluster's processes (exited backends are in the postmaster's cutime), huxiaod,
# the load generator (children of this shell, from `times`), and everything
# else on the machine (other users of the box).
HZ=$(getconf CLK_TCK)
machine_busy_s() {
  awk -v hz="$HZ" '/^cpu /{print ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat
}
cluster_cpu_s() {
  [[ -n "$PM_PID" ]] || { echo 0; return; }
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v hz="$HZ" -v pm="$PM_PID" '{
      rest = $0; sub(/^.*\) /, "", rest); n = split(rest, f, " ")
      if ($1 == pm) t += f[12] + f[13] + f[14] + f[15]; else if (f[2] == pm) t += f[12] + f[13]
    } END { print t / hz }'
}
server_cpu_s() {
  awk -v hz="$HZ" '{rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " "); print (f[12] + f[13]) / hz}' \
    "/proc/$SERVER_PID/stat"
}
# cpu_mark VAR: VAR="wall machine cluster server client" (seconds). Runs in
# this shell (not in $(...)): `times` must see this shell's children.
cpu_mark() {
  times >"$OUT/.times"
  local client
  client=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] } print t }' \
    "$OUT/.times")
  printf -v "$1" '%s %s %s %s %s' "$(date +%s.%N)" "$(machine_busy_s)" "$(cluster_cpu_s)" "$(server_cpu_s)" "$client"
}
cpu_cores() {  # cpu_cores MARK0 MARK1 -> "cluster server client other" in cores (CPU-s per s)
  awk -v a="$1" -v b="$2" 'BEGIN {
      split(a, x, " "); split(b, y, " "); w = y[1] - x[1]; if (w <= 0) w = 1
      busy = (y[2] - x[2]) / w; pg = (y[3] - x[3]) / w; srv = (y[4] - x[4]) / w; cli = (y[5] - x[5]) / w
      other = busy - pg - srv - cli; if (other < 0) other = 0
      printf "%.2f\t%.2f\t%.2f\t%.2f", pg, srv, cli, other }'
}

RESULTS=$OUT/results.tsv
printf 'round\tc\tsystem\trate\tmean_ms\tp50_ms\tp99_ms\tmax_ms\trows\twal_syncs\tsync_ms\tcpu_pg\tcpu_server\tcpu_client\tcpu_other\tproblems\n' >"$RESULTS"
failures=0

run_huxiao() {  # run_huxiao ROUND C
  local round=$1 c=$2 result status problems errors k v w0 w1 m0 m1 ws0 wt0 ws1 wt1
  # huxiao: c terminals, each of its own school.
  log_step "round $round, c=$c: huxiao-bench ($c TLS terminals)"
  w0=$(wal_snapshot); cpu_mark m0
  set +e
  result=$(nice -n "$NICE" "$BENCH_BIN" --port "$TERMINAL_PORT" --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" \
    --terminals "$c" --warmup "$WARMUP" --duration "$DURATION" --threads "$THREADS" 2>>"$OUT/huxiao-bench.err")
  status=$?
  set -e
  cpu_mark m1; w1=$(wal_snapshot)
  echo "$result" >>"$OUT/huxiao-bench.jsonl"
  echo "$result" >&2
  problems=''
  [[ $status -eq 0 && -n "$result" ]] || problems="exit $status"
  for k in failed timeouts disconnects unacked_at_stop; do
    v=$(json_num "$result" "$k"); [[ -z "$v" || "$v" == 0 ]] || problems="$problems $k=$v"
  done
  errors=$(sed -n 's/.*"errors":{\([^}]*\)}.*/\1/p' <<<"$result")
  [[ -z "$errors" ]] || problems="$problems errors:$errors"
  [[ -z "$problems" ]] || failures=$((failures + 1))
  read -r ws0 wt0 <<<"$w0"; read -r ws1 wt1 <<<"$w1"
  printf '%s\t%s\thuxiao\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" \
    "$(json_num "$result" alarms_per_s)" "$(json_num "$result" mean)" "$(json_num "$result" p50)" \
    "$(json_num "$result" p99)" "$(json_num "$result" max)" "$(json_num "$result" acks_total)" \
    "$((ws1 - ws0))" "$(awk -v a="$wt0" -v b="$wt1" 'BEGIN{printf "%.3f", b-a}')" \
    "$(cpu_cores "$m0" "$m1")" "${problems:-none}" >>"$RESULTS"
}

run_pgbench() {  # run_pgbench ROUND C
  local round=$1 c=$2 result status problems v w0 w1 m0 m1 jobs prefix rows ws0 wt0 ws1 wt1
  # pgbench: c clients, one single-row INSERT per transaction.
  log_step "round $round, c=$c: pgbench -c $c"
  jobs=$((c < 2 ? c : 2))
  prefix="$OUT/pgbench-r$round-c$c"
  rm -f "$prefix".*
  w0=$(wal_snapshot); cpu_mark m0
  set +e
  (cd "$OUT" && nice -n "$NICE" "$PGBENCH" -n -M prepared -c "$c" -j "$jobs" -T $((WARMUP + DURATION + 2 + c / 100)) \
    -f "$OUT/pgbench-insert.sql" -l --log-prefix="$prefix" "$DB_URL" >"$prefix.out" 2>&1)
  status=$?
  set -e
  cpu_mark m1; w1=$(wal_snapshot)
  problems=''
  if [[ $status -ne 0 ]]; then
    problems="pgbench exit $status"
    tail -n 5 "$prefix.out" >&2
    result='{}'
  else
    result=$("$BENCH_BIN" --pgbench-log --warmup "$WARMUP" --duration "$DURATION" "$prefix".[0-9]*)
    grep -q '"covered":true' <<<"$result" || problems="log does not cover the window"
    v=$(json_num "$result" failed); [[ "$v" == 0 ]] || problems="$problems failed=$v"
  fi
  echo "$result" >>"$OUT/pgbench.jsonl"
  echo "$result" >&2
  [[ -z "$problems" ]] || failures=$((failures + 1))
  rows=$(cat "$prefix".[0-9]* 2>/dev/null | wc -l)
  read -r ws0 wt0 <<<"$w0"; read -r ws1 wt1 <<<"$w1"
  printf '%s\t%s\tpgbench\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" \
    "$(json_num "$result" tps)" "$(json_num "$result" mean)" "$(json_num "$result" p50)" \
    "$(json_num "$result" p99)" "$(json_num "$result" max)" "$rows" \
    "$((ws1 - ws0))" "$(awk -v a="$wt0" -v b="$wt1" 'BEGIN{printf "%.3f", b-a}')" \
    "$(cpu_cores "$m0" "$m1")" "${problems:-none}" >>"$RESULTS"
  rm -f "$prefix".[0-9]*  # large; the summary is in pgbench.jsonl
}

# The two sides alternate which goes first from round to round, so that a
# drift of the machine (the disk's flush latency varies a lot here) does not
# always favour the same side.
for round in $(seq 1 "$ROUNDS"); do
  for c in $CONCURRENCY; do
    if ((round % 2 == 1)); then
      run_huxiao "$round" "$c"
      run_pgbench "$round" "$c"
    else
      run_pgbench "$round" "$c"
      run_huxiao "$round" "$c"
    fi
  done
done

# Every ack promised a durable row: count them.
acked=$(awk -F'\t' 'NR > 1 && $3 == "huxiao" { s += $9 } END { print s + 0 }' "$RESULTS")
stored=$("$PG_BIN/psql" -X -Atq "$DB_URL" -c "SELECT count(*) FROM terminal_events WHERE kind = 'alarm'")
rows_match=yes
if ((stored < acked)); then
  rows_match=no
  log_warn "only $stored alarms are in the database but $acked were acked"
  failures=$((failures + 1))
else
  log_ok "$acked acks, $stored alarms in the database"
fi

# --- 5. table -----------------------------------------------------------------------
TABLE=$OUT/table.txt
awk -F'\t' -v rounds="$ROUNDS" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR == 1 { next }
  {
    key = $1 SUBSEP $2
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    for (f = 4; f <= 16; f++) v[key, $3, f] = $f
  }
  END {
    printf "%-5s %-4s| %9s %9s %6s | %-24s | %-24s | %8s | %-7s\n", "round", "c", "alarms/s", "pgbench", "ratio",
           "huxiao ack p50/p99/max", "pgbench tx p50/p99/max", "p99 diff", "target"
    for (i = 1; i <= n; i++) {
      key = order[i]; split(key, k, SUBSEP); r = k[1]; c = k[2]
      h = v[key, "huxiao", 4]; p = v[key, "pgbench", 4]
      ratio = p > 0 ? h / p : 0
      d99 = v[key, "huxiao", 7] - v[key, "pgbench", 7]
      if (c == 1) target = (d99 <= 0.5 ? "met" : "MISSED") " (p99 diff <= 0.5 ms)"
      else target = (ratio >= 1.5 ? "met" : "MISSED") " (ratio >= 1.5)"
      printf "%-5s %-4s| %9.0f %9.0f %6.2f | %6.2f %7.2f %8.2f ms | %6.2f %7.2f %8.2f ms | %5.2f ms | %s\n",
             r, c, h, p, ratio, v[key, "huxiao", 6], v[key, "huxiao", 7], v[key, "huxiao", 8],
             v[key, "pgbench", 6], v[key, "pgbench", 7], v[key, "pgbench", 8], d99, target
      ratios[c] = ratios[c] " " ratio; diffs[c] = diffs[c] " " d99
      hm[c] = hm[c] " " h; pm[c] = pm[c] " " p
      h99[c] = h99[c] " " v[key, "huxiao", 7]; p99[c] = p99[c] " " v[key, "pgbench", 7]
    }
    if (rounds > 1) {
      printf "\nmedians over %d rounds:\n", rounds
      for (i = 1; i <= n; i++) {
        split(order[i], k, SUBSEP); c = k[2]
        if (done[c]++) continue
        printf "  c=%-4s alarms/s %6.0f  pgbench tps %6.0f  ratio %5.2f | ack p99 %7.2f ms  pgbench p99 %7.2f ms  p99 diff %6.2f ms\n", c,
               median(hm[c]), median(pm[c]), median(ratios[c]), median(h99[c]), median(p99[c]), median(diffs[c])
      }
    }
    printf "\n%-5s %-4s %-8s| %12s %9s | %-36s\n", "round", "c", "side", "rows/fsync", "fsync ms", "CPU cores: postgres huxiaod client other"
    for (i = 1; i <= n; i++) {
      key = order[i]; split(key, k, SUBSEP)
      for (sidx = 1; sidx <= 2; sidx++) {
        side = sidx == 1 ? "huxiao" : "pgbench"
        syncs = v[key, side, 10]
        printf "%-5s %-4s %-8s| %12.1f %9.2f | %8.2f %7.2f %6.2f %5.2f\n", k[1], k[2], side,
               (syncs > 0 ? v[key, side, 9] / syncs : 0), (syncs > 0 ? v[key, side, 11] / syncs : 0),
               v[key, side, 12], v[key, side, 13], v[key, side, 14], v[key, side, 15]
      }
    }
  }' "$RESULTS" >"$TABLE"

printf '\n' >&2
cat "$OUT/environment.txt"
echo
cat "$TABLE"
echo
echo "ratio = huxiao durable alarms/s / pgbench single-row TPS; p99 diff = huxiao ack p99 - pgbench p99 (ms)."
echo "rows/fsync, fsync ms: pg_stat_wal over each run (cluster-wide); CPU cores: averages over each run."
echo "details: $RESULTS"
grep -v 'none$' "$RESULTS" | tail -n +2 | sed 's/^/problem: /' || true

# The one line for scripts: medians over the rounds.
awk -F'\t' -v rows="$rows_match" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR == 1 { next }
  { v[$1, $2, $3, "rate"] = $4; v[$1, $2, $3, "p99"] = $7; keys[$1 SUBSEP $2] = 1 }
  END {
    for (key in keys) {
      split(key, k, SUBSEP); r = k[1]; c = k[2]
      p = v[r, c, "pgbench", "rate"]
      ratios[c] = ratios[c] " " (p > 0 ? v[r, c, "huxiao", "rate"] / p : 0)
      diffs[c] = diffs[c] " " (v[r, c, "huxiao", "p99"] - v[r, c, "pgbench", "p99"])
    }
    printf "ingest: c1_p99_diff_ms=%s c64_ratio=%s c500_ratio=%s rows_match=%s\n",
      ("1" in diffs ? sprintf("%.2f", median(diffs["1"])) : "-"),
      ("64" in ratios ? sprintf("%.2f", median(ratios["64"])) : "-"),
      ("500" in ratios ? sprintf("%.2f", median(ratios["500"])) : "-"), rows
  }' "$RESULTS" | tee "$OUT/ingest.line"

stop_server
trap - EXIT
if ((failures > 0)); then
  log_warn "$failures run(s) had errors, timeouts or disconnects (see the problems above)"
  exit 1
fi
log_ok "benchmark complete: $TABLE"
