-- One-time tokens: create_email_verification / verify_email, request_password_reset /
-- reset_password, create_magic_link / login_with_magic_link. Format, storage (only the SHA-256),
-- TTL settings, single use, every kind of bad token (NULL, nothing spent where nothing was read),
-- invalidation by a password or email change, the caller rules as an untrusted application role
-- with and without identity, a trusted role and an admin identity, RLS and privileges on the
-- table, audit rows, and refusals inside operations run on another role's behalf.
-- (Concurrent redemption and the equal work of unknown logins: test/shell/075_onetime_concurrency.sh.)
BEGIN;
SELECT plan(132);
SET LOCAL smarthub.bcrypt_cost = 4;

CREATE ROLE ot_app;
CREATE ROLE ot_svc;
SELECT smarthub.grant_access('ot_app');
SELECT smarthub.grant_access('ot_svc', trusted => true);
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('d1000000-0000-4000-8000-000000000001', 'one@ot.io',   'ot_one',   smarthub.hash_password('old-password', 4)),
    ('d1000000-0000-4000-8000-000000000002', 'two@ot.io',   'ot_two',   smarthub.hash_password('old-password', 4)),
    ('d1000000-0000-4000-8000-000000000003', 'admin@ot.io', 'ot_admin', smarthub.hash_password('old-password', 4)),
    ('d1000000-0000-4000-8000-000000000004', 'off@ot.io',   'ot_off',   smarthub.hash_password('old-password', 4)),
    ('d1000000-0000-4000-8000-000000000005', 'gone@ot.io',  'ot_gone',  smarthub.hash_password('old-password', 4));
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('d1000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),
    ('d1000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002'),
    ('d1000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001');
UPDATE smarthub.users SET is_active = false WHERE username = 'ot_off';
UPDATE smarthub.users SET deleted_at = now() WHERE username = 'ot_gone';

-- The plaintext tokens, where the application role can read them back.
CREATE TEMP TABLE tok (label text PRIMARY KEY, secret text);
GRANT SELECT, INSERT ON tok TO PUBLIC;
CREATE FUNCTION pg_temp.t(label text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT secret FROM tok WHERE tok.label = t.label $$;
CREATE FUNCTION pg_temp.sha(token text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') $$;
-- The same token with its last character changed: the checksum no longer matches.
CREATE FUNCTION pg_temp.typo(token text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT left(token, 41) || CASE right(token, 1) WHEN 'A' THEN 'B' ELSE 'A' END $$;
-- Rows a statement affected, run with the caller's rights.
CREATE FUNCTION pg_temp.affected(sql text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    EXECUTE sql;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION pg_temp.rows_of(user_id uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(purpose, ',' ORDER BY purpose), '') FROM smarthub.one_time_tokens t WHERE t.user_id = rows_of.user_id $$;

---------------------------------------------------------------------------------------------------
-- Catalog
---------------------------------------------------------------------------------------------------
SELECT policies_are('smarthub', 'one_time_tokens', ARRAY['one_time_tokens_select', 'one_time_tokens_delete'], 'one_time_tokens: read and delete policies only');
SELECT ok((SELECT relrowsecurity AND NOT relforcerowsecurity FROM pg_class WHERE oid = 'smarthub.one_time_tokens'::regclass), 'RLS enabled, not forced');
SELECT column_privs_are('smarthub', 'one_time_tokens', 'token_hash', 'ot_app', '{}'::text[], 'token_hash: no privilege at all');
SELECT column_privs_are('smarthub', 'one_time_tokens', 'email', 'ot_app', ARRAY['SELECT'], 'email: SELECT');
SELECT table_privs_are('smarthub', 'one_time_tokens', 'ot_app', ARRAY['DELETE'], 'table level: DELETE only (SELECT per column)');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'smarthub'::regnamespace AND prosecdef
             AND proname IN ('create_email_verification', 'verify_email', 'request_password_reset', 'reset_password',
                             'create_magic_link', 'login_with_magic_link', 'void_one_time_tokens')), 0, 'no SECURITY DEFINER');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'smarthub'::regnamespace
             AND proname IN ('create_email_verification', 'verify_email', 'request_password_reset', 'reset_password',
                             'create_magic_link', 'login_with_magic_link')
             AND has_function_privilege('ot_app', oid, 'EXECUTE')
             AND NOT has_function_privilege('public', oid, 'EXECUTE')), 6, 'grant_access grants all six, PUBLIC none');
SELECT function_privs_are('smarthub', 'void_one_time_tokens', '{}'::name[], 'ot_app', '{}'::text[], 'the trigger function is not granted');
SELECT is(current_setting('smarthub.email_verification_ttl'), '1d', 'email_verification_ttl defaults to 1 day');
SELECT is(current_setting('smarthub.password_reset_ttl'), '1h', 'password_reset_ttl defaults to 1 hour');
SELECT is(current_setting('smarthub.magic_link_ttl'), '15min', 'magic_link_ttl defaults to 15 minutes');
SELECT is((SELECT string_agg(context, ',') FROM pg_settings WHERE name LIKE 'smarthub.%\_ttl' AND name <> 'smarthub.session_ttl'),
          'superuser,superuser,superuser', 'the three ttls are superuser settings');

---------------------------------------------------------------------------------------------------
-- Format and storage (as the DBA, a trusted caller)
---------------------------------------------------------------------------------------------------
INSERT INTO tok VALUES ('v1', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000001'));
SELECT matches(pg_temp.t('v1'), '^shv_[0-9A-Za-z]{38}$', 'create_email_verification: shv_ + 38 base62 characters');
SELECT results_eq($$SELECT purpose, email, expires_at = now() + interval '1 day', created_at = now()
                      FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('v1'))$$,
    $$VALUES ('email_verification'::text, 'one@ot.io'::text, true, true)$$,
    'one row under the SHA-256 of the token: the address it verifies, expiring in email_verification_ttl');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens t WHERE row_to_json(t)::text LIKE '%' || substr(pg_temp.t('v1'), 5, 20) || '%'),
          0, 'the plaintext is stored nowhere');
