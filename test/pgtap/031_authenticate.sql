-- authenticate_key / authenticate_session with real credentials (created by the credentials
-- module), and SmarthubCheckActingFor as the credentials functions use it, as a non-owner
-- application role.
BEGIN;
SELECT plan(40);

CREATE ROLE ident_auth_app;
CREATE ROLE ident_auth_svc;
SELECT smarthub.grant_access('ident_auth_app');
SELECT smarthub.grant_access('ident_auth_svc', trusted => true);
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'one@auth.io', 'auth_one', 'h'),
    ('a1000000-0000-4000-8000-000000000002', 'two@auth.io', 'auth_two', 'h'),
    ('a1000000-0000-4000-8000-000000000003', 'admin@auth.io', 'auth_admin', 'h'),
    ('a1000000-0000-4000-8000-000000000004', 'off@auth.io', 'auth_off', 'h');
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('a1000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),
    ('a1000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001');

-- The secrets, kept where the application role can read them back.
CREATE TEMP TABLE creds (label text PRIMARY KEY, id uuid, secret text);
GRANT SELECT ON creds TO PUBLIC;
INSERT INTO creds SELECT 'key', id, key FROM smarthub.create_api_key('a1000000-0000-4000-8000-000000000001');
INSERT INTO creds SELECT 'expired', id, key FROM smarthub.create_api_key('a1000000-0000-4000-8000-000000000001');
INSERT INTO creds SELECT 'revoked', id, key FROM smarthub.create_api_key('a1000000-0000-4000-8000-000000000001');
INSERT INTO creds SELECT 'two', id, key FROM smarthub.create_api_key('a1000000-0000-4000-8000-000000000002');
INSERT INTO creds SELECT 'inactive user key', id, key FROM smarthub.create_api_key('a1000000-0000-4000-8000-000000000004');
INSERT INTO creds VALUES ('session', NULL, smarthub.create_session('a1000000-0000-4000-8000-000000000001'));
INSERT INTO creds VALUES ('expired session', NULL, smarthub.create_session('a1000000-0000-4000-8000-000000000002'));
INSERT INTO creds VALUES ('inactive user session', NULL, smarthub.create_session('a1000000-0000-4000-8000-000000000004'));
UPDATE smarthub.api_keys SET expires_at = now() - interval '1 minute' WHERE id = (SELECT id FROM creds WHERE label = 'expired');
UPDATE smarthub.api_keys SET is_active = false WHERE id = (SELECT id FROM creds WHERE label = 'revoked');
UPDATE smarthub.sessions SET expires_at = now() - interval '1 minute' WHERE user_id = 'a1000000-0000-4000-8000-000000000002';
UPDATE smarthub.users SET is_active = false WHERE id = 'a1000000-0000-4000-8000-000000000004';

SET ROLE ident_auth_app;
-- the application role cannot read key_hash or token_hash, yet verification works (as the owner, in C)
SELECT is(smarthub.verify_key((SELECT secret FROM creds WHERE label = 'key')), 'a1000000-0000-4000-8000-000000000001', 'verify_key works for an application role');
SELECT is(smarthub.verify_session((SELECT secret FROM creds WHERE label = 'session')), 'a1000000-0000-4000-8000-000000000001', 'verify_session works for an application role');
SELECT is(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'key')), 'a1000000-0000-4000-8000-000000000001', 'authenticate_key: a live key returns its owner');
SELECT is(smarthub.current_user_id(), 'a1000000-0000-4000-8000-000000000001', 'authenticate_key: sets the identity');
SELECT is(smarthub.current_user_roles(), ARRAY['user'], 'authenticate_key: the owner''s roles');
SELECT is((SELECT count(*)::int FROM smarthub.api_keys), 3, 'authenticate_key: RLS shows the owner''s keys');
SELECT is(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'expired')), NULL, 'authenticate_key: an expired key returns NULL');
SELECT is(smarthub.current_user_id(), NULL, 'authenticate_key: an expired key clears the identity');
SELECT is(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'revoked')), NULL, 'authenticate_key: a revoked key returns NULL');
SELECT is(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'inactive user key')), NULL, 'authenticate_key: a key of an inactive user returns NULL');
SELECT is(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'session')), NULL, 'authenticate_key: a session token is not a key');
SELECT is(smarthub.authenticate_key((SELECT upper(secret) FROM creds WHERE label = 'key')), NULL, 'authenticate_key: case matters');
SELECT is(smarthub.authenticate_key((SELECT secret || 'x' FROM creds WHERE label = 'key')), NULL, 'authenticate_key: a longer string returns NULL');
SELECT is(smarthub.authenticate_key(repeat('x', 100000)), NULL, 'authenticate_key: a huge string returns NULL');
SELECT is(smarthub.authenticate_key(''), NULL, 'authenticate_key: empty string returns NULL');
SELECT is(smarthub.authenticate_key(NULL), NULL, 'authenticate_key: NULL returns NULL');
SELECT is(smarthub.authenticate_session((SELECT secret FROM creds WHERE label = 'session')), 'a1000000-0000-4000-8000-000000000001', 'authenticate_session: a live token returns its user');
SELECT is(smarthub.current_user_id(), 'a1000000-0000-4000-8000-000000000001', 'authenticate_session: sets the identity');
SELECT is(smarthub.authenticate_session((SELECT secret FROM creds WHERE label = 'key')), NULL, 'authenticate_session: an API key is not a session token');
SELECT is(smarthub.current_user_id(), NULL, 'authenticate_session: a bad token clears the identity');
SELECT is(smarthub.authenticate_session((SELECT secret FROM creds WHERE label = 'expired session')), NULL, 'authenticate_session: an expired session returns NULL');
SELECT is(smarthub.authenticate_session((SELECT secret FROM creds WHERE label = 'inactive user session')), NULL, 'authenticate_session: a session of an inactive user returns NULL');
SELECT is(smarthub.authenticate_session('shs_' || repeat('A', 38)), NULL, 'authenticate_session: a well-shaped unknown token returns NULL');
SAVEPOINT before_auth;
SELECT is(smarthub.authenticate_session((SELECT secret FROM creds WHERE label = 'session')), 'a1000000-0000-4000-8000-000000000001', 'authenticate_session inside a savepoint');
ROLLBACK TO SAVEPOINT before_auth;
SELECT is(smarthub.current_user_id(), NULL, 'rollback to a savepoint taken before authentication clears it');

