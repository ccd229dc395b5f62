-- Identity and row-level security: the whole matrix of the issue, as a real non-owner application
-- role (SET ROLE), each cell both ways; forgery, savepoints, escalation, views, grants.
-- Identity is established with set_current_user as the superuser, then SET ROLE ident_app.
BEGIN;
SELECT plan(228);

-- Roles: ident_app (untrusted application role), ident_svc (trusted), ident_none (no grants).
CREATE ROLE ident_app;
CREATE ROLE ident_svc;
CREATE ROLE ident_none;
SELECT smarthub.grant_access('ident_app');
SELECT smarthub.grant_access('ident_svc', trusted => true);

-- Users: one per role, another plain user, an inactive and a soft-deleted one.
INSERT INTO smarthub.users (id, email, username, password_hash, is_active, deleted_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'user@ident.io',     'i_user',     'h', true,  NULL),
    ('a0000000-0000-4000-8000-000000000002', 'viewer@ident.io',   'i_viewer',   'h', true,  NULL),
    ('a0000000-0000-4000-8000-000000000003', 'mod@ident.io',      'i_mod',      'h', true,  NULL),
    ('a0000000-0000-4000-8000-000000000004', 'admin@ident.io',    'i_admin',    'h', true,  NULL),
    ('a0000000-0000-4000-8000-000000000005', 'other@ident.io',    'i_other',    'h', true,  NULL),
    ('a0000000-0000-4000-8000-000000000006', 'inactive@ident.io', 'i_inactive', 'h', false, NULL),
    ('a0000000-0000-4000-8000-000000000007', 'deleted@ident.io',  'i_deleted',  'h', true,  now());
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('a0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),
    ('a0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'),
    ('a0000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004'),
    ('a0000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000001'),
    ('a0000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000002');
INSERT INTO smarthub.api_keys (id, user_id, key_hash, name, created_at, expires_at, is_active) VALUES
    ('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', repeat('1', 64), 'user key', now() - interval '2 hours', NULL, true),
    ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', repeat('2', 64), 'user newer key', now() - interval '1 hour', now() + interval '1 day', true),
    ('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', repeat('3', 64), 'user expired key', now(), now() - interval '1 minute', true),
    ('b0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', repeat('4', 64), 'user revoked key', now(), NULL, false),
    ('b0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000005', repeat('5', 64), 'other key', now(), NULL, true),
    ('b0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000002', repeat('6', 64), 'viewer key', now(), NULL, true),
    ('b0000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000003', repeat('7', 64), 'moderator key', now(), NULL, true);
INSERT INTO smarthub.sessions (id, user_id, token_hash, expires_at, created_at) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', repeat('a', 64), now() + interval '1 hour', now() - interval '1 hour'),
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', repeat('b', 64), now() + interval '1 hour', now()),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', repeat('c', 64), now() - interval '1 hour', now()),
    ('c0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000005', repeat('d', 64), now() + interval '1 hour', now()),
    ('c0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000002', repeat('e', 64), now() + interval '1 hour', now()),
    ('c0000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000003', repeat('f', 64), now() + interval '1 hour', now());
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'ident_test', gen_random_uuid(), 'UPDATE'),
    ('a0000000-0000-4000-8000-000000000005', 'ident_test', gen_random_uuid(), 'UPDATE'),
    (NULL, 'ident_test', gen_random_uuid(), 'UPDATE');
INSERT INTO smarthub.entities (id, entity_type, owner_id, name) VALUES
    ('e0000000-0000-4000-8000-000000000001', 'ident_test', 'a0000000-0000-4000-8000-000000000001', 'user thing'),
    ('e0000000-0000-4000-8000-000000000005', 'ident_test', 'a0000000-0000-4000-8000-000000000005', 'other thing'),
    ('e0000000-0000-4000-8000-000000000006', 'ident_test', 'a0000000-0000-4000-8000-000000000005', 'other thing 2');

-- Rows affected by a statement, run with the caller's rights.
CREATE FUNCTION pg_temp.affected(sql text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
-- The EXPLAIN text of a query, one string.
CREATE FUNCTION pg_temp.plan_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END $$;

---------------------------------------------------------------------------------------------------
-- Catalog: policies, definer flags, privileges
---------------------------------------------------------------------------------------------------
SELECT policies_are('smarthub', 'users', ARRAY['users_select', 'users_insert', 'users_update', 'users_delete'], 'users policies');
SELECT policies_are('smarthub', 'roles', ARRAY['roles_select', 'roles_insert', 'roles_update', 'roles_delete'], 'roles policies');
SELECT policies_are('smarthub', 'user_roles', ARRAY['user_roles_select', 'user_roles_insert', 'user_roles_update', 'user_roles_delete'], 'user_roles policies');
SELECT policies_are('smarthub', 'api_keys', ARRAY['api_keys_select', 'api_keys_insert', 'api_keys_update', 'api_keys_delete'], 'api_keys policies');
SELECT policies_are('smarthub', 'sessions', ARRAY['sessions_select', 'sessions_insert', 'sessions_update', 'sessions_delete'], 'sessions policies');
SELECT policies_are('smarthub', 'audit_logs', ARRAY['audit_logs_select'], 'audit_logs: a read policy only');
SELECT policies_are('smarthub', 'audit_blocks', ARRAY['audit_blocks_select'], 'audit_blocks: a read policy only');
SELECT policies_are('smarthub', 'login_throttle', ARRAY['login_throttle_select'], 'login_throttle: a read policy (admins) only');
SELECT policies_are('smarthub', 'jwt_issuers', ARRAY[]::name[], 'jwt_issuers: no policy (the DBA''s)');
SELECT policies_are('smarthub', 'user_identities', ARRAY[]::name[], 'user_identities: no policy (the DBA''s)');
SELECT policies_are('smarthub', 'entities', ARRAY['entities_select', 'entities_insert', 'entities_update', 'entities_delete'], 'entities policies');
SELECT policies_are('smarthub', 'mfa_factors', ARRAY['mfa_factors_select'], 'mfa_factors: a read policy only');
SELECT policies_are('smarthub', 'recovery_codes', ARRAY['recovery_codes_select'], 'recovery_codes: a read policy only');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'smarthub'::regnamespace AND relkind IN ('r', 'p')
             AND NOT relispartition AND relrowsecurity AND NOT relforcerowsecurity),
          14, 'RLS enabled (not forced) on all fourteen tables (partitions are read through their table)');
