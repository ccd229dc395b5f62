-- The bad-input catalogue: every public smarthub function called with NULLs, empty strings,
-- whitespace, 1 MB strings, non-ASCII text, wrong prefixes, truncated and over-long keys and hashes,
-- boundary costs, past and far-future timestamps and nonexistent ids. Each row states the documented
-- outcome — the result as text, NULL, or 'SQLSTATE xxxxx' — and is one pgTAP test.
BEGIN;
SET LOCAL smarthub.bcrypt_cost = 4;

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

-- Fixtures: user 1 active with live, expired and never-stored (deleted) keys and sessions, and
-- one-time tokens; user 2 deactivated and user 3 soft-deleted after their keys, sessions and
-- tokens were made.
INSERT INTO smarthub.users (id, email, username, password_hash)
SELECT ('b0000000-0000-4000-8000-00000000000' || i)::uuid, 'bad' || i || '@example.com', 'bad' || i,
       smarthub.hash_password('right-password', 4)
  FROM generate_series(1, 3) i;
CREATE TEMP TABLE fx AS SELECT
    (SELECT key FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'live')) AS live_key,
    (SELECT key FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'expired', now() + interval '1 hour')) AS expired_key,
    (SELECT key FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'gone')) AS unknown_key,
    (SELECT key FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000002', 'inactive')) AS inactive_key,
    (SELECT key FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000003', 'deleted')) AS deleted_key,
    smarthub.create_session('b0000000-0000-4000-8000-000000000001') AS live_token,
    smarthub.create_session('b0000000-0000-4000-8000-000000000001') AS expired_token,
    smarthub.create_session('b0000000-0000-4000-8000-000000000002') AS inactive_token,
    smarthub.create_email_verification('b0000000-0000-4000-8000-000000000001') AS verify_token,
    smarthub.create_email_verification('b0000000-0000-4000-8000-000000000001') AS expired_verify,
    smarthub.request_password_reset('bad1') AS reset_token,
    smarthub.request_password_reset('bad3') AS deleted_reset,
    smarthub.create_magic_link('bad1') AS magic_token,
    smarthub.create_magic_link('bad2') AS inactive_magic,
    smarthub.hash_password('right-password', 4) AS hash4,
    smarthub.hash_password(repeat('a', 72), 4) AS hash72;
UPDATE smarthub.api_keys SET expires_at = now() - interval '1 second' WHERE name = 'expired';
DELETE FROM smarthub.api_keys WHERE name = 'gone';
UPDATE smarthub.sessions SET expires_at = now() - interval '1 second'
 WHERE token_hash = encode(sha256(convert_to((SELECT expired_token FROM fx), 'UTF8')), 'hex');
UPDATE smarthub.one_time_tokens SET expires_at = now() - interval '1 second'
 WHERE token_hash = encode(sha256(convert_to((SELECT expired_verify FROM fx), 'UTF8')), 'hex');
INSERT INTO smarthub.user_roles (user_id, role_id)
VALUES ('b0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002');
UPDATE smarthub.users SET is_active = false WHERE id = 'b0000000-0000-4000-8000-000000000002';
UPDATE smarthub.users SET deleted_at = now() WHERE id = 'b0000000-0000-4000-8000-000000000003';

CREATE ROLE bad_input_app;

-- Tables of every kind for enable_audit.
CREATE TABLE public.bad_input_t (id uuid PRIMARY KEY, n int, note text);
CREATE TABLE public.bad_input_int (id int PRIMARY KEY);
CREATE VIEW public.bad_input_v AS SELECT * FROM public.bad_input_t;
CREATE SEQUENCE public.bad_input_s;
CREATE TABLE public.bad_input_p (id uuid NOT NULL, k int NOT NULL) PARTITION BY RANGE (k);

CREATE TEMP TABLE cases (n serial, call text NOT NULL, expected text);
INSERT INTO cases (call, expected) VALUES
-- hash_password
    ($$smarthub.hash_password(NULL)$$, NULL),
    ($$smarthub.hash_password('')$$, 'SQLSTATE 22023'),
    ($$length(smarthub.hash_password(' ', 4))$$, '60'),
    ($$left(smarthub.hash_password('x', 4), 7)$$, '$2b$04$'),
    ($$length(smarthub.hash_password(repeat('a', 72), 4))$$, '60'),
    ($$smarthub.hash_password(repeat('a', 73), 4)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password(repeat('é', 37), 4)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password(repeat('a', 1048576), 4)$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('pässwörd-密码', smarthub.hash_password('pässwörd-密码', 4))$$, 'true'),
    ($$smarthub.hash_password('x', 3)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password('x', -1)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password('x', 17)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password('x', 31)$$, 'SQLSTATE 22023'),
    ($$smarthub.hash_password('x', 32)$$, 'SQLSTATE 22023'),
-- verify_password
    ($$smarthub.verify_password(NULL, (SELECT hash4 FROM fx))$$, NULL),
    ($$smarthub.verify_password('x', NULL)$$, NULL),
    ($$smarthub.verify_password('right-password', (SELECT hash4 FROM fx))$$, 'true'),
    ($$smarthub.verify_password('wrong-password', (SELECT hash4 FROM fx))$$, 'false'),
    ($$smarthub.verify_password('', (SELECT hash4 FROM fx))$$, 'false'),
    ($$smarthub.verify_password(repeat('a', 72), (SELECT hash72 FROM fx))$$, 'true'),
    ($$smarthub.verify_password(repeat('a', 73), (SELECT hash72 FROM fx))$$, 'false'),
    ($$smarthub.verify_password(repeat('a', 1048576), (SELECT hash72 FROM fx))$$, 'false'),
    ($$smarthub.verify_password('x', '')$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', '   ')$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', 'garbage')$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', repeat('$', 1048576))$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', left((SELECT hash4 FROM fx), 59))$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', (SELECT hash4 FROM fx) || 'x')$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', '$2x$' || substr((SELECT hash4 FROM fx), 5))$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', '$2b$03$' || substr((SELECT hash4 FROM fx), 8))$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('x', '$2b$17$' || substr((SELECT hash4 FROM fx), 8))$$, 'SQLSTATE 22023'),
    ($$smarthub.verify_password('right-password', '$2a$' || substr((SELECT hash4 FROM fx), 5))$$, 'true'),
    ($$smarthub.verify_password('right-password', '$2y$' || substr((SELECT hash4 FROM fx), 5))$$, 'true'),
