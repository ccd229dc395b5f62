-- API keys, sessions and login: formats, verification for every kind of bad input, expiry, owner
-- state, last_used_at throttling, read-only transactions, revocation, purge and login's audit rows.
BEGIN;
SELECT plan(144);
LOAD 'smarthub';
SET LOCAL smarthub.bcrypt_cost = 4;
SET LOCAL timezone = 'UTC';

INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('00000000-0000-4000-a000-000000000001', 'ann@example.com', 'ann', smarthub.hash_password('ann-pw')),
    ('00000000-0000-4000-a000-000000000002', 'ben@example.com', 'ben', smarthub.hash_password('ben-pw')),
    ('00000000-0000-4000-a000-000000000003', 'cy@example.com',  'cy',  smarthub.hash_password('cy-pw'));
CREATE TEMP TABLE k (label text PRIMARY KEY, id uuid, key text);
CREATE TEMP TABLE s (label text PRIMARY KEY, token text);

-- declarations: a call is judged by the role that made it, so none is SECURITY DEFINER (the C
-- code switches to the owner around its own queries)
SELECT isnt_definer('smarthub', f, 'not SECURITY DEFINER: ' || f)
  FROM unnest(ARRAY['create_api_key', 'revoke_api_key', 'create_session',
                    'revoke_session', 'revoke_user_sessions', 'purge_expired_sessions', 'login']) AS f;
-- The verifiers spare each call a SET clause as well.
SELECT isnt_definer('smarthub', f, 'not SECURITY DEFINER, no SET clause: ' || f)
  FROM unnest(ARRAY['verify_key', 'verify_session']) AS f;
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'smarthub'::regnamespace
              AND p.proname IN ('create_api_key', 'revoke_api_key', 'create_session',
                                'revoke_session', 'revoke_user_sessions', 'purge_expired_sessions', 'login')
              AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']),
          7, 'every key/session function that writes pins search_path');
SELECT is_strict('smarthub', 'verify_key', ARRAY['text'], 'verify_key is STRICT');
SELECT is_strict('smarthub', 'verify_session', ARRAY['text'], 'verify_session is STRICT');
SELECT volatility_is('smarthub', 'verify_key', ARRAY['text'], 'volatile', 'verify_key is VOLATILE (touches last_used_at)');
SELECT volatility_is('smarthub', 'verify_session', ARRAY['text'], 'stable', 'verify_session is STABLE');
SELECT results_eq(
    $$SELECT name::text COLLATE "default", boot_val COLLATE "default", min_val COLLATE "default", unit COLLATE "default", context::text COLLATE "default"
        FROM pg_catalog.pg_settings WHERE name IN ('smarthub.key_touch_interval', 'smarthub.session_ttl') ORDER BY name$$,
    $$VALUES ('smarthub.key_touch_interval', '60', '0', 's', 'superuser'), ('smarthub.session_ttl', '86400', '1', 's', 'user')$$,
    'key_touch_interval 60 s (superuser), session_ttl 24 h (user)');

-- create_api_key
INSERT INTO k SELECT 'a', id, key FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000001', 'ci', NULL, 'for CI');
SELECT matches((SELECT key FROM k WHERE label = 'a'), '^shk_[0-9A-Za-z]{38}$', 'create_api_key: shk_ + 38 base62 characters');
SELECT results_eq(
    $$SELECT user_id, key_hash::text, name::text, description, expires_at, is_active, last_used_at
        FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')$$,
    $$SELECT '00000000-0000-4000-a000-000000000001'::uuid, encode(sha256(convert_to(key, 'UTF8')), 'hex'), 'ci', 'for CI',
             NULL::timestamptz, true, NULL::timestamptz FROM k WHERE label = 'a'$$,
    'create_api_key stores the owner, the lowercase hex SHA-256 of the key and the labels');
SELECT is((SELECT count(*)::int FROM smarthub.api_keys a, k WHERE k.label = 'a' AND strpos(a::text, k.key) > 0), 0,
          'the plaintext key is stored nowhere in api_keys');
