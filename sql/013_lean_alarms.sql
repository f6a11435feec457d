-- Issue #10 items 1 and 2: a lean alarm record, written set-based, one
-- statement per batch (docs/performance.md §14, docs/architecture.md).
--
-- What an alarm writes from here on: its timeline row in incident_events and
-- its idempotency key in terminal_events, both by INSERT ... SELECT over the
-- batch's arrays; a new incident's row once. No per-alarm UPDATE of the
-- incident, no row-level trigger, no foreign-key check on terminal_events.
--
-- * terminal_events' foreign keys go. huxiao_record_alarms (below) writes
--   a row only for a terminal it has just found in `terminals` and for the
--   incident it has just found or inserted, in the same statement; cancels
--   copy the incident of a recorded alarm. What the keys still guarded, a
--   terminal deleted or renamed while alarms of it are recorded, is guarded
--   by a statement-rare trigger on `terminals` instead (the admin API still
--   answers 409). Incidents are never deleted, and incident_events keeps its
--   key on them.
-- * incidents.last_alarm_at is derived at read time: it keeps the incident's
--   first alarm, and the latest alarm is max(terminal_events.received_at) of
--   the incident (server/db/recovery.cpp reads it that way).
-- * incident_events' unique event_key becomes a partial unique index: alarm
--   rows (NULL key) no longer add an index entry each.

ALTER TABLE terminal_events DROP CONSTRAINT terminal_events_terminal_id_fkey;
ALTER TABLE terminal_events DROP CONSTRAINT terminal_events_incident_id_fkey;

CREATE FUNCTION huxiao_terminal_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM 1 FROM terminal_events WHERE terminal_id = OLD.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'terminal % has recorded alarms and cannot be % (disable it instead)',
                OLD.id, CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'renamed' END
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER terminals_keep_history
    BEFORE DELETE OR UPDATE OF id ON terminals
    FOR EACH ROW EXECUTE FUNCTION huxiao_terminal_keep_history();

CREATE UNIQUE INDEX incident_events_event_key_idx ON incident_events (event_key)
    WHERE event_key IS NOT NULL;
ALTER TABLE incident_events DROP CONSTRAINT incident_events_event_key_key;

COMMENT ON COLUMN incidents.last_alarm_at IS
    'the first alarm''s time; since sql/013 repeat alarms do not move it: the latest alarm is '
    'max(received_at) of the incident''s terminal_events';

-- Records a batch of terminal alarms, element i of every array being alarm i,
-- with the same outcome, alarm by alarm in array order, as
-- huxiao_record_alarm (sql/001) called once per alarm in that order:
--   * duplicate: (terminal, event id) is already recorded, before the batch
--     or by an earlier element (a retransmission, or a repeat inside the
--     batch); incident = the one recorded the first time; nothing written;
--   * repeat: `join` names an incident that exists, before the batch or
--     opened by an earlier element; a repeat_alarm row joins it;
--   * new: an incident coalesce(join, incident) is opened (unless it exists)
--     with an alarm_received row.
-- Returns one row per element, in array order: (ord, incident_id, outcome).
-- An unknown terminal refuses the whole batch (23503; IncidentLog then
-- retries its records one by one and keeps the refused one in dead_letters).
-- Timeline rows get their seq in array order, and carry the epoch that
-- huxiao_fence named for the transaction (sql/012).
CREATE FUNCTION huxiao_record_alarms(
    p_terminal text[], p_event text[], p_incident text[], p_join text[], p_kind text[],
    p_terminal_at timestamptz[], p_drill boolean[], p_note text[], p_received_at timestamptz[])