-- password_needs_rehash
    ($$smarthub.password_needs_rehash(NULL)$$, NULL),
    ($$smarthub.password_needs_rehash((SELECT hash4 FROM fx), 4)$$, 'false'),
    ($$smarthub.password_needs_rehash((SELECT hash4 FROM fx), 5)$$, 'true'),
    ($$smarthub.password_needs_rehash('$2a$' || substr((SELECT hash4 FROM fx), 5), 4)$$, 'true'),
    ($$smarthub.password_needs_rehash('garbage')$$, 'SQLSTATE 22023'),
    ($$smarthub.password_needs_rehash((SELECT hash4 FROM fx), 3)$$, 'SQLSTATE 22023'),
-- verify_key: NULL for everything that is not a live key of an active user
    ($$smarthub.verify_key((SELECT live_key FROM fx))$$, 'b0000000-0000-4000-8000-000000000001'),
    ($$smarthub.verify_key(NULL)$$, NULL),
    ($$smarthub.verify_key('')$$, NULL),
    ($$smarthub.verify_key('   ')$$, NULL),
    ($$smarthub.verify_key('shk_')$$, NULL),
    ($$smarthub.verify_key('SHK_' || substr((SELECT live_key FROM fx), 5))$$, NULL),
    ($$smarthub.verify_key('shs_' || substr((SELECT live_key FROM fx), 5))$$, NULL),
    ($$smarthub.verify_key(left((SELECT live_key FROM fx), 41))$$, NULL),
    ($$smarthub.verify_key((SELECT live_key FROM fx) || 'A')$$, NULL),
    ($$smarthub.verify_key(' ' || (SELECT live_key FROM fx))$$, NULL),
    ($$smarthub.verify_key(left((SELECT live_key FROM fx), 41) || CASE right((SELECT live_key FROM fx), 1) WHEN 'A' THEN 'B' ELSE 'A' END)$$, NULL),
    ($$smarthub.verify_key(repeat('x', 1048576))$$, NULL),
    ($$smarthub.verify_key('shk_' || repeat('é', 38))$$, NULL),
    ($$smarthub.verify_key((SELECT unknown_key FROM fx))$$, NULL),
    ($$smarthub.verify_key((SELECT expired_key FROM fx))$$, NULL),
    ($$smarthub.verify_key((SELECT inactive_key FROM fx))$$, NULL),
    ($$smarthub.verify_key((SELECT deleted_key FROM fx))$$, NULL),
    ($$smarthub.verify_key((SELECT live_token FROM fx))$$, NULL),
