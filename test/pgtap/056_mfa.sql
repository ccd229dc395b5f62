-- The second factor: TOTP enrolment and its otpauth URI, confirmation, verification (the window of
-- one step either side, replay, the lock after too many failures), recovery codes, the assurance
-- level of sessions (current_aal, verify_session_mfa), the caller rules, row-level security on the
-- two tables, audit rows, SQLSTATEs, NULL and malformed codes. The expected codes are computed here
-- in SQL from the base32 secret totp_enroll returns (pgcrypto's hmac(), RFC 4226's truncation, at
-- clock_timestamp()), by a helper checked against RFC 4226's own vectors first; the C code is thus
-- checked against an independent implementation. Each clock-bound group starts with settle(),
-- which waits out the end of a 30-second step, so that a code and the call judging it fall in the
-- same step.
BEGIN;
SELECT plan(171);
SET LOCAL smarthub.bcrypt_cost = 4;

CREATE ROLE mfa_app;
CREATE ROLE mfa_svc;
SELECT smarthub.grant_access('mfa_app');
SELECT smarthub.grant_access('mfa_svc', trusted => true);
-- u1 and u2 users, u3 an admin, u4 deactivated below, u5 for sessions
INSERT INTO smarthub.users (id, email, username, password_hash)
SELECT ('a5000000-0000-4000-8000-00000000000' || i)::uuid, 'mfa' || i || '@mfa.io', 'mfa' || i,
       smarthub.hash_password('mfa-password', 4)
  FROM generate_series(1, 5) i;
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('a5000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'),
    ('a5000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002'),
    ('a5000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001');

-- What totp_enroll returned, by label (the application role reads it back too).
CREATE TEMP TABLE enrolled (label text PRIMARY KEY, factor_id uuid, secret text, uri text);
CREATE TEMP TABLE secrets (label text PRIMARY KEY, value text);
GRANT SELECT ON enrolled, secrets TO PUBLIC;