SELECT isnt_definer('smarthub', 'current_user_id', '{}'::name[], 'current_user_id is not SECURITY DEFINER');
SELECT isnt_definer('smarthub', 'set_current_user', ARRAY['uuid'], 'set_current_user is not SECURITY DEFINER');
SELECT isnt_definer('smarthub', 'has_role', ARRAY['text'], 'has_role is not SECURITY DEFINER');
SELECT isnt_definer('smarthub', 'grant_access', ARRAY['regrole', 'boolean'], 'grant_access runs with the caller''s rights');
SELECT isnt_definer('smarthub', 'revoke_access', ARRAY['regrole'], 'revoke_access runs with the caller''s rights');
SELECT volatility_is('smarthub', 'current_user_id', '{}'::name[], 'stable', 'current_user_id is STABLE');
SELECT volatility_is('smarthub', 'has_role', ARRAY['text'], 'stable', 'has_role is STABLE');
SELECT function_privs_are('smarthub', 'set_current_user', ARRAY['uuid'], 'ident_app', '{}'::text[], 'untrusted role cannot impersonate');
SELECT function_privs_are('smarthub', 'set_current_user', ARRAY['uuid'], 'ident_svc', ARRAY['EXECUTE'], 'trusted role can impersonate');
SELECT function_privs_are('smarthub', 'current_user_id', '{}'::name[], 'ident_app', ARRAY['EXECUTE'], 'grant_access: current_user_id');
SELECT function_privs_are('smarthub', 'authenticate_session', ARRAY['text'], 'ident_app', ARRAY['EXECUTE'], 'grant_access: authenticate_session');
SELECT function_privs_are('smarthub', 'set_request_context', ARRAY['inet', 'text'], 'ident_app', ARRAY['EXECUTE'], 'grant_access: set_request_context');
SELECT function_privs_are('smarthub', 'grant_access', ARRAY['regrole', 'boolean'], 'ident_svc', '{}'::text[], 'grant_access is for the DBA only');
SELECT function_privs_are('smarthub', 'current_user_id', '{}'::name[], 'ident_none', '{}'::text[], 'a role without grant_access gets nothing');
SELECT is((SELECT count(*)::int FROM pg_proc p, aclexplode(p.proacl) a
            WHERE p.pronamespace = 'smarthub'::regnamespace AND a.grantee = 0
              AND p.proname IN ('current_user_id', 'authenticate_key', 'authenticate_session', 'set_current_user',
                                'clear_current_user', 'has_role', 'current_user_roles', 'set_request_context',
                                'protect_columns', 'grant_access', 'revoke_access')),
          0, 'no identity function is granted to PUBLIC');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'smarthub'::regnamespace AND p.proacl IS NULL
              AND p.proname IN ('current_user_id', 'authenticate_key', 'authenticate_session', 'set_current_user',
                                'clear_current_user', 'has_role', 'current_user_roles', 'set_request_context',
                                'protect_columns', 'grant_access', 'revoke_access')),
          0, 'no identity function keeps the default (PUBLIC) ACL');
