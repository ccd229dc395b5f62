-- What a caller sees from the credential functions: error messages (with their details and hints),
-- and the shape of what they return. No random value is printed.
SET timezone = 'UTC';
SET smarthub.bcrypt_cost = 4;
\set VERBOSITY default

-- passwords
SELECT length(smarthub.hash_password('pw')) AS hash_length, left(smarthub.hash_password('pw'), 7) AS hash_prefix;
SELECT smarthub.hash_password('pw', 3);
SELECT smarthub.hash_password('pw', 32);
SELECT smarthub.hash_password('pw', 17);
SELECT smarthub.hash_password('');
SELECT smarthub.hash_password(repeat('x', 73));
SELECT smarthub.verify_password('pw', 'not a hash');
SELECT smarthub.verify_password('pw', '$2x$04$' || repeat('.', 53));
SELECT smarthub.verify_password('pw', '$2b$4x$' || repeat('.', 53));
SELECT smarthub.verify_password('pw', '$2b$03$' || repeat('.', 53));
SELECT smarthub.verify_password('pw', '$2b$04$' || repeat('!', 53));
SELECT smarthub.verify_password('pw', '$2b$20$' || repeat('.', 53));
SELECT smarthub.verify_password(repeat('x', 73), '$2b$04$' || repeat('.', 53)) AS over_long_is_false;
SELECT smarthub.password_needs_rehash('$2a$04$' || repeat('.', 53)) AS pgcrypto_2a_needs_rehash;
SELECT smarthub.password_needs_rehash('x');
SET smarthub.bcrypt_cost = 2;
SET smarthub.bcrypt_cots = 5;
\set VERBOSITY terse

-- accounts
SELECT smarthub.create_user('zed@example.com', 'zed', 'zed-pw', 'Zed', NULL, ARRAY['user', 'wizard']);
SELECT smarthub.create_user('zed@example.com', 'zed', 'zed-pw', roles => ARRAY[NULL]);
SELECT smarthub.create_user(NULL, 'zed', 'zed-pw');
SELECT smarthub.create_user('zed@example.com', 'zed', '');
SELECT smarthub.create_user('zed', 'zed', 'zed-pw');
SELECT smarthub.create_user('zed@example.com', 'zed', 'zed-pw', 'Zed') IS NOT NULL AS created;
SELECT smarthub.create_user('ZED@example.com', 'zed2', 'zed-pw');
SELECT smarthub.set_password('00000000-0000-0000-0000-00000000dead', 'pw');
SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'zed'), NULL);

-- keys and sessions
SELECT * FROM smarthub.create_api_key('00000000-0000-0000-0000-00000000dead');
SELECT * FROM smarthub.create_api_key((SELECT id FROM smarthub.users WHERE username = 'zed'), expires_at => '2000-01-01');
SELECT key ~ '^shk_[0-9A-Za-z]{38}$' AS key_format, length(key)
  FROM smarthub.create_api_key((SELECT id FROM smarthub.users WHERE username = 'zed'), 'test key');
SELECT smarthub.verify_key('shk_not-a-key') AS garbage, smarthub.verify_key('') AS empty,
       smarthub.verify_key(repeat('k', 1000000)) AS megabyte;
SELECT smarthub.revoke_api_key('00000000-0000-0000-0000-00000000dead') AS revoked_unknown;
SELECT smarthub.create_session('00000000-0000-0000-0000-00000000dead');
SELECT smarthub.create_session((SELECT id FROM smarthub.users WHERE username = 'zed'), '0');
SELECT smarthub.create_session((SELECT id FROM smarthub.users WHERE username = 'zed'), '-1 hour');
SELECT smarthub.create_session((SELECT id FROM smarthub.users WHERE username = 'zed'), '1 hour') ~ '^shs_[0-9A-Za-z]{38}$' AS token_format;
SELECT smarthub.verify_session('shs_x') AS garbage, smarthub.revoke_session('shs_x') AS revoked_garbage;

-- login
SELECT smarthub.login('ZED', 'zed-pw') ~ '^shs_' AS logged_in;
SELECT smarthub.login('zed', 'wrong') AS wrong_password, smarthub.login('nobody', 'zed-pw') AS unknown;
SELECT smarthub.login('zed', 'zed-pw', ttl => '-1 day');
SELECT action, entity_type, changes FROM smarthub.audit_logs
 WHERE action IN ('LOGIN', 'LOGIN_FAILED') ORDER BY action, changes::text;
SELECT smarthub.revoke_user_sessions((SELECT id FROM smarthub.users WHERE username = 'zed')) AS live_sessions_revoked;
SELECT smarthub.purge_expired_sessions() AS purged;

-- Every failed login does the work of one bcrypt computation at bcrypt_cost: 2^6 = 64 rounds here,
-- whatever failed (counted, not timed). Only a stored hash above bcrypt_cost costs more.
SET smarthub.bcrypt_cost = 6;
INSERT INTO smarthub.users (email, username, password_hash, is_active) VALUES
    ('w1@example.com', 'work_current', smarthub.hash_password('pw', 6), true),
    ('w2@example.com', 'work_cheap',   smarthub.hash_password('pw', 4), true),
    ('w3@example.com', 'work_off',     smarthub.hash_password('pw', 6), false),
    ('w4@example.com', 'work_garbage', 'not a bcrypt hash', true),
    ('w5@example.com', 'work_ceiling', smarthub.hash_password('pw', 9), true),
    ('w6@example.com', 'work_dearer',  smarthub.hash_password('pw', 7), true);
SET smarthub.bcrypt_max_cost = 8;
SET client_min_messages = debug1;
SELECT smarthub.login('nobody', 'pw') AS unknown_login;
SELECT smarthub.login('work_current', 'wrong') AS wrong_password;
SELECT smarthub.login('work_cheap', 'wrong') AS wrong_password_cheap_hash;
SELECT smarthub.login('work_current', repeat('x', 100)) AS over_long_password;
SELECT smarthub.login('work_current', NULL) AS null_password;
SELECT smarthub.login(repeat('x', 300), 'pw') AS over_long_login;
SELECT smarthub.login('work_off', 'pw') AS inactive;
SELECT smarthub.login('work_garbage', 'pw') AS malformed_hash;
SELECT smarthub.login('work_ceiling', 'pw') AS hash_above_max_cost;
SELECT smarthub.login('work_dearer', 'wrong') AS hash_above_bcrypt_cost;
RESET client_min_messages;
DELETE FROM smarthub.users WHERE username LIKE 'work\_%';
RESET smarthub.bcrypt_max_cost;
SET smarthub.bcrypt_cost = 4;

-- declarations
SELECT p.oid::regprocedure AS function, p.provolatile AS vol, p.proisstrict AS strict, p.prosecdef AS definer,
       p.proparallel AS par, p.procost::int AS cost
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'smarthub'::regnamespace AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
   AND p.proname NOT IN ('set_updated_at')
   AND p.prosrc IN ('smarthub_hash_password', 'smarthub_verify_password', 'smarthub_password_needs_rehash',
                    'smarthub_set_password', 'smarthub_create_user', 'smarthub_create_api_key', 'smarthub_verify_key',
                    'smarthub_revoke_api_key', 'smarthub_create_session', 'smarthub_verify_session',
                    'smarthub_revoke_session', 'smarthub_revoke_user_sessions', 'smarthub_purge_expired_sessions',
                    'smarthub_login')
 ORDER BY p.proname;

DELETE FROM smarthub.users WHERE username = 'zed';
-- (audit_logs is append-only: its rows stay)