-- verify_session
    ($$smarthub.verify_session((SELECT live_token FROM fx))$$, 'b0000000-0000-4000-8000-000000000001'),
    ($$smarthub.verify_session(NULL)$$, NULL),
    ($$smarthub.verify_session('')$$, NULL),
    ($$smarthub.verify_session(E'\t\n')$$, NULL),
    ($$smarthub.verify_session('shk_' || substr((SELECT live_token FROM fx), 5))$$, NULL),
    ($$smarthub.verify_session(left((SELECT live_token FROM fx), 30))$$, NULL),
    ($$smarthub.verify_session((SELECT live_token FROM fx) || (SELECT live_token FROM fx))$$, NULL),
    ($$smarthub.verify_session(repeat('ü', 1048576))$$, NULL),
    ($$smarthub.verify_session((SELECT expired_token FROM fx))$$, NULL),
    ($$smarthub.verify_session((SELECT inactive_token FROM fx))$$, NULL),
    ($$smarthub.verify_session((SELECT live_key FROM fx))$$, NULL),
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
    ($$smarthub.authenticate_key((SELECT live_key FROM fx))$$, 'b0000000-0000-4000-8000-000000000001'),
-- authenticate_session: never raises
    ($$smarthub.authenticate_session(NULL)$$, NULL),
    ($$smarthub.authenticate_session('')$$, NULL),
    ($$smarthub.authenticate_session(repeat('a', 1048576))$$, NULL),
    ($$smarthub.authenticate_session('shs_' || repeat('密', 38))$$, NULL),
    ($$smarthub.authenticate_session(left((SELECT live_token FROM fx), 41))$$, NULL),
    ($$smarthub.authenticate_session((SELECT live_key FROM fx))$$, NULL),
    ($$smarthub.authenticate_session((SELECT inactive_token FROM fx))$$, NULL),
    ($$smarthub.authenticate_session((SELECT live_token FROM fx))$$, 'b0000000-0000-4000-8000-000000000001'),
