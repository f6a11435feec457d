# shellcheck shell=bash
# Shared steps of the load benchmarks (bench/ingest.sh, bench/dispatch.sh,
# bench/reports/run.sh). Sourced after tools/lib/common.sh; uses $OUT and $JOBS.

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
