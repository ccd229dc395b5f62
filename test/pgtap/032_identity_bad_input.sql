-- The bad-input catalogue of the identity functions: NULLs, empty strings, whitespace, 1 MB strings,
-- non-ASCII text, wrong prefixes, truncated and over-long credentials, nonexistent ids and roles.
-- Each row states the documented outcome — the result as text, NULL, or 'SQLSTATE xxxxx'.
BEGIN;

-- outcome(call): what a call returns, as text, or the SQLSTATE it raises (its effects then undone).
CREATE FUNCTION pg_temp.outcome(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE 'SELECT (' || call || ')::text' INTO result;
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    RETURN 'SQLSTATE ' || SQLSTATE;
END
$$;

-- Fixtures: user 1 active (role user) with a key and a session; user 2 deactivated, user 3
-- soft-deleted after their credentials were made.
INSERT INTO smarthub.users (id, email, username, password_hash)
SELECT ('b1000000-0000-4000-8000-00000000000' || i)::uuid, 'idbad' || i || '@example.com', 'idbad' || i, 'h'
  FROM generate_series(1, 3) i;
INSERT INTO smarthub.user_roles (user_id, role_id)
VALUES ('b1000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002');
CREATE TEMP TABLE fx AS SELECT
    (SELECT key FROM smarthub.create_api_key('b1000000-0000-4000-8000-000000000001')) AS live_key,
    (SELECT key FROM smarthub.create_api_key('b1000000-0000-4000-8000-000000000002')) AS inactive_key,
    (SELECT key FROM smarthub.create_api_key('b1000000-0000-4000-8000-000000000003')) AS deleted_key,
    smarthub.create_session('b1000000-0000-4000-8000-000000000001') AS live_token,
    smarthub.create_session('b1000000-0000-4000-8000-000000000002') AS inactive_token;
UPDATE smarthub.users SET is_active = false WHERE id = 'b1000000-0000-4000-8000-000000000002';
UPDATE smarthub.users SET deleted_at = now() WHERE id = 'b1000000-0000-4000-8000-000000000003';
CREATE ROLE ident_bad_app;

CREATE TEMP TABLE cases (n serial, call text NOT NULL, expected text);
INSERT INTO cases (call, expected) VALUES
-- authenticate_key: never raises
    ($$smarthub.authenticate_key(NULL)$$, NULL),
    ($$smarthub.authenticate_key('')$$, NULL),
    ($$smarthub.authenticate_key('   ')$$, NULL),
    ($$smarthub.authenticate_key(repeat('a', 1048576))$$, NULL),
    ($$smarthub.authenticate_key('shk_' || repeat('é', 38))$$, NULL),
    ($$smarthub.authenticate_key('shs_' || substr((SELECT live_key FROM fx), 5))$$, NULL),
    ($$smarthub.authenticate_key(left((SELECT live_key FROM fx), 41))$$, NULL),
    ($$smarthub.authenticate_key((SELECT live_key FROM fx) || 'a')$$, NULL),
    ($$smarthub.authenticate_key(' ' || (SELECT live_key FROM fx))$$, NULL),
    ($$smarthub.authenticate_key((SELECT live_token FROM fx))$$, NULL),
    ($$smarthub.authenticate_key((SELECT inactive_key FROM fx))$$, NULL),
    ($$smarthub.authenticate_key((SELECT deleted_key FROM fx))$$, NULL),
    ($$smarthub.authenticate_key((SELECT live_key FROM fx))$$, 'b1000000-0000-4000-8000-000000000001'),
-- authenticate_session: never raises
    ($$smarthub.authenticate_session(NULL)$$, NULL),
    ($$smarthub.authenticate_session('')$$, NULL),
    ($$smarthub.authenticate_session(repeat('a', 1048576))$$, NULL),
    ($$smarthub.authenticate_session('shs_' || repeat('密', 38))$$, NULL),
    ($$smarthub.authenticate_session(left((SELECT live_token FROM fx), 41))$$, NULL),
    ($$smarthub.authenticate_session((SELECT live_key FROM fx))$$, NULL),
    ($$smarthub.authenticate_session((SELECT inactive_token FROM fx))$$, NULL),
    ($$smarthub.authenticate_session((SELECT live_token FROM fx))$$, 'b1000000-0000-4000-8000-000000000001'),
-- set_current_user
    ($$smarthub.set_current_user(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.set_current_user('00000000-0000-0000-0000-000000000000')$$, 'SQLSTATE P0002'),
    ($$smarthub.set_current_user('b1000000-0000-4000-8000-000000000002')$$, 'SQLSTATE 42501'),
    ($$smarthub.set_current_user('b1000000-0000-4000-8000-000000000003')$$, 'SQLSTATE 42501'),
    ($$smarthub.set_current_user('not a uuid')$$, 'SQLSTATE 22P02'),
    ($$smarthub.set_current_user('b1000000-0000-4000-8000-000000000001')$$, ''),
-- has_role, current_user_roles (the identity is user 1 from here on, when set)
    ($$smarthub.has_role(NULL)$$, NULL),
    ($$smarthub.has_role('')$$, 'false'),
    ($$smarthub.has_role(' user')$$, 'false'),
    ($$smarthub.has_role('USER')$$, 'false'),
    ($$smarthub.has_role(repeat('a', 1048576))$$, 'false'),
    ($$smarthub.has_role('rôle')$$, 'false'),
    ($$smarthub.has_role('user')$$, 'true'),
    ($$smarthub.current_user_roles()$$, '{user}'),
-- set_request_context
    ($$smarthub.set_request_context(NULL, NULL)$$, ''),
    ($$smarthub.set_request_context('', 'x')$$, 'SQLSTATE 22P02'),
    ($$smarthub.set_request_context('999.1.1.1', 'x')$$, 'SQLSTATE 22P02'),
    ($$smarthub.set_request_context('10.0.0.0/8', NULL)$$, ''),
    ($$smarthub.set_request_context('::1', repeat('ü', 1048576))$$, ''),
-- grant_access, revoke_access
    ($$smarthub.grant_access(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.grant_access('ident_bad_app', NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.grant_access('')$$, 'SQLSTATE 42602'),
    ($$smarthub.grant_access('ident_no_such_role')$$, 'SQLSTATE 42704'),
    ($$smarthub.grant_access('ident_bad_app')$$, ''),
    ($$smarthub.revoke_access(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.revoke_access('ident_no_such_role')$$, 'SQLSTATE 42704'),
    ($$smarthub.revoke_access('ident_bad_app')$$, ''),
    ($$smarthub.clear_current_user()$$, ''),
    ($$smarthub.current_user_roles()$$, '{}'),
    ($$smarthub.has_role('user')$$, 'false');

SELECT plan((SELECT count(*)::int FROM cases));
SELECT is(pg_temp.outcome(call), expected, left(call, 150)) FROM cases ORDER BY n;
SELECT * FROM finish();
ROLLBACK;
