-- Audit: enable/disable errors, privileges, append-only enforcement for every role, the user_id
-- foreign key's SET NULL, purge, and auditing by a role that cannot write the audit log.
BEGIN;
SELECT plan(75);

-- objects and privileges
SELECT has_function('smarthub', 'audit_trigger', ARRAY[]::text[], 'audit_trigger() exists');
SELECT has_function('smarthub', 'enable_audit', ARRAY['regclass', 'text[]', 'text[]', 'text', 'name'], 'enable_audit() exists');
SELECT has_function('smarthub', 'disable_audit', ARRAY['regclass'], 'disable_audit() exists');
SELECT has_function('smarthub', 'purge_audit_logs', ARRAY['interval'], 'purge_audit_logs() exists');
SELECT has_function('smarthub', 'entity_history', ARRAY['text', 'uuid', 'integer'], 'entity_history() exists');
SELECT has_view('smarthub', 'audited_tables', 'audited_tables view exists');
SELECT isnt_definer('smarthub', 'entity_history', ARRAY['text', 'uuid', 'integer'], 'entity_history is SECURITY INVOKER');
SELECT function_privs_are('smarthub', 'purge_audit_logs', ARRAY['interval'], 'public', ARRAY[]::text[], 'PUBLIC cannot purge');
SELECT function_privs_are('smarthub', 'enable_audit', ARRAY['regclass', 'text[]', 'text[]', 'text', 'name'], 'public', ARRAY[]::text[], 'PUBLIC cannot enable_audit');
SELECT function_privs_are('smarthub', 'disable_audit', ARRAY['regclass'], 'public', ARRAY[]::text[], 'PUBLIC cannot disable_audit');
SELECT function_privs_are('smarthub', 'audit_trigger', ARRAY[]::text[], 'public', ARRAY[]::text[], 'PUBLIC cannot name audit_trigger');
SELECT table_privs_are('smarthub', 'audited_tables', 'public', ARRAY[]::text[], 'PUBLIC cannot read audited_tables');
SELECT triggers_are('smarthub', 'audit_logs', ARRAY['audit_logs_append_only', 'audit_logs_no_truncate'], 'audit_logs guard triggers');
SELECT results_eq(
    $$SELECT table_name::text COLLATE "default", excluded_columns, ignored_columns FROM smarthub.audited_tables ORDER BY 1$$,
    $$VALUES ('smarthub.api_keys', '{key_hash}'::text[], '{updated_at,last_used_at}'::text[]),
             ('smarthub.entities', '{}', '{updated_at}'),
             ('smarthub.mfa_factors', '{secret}', '{last_step,failures}'),
             ('smarthub.recovery_codes', '{code_hash}', '{}'),
             ('smarthub.roles', '{}', '{updated_at}'),
             ('smarthub.user_roles', '{}', '{}'),
             ('smarthub.users', '{password_hash}', '{updated_at,last_login_at}')$$,
    'default audited tables (sessions is not)');

