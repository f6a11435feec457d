-- The data set of bench/restart.sh: :incidents open incidents, each with
-- its first alarm and :repeats repeat alarms from its school's terminal, 5 s
-- apart, then no_unit_available. Incident n belongs to the n mod S-th school
-- (S schools, one terminal each); the incidents of one school lie 10 minutes
-- apart (beyond the repeat window), the newest ends a minute ago.
BEGIN;
CREATE TEMP TABLE school_terminal AS
SELECT row_number() OVER (ORDER BY t.id) - 1 AS k, t.id AS terminal_id, s.id AS school_id,
       s.district_id
  FROM terminals t JOIN schools s ON s.id = t.school_id;
CREATE TEMP TABLE bench_incident AS
SELECT n, 'I-BENCH-' || lpad(n::text, 7, '0') AS id, st.terminal_id, st.school_id, st.district_id,
       now() - interval '1 minute' - (:repeats * interval '5 seconds')
           - (n / (SELECT count(*) FROM school_terminal)) * interval '10 minutes' AS received_at
  FROM generate_series(0, :incidents - 1) n
  JOIN school_terminal st ON st.k = n % (SELECT count(*) FROM school_terminal);
INSERT INTO incidents (id, school_id, district_id, kind, drill, state, received_at, last_alarm_at)
SELECT id, school_id, district_id, 'intrusion', false, 'received', received_at,
       received_at + :repeats * interval '5 seconds'
  FROM bench_incident;
INSERT INTO terminal_events (terminal_id, event_id, incident_id, kind, received_at)
SELECT terminal_id, 'A-' || n || '-' || r, id, 'alarm', received_at + r * interval '5 seconds'
  FROM bench_incident, generate_series(0, :repeats) r;
INSERT INTO incident_events (incident_id, at, type, actor, details)
SELECT id, received_at + r * interval '5 seconds',
       CASE WHEN r = 0 THEN 'alarm_received' ELSE 'repeat_alarm' END, terminal_id,
       jsonb_build_object('alarm', 'A-' || n || '-' || r, 'kind', 'intrusion',
                          'terminal_at', received_at + r * interval '5 seconds', 'drill', false,
                          'note', 'gate 2')
  FROM bench_incident, generate_series(0, :repeats) r
 ORDER BY received_at, n, r;
INSERT INTO incident_events (incident_id, at, type, actor, details)
SELECT id, received_at + :repeats * interval '5 seconds' + interval '1 second',
       'no_unit_available', 'system', '{}'::jsonb
  FROM bench_incident ORDER BY n;
COMMIT;
