-- Demo data for the inspections pages (issue 14): a term of inspections of
-- the demo city, with hazards in every state — verified, rectified and
-- awaiting verification, sent back with a new deadline, open, and overdue.
-- Applied by tools/setup.sh after the registry import, only to a database
-- without inspections (not a migration: production starts empty). Times are
-- relative to now(), so the demo looks current whenever it is set up.
DO $$
DECLARE
    s record;
    n integer := 0;
    v_inspection text;
    v_hazard text;
    v_at timestamptz;
    v_items jsonb;
    v_hazards jsonb;
    codes text[] := ARRAY['guards_staffed', 'guards_trained', 'gate_closed_management',
                          'anti_ram_barriers', 'video_linked', 'emergency_plan'];
    descriptions text[] := ARRAY[
        'East gate has no anti-ram bollards',
        'Guard on duty has no training certificate',
        'Camera at the north wall not linked to the platform',
        'Gate duty log not kept for two weeks',
        'Second guard post unstaffed at dismissal',
        'Emergency plan not updated this year'];
    categories text[] := ARRAY['physical', 'people', 'technical', 'management', 'people', 'management'];
    h integer;
    kind text;
BEGIN
    IF EXISTS (SELECT 1 FROM inspections) THEN
        RAISE NOTICE 'demo inspections already present; nothing done';
        RETURN;
    END IF;
    FOR s IN SELECT id FROM schools ORDER BY id LOOP
        n := n + 1;
        IF n % 5 = 0 THEN
            CONTINUE;  -- a fifth of the schools not inspected this term
        END IF;
        v_at := date_trunc('hour', now()) - make_interval(days => 10 + (n * 7) % 70, hours => n % 5);
        kind := (ARRAY['routine', 'spot_check', 'joint'])[1 + n % 3];
        SELECT jsonb_agg(jsonb_build_object(
                   'code', c,
                   'result', CASE WHEN (n + i) % 7 = 0 THEN 'fail' WHEN (n + i) % 11 = 0 THEN 'na'
                                  ELSE 'pass' END,
                   'note', CASE WHEN (n + i) % 7 = 0 THEN descriptions[i] END))
          INTO v_items
          FROM unnest(codes) WITH ORDINALITY AS x(c, i);
        v_hazards := '[]'::jsonb;
        FOR h IN 1 .. (n % 3) LOOP
            v_hazards := v_hazards || jsonb_build_object(
                'category', categories[1 + (n + h) % 6],
                'description', descriptions[1 + (n + h) % 6],
                'deadline', v_at + make_interval(days => 14 + 7 * h),
                'responsible', 'School safety office');
        END LOOP;
        v_inspection := huxiao_record_inspection(
            jsonb_build_object('school', s.id, 'at', v_at, 'kind', kind,
                               'inspectors', jsonb_build_array('Wang Li', 'Zhao Min'),
                               'items', v_items, 'hazards', v_hazards),
            'demo-inspector', 'inspector', v_at + interval '2 hours');
        -- Walk each hazard some way along its life, by school.
        FOR v_hazard IN SELECT id FROM hazards WHERE inspection_id = v_inspection ORDER BY id LOOP
            CASE n % 4
            WHEN 0 THEN  -- rectified and verified
                INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note)
                VALUES (v_hazard, v_at + interval '6 days', 'rectified', 'demo-bureau', 'education',
                        'Done; photos sent to the bureau');
                INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note)
                VALUES (v_hazard, v_at + interval '9 days', 'verification_accepted', 'demo-inspector',
                        'inspector', 'Checked on site');
            WHEN 1 THEN  -- left open: overdue once the deadline passed
                NULL;
            WHEN 2 THEN  -- rectified, awaiting verification
                INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note)
                VALUES (v_hazard, v_at + interval '5 days', 'rectified', 'demo-bureau', 'education',
                        'Ordered and installed');
            ELSE  -- rejected once, with a new deadline
                INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note)
                VALUES (v_hazard, v_at + interval '4 days', 'rectified', 'demo-bureau', 'education',
                        'Ordered');
                INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note, deadline)
                VALUES (v_hazard, v_at + interval '8 days', 'verification_rejected', 'demo-inspector',
                        'inspector', 'Only ordered, not installed', now() + interval '10 days');
            END CASE;
        END LOOP;
    END LOOP;
END $$;
SELECT count(*) AS inspections, (SELECT count(*) FROM hazards) AS hazards,
       (SELECT count(*) FROM hazards WHERE status = 'open' AND deadline < now()) AS overdue,
       (SELECT count(*) FROM hazards WHERE status = 'verified') AS verified
  FROM inspections;