-- enable_audit / disable_audit errors
CREATE TABLE public.tap_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n integer, k integer, s text);
CREATE VIEW public.tap_v AS SELECT * FROM public.tap_t;
CREATE MATERIALIZED VIEW public.tap_mv AS SELECT * FROM public.tap_t;
CREATE SEQUENCE public.tap_seq;
CREATE TABLE public.tap_parted (id uuid, k integer) PARTITION BY RANGE (k);
CREATE TABLE public.tap_part PARTITION OF public.tap_parted FOR VALUES FROM (0) TO (10);
CREATE TABLE public.tap_textid (id text PRIMARY KEY);
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_v')$$, '42809', NULL, 'view → 42809');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_mv')$$, '42809', NULL, 'materialized view → 42809');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_seq')$$, '42809', NULL, 'sequence → 42809');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_parted')$$, '42809', NULL, 'partitioned parent → 42809');
SELECT lives_ok($$SELECT smarthub.enable_audit('public.tap_part', '{}', '{}')$$, 'a partition can be audited');
SELECT throws_ok($$SELECT smarthub.enable_audit('smarthub.audit_logs')$$, '42809', NULL, 'audit_logs itself → 42809');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', id_column => 'nope')$$, '42703', NULL, 'missing id column → 42703');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', id_column => 'n')$$, '42804', NULL, 'integer id column → 42804');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_textid')$$, '42804', NULL, 'text id column → 42804');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{nope}')$$, '42703', NULL, 'missing excluded column → 42703');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{}', '{n,nope}')$$, '42703', NULL, 'missing ignored column → 42703');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{ctid}')$$, '42703', NULL, 'system column → 42703');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', NULL)$$, '22004', NULL, 'NULL excluded list → 22004');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{s,NULL}')$$, '22004', NULL, 'NULL column name → 22004');
SELECT throws_ok($$SELECT smarthub.enable_audit(NULL)$$, '22004', NULL, 'NULL target → 22004');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{}', '{}', '')$$, '22023', NULL, 'empty entity_type → 22023');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t', '{}', '{}', repeat('é', 101))$$, '22001', NULL, 'entity_type over 100 characters → 22001');
SELECT throws_ok($$SELECT smarthub.disable_audit('public.tap_t')$$, '42704', NULL, 'disable on a table not audited → 42704');
SELECT lives_ok($$SELECT smarthub.enable_audit('public.tap_t', '{s}', '{k}', 'tap')$$, 'default {updated_at} skipped when absent; explicit lists accepted');
SELECT is((SELECT ignored_columns FROM smarthub.audited_tables WHERE table_name = 'public.tap_t'::regclass), '{k}'::text[], 'configuration as given');
SELECT lives_ok($$SELECT smarthub.enable_audit('public.tap_t', '{s}', '{s,k}', 'tap')$$, 'enable_audit again replaces the configuration');
SELECT is((SELECT ignored_columns FROM smarthub.audited_tables WHERE table_name = 'public.tap_t'::regclass), '{k}'::text[], 'a column both excluded and ignored stays excluded');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'public.tap_t'::regclass AND tgname LIKE 'smarthub_audit%'), 2, 'exactly two audit triggers after replacing');

-- audit_trigger refuses to be fired the wrong way
CREATE TABLE public.tap_wrong (id uuid PRIMARY KEY);
CREATE TRIGGER wrong_stmt AFTER INSERT ON public.tap_wrong FOR EACH STATEMENT
    EXECUTE FUNCTION smarthub.audit_trigger('tap_wrong', 'id', '{}', '{}');
SELECT throws_ok($$INSERT INTO public.tap_wrong VALUES (gen_random_uuid())$$, '39P01', NULL, 'statement-level INSERT trigger → 39P01');
DROP TRIGGER wrong_stmt ON public.tap_wrong;
CREATE TRIGGER wrong_before BEFORE INSERT ON public.tap_wrong FOR EACH ROW
    EXECUTE FUNCTION smarthub.audit_trigger('tap_wrong', 'id', '{}', '{}');
SELECT throws_ok($$INSERT INTO public.tap_wrong VALUES (gen_random_uuid())$$, '39P01', NULL, 'BEFORE trigger → 39P01');
DROP TRIGGER wrong_before ON public.tap_wrong;
CREATE TRIGGER wrong_args AFTER INSERT ON public.tap_wrong FOR EACH ROW
    EXECUTE FUNCTION smarthub.audit_trigger('tap_wrong');
SELECT throws_ok($$INSERT INTO public.tap_wrong VALUES (gen_random_uuid())$$, '39P01', NULL, 'wrong number of arguments → 39P01');
DROP TRIGGER wrong_args ON public.tap_wrong;

