-- Inspections and hazards (督导检查, contract §10, docs/inspections.md).
--
-- An inspection is a record of evidence: once written, neither it nor its
-- checklist results change. A hazard's life is its append-only history in
-- hazard_events (created, rectified, verification accepted / rejected); the
-- hazards row carries the current status and deadline, kept by the trigger
-- below from that history, the way incidents follow incident_events.

-- The new role: reads what an auditor reads, records inspections, verifies.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'dispatcher', 'auditor', 'education', 'unit', 'inspector'));

CREATE SEQUENCE inspection_seq;
CREATE SEQUENCE hazard_seq;

CREATE TABLE inspections (
    id           text PRIMARY KEY,
    school_id    text NOT NULL REFERENCES schools(id),
    district_id  text NOT NULL REFERENCES districts(id),  -- the school's district when inspected
    at           timestamptz NOT NULL,                   -- when the inspection took place
    kind         text NOT NULL CHECK (kind IN ('routine', 'spot_check', 'joint')),
    inspectors   text[] NOT NULL CHECK (cardinality(inspectors) > 0),
    recorded_by  text NOT NULL,                          -- the token's name
    recorded_at  timestamptz NOT NULL                    -- server clock; auto items are as of then
);
CREATE INDEX inspections_school_at_idx ON inspections (school_id, at);
CREATE INDEX inspections_district_at_idx ON inspections (district_id, at);

-- One row per checklist code the inspector answered, and one per auto code
-- (contract §10) with the value huxiao computed from live data.
CREATE TABLE inspection_items (
    inspection_id  text NOT NULL REFERENCES inspections(id),
    code           text NOT NULL CHECK (code IN (
                       'guards_staffed', 'guards_trained', 'gate_closed_management',
                       'anti_ram_barriers', 'video_linked', 'alarm_linked', 'alarm_tested',
                       'guard_post_peak', 'emergency_plan', 'drill_held')),
    result         text CHECK (result IN ('pass', 'fail', 'na')),       -- the inspector's; NULL: not answered
    note           text,
    auto_result    text CHECK (auto_result IN ('pass', 'fail', 'na')),  -- NULL for manual codes
    auto_reason    text,
    PRIMARY KEY (inspection_id, code)
);

CREATE TABLE hazards (
    id             text PRIMARY KEY,
    inspection_id  text NOT NULL REFERENCES inspections(id),
    school_id      text NOT NULL REFERENCES schools(id),
    district_id    text NOT NULL REFERENCES districts(id),
    category       text NOT NULL CHECK (category IN ('people', 'physical', 'technical', 'management')),
    description    text NOT NULL,
    responsible    text NOT NULL,
    created_at     timestamptz NOT NULL,
    -- Kept by huxiao_apply_hazard_event from the history; never written otherwise.
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'rectified', 'verified')),
    deadline       timestamptz NOT NULL,
    closed_at      timestamptz
);
CREATE INDEX hazards_school_idx ON hazards (school_id);
CREATE INDEX hazards_district_status_idx ON hazards (district_id, status, deadline);

CREATE TABLE hazard_events (
    seq         bigserial PRIMARY KEY,
    hazard_id   text NOT NULL REFERENCES hazards(id),
    at          timestamptz NOT NULL,
    type        text NOT NULL CHECK (type IN ('created', 'rectified', 'verification_accepted',
                                              'verification_rejected')),
    actor       text NOT NULL,  -- token name
    actor_role  text NOT NULL,
    note        text,
    deadline    timestamptz     -- created: the deadline; rejected: the new one (NULL: unchanged)
);
CREATE INDEX hazard_events_hazard_idx ON hazard_events (hazard_id, seq);

CREATE FUNCTION huxiao_forbid_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER inspections_append_only BEFORE UPDATE OR DELETE ON inspections
    FOR EACH ROW EXECUTE FUNCTION huxiao_forbid_rewrite();
CREATE TRIGGER inspection_items_append_only BEFORE UPDATE OR DELETE ON inspection_items
    FOR EACH ROW EXECUTE FUNCTION huxiao_forbid_rewrite();
CREATE TRIGGER hazard_events_append_only BEFORE UPDATE OR DELETE ON hazard_events
    FOR EACH ROW EXECUTE FUNCTION huxiao_forbid_rewrite();
