-- JWT: verify_jwt's bad-token catalogue (each case with its result), rotation, leeway, audiences,
-- authenticate_jwt's subject mapping and identity scope, issue_jwt and jwks, and what an untrusted
-- application role can and cannot do. HS256 tokens are made here with pgcrypto's hmac() under the
-- secret script/test puts in the keyring for https://hs.test; the RS256, ES256 and EdDSA tokens
-- below were signed once with throwaway keys (their public JWKs are here too) and expire in 2100.
BEGIN;
SELECT plan(110);

\set jwk_r1 '{"kty":"RSA","n":"tzV9WE9wemBQYzq2DY0UiOHBLTbdtqL1lbZWGxgl7z1CrWEb4DaQCYPW4H69L9AuH4lkkN8AaohUwbzeRBUTS3P2tdDfH8vvqG3Bc6xN3KZkfgOhfdKntV6Icu3EPio858WY2KSwrKVl3zDWtLbAkqNuHW-YyK3NHNpkgqiCqpT7_glk4yG_mxE4HNHQkvswqim1_sGp_8kDPlLmnacH40eyiwNsccqsLA2juz834keJJCMReUfAWejdgUdl93tB6RvZPu_l2bIj94QpSOHbV0TIaWhEkIOQ7K_C3ctjYw_gBFw5Uvs4MBTfiBzlLEOrw4Gh5LzpM1-67ExjUeslKw","e":"AQAB","kid":"r1"}'
\set jwk_r2 '{"kty":"RSA","n":"w4fRvJNNbRvx4Wt2a19uyj4TTddwAwbMyYBx5hpjf2mjt4RVP6ty46e34eyBuILmjlG49CzSksw45SlkBwy9ZsnDHmvlxN0XpFTmsaWVlHnUXM8eJwCV8UHtkiSYb2dNhgQ8xxcX8WWeUGBdUxGDEpL7ig4241AHCgvoL0VPH-EH1wAXMiEgLP44a6q-wumGvRn9Or6WDlZncyfK6j2EutncwMg06l3jPYRkQJ8y9dKg3ObvGOsPEj0G00CZE1aLFHxnRbb31j8f7EhztDwwILHldtIj1Lic7-8aIDAt493cLnvo7hT40qBYH-6LDDu8jA9-U0P_Esf1D-1Lkq8f0Q","e":"AQAB","kid":"r2"}'
\set jwk_e1 '{"kty":"EC","x":"OUjKKwu5i4V8IO4cuUh22mTiFdibV1qp0ETWWAO22Ko","y":"mN_Wcqt9YR35TpX2hu8R_SzoYFezkoS2LY8i1NWb4_Y","crv":"P-256","kid":"e1"}'
\set jwk_d1 '{"crv":"Ed25519","x":"dSAxlR-bT013nPolRe23iO6XWJGqLBlMHqkgrtJ7jpM","kty":"OKP","kid":"d1"}'
\set rs_r1 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL3JzYS50ZXN0Iiwic3ViIjoiZXh0LTEiLCJhdWQiOiJhcGkiLCJleHAiOjQxMDI0NDQ4MDB9.U9fxFM1whnJ7NGhb63M-RzdXx_LVa0ZGuZ2sIFXURsRADTLKBjJ5DX9K3rQlaiELzfEnHy2X3zF-WChcJ7QYzfShEx_4O1wKasRd56b-nFAZ1zpzZmYrqxz6uY_IaeVrIkL23NwyYQ3S2jNc3FE8K8qcr1p07cXwXMCsJh81MmNlcwCAcrAoGusaVtHR6Cj1A7hjt4weV8NLDAcWQ_2UbErDdxyZeYVRlEnJfs_yVm68b9RIW17kDj4xuRaGMhN3YkNyb1LSM2PI1RkOtM4G-OBYbYpXozMf2NZADFevCC39fmK1MT4RX8LPd5EV8wHDiAAgOC_jCqxk7RLz2TgQKw'
\set rs_r2 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InIyIn0.eyJpc3MiOiJodHRwczovL3JzYS50ZXN0Iiwic3ViIjoiZXh0LTEiLCJhdWQiOiJhcGkiLCJleHAiOjQxMDI0NDQ4MDB9.lk_JbHzF7zFcdZNIltdAhj35jbMbkBQJtVVp_Upzl2GHZonLNVDMix4QTgjyflAkvOQBx__JUIozfkN_Xa1meDLDOLixbxOcY-s9kwkz_Eqf7wLSmC2t-WCmAS48QZqtvyzGYL7iaiEb3g-rXSFSKALMerjlxCZLTsqlwjBJiL3dwcrwPxJMOz8sv1gZHfyHhpS7r3GkGZwI-8R4dGG_5z6nC7Go3P5ppxlyNroULFYT4pymS6PX8V3deGPabU_hFso3Ix4ihLgCM61lsdlAIm_GQT4VEfABvj12l4dyBn2b63TihSNAvrg0Aq5yYKoKk5ZFny-juRBUVpSCjqj6kA'
\set rs_noexp 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL3JzYS50ZXN0Iiwic3ViIjoiZXh0LTEiLCJhdWQiOiJhcGkifQ.j1-FonpQrYAF4ibsX0PmNMOHp6wVmzBpvvuFQ9lprAhYFI2Dlh3rd-Y9wvQLEN5sk5TGQY9QCYXCAtsZUGxaa6KaOSD25q1nLTaGdr-1JQIN5ZUXbIfa_gY_mzOoJLb1545bPSG-Jvyu9NrJ_wkq5kZ69Bm8E2BsxoVw3fj5WI2UklUcfBPj8h9nO2jS2V2fOyLjYJn_3eZN7AIAakqHnjllKeOyA6_W-3N8Fe8TM4bHk9Ccl9Z8hyT9exAyD8qZH0D4UWEphbPKWPdNlD8wmT3DYAn2gS-rAuTaNBWRbSt1DUYZAZWvy8crimaBAWaLb1a3lJUsSNnUQ-5OrmH4iQ'
\set es 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImUxIn0.eyJpc3MiOiJodHRwczovL2VjLnRlc3QiLCJzdWIiOiJleHQtMSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.cgF2NQKZU0Y4B_z08lglEK-OlB79pVKJbXGEyiVJE1ss27uUHFs9SN83Ab2EKx3VbA1XHlcr4KDdSZkuHTtQUw'
\set ed 'eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImQxIn0.eyJpc3MiOiJodHRwczovL2VkLnRlc3QiLCJzdWIiOiJleHQtMSIsImF1ZCI6ImFwaSIsImV4cCI6NDEwMjQ0NDgwMH0.jCPaeQm-QQIBLDmBuLXebUjPWpNvGtTMw_raBrUAygQ3zkigF9dMyb38TjmpyNGw8LZHNWvDR9XwIiDc-isRBQ'

