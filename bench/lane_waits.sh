#!/usr/bin/env bash
# What huxiaod's write lanes wait for while a benchmark runs (docs/performance.md
# §4.4, §15): samples pg_stat_activity of the connections whose last statement
# was the alarms' record_alarms, every 10 ms, and prints the share of samples
# per wait (ClientRead: the lane waits for huxiaod's next batch; no wait: on CPU).
#
#   bench/lane_waits.sh [SECONDS [DATABASE]]     defaults: 6 huxiao_bench
#
# Runs against the worktree's private cluster (tools/pg.sh admin-url). Start it
# while bench/ingest.sh runs the concurrency to look at (e.g. when
# `pgrep -f 'huxiao-bench.*--terminals 500'` finds the load generator).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/common.sh"
cd "$HUXIAO_ROOT"
SECONDS_TO_SAMPLE=${1:-6}
DATABASE=${2:-huxiao_bench}
[[ "$SECONDS_TO_SAMPLE" =~ ^[0-9]+$ && $SECONDS_TO_SAMPLE -ge 1 ]] || die "SECONDS: a whole number ≥ 1"
[[ "$DATABASE" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "DATABASE: a plain database name"
/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -v samples=$((SECONDS_TO_SAMPLE * 100)) \
  -v db="$DATABASE" "$(tools/pg.sh admin-url)" <<'SQL'
CREATE TEMP TABLE lane_samples (pid int, wait text);
SELECT set_config('lane.db', :'db', false), set_config('lane.samples', :'samples', false) \gset x_
DO $$
BEGIN
  FOR i IN 1..current_setting('lane.samples')::int LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO lane_samples
      SELECT pid, coalesce(wait_event_type || ':' || wait_event, 'on CPU')
        FROM pg_stat_activity
       WHERE datname = current_setting('lane.db') AND query LIKE '%huxiao_record_alarms(%'
         AND pid <> pg_backend_pid();
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
\pset footer off
SELECT wait, count(*) AS samples,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS percent
  FROM lane_samples GROUP BY wait ORDER BY count(*) DESC;
SELECT count(DISTINCT pid) AS lanes, count(*) AS samples FROM lane_samples;
SQL
