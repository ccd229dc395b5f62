-- smarthub upgrade from 1.0 to 1.1. Every change of 1.1 is made twice: here, for databases that
-- have 1.0, and in sql/install/, which builds the 1.1 install script. test/shell/080_upgrade.sh
-- proves the two agree.
\echo Use "ALTER EXTENSION smarthub UPDATE TO '1.1'" to load this file. \quit

-- Usernames: not empty, no blanks around them, no control characters (1.0 accepted '' and '  ',
-- and login('', password) then worked). Existing accounts that break the rule stop the upgrade
-- with a count and a hint, rather than being changed behind the DBA's back.
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO bad FROM smarthub.users
     WHERE NOT username OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$';
    IF bad OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION '% smarthub user(s) have an empty username, blanks around it, or control characters in it', bad
            USING ERRCODE = '23514',
                  HINT = 'Find them with SELECT id, username FROM smarthub.users WHERE username !~ ''^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$''; rename them, then run ALTER EXTENSION smarthub UPDATE again.';
    END IF;
END
$$;
ALTER TABLE smarthub.users ADD CONSTRAINT username_format
    CHECK (username OPERATOR(pg_catalog.~) '^[^[:space:][:cntrl:]]([^[:cntrl:]]*[^[:space:][:cntrl:]])?$');
COMMENT ON CONSTRAINT username_format ON smarthub.users IS
    'Not empty, no blanks at either end, no control characters';

-- A call is judged by the role that made it: the credential and account functions become
-- SECURITY INVOKER (their C code switches to the owner around its own queries only), so a role's
-- code that PostgreSQL runs as that role is never judged as smarthub's owner.
ALTER FUNCTION smarthub.set_password(uuid, text) SECURITY INVOKER;
ALTER FUNCTION smarthub.create_user(text, text, text, text, text, text[]) SECURITY INVOKER;
ALTER FUNCTION smarthub.create_api_key(uuid, text, timestamptz, text) SECURITY INVOKER;
ALTER FUNCTION smarthub.revoke_api_key(uuid) SECURITY INVOKER;
ALTER FUNCTION smarthub.create_session(uuid, interval, inet, text) SECURITY INVOKER;
ALTER FUNCTION smarthub.revoke_session(text) SECURITY INVOKER;
ALTER FUNCTION smarthub.revoke_user_sessions(uuid) SECURITY INVOKER;
ALTER FUNCTION smarthub.purge_expired_sessions() SECURITY INVOKER;
ALTER FUNCTION smarthub.login(text, text, inet, text, interval) SECURITY INVOKER;

-- The actor of an audit row, kept when the user is deleted (user_id's foreign key sets it NULL).
-- Rows written before 1.1 keep actor_id NULL: the log is append-only, even for an upgrade.
-- (The column comments come with the partitioned table below.)
ALTER TABLE smarthub.audit_logs ADD COLUMN actor_id uuid;

-- Redaction fails closed: the DDL event trigger follows renames made through a typed table's type
-- (ALTER TYPE ... RENAME ATTRIBUTE ... CASCADE), and touches only the tables a command changed; it
-- also refuses an inheritance child for an audited table (CREATE TABLE ... INHERITS).
DROP EVENT TRIGGER smarthub_audit_ddl;
CREATE EVENT TRIGGER smarthub_audit_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER TYPE')
    EXECUTE FUNCTION smarthub.audit_ddl();
COMMENT ON EVENT TRIGGER smarthub_audit_ddl IS 'Keeps audit configurations in step with column renames and drops';

-- Roles mean what the seed says: rights come from the roles an identity holds. viewer ("Read-only
-- access") no longer writes its own profile or entities; writing them takes the user role (or
-- moderator, admin); moderators no longer change admin accounts.
ALTER POLICY users_update ON smarthub.users
    USING ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('moderator')) AND NOT EXISTS (
                   SELECT FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id
                    WHERE ur.user_id OPERATOR(pg_catalog.=) users.id AND r.name OPERATOR(pg_catalog.=) 'admin'))
           OR ((SELECT smarthub.has_role('user')) AND id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())))
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('moderator')) AND NOT EXISTS (
                   SELECT FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id
                    WHERE ur.user_id OPERATOR(pg_catalog.=) users.id AND r.name OPERATOR(pg_catalog.=) 'admin'))
           OR ((SELECT smarthub.has_role('user')) AND id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));
ALTER POLICY entities_insert ON smarthub.entities
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('user') OR smarthub.has_role('moderator'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));
ALTER POLICY entities_update ON smarthub.entities
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR ((SELECT smarthub.has_role('user'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())))
    WITH CHECK ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR ((SELECT smarthub.has_role('user'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));
ALTER POLICY entities_delete ON smarthub.entities
    USING ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('user') OR smarthub.has_role('moderator'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));

-- A changed email is unverified unless an admin verifies it in the same change.
CREATE FUNCTION smarthub.unverify_changed_email() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NEW.email IS DISTINCT FROM OLD.email
       AND NOT (NEW.email_verified AND NEW.email_verified_at IS NOT NULL
                AND NEW.email_verified_at IS DISTINCT FROM OLD.email_verified_at) THEN
        NEW.email_verified := false;
        NEW.email_verified_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER unverify_changed_email BEFORE UPDATE OF email ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.unverify_changed_email();
REVOKE ALL ON FUNCTION smarthub.unverify_changed_email() FROM PUBLIC;
COMMENT ON FUNCTION smarthub.unverify_changed_email() IS 'BEFORE UPDATE OF email trigger: a changed email is unverified unless an admin verifies it in the same change';