INSERT INTO k SELECT 'b', id, key FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000001', expires_at => now() + interval '1 hour');
INSERT INTO k SELECT 'c', id, key FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000002');
SELECT isnt((SELECT key FROM k WHERE label = 'a'), (SELECT key FROM k WHERE label = 'b'), 'two keys differ');
SELECT is((SELECT count(*)::int FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000003')), 1, 'create_api_key returns exactly one row');
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-0000000000ff')$$, 'P0002',
                 'user 00000000-0000-4000-a000-0000000000ff does not exist or is not active', 'create_api_key: unknown user: P0002');
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000001', expires_at => now() - interval '1 second')$$,
                 '22023', 'expires_at must be in the future', 'create_api_key: expires_at in the past: 22023');
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000001', expires_at => now())$$,
                 '22023', NULL, 'create_api_key: expires_at = now(): 22023');
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key(NULL)$$, '22004', NULL, 'create_api_key: NULL user: 22004');
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000001', repeat('n', 256))$$,
                 '22001', NULL, 'create_api_key: a name over 255 characters: 22001');

-- verify_key: the good case and the touch
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key: a live key gives its owner');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now(), 'verify_key: first use sets last_used_at');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'b')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key: a key expiring later is live');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'c')), '00000000-0000-4000-a000-000000000002'::uuid, 'verify_key: each key maps to its own owner');

-- throttling (the default interval is 60 s)
UPDATE smarthub.api_keys SET last_used_at = now() - interval '30 seconds' WHERE id = (SELECT id FROM k WHERE label = 'a');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key within the interval still verifies');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now() - interval '30 seconds',
          'verify_key: used 30 s ago, last_used_at is not rewritten');
UPDATE smarthub.api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = (SELECT id FROM k WHERE label = 'a');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key after the interval');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now(),
          'verify_key: used 61 s ago, last_used_at moves to now()');
SET LOCAL smarthub.key_touch_interval = '10min';
UPDATE smarthub.api_keys SET last_used_at = now() - interval '5 minutes' WHERE id = (SELECT id FROM k WHERE label = 'a');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key with a 10 min interval');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now() - interval '5 minutes',
          'verify_key: key_touch_interval = 10min keeps a 5-minute-old last_used_at');
SET LOCAL smarthub.key_touch_interval = 0;
UPDATE smarthub.api_keys SET last_used_at = now() - interval '1 second' WHERE id = (SELECT id FROM k WHERE label = 'a');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key with interval 0');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now(),
          'verify_key: key_touch_interval = 0 writes on every use');
RESET smarthub.key_touch_interval;
CREATE ROLE smarthub_t021_app NOLOGIN;
SET LOCAL ROLE smarthub_t021_app;
SELECT throws_ok($$SET smarthub.key_touch_interval = '1d'$$, '42501', NULL, 'an application role cannot change key_touch_interval');
RESET ROLE;

-- read-only transactions: verify, never write
UPDATE smarthub.api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = (SELECT id FROM k WHERE label = 'a');
SAVEPOINT ro;
SET TRANSACTION READ ONLY;
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'a')), '00000000-0000-4000-a000-000000000001'::uuid,
          'verify_key in a read-only transaction still verifies');
SELECT is((SELECT last_used_at FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), now() - interval '2 minutes',
          'verify_key in a read-only transaction does not write last_used_at');
SELECT is(smarthub.verify_key((SELECT key FROM k WHERE label = 'b')), '00000000-0000-4000-a000-000000000001'::uuid,
          'verify_key in a read-only transaction: a key never used before also verifies');
ROLLBACK TO SAVEPOINT ro;

-- verify_key: every kind of bad input returns NULL
SELECT is(smarthub.verify_key(NULL), NULL, 'verify_key(NULL) is NULL');
SELECT is(smarthub.verify_key(''), NULL, 'verify_key: empty string');
SELECT is(smarthub.verify_key('shk_'), NULL, 'verify_key: prefix only');
SELECT is(smarthub.verify_key('shs_' || substr(key, 5)), NULL, 'verify_key: session prefix on a key body') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key('SHK_' || substr(key, 5)), NULL, 'verify_key: prefix in upper case') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(left(key, 41)), NULL, 'verify_key: one character short') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(key || 'a'), NULL, 'verify_key: one character long') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(' ' || key), NULL, 'verify_key: leading space') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(overlay(key PLACING CASE WHEN substr(key, 42, 1) = 'A' THEN 'B' ELSE 'A' END FROM 42)), NULL,
          'verify_key: wrong checksum character') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(overlay(key PLACING CASE WHEN substr(key, 10, 1) = 'A' THEN 'B' ELSE 'A' END FROM 10)), NULL,
          'verify_key: a typo in the random part fails the checksum') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(overlay(key PLACING '-' FROM 10)), NULL, 'verify_key: a character outside base62') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(overlay(key PLACING 'é' FROM 10)), NULL, 'verify_key: a multibyte character') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(repeat('x', 1048576)), NULL, 'verify_key: a megabyte of text');
