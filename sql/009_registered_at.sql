-- When each terminal and guard post was registered (first imported, or
-- created through the admin API; a re-import keeps it). Terminal availability
-- and guard-post compliance count from then: the time before a terminal or a
-- post existed is neither "down" nor "missed" (docs/reports.md).

ALTER TABLE terminals ADD COLUMN created_at timestamptz;
ALTER TABLE guard_posts ADD COLUMN created_at timestamptz;

-- Rows registered before this migration: `updated_at` moves with every
-- re-import, so take the earliest trace of the terminal (its first status
-- change) or of the post's unit (its first recorded position) when older.
UPDATE terminals t
   SET created_at = least(t.updated_at,
                          (SELECT min(e.at) FROM terminal_status_events e WHERE e.terminal_id = t.id));
UPDATE guard_posts g
   SET created_at = least(g.updated_at,
                          (SELECT min(p.at) FROM unit_positions p WHERE p.unit_id = g.unit_id));

ALTER TABLE terminals ALTER COLUMN created_at SET DEFAULT now(),
                      ALTER COLUMN created_at SET NOT NULL;
ALTER TABLE guard_posts ALTER COLUMN created_at SET DEFAULT now(),
                        ALTER COLUMN created_at SET NOT NULL;
