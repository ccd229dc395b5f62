-- The same request without smarthub's identity: the application has verified the token itself
-- (no cryptography in the database: the strictest anchor) and passes its iss and sub;
-- bench_jwt_bypass (BYPASSRLS, the same grants plus user_identities) maps them to an active,
-- undeleted user in plain SQL, as authenticate_jwt does, and filters every query by that id.
-- pgbench -D kind=N: 0 runs all five queries (the seed's typical ones), 1 to 5 only that one.
\set n random(1, 1000)
BEGIN;
SET LOCAL ROLE bench_jwt_bypass;
SELECT i.user_id AS uid, c.entity_id AS eid, c.audit_type AS etype
  FROM bench_jwt_creds c
  JOIN smarthub.user_identities i ON i.issuer = c.iss AND i.subject = c.sub
  JOIN smarthub.users u ON u.id = i.user_id
 WHERE c.n = :n AND u.is_active AND u.deleted_at IS NULL \gset
