-- The reference: the classic PL/pgSQL audit trigger doing the same diff as smarthub's C trigger
-- (to_jsonb(OLD) / to_jsonb(NEW), a jsonb diff without ignored columns, excluded columns redacted).
-- Arguments: excluded columns, ignored columns (text[] literals). Like smarthub's, its rows carry
-- the identity as user_id and actor_id.
CREATE FUNCTION bench_audit.plpgsql_audit() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    excluded text[] := TG_ARGV[0]::text[];
    ignored  text[] := TG_ARGV[1]::text[];
    o jsonb;
    n jsonb;
    b jsonb;
    a jsonb;
    redacted jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(c, '[redacted]'), '{}') INTO redacted FROM unnest(excluded) c;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO smarthub.audit_logs (user_id, actor_id, entity_type, entity_id, action, changes)
        VALUES (smarthub.current_user_id(), smarthub.current_user_id(), TG_TABLE_NAME, NEW.id, 'CREATE',
                jsonb_build_object('before', null, 'after', to_jsonb(NEW) || redacted));
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO smarthub.audit_logs (user_id, actor_id, entity_type, entity_id, action, changes)
        VALUES (smarthub.current_user_id(), smarthub.current_user_id(), TG_TABLE_NAME, OLD.id, 'DELETE',
                jsonb_build_object('before', to_jsonb(OLD) || redacted, 'after', null));
    ELSE
        o := to_jsonb(OLD);
        n := to_jsonb(NEW);
        SELECT jsonb_object_agg(key, CASE WHEN key = ANY (excluded) THEN '"[redacted]"' ELSE o -> key END),
               jsonb_object_agg(key, CASE WHEN key = ANY (excluded) THEN '"[redacted]"' ELSE value END)
          INTO b, a
          FROM jsonb_each(n)
         WHERE NOT key = ANY (ignored) AND value IS DISTINCT FROM o -> key;
        IF b IS NOT NULL THEN
            INSERT INTO smarthub.audit_logs (user_id, actor_id, entity_type, entity_id, action, changes)
            VALUES (smarthub.current_user_id(), smarthub.current_user_id(), TG_TABLE_NAME, NEW.id, 'UPDATE', jsonb_build_object('before', b, 'after', a));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
