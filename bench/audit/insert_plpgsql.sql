-- Once per client (smarthub.identity_scope = session, set by 40_audit.sh): act as the bench
-- identity, so that every audit row carries its user_id and pays the foreign-key check.
\if :identity_set = 0
SELECT smarthub.set_current_user(id) FROM bench_audit.identity;
\set identity_set 1
\endif
INSERT INTO bench_audit.users_plpgsql (email, username, password_hash)
SELECT 'u' || x || '@example.com', 'u' || x, 'not-a-hash' FROM md5(random()::text) x;
