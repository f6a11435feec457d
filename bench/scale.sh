#!/usr/bin/env bash
# Connection scale (issue #11; docs/performance.md §12).
#
#   bench/scale.sh
#
# In one run, on loopback, against the private PostgreSQL cluster (tools/pg.sh):
#   1. builds huxiaod and huxiao-bench (release preset, build/release);
#   2. a fresh database huxiao_bench_scale with BENCH_TERMINALS schools, one
#      terminal each, and their certificates (huxiao-bench --make-certs);
#   3. starts huxiaod with terminal_listener.max_connections raised through
#      its config, the handshake budgets (max_unauthenticated 2000,
#      max_unauthenticated_per_address 256) at their defaults: with them
#      raised to 20,000 the server took on every handshake at once, most ran
#      past handshake_timeout_s and were thrown away (docs/performance.md
#      §12), and supervision.heartbeat_s
#      BENCH_HEARTBEAT, on fixed free ports (they must survive the restart);
#   4. handshake rate: huxiao-bench scale-handshakes against huxiaod's
#      terminal listener and against nginx from Debian (unpacked into
#      .local/tools/nginx, not installed; same server certificate,
#      ssl_verify_client on with the same terminal CA, 2 workers like
#      huxiaod's 2 I/O threads), full handshakes then resumed ones (TLS 1.3
#      tickets), in the order huxiao, nginx, nginx, huxiao;
#   5. huxiao-bench scale: BENCH_TERMINALS terminals connect (mutual TLS,
#      each its own certificate, from the loopback addresses BENCH_FROM) and
#      heartbeat; huxiaod's resident memory is sampled for BENCH_HOLD s;
#   6. huxiaod is restarted (SIGTERM, then serve again); the terminals
#      reconnect with back-off, full jitter and TLS resumption; reconnect_s
#      runs from the first connection lost to the last welcome;
#   7. the alarm storm: terminals 1..BENCH_STORM raise one alarm each within
#      one second; ack latency from the first send, /readyz polled meanwhile;
#   8. counts the storm's rows in PostgreSQL (nothing lost or doubled) and
#      the incidents neither offered nor marked no_unit_available;
#   9. prints a table and the line
#      scale: terminals=… rss_mib=… reconnect_s=… handshake_ratio_nginx=…
#             resumed_ratio_nginx=… storm_ack_p99_s=… storm_lost=…
#
# Environment (defaults in brackets):
#   BENCH_TERMINALS [20000]  BENCH_STORM [5000]  BENCH_HOLD [15] seconds of
#   RSS samples  BENCH_HEARTBEAT [10]  BENCH_FROM [127.0.0.2,…,127.0.0.5]
#   BENCH_HS_CONCURRENCY [64]  BENCH_HS_DURATION [5]  BENCH_POOL_SIZE [4]
#   BENCH_JOBS [2]  BENCH_OUT [.local/bench/scale-YYYYmmdd-HHMMSS]
#   BENCH_MAX_WAITING [huxiaod's default] terminal_listener.max_waiting (0: the
#   connections past the handshake budget are refused at accept, not held)
#   BENCH_RECONNECT_CAP_MS [10000] the terminals' widest back-off window
#   (docs/terminals.md; the first is 1 s)
#   BENCH_PERF=1 record huxiaod with perf (cpu-clock, call graphs) from its
#   restart to the end of the storm: $OUT/perf-top.txt
#   BENCH_NO_BUILD=1 use the build as it is; BENCH_BUILD [build/release], e.g.
#   build/ci (RelWithDebInfo) with BENCH_NO_BUILD=1
#
# huxiaod and the client each need one descriptor per terminal: the script
# raises ulimit -n (the hard limit too, when allowed) and caps the terminals
# below the limit when it cannot.
#
# Loopback only; bounded (at most 100,000 terminals, every wait has a
# deadline). Exit status: non-zero when a step fails, a terminal never came
# back, or a storm alarm was lost or doubled; missing a goal (1 GiB, 15 s,
# 0.9x nginx, p99 3 s) is reported, not a failure.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

TERMINALS=${BENCH_TERMINALS:-20000}
STORM=${BENCH_STORM:-5000}
HOLD=${BENCH_HOLD:-15}
HEARTBEAT=${BENCH_HEARTBEAT:-10}
FROM=${BENCH_FROM:-127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5}
HS_CONCURRENCY=${BENCH_HS_CONCURRENCY:-64}
HS_DURATION=${BENCH_HS_DURATION:-5}
POOL_SIZE=${BENCH_POOL_SIZE:-4}
JOBS=${BENCH_JOBS:-2}
MAX_WAITING=${BENCH_MAX_WAITING:-}
RECONNECT_CAP_MS=${BENCH_RECONNECT_CAP_MS:-10000}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/scale-$(date -u +%Y%m%d-%H%M%S)}
DB=huxiao_bench_scale
BUILD=${BENCH_BUILD:-$HUXIAO_ROOT/build/release}
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x "$PG_BIN/psql" ]] || PG_BIN=$(dirname "$(command -v psql)")
ALARM_ID="A-scale-$(date -u +%H%M%S)"