SET LOCAL smarthub.password_reset_ttl = '10min';
INSERT INTO tok VALUES ('r1', smarthub.request_password_reset('ot_one'));
SELECT matches(pg_temp.t('r1'), '^shr_[0-9A-Za-z]{38}$', 'request_password_reset by username: shr_');
SELECT results_eq($$SELECT purpose, email IS NULL, expires_at = now() + interval '10 minutes'
                      FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('r1'))$$,
    $$VALUES ('password_reset'::text, true, true)$$, 'a reset token expires in password_reset_ttl');
RESET smarthub.password_reset_ttl;
INSERT INTO tok VALUES ('m1', smarthub.create_magic_link('ONE@OT.IO'));
SELECT matches(pg_temp.t('m1'), '^shm_[0-9A-Za-z]{38}$', 'create_magic_link by email, in any case: shm_');
SELECT results_eq($$SELECT purpose, expires_at = now() + interval '15 minutes'
                      FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('m1'))$$,
    $$VALUES ('magic_link'::text, true)$$, 'a magic link expires in magic_link_ttl');
SELECT isnt(smarthub.request_password_reset('One@Ot.Io'), NULL, 'the login matches case-insensitively');
SELECT isnt(smarthub.request_password_reset('ot_one'), pg_temp.t('r1'), 'each request is a new token');
SELECT is(smarthub.request_password_reset('nobody@ot.io'), NULL, 'request_password_reset: unknown login NULL');
SELECT is(smarthub.request_password_reset('ot_off'), NULL, '... inactive user NULL');
SELECT is(smarthub.request_password_reset('gone@ot.io'), NULL, '... soft-deleted user NULL');
SELECT is(smarthub.request_password_reset(NULL), NULL, '... NULL login NULL');
SELECT is(smarthub.request_password_reset(' ot_one'), NULL, '... blanks are not trimmed');
SELECT is(smarthub.request_password_reset(repeat('x', 1048576)), NULL, '... a megabyte NULL');
SELECT is(smarthub.create_magic_link('nobody'), NULL, 'create_magic_link: unknown login NULL');
SELECT is(smarthub.create_magic_link('off@ot.io'), NULL, '... inactive user NULL');
SELECT is(smarthub.create_magic_link('ot_gone'), NULL, '... soft-deleted user NULL');
SELECT is(smarthub.create_magic_link(''), NULL, '... empty login NULL');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE user_id IN
             ('d1000000-0000-4000-8000-000000000004', 'd1000000-0000-4000-8000-000000000005')), 0,
          'no token was stored for the inactive or deleted user');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-0000000000ff')$$, 'P0002', NULL, 'create_email_verification: unknown user P0002');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-000000000004')$$, 'P0002', NULL, '... inactive user P0002');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-000000000005')$$, 'P0002', NULL, '... soft-deleted user P0002');