-- set_current_user
    ($$smarthub.set_current_user(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.set_current_user('00000000-0000-0000-0000-000000000000')$$, 'SQLSTATE P0002'),
    ($$smarthub.set_current_user('b0000000-0000-4000-8000-000000000002')$$, 'SQLSTATE 42501'),
    ($$smarthub.set_current_user('b0000000-0000-4000-8000-000000000003')$$, 'SQLSTATE 42501'),
    ($$smarthub.set_current_user('not a uuid')$$, 'SQLSTATE 22P02'),
    ($$smarthub.set_current_user('b0000000-0000-4000-8000-000000000001')$$, ''),
-- has_role, current_user_roles (the identity is user 1 until clear_current_user below)
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
    ($$smarthub.grant_access('bad_input_app', NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.grant_access('')$$, 'SQLSTATE 42602'),
    ($$smarthub.grant_access('bad_input_no_such_role')$$, 'SQLSTATE 42704'),
    ($$smarthub.grant_access('bad_input_app')$$, ''),
    ($$smarthub.revoke_access(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.revoke_access('bad_input_no_such_role')$$, 'SQLSTATE 42704'),
    ($$smarthub.revoke_access('bad_input_app')$$, ''),
    ($$smarthub.clear_current_user()$$, ''),
    ($$smarthub.current_user_roles()$$, '{}'),
    ($$smarthub.has_role('user')$$, 'false'),
-- create_api_key
    ($$(SELECT left(key, 4) || length(key) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001'))$$, 'shk_42'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'far', 'infinity'))$$, '1'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'ü-名前', '9999-12-31'))$$, '1'),
    ($$(SELECT count(*) FROM smarthub.create_api_key(NULL))$$, 'SQLSTATE 22004'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('00000000-0000-0000-0000-000000000000'))$$, 'SQLSTATE P0002'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000002'))$$, 'SQLSTATE P0002'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000003'))$$, 'SQLSTATE P0002'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'past', now() - interval '1 second'))$$, 'SQLSTATE 22023'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', 'past', '-infinity'))$$, 'SQLSTATE 22023'),
    ($$(SELECT count(*) FROM smarthub.create_api_key('b0000000-0000-4000-8000-000000000001', repeat('n', 256)))$$, 'SQLSTATE 22001'),
-- revoke_api_key
    ($$smarthub.revoke_api_key(NULL)$$, NULL),
    ($$smarthub.revoke_api_key('00000000-0000-0000-0000-000000000000')$$, 'false'),
    ($$smarthub.revoke_api_key((SELECT id FROM smarthub.api_keys WHERE name = 'live'))$$, 'true'),
    ($$smarthub.revoke_api_key((SELECT id FROM smarthub.api_keys WHERE name = 'inactive'))$$, 'true'),
-- create_session
    ($$left(smarthub.create_session('b0000000-0000-4000-8000-000000000001'), 4)$$, 'shs_'),
    ($$length(smarthub.create_session('b0000000-0000-4000-8000-000000000001', interval '1000 years'))$$, '42'),
    ($$smarthub.create_session(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.create_session('00000000-0000-0000-0000-000000000000')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_session('b0000000-0000-4000-8000-000000000002')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_session('b0000000-0000-4000-8000-000000000003')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_session('b0000000-0000-4000-8000-000000000001', interval '0')$$, 'SQLSTATE 22023'),
    ($$smarthub.create_session('b0000000-0000-4000-8000-000000000001', interval '-1 hour')$$, 'SQLSTATE 22023'),
    ($$smarthub.create_session('b0000000-0000-4000-8000-000000000001', interval '1 day -1 hour')$$, 'SQLSTATE 22023'),
-- revoke_session, revoke_user_sessions, purge_expired_sessions
    ($$smarthub.purge_expired_sessions()$$, '1'),
    ($$smarthub.revoke_session(NULL)$$, NULL),
    ($$smarthub.revoke_session('')$$, 'false'),
    ($$smarthub.revoke_session(repeat('x', 1048576))$$, 'false'),
    ($$smarthub.revoke_session((SELECT expired_token FROM fx))$$, 'false'),
    ($$smarthub.revoke_session((SELECT live_token FROM fx))$$, 'true'),
    ($$smarthub.revoke_user_sessions(NULL)$$, NULL),
    ($$smarthub.revoke_user_sessions('00000000-0000-0000-0000-000000000000')$$, '0'),
    ($$smarthub.revoke_user_sessions('b0000000-0000-4000-8000-000000000001')$$, '2'),
-- create_email_verification
    ($$(SELECT left(t, 4) || length(t) FROM smarthub.create_email_verification('b0000000-0000-4000-8000-000000000001') t)$$, 'shv_42'),
    ($$smarthub.create_email_verification(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.create_email_verification('00000000-0000-0000-0000-000000000000')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_email_verification('b0000000-0000-4000-8000-000000000002')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_email_verification('b0000000-0000-4000-8000-000000000003')$$, 'SQLSTATE P0002'),
    ($$smarthub.create_email_verification('not a uuid')$$, 'SQLSTATE 22P02'),
-- verify_email: NULL for everything but a live verification token, which works once
    ($$smarthub.verify_email(NULL)$$, NULL),
    ($$smarthub.verify_email('')$$, NULL),
    ($$smarthub.verify_email('   ')$$, NULL),
    ($$smarthub.verify_email('shv_')$$, NULL),
    ($$smarthub.verify_email(repeat('x', 1048576))$$, NULL),
    ($$smarthub.verify_email('shv_' || repeat('é', 38))$$, NULL),
    ($$smarthub.verify_email('SHV_' || substr((SELECT verify_token FROM fx), 5))$$, NULL),
    ($$smarthub.verify_email('shr_' || substr((SELECT verify_token FROM fx), 5))$$, NULL),
    ($$smarthub.verify_email(left((SELECT verify_token FROM fx), 41))$$, NULL),
    ($$smarthub.verify_email((SELECT verify_token FROM fx) || 'A')$$, NULL),
    ($$smarthub.verify_email(' ' || (SELECT verify_token FROM fx))$$, NULL),
    ($$smarthub.verify_email(left((SELECT verify_token FROM fx), 41) || CASE right((SELECT verify_token FROM fx), 1) WHEN 'A' THEN 'B' ELSE 'A' END)$$, NULL),
    ($$smarthub.verify_email((SELECT reset_token FROM fx))$$, NULL),
    ($$smarthub.verify_email((SELECT magic_token FROM fx))$$, NULL),
    ($$smarthub.verify_email((SELECT live_token FROM fx))$$, NULL),
    ($$smarthub.verify_email((SELECT expired_verify FROM fx))$$, NULL),
    ($$smarthub.verify_email((SELECT verify_token FROM fx))$$, 'b0000000-0000-4000-8000-000000000001'),
    ($$smarthub.verify_email((SELECT verify_token FROM fx))$$, NULL),
-- request_password_reset, create_magic_link: a token for an active user's login, NULL otherwise, never an error
    ($$(SELECT left(t, 4) || length(t) FROM smarthub.request_password_reset('BAD1@example.COM') t)$$, 'shr_42'),
    ($$smarthub.request_password_reset(NULL)$$, NULL),
    ($$smarthub.request_password_reset('')$$, NULL),
    ($$smarthub.request_password_reset('   ')$$, NULL),
    ($$smarthub.request_password_reset(' bad1')$$, NULL),
    ($$smarthub.request_password_reset(repeat('x', 1048576))$$, NULL),
    ($$smarthub.request_password_reset(repeat('é', 256))$$, NULL),
    ($$smarthub.request_password_reset('nobody-ünï')$$, NULL),
    ($$smarthub.request_password_reset('bad2')$$, NULL),
    ($$smarthub.request_password_reset('bad3@example.com')$$, NULL),
    ($$(SELECT left(t, 4) || length(t) FROM smarthub.create_magic_link('bad1') t)$$, 'shm_42'),
    ($$smarthub.create_magic_link(NULL)$$, NULL),
    ($$smarthub.create_magic_link('')$$, NULL),
    ($$smarthub.create_magic_link(repeat('x', 1048576))$$, NULL),
    ($$smarthub.create_magic_link('nobody-ünï')$$, NULL),
    ($$smarthub.create_magic_link('bad2@example.com')$$, NULL),
    ($$smarthub.create_magic_link('bad3')$$, NULL),
-- login_with_magic_link: a session token for a live magic link, once
    ($$smarthub.login_with_magic_link(NULL)$$, NULL),
    ($$smarthub.login_with_magic_link('')$$, NULL),
    ($$smarthub.login_with_magic_link(repeat('ü', 1048576), '192.0.2.1', 'x')$$, NULL),
    ($$smarthub.login_with_magic_link('shs_' || substr((SELECT magic_token FROM fx), 5))$$, NULL),
    ($$smarthub.login_with_magic_link((SELECT reset_token FROM fx))$$, NULL),
    ($$smarthub.login_with_magic_link((SELECT inactive_magic FROM fx))$$, NULL),
    ($$smarthub.login_with_magic_link((SELECT magic_token FROM fx), '999.1.1.1')$$, 'SQLSTATE 22P02'),
    ($$left(smarthub.login_with_magic_link((SELECT magic_token FROM fx), NULL, repeat('ü', 1048576)), 4)$$, 'shs_'),
    ($$smarthub.login_with_magic_link((SELECT magic_token FROM fx))$$, NULL),
-- reset_password: the password judged first (22023, 22004), then NULL for any bad token
    ($$smarthub.reset_password((SELECT reset_token FROM fx), '')$$, 'SQLSTATE 22023'),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), repeat('p', 73))$$, 'SQLSTATE 22023'),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), repeat('é', 37))$$, 'SQLSTATE 22023'),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), repeat('p', 1048576))$$, 'SQLSTATE 22023'),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.reset_password(NULL, 'pw-123456')$$, NULL),
    ($$smarthub.reset_password('', 'pw-123456')$$, NULL),
    ($$smarthub.reset_password(repeat('x', 1048576), 'pw-123456')$$, NULL),
    ($$smarthub.reset_password('shr_' || repeat('A', 38), 'pw-123456')$$, NULL),
    ($$smarthub.reset_password(left((SELECT reset_token FROM fx), 41) || CASE right((SELECT reset_token FROM fx), 1) WHEN 'A' THEN 'B' ELSE 'A' END, 'pw-123456')$$, NULL),
    ($$smarthub.reset_password((SELECT expired_verify FROM fx), 'pw-123456')$$, NULL),
    ($$smarthub.reset_password((SELECT deleted_reset FROM fx), 'pw-123456')$$, NULL),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), 'pässwörd-密码')$$, 'b0000000-0000-4000-8000-000000000001'),
    ($$smarthub.reset_password((SELECT reset_token FROM fx), 'pw-123456')$$, NULL),
