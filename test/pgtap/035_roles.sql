-- Roles mean what the seed says: an identity's rights come from the roles it holds. viewer
-- ("Read-only access") writes no business or profile data but keeps its credentials; an identity
-- with no role reads its own account and keeps its credentials, nothing more; moderators do not
-- change admin accounts; a changed email is unverified unless an admin verifies it at once.
BEGIN;
SELECT plan(33);

SET LOCAL smarthub.bcrypt_cost = 4;
CREATE ROLE roles_app;
SELECT smarthub.grant_access('roles_app');
INSERT INTO smarthub.users (id, email, username, password_hash, email_verified, email_verified_at) VALUES
    ('f0000000-0000-4000-8000-000000000001', 'vi@roles.io', 'vi', smarthub.hash_password('pw'), true, '2026-01-01'),
    ('f0000000-0000-4000-8000-000000000002', 'nora@roles.io', 'nora', smarthub.hash_password('pw'), true, '2026-01-01'),
    ('f0000000-0000-4000-8000-000000000003', 'ulla@roles.io', 'ulla', smarthub.hash_password('pw'), true, '2026-01-01'),
    ('f0000000-0000-4000-8000-000000000004', 'mo@roles.io', 'mo', smarthub.hash_password('pw'), true, '2026-01-01'),
    ('f0000000-0000-4000-8000-000000000005', 'ada@roles.io', 'ada', smarthub.hash_password('pw'), true, '2026-01-01');
INSERT INTO smarthub.user_roles (user_id, role_id)
    SELECT u, r.id FROM (VALUES ('f0000000-0000-4000-8000-000000000001'::uuid, 'viewer'),
                                ('f0000000-0000-4000-8000-000000000003', 'user'),
                                ('f0000000-0000-4000-8000-000000000004', 'moderator'),
                                ('f0000000-0000-4000-8000-000000000005', 'admin')) AS g(u, n)
      JOIN smarthub.roles r ON r.name = g.n;
INSERT INTO smarthub.entities (id, entity_type, owner_id, name) VALUES
    ('f1000000-0000-4000-8000-000000000001', 'roles_test', 'f0000000-0000-4000-8000-000000000001', 'vi''s'),
    ('f1000000-0000-4000-8000-000000000002', 'roles_test', 'f0000000-0000-4000-8000-000000000002', 'nora''s');
CREATE TEMP TABLE cred (who text, key_id uuid, token text);
INSERT INTO cred SELECT 'vi', k.id, smarthub.create_session('f0000000-0000-4000-8000-000000000001')
  FROM smarthub.create_api_key('f0000000-0000-4000-8000-000000000001') k;
INSERT INTO cred SELECT 'nora', k.id, smarthub.create_session('f0000000-0000-4000-8000-000000000002')
  FROM smarthub.create_api_key('f0000000-0000-4000-8000-000000000002') k;
GRANT SELECT ON cred TO roles_app;
CREATE FUNCTION pg_temp.affected(sql text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- a viewer reads everything and writes no data of its own ...
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000001');
SET LOCAL ROLE roles_app;
SELECT is((SELECT count(*)::int FROM smarthub.entities WHERE entity_type = 'roles_test'), 2, 'viewer: reads every entity');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'V' WHERE id = 'f0000000-0000-4000-8000-000000000001'$$), 0,
          'viewer: does not edit its own profile');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id, name) VALUES ('roles_test', 'f0000000-0000-4000-8000-000000000001', 'new')$$,
                 '42501', NULL, 'viewer: does not create entities');
SELECT is(pg_temp.affected($$UPDATE smarthub.entities SET name = 'x' WHERE id = 'f1000000-0000-4000-8000-000000000001'$$), 0,
          'viewer: does not update its own entity');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities WHERE id = 'f1000000-0000-4000-8000-000000000001'$$), 0,
          'viewer: does not delete its own entity');
-- ... but keeps its credentials: changes its password, revokes its key, logs out
SELECT lives_ok($$SELECT smarthub.set_password('f0000000-0000-4000-8000-000000000001', 'new-pw')$$, 'viewer: changes its own password');
SELECT is(smarthub.revoke_api_key((SELECT key_id FROM cred WHERE who = 'vi')), true, 'viewer: revokes its own key');
SELECT is(smarthub.revoke_session((SELECT token FROM cred WHERE who = 'vi')), true, 'viewer: logs out');
RESET ROLE;
SELECT smarthub.clear_current_user();