-- Time-ordered audit ids: version-7 uuids from C (smarthub.uuid_v7(), also for users' own tables,
-- which grant_access now lets application roles call). entity_history's write order comes with
-- the partitioned table below, which re-creates it.
CREATE FUNCTION smarthub.uuid_v7() RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7';
CREATE FUNCTION smarthub.uuid_v7_time(id uuid) RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7_time';
COMMENT ON FUNCTION smarthub.uuid_v7() IS 'A new version-7 (time-ordered) uuid, increasing within a backend';
COMMENT ON FUNCTION smarthub.uuid_v7_time(uuid) IS 'The time (to the millisecond) of a version-7 uuid; NULL for other versions';
REVOKE ALL ON FUNCTION smarthub.uuid_v7() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.uuid_v7_time(uuid) FROM PUBLIC;
ALTER TABLE smarthub.audit_logs ALTER COLUMN id SET DEFAULT smarthub.uuid_v7();
CREATE OR REPLACE FUNCTION smarthub.grant_access(role regrole, trusted boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    fn pg_catalog.regprocedure;
BEGIN
    IF role IS NULL OR trusted IS NULL THEN
        RAISE EXCEPTION 'role and trusted must not be NULL' USING ERRCODE = '22004';
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA smarthub TO %s', role);

    -- Table privileges: what the policies can let through, never a hash column.
    EXECUTE pg_catalog.format('GRANT SELECT (id, email, username, first_name, last_name, avatar_url, is_active,'
        ' email_verified, email_verified_at, last_login_at, created_at, updated_at, deleted_at),'
        ' UPDATE (email, username, first_name, last_name, avatar_url, is_active, email_verified,'
        ' email_verified_at, deleted_at), INSERT, DELETE ON smarthub.users TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (id, name, description), UPDATE (name, description), DELETE'
        ' ON smarthub.roles TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (user_id, role_id, assigned_by),'
        ' UPDATE (user_id, role_id, assigned_by), DELETE ON smarthub.user_roles TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, name, description, last_used_at, expires_at, is_active,'
        ' created_at, updated_at), INSERT (id, user_id, key_hash, name, description, expires_at, is_active),'
        ' UPDATE (name, description, expires_at, is_active), DELETE ON smarthub.api_keys TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, ip_address, user_agent, expires_at, created_at, aal),'
        ' INSERT (id, user_id, token_hash, ip_address, user_agent, expires_at),'
        ' UPDATE (ip_address, user_agent, expires_at), DELETE ON smarthub.sessions TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, purpose, email, expires_at, created_at), DELETE'
        ' ON smarthub.one_time_tokens TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.audit_logs TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.audit_blocks TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.login_throttle TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT (id, entity_type, owner_id, name, data, deleted_at),'
        ' UPDATE (entity_type, owner_id, name, data, deleted_at), DELETE ON smarthub.entities TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.user_profiles, smarthub.active_api_keys,'
        ' smarthub.active_sessions TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, kind, issuer, account_label, confirmed_at, created_at)'
        ' ON smarthub.mfa_factors TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT (id, user_id, used_at, created_at) ON smarthub.recovery_codes TO %s', role);

    -- Functions, by name: every overload of each name that exists (other modules add theirs).
    FOR fn IN
        SELECT p.oid::pg_catalog.regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'smarthub'::pg_catalog.regnamespace
           AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY[
               'current_user_id', 'authenticate_key', 'authenticate_session', 'clear_current_user',
               'has_role', 'current_user_roles', 'set_request_context', 'verify_key', 'verify_session',
               'create_api_key', 'revoke_api_key', 'create_session', 'revoke_session',
               'revoke_user_sessions', 'set_password', 'create_user', 'login', 'hash_password',
               'verify_password', 'password_needs_rehash', 'entity_history', 'encrypt', 'decrypt',
               'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id', 'uuid_v7',
               'uuid_v7_time', 'audit_verify', 'verify_jwt', 'authenticate_jwt', 'issue_jwt', 'jwks', 'unlock_login',
               'create_email_verification', 'verify_email', 'request_password_reset', 'reset_password',
               'create_magic_link', 'login_with_magic_link', 'totp_enroll', 'totp_confirm', 'totp_verify',
               'generate_recovery_codes', 'use_recovery_code', 'verify_session_mfa', 'current_aal']::pg_catalog.name[])
         ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, role);
    END LOOP;

    -- trusted => false also takes impersonation back from a role that had it.
    EXECUTE pg_catalog.format('%s EXECUTE ON FUNCTION smarthub.set_current_user(uuid) %s %s',
        CASE WHEN trusted THEN 'GRANT' ELSE 'REVOKE' END,
        CASE WHEN trusted THEN 'TO' ELSE 'FROM' END, role);
END
$$;

-- The append-only guard lets a logical replication subscription apply the two changes a primary
-- makes to existing audit rows (1.0 refused them, which stopped the subscription for good the
-- first time a user was deleted). The change is in the C function; its comment says so.
COMMENT ON FUNCTION smarthub.audit_logs_guard() IS 'Keeps smarthub.audit_logs append-only (42501), except for purge_audit_logs and the user_id foreign key''s SET NULL, also when a logical replication subscription applies them';

-- One request's changes: txid rises as rows are appended, so a BRIN index serves WHERE txid = ...
-- at a fraction of the B-tree's size and write cost.
DROP INDEX smarthub.idx_audit_logs_txid;
CREATE INDEX idx_audit_logs_txid ON smarthub.audit_logs USING brin (txid);

-- The audit log becomes a table partitioned by month of its version-7 ids (see sql/install). The
-- 1.0 table, every row kept, becomes its default partition: its random version-4 ids belong to no
-- month, and retention judges them by created_at, row by row, as before. Its indexes and foreign
-- key are renamed to what the partitioned table's would be called there, so that ATTACH adopts
-- them instead of building them again; its own trigger, policy, grants and comments give way to
-- the partitioned table's. The row type of entity_history changes with the table.
CREATE FUNCTION smarthub.uuid_v7_bound(at timestamptz) RETURNS uuid
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_uuid_v7_bound';
COMMENT ON FUNCTION smarthub.uuid_v7_bound(timestamptz) IS 'The smallest uuid of the millisecond at: every version-7 uuid made then or later sorts at or above it';
REVOKE ALL ON FUNCTION smarthub.uuid_v7_bound(timestamptz) FROM PUBLIC;
DO $convert$
DECLARE
    readers text[];
    callers text[];
    r text;
BEGIN
    SELECT coalesce(pg_catalog.array_agg(DISTINCT a.grantee::pg_catalog.regrole::pg_catalog.text), '{}') INTO readers
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
     WHERE c.oid OPERATOR(pg_catalog.=) 'smarthub.audit_logs'::pg_catalog.regclass
       AND a.grantee OPERATOR(pg_catalog.<>) c.relowner AND a.grantee OPERATOR(pg_catalog.<>) 0;
    SELECT coalesce(pg_catalog.array_agg(DISTINCT a.grantee::pg_catalog.regrole::pg_catalog.text), '{}') INTO callers
      FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
     WHERE p.oid OPERATOR(pg_catalog.=) 'smarthub.entity_history(text, uuid, integer)'::pg_catalog.regprocedure
       AND a.grantee OPERATOR(pg_catalog.<>) p.proowner AND a.grantee OPERATOR(pg_catalog.<>) 0;
    FOREACH r IN ARRAY readers LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON smarthub.audit_logs FROM %s', r);
    END LOOP;
    DROP FUNCTION smarthub.entity_history(text, uuid, integer);
    ALTER TABLE smarthub.audit_logs RENAME TO audit_logs_default;
    ALTER INDEX smarthub.audit_logs_pkey RENAME TO audit_logs_default_pkey;
    ALTER INDEX smarthub.idx_audit_logs_user_id RENAME TO audit_logs_default_user_id_idx;
    ALTER INDEX smarthub.idx_audit_logs_entity RENAME TO audit_logs_default_entity_type_entity_id_idx;
    ALTER INDEX smarthub.idx_audit_logs_created_at RENAME TO audit_logs_default_created_at_idx;
    ALTER INDEX smarthub.idx_audit_logs_txid RENAME TO audit_logs_default_txid_idx;
    ALTER INDEX smarthub.idx_audit_logs_db_role RENAME TO audit_logs_default_db_role_created_at_idx;
    DROP POLICY audit_logs_select ON smarthub.audit_logs_default;
    ALTER TABLE smarthub.audit_logs_default DISABLE ROW LEVEL SECURITY;
    DROP TRIGGER audit_logs_append_only ON smarthub.audit_logs_default;
    COMMENT ON TRIGGER audit_logs_no_truncate ON smarthub.audit_logs_default IS NULL;
    FOR r IN SELECT a.attname FROM pg_catalog.pg_attribute a
              WHERE a.attrelid OPERATOR(pg_catalog.=) 'smarthub.audit_logs_default'::pg_catalog.regclass
                AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN smarthub.audit_logs_default.%I IS NULL', r);
    END LOOP;
    REVOKE ALL ON smarthub.audit_logs_default FROM PUBLIC;

    EXECUTE $ddl$
