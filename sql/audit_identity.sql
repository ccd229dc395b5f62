-- The audit trail with an application identity: user_id, ip_address and user_agent come from the
-- identity and request context; an application role with no privilege to write audit_logs is
-- audited; a user deleting their own account; purge needs an admin identity.
\set VERBOSITY terse
SET timezone = 'UTC';
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('00000000-0000-0000-0000-0000000001a1', 'ida@example.com', 'ida', 'x'),
    ('00000000-0000-0000-0000-0000000001a2', 'max@example.com', 'max', 'x');
INSERT INTO smarthub.user_roles (id, user_id, role_id) VALUES
    ('00000000-0000-0000-0000-0000000001b1', '00000000-0000-0000-0000-0000000001a1', '00000000-0000-4000-8000-000000000002'),
    ('00000000-0000-0000-0000-0000000001b2', '00000000-0000-0000-0000-0000000001a2', '00000000-0000-4000-8000-000000000001');
CREATE ROLE smarthub_audit_id_app;
SELECT smarthub.grant_access('smarthub_audit_id_app');

-- the application role cannot write the audit log itself
SET ROLE smarthub_audit_id_app;
INSERT INTO smarthub.audit_logs (entity_type, entity_id, action) VALUES ('x', '00000000-0000-0000-0000-000000000000', 'FORGED');
RESET ROLE;

-- ida, through the application role, changes her own profile
BEGIN;
SELECT smarthub.set_current_user('00000000-0000-0000-0000-0000000001a1');
SELECT smarthub.set_request_context('203.0.113.9', 'TestAgent/1.0');
SET LOCAL ROLE smarthub_audit_id_app;
UPDATE smarthub.users SET first_name = 'Ida' WHERE id = '00000000-0000-0000-0000-0000000001a1';
-- she reads her own audit rows (RLS), newest first
SELECT action, user_id, ip_address, user_agent, db_role, changes
  FROM smarthub.entity_history('users', '00000000-0000-0000-0000-0000000001a1');
COMMIT;
SET ROLE smarthub_audit_id_app;
SELECT smarthub.purge_audit_logs('1 day');
RESET ROLE;
SELECT action, user_id, ip_address, user_agent, db_role, changes FROM smarthub.audit_logs
 WHERE entity_id = '00000000-0000-0000-0000-0000000001a1' AND action = 'UPDATE';

-- max, an admin, deletes his own account: the DELETE succeeds and its audit row has no user
BEGIN;
SELECT smarthub.set_current_user('00000000-0000-0000-0000-0000000001a2');
SET LOCAL ROLE smarthub_audit_id_app;
UPDATE smarthub.users SET last_name = 'Leaving' WHERE id = '00000000-0000-0000-0000-0000000001a2';
DELETE FROM smarthub.users WHERE id = '00000000-0000-0000-0000-0000000001a2';
COMMIT;
SELECT action, entity_type, user_id, changes -> 'before' ->> 'username' AS username
  FROM smarthub.audit_logs
 WHERE entity_id IN ('00000000-0000-0000-0000-0000000001a2', '00000000-0000-0000-0000-0000000001b2')
 ORDER BY created_at, entity_type, action;

-- purge: an admin identity may, anyone else may not (the DBA without identity may)
BEGIN;
SELECT smarthub.set_current_user('00000000-0000-0000-0000-0000000001a1');
SELECT smarthub.purge_audit_logs('1 day');
ROLLBACK;
INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('00000000-0000-0000-0000-0000000001a1', '00000000-0000-4000-8000-000000000001');
BEGIN;
SELECT smarthub.set_current_user('00000000-0000-0000-0000-0000000001a1');
SELECT smarthub.purge_audit_logs('1 day');
SELECT action, user_id, changes FROM smarthub.audit_logs WHERE action = 'PURGE';
ROLLBACK;

SELECT smarthub.revoke_access('smarthub_audit_id_app');
DROP ROLE smarthub_audit_id_app;
DELETE FROM smarthub.users WHERE id = '00000000-0000-0000-0000-0000000001a1';
