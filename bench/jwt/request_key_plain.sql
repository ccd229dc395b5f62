-- The same request without smarthub's identity: bench_jwt_bypass (BYPASSRLS, the same grants plus
-- api_keys.key_hash) looks the key up in plain SQL with the checks verify_key makes (pgcrypto
-- digest(); the key active and unexpired, its user active and not deleted) and filters every query
-- by the user id that returned.
-- pgbench -D kind=N: 0 runs all five queries (the seed's typical ones), 1 to 5 only that one.
\set n random(1, 1000)
BEGIN;
SET LOCAL ROLE bench_jwt_bypass;
SELECT k.user_id AS uid, c.entity_id AS eid, c.audit_type AS etype
  FROM bench_jwt_creds c
  JOIN smarthub.api_keys k ON k.key_hash = encode(digest(c.api_key, 'sha256'), 'hex')
  JOIN smarthub.users u ON u.id = k.user_id
 WHERE c.n = :n AND k.is_active AND (k.expires_at IS NULL OR k.expires_at > now())
   AND u.is_active AND u.deleted_at IS NULL \gset
