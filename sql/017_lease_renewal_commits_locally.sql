-- A lease renewal does not wait for the synchronous standbys.
--
-- Every commit waits for both standbys (synchronous_mode_strict,
-- synchronous_node_count 2), the lease renewal included. When a standby hangs
-- the primary holds every commit until Patroni drops it from
-- synchronous_standby_names (about 6 s with wal_sender_timeout 5 s), and a
-- leader whose renewals are held steps down by its own clock 2.25 s after the
-- last one (ttl 3 s): the standby huxiaod takes over when commits flow again,
-- and the ack gap is the stall plus a takeover (12.2-12.8 s in the soak's
-- pg-pause-standby; docs/availability.md section 7).
--
-- The renewal now commits with synchronous_commit = local: the primary makes
-- it visible at once, and the leader rides out the stall. Safety does not rest
-- on it. Every write batch still checks the epoch inside its own transaction
-- (huxiao_fence), which commits synchronously, so nothing of a leader that has
-- lost the lease is ever acknowledged. A renewal lost with its primary (not yet
-- replicated when the primary died) makes the lease on the promoted standby
-- older than its holder believes; but the holder cannot renew anywhere while
-- no primary is up, steps down 2.25 s after its last renewal, and Patroni
-- promotes a standby only after the old primary's leader key has expired
-- (ttl 10 s): the old leader has stepped down long before another node could
-- take the lease over. Acquiring the lease and releasing it stay synchronous.

CREATE OR REPLACE FUNCTION huxiao_renew_lease(p_node text, p_epoch bigint, p_ttl_ms integer)
RETURNS TABLE (epoch bigint) LANGUAGE sql AS $$
    SELECT set_config('synchronous_commit', 'local', true);
    UPDATE leader_lease AS l
       SET expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
     WHERE l.id = 1 AND l.holder = p_node AND l.epoch = p_epoch
       AND l.expires_at > clock_timestamp()
    RETURNING l.epoch
$$;