-- A hostile search_path when this backend first verifies (its queries are prepared then): a type
-- named float8 in a schema searched before pg_catalog changes nothing, every name being qualified.
CREATE DOMAIN public.float8 AS text;
SET LOCAL search_path = public, pg_catalog;

CREATE FUNCTION pg_temp.b64u(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT rtrim(translate(encode(b, 'base64'), E'+/\n', '-_'), '=')$$;
CREATE FUNCTION pg_temp.b64u(t text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT pg_temp.b64u(convert_to(t, 'UTF8'))$$;
CREATE FUNCTION pg_temp.unb64u(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS $$SELECT decode(translate(t, '-_', '+/') || repeat('=', (4 - length(t) % 4) % 4), 'base64')$$;
-- A compact JWS of the exact header and payload texts, HMAC-signed (sha256 unless said).
CREATE FUNCTION pg_temp.hs(header text, payload text,
                           secret bytea DEFAULT convert_to('smarthub-test-hmac-secret-0123456789abcdef', 'UTF8'),
                           digest text DEFAULT 'sha256') RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT pg_temp.b64u(header) || '.' || pg_temp.b64u(payload) || '.'
             || pg_temp.b64u(hmac(convert_to(pg_temp.b64u(header) || '.' || pg_temp.b64u(payload), 'UTF8'), secret, digest))$$;
CREATE FUNCTION pg_temp.now_s(shift integer DEFAULT 0) RETURNS bigint LANGUAGE sql VOLATILE
    AS $$SELECT extract(epoch FROM clock_timestamp())::bigint + shift$$;
-- Claims of https://hs.test with exp shifted from now, plus extra members.
CREATE FUNCTION pg_temp.claims(exp_shift integer DEFAULT 300, extra text DEFAULT '') RETURNS text LANGUAGE sql VOLATILE
    AS $$SELECT '{"iss":"https://hs.test","sub":"ext-1","aud":"api","exp":' || pg_temp.now_s(exp_shift) || extra || '}'$$;
CREATE FUNCTION pg_temp.ok(token text, audience text DEFAULT NULL) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$SELECT smarthub.verify_jwt(token, audience) IS NOT NULL$$;

INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, leeway) VALUES
    ('https://hs.test', '{api,admin-api}', '{HS256}', '30 seconds');
INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, jwks) VALUES
    ('https://rsa.test', '{api}', '{RS256,HS256}', jsonb_build_object('keys', jsonb_build_array(:'jwk_r1'::jsonb))),
    ('https://ec.test', NULL, '{ES256}', jsonb_build_object('keys', jsonb_build_array(:'jwk_e1'::jsonb))),
    ('https://ed.test', '{api}', '{EdDSA}', jsonb_build_object('keys', jsonb_build_array(:'jwk_d1'::jsonb)));

\set hdr '{"alg":"HS256","typ":"JWT"}'

-- The valid tokens, one per kind.
SELECT is(smarthub.verify_jwt(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","sub":"ext-1","aud":"api","exp":4102444800,"n":1.5,"x":[true,null]}')),
    '{"iss":"https://hs.test","sub":"ext-1","aud":"api","exp":4102444800,"n":1.5,"x":[true,null]}'::jsonb, 'HS256: the claims, exactly');
SELECT is(smarthub.verify_jwt(:'rs_r1'), '{"iss":"https://rsa.test","sub":"ext-1","aud":"api","exp":4102444800}'::jsonb, 'RS256: the claims');
SELECT is(smarthub.verify_jwt(:'es') ->> 'iss', 'https://ec.test', 'ES256 verifies');
SELECT is(smarthub.verify_jwt(:'ed') ->> 'iss', 'https://ed.test', 'EdDSA verifies');

-- Malformed encodings: NULL, never an error.
SELECT is(smarthub.verify_jwt(NULL), NULL, 'NULL token: NULL');
SELECT ok(NOT pg_temp.ok(''), 'empty string');
SELECT ok(NOT pg_temp.ok('not a token'), 'garbage');
SELECT ok(NOT pg_temp.ok(split_part(:'rs_r1', '.', 1) || '.' || split_part(:'rs_r1', '.', 2)), 'two segments');
SELECT ok(NOT pg_temp.ok(:'rs_r1' || '.e30'), 'four segments');
SELECT ok(NOT pg_temp.ok(replace(:'rs_r1', '.', '*.')), 'a character outside base64url');
SELECT ok(NOT pg_temp.ok(pg_temp.b64u(:'hdr') || '=.' || split_part(pg_temp.hs(:'hdr', pg_temp.claims()), '.', 2) || '.'
                         || split_part(pg_temp.hs(:'hdr', pg_temp.claims()), '.', 3)), 'base64 padding');
SELECT ok(NOT pg_temp.ok(translate(:'rs_r1', '-_', '+/')), 'the standard base64 alphabet');
-- "e30" is {}; "e31" decodes to the same bytes with a stray low bit
SELECT ok(NOT pg_temp.ok('eyJhbGciOiJIUzI1NiJ9.e31.' || split_part(pg_temp.hs('{"alg":"HS256"}', '{}'), '.', 3)), 'non-canonical base64url');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256"', pg_temp.claims())), 'header is not JSON');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '[' || pg_temp.claims() || ']')), 'payload is an array');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims() || ' x')), 'payload with trailing garbage');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '"' || pg_temp.claims() || '"')), 'payload is a string');
SELECT ok(NOT pg_temp.ok(pg_temp.b64u(:'hdr') || '.' || pg_temp.b64u('\xff7b7d'::bytea) || '.AA'), 'payload is not UTF-8');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"x":"a\u0000b"'))), 'a \u0000 escape');

-- Duplicate keys, anywhere.
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256","alg":"none"}', pg_temp.claims())), 'duplicate key in the header');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"sub":"admin"'))), 'duplicate key in the payload');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"o":{"a":1,"a":2}'))), 'duplicate key in a nested object');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"o":{"a":1},"p":{"a":2}'))), 'the same key in two objects is no duplicate');

-- Algorithms and keys.
SELECT ok(NOT pg_temp.ok(pg_temp.b64u('{"alg":"none"}') || '.' || pg_temp.b64u(pg_temp.claims()) || '.'), 'alg none, no signature');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"none"}', pg_temp.claims())), 'alg none, with a signature');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"typ":"JWT"}', pg_temp.claims())), 'no alg');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"hs256"}', pg_temp.claims())), 'alg in the wrong case');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":["HS256"]}', pg_temp.claims())), 'alg not a string');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS384"}', pg_temp.claims(), digest => 'sha384')), 'an alg the issuer does not allow (HS384)');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256","kid":"other"}', pg_temp.claims())), 'unknown kid');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256","kid":7}', pg_temp.claims())), 'kid not a string');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(), secret => convert_to('wrong-secret-wrong-secret-wrong-secret-00', 'UTF8'))), 'wrong HMAC secret');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), 'https://hs.test', 'https://rsa.test'), secret => convert_to(:'jwk_r1', 'UTF8'))),
    'the RSA public key (its JWK) presented as an HMAC secret, HS256 allowed: NULL');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), 'https://hs.test', 'https://rsa.test'), secret => pg_temp.unb64u(:'jwk_r1'::jsonb ->> 'n'))),
    'the RSA modulus presented as an HMAC secret: NULL');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256","crit":["exp"]}', pg_temp.claims())), 'a crit header');
