-- The audit rows of a transaction are exactly those of the changes that survive it: a rolled-back
-- subtransaction, an error caught by PL/pgSQL, a deferred constraint that fails, a statement that
-- fails halfway and a trigger that re-enters the table each leave the log equal to what changed.
-- (A deferred constraint failing at COMMIT itself aborts the whole transaction: 072_crash and the
-- load test cover whole-transaction outcomes; here SET CONSTRAINTS ALL IMMEDIATE fails it inside a
-- savepoint, which checks it the same way.)
BEGIN;
SELECT plan(9);

CREATE TABLE public.surv (id uuid PRIMARY KEY, v int NOT NULL CHECK (v < 100));
SELECT smarthub.enable_audit('public.surv');
INSERT INTO public.surv SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, i FROM generate_series(1, 10) i;
CREATE FUNCTION pg_temp.audited(action text) RETURNS int LANGUAGE sql AS $$
    SELECT count(*)::int FROM smarthub.audit_logs WHERE entity_type = 'surv' AND action = $1
$$;
SELECT is(pg_temp.audited('CREATE'), 10, '10 inserts, 10 CREATE rows');

-- a rolled-back subtransaction
SAVEPOINT s;
UPDATE public.surv SET v = v + 1;
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.audited('UPDATE'), 0, 'an UPDATE rolled back to a savepoint leaves no audit row');

-- an error caught by PL/pgSQL
DO $$
BEGIN
    UPDATE public.surv SET v = v + 1;
    RAISE EXCEPTION 'changed my mind';
EXCEPTION WHEN OTHERS THEN
    NULL;
END $$;
SELECT is(pg_temp.audited('UPDATE'), 0, 'an UPDATE undone by a caught error leaves no audit row');

-- a statement that fails halfway (row 10 breaks the CHECK after rows 1 to 9 were updated)
SAVEPOINT s;
SELECT throws_ok($$UPDATE public.surv SET v = v * 10$$, '23514', NULL, 'an UPDATE fails on its last row');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.audited('UPDATE'), 0, '... and leaves no audit row for the rows it had updated');

-- a deferred constraint that fails
CREATE TABLE public.surv_ref (id int PRIMARY KEY, surv uuid REFERENCES public.surv DEFERRABLE INITIALLY DEFERRED);
SAVEPOINT s;
INSERT INTO public.surv_ref VALUES (1, '00000000-0000-4000-8000-000000000001');
DELETE FROM public.surv WHERE v = 1;
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '23503', NULL, 'a deferred foreign key fails');
ROLLBACK TO SAVEPOINT s;
SELECT is(pg_temp.audited('DELETE'), 0, '... and the DELETE it undid left no audit row');

-- a trigger that re-enters the table: every change it makes is audited once, no more
CREATE FUNCTION public.surv_echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.v = 5 THEN
        UPDATE public.surv SET v = 50 WHERE v = 6;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER surv_echo AFTER UPDATE ON public.surv FOR EACH ROW EXECUTE FUNCTION public.surv_echo();
UPDATE public.surv SET v = 5 WHERE v = 4;
SELECT results_eq($$SELECT changes -> 'before' ->> 'v', changes -> 'after' ->> 'v' FROM smarthub.audit_logs
                     WHERE entity_type = 'surv' AND action = 'UPDATE' ORDER BY id$$,
                  $$VALUES ('4', '5'), ('6', '50')$$, 'a re-entering trigger: both changes audited once, in write order');

-- and what survives is all there: the log replays to the table
SELECT results_eq($$SELECT id, v FROM public.surv ORDER BY id$$,
    $$SELECT entity_id, (SELECT (changes -> 'after' ->> 'v')::int FROM smarthub.audit_logs l
                          WHERE l.entity_type = 'surv' AND l.entity_id = e.entity_id ORDER BY id DESC LIMIT 1)
        FROM (SELECT DISTINCT entity_id FROM smarthub.audit_logs WHERE entity_type = 'surv') e ORDER BY 1$$,
    'the latest audit row of each row is the row as it is');

SELECT * FROM finish();
ROLLBACK;
