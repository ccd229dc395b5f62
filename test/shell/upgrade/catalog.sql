-- Describes, one line per fact and in a stable order, everything extension smarthub consists of:
-- what an upgraded database must share with a fresh install. No OIDs; roles by name.
-- Used by test/shell/080_upgrade.sh, which diffs its output between two databases.
WITH ext AS (
    SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'smarthub'
), member AS (   -- every object the extension owns, wherever it lives
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
    SELECT c.oid::regclass::text AS name, c.* FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'smarthub'::regnamespace
), facts (kind, name, fact) AS (
    SELECT 'extension', e.extname, pg_catalog.concat_ws(' ', e.extversion, e.extrelocatable,
           e.extnamespace::regnamespace, e.extowner::regrole)
      FROM pg_catalog.pg_extension e WHERE e.extname = 'smarthub'
    UNION ALL   -- pg_extension_config_dump registrations, with their filters
    SELECT 'config_dump', c::regclass::text, coalesce(e.extcondition[i], '')
      FROM pg_catalog.pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS u (c, i)
     WHERE e.extname = 'smarthub'
    UNION ALL
    SELECT 'member', pg_catalog.pg_describe_object(classid, objid, objsubid), '' FROM member
    UNION ALL
    SELECT 'schema', n.nspname, pg_catalog.concat_ws(' ', n.nspowner::regrole, n.nspacl::text,
           pg_catalog.obj_description(n.oid, 'pg_namespace'))
      FROM pg_catalog.pg_namespace n WHERE n.nspname = 'smarthub'
    UNION ALL   -- the whole definition: volatility, strictness, parallel, security, SET, cost, body
    SELECT 'function', p.oid::regprocedure::text,
           pg_catalog.concat_ws(E'\n', CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid) END,
                                'acl ' || coalesce(p.proacl::text, 'default'),
                                'comment ' || pg_catalog.obj_description(p.oid, 'pg_proc'))
      FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'smarthub'::regnamespace
    UNION ALL
    SELECT 'relation', r.name, pg_catalog.concat_ws(' ', r.relkind::text, r.relpersistence::text, r.relowner::regrole,
           'rls=' || r.relrowsecurity, 'force=' || r.relforcerowsecurity, r.reloptions::text,
           'acl=' || coalesce(r.relacl::text, 'default'), 'replident=' || r.relreplident::text,
           'comment=' || pg_catalog.obj_description(r.oid, 'pg_class'))
      FROM rel r
    UNION ALL   -- columns in their order (dropped columns leave no gap in the numbering)
    SELECT 'column', r.name || ' #' || pg_catalog.row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
           pg_catalog.concat_ws(' ', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
           CASE WHEN a.attnotnull THEN 'not null' END, 'default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
           nullif(a.attidentity::text, ''), nullif(a.attgenerated::text, ''), 'collation ' || nullif(a.attcollation, 0)::regcollation,
           'storage ' || a.attstorage::text, 'acl=' || a.attacl::text,
           'comment=' || pg_catalog.col_description(r.oid, a.attnum))
      FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'constraint', r.name || ' ' || c.conname, pg_catalog.concat_ws(' ', pg_catalog.pg_get_constraintdef(c.oid),
           'deferrable=' || c.condeferrable, 'deferred=' || c.condeferred, 'valid=' || c.convalidated,
           'comment=' || pg_catalog.obj_description(c.oid, 'pg_constraint'))
      FROM rel r JOIN pg_catalog.pg_constraint c ON c.conrelid = r.oid
    UNION ALL
    SELECT 'index', i.indexrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT 'view', r.name, pg_catalog.pg_get_viewdef(r.oid) FROM rel r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'sequence', s.seqrelid::regclass::text, pg_catalog.concat_ws(' ', s.seqtypid::regtype, s.seqstart,
           s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
      FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT 'policy', r.name || ' ' || p.polname, pg_catalog.concat_ws(' ', p.polcmd::text, p.polpermissive,
           (SELECT pg_catalog.array_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END ORDER BY 1)
              FROM unnest(p.polroles) x),
           'using ' || pg_catalog.pg_get_expr(p.polqual, p.polrelid),
           'check ' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
    UNION ALL   -- triggers on the extension's tables, with their enabled state
    SELECT 'trigger', r.name || ' ' || t.tgname, pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
      FROM rel r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'event trigger', e.evtname, pg_catalog.concat_ws(' ', e.evtevent, e.evtfoid::regprocedure,
           e.evtenabled::text, e.evttags::text, e.evtowner::regrole,
           'comment=' || pg_catalog.obj_description(e.oid, 'pg_event_trigger'))
      FROM pg_catalog.pg_event_trigger e JOIN member m
        ON m.classid = 'pg_catalog.pg_event_trigger'::regclass AND m.objid = e.oid
    UNION ALL
    SELECT 'type', t.oid::regtype::text, pg_catalog.concat_ws(' ', t.typtype::text, t.typacl::text,
           (SELECT pg_catalog.string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_catalog.pg_enum WHERE enumtypid = t.oid),
           'comment=' || pg_catalog.obj_description(t.oid, 'pg_type'))
      FROM pg_catalog.pg_type t
     WHERE t.typnamespace = 'smarthub'::regnamespace AND t.typrelid = 0 AND t.typelem = 0
    UNION ALL
    SELECT 'default acl', pg_catalog.concat_ws(' ', d.defaclrole::regrole, d.defaclobjtype::text), d.defaclacl::text
      FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = 'smarthub'::regnamespace
)
SELECT kind || ' | ' || name || ' | ' || fact FROM facts ORDER BY kind, name, fact;