-- set_password
    ($$smarthub.set_password('b0000000-0000-4000-8000-000000000001', 'new-password')::text$$, ''),
    ($$smarthub.set_password(NULL, 'x')$$, 'SQLSTATE 22004'),
    ($$smarthub.set_password('b0000000-0000-4000-8000-000000000001', NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.set_password('00000000-0000-0000-0000-000000000000', 'x')$$, 'SQLSTATE P0002'),
    ($$smarthub.set_password('b0000000-0000-4000-8000-000000000003', 'x')$$, 'SQLSTATE P0002'),
    ($$smarthub.set_password('b0000000-0000-4000-8000-000000000001', '')$$, 'SQLSTATE 22023'),
    ($$smarthub.set_password('b0000000-0000-4000-8000-000000000001', repeat('p', 73))$$, 'SQLSTATE 22023'),
-- create_user
    ($$smarthub.create_user('new@example.com', 'new', 'pw-123456') IS NOT NULL$$, 'true'),
    ($$smarthub.create_user('ünï@example.com', 'x', 'pw')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('not-an-email', 'x', 'pw')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('BAD1@EXAMPLE.COM', 'x', 'pw')$$, 'SQLSTATE 23505'),
    ($$smarthub.create_user('x@example.com', 'BAD1', 'pw')$$, 'SQLSTATE 23505'),
    ($$smarthub.create_user(NULL, 'x', 'pw')$$, 'SQLSTATE 22004'),
    ($$smarthub.create_user('x@example.com', '', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', '   ', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', ' x', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', 'x ', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', E'a\tb', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', E'a\nb', 'pw-123456')$$, 'SQLSTATE 23514'),
    ($$smarthub.create_user('x@example.com', 'ann smith', 'pw-123456') IS NOT NULL$$, 'true'),
    ($$smarthub.create_user('x@example.com', 'x', '')$$, 'SQLSTATE 22023'),
    ($$smarthub.create_user('x@example.com', 'x', repeat('p', 1048576))$$, 'SQLSTATE 22023'),
    ($$smarthub.create_user('x@example.com', 'x', 'pw', roles => ARRAY['nope'])$$, 'SQLSTATE 22023'),
    ($$smarthub.create_user('x@example.com', 'x', 'pw', roles => ARRAY[NULL])$$, 'SQLSTATE 22023'),
    ($$smarthub.create_user(repeat('a', 300) || '@example.com', 'x', 'pw')$$, 'SQLSTATE 22001'),
-- login: NULL for every failure
    ($$left(smarthub.login('bad1', 'new-password'), 4)$$, 'shs_'),
    ($$left(smarthub.login('BAD1@example.COM', 'new-password'), 4)$$, 'shs_'),
    ($$smarthub.login('bad1', 'right-password')$$, NULL),
    ($$smarthub.login('bad1', 'wrong-password')$$, NULL),
    ($$smarthub.login('bad1', '')$$, NULL),
    ($$smarthub.login('bad1', NULL)$$, NULL),
    ($$smarthub.login(NULL, 'right-password')$$, NULL),
    ($$smarthub.login('', '')$$, NULL),
    ($$smarthub.login(' bad1', 'new-password')$$, NULL),
    ($$smarthub.login('bad1', repeat('p', 73))$$, NULL),
    ($$smarthub.login(repeat('x', 1048576), 'right-password')$$, NULL),
    ($$smarthub.login('nobody-ünï', 'right-password')$$, NULL),
    ($$smarthub.login('bad2', 'right-password')$$, NULL),
    ($$smarthub.login('bad3', 'right-password')$$, NULL),
    ($$smarthub.login('bad1', 'new-password', ttl => interval '-1 hour')$$, 'SQLSTATE 22023'),
-- encryption (the test cluster has a demo keyring whose highest id is 2)
    ($$smarthub.encrypt(NULL)$$, NULL),
    ($$smarthub.decrypt(NULL)$$, NULL),
    ($$smarthub.decrypt(smarthub.encrypt('')) = ''$$, 'true'),
    ($$smarthub.decrypt_text(smarthub.encrypt_text('ünï 名前', 'ctx'), 'ctx')$$, 'ünï 名前'),
    ($$smarthub.decrypt_text(smarthub.encrypt_text(repeat('é', 524288))) = repeat('é', 524288)$$, 'true'),
    ($$smarthub.key_id(smarthub.encrypt('x'))$$, '2'),
    ($$smarthub.decrypt(smarthub.encrypt('x', 'users.a:1'), 'users.a:2')$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt(''::bytea)$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt('\x01'::bytea)$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt(decode(repeat('00', 40), 'hex'))$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt(decode('01000000ff' || repeat('00', 40), 'hex'))$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt(convert_to(repeat('x', 1048576), 'UTF8'))$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt_text('')$$, 'SQLSTATE 22023'),
    ($$smarthub.decrypt_text('not base64 !!')$$, 'SQLSTATE 22023'),
    ($$smarthub.reencrypt('\x00'::bytea)$$, 'SQLSTATE 22023'),
    ($$smarthub.key_id(''::bytea)$$, 'SQLSTATE 22023'),
-- audit management
    ($$smarthub.enable_audit('public.bad_input_v')$$, 'SQLSTATE 42809'),
    ($$smarthub.enable_audit('public.bad_input_s')$$, 'SQLSTATE 42809'),
    ($$smarthub.enable_audit('public.bad_input_p')$$, 'SQLSTATE 42809'),
    ($$smarthub.enable_audit('smarthub.audit_logs')$$, 'SQLSTATE 42809'),
    ($$smarthub.enable_audit(NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.enable_audit('public.bad_input_int')$$, 'SQLSTATE 42804'),
    ($$smarthub.enable_audit('public.bad_input_t', id_column => 'nope')$$, 'SQLSTATE 42703'),
    ($$smarthub.enable_audit('public.bad_input_t', id_column => 'ctid')$$, 'SQLSTATE 42703'),
    ($$smarthub.enable_audit('public.bad_input_t', excluded_columns => '{nope}')$$, 'SQLSTATE 42703'),
    ($$smarthub.enable_audit('public.bad_input_t', ignored_columns => '{nope}')$$, 'SQLSTATE 42703'),
    ($$smarthub.enable_audit('public.bad_input_t', excluded_columns => NULL)$$, 'SQLSTATE 22004'),
    ($$smarthub.enable_audit('public.bad_input_t', excluded_columns => ARRAY[NULL])$$, 'SQLSTATE 22004'),
    ($$smarthub.enable_audit('public.bad_input_t', entity_type => '')$$, 'SQLSTATE 22023'),
    ($$smarthub.enable_audit('public.bad_input_t', entity_type => repeat('e', 101))$$, 'SQLSTATE 22001'),
    ($$smarthub.enable_audit('public.bad_input_t', entity_type => 'ünï 名前')$$, ''),
    ($$smarthub.disable_audit('public.bad_input_int')$$, 'SQLSTATE 42704'),
    ($$smarthub.disable_audit(NULL)$$, NULL),
    ($$smarthub.purge_audit_logs(NULL)$$, NULL),
    ($$smarthub.purge_audit_logs(interval '-1 day')$$, 'SQLSTATE 22023'),
    ($$smarthub.purge_audit_logs(interval '1000 years')$$, '0'),
    ($$(SELECT count(*) FROM smarthub.entity_history('users', 'c0000000-0000-4000-8000-00000000dead'))$$, '0'),
    ($$(SELECT count(*) FROM smarthub.entity_history(NULL, NULL))$$, '0'),
    ($$(SELECT count(*) FROM smarthub.entity_history(repeat('x', 1048576), 'b0000000-0000-4000-8000-000000000001'))$$, '0'),
    ($$(SELECT count(*) FROM smarthub.entity_history('users', 'b0000000-0000-4000-8000-000000000001', 2))$$, '2'),
    ($$(SELECT count(*) FROM smarthub.entity_history('users', 'b0000000-0000-4000-8000-000000000001', 0))$$, '0'),
    ($$(SELECT count(*) FROM smarthub.entity_history('users', 'b0000000-0000-4000-8000-000000000001', -1))$$, 'SQLSTATE 2201W');

SELECT plan((SELECT count(*)::int FROM cases));
SELECT is(pg_temp.outcome(call), expected, left(call, 150)) FROM cases ORDER BY n;
SELECT * FROM finish();
ROLLBACK;