SELECT is((SELECT count(*)::int FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.relnamespace = 'smarthub'::regnamespace AND a.grantee = 0), 0, 'no table or view is granted to PUBLIC');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace
       AND p.proname IN ('current_user_id', 'authenticate_key', 'authenticate_session', 'clear_current_user',
           'has_role', 'current_user_roles', 'set_request_context', 'verify_key', 'verify_session',
           'create_api_key', 'revoke_api_key', 'create_session', 'revoke_session', 'revoke_user_sessions',
           'set_password', 'create_user', 'login', 'hash_password', 'verify_password', 'password_needs_rehash',
           'entity_history', 'encrypt', 'decrypt', 'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id', 'uuid_v7', 'uuid_v7_time', 'audit_verify',
           'verify_jwt', 'authenticate_jwt', 'issue_jwt', 'jwks', 'create_email_verification', 'verify_email',
           'request_password_reset', 'reset_password', 'create_magic_link', 'login_with_magic_link', 'unlock_login',
           'totp_enroll', 'totp_confirm', 'totp_verify', 'generate_recovery_codes', 'use_recovery_code', 'verify_session_mfa', 'current_aal')
       AND NOT has_function_privilege('ident_app', p.oid, 'EXECUTE')$$,
    'grant_access: every overload of every allow-listed function that exists');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace
       AND p.proname NOT IN ('current_user_id', 'authenticate_key', 'authenticate_session', 'clear_current_user',
           'has_role', 'current_user_roles', 'set_request_context', 'verify_key', 'verify_session',
           'create_api_key', 'revoke_api_key', 'create_session', 'revoke_session', 'revoke_user_sessions',
           'set_password', 'create_user', 'login', 'hash_password', 'verify_password', 'password_needs_rehash',
           'entity_history', 'encrypt', 'decrypt', 'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id', 'uuid_v7', 'uuid_v7_time', 'audit_verify',
           'verify_jwt', 'authenticate_jwt', 'issue_jwt', 'jwks', 'create_email_verification', 'verify_email',
           'request_password_reset', 'reset_password', 'create_magic_link', 'login_with_magic_link', 'unlock_login',
           'totp_enroll', 'totp_confirm', 'totp_verify', 'generate_recovery_codes', 'use_recovery_code', 'verify_session_mfa', 'current_aal')
       AND has_function_privilege('ident_app', p.oid, 'EXECUTE')$$,
    'grant_access: nothing outside the allow-list (untrusted)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace
       AND p.proname NOT IN ('current_user_id', 'authenticate_key', 'authenticate_session', 'clear_current_user',
           'has_role', 'current_user_roles', 'set_request_context', 'verify_key', 'verify_session',
           'create_api_key', 'revoke_api_key', 'create_session', 'revoke_session', 'revoke_user_sessions',
           'set_password', 'create_user', 'login', 'hash_password', 'verify_password', 'password_needs_rehash',
           'entity_history', 'encrypt', 'decrypt', 'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id', 'uuid_v7', 'uuid_v7_time', 'audit_verify',
           'verify_jwt', 'authenticate_jwt', 'issue_jwt', 'jwks', 'create_email_verification', 'verify_email',
           'request_password_reset', 'reset_password', 'create_magic_link', 'login_with_magic_link', 'unlock_login',
           'totp_enroll', 'totp_confirm', 'totp_verify', 'generate_recovery_codes', 'use_recovery_code', 'verify_session_mfa', 'current_aal',
           'set_current_user')
       AND has_function_privilege('ident_svc', p.oid, 'EXECUTE')$$,
    'grant_access(trusted): nothing outside the allow-list and set_current_user');
SELECT ok(has_function_privilege('ident_app', 'smarthub.encrypt_text(text, text)', 'EXECUTE'), 'grant_access covers a function another module added (encrypt_text)');
SELECT schema_privs_are('smarthub', 'ident_app', ARRAY['USAGE'], 'grant_access: USAGE on the schema');
SELECT table_privs_are('smarthub', 'users', 'ident_app', ARRAY['INSERT', 'DELETE'], 'users: table-level INSERT, DELETE (SELECT, UPDATE per column)');
SELECT table_privs_are('smarthub', 'audit_logs', 'ident_app', ARRAY['SELECT'], 'audit_logs: SELECT only');
SELECT table_privs_are('smarthub', 'entities', 'ident_app', ARRAY['SELECT', 'DELETE'], 'entities: SELECT, DELETE (INSERT, UPDATE per column)');
SELECT column_privs_are('smarthub', 'users', 'password_hash', 'ident_app', ARRAY['INSERT'], 'users.password_hash: never SELECT or UPDATE');
SELECT column_privs_are('smarthub', 'users', 'email', 'ident_app', ARRAY['INSERT', 'SELECT', 'UPDATE'], 'users.email: read and write');
SELECT column_privs_are('smarthub', 'api_keys', 'key_hash', 'ident_app', ARRAY['INSERT'], 'api_keys.key_hash: never SELECT or UPDATE');
SELECT column_privs_are('smarthub', 'sessions', 'token_hash', 'ident_app', ARRAY['INSERT'], 'sessions.token_hash: never SELECT or UPDATE');
SELECT column_privs_are('smarthub', 'one_time_tokens', 'token_hash', 'ident_app', '{}'::text[], 'one_time_tokens.token_hash: no privilege at all');
SELECT column_privs_are('smarthub', 'sessions', 'aal', 'ident_app', ARRAY['SELECT'], 'sessions.aal: read, never written by an application role');
SELECT table_privs_are('smarthub', 'mfa_factors', 'ident_app', '{}'::text[], 'mfa_factors: no table-level privilege');
SELECT column_privs_are('smarthub', 'mfa_factors', 'secret', 'ident_app', '{}'::text[], 'mfa_factors.secret: nothing');
SELECT column_privs_are('smarthub', 'mfa_factors', 'last_step', 'ident_app', '{}'::text[], 'mfa_factors.last_step: nothing');
SELECT column_privs_are('smarthub', 'mfa_factors', 'confirmed_at', 'ident_app', ARRAY['SELECT'], 'mfa_factors.confirmed_at: SELECT only');
SELECT table_privs_are('smarthub', 'recovery_codes', 'ident_app', '{}'::text[], 'recovery_codes: no table-level privilege');
SELECT column_privs_are('smarthub', 'recovery_codes', 'code_hash', 'ident_app', '{}'::text[], 'recovery_codes.code_hash: nothing');
SELECT column_privs_are('smarthub', 'recovery_codes', 'used_at', 'ident_app', ARRAY['SELECT'], 'recovery_codes.used_at: SELECT only');
SELECT column_privs_are('smarthub', 'entities', 'owner_id', 'ident_app', ARRAY['INSERT', 'SELECT', 'UPDATE'], 'entities.owner_id: RLS and the trigger decide');