SELECT is(smarthub.verify_key(repeat(key, 25000)), NULL, 'verify_key: a megabyte of repeated valid key') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key('garbage; DROP TABLE smarthub.users; --'), NULL, 'verify_key: garbage');
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: a session token is not an API key') FROM (SELECT smarthub.create_session('00000000-0000-4000-a000-000000000001') AS key) t;

-- malformed keys never touch a table; a well-formed one does
CREATE TEMP TABLE scans AS
SELECT (SELECT coalesce(sum(seq_scan + idx_scan), 0) FROM pg_catalog.pg_stat_xact_user_tables
         WHERE schemaname = 'smarthub' AND relname IN ('api_keys', 'users')) AS n;
SELECT smarthub.verify_key(x) FROM (VALUES (''), ('shk_nope'), ('shk_' || repeat('A', 38)), (repeat('y', 100000))) v(x);
SELECT is((SELECT coalesce(sum(seq_scan + idx_scan), 0) FROM pg_catalog.pg_stat_xact_user_tables
            WHERE schemaname = 'smarthub' AND relname IN ('api_keys', 'users')), (SELECT n FROM scans),
          'malformed keys (incl. a bad checksum) are rejected without scanning api_keys or users');
SELECT smarthub.verify_key(key) FROM k WHERE label = 'c';
SELECT cmp_ok((SELECT coalesce(sum(seq_scan + idx_scan), 0) FROM pg_catalog.pg_stat_xact_user_tables
                WHERE schemaname = 'smarthub' AND relname IN ('api_keys', 'users')), '>', (SELECT n FROM scans),
              'a well-formed key is looked up (the counter above can move)');

-- well-formed but not live
DELETE FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'c');
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: a well-formed key that does not exist') FROM k WHERE label = 'c';
UPDATE smarthub.api_keys SET expires_at = now() - interval '1 second' WHERE id = (SELECT id FROM k WHERE label = 'b');
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: an expired key') FROM k WHERE label = 'b';
UPDATE smarthub.api_keys SET expires_at = now() WHERE id = (SELECT id FROM k WHERE label = 'b');
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: a key expiring exactly now') FROM k WHERE label = 'b';
UPDATE smarthub.users SET is_active = false WHERE username = 'ann';
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: owner inactive') FROM k WHERE label = 'a';
UPDATE smarthub.users SET is_active = true, deleted_at = now() WHERE username = 'ann';
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: owner soft-deleted') FROM k WHERE label = 'a';
UPDATE smarthub.users SET deleted_at = NULL WHERE username = 'ann';
SELECT is(smarthub.verify_key(key), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_key: owner restored, key live again') FROM k WHERE label = 'a';

-- revoke_api_key
SELECT is(smarthub.revoke_api_key(id), true, 'revoke_api_key: an active key gives true') FROM k WHERE label = 'a';
SELECT is(smarthub.verify_key(key), NULL, 'verify_key: a revoked key') FROM k WHERE label = 'a';
SELECT is((SELECT is_active FROM smarthub.api_keys WHERE id = (SELECT id FROM k WHERE label = 'a')), false, 'revoke_api_key keeps the row, inactive');
SELECT is(smarthub.revoke_api_key(id), false, 'revoke_api_key: again gives false') FROM k WHERE label = 'a';
SELECT is(smarthub.revoke_api_key('00000000-0000-4000-a000-0000000000ff'), false, 'revoke_api_key: unknown id gives false');
SELECT is(smarthub.revoke_api_key(NULL), NULL, 'revoke_api_key(NULL) is NULL');

-- users that cannot get credentials
UPDATE smarthub.users SET is_active = false WHERE username = 'cy';
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000003')$$, 'P0002', NULL, 'create_api_key: inactive user: P0002');
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-000000000003')$$, 'P0002',
                 'user 00000000-0000-4000-a000-000000000003 does not exist or is not active', 'create_session: inactive user: P0002');
