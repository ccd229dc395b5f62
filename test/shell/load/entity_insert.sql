\set n random(1, 50)
BEGIN;
SELECT smarthub.set_current_user(id) FROM public.load_users WHERE n = :n;
WITH i AS (INSERT INTO smarthub.entities (entity_type, owner_id, name)
           SELECT 'doc', id, 'new' FROM public.load_users WHERE n = :n RETURNING id)
INSERT INTO public.load_ledger SELECT 'CREATE', id FROM i;
COMMIT;