SELECT throws_ok($$SELECT smarthub.create_email_verification(NULL)$$, '22004', NULL, '... NULL user 22004');
-- a new token purges the user's expired ones
UPDATE smarthub.one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = pg_temp.sha(pg_temp.t('r1'));
SELECT isnt(smarthub.create_magic_link('ot_one'), NULL, 'another token for the same user ...');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('r1'))), 0, '... purges the user''s expired ones');

---------------------------------------------------------------------------------------------------
-- verify_email: once, and NULL for every bad token
---------------------------------------------------------------------------------------------------
SELECT is(smarthub.verify_email('shr_' || substr(pg_temp.t('v1'), 5)), NULL, 'verify_email: wrong prefix NULL');
SELECT is(smarthub.verify_email(pg_temp.t('m1')), NULL, '... a magic link token NULL');
SELECT is(smarthub.verify_email(pg_temp.typo(pg_temp.t('v1'))), NULL, '... bad checksum NULL');
SELECT is(smarthub.verify_email(left(pg_temp.t('v1'), 41)), NULL, '... truncated NULL');
SELECT is(smarthub.verify_email(pg_temp.t('v1') || 'x'), NULL, '... too long NULL');
SELECT is(smarthub.verify_email(repeat('x', 1048576)), NULL, '... a megabyte NULL');
SELECT is(smarthub.verify_email(upper(pg_temp.t('v1'))), NULL, '... case matters');
SELECT is(smarthub.verify_email(NULL), NULL, '... NULL NULL');
SELECT is(pg_temp.rows_of('d1000000-0000-4000-8000-000000000001'), 'email_verification,magic_link,magic_link,password_reset,password_reset',
          'none of those spent a token');
SELECT is(smarthub.verify_email(pg_temp.t('v1')), 'd1000000-0000-4000-8000-000000000001'::uuid, 'verify_email: the live token returns its user');
SELECT results_eq($$SELECT email_verified, email_verified_at = now() FROM smarthub.users WHERE username = 'ot_one'$$,
    $$VALUES (true, true)$$, '... and sets email_verified and email_verified_at');
SELECT is((SELECT changes FROM smarthub.audit_logs WHERE entity_id = 'd1000000-0000-4000-8000-000000000001' AND action = 'UPDATE'
            ORDER BY id DESC LIMIT 1) -> 'after' ->> 'email_verified', 'true', '... an UPDATE the users audit trigger records');
