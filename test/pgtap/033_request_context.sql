-- set_request_context as the audit trigger sees it: the address and user agent of the audit rows,
-- the fallback to inet_client_addr(), savepoints; read back as the application role (RLS shows it
-- its own audit rows).
BEGIN;
SELECT plan(9);

CREATE ROLE ident_ctx_app;
SELECT smarthub.grant_access('ident_ctx_app');
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('a2000000-0000-4000-8000-000000000001', 'ctx@ident.io', 'ctx_user', 'h');
INSERT INTO smarthub.user_roles (user_id, role_id)
    SELECT 'a2000000-0000-4000-8000-000000000001', id FROM smarthub.roles WHERE name = 'user';
SELECT smarthub.set_current_user('a2000000-0000-4000-8000-000000000001');
SET ROLE ident_ctx_app;

SELECT lives_ok($$SELECT smarthub.set_request_context('192.0.2.10', 'agent/1.0')$$, 'set_request_context');
INSERT INTO smarthub.entities (id, entity_type, owner_id, name)
    VALUES ('e2000000-0000-4000-8000-000000000001', 'ctx', 'a2000000-0000-4000-8000-000000000001', 'one');
SELECT results_eq($$SELECT user_id, ip_address, user_agent FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000001'$$,
    $$VALUES ('a2000000-0000-4000-8000-000000000001'::uuid, '192.0.2.10'::inet, 'agent/1.0'::text)$$,
    'the audit row carries the identity and the request context');
SAVEPOINT s;
SELECT smarthub.set_request_context('2001:db8::1', 'agent/2.0');
ROLLBACK TO SAVEPOINT s;
INSERT INTO smarthub.entities (id, entity_type, owner_id, name)
    VALUES ('e2000000-0000-4000-8000-000000000002', 'ctx', 'a2000000-0000-4000-8000-000000000001', 'two');
SELECT results_eq($$SELECT ip_address, user_agent FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000002'$$,
    $$VALUES ('192.0.2.10'::inet, 'agent/1.0'::text)$$, 'rollback to a savepoint restores the earlier context');
SELECT smarthub.set_request_context('2001:db8::1', 'agent/2.0');
INSERT INTO smarthub.entities (id, entity_type, owner_id, name)
    VALUES ('e2000000-0000-4000-8000-000000000003', 'ctx', 'a2000000-0000-4000-8000-000000000001', 'three');
SELECT results_eq($$SELECT ip_address, user_agent FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000003'$$,
    $$VALUES ('2001:db8::1'::inet, 'agent/2.0'::text)$$, 'IPv6 addresses are kept');
SELECT smarthub.set_request_context(NULL, NULL);
INSERT INTO smarthub.entities (id, entity_type, owner_id, name)
    VALUES ('e2000000-0000-4000-8000-000000000004', 'ctx', 'a2000000-0000-4000-8000-000000000001', 'four');
SELECT is((SELECT ip_address FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000004'),
    inet_client_addr(), 'no address: the client address is used');
SELECT is((SELECT user_agent FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000004'),
    NULL, 'no user agent: NULL');
SELECT smarthub.set_request_context('198.51.100.3', repeat('u', 10000));
INSERT INTO smarthub.entities (id, entity_type, owner_id, name)
    VALUES ('e2000000-0000-4000-8000-000000000005', 'ctx', 'a2000000-0000-4000-8000-000000000001', 'five');
SELECT is((SELECT length(user_agent) FROM smarthub.audit_logs WHERE entity_id = 'e2000000-0000-4000-8000-000000000005'),
    10000, 'a long user agent is kept whole');
SELECT throws_ok($$SELECT smarthub.set_request_context('not an address', 'x')$$, '22P02', NULL, 'a malformed address: 22P02');
SELECT smarthub.clear_current_user();
SELECT throws_ok($$INSERT INTO smarthub.entities (entity_type, owner_id, name) VALUES ('ctx', NULL, 'six')$$,
    '42501', NULL, 'without identity the application role inserts nothing');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