-- Hazards are never deleted; their summary columns change only through the
-- history (the trigger below runs with huxiao.hazard_event set).
CREATE FUNCTION huxiao_guard_hazard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR coalesce(current_setting('huxiao.hazard_event', true), '') <> 'on'
       OR NEW.id <> OLD.id OR NEW.inspection_id <> OLD.inspection_id
       OR NEW.school_id <> OLD.school_id OR NEW.category <> OLD.category
       OR NEW.description <> OLD.description OR NEW.responsible <> OLD.responsible
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'hazards change only through hazard_events (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hazards_guard BEFORE UPDATE OR DELETE ON hazards
    FOR EACH ROW EXECUTE FUNCTION huxiao_guard_hazard();

-- The life cycle (common/inspection/hazard_lifecycle.hpp checks it first, for
-- a clear answer; this is the final word under concurrent requests):
--   open --rectified--> rectified --verification_accepted--> verified (closed)
--                       rectified --verification_rejected--> open (new deadline optional)
CREATE FUNCTION huxiao_apply_hazard_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    IF NEW.type = 'created' THEN
        RETURN NEW;
    END IF;
    SELECT status INTO v_status FROM hazards WHERE id = NEW.hazard_id FOR UPDATE;
    IF NOT (   (NEW.type = 'rectified' AND v_status = 'open')
            OR (NEW.type IN ('verification_accepted', 'verification_rejected')
                AND v_status = 'rectified')) THEN
        RAISE EXCEPTION 'hazard % is %: % refused', NEW.hazard_id, v_status, NEW.type
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('huxiao.hazard_event', 'on', true);
    UPDATE hazards
       SET status = CASE NEW.type WHEN 'rectified' THEN 'rectified'
                                  WHEN 'verification_accepted' THEN 'verified'
                                  ELSE 'open' END,
           deadline = coalesce(CASE WHEN NEW.type = 'verification_rejected' THEN NEW.deadline END,
                               deadline),
           closed_at = CASE WHEN NEW.type = 'verification_accepted' THEN NEW.at END
     WHERE id = NEW.hazard_id;
    PERFORM set_config('huxiao.hazard_event', 'off', true);
    RETURN NEW;
END $$;
CREATE TRIGGER hazard_events_apply BEFORE INSERT ON hazard_events
    FOR EACH ROW EXECUTE FUNCTION huxiao_apply_hazard_event();

-- Records one validated inspection (the API has checked every field) with its
-- items and hazards in one statement; returns the inspection id.
-- p: {"school","at","kind","inspectors":[…],"items":[{"code","result","note",
--     "auto_result","auto_reason"}],"hazards":[{"category","description",
--     "deadline","responsible"}]}
CREATE FUNCTION huxiao_record_inspection(p jsonb, p_actor text, p_role text, p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_id text := 'I-' || nextval('inspection_seq');
    v_district text;
    v_hazard text;
    h jsonb;
BEGIN
    SELECT district_id INTO v_district FROM schools WHERE id = p->>'school';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown school %', p->>'school' USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO inspections (id, school_id, district_id, at, kind, inspectors, recorded_by, recorded_at)
    VALUES (v_id, p->>'school', v_district, (p->>'at')::timestamptz, p->>'kind',
            ARRAY(SELECT jsonb_array_elements_text(p->'inspectors')), p_actor, p_now);
    INSERT INTO inspection_items (inspection_id, code, result, note, auto_result, auto_reason)
    SELECT v_id, i->>'code', i->>'result', i->>'note', i->>'auto_result', i->>'auto_reason'
      FROM jsonb_array_elements(p->'items') i;
    FOR h IN SELECT * FROM jsonb_array_elements(p->'hazards') LOOP
        v_hazard := 'H-' || nextval('hazard_seq');
        INSERT INTO hazards (id, inspection_id, school_id, district_id, category, description,
                             responsible, created_at, deadline)
        VALUES (v_hazard, v_id, p->>'school', v_district, h->>'category', h->>'description',
                h->>'responsible', p_now, (h->>'deadline')::timestamptz);
        INSERT INTO hazard_events (hazard_id, at, type, actor, actor_role, note, deadline)
        VALUES (v_hazard, p_now, 'created', p_actor, p_role, h->>'description',
                (h->>'deadline')::timestamptz);
    END LOOP;
    RETURN v_id;
END $$;
