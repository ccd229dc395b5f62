
-------------------------------------------------------------------------------------------------
-- Identity and row-level security (src/identity.c)
-------------------------------------------------------------------------------------------------

-- The identity lives in backend memory, not in a GUC, and is not passed to parallel workers: the
-- functions that read it are PARALLEL RESTRICTED (the policies wrap them in initplans, which the
-- leader evaluates and hands to the workers).
CREATE FUNCTION smarthub.current_user_id() RETURNS uuid
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_user_id';

CREATE FUNCTION smarthub.authenticate_key(key text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_key';

CREATE FUNCTION smarthub.authenticate_session(token text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_authenticate_session';

CREATE FUNCTION smarthub.set_current_user(user_id uuid) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_set_current_user';

CREATE FUNCTION smarthub.clear_current_user() RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_clear_current_user';

CREATE FUNCTION smarthub.has_role(role_name text) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_has_role';

CREATE FUNCTION smarthub.current_user_roles() RETURNS text[]
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'smarthub_current_user_roles';

CREATE FUNCTION smarthub.set_request_context(ip_address inet, user_agent text) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_set_request_context';

CREATE FUNCTION smarthub.protect_columns() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_protect_columns';

-- grant_access / revoke_access run with the caller's rights (not as definer): only someone
-- who may grant on smarthub's objects (the DBA) can hand them out.
CREATE FUNCTION smarthub.grant_access(role regrole, trusted boolean DEFAULT false) RETURNS void
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

CREATE FUNCTION smarthub.revoke_access(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- REVOKE on a table also revokes its column privileges.
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA smarthub FROM %s', role);
    EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA smarthub FROM %s', role);
    EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA smarthub FROM %s', role);
END
$$;

-------------------------------------------------------------------------------------------------
-- The seed's typical queries, as views that apply the caller's RLS (security_invoker)
-------------------------------------------------------------------------------------------------

CREATE VIEW smarthub.user_profiles WITH (security_invoker = true) AS
    SELECT u.id, u.email, u.username, u.first_name, u.last_name, u.avatar_url, u.is_active,
           u.email_verified, u.email_verified_at, u.last_login_at, u.created_at, u.updated_at,
           u.deleted_at,
           ARRAY(SELECT r.name::text
                   FROM smarthub.user_roles ur
                   JOIN smarthub.roles r ON r.id OPERATOR(pg_catalog.=) ur.role_id
                  WHERE ur.user_id OPERATOR(pg_catalog.=) u.id
                  ORDER BY r.name) AS roles
      FROM smarthub.users u;

CREATE VIEW smarthub.active_api_keys WITH (security_invoker = true) AS
    SELECT k.id, k.user_id, k.name, k.description, k.last_used_at, k.expires_at, k.created_at,
           k.updated_at
      FROM smarthub.api_keys k
     WHERE k.is_active
       AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())
     ORDER BY k.created_at DESC, k.id;

CREATE VIEW smarthub.active_sessions WITH (security_invoker = true) AS
    SELECT s.id, s.user_id, s.ip_address, s.user_agent, s.expires_at, s.created_at, s.aal
      FROM smarthub.sessions s
     WHERE s.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()
     ORDER BY s.created_at DESC, s.id;

-------------------------------------------------------------------------------------------------
-- Triggers: what RLS cannot say (which columns a non-admin may change)
-------------------------------------------------------------------------------------------------

CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('is_active', 'email_verified', 'email_verified_at', 'deleted_at');
CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.api_keys
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('user_id', 'name', 'description', 'expires_at', 'is_active=false');
CREATE TRIGGER protect_columns BEFORE UPDATE ON smarthub.entities
    FOR EACH ROW EXECUTE FUNCTION smarthub.protect_columns('owner_id');

-- A changed email is unverified until shown otherwise: the change clears email_verified and
-- email_verified_at, unless the same UPDATE sets email_verified_at anew with email_verified true,
-- which protect_columns lets only an admin identity (or the table owner) do. Named to fire after
-- protect_columns (triggers fire in name order), which would otherwise see its own clearing.
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

-------------------------------------------------------------------------------------------------
-- Row-level security. What an identity may do comes from the roles it holds (README, Security
-- model). Any identity, with no role at all, reads its own account rows and keeps its credentials
-- (revokes its keys, deletes its sessions); the "user" role adds writing its own profile and
-- entities; viewer reads everything and writes nothing; moderator reads and updates all but admin
-- accounts; admin does everything.
-- (SELECT ...) makes each check an initplan: evaluated once per statement, not once per row; the
-- role checks of a policy share one initplan, tested first, so that an identity that sees every
-- row pays one parameter test per row.
-- Not FORCEd: the table owner (smarthub's C functions, which run their own queries as the owner, the audit
-- trigger) is not subject to the policies.
-------------------------------------------------------------------------------------------------

ALTER TABLE smarthub.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE smarthub.entities ENABLE ROW LEVEL SECURITY;

-- users: read own; the user role updates own; viewer reads all; moderator reads all and updates
-- all but admins; admin all.
CREATE POLICY users_select ON smarthub.users FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY users_update ON smarthub.users FOR UPDATE
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
CREATE POLICY users_insert ON smarthub.users FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY users_delete ON smarthub.users FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- roles: everyone reads (even without identity); admin writes.
CREATE POLICY roles_select ON smarthub.roles FOR SELECT
    USING (true);
CREATE POLICY roles_insert ON smarthub.roles FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY roles_update ON smarthub.roles FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY roles_delete ON smarthub.roles FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- user_roles: read own; viewer and moderator read all; only admin grants or takes roles.
CREATE POLICY user_roles_select ON smarthub.user_roles FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY user_roles_insert ON smarthub.user_roles FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY user_roles_update ON smarthub.user_roles FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY user_roles_delete ON smarthub.user_roles FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- api_keys: read and revoke own (trigger protect_columns: a non-admin may only set is_active to
-- false); admin all.
CREATE POLICY api_keys_select ON smarthub.api_keys FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY api_keys_update ON smarthub.api_keys FOR UPDATE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()))
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY api_keys_insert ON smarthub.api_keys FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY api_keys_delete ON smarthub.api_keys FOR DELETE
    USING ((SELECT smarthub.has_role('admin')));