for v in "$TERMINALS" "$STORM" "$HOLD" "$HEARTBEAT" "$HS_CONCURRENCY" "$HS_DURATION" "$POOL_SIZE" "$RECONNECT_CAP_MS" ${MAX_WAITING:+"$MAX_WAITING"}; do
  [[ "$v" =~ ^[0-9]+$ ]] || die "BENCH_TERMINALS, BENCH_STORM, BENCH_HOLD, BENCH_HEARTBEAT, BENCH_HS_*, BENCH_POOL_SIZE, BENCH_RECONNECT_CAP_MS and BENCH_MAX_WAITING take whole numbers (got '$v')"
done
((TERMINALS >= 1 && TERMINALS <= 100000)) || die "BENCH_TERMINALS is 1-100000"
((STORM <= TERMINALS)) || die "BENCH_STORM is at most BENCH_TERMINALS"
((HOLD <= 600 && HS_DURATION <= 600)) || die "BENCH_HOLD and BENCH_HS_DURATION are at most 600 s"
((RECONNECT_CAP_MS >= 1000 && RECONNECT_CAP_MS <= 600000)) || die "BENCH_RECONNECT_CAP_MS is 1000-600000"
[[ "$FROM" =~ ^127\.[0-9.,]+$ ]] || die "BENCH_FROM takes loopback addresses 127.x.y.z, comma-separated"
command -v curl >/dev/null || die "curl is needed for /readyz"

# Every terminal is a descriptor here and one in huxiaod (which inherits the
# limit), plus the handshake runs' sockets. As root the hard limit may rise.
# Raising the hard limit needs CAP_SYS_RESOURCE; without it (a container)
# the terminals are capped below the limit, loudly, and the line says how many.
want_files=$((TERMINALS + 4096))
if (($(ulimit -Hn) < want_files)); then ulimit -Hn "$want_files" 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < want_files)); then
  capped=$(($(ulimit -n) - 200))
  ((capped >= 1)) || die "ulimit -n is $(ulimit -n)"
  log_warn "open files are capped at $(ulimit -n) per process here (the hard limit cannot be raised:"
  log_warn "no CAP_SYS_RESOURCE); huxiaod needs one per terminal plus its own, so $capped terminals, not $TERMINALS"
  TERMINALS=$capped
  ((STORM <= TERMINALS)) || STORM=$TERMINALS
fi

mkdir -p "$OUT"
log_info "results go to $OUT"

# --- nginx from Debian, unpacked (not installed: no service is started) ----------
ensure_nginx() {
  local dir="$HUXIAO_ROOT/.local/tools/nginx"
  if [[ -x "$dir/usr/sbin/nginx" ]]; then printf '%s\n' "$dir/usr/sbin/nginx"; return 0; fi
  log_step "Fetching nginx (Debian package nginx, unpacked into .local/tools/nginx)"
  local work
  work="$(mktemp -d)"
  if ! (cd "$work" && apt-get download -q nginx >/dev/null 2>&1); then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
      && (cd "$work" && apt-get download -q nginx >/dev/null 2>&1) \
      || { rm -rf "$work"; die "could not download Debian's nginx package"; }
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb -x "$work"/nginx_*.deb "$dir" || { rm -rf "$work"; die "could not unpack nginx"; }
  rm -rf "$work"
  "$dir/usr/sbin/nginx" -v 2>/dev/null || die "the unpacked nginx does not run (missing libraries? ldd $dir/usr/sbin/nginx)"
  printf '%s\n' "$dir/usr/sbin/nginx"
}
NGINX=$(ensure_nginx)

# --- 1. build -----------------------------------------------------------------------
bench_build huxiaod huxiao-bench
[[ -x "$HUXIAOD_BIN" && -x "$BENCH_BIN" ]] || die "missing $HUXIAOD_BIN or $BENCH_BIN"

# --- 2. cluster, database, registry, certificates --------------------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
db() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "${ADMIN_URL%/*}/$DB" "$@"; }

log_step "Fresh database $DB: $TERMINALS schools with a terminal each, certificates"
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
rm -rf "$OUT/certs"
"$BENCH_BIN" --make-certs "$OUT/certs" --terminals "$TERMINALS" --prefix T-B --school-prefix S-B