CREATE FUNCTION pg_temp.base32_decode(s text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    bits text := '';
    result bytea := '';
    v integer;
BEGIN
    FOR i IN 1 .. length(s) LOOP
        v := strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', substr(s, i, 1)) - 1;
        IF v < 0 THEN
            RAISE EXCEPTION 'not base32: %', s;
        END IF;
        bits := bits || v::bit(5)::text;
    END LOOP;
    FOR i IN 0 .. length(bits) / 8 - 1 LOOP
        result := result || set_byte('\x00'::bytea, 0, substr(bits, i * 8 + 1, 8)::bit(8)::integer);
    END LOOP;
    RETURN result;
END $$;
-- HOTP (RFC 4226 5.3): HMAC-SHA1 of the 8-byte big-endian counter, dynamic truncation, 6 digits.
CREATE FUNCTION pg_temp.hotp(key bytea, counter bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT lpad(((((get_byte(mac, o) & 127)::bigint << 24) | (get_byte(mac, o + 1)::bigint << 16)
                  | (get_byte(mac, o + 2)::bigint << 8) | get_byte(mac, o + 3)) % 1000000)::text, 6, '0')
      FROM (SELECT mac, get_byte(mac, 19) & 15 AS o
              FROM (SELECT public.hmac(int8send(counter), key, 'sha1') AS mac) m) x
$$;
CREATE FUNCTION pg_temp.step() RETURNS bigint LANGUAGE sql VOLATILE
    AS $$SELECT floor(extract(epoch FROM clock_timestamp()) / 30)::bigint$$;
-- The code of an enrolled factor for the current step + delta.
CREATE FUNCTION pg_temp.code(who text, delta integer DEFAULT 0) RETURNS text LANGUAGE sql VOLATILE
    AS $$SELECT pg_temp.hotp(pg_temp.base32_decode(secret), pg_temp.step() + delta) FROM pg_temp.enrolled WHERE label = who$$;
-- A code that is none of the three the factor accepts now.
CREATE FUNCTION pg_temp.wrong(who text) RETURNS text LANGUAGE sql VOLATILE
    AS $$SELECT c FROM unnest(ARRAY['000000', '111111', '222222', '333333']) c
           WHERE c NOT IN (pg_temp.code(who, -1), pg_temp.code(who), pg_temp.code(who, 1)) LIMIT 1$$;
-- Wait for the next step when fewer than margin seconds are left of this one.
CREATE FUNCTION pg_temp.settle(margin integer DEFAULT 6) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    left_s float8 := 30 - mod(extract(epoch FROM clock_timestamp())::numeric, 30)::float8;
BEGIN
    IF left_s < margin THEN
        PERFORM pg_sleep(left_s + 0.2);
    END IF;
END $$;
CREATE FUNCTION pg_temp.factor(who text) RETURNS smarthub.mfa_factors LANGUAGE sql VOLATILE
    AS $$SELECT f FROM smarthub.mfa_factors f WHERE id = (SELECT factor_id FROM pg_temp.enrolled WHERE label = who)$$;
CREATE FUNCTION pg_temp.enroll(who text, p_user uuid, p_issuer text DEFAULT 'Example Co', p_account text DEFAULT NULL)
    RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO pg_temp.enrolled SELECT who, e.factor_id, e.secret, e.otpauth_uri
      FROM smarthub.totp_enroll(p_user, p_issuer, coalesce(p_account, who || '@mfa.io')) e
    ON CONFLICT (label) DO UPDATE SET factor_id = excluded.factor_id, secret = excluded.secret, uri = excluded.uri
$$;
CREATE FUNCTION pg_temp.session_id(token text) RETURNS uuid LANGUAGE sql VOLATILE
    AS $$SELECT id FROM smarthub.sessions WHERE token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')$$;

---------------------------------------------------------------------------------------------------
-- The helper against RFC 4226 Appendix D (secret "12345678901234567890", counters 0 to 9)
---------------------------------------------------------------------------------------------------
SELECT is(array_agg(pg_temp.hotp(convert_to('12345678901234567890', 'UTF8'), c) ORDER BY c),
    ARRAY['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'],
    'the test''s own HOTP gives RFC 4226''s ten values')
  FROM generate_series(0, 9) c;
SELECT is(pg_temp.base32_decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), convert_to('12345678901234567890', 'UTF8'),
    'the test''s base32 decoder reads RFC 6238''s secret');

---------------------------------------------------------------------------------------------------
-- Enrolment
---------------------------------------------------------------------------------------------------
SELECT pg_temp.enroll('one', 'a5000000-0000-4000-8000-000000000001');
SELECT matches((SELECT secret FROM enrolled WHERE label = 'one'), '^[A-Z2-7]{32}$', 'the secret: 32 base32 characters (160 bits), no padding');
SELECT is((SELECT uri FROM enrolled WHERE label = 'one'),
    'otpauth://totp/Example%20Co:one%40mfa.io?secret=' || (SELECT secret FROM enrolled WHERE label = 'one')
        || '&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30',
    'the otpauth URI: label issuer:account and issuer percent-encoded, SHA1, 6 digits, 30 s');
SELECT is((SELECT length(secret) FROM pg_temp.factor('one')), 53, 'stored: a 53-byte envelope (20 bytes + 33), not the secret');
SELECT is((SELECT smarthub.decrypt(secret, 'smarthub.mfa_factors.secret:' || id) FROM pg_temp.factor('one')),
    (SELECT pg_temp.base32_decode(secret) FROM enrolled WHERE label = 'one'),
    'the envelope decrypts, with the context ''smarthub.mfa_factors.secret:'' || id, to the secret shown');
SELECT throws_ok($$SELECT smarthub.decrypt(secret) FROM pg_temp.factor('one')$$, '22023', NULL,
    'without its context the envelope does not decrypt');
SELECT is((SELECT (f.kind, f.issuer, f.account_label, f.confirmed_at, f.last_step, f.failures, f.locked_until)::text FROM pg_temp.factor('one') f),
    '(totp,"Example Co",one@mfa.io,,,0,)', 'an unconfirmed totp factor with issuer and label');
SELECT pg_temp.enroll('uni', 'a5000000-0000-4000-8000-000000000002', 'Ünï Corp/Ltd', 'bob+2fa@x.io');
SELECT is((SELECT uri FROM enrolled WHERE label = 'uni'),
    'otpauth://totp/%C3%9Cn%C3%AF%20Corp%2FLtd:bob%2B2fa%40x.io?secret=' || (SELECT secret FROM enrolled WHERE label = 'uni')
        || '&issuer=%C3%9Cn%C3%AF%20Corp%2FLtd&algorithm=SHA1&digits=6&period=30',
    'non-ASCII, /, + and @ are percent-encoded as UTF-8');
SELECT isnt((SELECT secret FROM enrolled WHERE label = 'uni'), (SELECT secret FROM enrolled WHERE label = 'one'), 'each enrolment draws its own secret');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one')), false,
    'an unconfirmed factor verifies nothing');

