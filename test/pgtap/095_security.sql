-- Security self-checks over the whole schema, from the catalogs.
BEGIN;
SELECT plan(5);

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace AND p.prosecdef
       AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
    'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'smarthub'::regnamespace
       AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0)$$,
    'no function is executable by PUBLIC');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'smarthub'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'm')
       AND EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE a.grantee = 0)$$,
    'no table, view or sequence grants anything to PUBLIC');

SELECT is_empty($$
    SELECT a.attrelid::regclass::text || '.' || a.attname FROM pg_attribute a
     WHERE a.attrelid IN ('smarthub.users'::regclass, 'smarthub.api_keys'::regclass, 'smarthub.sessions'::regclass)
       AND EXISTS (SELECT 1 FROM aclexplode(a.attacl) x WHERE x.grantee = 0)$$,
    'no column privilege for PUBLIC');

SELECT ok(NOT has_schema_privilege('public', 'smarthub', 'CREATE'), 'PUBLIC cannot create objects in schema smarthub');

SELECT * FROM finish();
ROLLBACK;