---------------------------------------------------------------------------------------------------
-- No identity: nothing but roles
---------------------------------------------------------------------------------------------------
SET ROLE ident_app;
SELECT is(smarthub.current_user_id(), NULL, 'no identity at first');
SELECT is(smarthub.current_user_roles(), '{}'::text[], 'no identity: no roles');
SELECT is(smarthub.has_role('admin'), false, 'no identity: has_role is false');
SELECT is((SELECT count(*)::int FROM smarthub.users), 0, 'no identity: no users');
SELECT is((SELECT count(*)::int FROM smarthub.user_roles), 0, 'no identity: no user_roles');
SELECT is((SELECT count(*)::int FROM smarthub.api_keys), 0, 'no identity: no api_keys');
SELECT is((SELECT count(*)::int FROM smarthub.sessions), 0, 'no identity: no sessions');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs), 0, 'no identity: no audit_logs');
SELECT is((SELECT count(*)::int FROM smarthub.entities), 0, 'no identity: no entities');
SELECT is((SELECT count(*)::int FROM smarthub.roles), 4, 'no identity: roles stay readable');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id) VALUES ('ident_test', NULL)$$, '42501', NULL, 'no identity: cannot insert an entity');

---------------------------------------------------------------------------------------------------
-- Forgery
---------------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000004')$$, '42501', NULL, 'untrusted role: set_current_user is 42501');
SELECT throws_ok($$SET smarthub.user_id = 'a0000000-0000-4000-8000-000000000004'$$, '42602', NULL, 'SET smarthub.user_id is refused');
SELECT throws_ok($$SELECT set_config('smarthub.current_user_id', 'a0000000-0000-4000-8000-000000000004', false)$$, '42602', NULL, 'set_config smarthub.current_user_id is refused');
-- identity_scope = session would keep an identity for the next client of a pooled connection
SELECT throws_ok($$SET smarthub.identity_scope = session$$, '42501', NULL, 'an application role cannot SET identity_scope');
SELECT throws_ok($$SET LOCAL smarthub.identity_scope = session$$, '42501', NULL, '... nor SET LOCAL it');
SELECT throws_ok($$SELECT set_config('smarthub.identity_scope', 'session', true)$$, '42501', NULL, '... nor set_config it');
SELECT throws_ok($$ALTER ROLE ident_app SET smarthub.identity_scope = session$$, '42501', NULL, '... nor ALTER ROLE SET it');
SELECT is(current_setting('smarthub.identity_scope'), 'transaction', 'identity_scope is unchanged');
SELECT is(smarthub.current_user_id(), NULL, 'still no identity after SET and set_config');
SELECT is((SELECT count(*)::int FROM smarthub.users), 0, 'still no users visible');
SELECT is(smarthub.authenticate_key('sk_live_not_a_key'), NULL, 'a bad key returns NULL');
SELECT is(smarthub.authenticate_session(NULL), NULL, 'a NULL token returns NULL');
RESET ROLE;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000004');
SET ROLE ident_app;
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000004', 'identity set by the superuser is seen by the application role');
SELECT is(smarthub.authenticate_key('sk_live_not_a_key'), NULL, 'a bad key after an identity returns NULL');
SELECT is(smarthub.current_user_id(), NULL, 'a bad key clears the identity');
RESET ROLE;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000004');
SET ROLE ident_app;
SELECT is(smarthub.authenticate_session(''), NULL, 'an empty token returns NULL');
SELECT is(smarthub.current_user_id(), NULL, 'an empty token clears the identity');