CREATE TABLE smarthub.audit_logs (
    -- constraints named as a fresh install names them: the 1.0 table, renamed, still holds those
    -- names (PostgreSQL 18 names NOT NULL constraints too), and would push ours to "..._1"
    id          uuid         CONSTRAINT audit_logs_id_not_null NOT NULL DEFAULT smarthub.uuid_v7(),
    user_id     uuid         CONSTRAINT audit_logs_user_id_fkey REFERENCES smarthub.users (id) ON DELETE SET NULL,
    entity_type varchar(100) CONSTRAINT audit_logs_entity_type_not_null NOT NULL,
    entity_id   uuid         CONSTRAINT audit_logs_entity_id_not_null NOT NULL,
    action      varchar(50)  CONSTRAINT audit_logs_action_not_null NOT NULL,
    changes     jsonb,
    ip_address  inet,
    user_agent  text,
    created_at  timestamptz  CONSTRAINT audit_logs_created_at_not_null NOT NULL DEFAULT pg_catalog.now(),
    db_role     text         CONSTRAINT audit_logs_db_role_not_null NOT NULL DEFAULT SESSION_USER,
    txid        bigint       CONSTRAINT audit_logs_txid_not_null NOT NULL DEFAULT pg_catalog.txid_current(),
    -- who acted, kept when that user is deleted (user_id is then set NULL); NULL before 1.1
    actor_id    uuid,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id)
) PARTITION BY RANGE (id);
    $ddl$;
    ALTER TABLE smarthub.audit_logs ATTACH PARTITION smarthub.audit_logs_default DEFAULT;
    CREATE INDEX idx_audit_logs_user_id ON smarthub.audit_logs (user_id);
    CREATE INDEX idx_audit_logs_entity ON smarthub.audit_logs (entity_type, entity_id);
    CREATE INDEX idx_audit_logs_created_at ON smarthub.audit_logs (created_at DESC);
    CREATE INDEX idx_audit_logs_txid ON smarthub.audit_logs USING brin (txid);
    CREATE INDEX idx_audit_logs_db_role ON smarthub.audit_logs (db_role, created_at DESC);
    CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON smarthub.audit_logs
        FOR EACH ROW EXECUTE FUNCTION smarthub.audit_logs_guard();
    CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON smarthub.audit_logs
        FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_logs_guard();
    ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_append_only;
    ALTER TABLE smarthub.audit_logs ENABLE ALWAYS TRIGGER audit_logs_no_truncate;
    ALTER TABLE smarthub.audit_logs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY audit_logs_select ON smarthub.audit_logs FOR SELECT
        USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                        OR smarthub.has_role('viewer'))
               OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
    FOREACH r IN ARRAY readers LOOP
        EXECUTE pg_catalog.format('GRANT SELECT ON smarthub.audit_logs TO %s', r);
    END LOOP;
    EXECUTE $ddl$
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
    $ddl$;
    REVOKE ALL ON FUNCTION smarthub.entity_history(text, uuid, integer) FROM PUBLIC;
    FOREACH r IN ARRAY callers LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION smarthub.entity_history(text, uuid, integer) TO %s', r);
    END LOOP;
END
$convert$;
COMMENT ON TABLE smarthub.audit_logs IS 'Append-only audit trail of changes to audited tables';
COMMENT ON TABLE smarthub.audit_logs_default IS 'Audit rows outside every month partition (and those written before 1.1)';
COMMENT ON COLUMN smarthub.audit_logs.id IS 'Primary key: a version-7 uuid, in write order within a backend (random version-4 uuids before 1.1)';
COMMENT ON COLUMN smarthub.audit_logs.user_id IS 'Application user who acted; NULL when unknown or deleted';
COMMENT ON COLUMN smarthub.audit_logs.entity_type IS 'Kind of entity changed (by default the table name)';
COMMENT ON COLUMN smarthub.audit_logs.entity_id IS 'Id of the entity changed';
COMMENT ON COLUMN smarthub.audit_logs.action IS 'CREATE, UPDATE, DELETE, TRUNCATE, LOGIN, LOGIN_FAILED, IMPERSONATE or PURGE';
COMMENT ON COLUMN smarthub.audit_logs.changes IS 'JSONB {"before": ..., "after": ...}; secrets redacted';
COMMENT ON COLUMN smarthub.audit_logs.ip_address IS 'Client address of the request';
COMMENT ON COLUMN smarthub.audit_logs.user_agent IS 'Client user agent of the request';
COMMENT ON COLUMN smarthub.audit_logs.created_at IS 'Time of the change (transaction start)';
COMMENT ON COLUMN smarthub.audit_logs.db_role IS 'Database session user that made the change (the code''s role inside ANALYZE, REINDEX and other operations run on another role''s behalf)';
COMMENT ON COLUMN smarthub.audit_logs.actor_id IS 'Application user who acted, kept when that user is deleted; NULL when unknown, and in rows written before 1.1';
COMMENT ON COLUMN smarthub.audit_logs.txid IS 'Transaction id: groups the changes of one request';
COMMENT ON TRIGGER audit_logs_append_only ON smarthub.audit_logs IS 'Refuses UPDATE and DELETE on the audit log (42501)';
COMMENT ON TRIGGER audit_logs_no_truncate ON smarthub.audit_logs IS 'Refuses TRUNCATE on the audit log (42501)';
COMMENT ON FUNCTION smarthub.entity_history(text, uuid, integer) IS 'Audit trail of one entity, newest first, under the caller''s row-level security';
COMMENT ON TABLE smarthub.audit_logs_default IS 'Audit rows outside every month partition (and those written before 1.1)';
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
REVOKE ALL ON FUNCTION smarthub.create_audit_partitions(integer) FROM PUBLIC;
COMMENT ON FUNCTION smarthub.create_audit_partitions(integer) IS 'Creates the audit log''s month partitions from this month to months_ahead on; returns how many';

