-- A dead letter is written once, even when its batch is sent again.
--
-- A batch whose outcome is unknown (the connection lost after its COMMIT went
-- out, before the answer came back) is retried as it was; every other record
-- of the write path is idempotent (alarms by terminal and event id, timeline
-- events and supervision by event_key), but the dead_letters insert was not,
-- so such a retry kept the refused record twice. The server now gives each
-- dead letter a key of its own (its process's random prefix and a counter) and
-- the insert does nothing when that key is already there. Rows written before
-- this migration have none.

ALTER TABLE dead_letters ADD COLUMN letter_key text;
CREATE UNIQUE INDEX dead_letters_letter_key_idx ON dead_letters (letter_key)
    WHERE letter_key IS NOT NULL;