-- set_current_user: trusted role, and its bad inputs.
SET ROLE ident_svc;
SELECT lives_ok($$SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000001')$$, 'trusted role may impersonate');
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000001', 'trusted role: identity set');
SELECT throws_ok($$SELECT smarthub.set_current_user('a0000000-0000-4000-8000-0000000000ff')$$, 'P0002', NULL, 'unknown user: P0002');
SELECT throws_ok($$SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000006')$$, '42501', NULL, 'inactive user: 42501');
SELECT throws_ok($$SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000007')$$, '42501', NULL, 'soft-deleted user: 42501');
SELECT throws_ok($$SELECT smarthub.set_current_user(NULL)$$, '22004', NULL, 'NULL user: 22004');
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000001', 'failed calls leave the identity alone');
SELECT lives_ok($$SELECT smarthub.clear_current_user()$$, 'clear_current_user');
SELECT is(smarthub.current_user_id(), NULL, 'clear_current_user clears');
SET ROLE ident_none;
SELECT throws_ok($$SELECT smarthub.current_user_id()$$, '42501', NULL, 'a role without grant_access cannot even read the identity');

---------------------------------------------------------------------------------------------------
-- Savepoints
---------------------------------------------------------------------------------------------------
RESET ROLE;
SAVEPOINT before_auth;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000001');
ROLLBACK TO SAVEPOINT before_auth;
SELECT is(smarthub.current_user_id(), NULL, 'rollback to a savepoint taken before authentication clears it');
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000001');
SAVEPOINT s1;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000005');
SAVEPOINT s2;
SELECT smarthub.clear_current_user();
RELEASE SAVEPOINT s2;
SELECT is(smarthub.current_user_id(), NULL, 'a released savepoint keeps the change');
ROLLBACK TO SAVEPOINT s1;
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000001', 'rollback to a savepoint restores the earlier identity');
SELECT smarthub.set_request_context('192.0.2.1', 'ua');
SAVEPOINT s3;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000005');
RELEASE SAVEPOINT s3;
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000005', 'released inner savepoint: change kept');
ROLLBACK TO SAVEPOINT s1;
SELECT is(smarthub.current_user_id(), 'a0000000-0000-4000-8000-000000000001', 'and rolled back with its outer savepoint');
RELEASE SAVEPOINT s1;

---------------------------------------------------------------------------------------------------
-- user: the "user" column of the matrix (every identity has it)
---------------------------------------------------------------------------------------------------
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000001');
SET ROLE ident_app;
SELECT is(smarthub.current_user_roles(), ARRAY['user'], 'user: roles');
SELECT is(smarthub.has_role('admin'), false, 'user: not admin');
SELECT is(smarthub.has_role(NULL), NULL, 'has_role(NULL) is NULL');
-- users
SELECT results_eq($$SELECT username::text FROM smarthub.users$$, ARRAY['i_user'], 'user: reads its own users row only');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'Me' WHERE id = 'a0000000-0000-4000-8000-000000000001'$$), 1, 'user: updates its own row');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'X' WHERE id = 'a0000000-0000-4000-8000-000000000005'$$), 0, 'user: cannot update another row');
SELECT throws_ok($$UPDATE smarthub.users SET is_active = false WHERE id = 'a0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: cannot change its own is_active');
SELECT throws_ok($$UPDATE smarthub.users SET email_verified = true WHERE id = 'a0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: cannot change its own email_verified');
SELECT throws_ok($$UPDATE smarthub.users SET deleted_at = now() WHERE id = 'a0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: cannot change its own deleted_at');
SELECT throws_ok($$UPDATE smarthub.users SET password_hash = 'x' WHERE id = 'a0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: cannot write password_hash');
SELECT throws_ok($$INSERT INTO smarthub.users (email, username, password_hash) VALUES ('n@ident.io', 'n', 'h')$$, '42501', NULL, 'user: cannot insert users');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.users WHERE id = 'a0000000-0000-4000-8000-000000000001'$$), 0, 'user: cannot delete users');
SELECT throws_ok($$SELECT password_hash FROM smarthub.users$$, '42501', NULL, 'user: cannot read password_hash');
SELECT throws_ok($$SELECT * FROM smarthub.users$$, '42501', NULL, 'user: SELECT * on users is refused (password_hash)');
-- roles
SELECT is((SELECT count(*)::int FROM smarthub.roles), 4, 'user: reads roles');
SELECT throws_ok($$INSERT INTO smarthub.roles (name) VALUES ('ident_new')$$, '42501', NULL, 'user: cannot create roles');
-- user_roles
SELECT results_eq($$SELECT user_id FROM smarthub.user_roles$$, $$VALUES ('a0000000-0000-4000-8000-000000000001'::uuid)$$, 'user: reads its own user_roles only');
SELECT throws_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001')$$, '42501', NULL, 'user: cannot grant itself admin');
SELECT throws_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000003')$$, '42501', NULL, 'user: cannot grant anyone a role');
SELECT is(pg_temp.affected($$UPDATE smarthub.user_roles SET role_id = '00000000-0000-4000-8000-000000000001'$$), 0, 'user: cannot change its role');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.user_roles$$), 0, 'user: cannot remove roles');
-- api_keys
SELECT results_eq($$SELECT id FROM smarthub.api_keys ORDER BY id$$,
    $$VALUES ('b0000000-0000-4000-8000-000000000001'::uuid), ('b0000000-0000-4000-8000-000000000002'), ('b0000000-0000-4000-8000-000000000003'), ('b0000000-0000-4000-8000-000000000004')$$,
    'user: reads its own keys only');