-- a role that may update the table but has no privilege at all on audit_logs is still audited
CREATE ROLE tap_audit_app;
GRANT USAGE ON SCHEMA public, smarthub TO tap_audit_app;
GRANT SELECT, INSERT, UPDATE ON public.tap_t TO tap_audit_app;
SET ROLE tap_audit_app;
INSERT INTO public.tap_t (id, n, s) VALUES ('00000000-0000-0000-0000-00000000aa01', 1, 'secret');
UPDATE public.tap_t SET n = 2, s = 'other secret';
SELECT throws_ok($$SELECT count(*) FROM smarthub.audit_logs$$, '42501', NULL, 'the application role cannot read the audit log');
SELECT throws_ok($$INSERT INTO smarthub.audit_logs (entity_type, entity_id, action) VALUES ('x', gen_random_uuid(), 'FORGED')$$, '42501', NULL, 'nor write it directly');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_t')$$, '42501', NULL, 'nor call enable_audit');
SELECT throws_ok($$SELECT smarthub.purge_audit_logs('1 day')$$, '42501', NULL, 'nor purge');
RESET ROLE;
SELECT results_eq(
    $$SELECT action::text, db_role, changes FROM smarthub.audit_logs WHERE entity_type = 'tap' ORDER BY action$$,
    $$VALUES ('CREATE', 'postgres', '{"before": null, "after": {"id": "00000000-0000-0000-0000-00000000aa01", "k": null, "n": 1, "s": "[redacted]"}}'::jsonb),
             ('UPDATE', 'postgres', '{"before": {"n": 1, "s": "[redacted]"}, "after": {"n": 2, "s": "[redacted]"}}')$$,
    'both changes audited, secret redacted, db_role is the session user');

-- a table owner who is not a superuser may configure their own table, not others'
GRANT EXECUTE ON FUNCTION smarthub.enable_audit(regclass, text[], text[], text, name) TO tap_audit_app;
GRANT EXECUTE ON FUNCTION smarthub.disable_audit(regclass) TO tap_audit_app;
GRANT CREATE ON SCHEMA public TO tap_audit_app;
SET ROLE tap_audit_app;
CREATE TABLE public.tap_own (id uuid PRIMARY KEY, v text);
SELECT lives_ok($$SELECT smarthub.enable_audit('public.tap_own')$$, 'owner enables auditing of their table');
INSERT INTO public.tap_own VALUES ('00000000-0000-0000-0000-00000000aa02', 'x');
SELECT throws_ok($$SELECT smarthub.disable_audit('public.tap_t')$$, '42501', NULL, 'non-owner cannot disable_audit');
SELECT throws_ok($$SELECT smarthub.enable_audit('smarthub.sessions')$$, '42501', NULL, 'non-owner cannot enable_audit');
-- an owner cannot make its rows pass for another table's history: one entity type, one table
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_own', entity_type => 'users')$$, '42939', NULL, 'entity type users is reserved for smarthub.users');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_own', entity_type => 'audit_logs')$$, '42939', NULL, '... audit_logs too (a forged TRUNCATE or PURGE)');
SELECT throws_ok($$SELECT smarthub.enable_audit('public.tap_own', entity_type => 'tap')$$, '42710', NULL, 'a type another audited table has → 42710');
CREATE TABLE public.entities (id uuid PRIMARY KEY);
SELECT throws_ok($$SELECT smarthub.enable_audit('public.entities')$$, '42939', NULL, 'the default type of a table named like one of smarthub''s is refused too');
SELECT lives_ok($$SELECT smarthub.enable_audit('public.entities', entity_type => 'my_entities')$$, 'with a type of its own it is audited');
SELECT lives_ok($$SELECT smarthub.enable_audit('public.tap_own')$$, 'enable_audit again with the table''s own type');
SELECT lives_ok($$ALTER TABLE public.tap_own RENAME COLUMN v TO w$$, 'owner can rename a column of an audited table');
SELECT lives_ok($$SELECT smarthub.disable_audit('public.tap_own')$$, 'owner disables auditing of their table');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'tap_own'), 1, 'the owner''s table was audited');

-- append-only, for the superuser too, even in replica mode
SELECT throws_ok($$UPDATE smarthub.audit_logs SET action = 'FORGED'$$, '42501', NULL, 'superuser UPDATE → 42501');
SELECT throws_ok($$UPDATE smarthub.audit_logs SET user_id = NULL$$, '42501', NULL, 'a hand-written SET user_id = NULL → 42501');
SELECT throws_ok($$DELETE FROM smarthub.audit_logs$$, '42501', NULL, 'superuser DELETE → 42501');
SELECT throws_ok($$TRUNCATE smarthub.audit_logs$$, '42501', NULL, 'superuser TRUNCATE → 42501');
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$DELETE FROM smarthub.audit_logs$$, '42501', NULL, 'DELETE in replica mode → 42501');
RESET session_replication_role;