-- table_sizes counts the audit log with its partitions.
CREATE OR REPLACE VIEW smarthub.table_sizes AS
    SELECT c.relname::text                                                 AS table_name,
           t.rows::bigint                                                  AS rows_estimate,
           pg_catalog.pg_size_pretty(t.bytes)                              AS total_size
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     -- a partitioned table (the audit log) counts its partitions
     CROSS JOIN LATERAL (SELECT pg_catalog.sum(GREATEST(p.reltuples, 0)) AS rows,
                                pg_catalog.sum(pg_catalog.pg_total_relation_size(p.oid)) AS bytes
                           FROM pg_catalog.pg_partition_tree(c.oid) pt
                           JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) pt.relid) t
     WHERE n.nspname OPERATOR(pg_catalog.=) 'smarthub'
       AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}') AND NOT c.relispartition
     ORDER BY t.bytes DESC, c.relname;

-- The verifiable audit log: sealed, hash-chained blocks (see sql/install/45_audit_chain.sql).
-- STABLE, not IMMUTABLE: a restored copy of the database runs on another cluster.
CREATE FUNCTION smarthub.audit_origin() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_origin';

-- txids restart in another cluster (a restore elsewhere): with origin, a row's txid says which
-- block it belongs to. A constant default for the rows already there (1.0's included): no rewrite.
ALTER TABLE smarthub.audit_logs
    ADD COLUMN origin bigint NOT NULL DEFAULT smarthub.audit_origin();

CREATE TABLE smarthub.audit_blocks (
    block_no       bigint      NOT NULL,
    epoch          bigint      NOT NULL,
    kind           text        NOT NULL,
    origin         bigint,
    txid_lo        bigint,
    txid_hi        bigint,
    first_id       uuid,
    last_id        uuid,
    row_count      bigint      NOT NULL,
    newest_at      timestamptz,
    pruned_through bigint,
    sealed_by      bigint      NOT NULL,
    sealed_at      timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    block_hash     bytea       NOT NULL,
    CONSTRAINT audit_blocks_pkey PRIMARY KEY (block_no),
    CONSTRAINT audit_blocks_kind CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['seal', 'purge']))
);

CREATE FUNCTION smarthub.audit_blocks_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_blocks_guard';

CREATE TRIGGER audit_blocks_append_only BEFORE UPDATE OR DELETE ON smarthub.audit_blocks
    FOR EACH ROW EXECUTE FUNCTION smarthub.audit_blocks_guard();
CREATE TRIGGER audit_blocks_no_truncate BEFORE TRUNCATE ON smarthub.audit_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_blocks_guard();
ALTER TABLE smarthub.audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_append_only;
ALTER TABLE smarthub.audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_no_truncate;

-- Readable by admin identities (and the DBA); written only by sealing, as the owner.
ALTER TABLE smarthub.audit_blocks ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_blocks_select ON smarthub.audit_blocks FOR SELECT
    USING ((SELECT smarthub.has_role('admin')));

SELECT pg_catalog.pg_extension_config_dump('smarthub.audit_blocks', '');

CREATE FUNCTION smarthub.audit_seal() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_seal';

CREATE FUNCTION smarthub.audit_checkpoint() RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_checkpoint';

CREATE FUNCTION smarthub.audit_signing_key() RETURNS text
    LANGUAGE c STABLE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_signing_key';

-- One row; a set-returning function because the interface is RETURNS TABLE.
CREATE FUNCTION smarthub.audit_verify(anchor jsonb DEFAULT NULL)
    RETURNS TABLE(ok boolean, blocks bigint, rows bigint, first_bad_block bigint, reason text)
    LANGUAGE c STABLE PARALLEL UNSAFE ROWS 1
    AS 'MODULE_PATHNAME', 'smarthub_audit_verify';

REVOKE ALL ON FUNCTION smarthub.audit_origin() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_blocks_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_seal() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_checkpoint() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_signing_key() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_verify(jsonb) FROM PUBLIC;
REVOKE ALL ON smarthub.audit_blocks FROM PUBLIC;

COMMENT ON FUNCTION smarthub.audit_origin() IS 'This cluster''s system identifier: the origin of the audit rows it writes';
COMMENT ON COLUMN smarthub.audit_logs.origin IS 'System identifier of the cluster that wrote the row: with txid, places it in a sealed block';
COMMENT ON TABLE smarthub.audit_blocks IS 'Append-only hash chain of sealed audit blocks (docs/audit-chain.md)';
COMMENT ON COLUMN smarthub.audit_blocks.block_no IS 'Position in the chain, from 1';
COMMENT ON COLUMN smarthub.audit_blocks.epoch IS 'Run of blocks sealed on one cluster; a restore elsewhere starts the next';
COMMENT ON COLUMN smarthub.audit_blocks.kind IS 'seal (rows) or purge (records that purge_audit_logs removed the rows of blocks up to pruned_through)';
COMMENT ON COLUMN smarthub.audit_blocks.origin IS 'seal: the origin of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.txid_lo IS 'seal: its rows are those of the origin with txid_lo <= txid < txid_hi';
COMMENT ON COLUMN smarthub.audit_blocks.txid_hi IS 'seal: end of its transactions (exclusive)';
COMMENT ON COLUMN smarthub.audit_blocks.first_id IS 'seal: least id of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.last_id IS 'seal: greatest id of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.row_count IS 'seal: its rows; purge: the rows removed';
COMMENT ON COLUMN smarthub.audit_blocks.newest_at IS 'seal: greatest created_at of its rows (retention removes a block when it is older than the cutoff)';
COMMENT ON COLUMN smarthub.audit_blocks.pruned_through IS 'purge: the rows of blocks 1 to this one were removed';
COMMENT ON COLUMN smarthub.audit_blocks.sealed_by IS 'System identifier of the cluster that sealed it';
COMMENT ON COLUMN smarthub.audit_blocks.sealed_at IS 'When it was sealed';
COMMENT ON COLUMN smarthub.audit_blocks.prev_hash IS 'The previous block''s block_hash (32 zero bytes for block 1)';
COMMENT ON COLUMN smarthub.audit_blocks.block_hash IS 'SHA-256 of its other columns and its rows'' digests (docs/audit-chain.md)';
COMMENT ON TRIGGER audit_blocks_append_only ON smarthub.audit_blocks IS 'Refuses UPDATE and DELETE on the audit chain (42501)';
COMMENT ON TRIGGER audit_blocks_no_truncate ON smarthub.audit_blocks IS 'Refuses TRUNCATE on the audit chain (42501)';
COMMENT ON FUNCTION smarthub.audit_blocks_guard() IS 'Keeps smarthub.audit_blocks append-only (42501) for every role';
COMMENT ON FUNCTION smarthub.audit_seal() IS 'Seals the audit rows of every finished transaction into the next block; returns how many rows';
COMMENT ON FUNCTION smarthub.audit_checkpoint() IS 'The chain''s head (block, hash, rows, time), signed with the keyring''s ed25519 key when there is one';
COMMENT ON FUNCTION smarthub.audit_signing_key() IS 'The public key (PEM) that verifies audit checkpoints; NULL without a signing key';
COMMENT ON FUNCTION smarthub.audit_verify(jsonb) IS 'Recomputes every block of the audit chain and checks it still holds the anchor (a checkpoint)';