SELECT throws_ok($$SELECT key_hash FROM smarthub.api_keys$$, '42501', NULL, 'user: cannot read key_hash');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET is_active = false WHERE id = 'b0000000-0000-4000-8000-000000000002'$$), 1, 'user: revokes its own key');
SELECT throws_ok($$UPDATE smarthub.api_keys SET is_active = true WHERE id = 'b0000000-0000-4000-8000-000000000004'$$, '42501', NULL, 'user: cannot re-activate a revoked key');
SELECT throws_ok($$UPDATE smarthub.api_keys SET name = 'renamed' WHERE id = 'b0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: can only revoke, not rename');
SELECT throws_ok($$UPDATE smarthub.api_keys SET expires_at = NULL WHERE id = 'b0000000-0000-4000-8000-000000000003'$$, '42501', NULL, 'user: cannot extend a key');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET is_active = false WHERE id = 'b0000000-0000-4000-8000-000000000005'$$), 0, 'user: cannot revoke another user''s key');
SELECT throws_ok($$INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('a0000000-0000-4000-8000-000000000001', repeat('e', 64))$$, '42501', NULL, 'user: cannot insert keys directly');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.api_keys$$), 0, 'user: cannot delete keys');
-- sessions
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE user_id <> 'a0000000-0000-4000-8000-000000000001'), 0, 'user: sees no other user''s sessions');
SELECT is((SELECT count(*)::int FROM smarthub.sessions), 3, 'user: sees its own sessions');
SELECT throws_ok($$SELECT token_hash FROM smarthub.sessions$$, '42501', NULL, 'user: cannot read token_hash');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions WHERE id = 'c0000000-0000-4000-8000-000000000003'$$), 1, 'user: deletes its own session');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions WHERE id = 'c0000000-0000-4000-8000-000000000005'$$), 0, 'user: cannot delete another user''s session');
SELECT is(pg_temp.affected($$UPDATE smarthub.sessions SET expires_at = now() + interval '1 year'$$), 0, 'user: cannot extend sessions');
SELECT throws_ok($$INSERT INTO smarthub.sessions (user_id, token_hash, expires_at) VALUES ('a0000000-0000-4000-8000-000000000001', repeat('f', 64), now())$$, '42501', NULL, 'user: cannot insert sessions directly');
-- audit_logs
SELECT results_eq($$SELECT user_id FROM smarthub.audit_logs WHERE entity_type = 'ident_test'$$, $$VALUES ('a0000000-0000-4000-8000-000000000001'::uuid)$$, 'user: reads only audit rows about itself');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE user_id IS DISTINCT FROM 'a0000000-0000-4000-8000-000000000001'), 0, 'user: no other audit row at all');
SELECT throws_ok($$INSERT INTO smarthub.audit_logs (entity_type, entity_id, action) VALUES ('x', gen_random_uuid(), 'UPDATE')$$, '42501', NULL, 'user: cannot write audit rows');
SELECT throws_ok($$UPDATE smarthub.audit_logs SET action = 'X'$$, '42501', NULL, 'user: cannot update audit rows');
SELECT throws_ok($$DELETE FROM smarthub.audit_logs$$, '42501', NULL, 'user: cannot delete audit rows');
-- entities
SELECT results_eq($$SELECT id FROM smarthub.entities$$, $$VALUES ('e0000000-0000-4000-8000-000000000001'::uuid)$$, 'user: reads its own entities only');
SELECT lives_ok($$INSERT INTO smarthub.entities (id, entity_type, owner_id, name) VALUES ('e0000000-0000-4000-8000-000000000011', 'ident_test', 'a0000000-0000-4000-8000-000000000001', 'mine')$$, 'user: inserts an entity it owns');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id) VALUES ('ident_test', 'a0000000-0000-4000-8000-000000000005')$$, '42501', NULL, 'user: cannot insert for another owner');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type) VALUES ('ident_test')$$, '42501', NULL, 'user: cannot insert an unowned entity');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET name = 'renamed' WHERE id = 'e0000000-0000-4000-8000-000000000001'$$), 1, 'user: updates its own entity');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET name = 'renamed' WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 0, 'user: cannot update another user''s entity');
SELECT throws_ok($$UPDATE smarthub.entities SET owner_id = 'a0000000-0000-4000-8000-000000000005' WHERE id = 'e0000000-0000-4000-8000-000000000001'$$, '42501', NULL, 'user: cannot give its entity away');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'e0000000-0000-4000-8000-000000000011'$$), 1, 'user: deletes its own entity');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 0, 'user: cannot delete another user''s entity');
-- views
SELECT results_eq($$SELECT username::text, roles FROM smarthub.user_profiles$$, $$VALUES ('i_user', ARRAY['user'])$$, 'user: user_profiles shows itself with its roles');
SELECT results_eq($$SELECT id FROM smarthub.active_api_keys$$, $$VALUES ('b0000000-0000-4000-8000-000000000001'::uuid)$$, 'user: active_api_keys: its active unexpired keys');
SELECT results_eq($$SELECT id FROM smarthub.active_sessions$$,
    $$VALUES ('c0000000-0000-4000-8000-000000000002'::uuid), ('c0000000-0000-4000-8000-000000000001')$$, 'user: active_sessions: unexpired, newest first');
-- policies are initplans
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM smarthub.entities'), 'InitPlan', 'EXPLAIN entities: the checks are initplans');
SELECT doesnt_match(pg_temp.plan_of('SELECT count(*) FROM smarthub.entities'), 'Filter:[^\n]*(has_role|current_user_id)', 'EXPLAIN entities: no per-row function call in the filter');
SELECT doesnt_match(pg_temp.plan_of('SELECT count(*) FROM smarthub.users'), 'Filter:[^\n]*(has_role|current_user_id)', 'EXPLAIN users: no per-row function call in the filter');
-- parallel query: the leader evaluates the initplans and hands the values to the workers
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL enable_indexonlyscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_indexscan = off;
-- The initplans hang on the Gather (15) or above it (17+): either way the leader runs them. EXPLAIN
-- prints a node's initplans before its children, so one below the Gather (a worker's) would be an
-- 'InitPlan' line after the Partial Aggregate (17+ filters say '(InitPlan 1).col1': not a line start).
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM smarthub.entities'), 'Gather.*Partial Aggregate', 'parallel plan: workers under a Gather');
SELECT doesnt_match(pg_temp.plan_of('SELECT count(*) FROM smarthub.entities'), 'Partial Aggregate.*\n *InitPlan', 'parallel plan: the initplans are evaluated by the leader');
SELECT is((SELECT count(*)::int FROM smarthub.entities), 1, 'parallel plan: the user still sees its own entity only');
SELECT is((SELECT count(*)::int FROM smarthub.entities WHERE owner_id = smarthub.current_user_id()), 1, 'parallel plan: current_user_id() in a WHERE clause is right too');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;
RESET enable_indexscan;
-- role cache follows changes made by earlier statements of the transaction
RESET ROLE;
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000003');
SET ROLE ident_app;
SELECT is(smarthub.current_user_roles(), ARRAY['user', 'viewer'], 'a role granted by an earlier statement is seen');
RESET ROLE;
DELETE FROM smarthub.user_roles WHERE user_id = 'a0000000-0000-4000-8000-000000000001' AND role_id = '00000000-0000-4000-8000-000000000003';
SET ROLE ident_app;
SELECT is(smarthub.has_role('viewer'), false, 'a role taken by an earlier statement is gone');