SELECT is(smarthub.verify_email(pg_temp.t('v1')), NULL, 'a used token NULL');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('v1'))), 0, 'its row is gone');
INSERT INTO tok VALUES ('v-expired', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002'));
UPDATE smarthub.one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = pg_temp.sha(pg_temp.t('v-expired'));
SELECT is(smarthub.verify_email(pg_temp.t('v-expired')), NULL, 'an expired token NULL');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('v-expired'))), 0, '... and presenting it deleted it');
SELECT is((SELECT email_verified FROM smarthub.users WHERE username = 'ot_two'), false, '... the user stays unverified');
-- a verification token is void once the address is another's: without the trigger (which deletes
-- it first), the email check alone refuses it, also when another user took the address
INSERT INTO tok VALUES ('v2', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002'));
ALTER TABLE smarthub.users DISABLE TRIGGER void_one_time_tokens;
UPDATE smarthub.users SET email = 'two-new@ot.io' WHERE username = 'ot_two';
UPDATE smarthub.users SET email = 'two@ot.io' WHERE username = 'ot_admin';
SELECT is(smarthub.verify_email(pg_temp.t('v2')), NULL, 'a token for an address the user no longer has, now another user''s: NULL');
SELECT is((SELECT count(*)::int FROM smarthub.users WHERE email_verified AND username IN ('ot_two', 'ot_admin')), 0, '... and neither user is verified');
ALTER TABLE smarthub.users ENABLE TRIGGER void_one_time_tokens;
UPDATE smarthub.users SET email = 'admin@ot.io' WHERE username = 'ot_admin';
UPDATE smarthub.users SET email = 'two@ot.io' WHERE username = 'ot_two';
INSERT INTO tok VALUES ('v-inactive', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002'));
UPDATE smarthub.users SET is_active = false WHERE username = 'ot_two';
SELECT is(smarthub.verify_email(pg_temp.t('v-inactive')), NULL, 'a token of a user deactivated since: NULL');
UPDATE smarthub.users SET is_active = true WHERE username = 'ot_two';

---------------------------------------------------------------------------------------------------
-- Invalidation: an email change voids every token, a password change the reset and magic links
---------------------------------------------------------------------------------------------------
INSERT INTO tok VALUES ('v3', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002')),
                       ('r3', smarthub.request_password_reset('ot_two')),
                       ('m3', smarthub.create_magic_link('ot_two'));
UPDATE smarthub.users SET email_verified = true, email_verified_at = now() WHERE username = 'ot_two';
UPDATE smarthub.users SET first_name = 'Two' WHERE username = 'ot_two';
SELECT is(pg_temp.rows_of('d1000000-0000-4000-8000-000000000002'), 'email_verification,magic_link,password_reset', 'an update that keeps the email keeps the tokens');
UPDATE smarthub.users SET email = 'TWO@ot.io' WHERE username = 'ot_two';
SELECT is(pg_temp.rows_of('d1000000-0000-4000-8000-000000000002'), '', 'a changed email (even its case) deletes all the user''s tokens');
SELECT is(smarthub.verify_email(pg_temp.t('v3')), NULL, '... the verification token is NULL');
SELECT is(smarthub.reset_password(pg_temp.t('r3'), 'new-password'), NULL, '... the reset token is NULL');
SELECT is(smarthub.login_with_magic_link(pg_temp.t('m3')), NULL, '... the magic link is NULL');
SELECT results_eq($$SELECT email_verified, email_verified_at FROM smarthub.users WHERE username = 'ot_two'$$,
    $$VALUES (false, NULL::timestamptz)$$, '... and the email is unverified again');
INSERT INTO tok VALUES ('v4', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002')),
                       ('r4', smarthub.request_password_reset('ot_two')),
                       ('m4', smarthub.create_magic_link('ot_two'));
SELECT smarthub.set_password('d1000000-0000-4000-8000-000000000002', 'another-password');
SELECT is(pg_temp.rows_of('d1000000-0000-4000-8000-000000000002'), 'email_verification', 'set_password deletes the reset and magic link tokens, not the verification');
SELECT is(smarthub.reset_password(pg_temp.t('r4'), 'new-password'), NULL, '... the reset token is NULL');
SELECT is(smarthub.login_with_magic_link(pg_temp.t('m4')), NULL, '... the magic link is NULL');
SELECT is(smarthub.verify_email(pg_temp.t('v4')), 'd1000000-0000-4000-8000-000000000002'::uuid, '... the verification token still works');

---------------------------------------------------------------------------------------------------
-- reset_password
---------------------------------------------------------------------------------------------------
INSERT INTO tok VALUES ('r5', smarthub.request_password_reset('ot_one')),
                       ('r6', smarthub.request_password_reset('ot_one')),
                       ('m5', smarthub.create_magic_link('ot_one')),
                       ('v5', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000001')),
                       ('s1', smarthub.create_session('d1000000-0000-4000-8000-000000000001')),
                       ('s2', smarthub.create_session('d1000000-0000-4000-8000-000000000001'));
SELECT throws_ok($$SELECT smarthub.reset_password(pg_temp.t('r5'), '')$$, '22023', NULL, 'reset_password: an empty password 22023');
SELECT throws_ok($$SELECT smarthub.reset_password(pg_temp.t('r5'), repeat('p', 73))$$, '22023', NULL, '... over 72 bytes 22023');
SELECT throws_ok($$SELECT smarthub.reset_password(pg_temp.t('r5'), NULL)$$, '22004', NULL, '... NULL password 22004');
SELECT throws_ok($$SELECT smarthub.reset_password('garbage', '')$$, '22023', NULL, '... the password is judged first, whatever the token');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE token_hash = pg_temp.sha(pg_temp.t('r5'))), 1, 'a refused password spends no token');
SELECT is(smarthub.reset_password(NULL, 'new-password'), NULL, 'reset_password: NULL token NULL');
SELECT is(smarthub.reset_password(pg_temp.t('m5'), 'new-password'), NULL, '... a magic link token NULL');
SELECT is(smarthub.reset_password(pg_temp.t('v5'), 'new-password'), NULL, '... a verification token NULL');
SELECT is(smarthub.reset_password(pg_temp.typo(pg_temp.t('r5')), 'new-password'), NULL, '... bad checksum NULL');
SELECT is(smarthub.reset_password('shr_' || repeat('A', 38), 'new-password'), NULL, '... a well-formed unknown token NULL');
SELECT is(smarthub.reset_password(pg_temp.t('r5'), 'new-password'), 'd1000000-0000-4000-8000-000000000001'::uuid, 'reset_password: the live token returns its user');
SELECT ok(smarthub.verify_password('new-password', (SELECT password_hash FROM smarthub.users WHERE username = 'ot_one')), '... the new password is set');
SELECT is(left((SELECT password_hash FROM smarthub.users WHERE username = 'ot_one'), 7), '$2b$04$', '... hashed at smarthub.bcrypt_cost');
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE user_id = 'd1000000-0000-4000-8000-000000000001'), 0, '... all the user''s sessions are revoked');
SELECT is(smarthub.verify_session(pg_temp.t('s1')), NULL, '... so its session tokens fail');
SELECT is(pg_temp.rows_of('d1000000-0000-4000-8000-000000000001'), 'email_verification', '... the other reset token and the magic link are gone');
SELECT is(smarthub.reset_password(pg_temp.t('r6'), 'third-password'), NULL, '... the other reset token is NULL');
SELECT results_eq($$SELECT entity_type::text, user_id, actor_id, changes FROM smarthub.audit_logs WHERE action = 'PASSWORD_RESET'$$,
    $$VALUES ('users'::text, 'd1000000-0000-4000-8000-000000000001'::uuid, 'd1000000-0000-4000-8000-000000000001'::uuid, '{"sessions_revoked": 2}'::jsonb)$$,
    '... one PASSWORD_RESET audit row, by and about the user, without any hash');
SELECT is(smarthub.reset_password(pg_temp.t('r5'), 'third-password'), NULL, 'a used reset token NULL');
SELECT ok(smarthub.verify_password('new-password', (SELECT password_hash FROM smarthub.users WHERE username = 'ot_one')), '... the password stays');
INSERT INTO tok VALUES ('r-expired', smarthub.request_password_reset('ot_one'));
UPDATE smarthub.one_time_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = pg_temp.sha(pg_temp.t('r-expired'));
SELECT is(smarthub.reset_password(pg_temp.t('r-expired'), 'third-password'), NULL, 'an expired reset token NULL');
INSERT INTO tok VALUES ('r-deleted', smarthub.request_password_reset('ot_two'));
UPDATE smarthub.users SET deleted_at = now() WHERE username = 'ot_two';
SELECT is(smarthub.reset_password(pg_temp.t('r-deleted'), 'third-password'), NULL, 'a token of a user soft-deleted since: NULL');
UPDATE smarthub.users SET deleted_at = NULL WHERE username = 'ot_two';
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE action = 'PASSWORD_RESET'), 1, 'failed resets write no audit row');

