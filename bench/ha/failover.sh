#!/usr/bin/env bash
# How long the replicated PostgreSQL of tools/ha.sh takes to accept writes
# again after a fault of its primary (docs/availability.md).
#
#   bench/ha/failover.sh [TRIALS] [FAULT...]
#
# FAULT: kill-postmaster (kill -9 of the primary's postmaster), kill-node
# (kill -9 of its Patroni, postmaster and backends), pause (SIGSTOP of all of
# them; SIGCONT once a new primary writes). Default: 3 trials of each.
#
# Each trial: tools/ha.sh start (heals the previous trial's damage and waits
# for a leader, a synchronous standby and a replica), a marker row written
# through the multi-host URL, the fault, then a write attempted every 0.1 s
# through the same URL (each attempt a fresh psql with connect_timeout 1 s,
# ended after 3 s) until one commits. Prints per trial the gap from the fault
# to that commit, the node promoted and whether it was the synchronous
# standby, and whether the rows committed before and after the fault are
# both there once the cluster has healed; for pause also how long the
# old primary took to rejoin as a replica after SIGCONT. The gap includes up
# to 1 s of connect_timeout per dead or paused host that libpq tries first.
#
# Uses the developer cluster (.local/ha, or HUXIAO_HA_DIR) and leaves it
# running and healthy.
set -euo pipefail

# shellcheck source=tools/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/common.sh"
cd "$HUXIAO_ROOT"

TRIALS=${1:-3}
shift || true
FAULTS=("$@")
((${#FAULTS[@]} > 0)) || FAULTS=(kill-postmaster kill-node pause)
PSQL=/usr/lib/postgresql/15/bin/psql
HA=tools/ha.sh

LOG="$HUXIAO_ROOT/.local/ha-failover.log"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
heal() { "$HA" start 2>>"$LOG" || { tail -n 30 "$LOG" >&2; die "tools/ha.sh start failed (log: $LOG)"; }; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# A role's node name from `tools/ha.sh status` (running members only).
node_with_role() { "$HA" status 2>/dev/null | awk -v r="$1" '$2 == r && $3 == "running" { print $1; exit }'; }

try_write() { # try_write URL VALUE
  PGCONNECT_TIMEOUT=1 timeout 3 "$PSQL" "$1" -Xq -v ON_ERROR_STOP=1 \
    -c "INSERT INTO ha_failover_probe (v) VALUES ('$2')" >/dev/null 2>&1
}

"$HA" start
URL="$("$HA" url)"
"$PSQL" "$URL" -Xq -c "CREATE TABLE IF NOT EXISTS ha_failover_probe (id bigserial PRIMARY KEY, v text NOT NULL, at timestamptz NOT NULL DEFAULT now())"

printf '%-16s %-5s %-7s %-10s %-9s %-11s %s\n' fault trial gap_s promoted was_sync rows_kept rejoin_s
for fault in "${FAULTS[@]}"; do
  for ((trial = 1; trial <= TRIALS; trial++)); do
    heal
    primary="$(node_with_role leader)"
    sync="$(node_with_role sync_standby)"
    marker="marker-$fault-$trial-$RANDOM"
    try_write "$URL" "$marker" || die "could not write the marker row before the fault"
    t0="$(now)"
    "$HA" fault "$primary" "$fault" >/dev/null
    t1=''
    deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
      if try_write "$URL" "after-$marker"; then
        t1="$(now)"
        break
      fi
      sleep 0.1
    done
    [[ -n "$t1" ]] || die "no write committed within 120 s after $fault of $primary"
    promoted="$("$HA" primary 2>/dev/null | cut -d' ' -f1)"
    rejoin='-'
    if [[ $fault == pause ]]; then
      t2="$(now)"
      "$HA" fault "$primary" resume >/dev/null
      deadline=$((SECONDS + 120))
      while ((SECONDS < deadline)); do
        role="$("$HA" status 2>/dev/null | awk -v n="$primary" '$1 == n { print $2 "/" $3 }')"
        [[ $role == replica/running || $role == sync_standby/running ]] && break
        sleep 0.2
      done
      rejoin="$(elapsed "$t2" "$(now)")"
    fi
    # Both rows, once the cluster has healed: the one committed before the
    # fault and the first one committed after it (a psql ended by timeout may
    # have committed too: at least one of each).
    heal
    kept="$("$PSQL" "$URL" -XtAc "SELECT count(DISTINCT v) FROM ha_failover_probe WHERE v IN ('$marker', 'after-$marker')")"
    printf '%-16s %-5s %-7s %-10s %-9s %-11s %s\n' "$fault" "$trial" "$(elapsed "$t0" "$t1")" \
      "$primary->$promoted" "$([[ $promoted == "$sync" ]] && echo yes || echo "no($sync)")" \
      "$([[ $kept == 2 ]] && echo yes || echo "NO($kept/2)")" "$rejoin"
  done
done
heal
