-- bcrypt passwords: hash_password, verify_password, password_needs_rehash, their settings, and the
-- account functions built on them (set_password, create_user). Low costs keep the file fast.
BEGIN;
SELECT plan(110);

-- The settings exist once the library is loaded (the first call of one of its functions would do).
LOAD 'smarthub';

SET LOCAL smarthub.bcrypt_cost = 4;

-- declarations
SELECT volatility_is('smarthub', 'hash_password', ARRAY['text', 'integer'], 'volatile', 'hash_password is VOLATILE (random salt)');
SELECT volatility_is('smarthub', 'verify_password', ARRAY['text', 'text'], 'stable', 'verify_password is STABLE (reads bcrypt_max_cost)');
SELECT volatility_is('smarthub', 'password_needs_rehash', ARRAY['text', 'integer'], 'stable', 'password_needs_rehash is STABLE');
SELECT is_strict('smarthub', 'verify_password', ARRAY['text', 'text'], 'verify_password is STRICT');
SELECT isnt_strict('smarthub', 'hash_password', ARRAY['text', 'integer'], 'hash_password is not STRICT (NULL cost means the setting)');
SELECT isnt_definer('smarthub', 'hash_password', ARRAY['text', 'integer'], 'hash_password is not SECURITY DEFINER');
SELECT isnt_definer('smarthub', 'verify_password', ARRAY['text', 'text'], 'verify_password is not SECURITY DEFINER');
SELECT isnt_definer('smarthub', 'set_password', ARRAY['uuid', 'text'], 'set_password is not SECURITY DEFINER (judged as its caller)');
SELECT isnt_definer('smarthub', 'create_user', ARRAY['text', 'text', 'text', 'text', 'text', 'text[]'], 'create_user is not SECURITY DEFINER (judged as its caller)');
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default", p.procost::int FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'smarthub'::regnamespace
         AND p.proname IN ('hash_password', 'verify_password', 'set_password', 'create_user', 'login')
       ORDER BY 1$$,
    $$VALUES ('create_user', 10000), ('hash_password', 10000), ('login', 10000), ('set_password', 10000), ('verify_password', 10000)$$,
    'the bcrypt functions carry COST 10000');
SELECT results_eq(
    $$SELECT pg_catalog.array_to_string(p.proconfig, ';') COLLATE "default" FROM pg_catalog.pg_proc p
       WHERE p.oid IN ('smarthub.set_password(uuid, text)'::regprocedure,
                       'smarthub.create_user(text, text, text, text, text, text[])'::regprocedure)$$,
    $$VALUES ('search_path=pg_catalog, pg_temp'), ('search_path=pg_catalog, pg_temp')$$,
    'set_password and create_user pin search_path');

-- settings
SELECT results_eq(
    $$SELECT name::text COLLATE "default", boot_val COLLATE "default", min_val COLLATE "default",
             max_val COLLATE "default", context::text COLLATE "default"
        FROM pg_catalog.pg_settings WHERE name IN ('smarthub.bcrypt_cost', 'smarthub.bcrypt_max_cost') ORDER BY name$$,
    $$VALUES ('smarthub.bcrypt_cost', '12', '4', '31', 'superuser'),
             ('smarthub.bcrypt_max_cost', '16', '4', '31', 'superuser')$$,
    'bcrypt_cost: 12 in 4..31, bcrypt_max_cost: 16 in 4..31, both superuser only');
SELECT throws_ok($$SET smarthub.bcrypt_cost = 3$$, '22023', NULL, 'bcrypt_cost 3 is refused');
SELECT throws_ok($$SET smarthub.bcrypt_cost = 32$$, '22023', NULL, 'bcrypt_cost 32 is refused');
SELECT throws_ok($$SET smarthub.bcrypt_cots = 5$$, '42602', NULL, 'a misspelt smarthub setting is an error');
CREATE ROLE smarthub_t020_app NOLOGIN;
SET LOCAL ROLE smarthub_t020_app;
SELECT throws_ok($$SET smarthub.bcrypt_max_cost = 20$$, '42501', NULL, 'an application role cannot raise bcrypt_max_cost');
-- bcrypt_cost decides the hashes stored for other users: lowering it would weaken them
SELECT throws_ok($$SET smarthub.bcrypt_cost = 4$$, '42501', NULL, 'an application role cannot lower bcrypt_cost (SET)');
SELECT throws_ok($$SET LOCAL smarthub.bcrypt_cost = 4$$, '42501', NULL, '... nor with SET LOCAL');
SELECT throws_ok($$SELECT set_config('smarthub.bcrypt_cost', '4', true)$$, '42501', NULL, '... nor with set_config');
SELECT throws_ok($$SET smarthub.bcrypt_cost = 31$$, '42501', NULL, '... nor raise it to make logins slow');
SELECT throws_ok($$ALTER ROLE smarthub_t020_app SET smarthub.bcrypt_cost = 4$$, '42501', NULL, '... nor make it permanent with ALTER ROLE');
SELECT is(current_setting('smarthub.bcrypt_cost'), '4', 'the setting is unchanged');
RESET ROLE;
SET LOCAL smarthub.bcrypt_cost = 4;

