\set n random(1, 50)
SELECT smarthub.verify_key(key) FROM public.load_users WHERE n = :n;
