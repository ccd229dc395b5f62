-- The audit rows of a statement are queued and written together when it ends (src/audit_writer.c).
-- What that must not change: every surviving change has its row, in the order of the changes,
-- visible to the next statement, however the statement ended (COPY included), and rows queued by a
-- statement that a subtransaction inside its own triggers rolled back are gone with it while the
-- outer statement's rows stay.
BEGIN;
SELECT plan(13);

CREATE TABLE public.bat (id uuid PRIMARY KEY, v int NOT NULL);
CREATE TABLE public.bat_side (id uuid PRIMARY KEY, v int NOT NULL);
SELECT smarthub.enable_audit('public.bat');
SELECT smarthub.enable_audit('public.bat_side');
CREATE FUNCTION pg_temp.n(i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.logged(entity text, action text) RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = $1 AND action = $2
$$;

-- several chunks of one statement: every row, in the order the rows were written
INSERT INTO public.bat SELECT pg_temp.n(i), i FROM generate_series(1, 2500) i ORDER BY i;
SELECT is(pg_temp.logged('bat', 'CREATE'), 2500, 'a 2,500-row INSERT writes 2,500 CREATE rows');
SELECT is((SELECT array_agg((changes -> 'after' ->> 'v')::int ORDER BY id) FROM smarthub.audit_logs
            WHERE entity_type = 'bat' AND action = 'CREATE'),
          (SELECT array_agg(i) FROM generate_series(1, 2500) i),
          '... whose ids follow the order of the inserts, across chunks');
SELECT is((SELECT count(DISTINCT txid)::int FROM smarthub.audit_logs WHERE entity_type = 'bat'), 1,
          '... all in this transaction');

-- an UPDATE of every row, then one more statement: each sees the rows of the one before
UPDATE public.bat SET v = v + 10000;
SELECT is(pg_temp.logged('bat', 'UPDATE'), 2500, 'a 2,500-row UPDATE: visible to the next statement');
SELECT is((SELECT changes FROM smarthub.entity_history('bat', pg_temp.n(7), 1)),
          '{"before": {"v": 7}, "after": {"v": 10007}}'::jsonb, '... and entity_history shows it latest');

-- COPY fires the row triggers itself (no executor end): the rows are there when it returns
COPY public.bat FROM PROGRAM 'seq 3001 3100 | sed "s/.*/00000000-0000-4000-8000-00000000&,&/"' WITH (FORMAT csv);
SELECT is(pg_temp.logged('bat', 'CREATE'), 2600, 'COPY FROM: its 100 CREATE rows follow at once');

-- a later AFTER trigger of the same statement fails after the audit rows were queued
CREATE FUNCTION public.bat_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.v = -10007 THEN RAISE EXCEPTION 'no sevens'; END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_bat_fail AFTER UPDATE ON public.bat FOR EACH ROW EXECUTE FUNCTION public.bat_fail();
DO $$
BEGIN
    UPDATE public.bat SET v = -v WHERE v BETWEEN 10001 AND 10010;
EXCEPTION WHEN raise_exception THEN
    NULL;
END $$;
SELECT is(pg_temp.logged('bat', 'UPDATE'), 2500, 'a trigger failing after the rows were queued: none of them written');
DROP TRIGGER zz_bat_fail ON public.bat;

-- a trigger of the audited statement changes another audited table inside its own subtransaction:
-- the inner rows wait for the outer statement (written inside the subtransaction, an outer row
-- would be undone if it rolled back), so the log keeps the order of the changes
CREATE FUNCTION public.bat_echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO public.bat_side VALUES (NEW.id, NEW.v);
        IF NEW.v = 2 THEN RAISE EXCEPTION 'not this one'; END IF;
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_bat_echo AFTER INSERT ON public.bat FOR EACH ROW EXECUTE FUNCTION public.bat_echo();
INSERT INTO public.bat SELECT pg_temp.n(i), i - 5000 FROM generate_series(5001, 5003) i ORDER BY i;
SELECT is((SELECT count(*)::int FROM public.bat_side), 2, 'the inner insert of the second row was rolled back');
SELECT results_eq(
    $$SELECT entity_type::text, (changes -> 'after' ->> 'v')::int FROM smarthub.audit_logs
       WHERE entity_type IN ('bat', 'bat_side') AND (changes -> 'after' ->> 'v')::int BETWEEN 1 AND 3
         AND action = 'CREATE' AND entity_id >= pg_temp.n(5001) ORDER BY id$$,
    $$VALUES ('bat', 1), ('bat_side', 1), ('bat', 2), ('bat', 3), ('bat_side', 3)$$,
    'outer and inner rows in the order of the changes; the rolled-back inner change has none');
SELECT is((SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'bat_side'), 2,
          'bat_side: exactly the two surviving changes');
DROP TRIGGER zz_bat_echo ON public.bat;

-- each row carries the identity in force when its trigger fired, also when that changes in the
-- middle of a statement (a trigger that sorts before smarthub_audit sets it at the second row)
SELECT smarthub.create_user('batch@example.com', 'batch', 'pw-batch-1') AS uid \gset
SELECT set_config('bat.uid', :'uid', true);
CREATE FUNCTION public.bat_who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.v = 70002 THEN PERFORM smarthub.set_current_user(current_setting('bat.uid')::uuid); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER aa_bat_who AFTER INSERT ON public.bat FOR EACH ROW EXECUTE FUNCTION public.bat_who();
SELECT smarthub.clear_current_user();
INSERT INTO public.bat SELECT pg_temp.n(i), i FROM generate_series(70001, 70003) i ORDER BY i;
SELECT results_eq($$SELECT (changes -> 'after' ->> 'v')::int, actor_id FROM smarthub.audit_logs
                     WHERE entity_type = 'bat' AND entity_id IN (pg_temp.n(70001), pg_temp.n(70002), pg_temp.n(70003))
                     ORDER BY id$$,
                  format($$VALUES (70001, NULL::uuid), (70002, %L::uuid), (70003, %L::uuid)$$, :'uid', :'uid'),
                  'the rows after the identity was set carry it, the one before does not');
DROP TRIGGER aa_bat_who ON public.bat;
SELECT smarthub.clear_current_user();

-- a statement whose changes cascade to another audited table writes the rows of both
CREATE TABLE public.bat_child (id uuid PRIMARY KEY, bat uuid NOT NULL REFERENCES public.bat ON DELETE CASCADE);
SELECT smarthub.enable_audit('public.bat_child');
INSERT INTO public.bat_child SELECT pg_temp.n(i + 9000), pg_temp.n(i) FROM generate_series(1, 50) i;
DELETE FROM public.bat WHERE v BETWEEN 10001 AND 10050;
SELECT is(pg_temp.logged('bat', 'DELETE'), 50, 'a DELETE of 50 rows: 50 DELETE rows');
SELECT is(pg_temp.logged('bat_child', 'DELETE'), 50, '... and its cascade: 50 more');

SELECT * FROM finish();
ROLLBACK;
