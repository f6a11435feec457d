#!/usr/bin/env bash
# Runs all tests (README quick start, command 2; .ci/run calls it).
#
#   tools/test.sh [CTEST_ARGS...]     e.g. tools/test.sh -L unit   or   -R Import
#
# 1. tools/setup.sh: packages, build (build/ci), private PostgreSQL, dev
#    certificates, demo configuration and import.
# 2. tools/format.sh --check: every C++ file matches .clang-format.
# 3. ctest on build/ci (unit and integration tests), with
#      HUXIAO_TEST_PG        postgresql://huxiao@127.0.0.1:PORT/huxiao (tools/pg.sh url;
#                            role huxiao may create databases)
#      HUXIAO_TEST_PG_ADMIN  postgresql://postgres@127.0.0.1:PORT/postgres (superuser)
#      HUXIAO_SOURCE_DIR     the repository root
#      HUXIAO_PROMTOOL       Prometheus' promtool, for the lint of /metrics
#                            (unpacked from Debian's prometheus package into
#                            .local/tools by ensure_promtool)
#    Values already set in the environment are kept.
# 4. Sanitizers: the unit tests (label unit) and the fuzz seed corpora
#    (label fuzz, tests/fuzz) built with gcc under AddressSanitizer + UBSan
#    (the asan preset, build/asan; only those targets are built).
# 5. Browser tests in tests/web, when tests/web/package.json exists.
# Exits non-zero when any stage fails, after a summary of all of them.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HUXIAO_ROOT"

declare -a SUMMARY=()
failed=0
record() {  # record NAME STATUS SECONDS [NOTE]
  local name=$1 status=$2 secs=$3 note=${4:-}
  SUMMARY+=("$(printf '  %-34s %-7s %5ss  %s' "$name" "$status" "$secs" "$note")")
  [[ "$status" == FAIL ]] && failed=1
  return 0
}
print_summary() {
  printf '\n==> Test summary\n' >&2
  printf '%s\n' "${SUMMARY[@]}" >&2
  if [[ $failed -eq 0 ]]; then
    printf 'result: all stages passed\n' >&2
  else
    printf 'result: FAILED\n' >&2
  fi
  if [[ -n "${ctest_counts:-}" ]]; then
    local f=${ctest_counts% *} t=${ctest_counts#* }
    printf 'ctest: %d passed, %d failed\n' $((t - f)) "$f"
  fi
}

# --- 1. setup -----------------------------------------------------------------
start=$SECONDS
if ! tools/setup.sh; then
  record "setup (packages, build, pg, certs)" FAIL $((SECONDS - start))
  print_summary
  exit 1
fi
record "setup (packages, build, pg, certs)" ok $((SECONDS - start))

: "${HUXIAO_TEST_PG:=$(tools/pg.sh url)}"
: "${HUXIAO_TEST_PG_ADMIN:=$(tools/pg.sh admin-url)}"
: "${HUXIAO_SOURCE_DIR:=$HUXIAO_ROOT}"
# Without promtool the /metrics lint skips itself: that fails the run here.
if [[ -z "${HUXIAO_PROMTOOL:-}" ]] && ! HUXIAO_PROMTOOL="$(ensure_promtool)"; then
  record "promtool (for the /metrics lint)" FAIL 0 "could not fetch Debian's prometheus package"
  HUXIAO_PROMTOOL=""
fi
export HUXIAO_TEST_PG HUXIAO_TEST_PG_ADMIN HUXIAO_SOURCE_DIR HUXIAO_PROMTOOL

# --- 2. formatting ---------------------------------------------------------------
start=$SECONDS
if tools/format.sh --check; then
  record "format (tools/format.sh --check)" ok $((SECONDS - start))
else
  record "format (tools/format.sh --check)" FAIL $((SECONDS - start)) "run tools/format.sh"
fi

# --- 3. C++ unit and integration tests ----------------------------------------
log_step "Running C++ tests: ctest --test-dir build/ci (HUXIAO_TEST_PG=$HUXIAO_TEST_PG)"
start=$SECONDS
CTEST_LOG=build/ci/ctest-output.log
if ctest --test-dir build/ci --output-on-failure --timeout 300 --no-tests=error "$@" 2>&1 | tee "$CTEST_LOG"; then
  record "ctest (unit + integration)" ok $((SECONDS - start))
else
  record "ctest (unit + integration)" FAIL $((SECONDS - start)) "see the ctest output above"
fi
# "NN% tests passed, F tests failed out of T" -> counts for the closing line.
ctest_counts="$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' "$CTEST_LOG" | tail -n 1)"

# --- Sanitizers: unit tests and fuzz corpora under ASan + UBSan ---------------
# The pure core (common/) and its input boundaries under AddressSanitizer and
# UndefinedBehaviorSanitizer: the unit tests, and every seed corpus of
# tests/fuzz replayed through its fuzz target (no clang needed: a small main
# feeds the files). Builds only those targets of the asan preset (build/asan),
# not the server, to keep the test command short on two cores. The unit tests
# run as one process (a process per test under ASan takes minutes).
log_step "Building and running the unit tests and fuzz corpora under ASan + UBSan (build/asan)"
start=$SECONDS
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if ! { cmake --preset asan >/dev/null \
       && cmake --build --preset asan --target unit_tests fuzz_targets -j"$(nproc)"; }; then
  record "sanitizers (ASan+UBSan: unit, fuzz)" FAIL $((SECONDS - start)) "the asan build failed"
elif build/asan/tests/unit_tests --gtest_brief=1 \
     && ctest --test-dir build/asan -L fuzz --output-on-failure --timeout 300 --no-tests=error; then
  record "sanitizers (ASan+UBSan: unit, fuzz)" ok $((SECONDS - start))
else
  record "sanitizers (ASan+UBSan: unit, fuzz)" FAIL $((SECONDS - start)) "see the sanitizer report above"
fi

# --- 4. HOOK: browser tests (tests/web) ---------------------------------------
# Runs `npm ci && npm test` in tests/web once tests/web/package.json exists.
# Whoever adds them: install what they need here or in tools/setup.sh (Node.js
# and npm, Debian's chromium for a headless browser), since CI starts from a
# fresh machine. The environment above (HUXIAO_TEST_PG, …) is exported to them.
if [[ -f tests/web/package.json ]]; then
  log_step "Running browser tests (tests/web: npm ci && npm test)"
  start=$SECONDS
  # Node.js and Chromium come from tools/debian-packages.txt. npm is not listed
  # there: NodeSource's nodejs bundles it and conflicts with Debian's npm, so
  # Debian's npm is installed only when there is a node without an npm.
  if command -v node >/dev/null 2>&1 && ! command -v npm >/dev/null 2>&1; then
    log_info "node has no npm; installing Debian's npm"
    ( as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm ) \
      || log_warn "could not install npm"
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    record "browser tests (tests/web)" FAIL 0 "node or npm is not installed (apt-get install nodejs npm)"
  elif (cd tests/web && npm ci --no-audit --no-fund && npm test); then
    record "browser tests (tests/web)" ok $((SECONDS - start))
  else
    record "browser tests (tests/web)" FAIL $((SECONDS - start)) "see the output above"
  fi
else
  record "browser tests (tests/web)" skipped 0 "no tests/web/package.json yet"
fi
# --- end of hook ----------------------------------------------------------------

print_summary
exit "$failed"
