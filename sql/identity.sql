-- Identity: what a user sees. Scope across COMMIT, ROLLBACK, identity_scope = session and
-- DISCARD ALL (which cannot run inside a transaction block, hence here and not in pgTAP), the
-- error messages of set_current_user, the protected columns and the forgery attempts.
\set VERBOSITY terse
SET timezone = 'UTC';
CREATE ROLE ident_regress_app;
SELECT smarthub.grant_access('ident_regress_app');
INSERT INTO smarthub.users (id, email, username, password_hash, is_active, deleted_at) VALUES
    ('d0000000-0000-4000-8000-000000000001', 'one@regress.io', 'r_one', 'h', true, NULL),
    ('d0000000-0000-4000-8000-000000000002', 'two@regress.io', 'r_two', 'h', true, NULL),
    ('d0000000-0000-4000-8000-000000000003', 'off@regress.io', 'r_off', 'h', false, NULL),
    ('d0000000-0000-4000-8000-000000000004', 'gone@regress.io', 'r_gone', 'h', true, '2026-01-01');
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),
    ('d0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001'),
    ('d0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000004');
-- (the setting exists once the library is loaded, i.e. after the first smarthub function call)
SELECT smarthub.current_user_id() IS NULL AS no_identity_at_first;
SHOW smarthub.identity_scope;

-- transaction scope: gone after COMMIT and after ROLLBACK
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SELECT smarthub.current_user_id();
COMMIT;
SELECT smarthub.current_user_id() IS NULL AS cleared_by_commit;
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
ROLLBACK;
SELECT smarthub.current_user_id() IS NULL AS cleared_by_rollback;
-- outside a transaction block the statement is the transaction
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SELECT smarthub.current_user_id() IS NULL AS cleared_after_the_statement;
-- an error ends the transaction and the identity with it
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SELECT 1 / 0;
ROLLBACK;
SELECT smarthub.current_user_id() IS NULL AS cleared_by_error;

-- session scope: kept across transactions, restored by ROLLBACK, cleared by DISCARD ALL
SET smarthub.identity_scope = session;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SELECT smarthub.current_user_id();
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000002');
SELECT smarthub.current_user_id();
ROLLBACK;
SELECT smarthub.current_user_id() AS restored_by_rollback;
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000002');
COMMIT;
SELECT smarthub.current_user_id() AS kept_after_commit, smarthub.current_user_roles();
SELECT smarthub.set_request_context('198.51.100.7', 'regress/1.0');
BEGIN;
DISCARD ALL;
ROLLBACK;
SELECT smarthub.current_user_id() AS not_cleared_by_failed_discard;
DISCARD ALL;
SHOW smarthub.identity_scope;
SELECT smarthub.current_user_id() IS NULL AS cleared_by_discard_all;
SET smarthub.identity_scope = session;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
DISCARD PLANS;
SELECT smarthub.current_user_id() AS kept_by_discard_plans;
SELECT smarthub.clear_current_user();
SELECT smarthub.current_user_id() IS NULL AS cleared;
SET smarthub.identity_scope = bogus;
RESET smarthub.identity_scope;

-- set_current_user errors
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-0000000000ff');
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000003');
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000004');
SELECT smarthub.set_current_user(NULL);
SET ROLE ident_regress_app;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
RESET ROLE;

-- forgery: the smarthub prefix is reserved, and nothing but the functions sets the identity
SET smarthub.user_id = 'd0000000-0000-4000-8000-000000000002';
SELECT set_config('smarthub.current_user_id', 'd0000000-0000-4000-8000-000000000002', false);
SELECT smarthub.current_user_id() IS NULL AS still_nobody;

-- protected columns
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SET LOCAL ROLE ident_regress_app;
UPDATE smarthub.users SET is_active = false WHERE id = 'd0000000-0000-4000-8000-000000000001';
ROLLBACK;
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SET LOCAL ROLE ident_regress_app;
SELECT password_hash FROM smarthub.users;
ROLLBACK;
BEGIN;
SELECT smarthub.set_current_user('d0000000-0000-4000-8000-000000000001');
SET LOCAL ROLE ident_regress_app;
INSERT INTO smarthub.user_roles (user_id, role_id)
    VALUES ('d0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001');
ROLLBACK;
-- the table owner (the other modules' SECURITY DEFINER functions) is not policed
UPDATE smarthub.users SET is_active = false WHERE id = 'd0000000-0000-4000-8000-000000000001';
SELECT username, is_active FROM smarthub.users WHERE id = 'd0000000-0000-4000-8000-000000000001';

-- views: columns an application role may read
SELECT attname FROM pg_attribute WHERE attrelid = 'smarthub.user_profiles'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute WHERE attrelid = 'smarthub.active_api_keys'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute WHERE attrelid = 'smarthub.active_sessions'::regclass AND attnum > 0 ORDER BY attnum;

-- clean up
SELECT smarthub.revoke_access('ident_regress_app');
DROP ROLE ident_regress_app;
DELETE FROM smarthub.users WHERE id::text LIKE 'd0000000-%';
