-- Encryption at rest: declarations, round trips, the envelope, every failure mode with its SQLSTATE.
-- Needs the demo keyring script/test configures (keys 1 and 2, so key 2 encrypts); keyring
-- refusal on reload, rotation and dumps are in test/shell/050_keyring.sh.
BEGIN;
SELECT plan(103);

-- pg_temp.err(sql): 'SQLSTATE: message | detail | hint' of the error sql raises, or 'no error'.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg || ' | ' || det || ' | ' || hnt;
END $$;

-- pg_temp.sqlstate_of(sql): the SQLSTATE sql raises, or 'none'.
CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- declarations
SELECT has_function('smarthub', 'encrypt', ARRAY['bytea', 'text'], 'encrypt(bytea, text) exists');
SELECT has_function('smarthub', 'decrypt', ARRAY['bytea', 'text'], 'decrypt(bytea, text) exists');
SELECT has_function('smarthub', 'encrypt_text', ARRAY['text', 'text'], 'encrypt_text(text, text) exists');
SELECT has_function('smarthub', 'decrypt_text', ARRAY['text', 'text'], 'decrypt_text(text, text) exists');
SELECT has_function('smarthub', 'reencrypt', ARRAY['bytea', 'text'], 'reencrypt(bytea, text) exists');
SELECT has_function('smarthub', 'key_id', ARRAY['bytea'], 'key_id(bytea) exists');
SELECT function_returns('smarthub', 'encrypt', ARRAY['bytea', 'text'], 'bytea', 'encrypt returns bytea');
SELECT function_returns('smarthub', 'decrypt', ARRAY['bytea', 'text'], 'bytea', 'decrypt returns bytea');
SELECT function_returns('smarthub', 'encrypt_text', ARRAY['text', 'text'], 'text', 'encrypt_text returns text');
SELECT function_returns('smarthub', 'decrypt_text', ARRAY['text', 'text'], 'text', 'decrypt_text returns text');
SELECT function_returns('smarthub', 'reencrypt', ARRAY['bytea', 'text'], 'bytea', 'reencrypt returns bytea');
SELECT function_returns('smarthub', 'key_id', ARRAY['bytea'], 'integer', 'key_id returns integer');
SELECT results_eq($$
    SELECT p.proname::text COLLATE "default", p.proisstrict, p.provolatile::text, p.proparallel::text, p.prosecdef,
           has_function_privilege('public', p.oid, 'EXECUTE')
      FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace
       AND p.proname IN ('encrypt', 'decrypt', 'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id')
     ORDER BY 1$$,
    $$VALUES ('decrypt', true, 'v', 's', false, false), ('decrypt_text', true, 'v', 's', false, false),
             ('encrypt', true, 'v', 's', false, false), ('encrypt_text', true, 'v', 's', false, false),
             ('key_id', true, 'v', 's', false, false), ('reencrypt', true, 'v', 's', false, false)$$,
    'all six are STRICT, VOLATILE, PARALLEL SAFE, SECURITY INVOKER, not executable by PUBLIC');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'smarthub'::regnamespace
            AND proname IN ('encrypt', 'decrypt', 'encrypt_text', 'decrypt_text', 'reencrypt', 'key_id')
            AND obj_description(oid, 'pg_proc') IS NULL), 0, 'every encryption function has a comment');
