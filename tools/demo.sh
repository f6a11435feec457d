#!/usr/bin/env bash
# Runs huxiao on the demo city (README quick start, command 1).
#
# Sets everything up (tools/setup.sh), makes a dispatcher token, starts
# `huxiaod serve` and, when it is built, the terminal/unit simulator, prints
# where to connect, and waits. Ctrl-C stops the children cleanly.
# Logs: .local/demo/huxiaod.log and .local/demo/sim.log.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HUXIAO_ROOT"

CONFIG=.local/demo/huxiao.json
CERTS=.local/certs
REGISTRY=config/demo-city.json
TOKEN_FILE=.local/demo/dispatcher.token
SERVER_LOG=.local/demo/huxiaod.log
SIM_LOG=.local/demo/sim.log
TERMINAL_PORT=7443
API_PORT=8443

listening() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

for port in "$TERMINAL_PORT" "$API_PORT"; do
  if command -v ss >/dev/null 2>&1 && listening "$port"; then
    die "port $port is already in use (another demo running?); stop it first"
  fi
done

tools/setup.sh

# A dispatcher token for the web console. Only its hash is stored in the
# database, so the token is kept in .local/demo/dispatcher.token and reused
# while the database still knows it.
token_known() {
  local t=$1
  [[ "$t" =~ ^[A-Za-z0-9_-]+$ ]] || return 1
  [[ "$(tools/pg.sh psql -X -tA -c "SELECT count(*) FROM api_tokens
        WHERE token_hash = sha256(convert_to('$t', 'UTF8')) AND revoked_at IS NULL" 2>/dev/null)" == "1" ]]
}
# demo_token ROLE NAME FILE [ARGS...]: prints a token of ROLE, kept in FILE
# and reused while the database still knows it.
demo_token() {
  local role=$1 name=$2 file=$3 token=''
  shift 3
  [[ -s "$file" ]] && token="$(<"$file")"
  if [[ -n "$token" ]] && token_known "$token"; then
    log_info "reusing the $role token in $file"
  else
    if [[ "$(tools/pg.sh psql -X -tA -c "SELECT count(*) FROM api_tokens WHERE name = '$name'")" != "0" ]]; then
      name="$name-$(date +%Y%m%d-%H%M%S)"   # the name is taken by a token we no longer have
    fi
    token="$("$HUXIAOD" token create --config "$CONFIG" --role "$role" --name "$name" "$@")" \
      || die "huxiaod token create --role $role failed"
    (umask 077 && printf '%s\n' "$token" >"$file")
    log_ok "created token \"$name\" (saved in $file)"
  fi
  printf '%s' "$token"
}
log_step "Tokens for the web console"
TOKEN="$(demo_token dispatcher demo-dispatcher "$TOKEN_FILE")"
# Inspections (docs/inspections.md): an inspector, and the Jianghan (D-1) education office.
INSPECTOR_TOKEN="$(demo_token inspector demo-inspector .local/demo/inspector.token)"
EDUCATION_TOKEN="$(demo_token education demo-bureau-jianghan .local/demo/education.token --districts D-1)"

CHILDREN=()
SERVER_PID=''
SIM_PID=''

stop_children() {
  trap - INT TERM EXIT
  local pid i
  # The simulator first, then the server (it drains within 10 s).
  for pid in "$SIM_PID" "$SERVER_PID"; do
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log_warn "process $pid did not stop within 12 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}
# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
  printf '\n' >&2
  log_step "Stopping the demo"
  stop_children
  log_ok "stopped"
  exit 0
}
trap on_signal INT TERM
trap stop_children EXIT

log_step "Starting huxiaod serve (log: $SERVER_LOG)"
"$HUXIAOD" serve --config "$CONFIG" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
CHILDREN+=("$SERVER_PID")

# Ready when the terminal listener accepts connections.
for ((i = 0; i < 300; i++)); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 30 "$SERVER_LOG" >&2 || true
    die "huxiaod exited during start-up (last lines of $SERVER_LOG above)"
  fi
  listening "$TERMINAL_PORT" && break
  sleep 0.1
done
listening "$TERMINAL_PORT" || die "huxiaod is not listening on $TERMINAL_PORT after 30 s (see $SERVER_LOG)"
log_ok "huxiaod is running (pid $SERVER_PID)"
listening "$API_PORT" || log_warn "nothing listens on the API port $API_PORT yet"

if [[ -x "$HUXIAO_SIM" ]]; then
  log_step "Starting huxiao-sim (log: $SIM_LOG)"
  # 12 units for 30 schools: an alarm a minute and a brisk 60 km/h keep the
  # city busy without a growing queue of waiting incidents.
  # --dc09: the five terminals with a DC-09 identity (T-0026..T-0030) are
  # simulated as standard alarm panels, three encrypted, two plain (docs/dc09.md).
  "$HUXIAO_SIM" --config "$CONFIG" --certs "$CERTS" --registry "$REGISTRY" --dc09 \
    --alarm-every "${HUXIAO_SIM_ALARM_EVERY:-60}" --speed-kmh "${HUXIAO_SIM_SPEED_KMH:-60}" >"$SIM_LOG" 2>&1 &
  SIM_PID=$!
  CHILDREN+=("$SIM_PID")
else
  log_info "huxiao-sim is not built; running without simulated terminals and units"
fi

LOGS="$SERVER_LOG"
[[ -n "$SIM_PID" ]] && LOGS+=", $SIM_LOG"
cat >&2 <<EOF

huxiao demo city (Wuhan) is running. From $HUXIAO_ROOT:

  Terminal listener  127.0.0.1:$TERMINAL_PORT  (mutual TLS; demo terminals T-0001 ... T-0030)
  Web console        https://127.0.0.1:$API_PORT/   (server CA: $CERTS/server-ca.crt)
  Dispatcher token   $TOKEN
  Inspector token    $INSPECTOR_TOKEN   (Inspections view: record, verify)
  Education token    $EDUCATION_TOKEN   (district D-1: report rectifications)

  Be a terminal:
    openssl s_client -connect 127.0.0.1:$TERMINAL_PORT -cert $CERTS/terminals/T-0001.crt -key $CERTS/terminals/T-0001.key -CAfile $CERTS/server-ca.crt
  then type:
    {"type":"hello","terminal":"T-0001","proto":1}
    {"type":"alarm","id":"A-1","kind":"intrusion"}

  Database ($(tools/pg.sh url)):
    psql "\$(tools/pg.sh url)" -c 'select * from incidents'

  Logs: $LOGS

Press Ctrl-C to stop.
EOF

# Wait until the server ends (or Ctrl-C); a simulator that ends is reported.
rc=0
while true; do
  rc=0
  ended=''
  wait -n -p ended "${CHILDREN[@]}" || rc=$?
  if [[ "$ended" == "$SERVER_PID" || -z "$ended" ]]; then
    break
  fi
  log_warn "huxiao-sim exited (status $rc); see $SIM_LOG. The server keeps running."
  SIM_PID=''
  CHILDREN=("$SERVER_PID")
done
SERVER_PID=''
tail -n 20 "$SERVER_LOG" >&2 || true
log_warn "huxiaod exited by itself (status $rc); last lines of $SERVER_LOG above"
stop_children
exit "$rc"