-- The rows 1.0 wrote are sealed at once, in a first block (an upgrade run in a REPEATABLE READ
-- transaction leaves them to the first seal after it).
DO $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed' THEN
        PERFORM smarthub.audit_seal();
    END IF;
END
$$;

-- Login throttling: the same as sql/install/35_login_throttle.sql.
CREATE TABLE smarthub.login_throttle (
    scope        text        NOT NULL,
    subject      text        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT pg_catalog.now(),
    locked_until timestamptz,
    lockouts     integer     NOT NULL DEFAULT 0,
    CONSTRAINT login_throttle_pkey PRIMARY KEY (scope, subject),
    CONSTRAINT login_throttle_scope CHECK (scope OPERATOR(pg_catalog.=) ANY (ARRAY['account', 'address']))
);

-- Admin identities (and the DBA) see who is locked; nobody else sees anything.
ALTER TABLE smarthub.login_throttle ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_throttle_select ON smarthub.login_throttle FOR SELECT
    USING ((SELECT smarthub.has_role('admin')));

SELECT pg_catalog.pg_extension_config_dump('smarthub.login_throttle', '');

CREATE FUNCTION smarthub.unlock_login(login text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_unlock_login';

REVOKE ALL ON smarthub.login_throttle FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.unlock_login(text) FROM PUBLIC;

COMMENT ON TABLE smarthub.login_throttle IS 'Login attempts counted per account and per client address, and their lockouts (README: Login throttling)';
COMMENT ON COLUMN smarthub.login_throttle.scope IS 'account (subject: the user id, or login: and the login lowercased when no account has it) or address (subject: the ip_address given to login)';
COMMENT ON COLUMN smarthub.login_throttle.subject IS 'What is counted: a user id, a login no account has, or an address';
COMMENT ON COLUMN smarthub.login_throttle.attempts IS 'Attempts since window_start (a successful login clears its account''s)';
COMMENT ON COLUMN smarthub.login_throttle.window_start IS 'Start of the window the attempts are counted in';
COMMENT ON COLUMN smarthub.login_throttle.locked_until IS 'Attempts are refused until then';
COMMENT ON COLUMN smarthub.login_throttle.lockouts IS 'Lockouts in a row, each within a window of the last: each doubles the next (up to 16 times smarthub.login_lockout)';
COMMENT ON POLICY login_throttle_select ON smarthub.login_throttle IS 'Admin identities read every row';
COMMENT ON FUNCTION smarthub.unlock_login(text) IS 'Clears an account''s failed attempts and lock; true if it was locked (admin identities and trusted roles only, 42501 otherwise; audited)';

-- has_role's cache lasts across transactions: the roles tables tell every backend of a change.
-- Every backend caches the roles of its identity (src/identity.c); a committed change to who
-- holds which role, or to a role's name, makes each drop that cache.
CREATE FUNCTION smarthub.roles_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_roles_changed';
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smarthub.user_roles
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.roles_changed();
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smarthub.roles
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.roles_changed();
ALTER TABLE smarthub.user_roles ENABLE ALWAYS TRIGGER roles_changed;
ALTER TABLE smarthub.roles ENABLE ALWAYS TRIGGER roles_changed;
REVOKE ALL ON FUNCTION smarthub.roles_changed() FROM PUBLIC;
COMMENT ON FUNCTION smarthub.roles_changed() IS 'Trigger of user_roles and roles: every backend drops its cached roles after the change commits';
COMMENT ON TRIGGER roles_changed ON smarthub.user_roles IS 'Every backend drops its cached roles after the change commits';
COMMENT ON TRIGGER roles_changed ON smarthub.roles IS 'Every backend drops its cached roles after the change commits';
COMMENT ON FUNCTION smarthub.has_role(text) IS 'Whether the identity holds the named role (false without identity); cached until the roles change';

-- Federated identity: JWTs verified and issued in C (src/jwt.c). The same as sql/install/60_jwt.sql.
-------------------------------------------------------------------------------------------------
-- Federated identity: JSON Web Tokens verified and issued in C (src/jwt.c; docs/jwt.md)
--
-- Which issuers are trusted, with which public keys, is the DBA's: smarthub.jwt_issuers and
-- smarthub.user_identities are granted to nobody. HMAC secrets and smarthub's own signing keys
-- are never in a table: they are lines of the keyring file (smarthub.keyring_file).
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.jwt_issuers (
    issuer           text        NOT NULL,
    audiences        text[],
    user_claim       text        NOT NULL DEFAULT 'sub',
    claim_is_user_id boolean     NOT NULL DEFAULT false,
    algorithms       text[]      NOT NULL DEFAULT ARRAY['RS256', 'ES256', 'EdDSA'],
    leeway           interval    NOT NULL DEFAULT '30 seconds',
    require_exp      boolean     NOT NULL DEFAULT true,
    require_sid      boolean     NOT NULL DEFAULT false,
    jwks             jsonb       NOT NULL DEFAULT '{"keys": []}',
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT jwt_issuers_pkey PRIMARY KEY (issuer),
    CONSTRAINT jwt_issuers_issuer CHECK (issuer OPERATOR(pg_catalog.<>) ''),
    CONSTRAINT jwt_issuers_algorithms CHECK (
        pg_catalog.cardinality(algorithms) OPERATOR(pg_catalog.>) 0
        AND algorithms OPERATOR(pg_catalog.<@) ARRAY['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512',
            'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA']),
    CONSTRAINT jwt_issuers_leeway CHECK (leeway OPERATOR(pg_catalog.>=) '0'::interval
        AND leeway OPERATOR(pg_catalog.<=) '1 hour'::interval),
    CONSTRAINT jwt_issuers_user_claim CHECK (user_claim OPERATOR(pg_catalog.<>) '')
);

CREATE TABLE smarthub.user_identities (
    issuer     text        NOT NULL REFERENCES smarthub.jwt_issuers (issuer) ON UPDATE CASCADE ON DELETE CASCADE,
    subject    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_identities_pkey PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_id_idx ON smarthub.user_identities (user_id);

-- Row-level security like every table of the schema: no policy, so a role granted anything on them
-- by mistake still reads nothing (smarthub reads them as their owner).
ALTER TABLE smarthub.jwt_issuers ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.user_identities ENABLE ROW LEVEL SECURITY;

-- Validates each row's keys (22023) and tells every backend to re-read the issuers at commit.
CREATE FUNCTION smarthub.jwt_issuers_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_jwt_issuers_changed';

CREATE TRIGGER jwt_issuers_changed BEFORE INSERT OR UPDATE OR DELETE ON smarthub.jwt_issuers
    FOR EACH ROW EXECUTE FUNCTION smarthub.jwt_issuers_changed();
CREATE TRIGGER jwt_issuers_truncated BEFORE TRUNCATE ON smarthub.jwt_issuers
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.jwt_issuers_changed();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON smarthub.jwt_issuers
    FOR EACH ROW EXECUTE FUNCTION smarthub.set_updated_at();
ALTER TABLE smarthub.jwt_issuers ENABLE ALWAYS TRIGGER jwt_issuers_changed;
ALTER TABLE smarthub.jwt_issuers ENABLE ALWAYS TRIGGER jwt_issuers_truncated;

SELECT pg_catalog.pg_extension_config_dump('smarthub.jwt_issuers', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.user_identities', '');

-- VOLATILE: the keys can change on reload and on any commit to jwt_issuers; the time moves.
CREATE FUNCTION smarthub.verify_jwt(token text, audience text DEFAULT NULL) RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_verify_jwt';

CREATE FUNCTION smarthub.authenticate_jwt(token text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_jwt';

CREATE FUNCTION smarthub.issue_jwt(session_token text, ttl interval DEFAULT '15 minutes',
                                   audience text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_issue_jwt';

CREATE FUNCTION smarthub.jwks() RETURNS jsonb
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_jwks';

REVOKE ALL ON smarthub.jwt_issuers, smarthub.user_identities FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.jwt_issuers_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_jwt(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_jwt(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.issue_jwt(text, interval, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.jwks() FROM PUBLIC;

COMMENT ON TABLE smarthub.jwt_issuers IS 'Identity providers whose JWTs smarthub accepts, with their public keys (the DBA''s; docs/jwt.md)';
COMMENT ON COLUMN smarthub.jwt_issuers.issuer IS 'The iss claim, exactly';
COMMENT ON COLUMN smarthub.jwt_issuers.audiences IS 'A token''s aud must name one of these; NULL: aud is not checked';
COMMENT ON COLUMN smarthub.jwt_issuers.user_claim IS 'The claim naming the user (a string)';
COMMENT ON COLUMN smarthub.jwt_issuers.claim_is_user_id IS 'true: the user claim is a smarthub user id; false: it is a subject mapped by user_identities';
COMMENT ON COLUMN smarthub.jwt_issuers.algorithms IS 'The alg values accepted; any other (none included) fails';
COMMENT ON COLUMN smarthub.jwt_issuers.leeway IS 'Clock skew allowed on exp and nbf (0 to 1 hour)';
COMMENT ON COLUMN smarthub.jwt_issuers.require_exp IS 'Whether a token without exp fails';
COMMENT ON COLUMN smarthub.jwt_issuers.require_sid IS 'Whether authenticate_jwt needs a sid claim naming a live smarthub session of the user';
COMMENT ON COLUMN smarthub.jwt_issuers.jwks IS 'The issuer''s public keys, a JWK Set ({"keys": [...]}: RSA, EC P-256/P-384, OKP Ed25519); replace it whole to rotate';
COMMENT ON COLUMN smarthub.jwt_issuers.created_at IS 'When the issuer was added';
COMMENT ON COLUMN smarthub.jwt_issuers.updated_at IS 'When the row last changed (set_updated_at)';
COMMENT ON COLUMN smarthub.user_identities.issuer IS 'The issuer (jwt_issuers.issuer) that vouches for the subject';
COMMENT ON COLUMN smarthub.user_identities.subject IS 'The issuer''s user claim (sub unless the issuer says otherwise), exactly';
COMMENT ON COLUMN smarthub.user_identities.user_id IS 'The smarthub user that subject is';
COMMENT ON COLUMN smarthub.user_identities.created_at IS 'When the mapping was added';
COMMENT ON TABLE smarthub.user_identities IS 'External subjects (issuer, sub) mapped to smarthub users';
COMMENT ON TRIGGER jwt_issuers_changed ON smarthub.jwt_issuers IS 'Refuses unusable keys (22023); every backend re-reads the issuers after the change commits';
COMMENT ON TRIGGER jwt_issuers_truncated ON smarthub.jwt_issuers IS 'Every backend forgets the issuers after a TRUNCATE commits';
COMMENT ON FUNCTION smarthub.jwt_issuers_changed() IS 'Trigger of smarthub.jwt_issuers: validates jwks (22023) and invalidates the cached keys';
COMMENT ON FUNCTION smarthub.verify_jwt(text, text) IS 'The claims of a valid JWT from a trusted issuer (or smarthub itself), else NULL; never raises';
COMMENT ON FUNCTION smarthub.authenticate_jwt(text) IS 'Verifies a JWT and maps its subject: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.issue_jwt(text, interval, text) IS 'A JWT for a live session, signed with smarthub''s current key (NULL for a dead session; 55000 without a signing key; 22023 for a bad ttl)';
COMMENT ON FUNCTION smarthub.jwks() IS 'smarthub''s public signing keys as a JWK Set, for other services';

-- One-time tokens (src/onetime.c): the same as sql/install/55_onetime.sql; the audit log's actions
-- gain PASSWORD_RESET.
COMMENT ON COLUMN smarthub.audit_logs.action IS 'CREATE, UPDATE, DELETE, TRUNCATE, LOGIN, LOGIN_FAILED, LOGIN_LOCKED, LOGIN_UNLOCKED, IMPERSONATE, PASSWORD_RESET or PURGE';
-------------------------------------------------------------------------------------------------
-- One-time tokens: email verification, password reset, magic links (src/onetime.c)
--
-- Made and redeemed only by the functions below, which run their own queries as the extension
-- owner: application roles read the rows of their identity (never token_hash) and may delete
-- them, nothing else.
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.one_time_tokens (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    token_hash varchar(64) NOT NULL,
    email      text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT one_time_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT token_length CHECK (token_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
    CONSTRAINT one_time_tokens_purpose CHECK (purpose OPERATOR(pg_catalog.=) ANY
        (ARRAY['email_verification', 'password_reset', 'magic_link'])),
    -- a verification token names the address it verifies; the others name none
    CONSTRAINT one_time_tokens_email CHECK ((purpose OPERATOR(pg_catalog.=) 'email_verification') OPERATOR(pg_catalog.=) (email IS NOT NULL))
);
-- A user's tokens: voided on a password or email change, expired ones purged with the next one.
CREATE INDEX idx_one_time_tokens_user_id ON smarthub.one_time_tokens (user_id);

SELECT pg_catalog.pg_extension_config_dump('smarthub.one_time_tokens', '');

CREATE FUNCTION smarthub.create_email_verification(user_id uuid) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_email_verification';

CREATE FUNCTION smarthub.verify_email(token text) RETURNS uuid
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_verify_email';

CREATE FUNCTION smarthub.request_password_reset(login text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_request_password_reset';

-- COST: a live token costs a bcrypt computation.
CREATE FUNCTION smarthub.reset_password(token text, new_password text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_reset_password';

CREATE FUNCTION smarthub.create_magic_link(login text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_magic_link';

CREATE FUNCTION smarthub.login_with_magic_link(token text, ip_address inet DEFAULT NULL,
                                               user_agent text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_login_with_magic_link';

-- Every token was mailed to the address the user had: a new address voids them all. Not SECURITY
-- DEFINER: the C code runs its one (qualified) DELETE as the extension owner, so that whoever may
-- change the address voids its tokens without any right on the table.
CREATE FUNCTION smarthub.void_one_time_tokens() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_void_one_time_tokens';
CREATE TRIGGER void_one_time_tokens AFTER UPDATE OF email ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.void_one_time_tokens();

-- Read and delete own (cancel a link); admin reads and deletes all. No INSERT or UPDATE policy:
-- tokens are made and redeemed only by the functions above.
ALTER TABLE smarthub.one_time_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY one_time_tokens_select ON smarthub.one_time_tokens FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY one_time_tokens_delete ON smarthub.one_time_tokens FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

REVOKE ALL ON smarthub.one_time_tokens FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.create_email_verification(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_email(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.request_password_reset(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.reset_password(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.create_magic_link(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.login_with_magic_link(text, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.void_one_time_tokens() FROM PUBLIC;

COMMENT ON TABLE smarthub.one_time_tokens IS 'Email verification, password reset and magic link tokens; only the SHA-256 of each is stored';
COMMENT ON COLUMN smarthub.one_time_tokens.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.one_time_tokens.user_id IS 'The user the token is for (deleted with the user)';
COMMENT ON COLUMN smarthub.one_time_tokens.purpose IS 'email_verification (shv_), password_reset (shr_) or magic_link (shm_)';
COMMENT ON COLUMN smarthub.one_time_tokens.token_hash IS 'Lowercase hex SHA-256 of the whole token; never readable by application roles';
COMMENT ON COLUMN smarthub.one_time_tokens.email IS 'email_verification: the address it verifies (void once the user''s email is another); NULL otherwise';
COMMENT ON COLUMN smarthub.one_time_tokens.expires_at IS 'Expiry time (creation + smarthub.email_verification_ttl, password_reset_ttl or magic_link_ttl)';
COMMENT ON COLUMN smarthub.one_time_tokens.created_at IS 'Creation time';
COMMENT ON FUNCTION smarthub.create_email_verification(uuid) IS
    'A token (shv_...) that verifies the user''s current email, valid for smarthub.email_verification_ttl; returned once';
COMMENT ON FUNCTION smarthub.verify_email(text) IS
    'Redeems a verification token once: sets email_verified and email_verified_at, returns the user; NULL for any bad token';
COMMENT ON FUNCTION smarthub.request_password_reset(text) IS
    'A reset token (shr_...) for the active user an email or username names, or NULL after the same work';
COMMENT ON FUNCTION smarthub.reset_password(text, text) IS
    'Redeems a reset token once: new password, all sessions and reset links revoked, audited; NULL for any bad token, 22023 for a bad password';
COMMENT ON FUNCTION smarthub.create_magic_link(text) IS
    'A magic link token (shm_...) for the active user an email or username names, or NULL after the same work';
COMMENT ON FUNCTION smarthub.login_with_magic_link(text, inet, text) IS
    'Redeems a magic link token once: a new session token, as login gives; NULL for any bad token; audited';
COMMENT ON FUNCTION smarthub.void_one_time_tokens() IS
    'AFTER UPDATE OF email trigger of users: a changed email deletes the user''s one-time tokens';
COMMENT ON TRIGGER void_one_time_tokens ON smarthub.users IS 'A changed email deletes the user''s one-time tokens';

-- Sessions carry an assurance level (aal1 at login, aal2 after verify_session_mfa): existing
-- sessions are aal1. active_sessions shows it, as it shows every column but token_hash.
ALTER TABLE smarthub.sessions ADD COLUMN aal text NOT NULL DEFAULT 'aal1'
    CONSTRAINT sessions_aal CHECK (aal OPERATOR(pg_catalog.=) ANY (ARRAY['aal1', 'aal2']));
COMMENT ON COLUMN smarthub.sessions.aal IS 'Authenticator assurance level: aal1 at login, aal2 after verify_session_mfa';
CREATE OR REPLACE VIEW smarthub.active_sessions WITH (security_invoker = true) AS
    SELECT s.id, s.user_id, s.ip_address, s.user_agent, s.expires_at, s.created_at, s.aal
      FROM smarthub.sessions s
     WHERE s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()
     ORDER BY s.created_at DESC, s.id;

-- Second factor: TOTP and recovery codes (src/mfa.c). The same as sql/install/56_mfa.sql.

-------------------------------------------------------------------------------------------------
-- Second factor (src/mfa.c): TOTP authenticators (RFC 6238) and recovery codes. A TOTP secret is
-- stored only as an AES-256-GCM envelope of the keyring (its context names the factor), a
-- recovery code only as SHA-256; application roles read neither column. Sessions carry the
-- assurance level (sessions.aal) that verify_session_mfa raises and current_aal reads.
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.mfa_factors (
    id            uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    kind          text        NOT NULL DEFAULT 'totp',
    secret        bytea       NOT NULL,
    issuer        text,
    account_label text,
    confirmed_at  timestamptz,
    last_step     bigint,
    failures      integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT mfa_factors_pkey PRIMARY KEY (id),
    CONSTRAINT mfa_factors_kind CHECK (kind OPERATOR(pg_catalog.=) 'totp'),
    CONSTRAINT mfa_factors_failures CHECK (failures OPERATOR(pg_catalog.>=) 0)
);
CREATE INDEX idx_mfa_factors_user_id ON smarthub.mfa_factors (user_id);

CREATE TABLE smarthub.recovery_codes (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    code_hash  varchar(64) NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT recovery_codes_pkey PRIMARY KEY (id),
    -- serves use_recovery_code's look-up and the foreign key (user_id first)
    CONSTRAINT recovery_codes_user_id_code_hash_key UNIQUE (user_id, code_hash),
    CONSTRAINT recovery_code_hash CHECK (code_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$')
);

SELECT pg_catalog.pg_extension_config_dump('smarthub.mfa_factors', '');
SELECT pg_catalog.pg_extension_config_dump('smarthub.recovery_codes', '');

-- Enrolment, confirmation and removal of a factor are audited (the secret redacted; last_step and
-- failures are bookkeeping, but a lock shows as a change of locked_until); so are the recovery
-- codes a user is given, used and replaced (the hash redacted).
SELECT smarthub.enable_audit('smarthub.mfa_factors', '{secret}', '{last_step,failures}');
SELECT smarthub.enable_audit('smarthub.recovery_codes', '{code_hash}');

-- Not SECURITY DEFINER, as the credential functions (see sql/install/20_credentials.sql): the C
-- code judges the caller, then runs its own, fully qualified queries as the extension owner.
CREATE FUNCTION smarthub.totp_enroll(user_id uuid, issuer text, account_label text)
    RETURNS TABLE(factor_id uuid, secret text, otpauth_uri text)
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_enroll';

CREATE FUNCTION smarthub.totp_confirm(factor_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_confirm';

CREATE FUNCTION smarthub.totp_verify(user_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_totp_verify';

CREATE FUNCTION smarthub.generate_recovery_codes(user_id uuid, n integer DEFAULT 10) RETURNS SETOF text
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_generate_recovery_codes';

CREATE FUNCTION smarthub.use_recovery_code(user_id uuid, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_use_recovery_code';

CREATE FUNCTION smarthub.verify_session_mfa(token text, code text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_verify_session_mfa';

-- Read by policies on every request, like current_user_id: no SET clause (its one query is fully
-- qualified), PARALLEL RESTRICTED (the identity lives in the leader's memory), STABLE.
CREATE FUNCTION smarthub.current_aal() RETURNS text
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_aal';

-- A user sees that its factors and recovery codes exist (never a secret or hash: those columns
-- are not granted); admins see everyone's. Written only by the functions above, as the owner.
ALTER TABLE smarthub.mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.recovery_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY mfa_factors_select ON smarthub.mfa_factors FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY recovery_codes_select ON smarthub.recovery_codes FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

REVOKE ALL ON smarthub.mfa_factors, smarthub.recovery_codes FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_enroll(uuid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_confirm(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.totp_verify(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.generate_recovery_codes(uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.use_recovery_code(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_session_mfa(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.current_aal() FROM PUBLIC;

COMMENT ON TABLE smarthub.mfa_factors IS 'Second factors (TOTP authenticators) of users; the secret is encrypted under the keyring';
COMMENT ON COLUMN smarthub.mfa_factors.id IS 'Primary key (random uuid); the secret''s encryption context is ''smarthub.mfa_factors.secret:'' || id';
COMMENT ON COLUMN smarthub.mfa_factors.user_id IS 'The user whose factor it is (deleted with the user)';
COMMENT ON COLUMN smarthub.mfa_factors.kind IS 'totp (RFC 6238: HMAC-SHA1, 6 digits, 30 seconds)';
COMMENT ON COLUMN smarthub.mfa_factors.secret IS 'AES-256-GCM envelope of the 20-byte TOTP secret; never readable by application roles';
COMMENT ON COLUMN smarthub.mfa_factors.issuer IS 'Issuer shown by the authenticator app';
COMMENT ON COLUMN smarthub.mfa_factors.account_label IS 'Account name shown by the authenticator app';
COMMENT ON COLUMN smarthub.mfa_factors.confirmed_at IS 'When totp_confirm activated it; NULL while the enrolment waits for a first code';
COMMENT ON COLUMN smarthub.mfa_factors.last_step IS 'The last 30-second step a code was accepted for: it and every earlier step are refused';
COMMENT ON COLUMN smarthub.mfa_factors.failures IS 'Wrong codes in a row since the last accepted one or the last lock';
COMMENT ON COLUMN smarthub.mfa_factors.locked_until IS 'Every code is refused until then (set by smarthub.totp_max_failures wrong codes in a row)';
COMMENT ON COLUMN smarthub.mfa_factors.created_at IS 'Enrolment time';
COMMENT ON TABLE smarthub.recovery_codes IS 'Single-use recovery codes; only the SHA-256 of each is stored';
COMMENT ON COLUMN smarthub.recovery_codes.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.recovery_codes.user_id IS 'The user whose code it is (deleted with the user)';
COMMENT ON COLUMN smarthub.recovery_codes.code_hash IS 'Lowercase hex SHA-256 of the normalised code; never readable by application roles';
COMMENT ON COLUMN smarthub.recovery_codes.used_at IS 'When it was used; NULL while it still works';
COMMENT ON COLUMN smarthub.recovery_codes.created_at IS 'When it was generated';
COMMENT ON FUNCTION smarthub.totp_enroll(uuid, text, text) IS
    'A new TOTP factor for the user: its id, the secret (base32) and an otpauth:// URI, shown once; confirm it with totp_confirm';
COMMENT ON FUNCTION smarthub.totp_confirm(uuid, text) IS
    'Activates an enrolled TOTP factor with a code from the app; the factor replaces the user''s earlier ones';
COMMENT ON FUNCTION smarthub.totp_verify(uuid, text) IS
    'Whether a TOTP code is right for the user now (one step either side) and not used before; locks after smarthub.totp_max_failures failures';
COMMENT ON FUNCTION smarthub.generate_recovery_codes(uuid, integer) IS
    'n new single-use recovery codes (xxxxx-xxxxx) for the user, replacing the earlier ones; stored as SHA-256';
COMMENT ON FUNCTION smarthub.use_recovery_code(uuid, text) IS
    'Uses up one of the user''s recovery codes: true once per code';
COMMENT ON FUNCTION smarthub.verify_session_mfa(text, text) IS
    'Raises the session of the token to aal2 with a TOTP code or a recovery code of its user';
COMMENT ON FUNCTION smarthub.current_aal() IS
    'The assurance level (aal1, aal2) of the session that authenticated the identity; NULL without one';
