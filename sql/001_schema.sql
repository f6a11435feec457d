-- huxiao schema, version 1: registry, incidents and their append-only
-- timeline, terminal alarm ids (idempotency) and API tokens.

CREATE TABLE districts (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    sla_ack_s      integer CHECK (sla_ack_s > 0),
    sla_arrival_s  integer CHECK (sla_arrival_s > 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schools (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    district_id  text NOT NULL REFERENCES districts(id),
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon          double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schools_district_idx ON schools (district_id);

CREATE TABLE terminals (
    id          text PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools(id),
    enabled     boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX terminals_school_idx ON terminals (school_id);

CREATE TABLE units (
    id           text PRIMARY KEY,
    callsign     text NOT NULL,
    district_id  text NOT NULL REFERENCES districts(id),
    home_lat     double precision NOT NULL CHECK (home_lat BETWEEN -90 AND 90),
    home_lon     double precision NOT NULL CHECK (home_lon BETWEEN -180 AND 180),
    enabled      boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE guard_posts (
    id          bigserial PRIMARY KEY,
    school_id   text NOT NULL REFERENCES schools(id),
    unit_id     text NOT NULL REFERENCES units(id),
    days        text NOT NULL,
    windows     text[] NOT NULL,
    tz          text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, unit_id)
);

-- One row per incident. The first-event columns are kept up to date by the
-- timeline trigger below, so that response-time reports read indexed columns
-- instead of scanning the timeline.
CREATE TABLE incidents (
    id                text PRIMARY KEY,
    school_id         text NOT NULL REFERENCES schools(id),
    district_id       text NOT NULL REFERENCES districts(id),
    kind              text NOT NULL,
    drill             boolean NOT NULL DEFAULT false,
    state             text NOT NULL DEFAULT 'received',
    received_at       timestamptz NOT NULL,
    last_alarm_at     timestamptz NOT NULL,
    first_offer_at    timestamptz,
    first_accept_at   timestamptz,
    first_arrival_at  timestamptz,
    first_unit_id     text,            -- the unit that arrived first (reports by unit)
    closed_at         timestamptz,
    note              text
);
CREATE INDEX incidents_received_idx ON incidents (received_at);
CREATE INDEX incidents_district_received_idx ON incidents (district_id, received_at);
CREATE INDEX incidents_school_received_idx ON incidents (school_id, received_at);
CREATE INDEX incidents_open_idx ON incidents (school_id) WHERE closed_at IS NULL;

-- The append-only timeline (contract §6). `event_key` makes a retried append
-- (after a connection loss with the commit's outcome unknown) a no-op. Rows
-- written with a terminal event (alarm, cancel request) leave it NULL: the
-- primary key of terminal_events already makes those idempotent, and one
-- index insert less per alarm is measurable (docs/performance.md).
CREATE TABLE incident_events (
    seq          bigserial PRIMARY KEY,
    incident_id  text NOT NULL REFERENCES incidents(id),
    at           timestamptz NOT NULL,
    type         text NOT NULL,
    actor        text NOT NULL,
    unit_id      text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    event_key    text UNIQUE
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, seq);

CREATE FUNCTION huxiao_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER incident_events_append_only
    BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION huxiao_forbid_change();

-- Keeps the incident row's summary columns in step with its timeline.
CREATE FUNCTION huxiao_apply_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CASE NEW.type
    WHEN 'offer_sent' THEN
        UPDATE incidents SET first_offer_at = LEAST(coalesce(first_offer_at, NEW.at), NEW.at),
                             state = CASE WHEN state = 'received' THEN 'dispatched' ELSE state END
         WHERE id = NEW.incident_id;
    WHEN 'unit_accepted' THEN
        UPDATE incidents SET first_accept_at = LEAST(coalesce(first_accept_at, NEW.at), NEW.at),
                             state = CASE WHEN state IN ('received', 'dispatched', 'no_unit_available')
                                          THEN 'accepted' ELSE state END
         WHERE id = NEW.incident_id;
    WHEN 'unit_en_route' THEN
        UPDATE incidents SET state = CASE WHEN state IN ('received', 'dispatched', 'accepted')
                                          THEN 'en_route' ELSE state END
         WHERE id = NEW.incident_id;
    WHEN 'unit_arrived' THEN
        UPDATE incidents SET first_unit_id = CASE WHEN first_arrival_at IS NULL OR NEW.at < first_arrival_at
                                                  THEN NEW.unit_id ELSE first_unit_id END,
                             first_arrival_at = LEAST(coalesce(first_arrival_at, NEW.at), NEW.at),
                             state = CASE WHEN closed_at IS NULL THEN 'on_scene' ELSE state END
         WHERE id = NEW.incident_id;
    WHEN 'no_unit_available' THEN
        UPDATE incidents SET state = CASE WHEN state IN ('received', 'dispatched')
                                          THEN 'no_unit_available' ELSE state END
         WHERE id = NEW.incident_id;
    WHEN 'resolved', 'cancelled' THEN
        UPDATE incidents SET state = NEW.type, closed_at = coalesce(closed_at, NEW.at)
         WHERE id = NEW.incident_id;
    ELSE
        NULL;
    END CASE;
    RETURN NULL;
END $$;
CREATE TRIGGER incident_events_apply
    AFTER INSERT ON incident_events
    FOR EACH ROW
    WHEN (NEW.type IN ('offer_sent', 'unit_accepted', 'unit_en_route', 'unit_arrived',
                       'no_unit_available', 'resolved', 'cancelled'))
    EXECUTE FUNCTION huxiao_apply_event();

-- (terminal, terminal's own event id) -> incident: decides whether an alarm
-- or cancel frame is new, across retransmissions and server restarts.
CREATE TABLE terminal_events (
    terminal_id  text NOT NULL REFERENCES terminals(id),
    event_id     text NOT NULL,
    incident_id  text NOT NULL REFERENCES incidents(id),
    kind         text NOT NULL CHECK (kind IN ('alarm', 'cancel')),
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (terminal_id, event_id)
);
CREATE INDEX terminal_events_incident_idx ON terminal_events (incident_id);

CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('admin', 'dispatcher', 'auditor', 'education', 'unit')),
    unit_id     text REFERENCES units(id),
    districts   text[],                       -- education tokens may be limited to districts
    token_hash  bytea NOT NULL UNIQUE,        -- SHA-256 of the token; the token itself is never stored
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'unit') = (unit_id IS NOT NULL))
);

-- Records one terminal alarm. The server has already triaged it in memory
-- (new incident `p_incident`, or a repeat joining `p_join`); this function
-- makes that durable, with the unique key on (terminal, event id) as the
-- final word: a retransmission returns the incident recorded the first time.
-- Returns the incident and 'new' | 'repeat' | 'duplicate'.
CREATE FUNCTION huxiao_record_alarm(
    p_terminal text, p_event text, p_incident text, p_join text, p_kind text,
    p_terminal_at timestamptz, p_drill boolean, p_note text, p_received_at timestamptz,
    OUT incident_id text, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_school text;
    v_district text;
BEGIN
    SELECT te.incident_id INTO incident_id
      FROM terminal_events te WHERE te.terminal_id = p_terminal AND te.event_id = p_event;
    IF FOUND THEN
        outcome := 'duplicate';
        RETURN;
    END IF;

    IF p_join IS NOT NULL AND EXISTS (SELECT 1 FROM incidents WHERE id = p_join) THEN
        incident_id := p_join;
        outcome := 'repeat';
        UPDATE incidents SET last_alarm_at = greatest(last_alarm_at, p_received_at) WHERE id = p_join;
        INSERT INTO incident_events (incident_id, at, type, actor, details, event_key)
        VALUES (p_join, p_received_at, 'repeat_alarm', p_terminal,
                jsonb_build_object('alarm', p_event, 'kind', p_kind, 'terminal_at', p_terminal_at,
                                   'note', p_note),
                NULL);
    ELSE
        SELECT s.id, s.district_id INTO v_school, v_district
          FROM terminals t JOIN schools s ON s.id = t.school_id WHERE t.id = p_terminal;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown terminal %', p_terminal USING ERRCODE = 'foreign_key_violation';
        END IF;
        incident_id := coalesce(p_join, p_incident);
        outcome := 'new';
        INSERT INTO incidents (id, school_id, district_id, kind, drill, received_at, last_alarm_at)
        VALUES (incident_id, v_school, v_district, p_kind, p_drill, p_received_at, p_received_at)
        ON CONFLICT (id) DO NOTHING;
        INSERT INTO incident_events (incident_id, at, type, actor, details, event_key)
        VALUES (incident_id, p_received_at, 'alarm_received', p_terminal,
                jsonb_build_object('alarm', p_event, 'kind', p_kind, 'terminal_at', p_terminal_at,
                                   'drill', p_drill, 'note', p_note),
                NULL);
    END IF;
    INSERT INTO terminal_events (terminal_id, event_id, incident_id, kind, received_at)
    VALUES (p_terminal, p_event, incident_id, 'alarm', p_received_at);
END $$;

-- Records a terminal's cancel request for an alarm it raised; the dispatcher
-- confirms or refuses it. Returns the incident, or NULL when the alarm is
-- unknown to this terminal.
CREATE FUNCTION huxiao_record_cancel(
    p_terminal text, p_event text, p_alarm text, p_reason text, p_received_at timestamptz,
    OUT incident_id text, OUT outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT te.incident_id INTO incident_id
      FROM terminal_events te WHERE te.terminal_id = p_terminal AND te.event_id = p_event;
    IF FOUND THEN
        outcome := 'duplicate';
        RETURN;
    END IF;
    SELECT te.incident_id INTO incident_id
      FROM terminal_events te
     WHERE te.terminal_id = p_terminal AND te.event_id = p_alarm AND te.kind = 'alarm';
    IF NOT FOUND THEN
        incident_id := NULL;
        outcome := 'unknown_alarm';
        RETURN;
    END IF;
    outcome := 'new';
    INSERT INTO incident_events (incident_id, at, type, actor, details, event_key)
    VALUES (incident_id, p_received_at, 'cancel_requested', p_terminal,
            jsonb_build_object('request', p_event, 'alarm', p_alarm, 'reason', p_reason),
            NULL);
    INSERT INTO terminal_events (terminal_id, event_id, incident_id, kind, received_at)
    VALUES (p_terminal, p_event, incident_id, 'cancel', p_received_at);
END $$;
