#!/usr/bin/env bash
# huxiaod's own CPU per alarm, in instructions (issue 10 item 4;
# docs/performance.md §4.5).
#
#   bench/callgrind.sh
#
# Instruction counts do not depend on the machine's load, unlike wall-clock
# figures, so this is the figure to compare commits with on a shared machine.
# On the private PostgreSQL cluster (tools/pg.sh), in one run:
#   1. builds huxiaod and huxiao-bench with the release preset (build/release);
#   2. creates a fresh database huxiao_callgrind, TERMINALS schools with one
#      terminal each, their certificates, and imports them;
#   3. starts huxiaod under
#        valgrind --tool=callgrind --toggle-collect='boost::asio::detail::scheduler::run*'
#      (so only the I/O threads' work is counted, not start-up);
#   4. a warm-up run: every terminal connects and sends WARMUP_ALARMS alarms
#      (each school's incident opens here; later alarms are repeats);
#   5. the measured run: every terminal connects; once all are, the counters
#      are zeroed (callgrind_control -z), the terminals send exactly ALARMS
#      alarms each (closed loop, as bench/ingest.sh), and the counters are
#      dumped (callgrind_control -d). The TLS handshakes are thus left out;
#   6. prints the top functions (callgrind_annotate, exclusive and
#      inclusive) and, last, one line for scripts:
#        callgrind: instructions_per_alarm=… alarms=… instructions=…
#
# Environment (defaults in brackets):
#   BENCH_TERMINALS [64]      BENCH_ALARMS [100] per terminal (measured)
#   BENCH_WARMUP_ALARMS [5]   per terminal, before
#   BENCH_POOL_SIZE [4]       huxiaod database.pool_size
#   BENCH_TOP [30]            functions listed
#   BENCH_JOBS [2]            build jobs
#   BENCH_OUT                 where results go [.local/bench/callgrind-YYYYmmdd-HHMMSS]
#   BENCH_NO_BUILD=1          use build/release as it is
#   BENCH_BUILD_DIR           take huxiaod and huxiao-bench from this build tree
#                             (implies BENCH_NO_BUILD)
#
# Exit status: non-zero when a step fails or the measured run saw errors,
# timeouts or disconnects (every alarm must be acked).
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HUXIAO_ROOT"

TERMINALS=${BENCH_TERMINALS:-64}
ALARMS=${BENCH_ALARMS:-100}
WARMUP_ALARMS=${BENCH_WARMUP_ALARMS:-5}
POOL_SIZE=${BENCH_POOL_SIZE:-4}
TOP=${BENCH_TOP:-30}
JOBS=${BENCH_JOBS:-2}
OUT=${BENCH_OUT:-$HUXIAO_ROOT/.local/bench/callgrind-$(date -u +%Y%m%d-%H%M%S)}
DB=huxiao_callgrind
BUILD=$HUXIAO_ROOT/build/release
if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
  BUILD=$(cd "$BENCH_BUILD_DIR" && pwd)
  BENCH_NO_BUILD=1
fi
HUXIAOD_BIN=$BUILD/server/huxiaod
BENCH_BIN=$BUILD/tools/bench/huxiao-bench
PG_BIN=/usr/lib/postgresql/15/bin

for v in "$TERMINALS" "$ALARMS" "$WARMUP_ALARMS" "$POOL_SIZE" "$TOP"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "BENCH_TERMINALS, BENCH_ALARMS, BENCH_WARMUP_ALARMS, BENCH_POOL_SIZE, BENCH_TOP take positive whole numbers (got '$v')"
done
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
  die "valgrind not found (package valgrind)"
fi

mkdir -p "$OUT"
log_info "results go to $OUT"

# --- 1. build -------------------------------------------------------------------
bench_build huxiaod huxiao-bench
[[ -x "$HUXIAOD_BIN" && -x "$BENCH_BIN" ]] || die "missing $HUXIAOD_BIN or $BENCH_BIN"

# --- 2. cluster, database, registry, certificates -----------------------------------
tools/pg.sh start
ADMIN_URL=$(tools/pg.sh admin-url)
PG_PORT=$(tools/pg.sh url | sed -E 's#.*:([0-9]+)/.*#\1#')
log_step "Fresh database $DB, $TERMINALS schools and terminals, certificates"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
  -c "CREATE DATABASE $DB OWNER huxiao" >/dev/null
DB_URL="postgresql://huxiao@127.0.0.1:$PG_PORT/$DB"
rm -rf "$OUT/certs"
"$BENCH_BIN" --make-certs "$OUT/certs" --terminals "$TERMINALS" --prefix T-B --school-prefix S-B

cat >"$OUT/huxiao.json" <<JSON
{
  "database": { "url": "$DB_URL", "pool_size": $POOL_SIZE },
  "terminal_listener": {
    "address": "127.0.0.1", "port": 0,
    "cert": "certs/server.crt", "key": "certs/server.key", "client_ca": "certs/terminal-ca.crt",
    "max_frames_per_s": 10000, "max_unauthenticated_per_address": 2000,
    "handshake_timeout_s": 60, "hello_timeout_s": 60
  },
  "api_listener": { "address": "127.0.0.1", "port": 0, "cert": "certs/server.crt", "key": "certs/server.key" },
  "log": { "level": "warn", "format": "text" }
}
JSON
"$HUXIAOD_BIN" import --config "$OUT/huxiao.json" "$OUT/certs/registry.json" >"$OUT/import.log" 2>&1 \
  || { cat "$OUT/import.log" >&2; die "huxiaod import failed"; }