SELECT is((SELECT pg_get_function_arguments('smarthub.encrypt(bytea, text)'::regprocedure)),
    'plaintext bytea, context text DEFAULT ''''::text', 'context defaults to the empty string');

-- round trips
SELECT is(smarthub.decrypt(smarthub.encrypt(''::bytea, 'c'), 'c'), ''::bytea, 'empty bytea round trip');
SELECT is(smarthub.decrypt(smarthub.encrypt('\x00'::bytea, 'c'), 'c'), '\x00'::bytea, '1-byte round trip');
CREATE TEMP TABLE big AS
    SELECT string_agg(gen_random_bytes(1024), ''::bytea) AS v FROM generate_series(1, 1024);
SELECT is((SELECT length(v) FROM big), 1048576, '1 MB of random bytes to encrypt');
CREATE TEMP TABLE big_enc AS SELECT smarthub.encrypt(v, 'big') AS e FROM big;
SELECT is((SELECT length(e) FROM big_enc), 1048576 + 33, '1 MB envelope is 33 bytes longer');
SELECT ok((SELECT smarthub.decrypt(e, 'big') = v FROM big, big_enc), '1 MB round trip');
SELECT is(smarthub.decrypt_text(smarthub.encrypt_text('Grüße, 世界 ✓ 🙂', 'users.last_name:1'), 'users.last_name:1'),
    'Grüße, 世界 ✓ 🙂', 'non-ASCII text round trip');
SELECT is(convert_from(smarthub.decrypt(smarthub.encrypt(convert_to('naïve', 'UTF8'), 'ctx ✓'), 'ctx ✓'), 'UTF8'),
    'naïve', 'non-ASCII bytea and context round trip');
SELECT is(smarthub.decrypt_text(smarthub.encrypt_text('')), '', 'empty text round trip with the default context');
SELECT is(smarthub.decrypt_text(smarthub.encrypt_text('x', ''), ''), 'x', '1-character text round trip');
SELECT is(smarthub.decrypt(smarthub.encrypt('abc'::bytea)), 'abc'::bytea, 'default context is the empty string');
SELECT is(smarthub.decrypt(smarthub.encrypt('abc'::bytea, ''), ''), 'abc'::bytea, 'explicit empty context equals the default');

-- the envelope
CREATE TEMP TABLE env AS SELECT smarthub.encrypt('secret plaintext'::bytea, 'users.last_name:1') AS e;
SELECT is((SELECT length(e) FROM env), 16 + 33, 'envelope = 17-byte header + ciphertext + 16-byte tag');
SELECT is((SELECT get_byte(e, 0) FROM env), 1, 'byte 0 is format version 1');
SELECT is((SELECT substring(e FROM 2 FOR 4) FROM env), '\x00000002'::bytea, 'bytes 1-4: key id 2, big-endian');
SELECT is((SELECT smarthub.key_id(e) FROM env), 2, 'key_id reads the id: the highest in the keyring');
SELECT is((SELECT position('secret plaintext'::bytea IN e) FROM env), 0, 'plaintext does not appear in the envelope');
SELECT isnt(smarthub.encrypt('same'::bytea, 'c'), smarthub.encrypt('same'::bytea, 'c'), 'fresh nonce: equal plaintexts encrypt differently');
SELECT is((SELECT count(DISTINCT substring(smarthub.encrypt('same'::bytea) FROM 6 FOR 12))::int FROM generate_series(1, 1000)),
    1000, '1000 encryptions, 1000 distinct nonces');
SELECT is(length(smarthub.encrypt_text('abc')), 48, 'encrypt_text: base64 of the 36-byte envelope, no line breaks');
SELECT is(smarthub.key_id(decode(smarthub.encrypt_text('abc', 'c'), 'base64')), 2, 'encrypt_text''s output decodes to an envelope');
SELECT is(convert_from(smarthub.decrypt(decode(smarthub.encrypt_text('abc', 'c'), 'base64'), 'c'), 'UTF8'), 'abc',
    'and decrypt() reads it');
SELECT is(smarthub.decrypt_text(encode(smarthub.encrypt(convert_to('abc', 'UTF8'), 'c'), 'base64'), 'c'), 'abc',
    'decrypt_text reads a base64 envelope from encrypt()');

-- wrong context: another column, another row, empty vs not
SELECT throws_ok($$SELECT smarthub.decrypt(e, 'users.last_name:2') FROM env$$, '22023',
    'encrypted value failed authentication', 'ciphertext moved to another row''s context fails');
SELECT throws_ok($$SELECT smarthub.decrypt(e, 'users.first_name:1') FROM env$$, '22023',
    'encrypted value failed authentication', 'ciphertext moved to another column''s context fails');
SELECT throws_ok($$SELECT smarthub.decrypt(e) FROM env$$, '22023', NULL, 'default context does not match a non-empty one');
SELECT throws_ok($$SELECT smarthub.decrypt(smarthub.encrypt('abc'::bytea), 'x')$$, '22023', NULL,
    'a non-empty context does not match the default');
SELECT throws_ok($$SELECT smarthub.decrypt_text(smarthub.encrypt_text('abc', 'a'), 'b')$$, '22023', NULL,
    'decrypt_text with the wrong context');
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea, %L)', e, 'users.last_name:2')) FROM env),
    '22023: encrypted value failed authentication | Either the context differs from the one it was encrypted with, or the value was altered. | ',
    'authentication failure: message and detail, no data');

-- tampered bytes: flipping one bit anywhere (header, nonce, ciphertext, tag) fails with 22023
SELECT is((SELECT string_agg(DISTINCT pg_temp.sqlstate_of(format('SELECT smarthub.decrypt(%L::bytea, %L)',
                set_byte(e, i, get_byte(e, i) # 1), 'users.last_name:1')), ',')
             FROM env, generate_series(0, length(e) - 1) i), '22023', 'a flipped bit at every one of the 49 positions: 22023');
SELECT is((SELECT count(*)::int FROM env, generate_series(0, length(e) - 1) i
            WHERE pg_temp.sqlstate_of(format('SELECT smarthub.decrypt(%L::bytea, %L)',
                set_byte(e, i, get_byte(e, i) # 128), 'users.last_name:1')) = '22023'), 49, 'and with the high bit flipped: 49 of 49');
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea, %L)', set_byte(e, 30, get_byte(e, 30) # 1), 'users.last_name:1')) FROM env),
    '22023: encrypted value failed authentication | Either the context differs from the one it was encrypted with, or the value was altered. | ',
    'tampered ciphertext byte: authentication failure');
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea, %L)', set_byte(e, 4, 1), 'users.last_name:1')) FROM env),
    '22023: encrypted value failed authentication | Either the context differs from the one it was encrypted with, or the value was altered. | ',
    'key id changed to 1, a key in the keyring: the header is authenticated');
SELECT throws_ok($$SELECT smarthub.decrypt(e || '\x00'::bytea, 'users.last_name:1') FROM env$$, '22023',
    'encrypted value failed authentication', 'a byte appended: 22023');
SELECT throws_ok($$SELECT smarthub.decrypt(substring(e FROM 1 FOR 17) || substring(e FROM 34), 'users.last_name:1') FROM env$$,
    '22023', 'encrypted value failed authentication', 'ciphertext removed, tag kept: 22023');

-- truncated envelopes: every prefix fails with 22023
SELECT is((SELECT count(*)::int FROM env, generate_series(0, length(e) - 1) n
            WHERE pg_temp.sqlstate_of(format('SELECT smarthub.decrypt(%L::bytea, %L)', substring(e FROM 1 FOR n),
                'users.last_name:1')) = '22023'), 49, 'every proper prefix (0 to 48 bytes): 22023');
SELECT is(pg_temp.err($$SELECT smarthub.decrypt('\x'::bytea)$$),
    '22023: encrypted value is truncated | The value is empty; an envelope has at least 33 bytes. | ', 'empty value: truncated');
SELECT is(pg_temp.err($$SELECT smarthub.decrypt('\x01'::bytea)$$),
    '22023: encrypted value is truncated | The value has 1 byte; an envelope has at least 33 bytes. | ', '1 byte: truncated');
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea)', substring(e FROM 1 FOR 32))) FROM env),
    '22023: encrypted value is truncated | The value has 32 bytes; an envelope has at least 33 bytes. | ', '32 bytes: truncated');
SELECT throws_ok($$SELECT smarthub.decrypt(substring(e FROM 1 FOR 33), 'users.last_name:1') FROM env$$, '22023',
    'encrypted value failed authentication', '33 bytes (tag cut short): 22023');

-- unknown version, unknown or invalid key id
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea)', set_byte(e, 0, 2))) FROM env),
    '22023: encrypted value has unknown format version 2 | This version of smarthub reads format version 1. | ', 'version 2: 22023');
SELECT is(pg_temp.err($$SELECT smarthub.decrypt('\x00'::bytea)$$),
    '22023: encrypted value has unknown format version 0 | This version of smarthub reads format version 1. | ', 'version 0: 22023');
SELECT is((SELECT pg_temp.err(format('SELECT smarthub.decrypt(%L::bytea)', overlay(e PLACING '\x00000009'::bytea FROM 2 FOR 4))) FROM env),
    '22023: encrypted value uses key 9, which is not in the keyring |  | Add the key back to the keyring file, or restore the value from a backup.',
    'unknown key id 9: 22023');
SELECT throws_ok($$SELECT smarthub.decrypt(overlay(e PLACING '\x00000000'::bytea FROM 2 FOR 4)) FROM env$$, '22023',
    'encrypted value has an invalid key id', 'key id 0: 22023');
SELECT throws_ok($$SELECT smarthub.decrypt(overlay(e PLACING '\xffffffff'::bytea FROM 2 FOR 4)) FROM env$$, '22023',
    'encrypted value has an invalid key id', 'key id above 2^31-1: 22023');
SELECT is((SELECT smarthub.key_id(overlay(e PLACING '\x7fffffff'::bytea FROM 2 FOR 4)) FROM env), 2147483647, 'key_id up to 2^31-1');

-- decrypt_text input
SELECT is(smarthub.decrypt_text(encode(smarthub.encrypt(convert_to(repeat('long ', 40), 'UTF8'), 'c'), 'base64'), 'c'), repeat('long ', 40),
    'decrypt_text skips the line breaks encode(..., ''base64'') puts in');
SELECT is(strpos(encode(smarthub.encrypt(convert_to(repeat('long ', 40), 'UTF8'), 'c'), 'base64'), E'\n') > 0, true,
    'and that input did have line breaks');
SELECT is(strpos(smarthub.encrypt_text(repeat('long ', 40), 'c'), E'\n'), 0, 'encrypt_text writes none');
SELECT throws_ok($$SELECT smarthub.decrypt_text('not base64!')$$, '22023', 'encrypted value is not valid base64', 'bad base64: 22023');
SELECT throws_ok($$SELECT smarthub.decrypt_text('AQAAAAL')$$, '22023', 'encrypted value is not valid base64', 'base64 of the wrong length: 22023');
SELECT throws_ok($$SELECT smarthub.decrypt_text('')$$, '22023', 'encrypted value is truncated', 'empty text: truncated');
SELECT throws_ok($$SELECT smarthub.decrypt_text(left(smarthub.encrypt_text('abc'), 40))$$, '22023', 'encrypted value is truncated',
    'truncated base64 envelope: 22023');
SELECT is(pg_temp.err($$SELECT smarthub.decrypt_text(encode(smarthub.encrypt('\xff00'::bytea), 'base64'))$$),
    '22021: decrypted value is not valid text in the database encoding |  | Use smarthub.decrypt() for values encrypted from bytea.',
    'bytes that are not text: 22021, without the bytes');

-- NULLs: STRICT
SELECT is(smarthub.encrypt(NULL::bytea, 'c'), NULL, 'encrypt(NULL) is NULL');
SELECT is(smarthub.encrypt('x'::bytea, NULL), NULL, 'encrypt(x, NULL) is NULL');
SELECT is(smarthub.decrypt(NULL::bytea), NULL, 'decrypt(NULL) is NULL');
SELECT is((SELECT smarthub.decrypt(e, NULL) FROM env), NULL, 'decrypt(x, NULL) is NULL');
SELECT is(smarthub.encrypt_text(NULL::text), NULL, 'encrypt_text(NULL) is NULL');
SELECT is(smarthub.decrypt_text(NULL::text, 'c'), NULL, 'decrypt_text(NULL) is NULL');
SELECT is(smarthub.reencrypt(NULL::bytea), NULL, 'reencrypt(NULL) is NULL');
SELECT is(smarthub.key_id(NULL::bytea), NULL, 'key_id(NULL) is NULL');

-- key_id and reencrypt (rotation across keys is in test/shell/050_keyring.sh)
SELECT throws_ok($$SELECT smarthub.key_id('\x0100')$$, '22023', 'encrypted value is truncated', 'key_id of a truncated envelope: 22023');
SELECT throws_ok($$SELECT smarthub.key_id('\x03000000010000000000000000000000000000000000000000000000000000000000')$$, '22023',
    'encrypted value has unknown format version 3', 'key_id of an unknown version: 22023');
CREATE TEMP TABLE re AS SELECT e, smarthub.reencrypt(e, 'users.last_name:1') AS r FROM env;
SELECT is((SELECT smarthub.key_id(r) FROM re), 2, 'reencrypt uses the current key');
SELECT ok((SELECT r <> e FROM re), 'reencrypt draws a fresh nonce');
SELECT is((SELECT smarthub.decrypt(r, 'users.last_name:1') FROM re), 'secret plaintext'::bytea, 'reencrypted value decrypts to the same plaintext');
SELECT throws_ok($$SELECT smarthub.reencrypt(e, 'users.last_name:2') FROM env$$, '22023', 'encrypted value failed authentication',
    'reencrypt with the wrong context: 22023');
SELECT throws_ok($$SELECT smarthub.reencrypt('\x01')$$, '22023', 'encrypted value is truncated', 'reencrypt of a truncated value: 22023');

-- no usable keyring: every function that needs a key raises 55000; key_id does not need one
SET LOCAL smarthub.keyring_file = '';
SELECT is(pg_temp.err($$SELECT smarthub.encrypt('x'::bytea)$$),
    '55000: no encryption keyring is configured |  | Set smarthub.keyring_file to the path of a keyring file and reload the configuration.',
    'encrypt without a keyring: 55000 with a hint naming smarthub.keyring_file');
SELECT throws_ok($$SELECT smarthub.decrypt(e) FROM env$$, '55000', 'no encryption keyring is configured', 'decrypt without a keyring: 55000');
SELECT throws_ok($$SELECT smarthub.encrypt_text('x')$$, '55000', 'no encryption keyring is configured', 'encrypt_text without a keyring: 55000');
SELECT throws_ok($$SELECT smarthub.decrypt_text(encode(e, 'base64')) FROM env$$, '55000', 'no encryption keyring is configured',
    'decrypt_text without a keyring: 55000');
SELECT throws_ok($$SELECT smarthub.reencrypt(e) FROM env$$, '55000', 'no encryption keyring is configured', 'reencrypt without a keyring: 55000');
SELECT is((SELECT smarthub.key_id(e) FROM env), 2, 'key_id needs no keyring');
SET LOCAL smarthub.keyring_file = '/nonexistent/smarthub.keyring';
SELECT is(pg_temp.err($$SELECT smarthub.encrypt('x'::bytea)$$),
    '55000: the encryption keyring was refused | Keyring file "/nonexistent/smarthub.keyring": could not open: No such file or directory. | Fix the file named by smarthub.keyring_file and reload the configuration.',
    'missing file: 55000 naming the file');
SET LOCAL smarthub.keyring_file = '/etc/passwd';
SELECT is(pg_temp.err($$SELECT smarthub.encrypt('x'::bytea)$$),
    '55000: the encryption keyring was refused | Keyring file "/etc/passwd": permissions 0644 give access to group or others; it must be readable only by the server''s OS user (chmod 600). | Fix the file named by smarthub.keyring_file and reload the configuration.',
    'world-readable file: 55000 naming the file and the problem');
SELECT throws_ok($$SELECT smarthub.decrypt(e) FROM env$$, '55000', 'the encryption keyring was refused', 'decrypt with a refused keyring: 55000');
SET LOCAL smarthub.keyring_file = '/';
SELECT throws_ok($$SELECT smarthub.reencrypt(e) FROM env$$, '55000', 'the encryption keyring was refused', 'a directory is refused: 55000');
RESET smarthub.keyring_file;
SELECT is((SELECT smarthub.decrypt(e, 'users.last_name:1') FROM env), 'secret plaintext'::bytea, 'after RESET the keyring works again');

-- application roles: no EXECUTE until granted, and the keyring path is hidden
CREATE ROLE smarthub_enc_app_050 LOGIN;
SET LOCAL ROLE smarthub_enc_app_050;
SELECT throws_ok($$SELECT smarthub.encrypt('x'::bytea)$$, '42501', NULL, 'an application role cannot encrypt without a grant');
SELECT throws_ok($$SHOW smarthub.keyring_file$$, '42501', NULL, 'an application role cannot SHOW smarthub.keyring_file');
SELECT throws_ok($$SELECT current_setting('smarthub.keyring_file')$$, '42501', NULL, 'nor read it with current_setting()');
SELECT is((SELECT count(*)::int FROM pg_settings WHERE name = 'smarthub.keyring_file'), 0, 'nor see it in pg_settings');
SELECT throws_ok($$SET smarthub.keyring_file = '/tmp/x'$$, '42501', NULL, 'nor set it');
RESET ROLE;
GRANT USAGE ON SCHEMA smarthub TO smarthub_enc_app_050;
GRANT EXECUTE ON FUNCTION smarthub.encrypt(bytea, text), smarthub.decrypt(bytea, text) TO smarthub_enc_app_050;
SET LOCAL ROLE smarthub_enc_app_050;
SELECT is(smarthub.decrypt(smarthub.encrypt('granted'::bytea, 'c'), 'c'), 'granted'::bytea, 'once granted, an application role encrypts and decrypts');
RESET ROLE;

-- The audit log of an encrypted column holds the ciphertext, never the plaintext.
CREATE TABLE public.enc_audited (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), secret bytea, secret_text text);
SELECT smarthub.enable_audit('public.enc_audited');
INSERT INTO public.enc_audited (id, secret, secret_text)
VALUES ('e0000000-0000-4000-8000-000000000001', smarthub.encrypt('plain-secret-one', 'enc_audited'),
        smarthub.encrypt_text('plain-secret-two', 'enc_audited'));
UPDATE public.enc_audited SET secret = smarthub.reencrypt(secret, 'enc_audited');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'enc_audited'
            AND changes::text ~ ('plain-secret|' || encode(convert_to('plain-secret', 'UTF8'), 'hex'))), 0,
          'audit rows of an encrypted column hold no plaintext, as text or as hex');
SELECT is((SELECT changes->'after'->>'secret' FROM smarthub.audit_logs WHERE entity_type = 'enc_audited' AND action = 'UPDATE'),
          (SELECT '\x' || encode(secret, 'hex') FROM public.enc_audited),
          'the UPDATE row holds the new ciphertext as stored');
SELECT is((SELECT smarthub.decrypt_text(changes->'after'->>'secret_text', 'enc_audited') FROM smarthub.audit_logs
            WHERE entity_type = 'enc_audited' AND action = 'CREATE'),
          'plain-secret-two', 'the CREATE row holds the ciphertext, which only the keyring opens');
SELECT * FROM finish();
ROLLBACK;