---------------------------------------------------------------------------------------------------
-- login_with_magic_link
---------------------------------------------------------------------------------------------------
INSERT INTO tok VALUES ('m6', smarthub.create_magic_link('ot_one'));
SELECT is(smarthub.login_with_magic_link(pg_temp.typo(pg_temp.t('m6'))), NULL, 'login_with_magic_link: bad checksum NULL');
SELECT is(smarthub.login_with_magic_link('shv_' || substr(pg_temp.t('m6'), 5)), NULL, '... wrong prefix NULL');
SELECT is(smarthub.login_with_magic_link(NULL, '192.0.2.1'), NULL, '... NULL NULL');
INSERT INTO tok VALUES ('session', smarthub.login_with_magic_link(pg_temp.t('m6'), '192.0.2.44', 'MagicAgent/1'));
SELECT matches(pg_temp.t('session'), '^shs_[0-9A-Za-z]{38}$', 'login_with_magic_link: a session token');
SELECT is(smarthub.verify_session(pg_temp.t('session')), 'd1000000-0000-4000-8000-000000000001'::uuid, '... of the user');
SELECT results_eq($$SELECT ip_address, user_agent, expires_at = now() + interval '1 day' FROM smarthub.sessions
                     WHERE token_hash = pg_temp.sha(pg_temp.t('session'))$$,
    $$VALUES ('192.0.2.44'::inet, 'MagicAgent/1'::text, true)$$, '... with the address and agent given, for smarthub.session_ttl');
