-- A realistic year of school-safety alarms for a large city, for the
-- response-time report benchmark (bench/reports/run.sh, docs/performance.md).
--
--   psql -v ON_ERROR_STOP=1 -v incidents=1000000 -v schools=5000 -v units=400 \
--        -v year=2025 -f bench/reports/generate.sql postgresql://huxiao@…/huxiao_reports
--
-- Run it on an empty, migrated database (huxiaod migrate) as the owner of the
-- tables. It fills the registry (15 districts, `schools` schools with one
-- terminal each, `units` patrol units) and `incidents` incidents over the
-- calendar year `year` (Asia/Shanghai) with their timelines (about 7
-- incident_events rows per incident).
--
-- The shape of the year:
--   * days: school days weigh 10, term weekends 3, holidays (winter and
--     summer break, May Day, National Day) 2;
--   * hours (local): peaks at the morning gate (07:00-09:00), noon and the
--     afternoon gate (16:00-18:00), a low floor at night (intrusions);
--   * schools: a skewed share (a few schools raise many alarms);
--   * kinds: intrusion, medical, bullying, other … in realistic proportions;
--     3 % are drills;
--   * times: dispatch within about a second (1 % wait 30-300 s for a free
--     unit), acceptance after a lognormal ~12 s (8 % of first offers expire
--     after 20 s and a second unit accepts), arrival after a lognormal travel
--     time that is longer in the outer districts and at the gate peaks;
--     2.5 % are never reached (cancelled, half of them before any unit
--     accepted), 0.3 % are cancelled before any offer.
-- Deterministic for given parameters (setseed).
--
-- Bulk-load shortcuts (documented in docs/performance.md): the incidents are
-- inserted with their first_* columns already set, and the timeline rows are
-- inserted with the summary trigger (incident_events_apply) disabled, since it
-- would only recompute those columns one row at a time, and with the foreign
-- key to incidents dropped and re-added (one validating join instead of 7
-- million lookups). The append-only trigger is untouched (it fires on
-- UPDATE/DELETE only). All is back in place before the transaction commits.

\set ON_ERROR_STOP on
\if :{?incidents}
\else
  \set incidents 1000000
\endif
\if :{?schools}
\else
  \set schools 5000
\endif
\if :{?units}
\else
  \set units 400
\endif
\if :{?year}
\else
  \set year 2025
\endif

\timing on
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
SET max_parallel_workers_per_gather = 0;   -- one backend: setseed makes the run repeatable
SET enable_nestloop = off;                 -- the temp tables below have no statistics
SELECT setseed(0.20250901);

BEGIN;

-- Districts of a large city (Wuhan): weight = share of schools and units
-- (sums to 100); outer districts get a longer arrival SLA, one a longer ack SLA.
CREATE TEMP TABLE gen_districts (idx int PRIMARY KEY, id text, name text, weight int,
                                 lat double precision, lon double precision, travel_s double precision,
                                 sla_ack_s int, sla_arrival_s int) ON COMMIT DROP;
INSERT INTO gen_districts VALUES
  ( 1, 'D-01', 'Jiang''an',     8, 30.630, 114.300, 190, NULL, NULL),
  ( 2, 'D-02', 'Jianghan',      6, 30.600, 114.270, 170, NULL, NULL),
  ( 3, 'D-03', 'Qiaokou',       6, 30.580, 114.220, 180, NULL, NULL),
  ( 4, 'D-04', 'Hanyang',       7, 30.550, 114.220, 200, NULL, NULL),
  ( 5, 'D-05', 'Wuchang',       9, 30.550, 114.320, 185, NULL, NULL),
  ( 6, 'D-06', 'Qingshan',      5, 30.630, 114.390, 210, NULL, NULL),
  ( 7, 'D-07', 'Hongshan',     12, 30.500, 114.340, 230, NULL, NULL),
  ( 8, 'D-08', 'Dongxihu',      6, 30.620, 114.140, 260, NULL, NULL),
  ( 9, 'D-09', 'Hannan',        3, 30.310, 114.080, 330, NULL,  600),
  (10, 'D-10', 'Caidian',       6, 30.580, 114.030, 320, NULL,  600),
  (11, 'D-11', 'Jiangxia',      8, 30.370, 114.320, 340, NULL,  600),
  (12, 'D-12', 'Huangpi',       9, 30.880, 114.380, 360,   90,  600),
  (13, 'D-13', 'Xinzhou',       7, 30.840, 114.800, 350, NULL,  600),
  (14, 'D-14', 'East Lake High-tech Zone', 5, 30.480, 114.420, 240, NULL, NULL),
  (15, 'D-15', 'Economic Development Zone', 3, 30.500, 114.160, 250, NULL, NULL);

