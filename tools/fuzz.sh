#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer +
# UBSan, build/fuzz) and runs each for SECONDS (default 60), one after the
# other, at the lowest CPU priority.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     e.g. tools/fuzz.sh 3600
#                                                tools/fuzz.sh 60 terminal_frame config
#
# Each target starts from its seed corpus tests/fuzz/<target>/ (read only) and
# keeps what it learns in build/fuzz/corpus/<target>/, so later runs go on
# from there. A crash, leak, timeout or failed check is saved under
# build/fuzz/artifacts/<target>/ (replay it with the printed command; add it
# to tests/fuzz/<target>/ with the fix). Prints per target: seconds, runs
# (executions), crashes and corpus size; exits non-zero if any target crashed.
#
# Environment: HUXIAO_FUZZ_JOBS (build jobs, default 2), HUXIAO_FUZZ_NICE
# (priority of the fuzzing runs, default 19), HUXIAO_FUZZ_ARGS (more libFuzzer flags, e.g. -rss_limit_mb=4096).
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HUXIAO_ROOT"

SECONDS_PER_TARGET=${1:-60}
shift || true
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number (got '$SECONDS_PER_TARGET')"

BUILD_DIR="$HUXIAO_ROOT/build/fuzz"
JOBS=${HUXIAO_FUZZ_JOBS:-2}
NICE=${HUXIAO_FUZZ_NICE:-19}

command -v clang++ >/dev/null 2>&1 || die "clang++ not found (apt-get install clang libclang-rt-14-dev)"

log_step "Building the fuzz targets with clang (build/fuzz)"
sanitizers="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$sanitizers -fno-omit-frame-pointer -UNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DHUXIAO_FUZZ=ON -DHUXIAO_BUILD_BENCH=OFF >/dev/null \
  || die "cmake configure of build/fuzz failed"
cmake --build "$BUILD_DIR" --target fuzz_targets -j"$JOBS" \
  || die "building the fuzz targets failed"

mapfile -t all_targets < <(find tests/fuzz -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

declare -a rows=()
crashed=0
for t in "${targets[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/${t}_fuzz"
  [[ -x "$bin" ]] || die "no fuzz target $t (expected $bin)"
  corpus="$BUILD_DIR/corpus/$t"
  artifacts="$BUILD_DIR/artifacts/$t"
  log="$BUILD_DIR/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # Inputs up to what the server would accept from that boundary (or enough
  # for every shape of it): a frame is max_frame_bytes (4096) by default.
  case "$t" in
    terminal_frame | http_request) max_len=4096 ;;
    registry_import) max_len=65536 ;;
    *) max_len=16384 ;;
  esac
  log_step "Fuzzing $t for ${SECONDS_PER_TARGET}s (log: ${log#"$HUXIAO_ROOT"/})"
  mapfile -t before < <(find "$artifacts" -type f | sort)
  start=$SECONDS
  # shellcheck disable=SC2086  # HUXIAO_FUZZ_ARGS is a list of flags
  nice -n "$NICE" "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${HUXIAO_FUZZ_ARGS:-} \
    "$corpus" "tests/fuzz/$t" >"$log" 2>&1 || true
  secs=$((SECONDS - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  mapfile -t found < <(comm -13 <(printf '%s\n' "${before[@]}") <(find "$artifacts" -type f | sort))
  crashes=0
  for a in "${found[@]}"; do [[ -n "$a" ]] && crashes=$((crashes + 1)); done
  size=$(find "$corpus" -type f | wc -l)
  rows+=("$(printf '  %-18s %6ss %12s runs %3s crashes %6s corpus files' "$t" "$secs" "${runs:-?}" "$crashes" "$size")")
  if [[ $crashes -gt 0 || -z "$runs" ]]; then
    crashed=1
    log_warn "$t: see $log"
    for a in "${found[@]}"; do [[ -n "$a" ]] && log_info "replay: $bin $a"; done
  fi
done

printf '\n==> Fuzzing summary (%ss per target, %s)\n' "$SECONDS_PER_TARGET" "$(date -u +%FT%TZ)"
printf '%s\n' "${rows[@]}"
exit "$crashed"
