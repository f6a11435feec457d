-- Contract §8: several servers, one leader. The leader holds this one row
-- (docs/availability.md): `epoch` grows by one with every takeover, and
-- `expires_at` is kept by the database's clock, never a server's.
--
-- Fencing: every write batch of a leader starts with huxiao_fence(its epoch).
-- The check takes a share lock on the lease row, and a takeover is an UPDATE
-- of that row, so a takeover waits for the batches already past their check
-- and every later batch of the old leader fails (SQLSTATE HX001): a server
-- that was paused or cut off past its lease can never commit after another
-- has taken over and read the open incidents.

CREATE TABLE leader_lease (
    id smallint PRIMARY KEY CHECK (id = 1),
    holder text NOT NULL,
    epoch bigint NOT NULL CHECK (epoch > 0),
    acquired_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    advertise_terminal text,
    advertise_api text
);

-- Takes the lease when nobody holds it or it has expired; the new epoch, or
-- no row. A holder that lost its lease comes back only through here, with a
-- new epoch.
CREATE FUNCTION huxiao_acquire_lease(p_node text, p_ttl_ms integer, p_terminal text, p_api text)
RETURNS TABLE (epoch bigint) LANGUAGE sql AS $$
    INSERT INTO leader_lease AS l (id, holder, epoch, acquired_at, expires_at,
                                   advertise_terminal, advertise_api)
    VALUES (1, p_node, 1, clock_timestamp(), clock_timestamp() + p_ttl_ms * interval '1 millisecond',
            p_terminal, p_api)
    ON CONFLICT (id) DO UPDATE
        SET holder = EXCLUDED.holder, epoch = l.epoch + 1, acquired_at = EXCLUDED.acquired_at,
            expires_at = EXCLUDED.expires_at, advertise_terminal = EXCLUDED.advertise_terminal,
            advertise_api = EXCLUDED.advertise_api
        WHERE l.expires_at < clock_timestamp()
    RETURNING l.epoch
$$;

-- Extends the holder's lease if it is still its own and has not expired.
CREATE FUNCTION huxiao_renew_lease(p_node text, p_epoch bigint, p_ttl_ms integer)
RETURNS TABLE (epoch bigint) LANGUAGE sql AS $$
    UPDATE leader_lease AS l
       SET expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
     WHERE l.id = 1 AND l.holder = p_node AND l.epoch = p_epoch
       AND l.expires_at > clock_timestamp()
    RETURNING l.epoch
$$;

-- A leader that stops hands over at once instead of after its TTL.
CREATE FUNCTION huxiao_release_lease(p_node text, p_epoch bigint)
RETURNS void LANGUAGE sql AS $$
    UPDATE leader_lease SET expires_at = clock_timestamp()
     WHERE id = 1 AND holder = p_node AND epoch = p_epoch
$$;

-- The check also names the epoch for the rest of its transaction, and every
-- timeline event written in it records that epoch (below): an audit can see
-- which leader wrote what, and that epochs never interleave in a timeline.
CREATE FUNCTION huxiao_fence(p_epoch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM leader_lease WHERE id = 1 AND epoch = p_epoch FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lease epoch % is not the current leader''s', p_epoch
            USING ERRCODE = 'HX001';
    END IF;
    PERFORM set_config('huxiao.epoch', p_epoch::text, true);
END $$;

-- NULL: written by a single server (no lease), by `huxiaod` commands or before
-- this migration. (A stable default: existing rows are not rewritten.)
ALTER TABLE incident_events
    ADD COLUMN epoch bigint DEFAULT nullif(current_setting('huxiao.epoch', true), '')::bigint;