---------------------------------------------------------------------------------------------------
-- Confirmation, replay, the window
---------------------------------------------------------------------------------------------------
SELECT pg_temp.settle();
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one'), pg_temp.wrong('one')), false, 'confirm: a wrong code is false');
SELECT is((pg_temp.factor('one')).failures, 1, 'and counts as a failure');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one'), pg_temp.code('one', -2)), false, 'confirm: the code of two steps ago is outside the window');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one'), pg_temp.code('one', 2)), false, 'confirm: the code two steps ahead is outside the window');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one'), pg_temp.code('one', -1)), true, 'confirm: the previous step''s code is accepted');
SELECT ok((SELECT confirmed_at IS NOT NULL AND last_step = pg_temp.step() - 1 AND failures = 0 FROM pg_temp.factor('one')),
    'confirmed; the step it accepted is recorded as used; failures reset');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one'), pg_temp.code('one')), false, 'a confirmed factor cannot be confirmed again');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one', -1)), false, 'verify: the step confirmation used is refused (replay)');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one')), true, 'verify: the current step''s code');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one')), false, 'verify: the same code again is refused (replay)');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one', 2)), false, 'verify: two steps ahead is outside the window');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one', 1)), true, 'verify: the next step''s code (one step ahead)');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one')), false, 'verify: a step before the last accepted one is refused, inside the window too');
SELECT is((pg_temp.factor('one')).last_step, pg_temp.step() + 1, 'last_step is the latest step accepted');

---------------------------------------------------------------------------------------------------
-- Malformed and NULL codes: false, never an error, and no failure counted
---------------------------------------------------------------------------------------------------
SELECT is((pg_temp.factor('one')).failures, 1, 'a failure so far: the refused earlier step (a replay counts)');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', c), false, 'verify, malformed code ' || coalesce(quote_literal(replace(left(c, 20), E'\n', '\n')), 'NULL'))
  FROM unnest(ARRAY[NULL, '', '12345', '1234567', 'abcdef', ' 12345', '12345 ', '１２３４５６', '١٢٣٤٥٦', '12 456',
                    repeat('1', 1048576), E'12345\n']) c;
SELECT is((pg_temp.factor('one')).failures, 1, 'malformed codes count no failure');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'uni'), NULL), false, 'confirm: a NULL code is false');
SELECT is(smarthub.totp_confirm('a5000000-0000-4000-8000-0000000000ff', '123456'), false, 'confirm: an unknown factor is false');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-0000000000ff', '123456'), false, 'verify: an unknown user is false');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000005', '123456'), false, 'verify: a user without a factor is false');

---------------------------------------------------------------------------------------------------
-- The lock: smarthub.totp_max_failures wrong codes in a row, for smarthub.totp_lockout
---------------------------------------------------------------------------------------------------
SET LOCAL smarthub.totp_max_failures = 3;
SET LOCAL smarthub.totp_lockout = 2;
SELECT pg_temp.enroll('admin', 'a5000000-0000-4000-8000-000000000003');
SELECT pg_temp.settle(12);
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'admin'), pg_temp.code('admin', -1)), true, 'lock: a confirmed factor');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.wrong('admin')), false, 'lock: wrong code 1');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.wrong('admin')), false, 'lock: wrong code 2');
SELECT ok((SELECT failures = 2 AND locked_until IS NULL FROM pg_temp.factor('admin')), 'two failures: not locked yet');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.wrong('admin')), false, 'lock: wrong code 3');
SELECT ok((SELECT failures = 0 AND locked_until > clock_timestamp() + interval '1 second'
                  AND locked_until < clock_timestamp() + interval '3 seconds' FROM pg_temp.factor('admin')),
    'the third failure locks the factor for smarthub.totp_lockout (2 s) and counting starts anew');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.code('admin')), false, 'locked: the right code is refused');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.wrong('admin')), false, 'locked: a wrong one too');
