#!/usr/bin/env bash
# One setup path for a fresh Debian 12 machine, and idempotent after that:
#   1. install the missing Debian packages (tools/debian-packages.txt)
#   2. configure and build the "ci" preset (build/ci)
#   3. start the private PostgreSQL 15 cluster (tools/pg.sh start)
#   4. make dev certificates in .local/certs (config/dev-certs.sh)
#   5. write the demo configuration .local/demo/huxiao.json
#   6. huxiaod migrate, then huxiaod import config/demo-city.json
# Used by tools/demo.sh and tools/test.sh; fails loudly at the first problem.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CERT_DIR="$HUXIAO_ROOT/.local/certs"
DEMO_DIR="$HUXIAO_ROOT/.local/demo"
DEMO_CONFIG="$DEMO_DIR/huxiao.json"
DEMO_REGISTRY="$HUXIAO_ROOT/config/demo-city.json"

ensure_packages

build_server

"$HUXIAO_ROOT/tools/pg.sh" start
DB_URL="$("$HUXIAO_ROOT/tools/pg.sh" url)"

log_step "Making dev certificates in .local/certs"
"$HUXIAO_ROOT/config/dev-certs.sh" "$CERT_DIR" "$DEMO_REGISTRY"

log_step "Writing the demo configuration .local/demo/huxiao.json"
mkdir -p "$DEMO_DIR"
json_str() { local s=${1//\\/\\\\}; printf '%s' "${s//\"/\\\"}"; }
DB_URL_JSON="$(json_str "$DB_URL")"
CERT_DIR_JSON="$(json_str "$CERT_DIR")"
# Contract section 2; every key not written here keeps its default.
cat >"$DEMO_CONFIG.tmp" <<JSON
{
  "database": { "url": "$DB_URL_JSON" },
  "terminal_listener": {
    "address": "127.0.0.1", "port": 7443,
    "cert": "$CERT_DIR_JSON/server.crt", "key": "$CERT_DIR_JSON/server.key",
    "client_ca": "$CERT_DIR_JSON/terminal-ca.crt"
  },
  "api_listener": {
    "address": "127.0.0.1", "port": 8443,
    "cert": "$CERT_DIR_JSON/server.crt", "key": "$CERT_DIR_JSON/server.key"
  },
  "dc09_listener": { "enabled": true, "address": "127.0.0.1", "port": 7400, "allow_plain": true },
  "log": { "level": "info", "format": "text" }
}
JSON
mv "$DEMO_CONFIG.tmp" "$DEMO_CONFIG"
log_ok "database $DB_URL, terminals on 127.0.0.1:7443, DC-09 panels on 127.0.0.1:7400, API on 127.0.0.1:8443"

log_step "Applying schema migrations (huxiaod migrate)"
"$HUXIAOD" migrate --config "$DEMO_CONFIG" || die "huxiaod migrate failed"

log_step "Importing the demo city (huxiaod import config/demo-city.json)"
"$HUXIAOD" import --config "$DEMO_CONFIG" "$DEMO_REGISTRY" || die "huxiaod import failed"

log_step "Demo inspections and hazards (config/demo-inspections.sql, only into an empty list)"
"$HUXIAO_ROOT/tools/pg.sh" psql -X -q -v ON_ERROR_STOP=1 -f "$HUXIAO_ROOT/config/demo-inspections.sql" \
  || die "the demo inspections could not be applied"

log_ok "setup complete"
