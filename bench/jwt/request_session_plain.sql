-- The same request without smarthub's identity: bench_jwt_bypass (BYPASSRLS, the same grants plus
-- sessions.token_hash) looks the session up in plain SQL with the checks verify_session makes
-- (pgcrypto digest(); unexpired, its user active and not deleted) and filters every query by the
-- user id that returned.
-- pgbench -D kind=N: 0 runs all five queries (the seed's typical ones), 1 to 5 only that one.
\set n random(1, 1000)
BEGIN;
SET LOCAL ROLE bench_jwt_bypass;
SELECT s.user_id AS uid, c.entity_id AS eid, c.audit_type AS etype
  FROM bench_jwt_creds c
  JOIN smarthub.sessions s ON s.token_hash = encode(digest(c.session, 'sha256'), 'hex')
  JOIN smarthub.users u ON u.id = s.user_id
 WHERE c.n = :n AND s.expires_at > now() AND u.is_active AND u.deleted_at IS NULL \gset
