-- A leader's lease renewal must not wait for its own write batches.
--
-- Until this migration every write batch's huxiao_fence took FOR SHARE on the
-- lease row and held it until the batch's synchronous commit returned, and
-- huxiao_renew_lease is an UPDATE of that row, which conflicts with FOR SHARE:
-- a renewal waited for every batch in flight. On a loaded machine that could
-- take longer than the 1.5 s a renewal has before the leader steps down by
-- its own clock (ttl 3 s: renewals every 0.75 s, step-down 2.25 s after the
-- last good one); the 100-fault soak logged 45 step-downs "not renewed in
-- time" outside any fault (docs/availability.md §7).
--
-- Now the fence takes FOR KEY SHARE, which an UPDATE that leaves the key (id)
-- alone does not wait for: renewals and the release go through while batches
-- are in flight. A takeover still must wait for them, and every later batch
-- of the old epoch must fail, so huxiao_acquire_lease first locks the row FOR
-- UPDATE, which conflicts with FOR KEY SHARE: it waits for the batches already
-- past their check, and a batch that checks meanwhile waits for the takeover
-- and then finds another epoch (HX001), as before.

CREATE OR REPLACE FUNCTION huxiao_fence(p_epoch bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM leader_lease WHERE id = 1 AND epoch = p_epoch FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lease epoch % is not the current leader''s', p_epoch
            USING ERRCODE = 'HX001';
    END IF;
    PERFORM set_config('huxiao.epoch', p_epoch::text, true);
END $$;

CREATE OR REPLACE FUNCTION huxiao_acquire_lease(p_node text, p_ttl_ms integer, p_terminal text,
                                                p_api text)
RETURNS TABLE (epoch bigint) LANGUAGE plpgsql AS $$
BEGIN
    -- Only when the lease has expired (checked again below, after the wait):
    -- a standby's poll of a held lease must not queue behind the batches.
    IF EXISTS (SELECT 1 FROM leader_lease l WHERE l.id = 1 AND l.expires_at >= clock_timestamp()) THEN
        RETURN;
    END IF;
    -- Waits for the write batches past their fence (FOR KEY SHARE).
    PERFORM 1 FROM leader_lease l WHERE l.id = 1 FOR UPDATE;
    RETURN QUERY
    INSERT INTO leader_lease AS l (id, holder, epoch, acquired_at, expires_at,
                                   advertise_terminal, advertise_api)
    VALUES (1, p_node, 1, clock_timestamp(), clock_timestamp() + p_ttl_ms * interval '1 millisecond',
            p_terminal, p_api)
    ON CONFLICT (id) DO UPDATE
        SET holder = EXCLUDED.holder, epoch = l.epoch + 1, acquired_at = EXCLUDED.acquired_at,
            expires_at = EXCLUDED.expires_at, advertise_terminal = EXCLUDED.advertise_terminal,
            advertise_api = EXCLUDED.advertise_api
        WHERE l.expires_at < clock_timestamp()
    RETURNING l.epoch;
END $$;
