-- Terminal supervision and unit positions: when each school's alarm terminal
-- went online and offline (availability reports), and sampled patrol unit
-- positions (guard-post compliance).

ALTER TABLE terminals ADD COLUMN last_seen_at timestamptz;

-- One row per transition; availability over a range is the share of the
-- range between an `online` row and the next `offline` row.
CREATE TABLE terminal_status_events (
    seq          bigserial PRIMARY KEY,
    terminal_id  text NOT NULL REFERENCES terminals(id),
    at           timestamptz NOT NULL,
    online       boolean NOT NULL,
    event_key    text UNIQUE
);
CREATE INDEX terminal_status_events_terminal_idx ON terminal_status_events (terminal_id, at);

CREATE TABLE unit_positions (
    unit_id  text NOT NULL REFERENCES units(id),
    at       timestamptz NOT NULL,
    lat      double precision NOT NULL,
    lon      double precision NOT NULL,
    PRIMARY KEY (unit_id, at)
);
CREATE INDEX unit_positions_at_idx ON unit_positions (at);
