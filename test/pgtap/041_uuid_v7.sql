-- Time-ordered ids: smarthub.uuid_v7() (RFC 9562 version 7, increasing within a backend) and
-- smarthub.uuid_v7_time(); audit rows get them, and entity_history returns write order.
BEGIN;
SELECT plan(14);

CREATE TEMP TABLE ids AS SELECT n, smarthub.uuid_v7() AS id FROM generate_series(1, 20000) n;
SELECT is((SELECT count(DISTINCT id)::int FROM ids), 20000, '20,000 ids, all distinct');
SELECT is((SELECT count(*)::int FROM ids WHERE substr(id::text, 15, 1) = '7' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')), 20000,
          'every one has version 7 and the RFC variant');
SELECT is((SELECT count(*)::int FROM (SELECT id < lead(id) OVER (ORDER BY n) AS up FROM ids) s WHERE NOT up), 0,
          'each is greater than the one made before it (more than 4,096 in a millisecond included)');
SELECT cmp_ok((SELECT max(abs(extract(epoch FROM smarthub.uuid_v7_time(id) - clock_timestamp()))) FROM ids), '<', 5::numeric,
              'uuid_v7_time gives the time it was made');
SELECT is(smarthub.uuid_v7_time('017f22e2-79b0-7cc3-98c4-dc0c0c07398f'), '2022-02-22 19:22:22+00'::timestamptz,
          'uuid_v7_time of RFC 9562''s example');
SELECT is(smarthub.uuid_v7_time(gen_random_uuid()), NULL, 'uuid_v7_time of a version-4 uuid: NULL');
SELECT is(smarthub.uuid_v7_time('00000000-0000-7000-0000-000000000000'), NULL, 'a wrong variant: NULL');
SELECT is(smarthub.uuid_v7_time(NULL), NULL, 'NULL: NULL');
SELECT is((SELECT count(*)::int FROM ids WHERE substr(id::text, 25) = substr((SELECT id FROM ids WHERE n = 1)::text, 25)), 1,
          'the random tail differs from id to id');

-- audit rows get them, and entity_history returns the latest change first
CREATE TABLE public.v7_t (id uuid PRIMARY KEY, v int);
SELECT smarthub.enable_audit('public.v7_t');
DO $$
BEGIN
    FOR i IN 1..40 LOOP
        INSERT INTO public.v7_t VALUES (('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 0);
        UPDATE public.v7_t SET v = 1 WHERE v = 0;
    END LOOP;
END $$;
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'v7_t' AND smarthub.uuid_v7_time(id) IS NOT NULL), 80,
          'audit rows have version-7 ids');
SELECT is((SELECT count(*)::int FROM public.v7_t t, smarthub.entity_history('v7_t', t.id, 1) h WHERE h.action = 'UPDATE'), 40,
          'entity_history(max_rows => 1) returns the UPDATE, not the CREATE of the same transaction, 40 times of 40');
SELECT results_eq($$SELECT action::text FROM smarthub.entity_history('v7_t', '00000000-0000-4000-8000-000000000007')$$,
                  $$VALUES ('UPDATE'), ('CREATE')$$, 'newest first');

-- one request's changes are index-served, by a BRIN index on txid
SELECT is((SELECT am.amname::text FROM pg_class c JOIN pg_am am ON am.oid = c.relam
            WHERE c.oid = 'smarthub.audit_logs_default_txid_idx'::regclass), 'brin', 'idx_audit_logs_txid is a BRIN index');
SET LOCAL enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || q LOOP
        plan := plan || line || ' ';
    END LOOP;
    RETURN plan;
END $$;
SELECT matches(pg_temp.plan_of('SELECT * FROM smarthub.audit_logs WHERE txid = 42'),
               'audit_logs_default_txid_idx', 'WHERE txid = ... uses it (in each partition)');
RESET enable_seqscan;

SELECT * FROM finish();
ROLLBACK;