SELECT results_eq($$SELECT last_login_at = now(), email_verified FROM smarthub.users WHERE username = 'ot_one'$$,
    $$VALUES (true, true)$$, '... last_login_at set (email_verified left as it was)');
SELECT results_eq($$SELECT user_id, actor_id, changes, ip_address, user_agent FROM smarthub.audit_logs
                     WHERE action = 'LOGIN' AND entity_id = 'd1000000-0000-4000-8000-000000000001'$$,
    $$VALUES ('d1000000-0000-4000-8000-000000000001'::uuid, 'd1000000-0000-4000-8000-000000000001'::uuid,
              '{"method": "magic_link"}'::jsonb, '192.0.2.44'::inet, 'MagicAgent/1'::text)$$,
    '... and a LOGIN audit row, as login writes');
SELECT is(smarthub.login_with_magic_link(pg_temp.t('m6')), NULL, 'a used magic link NULL');
-- the purpose is checked in the table too: a row whose purpose is not the token's type is no token
INSERT INTO tok VALUES ('m7', smarthub.create_magic_link('ot_one'));
UPDATE smarthub.one_time_tokens SET purpose = 'password_reset' WHERE token_hash = pg_temp.sha(pg_temp.t('m7'));
SELECT is(smarthub.login_with_magic_link(pg_temp.t('m7')), NULL, 'a shm_ token whose row is of another purpose: NULL');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE action = 'LOGIN'), 1, 'failed magic links write no audit row');
INSERT INTO tok VALUES ('m-inactive', smarthub.create_magic_link('ot_two'));
UPDATE smarthub.users SET is_active = false WHERE username = 'ot_two';
SELECT is(smarthub.login_with_magic_link(pg_temp.t('m-inactive')), NULL, 'a magic link of a user deactivated since: NULL');
UPDATE smarthub.users SET is_active = true WHERE username = 'ot_two';
DELETE FROM smarthub.users WHERE username = 'ot_off';
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE user_id = 'd1000000-0000-4000-8000-000000000004'), 0, 'tokens go with their user (ON DELETE CASCADE)');