-- sessions: read and delete own; admin all.
CREATE POLICY sessions_select ON smarthub.sessions FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY sessions_delete ON smarthub.sessions FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY sessions_insert ON smarthub.sessions FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin')));
CREATE POLICY sessions_update ON smarthub.sessions FOR UPDATE
    USING ((SELECT smarthub.has_role('admin')))
    WITH CHECK ((SELECT smarthub.has_role('admin')));

-- audit_logs: read own rows; viewer, moderator and admin read all. No write policy at all: rows
-- are written by the audit trigger as the table owner.
CREATE POLICY audit_logs_select ON smarthub.audit_logs FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

-- entities: any identity reads own rows; the user role also writes them (insert as owner);
-- viewer reads all; moderator reads and updates all (protect_columns: only an admin changes
-- owner_id) and writes own; admin all.
CREATE POLICY entities_select ON smarthub.entities FOR SELECT
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator')
                    OR smarthub.has_role('viewer'))
           OR owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY entities_insert ON smarthub.entities FOR INSERT
    WITH CHECK ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('user') OR smarthub.has_role('moderator'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));
CREATE POLICY entities_update ON smarthub.entities FOR UPDATE
    USING ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR ((SELECT smarthub.has_role('user'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())))
    WITH CHECK ((SELECT smarthub.has_role('admin') OR smarthub.has_role('moderator'))
           OR ((SELECT smarthub.has_role('user'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));
CREATE POLICY entities_delete ON smarthub.entities FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR ((SELECT smarthub.has_role('user') OR smarthub.has_role('moderator'))
               AND owner_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id())));

-------------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; smarthub.grant_access() hands out the rest.
-------------------------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION smarthub.current_user_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.authenticate_session(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_current_user(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.clear_current_user() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.has_role(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.current_user_roles() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.set_request_context(inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.protect_columns() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.unverify_changed_email() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.grant_access(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.revoke_access(regrole) FROM PUBLIC;
REVOKE ALL ON smarthub.user_profiles, smarthub.active_api_keys, smarthub.active_sessions FROM PUBLIC;

-------------------------------------------------------------------------------------------------
-- Documentation
-------------------------------------------------------------------------------------------------

COMMENT ON FUNCTION smarthub.current_user_id() IS 'The application user acting in this transaction, or NULL; cannot be set through any GUC';
COMMENT ON FUNCTION smarthub.authenticate_key(text) IS 'Verifies an API key: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.authenticate_session(text) IS 'Verifies a session token: sets and returns the identity, or clears it and returns NULL';
COMMENT ON FUNCTION smarthub.set_current_user(uuid) IS 'Impersonation for trusted roles: unknown user P0002, inactive or deleted user 42501';
COMMENT ON FUNCTION smarthub.clear_current_user() IS 'Clears the identity (and keeps the request context)';
COMMENT ON FUNCTION smarthub.has_role(text) IS 'Whether the identity holds the named role (false without identity); cached until the roles change';
COMMENT ON FUNCTION smarthub.current_user_roles() IS 'The identity''s role names, sorted; empty without identity';
COMMENT ON FUNCTION smarthub.set_request_context(inet, text) IS 'Client address and user agent for the audit rows of this transaction';
COMMENT ON FUNCTION smarthub.unverify_changed_email() IS 'BEFORE UPDATE OF email trigger: a changed email is unverified unless an admin verifies it in the same change';
COMMENT ON FUNCTION smarthub.protect_columns() IS 'BEFORE UPDATE trigger: only an admin identity (or the table owner) may change the named columns (42501)';
COMMENT ON FUNCTION smarthub.grant_access(regrole, boolean) IS 'Gives an application role what it needs; trusted adds set_current_user';
COMMENT ON FUNCTION smarthub.revoke_access(regrole) IS 'Takes back everything on schema smarthub from a role';
COMMENT ON VIEW smarthub.user_profiles IS 'Users without password_hash, with their role names; the caller''s RLS applies';
COMMENT ON VIEW smarthub.active_api_keys IS 'The caller''s visible API keys that are active and unexpired, newest first, without key_hash';
COMMENT ON VIEW smarthub.active_sessions IS 'The caller''s visible unexpired sessions, newest first, without token_hash';