-- hash_password
SELECT matches(smarthub.hash_password('correct horse'), '^\$2b\$04\$[./A-Za-z0-9]{53}$', 'hash_password: $2b$, cost from the setting, 60 characters');
SELECT matches(smarthub.hash_password('correct horse', 5), '^\$2b\$05\$[./A-Za-z0-9]{53}$', 'hash_password: explicit cost 5');
SELECT matches(smarthub.hash_password('correct horse', NULL), '^\$2b\$04\$', 'hash_password: NULL cost means the setting');
SELECT isnt(smarthub.hash_password('same'), smarthub.hash_password('same'), 'two hashes of one password differ (random salt)');
SELECT is(smarthub.hash_password(NULL), NULL, 'hash_password(NULL) is NULL');
SELECT is(smarthub.hash_password(NULL, 3), NULL, 'hash_password(NULL, bad cost) is NULL');
SELECT throws_ok($$SELECT smarthub.hash_password('x', 3)$$, '22023', 'bcrypt cost 3 is out of range', 'cost 3: 22023');
SELECT lives_ok($$SELECT smarthub.hash_password('x', 4)$$, 'cost 4 is the minimum');
SELECT throws_ok($$SELECT smarthub.hash_password('x', 31)$$, '22023', 'bcrypt cost 31 exceeds smarthub.bcrypt_max_cost (16)', 'cost 31 above max_cost: 22023');
SELECT throws_ok($$SELECT smarthub.hash_password('x', 32)$$, '22023', 'bcrypt cost 32 is out of range', 'cost 32: 22023');
SELECT throws_ok($$SELECT smarthub.hash_password('x', -1)$$, '22023', NULL, 'cost -1: 22023');
SELECT throws_ok($$SELECT smarthub.hash_password('x', 17)$$, '22023', NULL, 'cost 17 above the default max_cost 16: 22023');
SET LOCAL smarthub.bcrypt_max_cost = 5;
SELECT throws_ok($$SELECT smarthub.hash_password('x', 6)$$, '22023', 'bcrypt cost 6 exceeds smarthub.bcrypt_max_cost (5)', 'cost above a lowered max_cost: 22023');
SET LOCAL smarthub.bcrypt_cost = 6;
SELECT throws_ok($$SELECT smarthub.hash_password('x')$$, '22023', NULL, 'a bcrypt_cost setting above max_cost: 22023');
SET LOCAL smarthub.bcrypt_cost = 4;
RESET smarthub.bcrypt_max_cost;
SELECT throws_ok($$SELECT smarthub.hash_password('')$$, '22023', 'password must not be empty', 'empty password: 22023');
SELECT throws_ok($$SELECT smarthub.hash_password(repeat('a', 73))$$, '22023', 'password is longer than 72 bytes', '73-byte password: 22023');
SELECT throws_ok($$SELECT smarthub.hash_password(repeat('é', 37))$$, '22023', NULL, '37 two-byte characters (74 bytes): 22023');
SELECT lives_ok($$SELECT smarthub.hash_password(repeat('é', 36))$$, '36 two-byte characters (72 bytes) are accepted');
SELECT ok(smarthub.verify_password(repeat('a', 72), smarthub.hash_password(repeat('a', 72))), 'a 72-byte password round-trips');