SELECT ok((SELECT failures = 0 AND last_step = pg_temp.step() - 1 FROM pg_temp.factor('admin')),
    'attempts while locked count nothing and use no step');
SELECT pg_sleep(2.2);
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000003', pg_temp.code('admin')), true, 'after the lockout the right code works');
RESET smarthub.totp_max_failures;
RESET smarthub.totp_lockout;
SET ROLE mfa_app;
SELECT throws_ok($$SET smarthub.totp_lockout = '1h'$$, '42501', NULL, 'only a superuser sets totp_lockout');
SELECT throws_ok($$SET smarthub.totp_max_failures = 1000$$, '42501', NULL, 'only a superuser sets totp_max_failures');
RESET ROLE;

---------------------------------------------------------------------------------------------------
-- Re-enrolment: one enrolment waits at a time; a confirmed factor replaces the earlier ones
---------------------------------------------------------------------------------------------------
SELECT pg_temp.enroll('one-b', 'a5000000-0000-4000-8000-000000000001');
SELECT pg_temp.enroll('one-c', 'a5000000-0000-4000-8000-000000000001');
SELECT is((SELECT count(*)::int FROM smarthub.mfa_factors WHERE user_id = 'a5000000-0000-4000-8000-000000000001'), 2,
    'a second enrolment replaced the first still unconfirmed one (the confirmed factor stays)');
SELECT pg_temp.settle();
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one-c')), false, 'the new factor verifies nothing before confirmation');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'one-c'), pg_temp.code('one-c', -1)), true, 'confirming the new factor');
SELECT results_eq($$SELECT id FROM smarthub.mfa_factors WHERE user_id = 'a5000000-0000-4000-8000-000000000001'$$,
    $$SELECT factor_id FROM enrolled WHERE label = 'one-c'$$, 'replaces the earlier factor');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one-c')), true, 'the new secret verifies');
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', pg_temp.code('one', 1)), false, 'the old secret no longer does');

---------------------------------------------------------------------------------------------------
-- Audit rows: enrolment, confirmation, lock, removal; the secret redacted
---------------------------------------------------------------------------------------------------
SELECT results_eq($$SELECT action::text, (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(coalesce(changes->'after', changes->'before')) k)
                      FROM smarthub.entity_history('mfa_factors', (SELECT factor_id FROM enrolled WHERE label = 'admin')) ORDER BY created_at, id$$,
    $$VALUES ('CREATE', ARRAY['account_label', 'confirmed_at', 'created_at', 'failures', 'id', 'issuer', 'kind', 'last_step', 'locked_until', 'secret', 'user_id']),
             ('UPDATE', ARRAY['confirmed_at']), ('UPDATE', ARRAY['locked_until'])$$,
    'audited: enrolment, confirmation and the lock; not the bookkeeping of steps and failures');
SELECT is((SELECT changes->'after'->>'secret' FROM smarthub.entity_history('mfa_factors', (SELECT factor_id FROM enrolled WHERE label = 'admin')) WHERE action = 'CREATE'),
    '[redacted]', 'the secret is redacted');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'mfa_factors' AND action = 'DELETE'
             AND entity_id IN (SELECT factor_id FROM enrolled WHERE label IN ('one', 'one-b'))), 2,
    'audited: the removal of a replaced enrolment and of a replaced factor');

---------------------------------------------------------------------------------------------------
-- Recovery codes
---------------------------------------------------------------------------------------------------
INSERT INTO secrets SELECT 'rc' || n, c FROM smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001') WITH ORDINALITY g(c, n);
SELECT is((SELECT count(DISTINCT value)::int FROM secrets WHERE label LIKE 'rc%'), 10, 'ten codes by default, all different');
SELECT is((SELECT count(*)::int FROM secrets WHERE label LIKE 'rc%' AND value ~ '^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$'), 10,
    'each xxxxx-xxxxx in Crockford''s base32 (no i, l, o, u)');