-- 100 slots, one per percent of weight: a uniform draw over them picks a
-- district in proportion to its weight.
CREATE TEMP TABLE gen_district_slots ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY d.idx, g) - 1)::int AS slot, d.idx AS district
  FROM gen_districts d, generate_series(1, d.weight) g;

INSERT INTO districts (id, name, sla_ack_s, sla_arrival_s)
SELECT id, name, sla_ack_s, sla_arrival_s FROM gen_districts;

-- Schools, scattered around their district's centre.
CREATE TEMP TABLE gen_schools ON COMMIT DROP AS
WITH r AS MATERIALIZED (
  SELECT n, random() AS r_d, random() AS r_type, random() AS r_lat, random() AS r_lon
    FROM generate_series(1, :schools) n)
SELECT r.n AS idx, 'S-' || lpad(r.n::text, 5, '0') AS id, ds.district,
       CASE WHEN r.r_type < 0.55 THEN 'Primary School' WHEN r.r_type < 0.85 THEN 'Middle School'
            WHEN r.r_type < 0.97 THEN 'High School' ELSE 'Kindergarten' END AS type,
       d.lat + (r.r_lat - 0.5) * 0.12 AS lat, d.lon + (r.r_lon - 0.5) * 0.14 AS lon
  FROM r JOIN gen_district_slots ds ON ds.slot = floor(r.r_d * 100)::int
         JOIN gen_districts d ON d.idx = ds.district;
CREATE INDEX ON gen_schools (idx);

INSERT INTO schools (id, name, district_id, lat, lon)
SELECT s.id,
       d.name || ' No.' || row_number() OVER (PARTITION BY s.district, s.type ORDER BY s.idx) || ' ' || s.type,
       d.id, s.lat, s.lon
  FROM gen_schools s JOIN gen_districts d ON d.idx = s.district;
INSERT INTO terminals (id, school_id) SELECT 'T-' || lpad(idx::text, 5, '0'), id FROM gen_schools;

-- Units: in proportion to the district weights (4 units per percent when
-- there are 400), numbered within their district for the draws below.
CREATE TEMP TABLE gen_units ON COMMIT DROP AS
SELECT u AS idx, 'P-' || lpad(u::text, 3, '0') AS id, ds.district,
       (row_number() OVER (PARTITION BY ds.district ORDER BY u) - 1)::int AS k
  FROM generate_series(1, :units) u
  JOIN gen_district_slots ds ON ds.slot = ((u - 1) * 100) / :units;
CREATE INDEX ON gen_units (district, k);
CREATE TEMP TABLE gen_district_units ON COMMIT DROP AS
SELECT district, count(*)::int AS n FROM gen_units GROUP BY district;

INSERT INTO units (id, callsign, district_id, home_lat, home_lon)
SELECT u.id, 'Patrol ' || u.idx, d.id, d.lat + (random() - 0.5) * 0.1, d.lon + (random() - 0.5) * 0.1
  FROM gen_units u JOIN gen_districts d ON d.idx = u.district;

-- Days of the year, each repeated by its weight (see above).
CREATE TEMP TABLE gen_day_slots ON COMMIT DROP AS
WITH days AS (
  SELECT day::date AS day,
         CASE
           WHEN (extract(month FROM day) = 1 AND extract(day FROM day) >= 20)
             OR (extract(month FROM day) = 2 AND extract(day FROM day) <= 16)
             OR (extract(month FROM day) = 7 AND extract(day FROM day) >= 6)
             OR extract(month FROM day) = 8
             OR (extract(month FROM day) = 5 AND extract(day FROM day) <= 5)
             OR (extract(month FROM day) = 10 AND extract(day FROM day) <= 7) THEN 2
           WHEN extract(isodow FROM day) >= 6 THEN 3
           ELSE 10
         END AS weight
    FROM generate_series(make_date(:year, 1, 1), make_date(:year, 12, 31), interval '1 day') day)
SELECT (row_number() OVER (ORDER BY day, g) - 1)::int AS slot, day
  FROM days, generate_series(1, weight) g;
SELECT count(*) AS day_slots FROM gen_day_slots \gset

