-- Response-time reports (contract §5, §6; docs/reports.md).
--
-- The three recorded times as seconds since received_at, kept by PostgreSQL
-- itself (NULL until the first offer / acceptance / arrival), so that a report
-- sorts plain float8 values instead of computing interval arithmetic for every
-- incident, and so that the indexes below can carry them.
ALTER TABLE incidents
    ADD COLUMN dispatch_s double precision
        GENERATED ALWAYS AS (date_part('epoch', first_offer_at - received_at)) STORED,
    ADD COLUMN ack_s double precision
        GENERATED ALWAYS AS (date_part('epoch', first_accept_at - received_at)) STORED,
    ADD COLUMN arrival_s double precision
        GENERATED ALWAYS AS (date_part('epoch', first_arrival_at - received_at)) STORED;

-- Covering indexes for the reports by district and by school, the two with
-- performance targets (docs/performance.md): an index-only scan returns each
-- group's incidents of the range together, in group order, so the exact
-- percentiles need no sort of the whole range by group and no heap access.
-- Drills are few and reported apart: the indexes leave them out.
CREATE INDEX incidents_report_district_idx ON incidents (district_id, received_at)
    INCLUDE (dispatch_s, ack_s, arrival_s) WHERE NOT drill;
CREATE INDEX incidents_report_school_idx ON incidents (school_id, received_at)
    INCLUDE (district_id, dispatch_s, ack_s, arrival_s) WHERE NOT drill;
