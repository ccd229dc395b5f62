-- A call is judged by the role that made it, and nothing that mints a credential, sets an identity
-- or changes a password works while PostgreSQL runs a role's code on someone else's behalf.
-- The attacker is an application role, as commonly set up: LOGIN NOINHERIT, grant_access, CREATE
-- on schema public. Its code runs in maintenance the DBA starts (ANALYZE, REINDEX, CLUSTER,
-- CREATE INDEX, REFRESH MATERIALIZED VIEW), in a foreign key's action, and in its own SECURITY
-- DEFINER function called by a trusted role. (Autovacuum: test/shell/023_on_behalf.sh.)
BEGIN;
SELECT plan(24);

SET LOCAL smarthub.bcrypt_cost = 4;
SET LOCAL max_parallel_maintenance_workers = 0;
CREATE ROLE sh_attacker LOGIN NOINHERIT;
CREATE ROLE sh_service LOGIN NOINHERIT;
SELECT smarthub.grant_access('sh_attacker');
SELECT smarthub.grant_access('sh_service', trusted => true);
GRANT CREATE ON SCHEMA public TO sh_attacker;

INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
    ('00000000-0000-4000-b000-0000000000ad', 'boss@example.com', 'boss', smarthub.hash_password('boss-pw'));
INSERT INTO smarthub.user_roles (user_id, role_id)
    SELECT '00000000-0000-4000-b000-0000000000ad', id FROM smarthub.roles WHERE name = 'admin';
INSERT INTO smarthub.entities (entity_type, owner_id, name)
    VALUES ('secret', '00000000-0000-4000-b000-0000000000ad', 'the boss''s entity');
CREATE TEMP TABLE boss_key AS
    SELECT key FROM smarthub.create_api_key('00000000-0000-4000-b000-0000000000ad', 'boss key');
GRANT SELECT ON boss_key TO sh_attacker;