# Fixed ports: the terminals reconnect to the same address after the restart.
free_port() {  # free_port FIRST: the first port from FIRST not listened on
  local p=$1
  while [[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; do p=$((p + 1)); done
  echo "$p"
}
TERMINAL_PORT=$(free_port 17443)
API_PORT=$(free_port $((TERMINAL_PORT + 1)))
NGINX_PORT=$(free_port $((API_PORT + 1)))

# A ticket key that outlives the process, as a deployment keeps one
# (docs/terminals.md): terminals resume their TLS sessions after the restart.
head -c 80 /dev/urandom >"$OUT/ticket.key"
cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": $POOL_SIZE },
  "terminal_listener": {
    "address": "127.0.0.1", "port": $TERMINAL_PORT,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/terminal-ca.crt",
    "max_connections": $((TERMINALS + 1000)),${MAX_WAITING:+
    \"max_waiting\": $MAX_WAITING,}
    "session_ticket_key": "ticket.key"
  },
  "api_listener": { "address": "127.0.0.1", "port": $API_PORT, "cert": "certs/server.crt", "key": "certs/server.key" },
  "supervision": { "heartbeat_s": $HEARTBEAT },
  "log": { "level": "warn", "format": "text" }
}
JSON
"$HUXIAOD_BIN" import --config "$OUT/huxiao.json" "$OUT/certs/registry.json" >"$OUT/import.log" 2>&1 \
  || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }

# --- 3. server ------------------------------------------------------------------------
SERVER_PID=''
NGINX_PID=''
CLIENT_PID=''
start_server() {  # start_server N: huxiaod's output goes to huxiaod-N.{out,err}
  "$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod-$1.out" 2>"$OUT/huxiaod-$1.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -qs "^huxiaod: terminal listener on" "$OUT/huxiaod-$1.out" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/huxiaod-$1.err" >&2; die "huxiaod exited"; }
    sleep 0.05
  done
  die "huxiaod did not open its terminal listener within 30 s"
}
stop_pid() {  # stop_pid PID: SIGTERM, wait (bounded), then SIGKILL
  local pid=$1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$CLIENT_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$SERVER_PID"
}
trap cleanup EXIT
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }

log_step "Starting huxiaod (terminal port $TERMINAL_PORT, API port $API_PORT)"
start_server 1
sleep 1
RSS_IDLE=$(rss_kib)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common server sql tools/bench 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "build: $BUILD"
  echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "huxiaod: pool_size $POOL_SIZE, log warn, heartbeat_s $HEARTBEAT, max_connections $((TERMINALS + 1000)), handshake budgets at their defaults, max_waiting ${MAX_WAITING:-default}; open files $(ulimit -n)"
  echo "nginx: $("$NGINX" -v 2>&1 | sed 's/.*: //'), 2 workers, ssl_verify_client on"
  echo "client: $TERMINALS terminals from $FROM; storm $STORM; handshakes $HS_CONCURRENCY workers x ${HS_DURATION}s"
} | tee "$OUT/environment.txt" >&2

# --- 4. handshake rate: huxiaod vs nginx ---------------------------------------------------
mkdir -p "$OUT/nginx"
cat >"$OUT/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log crit;
daemon off;
user root;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx/body;
  proxy_temp_path $OUT/nginx/proxy;
  fastcgi_temp_path $OUT/nginx/fastcgi;
  uwsgi_temp_path $OUT/nginx/uwsgi;
  scgi_temp_path $OUT/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl backlog=4096;
    ssl_certificate $OUT/certs/server.crt;
    ssl_certificate_key $OUT/certs/server.key;
    ssl_client_certificate $OUT/certs/terminal-ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    location / { return 200 "ok\n"; }
  }
}
NGINX
"$NGINX" -e "$OUT/nginx/error.log" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" >"$OUT/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
for _ in $(seq 1 100); do [[ -n "$(ss -Hltn "sport = :$NGINX_PORT" 2>/dev/null)" ]] && break; sleep 0.05; done
[[ -n "$(ss -Hltn "sport = :$NGINX_PORT" 2>/dev/null)" ]] || { cat "$OUT/nginx/error.log" "$OUT/nginx/stdout.log" >&2; die "nginx did not start"; }