SELECT set_eq($$SELECT code_hash::text FROM smarthub.recovery_codes WHERE user_id = 'a5000000-0000-4000-8000-000000000001'$$,
    $$SELECT encode(sha256(convert_to(replace(value, '-', ''), 'UTF8')), 'hex') FROM secrets WHERE label LIKE 'rc%'$$,
    'stored: only the SHA-256 of each normalised code');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', (SELECT value FROM secrets WHERE label = 'rc1')), true, 'a code works');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', (SELECT value FROM secrets WHERE label = 'rc1')), false, 'once');
SELECT ok((SELECT used_at IS NOT NULL FROM smarthub.recovery_codes WHERE code_hash = encode(sha256(convert_to(replace((SELECT value FROM secrets WHERE label = 'rc1'), '-', ''), 'UTF8')), 'hex')),
    'a used code keeps its row, with used_at');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', (SELECT upper(replace(value, '-', ' ')) FROM secrets WHERE label = 'rc2')), true,
    'typed in capitals with a space: normalised');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', (SELECT translate(upper(value), '01-', 'OL') FROM secrets WHERE label = 'rc3')), true,
    'O for 0 and L for 1, without the dash (Crockford)');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000002', (SELECT value FROM secrets WHERE label = 'rc4')), false, 'another user''s code does not work');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', c), false, 'malformed code ' || coalesce(quote_literal(left(c, 20)), 'NULL'))
  FROM unnest(ARRAY[NULL, '', 'uuuuu-uuuuu', '00000-0000', '00000-000000', '00000_00000', repeat('a', 1048576), 'ünïcö-dé123']) c;
SELECT is((SELECT count(*)::int FROM smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001', 3)), 3, 'n => 3: three codes');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000001', (SELECT value FROM secrets WHERE label = 'rc4')), false, 'new codes replace the old ones');
SELECT is((SELECT count(*)::int FROM smarthub.recovery_codes WHERE user_id = 'a5000000-0000-4000-8000-000000000001'), 3, 'used ones included');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'recovery_codes' AND user_id IS NULL
             AND changes->'after'->>'code_hash' = '[redacted]'), 13, 'each code given is audited, its hash redacted');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001', 0)$$, '22023', NULL, 'n => 0: 22023');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001', 101)$$, '22023', NULL, 'n => 101: 22023');
SELECT lives_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000005', 100)$$, 'n => 100 is the most');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001', NULL)$$, '22004', NULL, 'n => NULL: 22004');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes(NULL)$$, '22004', NULL, 'NULL user: 22004');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-0000000000ff')$$, 'P0002', NULL, 'unknown user: P0002');
SELECT throws_ok($$SELECT smarthub.use_recovery_code(NULL, 'abcde-fghjk')$$, '22004', NULL, 'use_recovery_code, NULL user: 22004');

---------------------------------------------------------------------------------------------------
-- Enrolment's errors
---------------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT smarthub.totp_enroll(NULL, 'Example', 'x')$$, '22004', NULL, 'enroll: NULL user 22004');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', NULL, 'x')$$, '22004', NULL, 'enroll: NULL issuer 22004');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', 'Example', NULL)$$, '22004', NULL, 'enroll: NULL account label 22004');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', '', 'x')$$, '22023', NULL, 'enroll: empty issuer 22023');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', 'Example', '')$$, '22023', NULL, 'enroll: empty account label 22023');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', 'Ex:ample', 'x')$$, '22023', 'issuer must not contain a colon', 'enroll: a colon in the issuer 22023');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', 'Example', 'a:b')$$, '22023', NULL, 'enroll: a colon in the account label 22023');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', E'Ex\nample', 'x')$$, '22023', NULL, 'enroll: a control character 22023');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', repeat('x', 256), 'x')$$, '22001', NULL, 'enroll: an issuer over 255 characters 22001');
SELECT lives_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', repeat('é', 255), repeat('ü', 255))$$, 'enroll: 255 characters of two bytes each');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-0000000000ff', 'Example', 'x')$$, 'P0002', NULL, 'enroll: unknown user P0002');
UPDATE smarthub.users SET is_active = false WHERE id = 'a5000000-0000-4000-8000-000000000004';
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000004', 'Example', 'x')$$, 'P0002', NULL, 'enroll: inactive user P0002');
SELECT throws_ok($$SELECT smarthub.totp_confirm(NULL, '123456')$$, '22004', NULL, 'confirm: NULL factor 22004');
SELECT throws_ok($$SELECT smarthub.totp_verify(NULL, '123456')$$, '22004', NULL, 'verify: NULL user 22004');
SAVEPOINT no_keyring;
SET LOCAL smarthub.keyring_file = '';
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000005', 'Example', 'x')$$, '55000', 'no encryption keyring is configured',
    'enroll without a keyring: 55000, the encryption module''s error');
