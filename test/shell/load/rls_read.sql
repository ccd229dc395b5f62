\set n random(1, 50)
BEGIN;
SET LOCAL ROLE smarthub_load_app;
SELECT smarthub.authenticate_key(key) FROM public.load_users WHERE n = :n;
SELECT count(*) FROM smarthub.entities;
COMMIT;
