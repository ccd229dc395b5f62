\timing on
SELECT length(public.crypt('correct horse battery staple', public.gen_salt('bf', 12)));