SELECT throws_ok($$SELECT smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', '123456')$$, '55000', NULL,
    'verify without a keyring: 55000 (the secret cannot be read)');
ROLLBACK TO SAVEPOINT no_keyring;
SELECT is((SELECT count(*)::int FROM smarthub.mfa_factors WHERE user_id = 'a5000000-0000-4000-8000-000000000005'), 1,
    'the failed enrolments wrote nothing');

---------------------------------------------------------------------------------------------------
-- Assurance levels: login aal1, verify_session_mfa aal2, current_aal
---------------------------------------------------------------------------------------------------
SELECT pg_temp.enroll('five', 'a5000000-0000-4000-8000-000000000005');
INSERT INTO secrets VALUES ('login', smarthub.login('mfa5', 'mfa-password')),
                           ('session2', smarthub.create_session('a5000000-0000-4000-8000-000000000005')),
                           ('session3', smarthub.create_session('a5000000-0000-4000-8000-000000000005')),
                           ('key', (SELECT key FROM smarthub.create_api_key('a5000000-0000-4000-8000-000000000005')));
INSERT INTO secrets SELECT 'five-rc', c FROM smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000005', 1) c;
SELECT is(smarthub.current_aal(), NULL, 'no identity: NULL');
SELECT ok(smarthub.authenticate_session((SELECT value FROM secrets WHERE label = 'login')) IS NOT NULL, 'authenticated by the login''s session');
SELECT is(smarthub.current_aal(), 'aal1', 'login gives aal1');
SELECT pg_temp.settle();
SELECT is(smarthub.verify_session_mfa((SELECT value FROM secrets WHERE label = 'login'), pg_temp.code('five')), false, 'an unconfirmed factor does not raise a session');
SELECT is(smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'five'), pg_temp.code('five', -1)), true, 'the factor confirmed');
SELECT is(smarthub.verify_session_mfa((SELECT value FROM secrets WHERE label = 'login'), pg_temp.wrong('five')), false, 'a wrong code does not');
SELECT is(smarthub.current_aal(), 'aal1', 'still aal1');
SELECT is(smarthub.verify_session_mfa((SELECT value FROM secrets WHERE label = 'login'), pg_temp.code('five')), true, 'the right code raises the session');
SELECT is(smarthub.current_aal(), 'aal2', 'aal2 from the next statement on');
SELECT is((SELECT aal FROM smarthub.sessions WHERE id = pg_temp.session_id((SELECT value FROM secrets WHERE label = 'login'))), 'aal2', 'sessions.aal is aal2');
SELECT is(smarthub.verify_session_mfa((SELECT value FROM secrets WHERE label = 'session2'), pg_temp.code('five')), false, 'the same code for another session: refused (replay)');
SELECT is((SELECT aal FROM smarthub.sessions WHERE id = pg_temp.session_id((SELECT value FROM secrets WHERE label = 'session2'))), 'aal1', 'that session stays aal1');
SELECT is(smarthub.verify_session_mfa((SELECT value FROM secrets WHERE label = 'session2'), (SELECT value FROM secrets WHERE label = 'five-rc')), true, 'a recovery code raises a session too');
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000005', (SELECT value FROM secrets WHERE label = 'five-rc')), false, 'and is used up');
SELECT is(smarthub.verify_session_mfa(t, c), false, 'verify_session_mfa(' || coalesce(left(t, 8), 'NULL') || ', ' || coalesce(c, 'NULL') || '): false')
  FROM (VALUES (NULL, '123456'), ((SELECT value FROM secrets WHERE label = 'login'), NULL),
               ((SELECT value FROM secrets WHERE label = 'login'), 'x'), ('shs_not-a-session', '123456'),
               ((SELECT value FROM secrets WHERE label = 'key'), '123456'), (repeat('s', 1048576), '123456')) v(t, c);
