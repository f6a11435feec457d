-- What DC-09 panels report besides alarms and cancels (contract §9: "other
-- restores are recorded, not dispatched"): restores and other events that
-- open no incident, for installers and auditors. Periodic tests and NULL
-- link tests are supervision only (terminals.last_seen_at,
-- terminal_status_events) and not kept here. The event id (account, sequence
-- number, timestamp) makes a retransmission a no-op.
-- (Numbers 004-009 were reserved by the 2026-11-30 session; .wip/README.md.)

CREATE TABLE dc09_events (
    terminal_id  text NOT NULL REFERENCES terminals(id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    meaning      text NOT NULL CHECK (meaning IN ('restore', 'event')),
    code         text NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (terminal_id, event_id)
);
CREATE INDEX dc09_events_received_idx ON dc09_events (received_at);
