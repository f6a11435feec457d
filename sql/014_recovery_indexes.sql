-- What a takeover or a restart reads (server/db/recovery.cpp) must not grow
-- with the repeat alarms piled onto the open incidents: a terminal that keeps
-- pressing, or bench/ha/soak.sh's closed loop, adds one terminal_events row
-- and one incident_events row per alarm. Before this migration both reads
-- scanned every one of them (130,000 alarms on 32 open incidents: 1.8 s for
-- the latest alarms and 0.9 s for the timelines on a loaded machine, every
-- takeover; docs/availability.md §7). With these indexes a takeover reads a
-- few rows per open incident and terminal.
--
-- * Each terminal's latest alarm of an open incident, and whether it has an
--   older one: (incident_id, terminal_id, received_at, event_id) walks the
--   distinct terminals of an incident and reads the newest two rows of each.
--   It replaces the index on incident_id alone (its leading column), so an
--   alarm still adds one entry to this table's secondary index, not two.
-- * The timeline rows that replay reads (common/dispatch/replay.hpp,
--   kTypesReplayPassesOver): a partial index without the passed-over types,
--   i.e. without the repeat alarms. The predicate must stay the one that
--   recovery.cpp writes (RecoveryIndexes.* in tests/pg checks it).

DROP INDEX terminal_events_incident_idx;
CREATE INDEX terminal_events_incident_idx
    ON terminal_events (incident_id, terminal_id, received_at, event_id);

CREATE INDEX incident_events_replayed_idx ON incident_events (incident_id, seq)
    WHERE type NOT IN ('alarm_received', 'repeat_alarm', 'cancel_requested', 'note');
