-- Before the 100k race: give every variant the same 100,000 rows again. The single-row INSERT
-- races have grown the triggered copies (by hundreds of thousands of rows on a fast machine) but
-- not users_none, and the UPDATE races have bloated them; an UPDATE of every row would otherwise
-- compare tables of different sizes. Triggers are skipped (replica role) so the reset itself
-- writes no audit rows.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET session_replication_role = replica;
TRUNCATE bench_audit.users_floor, bench_audit.users_plpgsql, bench_audit.users_smarthub;
INSERT INTO bench_audit.users_floor SELECT * FROM bench_audit.users_none;
INSERT INTO bench_audit.users_plpgsql SELECT * FROM bench_audit.users_none;
INSERT INTO bench_audit.users_smarthub SELECT * FROM bench_audit.users_none;
RESET session_replication_role;
VACUUM ANALYZE bench_audit.users_none, bench_audit.users_floor, bench_audit.users_plpgsql,
    bench_audit.users_smarthub, smarthub.audit_logs;