-- verify_password
CREATE TEMP TABLE h AS SELECT smarthub.hash_password('correct horse') AS hash, smarthub.hash_password(repeat('b', 72)) AS hash72;
SELECT ok(smarthub.verify_password('correct horse', (SELECT hash FROM h)), 'verify_password: right password is true');
SELECT ok(NOT smarthub.verify_password('correct horsf', (SELECT hash FROM h)), 'verify_password: wrong password is false');
SELECT ok(NOT smarthub.verify_password('Correct horse', (SELECT hash FROM h)), 'verify_password: case matters');
SELECT ok(NOT smarthub.verify_password('', (SELECT hash FROM h)), 'verify_password: empty password is false');
SELECT ok(NOT smarthub.verify_password(repeat('b', 72) || 'x', (SELECT hash72 FROM h)), 'verify_password: 73 bytes whose first 72 match is false (no truncation bypass)');
SELECT ok(NOT smarthub.verify_password(repeat('b', 100000), (SELECT hash72 FROM h)), 'verify_password: a 100 kB password is false, no error');
SELECT is(smarthub.verify_password(NULL, (SELECT hash FROM h)), NULL, 'verify_password(NULL, hash) is NULL');
SELECT is(smarthub.verify_password('x', NULL), NULL, 'verify_password(x, NULL) is NULL');
SELECT ok(smarthub.verify_password('correct horse', overlay((SELECT hash FROM h) PLACING 'a' FROM 3)), 'our hash relabelled $2a$ verifies');
SELECT ok(smarthub.verify_password('correct horse', overlay((SELECT hash FROM h) PLACING 'y' FROM 3)), 'our hash relabelled $2y$ verifies');
SELECT ok(NOT smarthub.verify_password('correct horse',
              overlay(hash PLACING CASE WHEN right(hash, 1) = '.' THEN '/' ELSE '.' END FROM 60)),
          'a changed checksum character does not verify') FROM h;
SELECT ok(smarthub.verify_password('pgcrypto pw', public.crypt('pgcrypto pw', public.gen_salt('bf', 4))), 'a pgcrypto $2a$ hash verifies');
SELECT ok(NOT smarthub.verify_password('pgcrypto px', public.crypt('pgcrypto pw', public.gen_salt('bf', 4))), 'a pgcrypto hash with a wrong password is false');
SELECT is(public.crypt('interop', h2.hash), h2.hash, 'our hash relabelled $2a$ verifies under pgcrypto crypt()')
  FROM (SELECT overlay(smarthub.hash_password('interop') PLACING 'a' FROM 3) AS hash) h2;
SELECT throws_ok($$SELECT smarthub.verify_password('x', '')$$, '22023', 'invalid bcrypt hash', 'empty hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', 'abc')$$, '22023', 'invalid bcrypt hash', 'short garbage hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', left((SELECT hash FROM h), 59))$$, '22023', NULL, '59-character hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', (SELECT hash FROM h) || '.')$$, '22023', NULL, '61-character hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', overlay((SELECT hash FROM h) PLACING 'x' FROM 3))$$, '22023', NULL, '$2x$ hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', overlay((SELECT hash FROM h) PLACING '3' FROM 2))$$, '22023', NULL, '$3b$ hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$1$abcdefgh$' || repeat('a', 48))$$, '22023', NULL, 'an MD5-crypt hash: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$4$' || repeat('.', 54))$$, '22023', NULL, 'one-digit cost: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$03$' || repeat('.', 53))$$, '22023', NULL, 'hash cost 03: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$32$' || repeat('.', 53))$$, '22023', NULL, 'hash cost 32: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$31$' || repeat('.', 53))$$, '22023',
                 'bcrypt cost 31 exceeds smarthub.bcrypt_max_cost (16)', 'hash cost 31 above max_cost: 22023, not hours of work');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$17$' || repeat('.', 53))$$, '22023', NULL, 'hash cost 17 above max_cost 16: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$04$' || repeat('*', 53))$$, '22023', NULL, 'characters outside the bcrypt alphabet: 22023');
SELECT throws_ok($$SELECT smarthub.verify_password('x', '$2b$04$' || repeat('.', 52) || 'é')$$, '22023', NULL, 'a multibyte character in the hash: 22023');
SELECT ok(NOT smarthub.verify_password('x', '$2b$04$' || repeat('.', 53)), 'a well-formed hash of another password is false');

