-- Login throttling: attempts counted per account and per address, the lockout exactly at the
-- threshold, a refused attempt that looks like a wrong password (NULL, a LOGIN_LOCKED row), unknown
-- logins throttled exactly as known ones, the backoff doubling, reset by a successful login,
-- unlock_login's caller rules, the settings' privileges, and purge_expired_sessions' clean-up.
-- (100 concurrent guesses and the equal work: test/shell/024_login_throttle.sh.)
BEGIN;
SELECT plan(44);

LOAD 'smarthub';
SET LOCAL smarthub.bcrypt_cost = 4;
SET LOCAL smarthub.login_max_failures = 3;
SET LOCAL smarthub.login_lockout = '60s';
SET LOCAL smarthub.login_failure_window = '15min';

SELECT is((SELECT string_agg(name || '=' || setting || coalesce(unit, '') || '/' || context, ', ' ORDER BY name) FROM pg_settings
            WHERE name IN ('smarthub.login_max_failures', 'smarthub.login_failure_window', 'smarthub.login_lockout')),
    'smarthub.login_failure_window=900s/superuser, smarthub.login_lockout=60s/superuser, smarthub.login_max_failures=3/superuser',
    'three superuser settings (here: 3 failures, 15 minutes, 60 s)');

INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('a2300000-0000-4000-8000-000000000001', 'thr@example.com', 'thr', smarthub.hash_password('right-password')),
    ('a2300000-0000-4000-8000-000000000002', 'other@example.com', 'other', smarthub.hash_password('other-password')),
    ('a2300000-0000-4000-8000-000000000003', 'boss@example.com', 'boss', 'h');
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('a2300000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001');
CREATE FUNCTION pg_temp.logins(action text) RETURNS bigint LANGUAGE sql
    AS $$SELECT count(*) FROM smarthub.audit_logs WHERE action = $1 AND changes ->> 'login' IN ('thr', 'THR@example.com', 'ghost')$$;
CREATE FUNCTION pg_temp.row_of(s text) RETURNS text LANGUAGE sql
    AS $$SELECT attempts || '|' || coalesce((locked_until > now())::text, 'null') || '|' || lockouts
          FROM smarthub.login_throttle WHERE scope = 'account' AND subject = s$$;

-- The threshold, exactly.
SELECT is(smarthub.login('thr', 'wrong-1'), NULL, 'failure 1');
SELECT is(smarthub.login('THR@example.com', 'wrong-2'), NULL, 'failure 2, by email and in capitals: the same account');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), '2|null|0', 'two attempts counted on the account (its user id)');
SELECT isnt(smarthub.login('thr', 'right-password'), NULL, 'the right password before the threshold: a session');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), NULL, 'a successful login clears the account''s count');
SELECT is(smarthub.login('thr', 'wrong-1'), NULL, 'failure 1 again');
SELECT is(smarthub.login('thr', 'wrong-2'), NULL, 'failure 2');
SELECT is(smarthub.login('thr', 'wrong-3'), NULL, 'failure 3: the threshold');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), '3|null|0', 'three attempts, not yet locked');
SELECT is(smarthub.login('thr', 'right-password'), NULL, 'the 4th attempt is refused, though its password is right');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), '0|true|1', 'the account is locked (the first lockout)');
SELECT is((SELECT round(extract(epoch FROM locked_until - now())) FROM smarthub.login_throttle WHERE subject = 'a2300000-0000-4000-8000-000000000001'),
    60::numeric, 'for smarthub.login_lockout');
SELECT is(smarthub.login('thr', 'right-password'), NULL, 'still refused while locked');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), '0|true|1', '... and attempts during a lock are not counted');
SELECT isnt(smarthub.login('other', 'other-password'), NULL, 'another account is not affected');
SELECT results_eq($$SELECT action::text, changes FROM smarthub.audit_logs WHERE entity_id = 'a2300000-0000-4000-8000-000000000001'
                     AND action::text LIKE 'LOGIN%' ORDER BY created_at, id$$,
    $$VALUES ('LOGIN_FAILED', '{"login": "thr", "reason": "wrong_password"}'::jsonb),
             ('LOGIN_FAILED', '{"login": "THR@example.com", "reason": "wrong_password"}'),
             ('LOGIN', NULL),
             ('LOGIN_FAILED', '{"login": "thr", "reason": "wrong_password"}'),
             ('LOGIN_FAILED', '{"login": "thr", "reason": "wrong_password"}'),
             ('LOGIN_FAILED', '{"login": "thr", "reason": "wrong_password"}'),
             ('LOGIN_LOCKED', '{"login": "thr", "reason": "account_locked"}'),
             ('LOGIN_LOCKED', '{"login": "thr", "reason": "account_locked"}')$$,
    'every attempt audited: LOGIN_FAILED below the threshold, LOGIN_LOCKED when refused');