UPDATE smarthub.users SET is_active = true, deleted_at = now() WHERE username = 'cy';
SELECT throws_ok($$SELECT * FROM smarthub.create_api_key('00000000-0000-4000-a000-000000000003')$$, 'P0002', NULL, 'create_api_key: soft-deleted user: P0002');
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-000000000003')$$, 'P0002', NULL, 'create_session: soft-deleted user: P0002');
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-0000000000ff')$$, 'P0002', NULL, 'create_session: unknown user: P0002');
UPDATE smarthub.users SET deleted_at = NULL WHERE username = 'cy';

-- create_session
INSERT INTO s VALUES ('a', smarthub.create_session('00000000-0000-4000-a000-000000000001', ip_address => '192.0.2.1', user_agent => 'curl/8'));
SELECT matches((SELECT token FROM s WHERE label = 'a'), '^shs_[0-9A-Za-z]{38}$', 'create_session: shs_ + 38 base62 characters');
SELECT results_eq(
    $$SELECT user_id, token_hash::text, ip_address, user_agent, expires_at FROM smarthub.sessions
       WHERE token_hash = (SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') FROM s WHERE label = 'a')$$,
    $$VALUES ('00000000-0000-4000-a000-000000000001'::uuid, (SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') FROM s WHERE label = 'a'),
              '192.0.2.1'::inet, 'curl/8', now() + interval '24 hours')$$,
    'create_session stores owner, SHA-256, address, agent; default ttl 24 h');
SELECT is((SELECT count(*)::int FROM smarthub.sessions x, s WHERE strpos(x::text, s.token) > 0), 0, 'the plaintext token is stored nowhere');
INSERT INTO s VALUES ('1h', smarthub.create_session('00000000-0000-4000-a000-000000000001', '1 hour'));
SET LOCAL smarthub.session_ttl = '2h';
INSERT INTO s VALUES ('2h', smarthub.create_session('00000000-0000-4000-a000-000000000001'));
RESET smarthub.session_ttl;
SELECT is((SELECT expires_at FROM smarthub.sessions WHERE token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')), now() + interval '1 hour',
          'create_session: explicit ttl') FROM s WHERE label = '1h';
SELECT is((SELECT expires_at FROM smarthub.sessions WHERE token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')), now() + interval '2 hours',
          'create_session: NULL ttl follows smarthub.session_ttl') FROM s WHERE label = '2h';
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-000000000001', '0')$$, '22023', 'session ttl must be positive', 'create_session: zero ttl: 22023');
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-000000000001', '-1 second')$$, '22023', NULL, 'create_session: negative ttl: 22023');
SELECT throws_ok($$SELECT smarthub.create_session('00000000-0000-4000-a000-000000000001', '1 day -1 hour')$$, '22023', NULL, 'create_session: a ttl with a negative part: 22023');
SELECT throws_ok($$SELECT smarthub.create_session(NULL)$$, '22004', NULL, 'create_session: NULL user: 22004');

-- verify_session
SELECT is(smarthub.verify_session(token), '00000000-0000-4000-a000-000000000001'::uuid, 'verify_session: a live token gives its owner') FROM s WHERE label = 'a';
SELECT is(smarthub.verify_session(NULL), NULL, 'verify_session(NULL) is NULL');
SELECT is(smarthub.verify_session(''), NULL, 'verify_session: empty');
SELECT is(smarthub.verify_session('shk_' || substr(token, 5)), NULL, 'verify_session: key prefix on a token body') FROM s WHERE label = 'a';
SELECT is(smarthub.verify_session(key), NULL, 'verify_session: an API key is not a session') FROM k WHERE label = 'b';
SELECT is(smarthub.verify_session(left(token, 41)), NULL, 'verify_session: one character short') FROM s WHERE label = 'a';
SELECT is(smarthub.verify_session(overlay(token PLACING CASE WHEN substr(token, 20, 1) = 'A' THEN 'B' ELSE 'A' END FROM 20)), NULL,
          'verify_session: bad checksum') FROM s WHERE label = 'a';
SELECT is(smarthub.verify_session(repeat('z', 1048576)), NULL, 'verify_session: a megabyte of text');
UPDATE smarthub.users SET is_active = false WHERE username = 'ann';
SELECT is(smarthub.verify_session(token), NULL, 'verify_session: owner inactive') FROM s WHERE label = 'a';
UPDATE smarthub.users SET is_active = true, deleted_at = now() WHERE username = 'ann';
SELECT is(smarthub.verify_session(token), NULL, 'verify_session: owner soft-deleted') FROM s WHERE label = 'a';
UPDATE smarthub.users SET deleted_at = NULL WHERE username = 'ann';
INSERT INTO s VALUES ('old', smarthub.create_session('00000000-0000-4000-a000-000000000001', '1 hour'));
UPDATE smarthub.sessions SET expires_at = now() WHERE token_hash = (SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') FROM s WHERE label = 'old');
SELECT is(smarthub.verify_session(token), NULL, 'verify_session: an expired session') FROM s WHERE label = 'old';

-- revoke_session
SELECT is(smarthub.revoke_session(token), false, 'revoke_session: an expired session gives false') FROM s WHERE label = 'old';
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE token_hash = (SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') FROM s WHERE label = 'old')),
          0, 'revoke_session deletes an expired session too');
SELECT is(smarthub.revoke_session(token), true, 'revoke_session: a live session gives true') FROM s WHERE label = 'a';
SELECT is(smarthub.verify_session(token), NULL, 'verify_session: a revoked session') FROM s WHERE label = 'a';
SELECT is(smarthub.revoke_session(token), false, 'revoke_session: again gives false') FROM s WHERE label = 'a';
SELECT is(smarthub.revoke_session('shs_nope'), false, 'revoke_session: malformed token gives false');
SELECT is(smarthub.revoke_session(repeat('z', 1048576)), false, 'revoke_session: a megabyte gives false');
SELECT is(smarthub.revoke_session(NULL), NULL, 'revoke_session(NULL) is NULL');

-- revoke_user_sessions and purge_expired_sessions
DELETE FROM smarthub.sessions;
SELECT smarthub.create_session('00000000-0000-4000-a000-000000000002') FROM generate_series(1, 3);
SELECT smarthub.create_session('00000000-0000-4000-a000-000000000001') FROM generate_series(1, 2);
UPDATE smarthub.sessions SET expires_at = now() - interval '1 minute'
 WHERE id = (SELECT id FROM smarthub.sessions WHERE user_id = '00000000-0000-4000-a000-000000000002' LIMIT 1);
SELECT is(smarthub.revoke_user_sessions('00000000-0000-4000-a000-000000000002'), 2, 'revoke_user_sessions counts the live sessions revoked');
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE user_id = '00000000-0000-4000-a000-000000000002'), 0, 'revoke_user_sessions leaves none of them');
SELECT is(smarthub.revoke_user_sessions('00000000-0000-4000-a000-000000000002'), 0, 'revoke_user_sessions again: 0');
SELECT is(smarthub.revoke_user_sessions('00000000-0000-4000-a000-0000000000ff'), 0, 'revoke_user_sessions: unknown user: 0');
SELECT is(smarthub.revoke_user_sessions(NULL), NULL, 'revoke_user_sessions(NULL) is NULL');
UPDATE smarthub.sessions SET expires_at = now() - interval '1 day'
 WHERE id = (SELECT id FROM smarthub.sessions WHERE user_id = '00000000-0000-4000-a000-000000000001' LIMIT 1);
SELECT is(smarthub.purge_expired_sessions(), 1::bigint, 'purge_expired_sessions deletes the expired one');
SELECT is((SELECT count(*)::int FROM smarthub.sessions), 1, 'purge_expired_sessions keeps the live one');
SELECT is(smarthub.purge_expired_sessions(), 0::bigint, 'purge_expired_sessions again: 0');

-- login (audit_logs is append-only: the checks below look at login rows only)
INSERT INTO s VALUES ('login', smarthub.login('ANN@Example.COM', 'ann-pw', '198.51.100.7', 'browser/1', '2 hours'));
SELECT matches((SELECT token FROM s WHERE label = 'login'), '^shs_[0-9A-Za-z]{38}$', 'login: the email, any case, gives a session token');
SELECT is(smarthub.verify_session(token), '00000000-0000-4000-a000-000000000001'::uuid, 'login: the token is a live session of the user') FROM s WHERE label = 'login';
SELECT results_eq(
    $$SELECT ip_address, user_agent, expires_at FROM smarthub.sessions
       WHERE token_hash = (SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex') FROM s WHERE label = 'login')$$,
    $$VALUES ('198.51.100.7'::inet, 'browser/1', now() + interval '2 hours')$$,
    'login: the session carries address, agent and ttl');
SELECT is((SELECT last_login_at FROM smarthub.users WHERE username = 'ann'), now(), 'login sets last_login_at');
SELECT isnt(smarthub.login('Ben', 'ben-pw'), NULL, 'login: the username, any case');
SELECT is(smarthub.login('ann', 'wrong'), NULL, 'login: wrong password gives NULL');
SELECT is(smarthub.login('nobody@example.com', 'ann-pw'), NULL, 'login: unknown login gives NULL');
SELECT is(smarthub.login('ann', repeat('p', 73)), NULL, 'login: over-long password gives NULL, no error');
SELECT is(smarthub.login('ann', ''), NULL, 'login: empty password');
SELECT is(smarthub.login(NULL, 'ann-pw'), NULL, 'login: NULL login');
SELECT is(smarthub.login('ann', NULL), NULL, 'login: NULL password');
SELECT is(smarthub.login(repeat('a', 1048576), 'ann-pw'), NULL, 'login: a megabyte login');
SELECT is(smarthub.login('ann%', 'ann-pw'), NULL, 'login: no pattern matching');
UPDATE smarthub.users SET is_active = false WHERE username = 'cy';
SELECT is(smarthub.login('cy', 'cy-pw'), NULL, 'login: inactive user with the right password gives NULL');
UPDATE smarthub.users SET is_active = true, deleted_at = now() WHERE username = 'cy';
SELECT is(smarthub.login('cy', 'cy-pw'), NULL, 'login: soft-deleted user with the right password gives NULL');
UPDATE smarthub.users SET deleted_at = NULL, password_hash = 'not-a-hash' WHERE username = 'cy';
SELECT is(smarthub.login('cy', 'cy-pw'), NULL, 'login: a malformed stored hash gives NULL, no error');
UPDATE smarthub.users SET password_hash = '$2b$31$' || repeat('.', 53) WHERE username = 'cy';
SELECT is(smarthub.login('cy', 'cy-pw'), NULL, 'login: a stored hash above bcrypt_max_cost gives NULL, no error, no hours of work');
SELECT throws_ok($$SELECT smarthub.login('ann', 'ann-pw', ttl => '0')$$, '22023', NULL, 'login: zero ttl: 22023');

-- login's audit rows (the attempts above, in order). Without an address from the caller or
-- set_request_context the client's own address (inet_client_addr()) is recorded: shown as NULL.
SELECT results_eq(
    $$SELECT action::text, entity_type::text, entity_id, user_id, changes, NULLIF(ip_address, inet_client_addr()), user_agent
        FROM smarthub.audit_logs WHERE action IN ('LOGIN', 'LOGIN_FAILED')
       ORDER BY action, (changes->>'login') NULLS FIRST, entity_id, changes::text$$,
    $$SELECT * FROM (VALUES
        ('LOGIN', 'users', '00000000-0000-4000-a000-000000000001'::uuid, '00000000-0000-4000-a000-000000000001'::uuid, NULL::jsonb, '198.51.100.7'::inet, 'browser/1'),
        ('LOGIN', 'users', '00000000-0000-4000-a000-000000000002', '00000000-0000-4000-a000-000000000002', NULL, NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-0000-0000-000000000000', NULL, '{"login": null}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-0000-0000-000000000000', NULL, jsonb_build_object('login', repeat('a', 255)), NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000001', NULL, '{"login": "ann", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000001', NULL, '{"login": "ann", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000001', NULL, '{"login": "ann", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000001', NULL, '{"login": "ann", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-0000-0000-000000000000', NULL, '{"login": "ann%"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000003', NULL, '{"login": "cy", "reason": "inactive"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000003', NULL, '{"login": "cy", "reason": "deleted"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000003', NULL, '{"login": "cy", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-4000-a000-000000000003', NULL, '{"login": "cy", "reason": "wrong_password"}', NULL, NULL),
        ('LOGIN_FAILED', 'users', '00000000-0000-0000-0000-000000000000', NULL, '{"login": "nobody@example.com"}', NULL, NULL)
      ) v(a, b, c, d, e, f, g) ORDER BY a, (e->>'login') NULLS FIRST, c, e::text$$,
    'login writes one audit row per attempt: LOGIN, or LOGIN_FAILED with the attempted login');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs
            WHERE changes::text ~ '(ann-pw|cy-pw|pppp|\$2b\$)'), 0, 'no audit row holds a password or a hash');

-- login re-hashes old hashes
UPDATE smarthub.users SET password_hash = public.crypt('ben-pw', public.gen_salt('bf', 5)) WHERE username = 'ben';
SELECT isnt(smarthub.login('ben', 'ben-pw'), NULL, 'login: a pgcrypto $2a$ hash at cost 5 is accepted');
SELECT matches((SELECT password_hash::text FROM smarthub.users WHERE username = 'ben'), '^\$2b\$05\$', 'login re-hashes it as $2b$, keeping cost 5 above bcrypt_cost 4');
SELECT ok(smarthub.verify_password('ben-pw', (SELECT password_hash FROM smarthub.users WHERE username = 'ben')), 'the re-hashed password verifies');
CREATE TEMP TABLE bh AS SELECT password_hash FROM smarthub.users WHERE username = 'ben';
SELECT isnt(smarthub.login('ben', 'ben-pw'), NULL, 'login again');
SELECT is((SELECT password_hash FROM smarthub.users WHERE username = 'ben'), (SELECT password_hash FROM bh), 'login leaves a current hash alone');
-- re-hashing only strengthens: never to a lower cost, up to bcrypt_cost
UPDATE smarthub.users SET password_hash = smarthub.hash_password('ben-pw', 6) WHERE username = 'ben';
DELETE FROM bh; INSERT INTO bh SELECT password_hash FROM smarthub.users WHERE username = 'ben';
SELECT isnt(smarthub.login('ben', 'ben-pw'), NULL, 'login with a $2b$ hash at cost 6, above bcrypt_cost 4');
SELECT is((SELECT password_hash FROM smarthub.users WHERE username = 'ben'), (SELECT password_hash FROM bh), 'login does not weaken it to bcrypt_cost');
UPDATE smarthub.users SET password_hash = public.crypt('ben-pw', public.gen_salt('bf', 4)) WHERE username = 'ben';
SET LOCAL smarthub.bcrypt_cost = 5;
SELECT isnt(smarthub.login('ben', 'ben-pw'), NULL, 'login with a $2a$ hash at cost 4, below bcrypt_cost 5');
SELECT matches((SELECT password_hash::text FROM smarthub.users WHERE username = 'ben'), '^\$2b\$05\$', 'login strengthens it to $2b$ at bcrypt_cost');
SET LOCAL smarthub.bcrypt_cost = 4;

-- an email that is also someone else's username: the email wins
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('00000000-0000-4000-a000-000000000004', 'dee@example.com', 'dee', smarthub.hash_password('dee-pw')),
    ('00000000-0000-4000-a000-000000000005', 'eve@example.com', 'dee@example.com', smarthub.hash_password('eve-pw'));
INSERT INTO s VALUES ('dee', smarthub.login('dee@example.com', 'dee-pw'));
SELECT is(smarthub.verify_session(token), '00000000-0000-4000-a000-000000000004'::uuid,
          'login: a login equal to one email and another username means the email') FROM s WHERE label = 'dee';
SELECT is(smarthub.login('dee@example.com', 'eve-pw'), NULL, 'login: ... so the username owner cannot log in with it');

-- nothing for PUBLIC
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'smarthub'::regnamespace
              AND p.proname IN ('create_api_key', 'verify_key', 'revoke_api_key', 'create_session', 'verify_session',
                                'revoke_session', 'revoke_user_sessions', 'purge_expired_sessions', 'login')
              AND pg_catalog.has_function_privilege('smarthub_t021_app', p.oid, 'EXECUTE')),
          0, 'a new role cannot execute any key or session function (EXECUTE revoked from PUBLIC)');

SELECT * FROM finish();
ROLLBACK;