-- Local hours, each repeated by its weight.
CREATE TEMP TABLE gen_hour_slots ON COMMIT DROP AS
WITH hours(hour, weight) AS (
  VALUES (0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (7, 12), (8, 8), (9, 5), (10, 5), (11, 7),
         (12, 8), (13, 5), (14, 5), (15, 6), (16, 10), (17, 9), (18, 5), (19, 3), (20, 2), (21, 2), (22, 1), (23, 1))
SELECT (row_number() OVER (ORDER BY hour, g) - 1)::int AS slot, hour
  FROM hours, generate_series(1, weight) g;
SELECT count(*) AS hour_slots FROM gen_hour_slots \gset

-- One row per incident with every time drawn; lognormal(median m, sigma s)
-- is m * exp(s * z) with z standard normal (Box-Muller). The joins are all
-- lookups of a drawn slot or index: written in the order they should run
-- (join_collapse_limit 1), since the temp tables have no statistics.
ANALYZE gen_districts, gen_district_slots, gen_schools, gen_units, gen_district_units,
        gen_day_slots, gen_hour_slots;
SET join_collapse_limit = 1;
CREATE TEMP TABLE gen_incidents ON COMMIT DROP AS
WITH r AS MATERIALIZED (
  SELECT n, random() AS r_day, random() AS r_hour, random() AS r_sec, random() AS r_school,
         random() AS r_kind, random() AS r_drill, random() AS r_fate, random() AS r_unit,
         random() AS r_expire, random() AS r_wait,
         sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z1,
         sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z2,
         sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z3,
         random() AS r_enroute, random() AS r_clear
    FROM generate_series(1, :incidents) n),
t AS MATERIALIZED (
  SELECT r.*, s.id AS school_id, s.idx AS school_idx, s.district, d.id AS district_id, d.travel_s,
         ((day.day + make_interval(hours => hour.hour, secs => r.r_sec * 3600))::timestamp
           AT TIME ZONE 'Asia/Shanghai') AS received_at,
         hour.hour,
         (ARRAY['intrusion', 'intrusion', 'intrusion', 'intrusion', 'intrusion',
                'medical', 'medical', 'medical', 'medical',
                'bullying', 'bullying', 'bullying', 'other', 'other', 'other',
                'assault', 'traffic', 'fire', 'self_harm', 'drowning'])[1 + floor(r.r_kind * 20)::int] AS kind,
         r.r_drill < 0.03 AS drill,
         floor(r.r_unit * du.n)::int AS k1,
         (floor(r.r_unit * du.n)::int + 1) % du.n AS k2
    FROM r
    JOIN gen_day_slots day ON day.slot = floor(r.r_day * :day_slots)::int
    JOIN gen_hour_slots hour ON hour.slot = floor(r.r_hour * :hour_slots)::int
    JOIN gen_schools s ON s.idx = 1 + floor(:schools * power(r.r_school, 1.8))::int
    JOIN gen_districts d ON d.idx = s.district
    JOIN gen_district_units du ON du.district = s.district),
f AS (
  SELECT t.*,
         -- fate: 0 reached, 1 cancelled before an offer, 2 never accepted, 3 accepted but never reached
         CASE WHEN t.drill THEN 0
              WHEN t.r_fate < 0.003 THEN 1
              WHEN t.r_fate < 0.0155 THEN 2
              WHEN t.r_fate < 0.028 THEN 3
              ELSE 0 END AS fate,
         0.05 + 0.4 * exp(0.8 * t.z1)
           + CASE WHEN t.r_wait < 0.01 THEN 30 + 270 * t.r_wait * 100 ELSE 0 END AS dispatch_s,
         12 * exp(0.6 * t.z2) + CASE WHEN t.r_expire < 0.08 THEN 20 ELSE 0 END AS ack_delay_s,
         t.travel_s * CASE WHEN t.hour IN (7, 8, 16, 17) THEN 1.2 ELSE 1 END * exp(0.45 * t.z3) AS travel_s2
    FROM t)
SELECT f.n, 'I-' || to_char(f.received_at AT TIME ZONE 'UTC', 'YYYYMMDD') || '-G' || lpad(f.n::text, 7, '0') AS id,
       f.school_id, f.school_idx, f.district_id, f.kind, f.drill, f.fate, f.received_at,
       CASE WHEN f.fate <> 1 THEN f.received_at + make_interval(secs => f.dispatch_s) END AS offer_at,
       CASE WHEN f.fate IN (0, 3) THEN f.received_at + make_interval(secs => f.dispatch_s + f.ack_delay_s) END AS accept_at,
       CASE WHEN f.fate = 0 THEN f.received_at + make_interval(secs => f.dispatch_s + f.ack_delay_s + f.travel_s2) END AS arrival_at,
       f.received_at + make_interval(secs => f.dispatch_s + f.ack_delay_s + f.travel_s2 * f.r_enroute) AS cancel_or_enroute_at,
       f.received_at + make_interval(secs => f.dispatch_s + f.ack_delay_s + f.travel_s2 + 600 + 1800 * f.r_clear) AS cleared_at,
       f.r_expire < 0.08 AS expired,
       u1.id AS unit_id, u2.id AS first_offered_unit_id
  FROM f
  JOIN gen_units u1 ON u1.district = f.district AND u1.k = f.k1
  JOIN gen_units u2 ON u2.district = f.district AND u2.k = f.k2;
RESET join_collapse_limit;

INSERT INTO incidents (id, school_id, district_id, kind, drill, state, received_at, last_alarm_at,
                       first_offer_at, first_accept_at, first_arrival_at, first_unit_id, closed_at)
SELECT id, school_id, district_id, kind, drill,
       CASE WHEN fate = 0 THEN 'resolved' ELSE 'cancelled' END,
       received_at, received_at, offer_at, accept_at, arrival_at,
       CASE WHEN fate = 0 THEN unit_id END,
       CASE WHEN fate = 0 THEN cleared_at
            WHEN fate = 1 THEN received_at + interval '40 seconds'
            ELSE cancel_or_enroute_at END
  FROM gen_incidents
 ORDER BY received_at;

-- The timelines. The summary trigger would only redo what the INSERT above
-- already set, one UPDATE per event: off for the bulk load. The foreign key
-- to incidents is checked once for all rows (re-added below) instead of once
-- per row.
ALTER TABLE incident_events DISABLE TRIGGER incident_events_apply;
ALTER TABLE incident_events DROP CONSTRAINT incident_events_incident_id_fkey;
INSERT INTO incident_events (incident_id, at, type, actor, unit_id, details)
SELECT g.id, e.at, e.type, e.actor, e.unit_id, e.details
  FROM gen_incidents g
  CROSS JOIN LATERAL (VALUES
    (1, g.received_at, 'alarm_received', 'T-' || lpad(g.school_idx::text, 5, '0'), NULL::text,
        jsonb_build_object('alarm', 'A-' || g.n, 'kind', g.kind, 'drill', g.drill)),
    (2, g.offer_at, 'offer_sent', 'system', CASE WHEN g.expired THEN g.first_offered_unit_id ELSE g.unit_id END,
        '{}'::jsonb),
    (3, CASE WHEN g.expired AND g.fate IN (0, 3) THEN g.offer_at + interval '20 seconds' END,
        'offer_expired', 'system', g.first_offered_unit_id, '{}'::jsonb),
    (4, CASE WHEN g.expired AND g.fate IN (0, 3) THEN g.offer_at + interval '20 seconds' END,
        'offer_sent', 'system', g.unit_id, '{}'::jsonb),
    (5, g.accept_at, 'unit_accepted', g.unit_id, g.unit_id, '{}'::jsonb),
    (6, CASE WHEN g.fate = 0 THEN g.cancel_or_enroute_at END, 'unit_en_route', g.unit_id, g.unit_id, '{}'::jsonb),
    (7, g.arrival_at, 'unit_arrived', g.unit_id, g.unit_id, '{"source": "geofence"}'::jsonb),
    (8, CASE WHEN g.fate = 0 THEN g.cleared_at END, 'unit_cleared', g.unit_id, g.unit_id,
        '{"outcome": "resolved"}'::jsonb),
    (9, CASE WHEN g.fate = 0 THEN g.cleared_at END, 'resolved', g.unit_id, NULL, '{}'::jsonb),
    (10, CASE WHEN g.fate = 1 THEN g.received_at + interval '40 seconds'
              WHEN g.fate IN (2, 3) THEN g.cancel_or_enroute_at END,
         'cancelled', 'desk-1', NULL, '{"reason": "cancelled by the school"}'::jsonb)
  ) AS e(ord, at, type, actor, unit_id, details)
 WHERE e.at IS NOT NULL
 ORDER BY g.received_at, g.id, e.ord;
ALTER TABLE incident_events ENABLE TRIGGER incident_events_apply;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_incident_id_fkey
  FOREIGN KEY (incident_id) REFERENCES incidents(id);

COMMIT;

SELECT count(*) AS incidents, count(*) FILTER (WHERE drill) AS drills,
       count(*) FILTER (WHERE first_arrival_at IS NULL) AS unreached,
       min(received_at) AS first, max(received_at) AS last
  FROM incidents;
SELECT count(*) AS incident_events FROM incident_events;
