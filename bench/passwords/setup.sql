-- One $2a$ hash at cost 12 that both smarthub and pgcrypto can read (pgcrypto reads only $2a$).
DROP TABLE IF EXISTS bench_pw;
CREATE TABLE bench_pw AS
SELECT 'correct horse battery staple'::text AS pw,
       public.crypt('correct horse battery staple', public.gen_salt('bf', 12)) AS hash;
