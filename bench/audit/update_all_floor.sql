\timing off
VACUUM bench_audit.users_floor, smarthub.audit_logs;
BEGIN;
\timing on
UPDATE bench_audit.users_floor SET email_verified = NOT email_verified;
\timing off
ROLLBACK;
