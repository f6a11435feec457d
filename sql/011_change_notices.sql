-- Contract 1.1, "revocation is immediate", for changes made outside the
-- running server too (`huxiaod import`, `huxiaod token`, an operator's SQL,
-- another server on the same database): every change of the registry or of a
-- token is announced with NOTIFY, and the server (server/db/change_listener)
-- reloads the registry or forgets the token and ends the sessions they no
-- longer allow. A notice is sent when its transaction commits, once per
-- channel and payload however many rows changed.

CREATE FUNCTION huxiao_notify_registry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('huxiao_registry', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER districts_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON districts
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
CREATE TRIGGER schools_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schools
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
CREATE TRIGGER units_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON units
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
CREATE TRIGGER guard_posts_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON guard_posts
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
CREATE TRIGGER terminal_dc09_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON terminal_dc09
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
-- The server itself updates terminals.last_seen_at with every heartbeat:
-- only the columns the registry reads announce a change.
CREATE TRIGGER terminals_notify AFTER INSERT OR DELETE OR TRUNCATE ON terminals
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();
CREATE TRIGGER terminals_notify_update AFTER UPDATE OF id, school_id, enabled ON terminals
    FOR EACH STATEMENT EXECUTE FUNCTION huxiao_notify_registry();

-- A token revoked, deleted or changed (role, unit, districts): its name.
-- Sessions opened with it are ended; a new request authenticates afresh.
CREATE FUNCTION huxiao_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('huxiao_token', OLD.name);
    RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_notify_update AFTER UPDATE ON api_tokens
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION huxiao_notify_token();
CREATE TRIGGER api_tokens_notify_delete AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION huxiao_notify_token();
