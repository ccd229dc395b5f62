-- 1,000 users and 100,000 API keys made by smarthub.create_api_key; the plaintext keys are kept in
-- bench_keys (this throwaway database only) so that every variant draws its key the same way.
SET smarthub.bcrypt_cost = 4;
DROP TABLE IF EXISTS bench_keys;
INSERT INTO smarthub.users (email, username, password_hash)
SELECT 'bench' || i || '@example.com', 'bench' || i, smarthub.hash_password('pw', 4) FROM generate_series(1, 1000) i;
CREATE TABLE bench_keys (n int PRIMARY KEY, key text NOT NULL, key_hash text);
INSERT INTO bench_keys
SELECT n, k.key
  FROM (SELECT array_agg(id ORDER BY username) AS ids FROM smarthub.users) u,
       generate_series(1, 100000) n,
       LATERAL smarthub.create_api_key(u.ids[1 + n % 1000], 'bench ' || n) k;
-- For the anchor where the application hashes the key itself and SQL only compares.
UPDATE bench_keys SET key_hash = encode(sha256(convert_to(key, 'UTF8')), 'hex');
-- Steady state of a busy service: every key used within the last key_touch_interval.
UPDATE smarthub.api_keys SET last_used_at = now();
VACUUM ANALYZE;