RETURNS TABLE (ord bigint, incident_id text, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_unknown text;
    v_n integer := cardinality(p_terminal);
BEGIN
    IF v_n IS NULL OR cardinality(p_event) IS DISTINCT FROM v_n
       OR cardinality(p_incident) IS DISTINCT FROM v_n OR cardinality(p_join) IS DISTINCT FROM v_n
       OR cardinality(p_kind) IS DISTINCT FROM v_n
       OR cardinality(p_terminal_at) IS DISTINCT FROM v_n
       OR cardinality(p_drill) IS DISTINCT FROM v_n OR cardinality(p_note) IS DISTINCT FROM v_n
       OR cardinality(p_received_at) IS DISTINCT FROM v_n THEN
        RAISE EXCEPTION 'huxiao_record_alarms: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT u.t INTO v_unknown
      FROM unnest(p_terminal) AS u(t)
     WHERE NOT EXISTS (SELECT 1 FROM terminals x WHERE x.id = u.t)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown terminal %', v_unknown USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Gives the transaction an id even when the batch writes nothing (only
    -- retransmissions), so that its commit is a real one that synchronous
    -- replication waits for: the ack of a retry never overtakes the
    -- durability of the first write, whose own commit may have been cut off.
    PERFORM pg_current_xact_id();

    RETURN QUERY
    WITH input AS (
        SELECT u.*, coalesce(u.join_id, u.proposed) AS target
          FROM unnest(p_terminal, p_event, p_incident, p_join, p_kind, p_terminal_at, p_drill,
                      p_note, p_received_at)
               WITH ORDINALITY AS u(terminal, event, proposed, join_id, kind, terminal_at, drill,
                                    note, received_at, ord)
    ),
    keyed AS (
        SELECT i.*, te.incident_id AS recorded,
               row_number() OVER (PARTITION BY i.terminal, i.event ORDER BY i.ord) AS nth,
               first_value(i.target) OVER (PARTITION BY i.terminal, i.event ORDER BY i.ord)
                   AS first_target
          FROM input i
          LEFT JOIN terminal_events te ON te.terminal_id = i.terminal AND te.event_id = i.event
    ),
    -- The first time a (terminal, event id) is seen and not recorded before.
    fresh AS (
        SELECT k.* FROM keyed k WHERE k.recorded IS NULL AND k.nth = 1
    ),
    -- After a fresh element, its target incident exists (it joined it or opened it).
    opened_from AS (
        SELECT f.target AS id, min(f.ord) AS ord FROM fresh f GROUP BY f.target
    ),
    decided AS (
        SELECT f.*,
               (f.join_id IS NOT NULL
                AND (EXISTS (SELECT 1 FROM incidents x WHERE x.id = f.join_id)
                     OR EXISTS (SELECT 1 FROM opened_from o WHERE o.id = f.join_id AND o.ord < f.ord)))
                   AS joins
          FROM fresh f
    ),
    new_incidents AS (
        INSERT INTO incidents (id, school_id, district_id, kind, drill, received_at, last_alarm_at)
        SELECT DISTINCT ON (d.target) d.target, s.id, s.district_id, d.kind, d.drill,
               d.received_at, d.received_at
          FROM decided d JOIN terminals t ON t.id = d.terminal JOIN schools s ON s.id = t.school_id
         WHERE NOT d.joins
         ORDER BY d.target, d.ord
        ON CONFLICT (id) DO NOTHING
        RETURNING incidents.id
    ),
    timeline AS (
        INSERT INTO incident_events (incident_id, at, type, actor, details)
        SELECT d.target, d.received_at,
               CASE WHEN d.joins THEN 'repeat_alarm' ELSE 'alarm_received' END, d.terminal,
               CASE WHEN d.joins
                    THEN jsonb_build_object('alarm', d.event, 'kind', d.kind,
                                            'terminal_at', d.terminal_at, 'note', d.note)
                    ELSE jsonb_build_object('alarm', d.event, 'kind', d.kind,
                                            'terminal_at', d.terminal_at, 'drill', d.drill,
                                            'note', d.note)
               END
          FROM decided d
         ORDER BY d.ord
        RETURNING 1
    ),
    keys AS (
        INSERT INTO terminal_events (terminal_id, event_id, incident_id, kind, received_at)
        SELECT d.terminal, d.event, d.target, 'alarm', d.received_at FROM decided d
        RETURNING 1
    )
    SELECT k.ord,
           coalesce(k.recorded, k.first_target),
           CASE WHEN k.recorded IS NOT NULL OR k.nth > 1 THEN 'duplicate'
                WHEN d.joins THEN 'repeat'
                ELSE 'new' END
      FROM keyed k LEFT JOIN decided d ON d.ord = k.ord
     ORDER BY k.ord;
END $$;
