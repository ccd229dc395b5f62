-- The floor: an audit row with constant contents, computing nothing, so what the audit insert
-- alone costs. Its entity_id is the row's id (not a constant): every real audit row carries the
-- row's id, and a constant key would make the (entity_type, entity_id) index artificially cheap.
CREATE FUNCTION bench_audit.floor_audit() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO smarthub.audit_logs (user_id, actor_id, entity_type, entity_id, action, changes)
    VALUES (smarthub.current_user_id(), smarthub.current_user_id(), 'bench_users',
            CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, 'UPDATE',
            '{"after": null, "before": null}');
    RETURN NULL;
END
$$;
