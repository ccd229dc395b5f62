# RLS cost: count(*) over 100,000 entities as an application role with an identity set (an admin,
# and a user owning 1% of the rows) against the same query by a role that bypasses RLS; and
# current_user_id() against current_setting() called 1,000,000 times in one statement.
# Sourced by script/bench (cwd bench/, bench/lib.sh loaded).
bq <<'SQL'
CREATE ROLE bench_rls_app;
CREATE ROLE bench_rls_bypass BYPASSRLS;
SELECT smarthub.grant_access('bench_rls_app', trusted => true);
SELECT smarthub.grant_access('bench_rls_bypass', trusted => true);
INSERT INTO smarthub.users (id, email, username, password_hash)
SELECT ('f0000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'bench' || i || '@rls.io', 'bench_rls_' || i, 'h'
  FROM generate_series(1, 100) i;
INSERT INTO smarthub.user_roles (user_id, role_id)
VALUES ('f0000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001'),
       ('f0000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002');
-- user 2 owns 1% of the entities
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
SELECT 'bench', ('f0000000-0000-4000-8000-' || lpad((i % 100 + 1)::text, 12, '0'))::uuid, 'entity ' || i,
       jsonb_build_object('n', i)
  FROM generate_series(1, 100000) i;
VACUUM ANALYZE smarthub.entities;
SQL

race_tps "count(*) 100k entities, admin identity" 1 \
    "RLS admin" rls/count_admin.sql \
    "no RLS" rls/count_bypass.sql
race_tps "count(*) 100k entities, user owning 1%" 1 \
    "RLS user 1%" rls/count_user.sql \
    "no RLS" rls/count_bypass.sql
race_time "1,000,000 calls in one statement" \
    "current_user_id()" rls/current_user_id.sql \
    "current_setting()::uuid" rls/current_setting_uuid.sql \
    "current_setting()" rls/current_setting.sql

bq <<'SQL'
DELETE FROM smarthub.entities WHERE entity_type = 'bench';
DELETE FROM smarthub.users WHERE username LIKE 'bench\_rls\_%';
SELECT smarthub.revoke_access('bench_rls_app');
SELECT smarthub.revoke_access('bench_rls_bypass');
DROP ROLE bench_rls_app;
DROP ROLE bench_rls_bypass;
SQL