-- The identity's session: not an API key's, not impersonation's, not another issuer's JWT
SELECT ok(smarthub.authenticate_key((SELECT value FROM secrets WHERE label = 'key')) IS NOT NULL, 'authenticated by an API key');
SELECT is(smarthub.current_aal(), NULL, 'an API key stands for no session: NULL');
SELECT smarthub.set_current_user('a5000000-0000-4000-8000-000000000005');
SELECT is(smarthub.current_aal(), NULL, 'set_current_user: NULL');
SELECT ok(smarthub.authenticate_session((SELECT value FROM secrets WHERE label = 'session2')) IS NOT NULL, 'authenticated by the second session');
SELECT is(smarthub.current_aal(), 'aal2', 'the second session is aal2');
SAVEPOINT inner_auth;
SELECT ok(smarthub.authenticate_session((SELECT value FROM secrets WHERE label = 'session3')) IS NOT NULL, 'another session inside a savepoint');
SELECT is(smarthub.current_aal(), 'aal1', 'whose level is aal1');
ROLLBACK TO SAVEPOINT inner_auth;
SELECT is(smarthub.current_aal(), 'aal2', 'rolling back to the savepoint restores the session with the identity');
SELECT ok(smarthub.authenticate_jwt(smarthub.issue_jwt((SELECT value FROM secrets WHERE label = 'session2'))) IS NOT NULL, 'authenticated by smarthub''s own JWT');
SELECT is(smarthub.current_aal(), 'aal2', 'smarthub''s JWT stands for its session (sid)');
CREATE FUNCTION pg_temp.b64u(t text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT rtrim(translate(encode(convert_to(t, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')$$;
INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, claim_is_user_id, require_sid) VALUES ('https://hs.test', '{api}', '{HS256}', true, true);
INSERT INTO secrets SELECT 'hs', h || '.' || rtrim(translate(encode(hmac(convert_to(h, 'UTF8'), convert_to('smarthub-test-hmac-secret-0123456789abcdef', 'UTF8'), 'sha256'), 'base64'), E'+/\n', '-_'), '=')
  FROM (SELECT pg_temp.b64u('{"alg":"HS256","typ":"JWT"}') || '.' || pg_temp.b64u(json_build_object('iss', 'https://hs.test', 'aud', 'api',
          'sub', 'a5000000-0000-4000-8000-000000000005', 'exp', extract(epoch FROM now())::bigint + 300,
          'sid', pg_temp.session_id((SELECT value FROM secrets WHERE label = 'session2')))::text) AS h) x;
SELECT is(smarthub.authenticate_jwt((SELECT value FROM secrets WHERE label = 'hs')), 'a5000000-0000-4000-8000-000000000005', 'authenticated by another issuer''s JWT naming the same live session');
SELECT is(smarthub.current_aal(), NULL, 'another issuer''s sid stands for nothing: NULL');
SELECT ok(smarthub.authenticate_session((SELECT value FROM secrets WHERE label = 'session2')) IS NOT NULL, 'the second session again');
SELECT ok(smarthub.revoke_session((SELECT value FROM secrets WHERE label = 'session2')), 'revoked');
SELECT is(smarthub.current_aal(), NULL, 'a revoked session has no level');
SELECT smarthub.clear_current_user();
SELECT is(smarthub.current_aal(), NULL, 'cleared: NULL');

---------------------------------------------------------------------------------------------------
-- The caller rules and row-level security, as an untrusted application role
---------------------------------------------------------------------------------------------------
INSERT INTO secrets SELECT 'rc-two', c FROM smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000002', 1) c;
SET ROLE mfa_app;
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000002', 'Example', 'x')$$, '42501', NULL, 'no identity: enroll 42501');
SELECT throws_ok($$SELECT smarthub.totp_verify('a5000000-0000-4000-8000-000000000002', '123456')$$, '42501', NULL, 'no identity: verify 42501');
SELECT throws_ok($$SELECT smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'uni'), '123456')$$, '42501', NULL, 'no identity: confirm 42501');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000002')$$, '42501', NULL, 'no identity: generate_recovery_codes 42501');
SELECT throws_ok($$SELECT smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000002', 'abcde-fghjk')$$, '42501', NULL, 'no identity: use_recovery_code 42501');
SELECT is((SELECT count(*)::int FROM smarthub.mfa_factors), 0, 'no identity: no factor visible');
SELECT is(smarthub.current_aal(), NULL, 'the application role may ask current_aal');
RESET ROLE;
SELECT smarthub.set_current_user('a5000000-0000-4000-8000-000000000001');
SET ROLE mfa_app;
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000001', '000000') IS NOT NULL, true, 'a user verifies its own codes');
SELECT is((SELECT count(*)::int FROM smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000001', 2)), 2, 'and makes its own recovery codes');
SELECT throws_ok($$SELECT smarthub.totp_verify('a5000000-0000-4000-8000-000000000002', '123456')$$, '42501', NULL, 'but not another user''s: verify 42501');
SELECT throws_ok($$SELECT smarthub.totp_enroll('a5000000-0000-4000-8000-000000000002', 'Example', 'x')$$, '42501', NULL, 'enroll 42501');
SELECT throws_ok($$SELECT smarthub.totp_confirm((SELECT factor_id FROM enrolled WHERE label = 'uni'), '123456')$$, '42501', NULL, 'confirm 42501');
SELECT throws_ok($$SELECT smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000002', (SELECT value FROM secrets WHERE label = 'rc-two'))$$, '42501', NULL, 'use_recovery_code 42501');
SELECT throws_ok($$SELECT smarthub.generate_recovery_codes('a5000000-0000-4000-8000-000000000002')$$, '42501', NULL, 'generate_recovery_codes 42501');
SELECT results_eq($$SELECT id FROM smarthub.mfa_factors$$, $$SELECT factor_id FROM enrolled WHERE label = 'one-c'$$, 'a user sees its own factor only');
SELECT is((SELECT count(*)::int FROM smarthub.recovery_codes), 2, 'and its own recovery codes');
SELECT is((SELECT (kind, issuer, account_label, confirmed_at IS NOT NULL)::text FROM smarthub.mfa_factors), '(totp,"Example Co",one-c@mfa.io,t)', 'its factor''s non-secret columns');
SELECT throws_ok($$SELECT secret FROM smarthub.mfa_factors$$, '42501', NULL, 'never the secret');
SELECT throws_ok($$SELECT last_step, failures, locked_until FROM smarthub.mfa_factors$$, '42501', NULL, 'nor the bookkeeping columns');
SELECT throws_ok($$SELECT code_hash FROM smarthub.recovery_codes$$, '42501', NULL, 'never a code hash');
SELECT throws_ok($$DELETE FROM smarthub.mfa_factors$$, '42501', NULL, 'no write to mfa_factors');
SELECT throws_ok($$UPDATE smarthub.recovery_codes SET used_at = NULL$$, '42501', NULL, 'no write to recovery_codes');
RESET ROLE;
SELECT smarthub.set_current_user('a5000000-0000-4000-8000-000000000003');
SET ROLE mfa_app;
SELECT is(smarthub.use_recovery_code('a5000000-0000-4000-8000-000000000002', (SELECT value FROM secrets WHERE label = 'rc-two')), true, 'an admin identity acts for anyone');
SELECT is((SELECT count(DISTINCT user_id)::int FROM smarthub.mfa_factors), 4, 'an admin sees everyone''s factors');
SELECT throws_ok($$UPDATE smarthub.sessions SET aal = 'aal2'$$, '42501', NULL, 'not even an admin identity sets sessions.aal');
RESET ROLE;
SELECT smarthub.clear_current_user();
SET ROLE mfa_svc;
SELECT is(smarthub.totp_verify('a5000000-0000-4000-8000-000000000002', '000000') IS NOT NULL, true, 'a trusted role acts for anyone without an identity');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
