\set n random(1, 50)
SELECT smarthub.revoke_session(smarthub.create_session(id)) FROM public.load_users WHERE n = :n;
