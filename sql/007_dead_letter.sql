-- Records that PostgreSQL refused for good (a data error such as an invalid
-- value or a violated constraint), kept here instead of being dropped, so an
-- operator can see, repair and replay them. Transient failures never land
-- here: they are retried until they commit (server/db/incident_log.cpp).
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    statement   text NOT NULL,  -- the prepared statement's name (IncidentLog::statements())
    params      text NOT NULL,  -- its parameters as a JSON array; NUL and bad bytes escaped
    sqlstate    text NOT NULL,  -- '' when refused before reaching the database
    message     text NOT NULL
);
CREATE INDEX dead_letters_at_idx ON dead_letters (at);