handshakes() {  # handshakes LABEL PORT [--resume]
  local label=$1 port=$2
  shift 2
  "$BENCH_BIN" scale-handshakes --port "$port" --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" \
    --terminals 100 --from "$FROM" --concurrency "$HS_CONCURRENCY" --duration "$HS_DURATION" --warmup 1 \
    --label "$label" "$@" 2>>"$OUT/huxiao-bench.err" | tee -a "$OUT/handshakes.jsonl"
}
log_step "Handshake rate: huxiaod vs nginx, full then resumed (${HS_DURATION}s each)"
: >"$OUT/handshakes.jsonl"
HX_FULL=$(json_top "$(handshakes huxiao "$TERMINAL_PORT")" full_per_s)
NG_FULL=$(json_top "$(handshakes nginx "$NGINX_PORT")" full_per_s)
NG_RES=$(json_top "$(handshakes nginx "$NGINX_PORT" --resume)" resumed_per_s)
HX_RES=$(json_top "$(handshakes huxiao "$TERMINAL_PORT" --resume)" resumed_per_s)
stop_pid "$NGINX_PID"
NGINX_PID=''
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
HS_RATIO=$(ratio "$HX_FULL" "$NG_FULL")
RES_RATIO=$(ratio "$HX_RES" "$NG_RES")

# --- 5.-7. 20,000 terminals, restart, storm ----------------------------------------------
log_step "huxiao-bench scale: $TERMINALS terminals, then a restart, then a storm of $STORM"
READY=$OUT/ready
rm -f "$READY"
"$BENCH_BIN" scale --port "$TERMINAL_PORT" --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" \
  --terminals "$TERMINALS" --from "$FROM" --ready-file "$READY" --storm "$STORM" \
  --alarm-id "$ALARM_ID" --connect-timeout 600 --reconnect-timeout 300 \
  --reconnect-cap-ms "$RECONNECT_CAP_MS" >"$OUT/scale.json" 2>"$OUT/scale.err" &
CLIENT_PID=$!
for _ in $(seq 1 6000); do
  [[ -f "$READY" ]] && break
  kill -0 "$CLIENT_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -f "$READY" ]] || { cat "$OUT/scale.err" >&2; die "the terminals did not all connect"; }
log_info "all $TERMINALS connected; sampling huxiaod's RSS for ${HOLD}s"
RSS_MAX=0
for _ in $(seq 1 "$HOLD"); do
  r=$(rss_kib)
  ((r > RSS_MAX)) && RSS_MAX=$r
  sleep 1
done
READY_STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$OUT/certs/server-ca.crt" "https://127.0.0.1:$API_PORT/readyz" || true)

log_step "Restarting huxiaod (SIGTERM, then serve)"
T0=$(date +%s.%N)
stop_pid "$SERVER_PID"
T1=$(date +%s.%N)
start_server 2
T2=$(date +%s.%N)
log_info "stopped in $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }') s, listening again after $(awk -v a="$T1" -v b="$T2" 'BEGIN { printf "%.2f", b - a }') s"

PERF_PID=''
if [[ -n "${BENCH_PERF:-}" ]] && command -v perf >/dev/null; then
  perf record -e cpu-clock -F 499 -g -o "$OUT/perf.data" -p "$SERVER_PID" >"$OUT/perf.log" 2>&1 &
  PERF_PID=$!
fi