-- an identity with no role: its own account, read only, and its credentials
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000002');
SET LOCAL ROLE roles_app;
SELECT is((SELECT username FROM smarthub.users), 'nora', 'no role: reads its own account and no other');
SELECT is((SELECT count(*)::int FROM smarthub.entities), 1, 'no role: reads its own entities');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'N'$$), 0, 'no role: does not edit its profile');
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id, name) VALUES ('roles_test', 'f0000000-0000-4000-8000-000000000002', 'new')$$,
                 '42501', NULL, 'no role: does not create entities');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.entities$$), 0, 'no role: does not delete its entities');
SELECT is(pg_temp.affected($$UPDATE smarthub.api_keys SET is_active = false$$), 1, 'no role: revokes its own key by UPDATE');
SELECT is(pg_temp.affected($$DELETE FROM smarthub.sessions$$), 1, 'no role: deletes its own session');
SELECT lives_ok($$SELECT smarthub.set_password('f0000000-0000-4000-8000-000000000002', 'new-pw')$$, 'no role: changes its own password');
RESET ROLE;
SELECT smarthub.clear_current_user();

-- the user role writes its own profile and entities
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000003');
SET LOCAL ROLE roles_app;
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'Ulla' WHERE username = 'ulla'$$), 1, 'user: edits its own profile');
SELECT lives_ok($$INSERT INTO smarthub.entities (entity_type, owner_id, name) VALUES ('roles_test', 'f0000000-0000-4000-8000-000000000003', 'mine')$$,
                'user: creates its own entity');
-- a changed email is unverified, and only an admin may say otherwise
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET email = 'ulla2@roles.io' WHERE username = 'ulla'$$), 1, 'user: changes its email');
SELECT results_eq($$SELECT email_verified, email_verified_at FROM smarthub.users WHERE username = 'ulla'$$,
                  $$VALUES (false, NULL::timestamptz)$$, '... which clears its verification');
SELECT throws_ok($$UPDATE smarthub.users SET email = 'ulla3@roles.io', email_verified = true, email_verified_at = now() WHERE username = 'ulla'$$,
                 '42501', NULL, '... and cannot verify it itself');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET first_name = 'U.' WHERE username = 'ulla'$$), 1, 'user: other changes');
RESET ROLE;
SELECT smarthub.clear_current_user();

-- moderators change every account but an admin's
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000004');
SET LOCAL ROLE roles_app;
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET username = 'ulla_m' WHERE username = 'ulla'$$), 1, 'moderator: changes a user''s username');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET email = 'owned@roles.io' WHERE username = 'ada'$$), 0, 'moderator: does not change an admin''s email');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET username = 'owned' WHERE username = 'ada'$$), 0, '... nor its username');
SELECT is((SELECT email FROM smarthub.users WHERE username = 'ada'), 'ada@roles.io', '... though it reads the account');
SELECT throws_ok($$INSERT INTO smarthub.user_roles (user_id, role_id) SELECT 'f0000000-0000-4000-8000-000000000004', id FROM smarthub.roles WHERE name = 'admin'$$,
                 '42501', NULL, 'moderator: cannot make itself an admin');
RESET ROLE;
SELECT smarthub.clear_current_user();

-- an admin may change an email and verify it in the same change; otherwise it is cleared too
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000005');
SET LOCAL ROLE roles_app;
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET email = 'mo2@roles.io', email_verified = true, email_verified_at = '2026-06-01' WHERE username = 'mo'$$), 1,
          'admin: changes an email and verifies it');
SELECT results_eq($$SELECT email_verified, email_verified_at FROM smarthub.users WHERE username = 'mo'$$,
                  $$VALUES (true, '2026-06-01'::timestamptz)$$, '... and the verification stays');
SELECT is(pg_temp.affected($$UPDATE smarthub.users SET email = 'mo3@roles.io' WHERE username = 'mo'$$), 1, 'admin: changes an email only');
SELECT results_eq($$SELECT email_verified, email_verified_at FROM smarthub.users WHERE username = 'mo'$$,
                  $$VALUES (false, NULL::timestamptz)$$, '... which clears the verification');
RESET ROLE;
SELECT smarthub.clear_current_user();
-- and so does the DBA's own UPDATE of an email
UPDATE smarthub.users SET email = 'vi2@roles.io' WHERE username = 'vi';
SELECT results_eq($$SELECT email_verified, email_verified_at FROM smarthub.users WHERE username = 'vi'$$,
                  $$VALUES (false, NULL::timestamptz)$$, 'the DBA''s email change clears the verification');
SELECT is(smarthub.login('vi2@roles.io', 'new-pw') IS NOT NULL, true, 'login with the changed email works');

SELECT * FROM finish();
ROLLBACK;