-- SmarthubCheckActingFor, through the credentials functions
SELECT throws_ok($$SELECT smarthub.create_api_key('a1000000-0000-4000-8000-000000000001')$$, '42501', NULL, 'no identity: cannot create a key, even for anyone');
SELECT throws_ok($$SELECT smarthub.create_user('new@auth.io', 'auth_new', 'pw-123456789')$$, '42501', NULL, 'no identity: cannot create users');
SELECT ok(smarthub.authenticate_key((SELECT secret FROM creds WHERE label = 'key')) IS NOT NULL, 'authenticated again');
SELECT lives_ok($$SELECT smarthub.create_api_key('a1000000-0000-4000-8000-000000000001')$$, 'a user creates its own key');
SELECT throws_ok($$SELECT smarthub.create_api_key('a1000000-0000-4000-8000-000000000002')$$, '42501', NULL, 'a user cannot create a key for another user');
SELECT throws_ok($$SELECT smarthub.create_session('a1000000-0000-4000-8000-000000000002')$$, '42501', NULL, 'a user cannot open a session for another user');
SELECT throws_ok($$SELECT smarthub.revoke_user_sessions('a1000000-0000-4000-8000-000000000002')$$, '42501', NULL, 'a user cannot revoke another user''s sessions');
SELECT throws_ok($$SELECT smarthub.revoke_api_key((SELECT id FROM creds WHERE label = 'two'))$$, '42501', NULL, 'a user cannot revoke another user''s key');
SELECT throws_ok($$SELECT smarthub.create_user('new@auth.io', 'auth_new', 'pw-123456789')$$, '42501', NULL, 'a user cannot create users');
RESET ROLE;
SELECT smarthub.set_current_user('a1000000-0000-4000-8000-000000000003');
SET ROLE ident_auth_app;
SELECT lives_ok($$SELECT smarthub.create_api_key('a1000000-0000-4000-8000-000000000002')$$, 'an admin identity creates a key for anyone');
SELECT lives_ok($$SELECT smarthub.create_session('a1000000-0000-4000-8000-000000000002')$$, 'an admin identity opens a session for anyone');
SELECT is(smarthub.revoke_user_sessions('a1000000-0000-4000-8000-000000000002'), 1, 'an admin identity revokes anyone''s sessions');
SELECT lives_ok($$SELECT smarthub.create_user('new@auth.io', 'auth_new', 'pw-123456789')$$, 'an admin identity creates users');
RESET ROLE;
SELECT smarthub.clear_current_user();
SET ROLE ident_auth_svc;
SELECT lives_ok($$SELECT smarthub.create_api_key('a1000000-0000-4000-8000-000000000002')$$, 'a trusted role acts for anyone without an identity');
SELECT lives_ok($$SELECT smarthub.create_user('svc@auth.io', 'auth_svc', 'pw-123456789')$$, 'a trusted role creates users');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
