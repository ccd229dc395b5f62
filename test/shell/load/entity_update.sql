\set n random(1, 50)
\set v random(1, 1000000000)
BEGIN;
SELECT smarthub.set_current_user(id) FROM public.load_users WHERE n = :n;
WITH e AS (SELECT id FROM smarthub.entities WHERE owner_id = (SELECT id FROM public.load_users WHERE n = :n)
            ORDER BY random() LIMIT 1),
     u AS (UPDATE smarthub.entities x SET data = jsonb_build_object('v', :v) FROM e WHERE x.id = e.id
           AND x.data IS DISTINCT FROM jsonb_build_object('v', :v) RETURNING x.id)
INSERT INTO public.load_ledger SELECT 'UPDATE', id FROM u;
COMMIT;
