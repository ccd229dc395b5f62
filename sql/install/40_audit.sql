
-------------------------------------------------------------------------------------------------
-- Audit trail (src/audit.c, src/jsonb_diff.c)
--
-- Each audited table carries two triggers, smarthub_audit (rows) and smarthub_audit_truncate,
-- whose arguments are its configuration: (entity_type, id_column, '{excluded}', '{ignored}').
-- Keeping it there rather than in a side table means it cannot disagree with what fires, pg_dump
-- writes it with the user's tables, and CREATE OR REPLACE TRIGGER invalidates the C cache.
-------------------------------------------------------------------------------------------------

CREATE FUNCTION smarthub.audit_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_trigger';

CREATE FUNCTION smarthub.audit_logs_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_logs_guard';

CREATE FUNCTION smarthub.audit_ddl() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_ddl';

CREATE FUNCTION smarthub.audit_trigger_arguments(tgargs bytea) RETURNS text[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_trigger_arguments';

-- Not STRICT: NULL arguments get a 22004 error instead of silently doing nothing.
CREATE FUNCTION smarthub.enable_audit(target regclass,
                                      excluded_columns text[] DEFAULT '{}',
                                      ignored_columns text[] DEFAULT '{updated_at}',
                                      entity_type text DEFAULT NULL,
                                      id_column name DEFAULT 'id') RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_enable_audit';

CREATE FUNCTION smarthub.disable_audit(target regclass) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_disable_audit';

CREATE FUNCTION smarthub.purge_audit_logs(older_than interval) RETURNS bigint
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_purge_audit_logs';

-- SECURITY INVOKER (the default, spelled out): the caller's row-level security applies.
-- PL/pgSQL with a generic plan, planned once per session: planning the query anew over every
-- month partition (as an SQL function is, on each call) costs several times its execution.
CREATE FUNCTION smarthub.entity_history(entity_type text, entity_id uuid, max_rows integer DEFAULT 50)
    RETURNS SETOF smarthub.audit_logs
    LANGUAGE plpgsql STABLE SECURITY INVOKER PARALLEL SAFE
    SET plan_cache_mode = force_generic_plan
    AS $$
BEGIN
    RETURN QUERY
    SELECT a.*
      FROM smarthub.audit_logs a
     WHERE a.entity_type OPERATOR(pg_catalog.=) entity_history.entity_type
       AND a.entity_id OPERATOR(pg_catalog.=) entity_history.entity_id
     ORDER BY a.created_at DESC, a.id DESC
     LIMIT entity_history.max_rows;
END
$$;

CREATE VIEW smarthub.audited_tables AS
    SELECT t.tgrelid::pg_catalog.regclass                  AS table_name,
           a.args[1]                                       AS entity_type,
           a.args[2]::pg_catalog.name                      AS id_column,
           a.args[3]::pg_catalog.text[]                    AS excluded_columns,
           a.args[4]::pg_catalog.text[]                    AS ignored_columns,
           t.tgenabled OPERATOR(pg_catalog.<>) 'D'         AS enabled
      FROM pg_catalog.pg_trigger t
     CROSS JOIN LATERAL (SELECT smarthub.audit_trigger_arguments(t.tgargs) AS args) a
     WHERE t.tgname OPERATOR(pg_catalog.=) 'smarthub_audit'
       AND t.tgfoid OPERATOR(pg_catalog.=) 'smarthub.audit_trigger()'::pg_catalog.regprocedure
       AND t.tgnargs OPERATOR(pg_catalog.=) 4;

-- Append-only: ENABLE ALWAYS so that session_replication_role = replica does not skip the guard.
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON smarthub.audit_logs
    FOR EACH ROW EXECUTE FUNCTION smarthub.audit_logs_guard();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON smarthub.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard();
ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_append_only;
ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_no_truncate;
-- Statement triggers are not cloned to partitions: each gets its own TRUNCATE guard.
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON smarthub.audit_logs_default
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard();
ALTER TABLE smarthub.audit_logs_default ENABLE ALWAYS TRIGGER audit_logs_no_truncate;

-- Month partitions, [first millisecond of the month, first of the next) in version-7 ids, from
-- this month to months_ahead months on; returns how many it created. A month whose rows already
-- sit in the default partition is left there (creating its partition would have to move them);
-- retention then deletes them row by row. Not run by CREATE EXTENSION, so that the partitions are
-- ordinary tables which pg_dump dumps with their rows.
CREATE FUNCTION smarthub.create_audit_partitions(months_ahead integer DEFAULT 3) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    first_day timestamptz;
    lo uuid;
    hi uuid;
    part text;
    created integer := 0;
BEGIN
    IF months_ahead IS NULL OR months_ahead OPERATOR(pg_catalog.<) 0 OR months_ahead OPERATOR(pg_catalog.>) 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120'
            USING ERRCODE = '22023';
    END IF;
    FOR i IN 0 .. months_ahead LOOP
        first_day := (pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC')
                      OPERATOR(pg_catalog.+) pg_catalog.make_interval(months => i)) AT TIME ZONE 'UTC';
        part := 'audit_logs_' OPERATOR(pg_catalog.||) pg_catalog.to_char(first_day AT TIME ZONE 'UTC', 'YYYY_MM');
        CONTINUE WHEN pg_catalog.to_regclass('smarthub.' OPERATOR(pg_catalog.||) part) IS NOT NULL;
        lo := smarthub.uuid_v7_bound(first_day);
        hi := smarthub.uuid_v7_bound(first_day OPERATOR(pg_catalog.+) interval '1 month');
        IF EXISTS (SELECT FROM smarthub.audit_logs_default d
                    WHERE d.id OPERATOR(pg_catalog.>=) lo AND d.id OPERATOR(pg_catalog.<) hi) THEN
            RAISE DEBUG 'audit rows of % are in smarthub.audit_logs_default already: no partition for it', part;
            CONTINUE;
        END IF;
        EXECUTE pg_catalog.format('CREATE TABLE smarthub.%I PARTITION OF smarthub.audit_logs FOR VALUES FROM (%L) TO (%L)',
                                  part, lo, hi);
        -- also made by the DDL event trigger, for partitions made any other way
        EXECUTE pg_catalog.format('CREATE OR REPLACE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON smarthub.%I'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard()', part);
        EXECUTE pg_catalog.format('ALTER TABLE smarthub.%I ENABLE ALWAYS TRIGGER audit_logs_no_truncate', part);
        created := created OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN created;
END
$$;

-- Audited by default. Sessions are not (one login = one session row; enable_audit turns it on).
SELECT smarthub.enable_audit('smarthub.users', '{password_hash}', '{updated_at,last_login_at}');
SELECT smarthub.enable_audit('smarthub.roles');
SELECT smarthub.enable_audit('smarthub.user_roles');
SELECT smarthub.enable_audit('smarthub.api_keys', '{key_hash}', '{updated_at,last_used_at}');
SELECT smarthub.enable_audit('smarthub.entities');

-- Keeps audit configurations in step with ALTER TABLE ... RENAME COLUMN / DROP COLUMN.
CREATE EVENT TRIGGER smarthub_audit_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER TYPE')
    EXECUTE FUNCTION smarthub.audit_ddl();

REVOKE ALL ON FUNCTION smarthub.audit_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_logs_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_ddl() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_trigger_arguments(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.enable_audit(regclass, text[], text[], text, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.disable_audit(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.purge_audit_logs(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.create_audit_partitions(integer) FROM PUBLIC;
REVOKE ALL ON smarthub.audit_logs_default FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.entity_history(text, uuid, integer) FROM PUBLIC;
REVOKE ALL ON smarthub.audited_tables FROM PUBLIC;

COMMENT ON FUNCTION smarthub.audit_trigger() IS 'AFTER row and TRUNCATE trigger writing JSONB before/after diffs to smarthub.audit_logs; configured by smarthub.enable_audit()';
COMMENT ON FUNCTION smarthub.audit_logs_guard() IS 'Keeps smarthub.audit_logs append-only (42501), except for purge_audit_logs and the user_id foreign key''s SET NULL, also when a logical replication subscription applies them';
COMMENT ON FUNCTION smarthub.audit_ddl() IS 'Event trigger: follows RENAME COLUMN and DROP COLUMN in audit trigger configurations';
COMMENT ON FUNCTION smarthub.audit_trigger_arguments(bytea) IS 'Splits pg_trigger.tgargs into a text array (for smarthub.audited_tables)';
COMMENT ON FUNCTION smarthub.enable_audit(regclass, text[], text[], text, name) IS 'Creates or replaces the audit triggers of a table (42809 not a table, 42703 no such column, 42804 id not uuid)';
COMMENT ON FUNCTION smarthub.disable_audit(regclass) IS 'Drops the audit triggers of a table (42704 when it is not audited)';
COMMENT ON FUNCTION smarthub.purge_audit_logs(interval) IS 'Deletes audit rows older than the interval, records one PURGE row, returns the count';
COMMENT ON FUNCTION smarthub.entity_history(text, uuid, integer) IS 'Audit trail of one entity, newest first, under the caller''s row-level security';
COMMENT ON VIEW smarthub.audited_tables IS 'Audited tables and their configuration (from the smarthub_audit triggers)';
COMMENT ON COLUMN smarthub.audited_tables.table_name IS 'The audited table';
COMMENT ON COLUMN smarthub.audited_tables.entity_type IS 'entity_type of its audit rows';
COMMENT ON COLUMN smarthub.audited_tables.id_column IS 'uuid column recorded as entity_id';
COMMENT ON COLUMN smarthub.audited_tables.excluded_columns IS 'Columns whose values never appear ("[redacted]")';
COMMENT ON COLUMN smarthub.audited_tables.ignored_columns IS 'Columns left out of UPDATE diffs';
COMMENT ON COLUMN smarthub.audited_tables.enabled IS 'False when the smarthub_audit trigger is disabled';
COMMENT ON TRIGGER audit_logs_append_only ON smarthub.audit_logs IS 'Refuses UPDATE and DELETE on the audit log (42501)';
COMMENT ON TRIGGER audit_logs_no_truncate ON smarthub.audit_logs IS 'Refuses TRUNCATE on the audit log (42501)';
COMMENT ON FUNCTION smarthub.create_audit_partitions(integer) IS 'Creates the audit log''s month partitions from this month to months_ahead on; returns how many';
COMMENT ON EVENT TRIGGER smarthub_audit_ddl IS 'Keeps audit configurations in step with column renames and drops';