# /readyz during the reconnect and the storm, every 0.2 s: status and seconds.
: >"$OUT/readyz.txt"
(
  while kill -0 "$CLIENT_PID" 2>/dev/null; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 --cacert "$OUT/certs/server-ca.crt" \
      "https://127.0.0.1:$API_PORT/readyz" >>"$OUT/readyz.txt" 2>/dev/null || echo "000 5" >>"$OUT/readyz.txt"
    sleep 0.2
  done
) &
PROBE_PID=$!
set +e
wait "$CLIENT_PID"
CLIENT_STATUS=$?
set -e
CLIENT_PID=''
wait "$PROBE_PID" 2>/dev/null || true
if [[ -n "$PERF_PID" ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -v '^#' | grep '%' \
    | head -n 60 >"$OUT/perf-top.txt" || true
fi
RSS_AFTER=$(rss_kib)
# The restarted server's counters: why connections ended before their hello
# (refused at accept, refused by the waiting room, waits and handshakes that
# ran out), from the restart to the end of the storm.
scrape "$OUT/metrics-end.txt" || : >"$OUT/metrics-end.txt"
CONNECTION_FAILURES=$(grep -E '^huxiao_connections_(refused|timed_out)_total\{[^}]*listener="terminal"' "$OUT/metrics-end.txt" \
  | sed -E 's/^huxiao_connections_([a-z_]+)_total\{(.*)\} ([0-9.e+]+)$/\1{\2}=\3/' | tr '\n' ' ' || true)
RESULT=$(cat "$OUT/scale.json")
[[ -n "$RESULT" ]] || { cat "$OUT/scale.err" >&2; die "huxiao-bench scale printed no result"; }
echo "$RESULT" >&2

# --- 8. the database's count -----------------------------------------------------------
ROWS=$(db -c "SELECT count(*) FROM terminal_events WHERE kind = 'alarm' AND event_id = '$ALARM_ID'")
INCIDENTS=$(db -c "SELECT count(DISTINCT incident_id) FROM terminal_events WHERE kind = 'alarm' AND event_id = '$ALARM_ID'")
undecided() {
  db -c "SELECT count(*) FROM terminal_events t WHERE t.kind = 'alarm' AND t.event_id = '$ALARM_ID' AND NOT EXISTS (
           SELECT 1 FROM incident_events e WHERE e.incident_id = t.incident_id AND e.type IN ('offer_sent', 'no_unit_available'))"
}
UNDECIDED=$(undecided)
for _ in $(seq 1 30); do
  [[ "$UNDECIDED" == 0 ]] && break
  sleep 1
  UNDECIDED=$(undecided)
done

ACKED=$(json_top "$RESULT" storm_acked)
DOUBLED=$(json_top "$RESULT" storm_doubled)
LOST=$((STORM - ACKED))
((STORM - ROWS > LOST)) && LOST=$((STORM - ROWS))
READYZ_TOTAL=$(wc -l <"$OUT/readyz.txt")
READYZ_OK=$(grep -c '^200 ' "$OUT/readyz.txt" || true)
READYZ_MAX=$(awk '$1 == 200 && $2 > m { m = $2 } END { printf "%.3f", m }' "$OUT/readyz.txt")
RSS_MIB=$(awk -v k="$RSS_MAX" 'BEGIN { printf "%.0f", k / 1024 }')
PER_TERMINAL_KIB=$(awk -v a="$RSS_MAX" -v b="$RSS_IDLE" -v n="$TERMINALS" 'BEGIN { printf "%.1f", (a - b) / n }')
RECONNECT_S=$(json_top "$RESULT" reconnect_s)
P99=$(json_top "$RESULT" storm_ack_p99_s)

{
  echo
  echo "| figure | value | goal |"
  echo "|---|---|---|"
  echo "| huxiaod RSS, $TERMINALS terminals connected | $RSS_MIB MiB (idle before: $((RSS_IDLE / 1024)) MiB; $PER_TERMINAL_KIB KiB per terminal) | <= 1024 MiB |"
  echo "| reconnect after restart (first loss -> last welcome) | ${RECONNECT_S} s ($(json_top "$RESULT" resumed) of $(json_top "$RESULT" welcomes) handshakes resumed) | <= 15 s |"
  echo "| full handshakes/s huxiaod / nginx | $HX_FULL / $NG_FULL = $HS_RATIO | >= 0.9 |"
  echo "| resumed handshakes/s huxiaod / nginx | $HX_RES / $NG_RES = $RES_RATIO | |"
  echo "| storm: $STORM alarms in 1 s, ack p50 / p99 / max | $(json_top "$RESULT" storm_ack_p50_s) / $P99 / $(json_top "$RESULT" storm_ack_max_s) s | p99 <= 3 s |"
  echo "| storm: acked, rows, incidents, doubled, lost | $ACKED, $ROWS, $INCIDENTS, $DOUBLED, $LOST | lost 0, doubled 0 |"
  echo "| storm: incidents neither offered nor no_unit_available | $UNDECIDED | 0 |"
  echo "| /readyz during reconnect and storm | $READYZ_OK of $READYZ_TOTAL answered 200 (slowest ${READYZ_MAX} s); before the restart: $READY_STATUS | all 200 |"
  echo "| connections that ended before hello, restart to end (server's counters) | ${CONNECTION_FAILURES:-none} | |"
  echo "| huxiaod RSS after the storm | $((RSS_AFTER / 1024)) MiB | |"
} | tee "$OUT/table.md" >&2

echo "scale: terminals=$TERMINALS rss_mib=$RSS_MIB reconnect_s=$RECONNECT_S handshake_ratio_nginx=$HS_RATIO resumed_ratio_nginx=$RES_RATIO storm_ack_p99_s=$P99 storm_lost=$LOST" \
  | tee "$OUT/summary.txt"

((CLIENT_STATUS == 0 && LOST == 0 && DOUBLED == 0 && ROWS == STORM && INCIDENTS == STORM && UNDECIDED == 0)) \
  || die "incomplete: see $OUT (client exit $CLIENT_STATUS, lost $LOST, doubled $DOUBLED, rows $ROWS, undecided $UNDECIDED)"
