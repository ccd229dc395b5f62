-- One request authenticated by its HS256 JWT under RLS: bench_jwt_app (untrusted, granted with
-- smarthub.grant_access) calls smarthub.authenticate_jwt (signature, exp, nbf, iss, aud, then the
-- subject through smarthub.user_identities), and the queries name the user with
-- smarthub.current_user_id() (where request_jwt_plain.sql passes the id its look-up returned), the
-- policies checked on top.
-- pgbench -D kind=N: 0 runs all five queries (the seed's typical ones), 1 to 5 only that one.
\set n random(1, 1000)
BEGIN;
SET LOCAL ROLE bench_jwt_app;
SELECT smarthub.authenticate_jwt(c.jwt) AS uid, c.entity_id AS eid, c.audit_type AS etype
  FROM bench_jwt_creds c WHERE c.n = :n \gset