---------------------------------------------------------------------------------------------------
-- Caller rules, as an untrusted application role
---------------------------------------------------------------------------------------------------
SET LOCAL ROLE ot_app;
-- no identity: requesting and redeeming work (that is their point); making a token for a user does not
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-000000000001')$$, '42501', NULL,
                 'no identity: create_email_verification for anyone 42501');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-0000000000ff')$$, '42501', NULL,
                 '... an unknown user too (42501 before any look-up: nothing revealed)');
INSERT INTO tok VALUES ('app-r', smarthub.request_password_reset('ot_one')), ('app-m', smarthub.create_magic_link('ot_two'));
SELECT ok(pg_temp.t('app-r') LIKE 'shr_%' AND pg_temp.t('app-m') LIKE 'shm_%', 'no identity: request_password_reset and create_magic_link work');
SELECT is(smarthub.request_password_reset('nobody@ot.io'), NULL, 'no identity: an unknown login NULL, no error');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens), 0, 'no identity: no row of the table is visible');
SELECT throws_ok($$SELECT token_hash FROM smarthub.one_time_tokens$$, '42501', NULL, 'token_hash is never readable');
SELECT throws_ok($$INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, expires_at)
                   VALUES ('d1000000-0000-4000-8000-000000000001', 'magic_link', repeat('a', 64), now() + interval '1 day')$$,
                 '42501', NULL, 'an application role cannot insert a token');