SELECT ok(NOT pg_temp.ok(pg_temp.hs('{"alg":"HS256","b64":false}', pg_temp.claims())), 'a b64 header');
SELECT ok(pg_temp.ok(pg_temp.hs('{"alg":"HS256","jku":"https://evil.example/jwks","x5u":"https://evil.example/x"}', pg_temp.claims())),
    'jku and x5u headers are ignored, never fetched');
SELECT ok(NOT pg_temp.ok(overlay(:'rs_r1' placing 'A' from length(:'rs_r1') - 5 for 1)), 'RS256 signature altered');
SELECT ok(NOT pg_temp.ok(split_part(:'rs_r1', '.', 1) || '.' || split_part(:'es', '.', 2) || '.' || split_part(:'rs_r1', '.', 3)), 'payload swapped');
SELECT ok(NOT pg_temp.ok(replace(:'es', split_part(:'es', '.', 1), pg_temp.b64u('{"alg":"ES384","typ":"JWT","kid":"e1"}'))), 'ES256 token relabelled ES384');
SELECT ok(NOT pg_temp.ok(split_part(:'es', '.', 1) || '.' || split_part(:'es', '.', 2) || '.' || pg_temp.b64u(substr(pg_temp.unb64u(split_part(:'es', '.', 3)), 1, 63))),
    'ES256 signature one byte short');

