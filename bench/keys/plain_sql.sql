\set n random(1, 100000)
SELECT a.user_id FROM bench_keys b
  JOIN smarthub.api_keys a ON a.key_hash = encode(sha256(convert_to(b.key, 'UTF8')), 'hex')
 WHERE b.n = :n AND a.is_active AND (a.expires_at IS NULL OR a.expires_at > now());