---------------------------------------------------------------------------------------------------
-- viewer: reads all of users, user_roles, audit_logs, entities; own keys and sessions only
---------------------------------------------------------------------------------------------------
RESET ROLE;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000002');
SET ROLE ident_app;
SELECT is((SELECT count(*)::int FROM smarthub.users), (SELECT count(*)::int FROM smarthub.user_profiles), 'viewer: user_profiles matches users');
SELECT is((SELECT count(*)::int FROM smarthub.users WHERE email LIKE '%@ident.io'), 7, 'viewer: reads all users');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'X' WHERE id = 'a0000000-0000-4000-8000-000000000005'$$), 0, 'viewer: cannot update another user');
SELECT is((SELECT count(*)::int FROM smarthub.user_roles WHERE user_id::text LIKE 'a0000000-%'), 5, 'viewer: reads all user_roles');
SELECT throws_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001')$$, '42501', NULL, 'viewer: cannot grant roles');
SELECT results_eq($$SELECT id FROM smarthub.api_keys$$, $$VALUES ('b0000000-0000-4000-8000-000000000006'::uuid)$$, 'viewer: its own key only');
SELECT results_eq($$SELECT id FROM smarthub.sessions$$, $$VALUES ('c0000000-0000-4000-8000-000000000006'::uuid)$$, 'viewer: its own session only');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET is_active = false$$), 1, 'viewer: revokes its own key, no other');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions$$), 1, 'viewer: deletes its own session, no other');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'ident_test'), 3, 'viewer: reads all audit rows');
SELECT is((SELECT count(*)::int FROM smarthub.entities WHERE entity_type = 'ident_test'), 3, 'viewer: reads all entities');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET name = 'v' WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 0, 'viewer: cannot update another user''s entity');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 0, 'viewer: cannot delete another user''s entity');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET is_active = false WHERE id = 'a0000000-0000-4000-8000-000000000002'$$), 0, 'viewer: cannot change its is_active (nor anything of its own row)');

---------------------------------------------------------------------------------------------------
-- moderator: reads all, updates users and entities (not their privileged columns)
---------------------------------------------------------------------------------------------------
RESET ROLE;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000003');
SET ROLE ident_app;
SELECT is((SELECT count(*)::int FROM smarthub.users WHERE email LIKE '%@ident.io'), 7, 'moderator: reads all users');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'Moderated' WHERE id = 'a0000000-0000-4000-8000-000000000005'$$), 1, 'moderator: updates another user');
SELECT throws_ok($$UPDATE smarthub.users SET is_active = false WHERE id = 'a0000000-0000-4000-8000-000000000005'$$, '42501', NULL, 'moderator: cannot deactivate a user');
SELECT throws_ok($$UPDATE smarthub.users SET deleted_at = now() WHERE id = 'a0000000-0000-4000-8000-000000000005'$$, '42501', NULL, 'moderator: cannot soft-delete a user');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.users WHERE id = 'a0000000-0000-4000-8000-000000000005'$$), 0, 'moderator: cannot delete users');
SELECT is((SELECT count(*)::int FROM smarthub.user_roles WHERE user_id::text LIKE 'a0000000-%'), 5, 'moderator: reads all user_roles');
SELECT throws_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001')$$, '42501', NULL, 'moderator: cannot grant roles');
SELECT results_eq($$SELECT id FROM smarthub.api_keys$$, $$VALUES ('b0000000-0000-4000-8000-000000000007'::uuid)$$, 'moderator: its own key only');
SELECT results_eq($$SELECT id FROM smarthub.sessions$$, $$VALUES ('c0000000-0000-4000-8000-000000000007'::uuid)$$, 'moderator: its own session only');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET is_active = false$$), 1, 'moderator: revokes its own key, no other');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions$$), 1, 'moderator: deletes its own session, no other');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'ident_test'), 3, 'moderator: reads all audit rows');
SELECT is((SELECT count(*)::int FROM smarthub.entities WHERE entity_type = 'ident_test'), 3, 'moderator: reads all entities');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET name = 'moderated' WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 1, 'moderator: updates another user''s entity');
SELECT throws_ok($$UPDATE smarthub.entities SET owner_id = 'a0000000-0000-4000-8000-000000000003' WHERE id = 'e0000000-0000-4000-8000-000000000005'$$, '42501', NULL, 'moderator: cannot change owner_id');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 0, 'moderator: cannot delete another user''s entity');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id) VALUES ('ident_test', 'a0000000-0000-4000-8000-000000000005')$$, '42501', NULL, 'moderator: cannot insert for another owner');