-- Claims.
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(-60))), 'expired beyond the leeway (60 s ago, leeway 30 s)');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(-10))), 'expired within the leeway (10 s ago): valid');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"nbf":' || pg_temp.now_s(60)))), 'not valid for another 60 s');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"nbf":' || pg_temp.now_s(10)))), 'nbf 10 s ahead, within the leeway: valid');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","sub":"ext-1","aud":"api"}')), 'no exp: NULL (require_exp)');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","aud":"api","exp":"4102444800"}')), 'exp as a string');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","aud":"api","exp":1e400}')), 'exp beyond any range');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","aud":"api","exp":4102444800,"iat":"now"}')), 'iat not a number');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"iss":"https://hs.test","aud":"api","exp":4102444800,"sub":42}')), 'sub not a string');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), 'https://hs.test', 'https://unknown.test'))), 'unknown issuer');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', '{"sub":"ext-1","aud":"api","exp":4102444800}')), 'no issuer');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), '"aud":"api"', '"aud":"other"'))), 'wrong audience');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), '"aud":"api",', ''))), 'no audience, the issuer names some');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), '"aud":"api"', '"aud":["other","admin-api"]'))), 'an audience array naming one of the issuer''s');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), '"aud":"api"', '"aud":["api",1]'))), 'an audience array with a non-string');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims()), 'api'), 'audience argument named by the token and the issuer');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims()), 'admin-api'), 'audience argument the token does not name');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', replace(pg_temp.claims(), '"aud":"api"', '"aud":["api","billing"]')), 'billing'),
    'audience argument the issuer is not trusted for');
