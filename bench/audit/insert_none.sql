INSERT INTO bench_audit.users_none (email, username, password_hash)
SELECT 'u' || x || '@example.com', 'u' || x, 'not-a-hash' FROM md5(random()::text) x;