-- password_needs_rehash
SELECT ok(NOT smarthub.password_needs_rehash((SELECT hash FROM h)), 'needs_rehash: $2b$ at the current cost is false');
SELECT ok(smarthub.password_needs_rehash((SELECT hash FROM h), 5), 'needs_rehash: another target cost is true');
SELECT ok(NOT smarthub.password_needs_rehash((SELECT hash FROM h), NULL), 'needs_rehash: NULL cost means the setting');
SELECT ok(smarthub.password_needs_rehash(overlay((SELECT hash FROM h) PLACING 'a' FROM 3)), 'needs_rehash: $2a$ is true');
SELECT ok(smarthub.password_needs_rehash(overlay((SELECT hash FROM h) PLACING 'y' FROM 3)), 'needs_rehash: $2y$ is true');
SET LOCAL smarthub.bcrypt_cost = 10;
SELECT ok(smarthub.password_needs_rehash((SELECT hash FROM h)), 'needs_rehash: follows a changed bcrypt_cost');
SET LOCAL smarthub.bcrypt_cost = 4;
SELECT ok(smarthub.password_needs_rehash('$2b$20$' || repeat('.', 53)), 'needs_rehash: a hash above max_cost is reported, not refused');
SELECT is(smarthub.password_needs_rehash(NULL), NULL, 'needs_rehash(NULL) is NULL');
SELECT throws_ok($$SELECT smarthub.password_needs_rehash('nonsense')$$, '22023', 'invalid bcrypt hash', 'needs_rehash: malformed hash: 22023');
SELECT throws_ok($$SELECT smarthub.password_needs_rehash((SELECT hash FROM h), 3)$$, '22023', NULL, 'needs_rehash: cost 3: 22023');
SELECT throws_ok($$SELECT smarthub.password_needs_rehash((SELECT hash FROM h), 32)$$, '22023', NULL, 'needs_rehash: cost 32: 22023');

-- create_user
CREATE TEMP TABLE u AS
SELECT smarthub.create_user('Carol@Example.com', 'carol', 'carol-pw-1', 'Carol', 'Jones') AS id;
SELECT is((SELECT id FROM u), (SELECT id FROM smarthub.users WHERE username = 'carol'), 'create_user returns the new id');
SELECT results_eq(
    $$SELECT email::text, username::text, first_name::text, last_name::text, is_active, deleted_at IS NULL
        FROM smarthub.users WHERE id = (SELECT id FROM smarthub.users WHERE username = 'carol')$$,
    $$VALUES ('Carol@Example.com', 'carol', 'Carol', 'Jones', true, true)$$,
    'create_user stores the account');
SELECT ok(smarthub.verify_password('carol-pw-1', (SELECT password_hash FROM smarthub.users WHERE id = (SELECT id FROM smarthub.users WHERE username = 'carol'))),
          'create_user stores a bcrypt hash of the password');
SELECT matches((SELECT password_hash::text FROM smarthub.users WHERE id = (SELECT id FROM smarthub.users WHERE username = 'carol')), '^\$2b\$04\$', 'create_user hashes at bcrypt_cost');
SELECT results_eq(
    $$SELECT r.name::text FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id = ur.role_id
       WHERE ur.user_id = (SELECT id FROM smarthub.users WHERE username = 'carol') ORDER BY 1$$,
    $$VALUES ('user')$$, 'create_user: default roles are {user}');
INSERT INTO u SELECT smarthub.create_user('dave@example.com', 'dave', 'dave-pw', roles => ARRAY['viewer', 'admin', 'viewer']);
SELECT results_eq(
    $$SELECT r.name::text FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id = ur.role_id
         JOIN smarthub.users x ON x.id = ur.user_id WHERE x.username = 'dave'
       ORDER BY 1$$,
    $$VALUES ('admin'), ('viewer')$$, 'create_user: named roles, duplicates once');
INSERT INTO u SELECT smarthub.create_user('erin@example.com', 'erin', 'erin-pw', roles => NULL);
INSERT INTO u SELECT smarthub.create_user('fay@example.com', 'fay', 'fay-pw', roles => '{}');
SELECT is((SELECT count(*) FROM smarthub.user_roles ur JOIN smarthub.users x ON x.id = ur.user_id WHERE x.username = 'erin'),
          0::bigint, 'create_user: NULL roles gives no roles');
SELECT is((SELECT count(*) FROM smarthub.user_roles ur JOIN smarthub.users x ON x.id = ur.user_id WHERE x.username = 'fay'),
          0::bigint, 'create_user: an empty roles array gives no roles');