-- The backoff: a lockout within a window of the last doubles.
UPDATE smarthub.login_throttle SET locked_until = now() - interval '1 second' WHERE subject = 'a2300000-0000-4000-8000-000000000001';
SELECT isnt(smarthub.login('thr', 'right-password'), NULL, 'the lock over: the right password works again');
SELECT is(smarthub.login('thr', 'x1'), NULL, 'then three failures...');
SELECT is(smarthub.login('thr', 'x2'), NULL, '...');
SELECT is(smarthub.login('thr', 'x3'), NULL, '...');
SELECT is(smarthub.login('thr', 'x4'), NULL, '... and a 4th: locked again');
SELECT is(pg_temp.row_of('a2300000-0000-4000-8000-000000000001'), '0|true|1', 'after a success in between, the backoff starts over');
UPDATE smarthub.login_throttle SET locked_until = now() - interval '1 second' WHERE subject = 'a2300000-0000-4000-8000-000000000001';
SELECT is(smarthub.login('thr', 'y1'), NULL, 'no success in between: three failures...');
SELECT is(smarthub.login('thr', 'y2'), NULL, '...');
SELECT is(smarthub.login('thr', 'y3'), NULL, '...');
SELECT is(smarthub.login('thr', 'y4'), NULL, '... and a 4th');
SELECT is((SELECT lockouts || '|' || round(extract(epoch FROM locked_until - now())) FROM smarthub.login_throttle
            WHERE subject = 'a2300000-0000-4000-8000-000000000001'), '2|120', 'the second lockout in a row lasts twice as long');
UPDATE smarthub.login_throttle SET lockouts = 9, locked_until = now() - interval '1 second' WHERE subject = 'a2300000-0000-4000-8000-000000000001';
SELECT is((SELECT count(*) FROM generate_series(1, 4) i WHERE smarthub.login('thr', 'z' || i) IS NULL), 4::bigint, 'a tenth lockout...');
SELECT is((SELECT round(extract(epoch FROM locked_until - now())) FROM smarthub.login_throttle
            WHERE subject = 'a2300000-0000-4000-8000-000000000001'), 960::numeric, '... lasts 16 times the first, no more');

-- An unknown login: counted, locked and audited the same way.
SELECT is((SELECT count(*) FROM generate_series(1, 4) i WHERE smarthub.login('ghost', 'g' || i) IS NULL), 4::bigint, 'four attempts for a login no account has: NULL each');
SELECT is(pg_temp.row_of('login:ghost'), '0|true|1', 'it is locked after three, like an account');
SELECT results_eq($$SELECT action::text FROM smarthub.audit_logs WHERE changes ->> 'login' = 'ghost' ORDER BY created_at, id$$,
    $$VALUES ('LOGIN_FAILED'), ('LOGIN_FAILED'), ('LOGIN_FAILED'), ('LOGIN_LOCKED')$$,
    'and audited like one: three LOGIN_FAILED, then LOGIN_LOCKED');

-- By address: the ip_address given to login, across accounts.
SELECT is((SELECT count(*) FROM generate_series(1, 3) i WHERE smarthub.login('user' || i, 'p', '198.51.100.9') IS NULL), 3::bigint,
    'three failures from one address, each for another login');
SELECT is(smarthub.login('other', 'other-password', '198.51.100.9'), NULL, 'the right password from that address is refused');
SELECT isnt(smarthub.login('other', 'other-password', '198.51.100.10'), NULL, 'from another address it works');

-- unlock_login: admin identities and trusted roles.
CREATE ROLE thr_app;
SELECT smarthub.grant_access('thr_app');
SET LOCAL ROLE thr_app;
SELECT smarthub.authenticate_session(smarthub.login('other', 'other-password', '203.0.113.1'));
SELECT throws_ok($$SELECT smarthub.unlock_login('thr')$$, '42501', NULL, 'a user identity may not unlock');
RESET ROLE;
SELECT smarthub.set_current_user('a2300000-0000-4000-8000-000000000003');
SET LOCAL ROLE thr_app;
SELECT is(smarthub.unlock_login('thr'), true, 'an admin identity unlocks a locked account: true');
SELECT is(smarthub.unlock_login('thr'), false, '... and again: nothing was locked');
RESET ROLE;
SELECT isnt(smarthub.login('thr', 'right-password'), NULL, 'the unlocked account logs in');
SELECT is((SELECT count(*) FROM smarthub.audit_logs WHERE action = 'LOGIN_UNLOCKED' AND entity_id = 'a2300000-0000-4000-8000-000000000001'
             AND actor_id = 'a2300000-0000-4000-8000-000000000003'), 1::bigint, 'the unlock is audited, with its actor');
SET LOCAL ROLE thr_app;
SELECT throws_ok($$SET smarthub.login_max_failures = 1000000$$, '42501', NULL, 'an application role cannot raise the threshold');
RESET ROLE;
SELECT smarthub.clear_current_user();
SELECT is(smarthub.unlock_login('ghost'), true, 'the DBA unlocks a login no account has');

-- purge_expired_sessions also removes rows whose window and lock are over.
UPDATE smarthub.login_throttle SET window_start = now() - interval '16 minutes', locked_until = NULL WHERE subject = '198.51.100.10';
UPDATE smarthub.login_throttle SET window_start = now() - interval '16 minutes' WHERE subject = '198.51.100.9';
SELECT smarthub.purge_expired_sessions();
SELECT is((SELECT string_agg(subject, ',' ORDER BY subject) FROM smarthub.login_throttle WHERE scope = 'address'),
    '198.51.100.9,203.0.113.1', 'purge_expired_sessions: a finished window goes, a running lock or window stays');

SELECT * FROM finish();
ROLLBACK;
