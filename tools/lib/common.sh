# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this file
# Shared helpers for huxiao's scripts. Source it, do not run it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Provides:
#   HUXIAO_ROOT           absolute path of the repository root
#   HUXIAO_BUILD_DIR      build tree of the "ci" preset (build/ci)
#   HUXIAOD               path of the built server binary
#   HUXIAO_SIM            path of the built simulator binary
#   log_step / log_info / log_warn / log_ok / die    messages on stderr
#   as_root CMD...        run CMD as root (directly, or via sudo)
#   ensure_packages       install what tools/debian-packages.txt lists and is missing
#   build_server          configure and build with the "ci" preset

if [[ -n "${HUXIAO_COMMON_SH_LOADED:-}" ]]; then
  return 0
fi
HUXIAO_COMMON_SH_LOADED=1

HUXIAO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
HUXIAO_BUILD_DIR="$HUXIAO_ROOT/build/ci"
HUXIAOD="$HUXIAO_BUILD_DIR/server/huxiaod"
HUXIAO_SIM="$HUXIAO_BUILD_DIR/tools/sim/huxiao-sim"
HUXIAO_PACKAGE_LIST="$HUXIAO_ROOT/tools/debian-packages.txt"
export HUXIAO_ROOT

# ccache: hash paths relative to the repository root, so that two clones or
# worktrees of huxiao share cached objects (debug info keeps the first path).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$HUXIAO_ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

# Colour only when stderr is a terminal.
if [[ -t 2 ]]; then
  _hx_bold=$'\e[1m' _hx_red=$'\e[31m' _hx_yellow=$'\e[33m' _hx_green=$'\e[32m' _hx_reset=$'\e[0m'
else
  _hx_bold='' _hx_red='' _hx_yellow='' _hx_green='' _hx_reset=''
fi

# Every message goes to stderr so that stdout stays clean for values that
# callers capture, such as "$(tools/pg.sh url)".
log_step() { printf '%s==> %s%s\n' "$_hx_bold" "$*" "$_hx_reset" >&2; }
log_info() { printf '    %s\n' "$*" >&2; }
log_ok()   { printf '%s    ok: %s%s\n' "$_hx_green" "$*" "$_hx_reset" >&2; }
log_warn() { printf '%swarning: %s%s\n' "$_hx_yellow" "$*" "$_hx_reset" >&2; }
die()      { printf '%serror: %s%s\n' "$_hx_red" "$*" "$_hx_reset" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

as_root() {
  if is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (not root, and sudo is not installed)"
  fi
}

# Package names from the list, without comments and blank lines.
huxiao_package_names() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$HUXIAO_PACKAGE_LIST"
}

_hx_package_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

# Installs the packages of tools/debian-packages.txt that are not installed.
# Runs `apt-get update` once, and only when something is missing.
ensure_packages() {
  log_step "Checking Debian packages (tools/debian-packages.txt)"
  [[ -r "$HUXIAO_PACKAGE_LIST" ]] || die "package list not found: $HUXIAO_PACKAGE_LIST"
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian 12"

  local pkg
  local -a missing=()
  while IFS= read -r pkg; do
    _hx_package_installed "$pkg" || missing+=("$pkg")
  done < <(huxiao_package_names)

  if [[ ${#missing[@]} -eq 0 ]]; then
    log_ok "all $(huxiao_package_names | wc -l) packages are installed"
    return 0
  fi

  log_info "missing: ${missing[*]}"
  if [[ -z "${_HX_APT_UPDATED:-}" ]]; then
    log_info "running apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
      || die "apt-get update failed"
    _HX_APT_UPDATED=1
  fi
  log_info "installing ${#missing[@]} package(s)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"

  for pkg in "${missing[@]}"; do
    _hx_package_installed "$pkg" || die "package $pkg is still not installed after apt-get install"
  done
  log_ok "installed: ${missing[*]}"
}

# promtool, Prometheus' metrics linter, for the test of /metrics
# (tests/e2e/metrics_lint_e2etest.cpp): taken out of Debian's prometheus
# package without installing it (its server and service are not wanted), into
# .local/tools. Prints its path.
ensure_promtool() {
  local dir="$HUXIAO_ROOT/.local/tools"
  if [[ -x "$dir/promtool" ]]; then
    printf '%s\n' "$dir/promtool"
    return 0
  fi
  log_step "Fetching promtool (Debian package prometheus, unpacked into .local/tools)"
  local work
  work="$(mktemp -d)"
  if ! (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1); then
    # A fresh machine may have no package lists yet.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
      && (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1) \
      || { rm -rf "$work"; die "could not download Debian's prometheus package (for promtool)"; }
  fi
  mkdir -p "$dir"
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root" \
    && install -m 0755 "$work/root/usr/bin/promtool" "$dir/promtool" \
    || { rm -rf "$work"; die "could not unpack promtool from the prometheus package"; }
  rm -rf "$work"
  log_ok "$dir/promtool"
  printf '%s\n' "$dir/promtool"
}

# Configures and builds the "ci" preset (build/ci): huxiaod, tools, tests.
build_server() {
  log_step "Building (cmake --preset ci, $(nproc) jobs)"
  command -v cmake >/dev/null 2>&1 || die "cmake not found: run ensure_packages first (tools/setup.sh does)"
  (
    cd "$HUXIAO_ROOT"
    cmake --preset ci
    cmake --build --preset ci -j"$(nproc)"
  ) || die "build failed (see the compiler output above)"
  [[ -x "$HUXIAOD" ]] || die "build finished but $HUXIAOD is missing"
  log_ok "built $(realpath --relative-to="$HUXIAO_ROOT" "$HUXIAOD")"
}