SELECT throws_ok($$SELECT smarthub.create_user('gus@example.com', 'gus', 'gus-pw', roles => ARRAY['user', 'superhero'])$$,
                 '22023', 'role "superhero" does not exist', 'create_user: unknown role: 22023');
SELECT throws_ok($$SELECT smarthub.create_user('gus@example.com', 'gus', 'gus-pw', roles => ARRAY[NULL])$$,
                 '22023', 'role names must not be null', 'create_user: NULL role name: 22023');
SELECT is((SELECT count(*) FROM smarthub.users WHERE username = 'gus'), 0::bigint, 'a refused create_user leaves no account');
SELECT throws_ok($$SELECT smarthub.create_user('CAROL@example.COM', 'carol2', 'pw')$$, '23505', NULL, 'create_user: email taken case-insensitively: 23505');
SELECT throws_ok($$SELECT smarthub.create_user('carol2@example.com', 'CAROL', 'pw')$$, '23505', NULL, 'create_user: username taken case-insensitively: 23505');
SELECT throws_ok($$SELECT smarthub.create_user('not-an-email', 'hal', 'pw')$$, '23514', NULL, 'create_user: malformed email: 23514');
SELECT throws_ok($$SELECT smarthub.create_user('hal@example.com', 'hal', '')$$, '22023', 'password must not be empty', 'create_user: empty password: 22023');
SELECT throws_ok($$SELECT smarthub.create_user('hal@example.com', 'hal', repeat('p', 73))$$, '22023', NULL, 'create_user: 73-byte password: 22023');
SELECT throws_ok($$SELECT smarthub.create_user(NULL, 'hal', 'pw')$$, '22004', 'email must not be null', 'create_user: NULL email: 22004');
SELECT throws_ok($$SELECT smarthub.create_user('hal@example.com', NULL, 'pw')$$, '22004', NULL, 'create_user: NULL username: 22004');
SELECT throws_ok($$SELECT smarthub.create_user('hal@example.com', 'hal', NULL)$$, '22004', NULL, 'create_user: NULL password: 22004');

-- set_password
SELECT lives_ok($$SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'carol'), 'carol-pw-2')$$, 'set_password on a known user');
SELECT ok(smarthub.verify_password('carol-pw-2', (SELECT password_hash FROM smarthub.users WHERE id = (SELECT id FROM smarthub.users WHERE username = 'carol'))), 'set_password: the new password verifies');
SELECT ok(NOT smarthub.verify_password('carol-pw-1', (SELECT password_hash FROM smarthub.users WHERE id = (SELECT id FROM smarthub.users WHERE username = 'carol'))), 'set_password: the old password no longer does');
SELECT throws_ok($$SELECT smarthub.set_password('00000000-0000-0000-0000-0000000000ff', 'pw')$$, 'P0002',
                 'user 00000000-0000-0000-0000-0000000000ff does not exist or is not active', 'set_password: unknown user: P0002');
UPDATE smarthub.users SET deleted_at = now() WHERE username = 'dave';
SELECT throws_ok($$SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'dave'), 'pw')$$, 'P0002', NULL, 'set_password: soft-deleted user: P0002');
SELECT throws_ok($$SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'carol'), '')$$, '22023', NULL, 'set_password: empty password: 22023');
SELECT throws_ok($$SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'carol'), repeat('p', 73))$$, '22023', NULL, 'set_password: 73-byte password: 22023');
SELECT throws_ok($$SELECT smarthub.set_password((SELECT id FROM smarthub.users WHERE username = 'carol'), NULL)$$, '22004', NULL, 'set_password: NULL password: 22004');
SELECT throws_ok($$SELECT smarthub.set_password(NULL, 'pw')$$, '22004', NULL, 'set_password: NULL user: 22004');

-- nothing for PUBLIC
SELECT is((SELECT count(*)::int FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'smarthub'::regnamespace
              AND p.proname IN ('hash_password', 'verify_password', 'password_needs_rehash', 'set_password', 'create_user')
              AND pg_catalog.has_function_privilege('smarthub_t020_app', p.oid, 'EXECUTE')),
          0, 'a new role cannot execute any password function (EXECUTE revoked from PUBLIC)');

SELECT * FROM finish();
ROLLBACK;
