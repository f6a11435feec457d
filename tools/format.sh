#!/usr/bin/env bash
# Applies .clang-format to every C++ file the repository tracks, or checks it.
#
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   list the files that differ and exit 1 (tools/test.sh runs this)
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HUXIAO_ROOT"

command -v clang-format >/dev/null 2>&1 \
  || die "clang-format not found: apt-get install clang-format (tools/setup.sh does)"

mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
[[ ${#files[@]} -gt 0 ]] || die "no C++ files found under $HUXIAO_ROOT"

if [[ "${1:-}" == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      bad+=("$f")
    fi
  done
  if [[ ${#bad[@]} -gt 0 ]]; then
    log_warn "not formatted (run tools/format.sh): ${bad[*]}"
    exit 1
  fi
  log_ok "all ${#files[@]} C++ files match .clang-format"
else
  clang-format -i "${files[@]}"
  log_ok "formatted ${#files[@]} C++ files"
fi