---------------------------------------------------------------------------------------------------
-- admin: everything the policies allow, still no hash columns, still no audit writes
---------------------------------------------------------------------------------------------------
RESET ROLE;
SELECT smarthub.set_current_user('a0000000-0000-4000-8000-000000000004');
SET ROLE ident_app;
SELECT lives_ok($$INSERT INTO smarthub.users (id, email, username, password_hash) VALUES ('a0000000-0000-4000-8000-000000000008', 'new@ident.io', 'i_new', 'h')$$, 'admin: inserts a user');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET is_active = false, email_verified = true WHERE id = 'a0000000-0000-4000-8000-000000000008'$$), 1, 'admin: changes is_active and email_verified');
SELECT lives_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('a0000000-0000-4000-8000-000000000008', '00000000-0000-4000-8000-000000000004')$$, 'admin: grants a role');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.user_roles WHERE user_id = 'a0000000-0000-4000-8000-000000000008'$$), 1, 'admin: takes a role');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.users WHERE id = 'a0000000-0000-4000-8000-000000000008'$$), 1, 'admin: deletes a user');
SELECT lives_ok($$INSERT INTO smarthub.roles (name) VALUES ('ident_auditor')$$, 'admin: creates a role');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.roles WHERE name = 'ident_auditor'$$), 1, 'admin: deletes a role');
SELECT is((SELECT count(*)::int FROM smarthub.api_keys), 7, 'admin: reads all keys');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET name = 'renamed', is_active = true WHERE id = 'b0000000-0000-4000-8000-000000000005'$$), 1, 'admin: updates any key');
SELECT lives_ok($$INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('a0000000-0000-4000-8000-000000000005', repeat('9', 64))$$, 'admin: inserts a key');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.api_keys WHERE id = 'b0000000-0000-4000-8000-000000000005'$$), 1, 'admin: deletes any key');
SELECT is((SELECT count(*)::int FROM smarthub.sessions), 3, 'admin: reads all sessions');
SELECT is(pg_temp.affected($$UPDATE smarthub.sessions SET user_agent = 'x' WHERE id = 'c0000000-0000-4000-8000-000000000005'$$), 1, 'admin: updates any session');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions WHERE id = 'c0000000-0000-4000-8000-000000000005'$$), 1, 'admin: deletes any session');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'ident_test'), 3, 'admin: reads all audit rows');
SELECT throws_ok($$UPDATE smarthub.audit_logs SET action = 'X'$$, '42501', NULL, 'admin: cannot update audit rows');
SELECT throws_ok($$DELETE FROM smarthub.audit_logs$$, '42501', NULL, 'admin: cannot delete audit rows');
SELECT throws_ok($$SELECT password_hash FROM smarthub.users$$, '42501', NULL, 'admin: cannot read password_hash either');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET owner_id = 'a0000000-0000-4000-8000-000000000004' WHERE id = 'e0000000-0000-4000-8000-000000000006'$$), 1, 'admin: changes owner_id');
SELECT lives_ok($$INSERT INTO smarthub.entities (entity_type, owner_id) VALUES ('ident_test', 'a0000000-0000-4000-8000-000000000005')$$, 'admin: inserts for anyone');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'e0000000-0000-4000-8000-000000000005'$$), 1, 'admin: deletes any entity');

---------------------------------------------------------------------------------------------------
-- grant_access / revoke_access
---------------------------------------------------------------------------------------------------
RESET ROLE;
SELECT throws_ok($$SELECT smarthub.grant_access(NULL)$$, '22004', NULL, 'grant_access(NULL): 22004');
SELECT throws_ok($$SELECT smarthub.grant_access('ident_app', NULL)$$, '22004', NULL, 'grant_access(role, NULL): 22004');
SELECT throws_ok($$SELECT smarthub.grant_access('ident_no_such_role')$$, '42704', NULL, 'grant_access of an unknown role: 42704');
SELECT throws_ok($$SELECT smarthub.revoke_access(NULL)$$, '22004', NULL, 'revoke_access(NULL): 22004');
CREATE ROLE "Ident App-2";
SELECT lives_ok($$SELECT smarthub.grant_access('"Ident App-2"', true)$$, 'grant_access quotes a role name that needs it');
SELECT ok(has_function_privilege('Ident App-2', 'smarthub.set_current_user(uuid)', 'EXECUTE')
          AND has_table_privilege('Ident App-2', 'smarthub.entities', 'SELECT'), 'the quoted role got its grants');
SELECT lives_ok($$SELECT smarthub.grant_access('"Ident App-2"', true)$$, 'grant_access twice is harmless');
SELECT lives_ok($$SELECT smarthub.revoke_access('"Ident App-2"')$$, 'revoke_access quotes the role name too');
SELECT ok(NOT has_schema_privilege('Ident App-2', 'smarthub', 'USAGE'), 'the quoted role lost its grants');
SET ROLE ident_svc;
SELECT throws_ok($$SELECT smarthub.grant_access('ident_none')$$, '42501', NULL, 'an application role cannot call grant_access');
RESET ROLE;
SELECT smarthub.grant_access('ident_svc', false);
SELECT function_privs_are('smarthub', 'set_current_user', ARRAY['uuid'], 'ident_svc', '{}'::text[], 'grant_access(trusted => false) takes impersonation back');
SELECT smarthub.revoke_access('ident_app');
SELECT schema_privs_are('smarthub', 'ident_app', '{}'::text[], 'revoke_access: no USAGE left');
SELECT table_privs_are('smarthub', 'entities', 'ident_app', '{}'::text[], 'revoke_access: no table privilege left');
SELECT column_privs_are('smarthub', 'users', 'email', 'ident_app', '{}'::text[], 'revoke_access: no column privilege left');
SELECT function_privs_are('smarthub', 'current_user_id', '{}'::name[], 'ident_app', '{}'::text[], 'revoke_access: no EXECUTE left');
SELECT is((SELECT count(*)::int FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.relnamespace = 'smarthub'::regnamespace AND a.grantee = 'ident_app'::regrole), 0, 'revoke_access: no grant on any relation');
SET ROLE ident_app;
SELECT throws_ok($$SELECT count(*) FROM smarthub.entities$$, '42501', NULL, 'after revoke_access: entities refused');

SELECT * FROM finish();
ROLLBACK;