SELECT throws_ok($$UPDATE smarthub.one_time_tokens SET expires_at = 'infinity'$$, '42501', NULL, '... nor extend one');
SELECT throws_ok($$SET smarthub.magic_link_ttl = '1d'$$, '42501', NULL, '... nor lengthen a ttl');
SELECT is(smarthub.login_with_magic_link(pg_temp.t('app-m')) LIKE 'shs_%', true, 'no identity: login_with_magic_link works');
SELECT is(smarthub.reset_password(pg_temp.t('app-r'), 'app-password'), 'd1000000-0000-4000-8000-000000000001'::uuid, 'no identity: reset_password works');
RESET ROLE;
-- identity: the user itself (user 1 has a verification token from above, user 2 one of its own)
INSERT INTO tok VALUES ('two-v', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002'));
SELECT smarthub.set_current_user('d1000000-0000-4000-8000-000000000001');
SET LOCAL ROLE ot_app;
INSERT INTO tok VALUES ('own-v', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000001'));
SELECT ok(pg_temp.t('own-v') LIKE 'shv_%', 'a user makes its own verification token');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002')$$, '42501', NULL, '... not another user''s');
SELECT results_eq($$SELECT user_id, purpose, email, count(*)::int FROM smarthub.one_time_tokens GROUP BY 1, 2, 3$$,
    $$VALUES ('d1000000-0000-4000-8000-000000000001'::uuid, 'email_verification'::text, 'one@ot.io'::text, 2)$$,
    'the user reads its own tokens (not another''s)');
SELECT is(pg_temp.affected('DELETE FROM smarthub.one_time_tokens'), 2, 'the user deletes its own tokens (cancels a link), no other');
SELECT is(smarthub.verify_email(pg_temp.t('own-v')), NULL, '... which then fail');
RESET ROLE;
-- an admin identity makes tokens for anyone, reads and deletes all
SELECT smarthub.set_current_user('d1000000-0000-4000-8000-000000000003');
SET LOCAL ROLE ot_app;
INSERT INTO tok VALUES ('admin-v', smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002'));
SELECT ok(pg_temp.t('admin-v') LIKE 'shv_%', 'an admin identity makes a verification token for another user');
SELECT throws_ok($$SELECT smarthub.create_email_verification('d1000000-0000-4000-8000-0000000000ff')$$, 'P0002', NULL, '... P0002 for an unknown user');
SELECT is(smarthub.verify_email(pg_temp.t('admin-v')), 'd1000000-0000-4000-8000-000000000002'::uuid, '... whose user verifies with it');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE user_id = 'd1000000-0000-4000-8000-000000000002'), 1, '... reads another user''s tokens');
SELECT is(pg_temp.affected('DELETE FROM smarthub.one_time_tokens'), 1, '... and deletes them');
SELECT is(smarthub.verify_email(pg_temp.t('two-v')), NULL, '... which then fail');
RESET ROLE;
SELECT smarthub.clear_current_user();
-- a trusted role, without identity
SET LOCAL ROLE ot_svc;
SELECT ok(smarthub.create_email_verification('d1000000-0000-4000-8000-000000000002') LIKE 'shv_%', 'a trusted role makes a verification token for anyone');
RESET ROLE;

---------------------------------------------------------------------------------------------------
-- Refusals: inside an operation run on another role's behalf, and in a read-only transaction
---------------------------------------------------------------------------------------------------
CREATE ROLE ot_attacker;
SELECT smarthub.grant_access('ot_attacker');
GRANT CREATE ON SCHEMA public TO ot_attacker;
SET LOCAL ROLE ot_attacker;
CREATE TABLE public.ot_loot (attempt text, outcome text);
CREATE FUNCTION public.ot_try(attempt text, sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    EXECUTE sql INTO got;
    INSERT INTO public.ot_loot VALUES (attempt, coalesce(got, 'NULL'));
EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.ot_loot VALUES (attempt, SQLSTATE);
END $$;
CREATE FUNCTION public.ot_bait(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.ot_try('create_email_verification', 'SELECT smarthub.create_email_verification(''d1000000-0000-4000-8000-000000000001'')');
    PERFORM public.ot_try('verify_email', 'SELECT smarthub.verify_email(''shv_'' || repeat(''A'', 38))::text');
    PERFORM public.ot_try('request_password_reset', 'SELECT smarthub.request_password_reset(''ot_admin'')');
    PERFORM public.ot_try('reset_password', 'SELECT smarthub.reset_password(''shr_'' || repeat(''A'', 38), ''owned-password'')::text');
    PERFORM public.ot_try('create_magic_link', 'SELECT smarthub.create_magic_link(''ot_admin'')');
    PERFORM public.ot_try('login_with_magic_link', 'SELECT smarthub.login_with_magic_link(''shm_'' || repeat(''A'', 38))');
    RETURN x;
END $$;
CREATE TABLE public.ot_bait_t (x int);
INSERT INTO public.ot_bait_t VALUES (1);
RESET ROLE;
SELECT smarthub.set_current_user('d1000000-0000-4000-8000-000000000003');
CREATE INDEX ON public.ot_bait_t (public.ot_bait(x));
SELECT smarthub.clear_current_user();
SELECT results_eq($$SELECT attempt, outcome FROM public.ot_loot ORDER BY attempt$$,
    $$VALUES ('create_email_verification', '42501'), ('create_magic_link', '42501'), ('login_with_magic_link', '42501'),
             ('request_password_reset', '42501'), ('reset_password', '42501'), ('verify_email', '42501')$$,
    'inside CREATE INDEX (the table owner''s code, the DBA an admin): all six 42501');
SELECT is((SELECT count(*)::int FROM smarthub.one_time_tokens WHERE user_id = 'd1000000-0000-4000-8000-000000000003'), 0, '... and no token was made');
-- (last: the transaction stays read-only to its end)
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT smarthub.request_password_reset('ot_one')$$, '25006', NULL, 'read-only transaction: request_password_reset 25006 ...');
SELECT throws_ok($$SELECT smarthub.request_password_reset('nobody@ot.io')$$, '25006', NULL, '... for an unknown login too: no error tells');
SELECT throws_ok($$SELECT smarthub.create_magic_link('nobody@ot.io')$$, '25006', NULL, '... create_magic_link likewise');

SELECT * FROM finish();
ROLLBACK;
