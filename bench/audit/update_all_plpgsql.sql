\timing off
VACUUM bench_audit.users_plpgsql, smarthub.audit_logs;
BEGIN;
\timing on
UPDATE bench_audit.users_plpgsql SET email_verified = NOT email_verified;
\timing off
ROLLBACK;