SELECT ok(pg_temp.ok(:'es') AND pg_temp.ok(:'es', 'anything') IS FALSE, 'audiences NULL: aud unchecked, but an argument must match');

-- Sizes and depth: NULL, never an error.
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"pad":"' || repeat('x', 6200) || '"'))), 'over 8 KB');
SELECT ok(pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"pad":"' || repeat('x', 5800) || '"'))), 'just under 8 KB: valid');
SELECT ok(NOT pg_temp.ok(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"deep":' || repeat('[', 1000) || repeat(']', 1000)))), '1000 levels of nesting');
SELECT ok(NOT pg_temp.ok(repeat('a', 100000)), '100 kB of garbage');

-- Rotation: the table's keys are replaced as a whole, and the change is seen at once.
UPDATE smarthub.jwt_issuers SET jwks = jsonb_build_object('keys', jsonb_build_array(:'jwk_r1'::jsonb, :'jwk_r2'::jsonb))
 WHERE issuer = 'https://rsa.test';
SELECT ok(pg_temp.ok(:'rs_r1') AND pg_temp.ok(:'rs_r2'), 'rotation: old and new kid both verify');
UPDATE smarthub.jwt_issuers SET jwks = jsonb_build_object('keys', jsonb_build_array(:'jwk_r2'::jsonb))
 WHERE issuer = 'https://rsa.test';
SELECT ok(NOT pg_temp.ok(:'rs_r1') AND pg_temp.ok(:'rs_r2'), 'rotation: the old kid removed, its tokens fail');
SELECT ok(NOT pg_temp.ok(:'rs_noexp'), 'no exp (RS256): NULL');
UPDATE smarthub.jwt_issuers SET require_exp = false, jwks = jsonb_build_object('keys', jsonb_build_array(:'jwk_r1'::jsonb))
 WHERE issuer = 'https://rsa.test';
SELECT ok(pg_temp.ok(:'rs_noexp'), 'no exp, the issuer does not require it: valid');
DELETE FROM smarthub.jwt_issuers WHERE issuer = 'https://ed.test';
SELECT ok(NOT pg_temp.ok(:'ed'), 'issuer deleted: its tokens fail');

-- Configuration the trigger refuses (22023), while the DBA is there to see it.
SELECT throws_ok($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}')$$,
    '22023', 'key 1 of jwks cannot be used', 'a secret (oct) key in the table: 22023');
SELECT throws_ok($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', '{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}')$$,
    '22023', 'key 1 of jwks cannot be used', 'an EC key of the wrong size: 22023');
SELECT throws_ok(format($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', jsonb_build_object('keys', jsonb_build_array(%L::jsonb || '{"y":"%s"}')))$$,
                        :'jwk_e1', pg_temp.b64u(decode(repeat('00', 32), 'hex'))),
    '22023', 'key 1 of jwks cannot be used', 'an EC point not on the curve: 22023');
SELECT throws_ok(format($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', jsonb_build_object('keys', jsonb_build_array(%L::jsonb, %L::jsonb)))$$,
                        :'jwk_r1', :'jwk_r1'),
    '22023', 'key 2 of jwks cannot be used', 'two keys with one kid: 22023');
SELECT throws_ok($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', '[]')$$,
    '22023', 'jwks must be a JWK Set: {"keys": [...]}', 'jwks not a JWK Set: 22023');
SELECT throws_ok(format($$INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES ('x', jsonb_build_object('keys', jsonb_build_array(%L::jsonb || '{"d":"AAAA"}')))$$, :'jwk_d1'),
    '22023', 'key 1 of jwks cannot be used', 'a private key in the table: 22023');
SELECT throws_ok($$INSERT INTO smarthub.jwt_issuers (issuer, algorithms) VALUES ('x', '{none}')$$,
    '23514', NULL, 'alg none cannot even be configured: 23514');

-- authenticate_jwt: subjects mapped through user_identities, or taken as user ids.
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('a6000000-0000-4000-8000-000000000001', 'one@jwt.io', 'jwt_one', 'h'),
    ('a6000000-0000-4000-8000-000000000002', 'two@jwt.io', 'jwt_two', 'h');
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES
    ('a6000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002');
INSERT INTO smarthub.user_identities (issuer, subject, user_id) VALUES
    ('https://hs.test', 'ext-1', 'a6000000-0000-4000-8000-000000000001'),
    ('https://rsa.test', 'ext-1', 'a6000000-0000-4000-8000-000000000002');
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims())), 'a6000000-0000-4000-8000-000000000001', 'mapped subject: its user');
SELECT is(smarthub.current_user_id(), 'a6000000-0000-4000-8000-000000000001', '... and the identity is set');
SELECT is(smarthub.authenticate_jwt(:'rs_noexp'), 'a6000000-0000-4000-8000-000000000002', 'the same subject at another issuer: that issuer''s user');
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', replace(pg_temp.claims(), 'ext-1', 'ext-unknown'))), NULL, 'unmapped subject: NULL');
SELECT is(smarthub.current_user_id(), NULL, '... and the identity is cleared');
SELECT smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims()));
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims(-60))), NULL, 'an expired token clears an identity set before');
SELECT is(smarthub.current_user_id(), NULL, '... cleared');
UPDATE smarthub.users SET is_active = false WHERE id = 'a6000000-0000-4000-8000-000000000001';
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims())), NULL, 'inactive user: NULL');
UPDATE smarthub.users SET is_active = true, deleted_at = now() WHERE id = 'a6000000-0000-4000-8000-000000000001';
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims())), NULL, 'soft-deleted user: NULL');
UPDATE smarthub.users SET deleted_at = NULL WHERE id = 'a6000000-0000-4000-8000-000000000001';
UPDATE smarthub.jwt_issuers SET claim_is_user_id = true, user_claim = 'uid' WHERE issuer = 'https://hs.test';
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"uid":"a6000000-0000-4000-8000-000000000002"'))),
    'a6000000-0000-4000-8000-000000000002', 'claim_is_user_id: the claim named by user_claim is the user id');
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"uid":"not-a-uuid"'))), NULL, 'claim_is_user_id, not a uuid: NULL');
SELECT is(smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"uid":"a6000000-0000-4000-8000-00000000000f"'))), NULL, 'claim_is_user_id, no such user: NULL');

-- Savepoints: an identity set in a rolled-back savepoint goes with it.
SELECT smarthub.clear_current_user();
SAVEPOINT s1;
SELECT smarthub.authenticate_jwt(pg_temp.hs(:'hdr', pg_temp.claims(300, ',"uid":"a6000000-0000-4000-8000-000000000002"')));
ROLLBACK TO SAVEPOINT s1;
SELECT is(smarthub.current_user_id(), NULL, 'ROLLBACK TO SAVEPOINT undoes authenticate_jwt');

-- Our own tokens: issue_jwt for a live session; revoking the session fails them at once.
CREATE TEMP TABLE creds (label text PRIMARY KEY, secret text);
GRANT SELECT ON creds TO PUBLIC;
INSERT INTO creds VALUES ('session', smarthub.create_session('a6000000-0000-4000-8000-000000000001'));
INSERT INTO creds SELECT 'jwt', smarthub.issue_jwt(secret, '5 minutes') FROM creds WHERE label = 'session';
SELECT is((SELECT smarthub.verify_jwt(secret) - 'iat' - 'exp' - 'sid' FROM creds WHERE label = 'jwt'),
    '{"iss":"smarthub","aud":"smarthub","sub":"a6000000-0000-4000-8000-000000000001","roles":["user"]}'::jsonb, 'issue_jwt: iss, aud, sub, roles');
SELECT is((SELECT ((smarthub.verify_jwt(secret) ->> 'exp')::int - (smarthub.verify_jwt(secret) ->> 'iat')::int) FROM creds WHERE label = 'jwt'), 300, 'exp - iat = ttl');
SELECT is((SELECT (smarthub.verify_jwt(secret) ->> 'sid')::uuid FROM creds WHERE label = 'jwt'),
    (SELECT id FROM smarthub.sessions WHERE user_id = 'a6000000-0000-4000-8000-000000000001'), 'sid is the session''s id');
SELECT is(convert_from(pg_temp.unb64u(split_part((SELECT secret FROM creds WHERE label = 'jwt'), '.', 1)), 'UTF8')::jsonb,
    '{"alg":"EdDSA","kid":"demo-1","typ":"JWT"}'::jsonb, 'header: EdDSA with the keyring''s kid');
SELECT is((SELECT smarthub.authenticate_jwt(secret) FROM creds WHERE label = 'jwt'), 'a6000000-0000-4000-8000-000000000001', 'authenticate_jwt: our own token');
SELECT is((SELECT smarthub.verify_jwt(secret, 'smarthub') IS NOT NULL FROM creds WHERE label = 'jwt'), true, 'our own audience given explicitly');
INSERT INTO creds SELECT 'jwt-billing', smarthub.issue_jwt(secret, audience => 'billing') FROM creds WHERE label = 'session';
SELECT is((SELECT ARRAY[smarthub.verify_jwt(secret) IS NULL, smarthub.verify_jwt(secret, 'billing') IS NOT NULL] FROM creds WHERE label = 'jwt-billing'),
    ARRAY[true, true], 'a token for another audience verifies for that audience only');
SELECT is((SELECT smarthub.issue_jwt('shs_not-a-session')), NULL, 'issue_jwt for a dead session: NULL');
SELECT throws_ok($$SELECT smarthub.issue_jwt('x', '0 seconds')$$, '22023', 'ttl must be between 1 second and 1 day', 'ttl 0: 22023');
SELECT throws_ok($$SELECT smarthub.issue_jwt('x', '2 days')$$, '22023', 'ttl must be between 1 second and 1 day', 'ttl 2 days: 22023');
SELECT throws_ok($$SELECT smarthub.issue_jwt('x', NULL)$$, '22004', 'ttl must not be null', 'ttl NULL: 22004');
SELECT is((SELECT jsonb_path_query_array(smarthub.jwks(), '$.keys[*].kid')), '["demo-1"]'::jsonb, 'jwks: the keyring''s public key');
SELECT ok(NOT (smarthub.jwks() @? '$.keys[*].d'), 'jwks has no private part');
SELECT smarthub.revoke_session(secret) FROM creds WHERE label = 'session';
SELECT is((SELECT smarthub.authenticate_jwt(secret) FROM creds WHERE label = 'jwt'), NULL, 'session revoked: its token fails authenticate_jwt');
SELECT is((SELECT smarthub.verify_jwt(secret) IS NOT NULL FROM creds WHERE label = 'jwt'), true, '... while verify_jwt, which reads no table, still says the signature is good');

-- An untrusted application role: calls the four functions, cannot touch the trust configuration.
CREATE ROLE jwt_app;
SELECT smarthub.grant_access('jwt_app');
INSERT INTO creds VALUES ('session2', smarthub.create_session('a6000000-0000-4000-8000-000000000001'));
SET LOCAL ROLE jwt_app;
SELECT isnt((SELECT smarthub.issue_jwt(secret) FROM creds WHERE label = 'session2'), NULL, 'app role: issue_jwt');
SELECT is((SELECT smarthub.authenticate_jwt(smarthub.issue_jwt(secret)) FROM creds WHERE label = 'session2'),
    'a6000000-0000-4000-8000-000000000001', 'app role: authenticate_jwt');
SELECT throws_ok($$SELECT * FROM smarthub.jwt_issuers$$, '42501', NULL, 'app role cannot read jwt_issuers');
SELECT throws_ok($$INSERT INTO smarthub.jwt_issuers (issuer) VALUES ('https://evil.example')$$, '42501', NULL, 'app role cannot add an issuer');
SELECT throws_ok($$INSERT INTO smarthub.user_identities VALUES ('https://hs.test', 'evil', 'a6000000-0000-4000-8000-000000000002')$$,
    '42501', NULL, 'app role cannot map a subject');
SELECT throws_ok($$SET smarthub.jwt_issuer = 'https://hs.test'$$, '42501', NULL, 'app role cannot rename our issuer');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
