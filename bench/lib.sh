# shellcheck shell=bash
# Shared steps of the load benchmarks (bench/ingest.sh, bench/dispatch.sh,
# bench/flood.sh, bench/reports/run.sh). Sourced after tools/lib/common.sh; uses $OUT and $JOBS.

# bench_build TARGET...: the release preset, unless BENCH_NO_BUILD is set.
bench_build() {
  [[ -n "${BENCH_NO_BUILD:-}" ]] && return 0
  log_step "Building the release preset ($*; -j$JOBS)"
  cmake --preset release >"$OUT/cmake-configure.log" 2>&1 \
    || { tail -n 30 "$OUT/cmake-configure.log" >&2; die "cmake --preset release failed"; }
  cmake --build --preset release -j"$JOBS" --target "$@" >"$OUT/cmake-build.log" 2>&1 \
    || { tail -n 40 "$OUT/cmake-build.log" >&2; die "build failed (log: $OUT/cmake-build.log)"; }
}

# bench_listener_port NAME PID: waits (up to 30 s) for huxiaod, started with
# stdout in $OUT/huxiaod.out and stderr in $OUT/huxiaod.err, to print
# "huxiaod: NAME listener on ADDR:PORT", and prints PORT. NAME: terminal | api.
bench_listener_port() {
  local name=$1 pid=$2 port=''
  for _ in $(seq 1 300); do
    port=$(sed -n "s/^huxiaod: $name listener on [0-9.]*:\([0-9]*\).*\$/\1/p" "$OUT/huxiaod.out")
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$OUT/huxiaod.err" >&2; die "huxiaod exited"; }
    sleep 0.1
  done
  cat "$OUT/huxiaod.err" >&2
  die "huxiaod did not report its $name listener"
}

# scrape FILE: huxiaod's /metrics (API listener $API_PORT, CA in $OUT/certs) into FILE.
scrape() { curl -sS --fail --cacert "$OUT/certs/server-ca.crt" "https://127.0.0.1:$API_PORT/metrics" >"$1"; }

# histogram_summary NAME BEFORE AFTER -> "count p50_ms p99_ms share_le_1ms share_le_2ms share_le_5ms"
# (the difference of two scrapes; quantiles interpolated linearly inside a
# bucket, as Prometheus' histogram_quantile does).
histogram_summary() {
  awk -v name="$1" '
    function bound(line,   b) { b = line; sub(/.*le="/, "", b); sub(/".*/, "", b); return b }
    FNR == 1 { file++ }
    index($0, name "_bucket{") == 1 {
      b = bound($0); v = $NF
      if (file == 1) before[b] = v; else { after[b] = v; if (!(b in seen)) { seen[b] = 1; order[++n] = b } }
    }
    function quantile(q,   i, target, prev_c, prev_b, c, b) {
      target = q * total; prev_c = 0; prev_b = 0
      for (i = 1; i <= n; i++) {
        b = order[i]; c = after[b] - before[b]
        if (c >= target) {
          if (b == "+Inf") return prev_b * 1000
          if (c == prev_c) return b * 1000
          return (prev_b + (b - prev_b) * (target - prev_c) / (c - prev_c)) * 1000
        }
        prev_c = c; prev_b = b
      }
      return -1
    }
    END {
      total = after["+Inf"] - before["+Inf"]
      if (total <= 0) { print "0 - - - - -"; exit }
      printf "%d %.3f %.3f %.4f %.4f %.4f\n", total, quantile(0.5), quantile(0.99),
        (after["0.001"] - before["0.001"]) / total, (after["0.002"] - before["0.002"]) / total,
        (after["0.005"] - before["0.005"]) / total
    }' "$2" "$3"
}

json_num() {  # json_num JSON OBJECT KEY -> the number KEY inside "OBJECT":{...}
  sed -n "s/.*\"$2\":{[^}]*\"$3\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1" | head -n1
}
json_top() {  # json_top JSON KEY
  sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" <<<"$1" | head -n1
}
