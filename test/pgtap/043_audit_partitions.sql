-- The audit log is partitioned by month of its version-7 ids: create_audit_partitions makes the
-- months ahead, purge_audit_logs drops the months wholly older than its cutoff and deletes only
-- the rest row by row, every partition is as append-only as the table, and applications read the
-- rows only through smarthub.audit_logs and its row-level security.
BEGIN;
SELECT plan(27);

SELECT is(smarthub.uuid_v7_bound('2022-02-22 19:22:22+00'), '017f22e2-79b0-0000-0000-000000000000'::uuid,
          'uuid_v7_bound: the millisecond, then zeros');
SELECT ok(smarthub.uuid_v7() > smarthub.uuid_v7_bound(now()), '... below every uuid_v7 made from then on');
SELECT throws_ok($$SELECT smarthub.uuid_v7_bound('1969-12-31 23:59:59+00')$$, '22008', NULL, 'uuid_v7_bound before 1970: 22008');
SELECT throws_ok($$SELECT smarthub.uuid_v7_bound('infinity')$$, '22008', NULL, 'uuid_v7_bound(infinity): 22008');
SELECT throws_ok($$SELECT smarthub.create_audit_partitions(-1)$$, '22023', NULL, 'create_audit_partitions(-1): 22023');
SELECT throws_ok($$SELECT smarthub.create_audit_partitions(121)$$, '22023', NULL, 'create_audit_partitions(121): 22023');
SELECT throws_ok($$SELECT smarthub.create_audit_partitions(NULL)$$, '22023', NULL, 'create_audit_partitions(NULL): 22023');

-- a row of this month written before its partition exists lands in the default partition, and
-- keeps the month from getting one
INSERT INTO smarthub.audit_logs (entity_type, entity_id, action) VALUES ('part_test', gen_random_uuid(), 'EARLY');
SELECT is((SELECT tableoid::regclass::text FROM smarthub.audit_logs WHERE action = 'EARLY'), 'smarthub.audit_logs_default',
          'a row written before any month partition: in the default partition');
SELECT is(smarthub.create_audit_partitions(2), 2, 'create_audit_partitions(2): the next two months (this one has rows in the default)');
SELECT is(smarthub.create_audit_partitions(2), 0, '... and nothing the second time');
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'smarthub.audit_logs'::regclass), 3,
          'three partitions: the default and two months');

-- an old month, as a log a year old would have it: 100 rows, and one stray row of that age in the
-- default partition, written by a transaction long finished (txid 3), so that purge_audit_logs can
-- seal them (it removes sealed blocks only) although this test runs in one transaction
CREATE TABLE smarthub.audit_logs_2025_01 PARTITION OF smarthub.audit_logs
    FOR VALUES FROM (smarthub.uuid_v7_bound('2025-01-01 00:00+00')) TO (smarthub.uuid_v7_bound('2025-02-01 00:00+00'));
INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, created_at, txid)
    SELECT (left(smarthub.uuid_v7_bound('2025-01-15 00:00+00')::text, 24) || lpad(to_hex(i), 12, '0'))::uuid,
           'part_test', '00000000-0000-4000-8000-0000000000a1', 'OLD', '2025-01-15 00:00+00', 3
      FROM generate_series(1, 100) i;
INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, created_at, txid)
    VALUES (gen_random_uuid(), 'part_test', '00000000-0000-4000-8000-0000000000a1', 'OLD', '2025-01-20 00:00+00', 3);
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs_2025_01), 100, 'the old month holds its 100 rows');
SELECT results_eq($$SELECT count(*)::int FROM smarthub.entity_history('part_test', '00000000-0000-4000-8000-0000000000a1', NULL)$$,
                  ARRAY[101], 'entity_history reads across partitions');

-- append-only, partition by partition
SELECT throws_ok($$TRUNCATE smarthub.audit_logs_2025_01$$, '42501', NULL, 'TRUNCATE of a month partition → 42501');
SELECT throws_ok($$TRUNCATE smarthub.audit_logs_default$$, '42501', NULL, 'TRUNCATE of the default partition → 42501');
SELECT throws_ok($$DELETE FROM smarthub.audit_logs_2025_01$$, '42501', NULL, 'DELETE from a partition → 42501');
SELECT throws_ok($$UPDATE smarthub.audit_logs_default SET action = 'X'$$, '42501', NULL, 'UPDATE of a partition → 42501');
SELECT throws_ok($$SELECT smarthub.enable_audit('smarthub.audit_logs_default')$$, '42809', NULL, 'a partition of the log cannot be audited');

-- retention: the old month is dropped whole, the stray row deleted, the count exact
SELECT is(smarthub.purge_audit_logs('300 days'), 101::bigint, 'purge_audit_logs: 100 rows dropped with their month, 1 deleted');
SELECT is(to_regclass('smarthub.audit_logs_2025_01'), NULL, 'the old month''s partition is gone');
SELECT is((SELECT changes FROM smarthub.audit_logs WHERE action = 'PURGE'), '{"purged": 101, "older_than": "300 days"}'::jsonb,
          'its PURGE row says so');

-- applications read through the table only
CREATE ROLE part_app;
SELECT smarthub.grant_access('part_app');
SET LOCAL ROLE part_app;
SELECT throws_ok($$SELECT count(*) FROM smarthub.audit_logs_default$$, '42501', NULL,
                 'an application role cannot read a partition directly (no row-level security there)');
RESET ROLE;

-- entity_history keeps one generic plan per session: a plan first made for a superuser (who
-- bypasses RLS) or for one identity must not show another role or identity more than its own
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('e7000000-0000-4000-8000-000000000001', 'plan-user@example.com', 'plan-user', 'x'),
    ('e7000000-0000-4000-8000-000000000002', 'plan-admin@example.com', 'plan-admin', 'x');
INSERT INTO smarthub.user_roles (user_id, role_id)
    SELECT 'e7000000-0000-4000-8000-000000000002', id FROM smarthub.roles WHERE name = 'admin';
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action)
    SELECT CASE WHEN i <= 2 THEN 'e7000000-0000-4000-8000-000000000001'::uuid
                ELSE 'e7000000-0000-4000-8000-000000000002'::uuid END,
           'plan_test', 'e7100000-0000-4000-8000-000000000001', 'UPDATE'
      FROM generate_series(1, 5) i;
CREATE ROLE plan_app;
SELECT smarthub.grant_access('plan_app');
CREATE FUNCTION pg_temp.history_rows() RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM smarthub.entity_history('plan_test', 'e7100000-0000-4000-8000-000000000001')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.history_rows() TO plan_app;
SELECT is(pg_temp.history_rows(), 5, 'cached entity_history plan: the superuser sees all 5 rows');
SET LOCAL ROLE plan_app;
SELECT is(pg_temp.history_rows(), 0, '... then the application role without an identity: none');
RESET ROLE;
SELECT smarthub.set_current_user('e7000000-0000-4000-8000-000000000002');
SET LOCAL ROLE plan_app;
SELECT is(pg_temp.history_rows(), 5, '... as an admin identity: all 5');
RESET ROLE;
SELECT smarthub.set_current_user('e7000000-0000-4000-8000-000000000001');
SET LOCAL ROLE plan_app;
SELECT is(pg_temp.history_rows(), 2, '... then as a plain user in the same session: only its own 2');
RESET ROLE;
SELECT smarthub.clear_current_user();
SELECT is(pg_temp.history_rows(), 5, '... and the superuser again: all 5');

SELECT * FROM finish();
ROLLBACK;