# --- 3. huxiaod under callgrind ---------------------------------------------------------
log_step "Starting huxiaod under callgrind (release build, pool_size $POOL_SIZE)"
valgrind --tool=callgrind --toggle-collect='boost::asio::detail::scheduler::run*' \
  --callgrind-out-file="$OUT/callgrind.out.%p" \
  "$HUXIAOD_BIN" serve --config "$OUT/huxiao.json" >"$OUT/huxiaod.out" 2>"$OUT/huxiaod.err" &
SERVER_PID=$!
stop_server() {
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
# Under valgrind start-up takes a while: wait up to 5 minutes.
TERMINAL_PORT=''
for _ in $(seq 1 3000); do
  TERMINAL_PORT=$(sed -n 's/^huxiaod: terminal listener on [0-9.]*:\([0-9]*\).*$/\1/p' "$OUT/huxiaod.out")
  [[ -n "$TERMINAL_PORT" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$OUT/huxiaod.err" >&2; die "huxiaod exited"; }
  sleep 0.1
done
[[ -n "$TERMINAL_PORT" ]] || die "huxiaod did not report its terminal listener"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
    echo "commit: $(git -C "$BUILD/.." rev-parse --short HEAD 2>/dev/null || echo '?') (binaries of $BUILD)"
  else
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- common server sql 2>/dev/null || echo ' (+ uncommitted changes in common/ server/ sql/)')"
  fi
  echo "$(valgrind --version); huxiaod pool_size $POOL_SIZE, log warn"
  echo "$TERMINALS terminals; warm-up $WARMUP_ALARMS alarms each; measured $ALARMS alarms each"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (instruction counts do not depend on it)"
} | tee "$OUT/environment.txt" >&2

bench() {  # bench ALARMS [ARG...]: one closed-loop run of every terminal
  local alarms=$1
  shift
  "$BENCH_BIN" --port "$TERMINAL_PORT" --ca "$OUT/certs/server-ca.crt" --certs "$OUT/certs" \
    --terminals "$TERMINALS" --alarms "$alarms" --timeout-ms 120000 --connect-timeout 600 --strict "$@"
}

# --- 4. warm-up -------------------------------------------------------------------------
log_step "Warm-up: $TERMINALS terminals x $WARMUP_ALARMS alarms"
bench "$WARMUP_ALARMS" >"$OUT/warmup.json" 2>>"$OUT/huxiao-bench.err" \
  || { cat "$OUT/warmup.json" "$OUT/huxiao-bench.err" >&2; die "the warm-up run failed"; }

# --- 5. measured run ----------------------------------------------------------------------
log_step "Measured: $TERMINALS terminals x $ALARMS alarms (counters zeroed after the handshakes)"
rm -f "$OUT/ready" "$OUT/go"
bench "$ALARMS" --ready-file "$OUT/ready" --go-file "$OUT/go" >"$OUT/measured.json" 2>>"$OUT/huxiao-bench.err" &
BENCH_PID=$!
for _ in $(seq 1 6000); do
  [[ -e "$OUT/ready" ]] && break
  kill -0 "$BENCH_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -e "$OUT/ready" ]] || { cat "$OUT/huxiao-bench.err" >&2; die "the terminals did not connect"; }
callgrind_control -z "$SERVER_PID" >"$OUT/callgrind_control.log" 2>&1
touch "$OUT/go"
status=0
wait "$BENCH_PID" || status=$?
callgrind_control -d "$SERVER_PID" >>"$OUT/callgrind_control.log" 2>&1
result=$(cat "$OUT/measured.json")
echo "$result" >&2
[[ $status -eq 0 ]] || die "the measured run failed (exit $status; $OUT/huxiao-bench.err)"
acks=$(json_top "$result" acks_total)
expected=$((TERMINALS * ALARMS))
[[ "$acks" == "$expected" ]] || die "$acks acks, expected $expected"

# The dump callgrind_control -d wrote: the newest callgrind.out.PID.N.
DUMP=''
for f in "$OUT"/callgrind.out."$SERVER_PID".*; do
  [[ -e "$f" && ( -z "$DUMP" || "$f" -nt "$DUMP" ) ]] && DUMP=$f
done
[[ -n "$DUMP" ]] || die "no callgrind dump in $OUT"
stop_server
trap - EXIT

# --- 6. report ----------------------------------------------------------------------------
instructions=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$DUMP" | head -n1)
[[ -n "$instructions" ]] || instructions=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$DUMP" | head -n1)
[[ -n "$instructions" ]] || die "no instruction total in $DUMP"
callgrind_annotate --threshold=100 "$DUMP" 2>/dev/null | head -n $((TOP + 25)) >"$OUT/exclusive.txt" || true
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP" 2>/dev/null | head -n $((TOP + 25)) >"$OUT/inclusive.txt" || true

cat "$OUT/environment.txt"
echo
echo "--- exclusive (top $TOP) ---"
grep -E '^ *[0-9,]+ +\(' "$OUT/exclusive.txt" | head -n "$TOP" || true
echo
echo "--- inclusive (top $TOP) ---"
grep -E '^ *[0-9,]+ +\(' "$OUT/inclusive.txt" | head -n "$TOP" || true
echo
echo "dump: $DUMP (callgrind_annotate it for more)"
awk -v i="$instructions" -v a="$acks" 'BEGIN {
  printf "callgrind: instructions_per_alarm=%d alarms=%d instructions=%d\n", i / a, a, i }' \
  | tee "$OUT/callgrind.line"