-- the user_id foreign key's ON DELETE SET NULL goes through, and changes nothing else
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES ('00000000-0000-0000-0000-00000000aa03', 'tap@example.com', 'tap', 'x');
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action, changes)
VALUES ('00000000-0000-0000-0000-00000000aa03', 'tap_fk', '00000000-0000-0000-0000-00000000aa04', 'TEST', '{"a": 1}');
SELECT lives_ok($$DELETE FROM smarthub.users WHERE username = 'tap'$$, 'deleting a user with audit rows works');
SELECT results_eq($$SELECT user_id, action::text, changes FROM smarthub.audit_logs WHERE entity_type = 'tap_fk'$$,
                  $$VALUES (NULL::uuid, 'TEST', '{"a": 1}'::jsonb)$$, 'its audit rows keep everything but user_id');

-- the actor survives: an admin deletes their own account, and the rows of what they did still
-- name them in actor_id (user_id is set NULL by the foreign key)
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('00000000-0000-0000-0000-00000000aa05', 'gone@example.com', 'gone', 'x'),
    ('00000000-0000-0000-0000-00000000aa06', 'other@example.com', 'other', 'x');
INSERT INTO smarthub.user_roles (user_id, role_id)
    SELECT '00000000-0000-0000-0000-00000000aa05', id FROM smarthub.roles WHERE name = 'admin';
SELECT smarthub.set_current_user('00000000-0000-0000-0000-00000000aa05');
UPDATE smarthub.users SET first_name = 'Renamed' WHERE username = 'other';
SELECT isnt(smarthub.create_session('00000000-0000-0000-0000-00000000aa06'), NULL, 'an admin creates a session for another user');
DELETE FROM smarthub.users WHERE username = 'gone';
SELECT smarthub.clear_current_user();
SELECT results_eq($$SELECT action::text, user_id, actor_id FROM smarthub.audit_logs
                     WHERE entity_id = '00000000-0000-0000-0000-00000000aa06' AND entity_type = 'users'
                       AND action <> 'CREATE' ORDER BY action$$,
                  $$VALUES ('IMPERSONATE', NULL::uuid, '00000000-0000-0000-0000-00000000aa05'::uuid),
                           ('UPDATE', NULL::uuid, '00000000-0000-0000-0000-00000000aa05'::uuid)$$,
                  'after the actor''s deletion actor_id still names them (user_id is NULL)');
SELECT is((SELECT changes ? 'session_id' FROM smarthub.audit_logs WHERE action = 'IMPERSONATE'
            AND entity_id = '00000000-0000-0000-0000-00000000aa06'), true,
          'the IMPERSONATE row names the session, its entity the impersonated user');
-- a trusted role without identity impersonating: the row names the role in db_role
SELECT isnt(smarthub.create_session('00000000-0000-0000-0000-00000000aa06'), NULL, 'the DBA creates a session for a user');
SELECT is((SELECT db_role FROM smarthub.audit_logs WHERE action = 'IMPERSONATE'
             AND entity_id = '00000000-0000-0000-0000-00000000aa06' AND actor_id IS NULL),
          session_user::text COLLATE "default", '... and its IMPERSONATE row names the DBA''s role');
-- a session for oneself is no impersonation
SELECT smarthub.set_current_user('00000000-0000-0000-0000-00000000aa06');
SELECT isnt(smarthub.create_session('00000000-0000-0000-0000-00000000aa06'), NULL, 'a user creates their own session');
SELECT smarthub.clear_current_user();
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE action = 'IMPERSONATE'
            AND entity_id = '00000000-0000-0000-0000-00000000aa06'), 2, '... which writes no IMPERSONATE row');

-- purge: removes old rows only, returns the count, writes one PURGE row
SELECT is(smarthub.purge_audit_logs('1 day'), 0::bigint, 'nothing older than a day');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE action = 'PURGE'), 1, 'one PURGE row per purge');
SELECT throws_ok($$SELECT smarthub.purge_audit_logs('-1 second')$$, '22023', NULL, 'negative interval → 22023');
SELECT is(smarthub.purge_audit_logs(NULL), NULL, 'NULL interval purges nothing (STRICT)');

SELECT * FROM finish();
ROLLBACK;