SET LOCAL ROLE sh_attacker;
-- What each attempt gave: the credential or identity it got, or the SQLSTATE that stopped it.
CREATE TABLE public.sh_loot (context text, attempt text, outcome text);
CREATE FUNCTION public.sh_try(context text, attempt text, sql text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    EXECUTE sql INTO got;
    INSERT INTO public.sh_loot VALUES (context, attempt, coalesce(got, 'ran'));
EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.sh_loot VALUES (context, attempt, SQLSTATE);
END $$;
-- Every power an attacker would want, against the admin account.
CREATE FUNCTION public.sh_plunder(context text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    boss constant text := '''00000000-0000-4000-b000-0000000000ad''';
BEGIN
    PERFORM public.sh_try(context, 'create_api_key', 'SELECT key FROM smarthub.create_api_key(' || boss || ')');
    PERFORM public.sh_try(context, 'create_session', 'SELECT smarthub.create_session(' || boss || ')');
    PERFORM public.sh_try(context, 'set_password', 'SELECT smarthub.set_password(' || boss || ', ''owned'')');
    PERFORM public.sh_try(context, 'create_user', 'SELECT smarthub.create_user(''mole@example.com'', ''mole'', ''pw'', roles => ''{admin}'')');
    PERFORM public.sh_try(context, 'revoke_user_sessions', 'SELECT smarthub.revoke_user_sessions(' || boss || ')');
    PERFORM public.sh_try(context, 'login', 'SELECT smarthub.login(''boss'', ''boss-pw'')');
    PERFORM public.sh_try(context, 'authenticate_key', 'SELECT smarthub.authenticate_key((SELECT key FROM boss_key))');
    PERFORM public.sh_try(context, 'identity', 'SELECT smarthub.current_user_id()');
    PERFORM public.sh_try(context, 'is_admin', 'SELECT smarthub.has_role(''admin'')::text');
    PERFORM public.sh_try(context, 'entities', 'SELECT count(*) FROM smarthub.entities');
END $$;
CREATE FUNCTION public.sh_index_fn(x int) RETURNS int
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- the bait: a row with x = 1 met while the test names the operation it runs
    IF x = 1 AND current_setting('sh.context', true) <> '' THEN
        PERFORM public.sh_plunder(current_setting('sh.context'));
    END IF;
    RETURN x;
END $$;
CREATE TABLE public.sh_bait (x int);
INSERT INTO public.sh_bait VALUES (2), (3);
CREATE INDEX sh_bait_idx ON public.sh_bait (public.sh_index_fn(x));
-- the foreign key case: its action runs as the referencing table's owner
CREATE TABLE public.sh_parent (id int PRIMARY KEY);
CREATE TABLE public.sh_child (parent int REFERENCES public.sh_parent ON DELETE CASCADE);
CREATE FUNCTION public.sh_child_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.sh_plunder('foreign key action');
    RETURN OLD;
END $$;
CREATE TRIGGER sh_child_del BEFORE DELETE ON public.sh_child FOR EACH ROW EXECUTE FUNCTION public.sh_child_trigger();
INSERT INTO public.sh_parent VALUES (1);
INSERT INTO public.sh_child VALUES (1);
CREATE MATERIALIZED VIEW public.sh_mv AS SELECT public.sh_index_fn(x) AS y FROM public.sh_bait;
INSERT INTO public.sh_bait VALUES (1);
-- and a SECURITY DEFINER function of its own, for a trusted role to call
CREATE FUNCTION public.sh_helper() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM public.sh_plunder('attacker''s SECURITY DEFINER function, called by a trusted role');
END $$;
GRANT EXECUTE ON FUNCTION public.sh_helper() TO sh_service;
RESET ROLE;

-- The DBA works with an admin identity established, which must not be lent either.
SELECT smarthub.set_current_user('00000000-0000-4000-b000-0000000000ad');

SET LOCAL sh.context = 'ANALYZE';
ANALYZE public.sh_bait;
SET LOCAL sh.context = 'REINDEX';
REINDEX TABLE public.sh_bait;
SET LOCAL sh.context = 'CREATE INDEX';
CREATE INDEX sh_bait_idx2 ON public.sh_bait (public.sh_index_fn(x));
SET LOCAL sh.context = 'CLUSTER';
CLUSTER public.sh_bait USING sh_bait_idx;
SET LOCAL sh.context = 'REFRESH MATERIALIZED VIEW';
REFRESH MATERIALIZED VIEW public.sh_mv;
DELETE FROM public.sh_parent;

-- every context ran every attempt (CLUSTER rebuilds two indexes: its attempts come twice)
SELECT is((SELECT count(DISTINCT context)::int FROM public.sh_loot), 6, 'the attacker''s code ran in 6 contexts');
SELECT is((SELECT count(DISTINCT (context, attempt))::int FROM public.sh_loot), 60, '... making 10 attempts in each');
SELECT is(smarthub.current_user_id(), '00000000-0000-4000-b000-0000000000ad'::uuid,
          'authenticate_key in them left the DBA''s identity as it was');

-- inside operations run on someone else's behalf: refused, whatever the session's standing
SELECT results_eq(
    $$SELECT DISTINCT attempt, outcome FROM public.sh_loot WHERE context = 'ANALYZE' ORDER BY attempt$$,
    $$VALUES ('authenticate_key', '42501'), ('create_api_key', '42501'), ('create_session', '42501'),
             ('create_user', '42501'), ('entities', '0'), ('identity', 'ran'), ('is_admin', 'false'),
             ('login', '42501'), ('revoke_user_sessions', '42501'), ('set_password', '42501')$$,
    'ANALYZE: every minting call 42501; no identity, no admin role, no entity seen');
SELECT results_eq(
    format($$SELECT DISTINCT attempt, outcome FROM public.sh_loot WHERE context = %L ORDER BY attempt$$, c),
    $$SELECT DISTINCT attempt, outcome FROM public.sh_loot WHERE context = 'ANALYZE' ORDER BY attempt$$,
    c || ': the same')
  FROM unnest(ARRAY['REINDEX', 'CREATE INDEX', 'CLUSTER', 'REFRESH MATERIALIZED VIEW']) AS c;
-- a foreign key action is not security-restricted: the identity stays visible (an audit trigger of
-- a cascaded delete records who deleted), but nothing can be minted in it
SELECT results_eq(
    $$SELECT attempt, outcome FROM public.sh_loot WHERE context = 'foreign key action'
       AND attempt NOT IN ('identity', 'is_admin', 'entities') ORDER BY attempt$$,
    $$VALUES ('authenticate_key', '42501'), ('create_api_key', '42501'), ('create_session', '42501'),
             ('create_user', '42501'), ('login', '42501'), ('revoke_user_sessions', '42501'),
             ('set_password', '42501')$$,
    'foreign key action: every minting call 42501');
-- a SECURITY DEFINER function runs as its owner: judged as the attacker, not as the trusted caller.
-- The session's admin identity is the application's own standing, which it does keep.
SELECT smarthub.clear_current_user();
DELETE FROM public.sh_loot;
SET LOCAL ROLE sh_service;
SELECT public.sh_helper();
RESET ROLE;
SELECT results_eq(
    $$SELECT attempt, outcome FROM public.sh_loot WHERE attempt IN ('create_api_key', 'create_session',
       'set_password', 'create_user', 'revoke_user_sessions') ORDER BY attempt$$,
    $$VALUES ('create_api_key', '42501'), ('create_session', '42501'), ('create_user', '42501'),
             ('revoke_user_sessions', '42501'), ('set_password', '42501')$$,
    'attacker''s SECURITY DEFINER function called by a trusted role: judged as the attacker, 42501');
SELECT is((SELECT outcome FROM public.sh_loot WHERE attempt = 'login') ~ '^shs_', true,
          '... while login, which needs no standing, works there');

-- nothing was minted or changed: one key (the test's own), no sessions, the password, no mole
SELECT is((SELECT count(*)::int FROM smarthub.api_keys WHERE user_id = '00000000-0000-4000-b000-0000000000ad'), 1,
          'no API key was minted for the admin');
SELECT is((SELECT count(*)::int FROM smarthub.sessions WHERE user_id = '00000000-0000-4000-b000-0000000000ad'), 1,
          'the one session is the login allowed above');
SELECT ok(smarthub.verify_password('boss-pw', (SELECT password_hash FROM smarthub.users WHERE username = 'boss')),
          'the admin''s password is unchanged');
SELECT is((SELECT count(*)::int FROM smarthub.users WHERE username = 'mole'), 0, 'no account was created');
SELECT smarthub.clear_current_user();

-- the same calls made by the trusted role itself, outside such an operation, still work
SET LOCAL ROLE sh_service;
SELECT is((SELECT count(*)::int FROM smarthub.create_api_key('00000000-0000-4000-b000-0000000000ad')), 1,
          'a trusted role''s own call mints a key');
SELECT isnt(smarthub.create_session('00000000-0000-4000-b000-0000000000ad'), NULL,
            'a trusted role''s own call creates a session');
RESET ROLE;

-- an untrusted role's own call for another user, with no identity: 42501 as before
SET LOCAL ROLE sh_attacker;
SELECT throws_ok($$SELECT smarthub.create_api_key('00000000-0000-4000-b000-0000000000ad')$$, '42501',
                 NULL, 'the attacker''s own call for the admin: 42501');
-- with the admin's key it may act as the admin: that is what the key is for
SELECT is(smarthub.authenticate_key((SELECT key FROM boss_key)), '00000000-0000-4000-b000-0000000000ad'::uuid,
          'with the admin''s key the attacker is the admin');
SELECT is((SELECT count(*)::int FROM smarthub.create_api_key('00000000-0000-4000-b000-0000000000ad')), 1,
          '... and may then mint for the admin');
SELECT smarthub.clear_current_user();
RESET ROLE;

-- the refusal names what was refused and why
SET LOCAL ROLE sh_attacker;
CREATE FUNCTION public.sh_msg(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM smarthub.create_session('00000000-0000-4000-b000-0000000000ad');
    RETURN x;
END $$;
CREATE TABLE public.sh_msg_t (x int);
INSERT INTO public.sh_msg_t VALUES (1);
RESET ROLE;
SELECT throws_ok($$CREATE INDEX ON public.sh_msg_t (public.sh_msg(x))$$, '42501',
                 'create_session cannot be called while PostgreSQL runs code on another role''s behalf',
                 'the error says which call and why');

-- the identity functions themselves refuse inside such operations
SET LOCAL ROLE sh_attacker;
CREATE FUNCTION public.sh_ident(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.sh_try('identity calls', 'set_request_context', 'SELECT smarthub.set_request_context(''10.6.6.6'', ''forged'')::text');
    PERFORM public.sh_try('identity calls', 'clear_current_user', 'SELECT smarthub.clear_current_user()::text');
    PERFORM public.sh_try('identity calls', 'authenticate_session', 'SELECT smarthub.authenticate_session(''x'')::text');
    PERFORM public.sh_try('identity calls', 'authenticate_jwt', 'SELECT smarthub.authenticate_jwt(''x'')::text');
    PERFORM public.sh_try('identity calls', 'issue_jwt', 'SELECT smarthub.issue_jwt(''x'')');
    RETURN x;
END $$;
CREATE TABLE public.sh_ident_t (x int);
INSERT INTO public.sh_ident_t VALUES (1);
RESET ROLE;
DELETE FROM public.sh_loot;
SELECT smarthub.set_current_user('00000000-0000-4000-b000-0000000000ad');
CREATE INDEX ON public.sh_ident_t (public.sh_ident(x));
SELECT results_eq($$SELECT attempt, outcome FROM public.sh_loot ORDER BY attempt$$,
    $$VALUES ('authenticate_jwt', '42501'), ('authenticate_session', '42501'), ('clear_current_user', '42501'),
             ('issue_jwt', '42501'), ('set_request_context', '42501')$$,
    'set_request_context, clear_current_user, authenticate_* and issue_jwt refuse too');
SELECT is(smarthub.current_user_id(), '00000000-0000-4000-b000-0000000000ad'::uuid,
          'the DBA''s identity is as it was');
SELECT smarthub.clear_current_user();

-- audit rows written by the attacker's code inside ANALYZE name the attacker's role, not the DBA
SET LOCAL ROLE sh_attacker;
CREATE TABLE public.sh_audited (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), note text);
RESET ROLE;
SELECT smarthub.enable_audit('public.sh_audited');
SET LOCAL ROLE sh_attacker;
CREATE FUNCTION public.sh_write_note() RETURNS void LANGUAGE sql AS $$
    INSERT INTO public.sh_audited (note) VALUES ('written during someone else''s operation')
$$;
CREATE FUNCTION public.sh_writer(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.sh_write_note();
    RETURN x;
END $$;
CREATE TABLE public.sh_writer_t (x int);
INSERT INTO public.sh_writer_t VALUES (1);
RESET ROLE;
CREATE INDEX ON public.sh_writer_t (public.sh_writer(x));
SELECT results_eq($$SELECT db_role, user_id, actor_id FROM smarthub.audit_logs WHERE entity_type = 'sh_audited'$$,
    $$VALUES ('sh_attacker'::text, NULL::uuid, NULL::uuid)$$,
    'its audit row names the role whose code ran (and no identity)');

SELECT * FROM finish();
ROLLBACK;
