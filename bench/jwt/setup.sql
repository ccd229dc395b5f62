-- Everything 60_jwt.sh races on; psql variables hs_issuer, hs_kid, hs_secret (the keyring line's
-- base64url secret), asym_issuer, jwks (sign.js's JWK Set), audience.
--  * 1,000 users (role "user"), each with 2 API keys, 2 sessions, an identity at the HS256 issuer
--    (subject ext|N), 10 entities written and then updated twice while acting as their owner (an
--    audit trail of 3 rows each, as the owner); bench_jwt_creds keeps, per user, the plaintext of
--    one key, one session token and one HS256 JWT (the application's credentials) and the
--    entity whose trail the requests read.
--  * bench_jwt_hs: 20,000 distinct HS256 tokens of that issuer, signed here with pgcrypto hmac();
--    bench_jwt_bad: tokens both verifiers must refuse; bench_jwt_asym: sign.js's tokens (loaded
--    by 60_jwt.sh).
--  * Roles bench_jwt_app (smarthub.grant_access, untrusted: it authenticates, under RLS) and
--    bench_jwt_bypass (BYPASSRLS, the same grants, plus the hash columns its plain look-ups read).
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_jwt_creds, bench_jwt_hs, bench_jwt_hs_secret, bench_jwt_bad, bench_jwt_asym;

-- base64url without padding, and an HS256 token of a header and claims (this session only)
CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(rtrim(replace(encode(b, 'base64'), E'\n', ''), '='), '+/', '-_')
$$;
CREATE FUNCTION pg_temp.hs256(header jsonb, claims jsonb, secret bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT s.input || '.' || pg_temp.b64url(hmac(convert_to(s.input, 'UTF8'), secret, 'sha256'))
      FROM (SELECT pg_temp.b64url(convert_to(header::text, 'UTF8')) || '.'
                   || pg_temp.b64url(convert_to(claims::text, 'UTF8')) AS input) s
$$;

CREATE TABLE bench_jwt_hs_secret (issuer text NOT NULL, kid text NOT NULL, secret bytea NOT NULL);
INSERT INTO bench_jwt_hs_secret
VALUES (:'hs_issuer', :'hs_kid',
        decode(translate(:'hs_secret', '-_', '+/') || repeat('=', (4 - length(:'hs_secret') % 4) % 4), 'base64'));

INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms)
VALUES (:'hs_issuer', ARRAY[:'audience'], '{HS256}');
INSERT INTO smarthub.jwt_issuers (issuer, audiences, jwks)
VALUES (:'asym_issuer', ARRAY[:'audience'], :'jwks');

CREATE ROLE bench_jwt_app;
CREATE ROLE bench_jwt_bypass BYPASSRLS;
SELECT smarthub.grant_access('bench_jwt_app');
SELECT smarthub.grant_access('bench_jwt_bypass');
-- grant_access's list may not name it yet; harmless when it does
GRANT EXECUTE ON FUNCTION smarthub.authenticate_jwt(text) TO bench_jwt_app;
GRANT SELECT (key_hash) ON smarthub.api_keys TO bench_jwt_bypass;
GRANT SELECT (token_hash) ON smarthub.sessions TO bench_jwt_bypass;
GRANT SELECT ON smarthub.user_identities TO bench_jwt_bypass;

INSERT INTO smarthub.users (id, email, username, password_hash)
SELECT ('a6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'bench' || i || '@jwt.io', 'bench_jwt_' || i, 'h'
  FROM generate_series(1, 1000) i;
INSERT INTO smarthub.user_roles (user_id, role_id)
SELECT ('a6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '00000000-0000-4000-8000-000000000002'
  FROM generate_series(1, 1000) i;
INSERT INTO smarthub.user_identities (issuer, subject, user_id)
SELECT :'hs_issuer', 'ext|' || i, ('a6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid
  FROM generate_series(1, 1000) i;

-- Entities and their audit trail, written as their owner (the audit rows carry the owner's id).
DO $$
DECLARE
    u uuid;
BEGIN
    FOR u IN SELECT ('a6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid FROM generate_series(1, 1000) i LOOP
        PERFORM smarthub.set_current_user(u);
        INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
        SELECT 'bench_jwt', u, 'entity ' || i, jsonb_build_object('n', i, 'v', 1) FROM generate_series(1, 10) i;
        UPDATE smarthub.entities SET data = data || '{"v": 2}' WHERE owner_id = u;
        UPDATE smarthub.entities SET data = data || '{"v": 3}' WHERE owner_id = u;
    END LOOP;
    PERFORM smarthub.clear_current_user();
END
$$;

CREATE TABLE bench_jwt_creds (
    n          int PRIMARY KEY,
    user_id    uuid NOT NULL,
    api_key    text NOT NULL,
    session    text NOT NULL,
    jwt        text,
    iss        text NOT NULL,
    sub        text NOT NULL,
    entity_id  uuid NOT NULL,
    audit_type text
);
INSERT INTO bench_jwt_creds (n, user_id, api_key, session, iss, sub, entity_id)
SELECT i, u.id,
       (SELECT k.key FROM smarthub.create_api_key(u.id, 'bench jwt 1') k),
       smarthub.create_session(u.id, '1 day'),
       :'hs_issuer', 'ext|' || i,
       (SELECT e.id FROM smarthub.entities e WHERE e.owner_id = u.id ORDER BY e.id LIMIT 1)
  FROM generate_series(1, 1000) i
  JOIN smarthub.users u ON u.id = ('a6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid;
-- the second key and session of each user
SELECT count(*) FROM (SELECT (SELECT k.id FROM smarthub.create_api_key(c.user_id, 'bench jwt 2') k),
                             smarthub.create_session(c.user_id, '1 day')
                        FROM bench_jwt_creds c) s;
UPDATE bench_jwt_creds c SET audit_type = (SELECT a.entity_type FROM smarthub.audit_logs a WHERE a.entity_id = c.entity_id LIMIT 1);
UPDATE bench_jwt_creds c
   SET jwt = pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                           jsonb_build_object('iss', c.iss, 'sub', c.sub, 'aud', :'audience',
                                              'exp', extract(epoch FROM now() + interval '1 day')::bigint,
                                              'nbf', extract(epoch FROM now() - interval '1 minute')::bigint,
                                              'iat', extract(epoch FROM now() - interval '1 minute')::bigint,
                                              'jti', 'req-' || c.n, 'scope', 'openid profile'),
                           s.secret)
  FROM bench_jwt_hs_secret s;
ALTER TABLE bench_jwt_creds ALTER jwt SET NOT NULL, ALTER audit_type SET NOT NULL;
-- Steady state of a busy service: keys used within key_touch_interval (set to 1 hour by the bench).
UPDATE smarthub.api_keys SET last_used_at = now() WHERE user_id IN (SELECT user_id FROM bench_jwt_creds);
GRANT SELECT ON bench_jwt_creds TO bench_jwt_app, bench_jwt_bypass;

CREATE TABLE bench_jwt_hs (n int PRIMARY KEY, token text NOT NULL);
INSERT INTO bench_jwt_hs
SELECT i, pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                        jsonb_build_object('iss', s.issuer, 'sub', 'ext|' || (i % 1000 + 1), 'aud', :'audience',
                                           'exp', extract(epoch FROM now() + interval '1 day')::bigint,
                                           'nbf', extract(epoch FROM now() - interval '1 minute')::bigint,
                                           'iat', extract(epoch FROM now() - interval '1 minute')::bigint,
                                           'jti', 'hs-' || i, 'scope', 'openid profile'),
                        s.secret)
  FROM generate_series(1, 20000) i, bench_jwt_hs_secret s;

-- What both verifiers must refuse: a changed signature, expired, not yet valid, another audience,
-- an unknown issuer, alg none.
CREATE TABLE bench_jwt_bad (what text PRIMARY KEY, token text NOT NULL);
INSERT INTO bench_jwt_bad
SELECT v.what, CASE WHEN v.what = 'bad signature'
                    THEN left(v.t, -2) || CASE WHEN right(v.t, 2) = 'AA' THEN 'BA' ELSE 'AA' END
                    ELSE v.t END
  FROM bench_jwt_hs_secret s,
       LATERAL (VALUES
           ('bad signature', pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                jsonb_build_object('iss', s.issuer, 'sub', 'ext|1', 'aud', :'audience',
                                   'exp', extract(epoch FROM now() + interval '1 day')::bigint), s.secret)),
           ('expired', pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                jsonb_build_object('iss', s.issuer, 'sub', 'ext|1', 'aud', :'audience',
                                   'exp', extract(epoch FROM now() - interval '1 hour')::bigint), s.secret)),
           ('not yet valid', pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                jsonb_build_object('iss', s.issuer, 'sub', 'ext|1', 'aud', :'audience',
                                   'exp', extract(epoch FROM now() + interval '2 days')::bigint,
                                   'nbf', extract(epoch FROM now() + interval '1 day')::bigint), s.secret)),
           ('other audience', pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                jsonb_build_object('iss', s.issuer, 'sub', 'ext|1', 'aud', 'other-api',
                                   'exp', extract(epoch FROM now() + interval '1 day')::bigint), s.secret)),
           ('unknown issuer', pg_temp.hs256(jsonb_build_object('alg', 'HS256', 'typ', 'JWT', 'kid', s.kid),
                jsonb_build_object('iss', 'https://other.bench.example', 'sub', 'ext|1', 'aud', :'audience',
                                   'exp', extract(epoch FROM now() + interval '1 day')::bigint), s.secret)),
           ('alg none', pg_temp.b64url(convert_to('{"alg": "none", "typ": "JWT"}', 'UTF8')) || '.'
                || pg_temp.b64url(convert_to(jsonb_build_object('iss', s.issuer, 'sub', 'ext|1', 'aud', :'audience',
                       'exp', extract(epoch FROM now() + interval '1 day')::bigint)::text, 'UTF8')) || '.')
       ) v(what, t);

CREATE TABLE bench_jwt_asym (n serial PRIMARY KEY, alg text NOT NULL, token text NOT NULL);
