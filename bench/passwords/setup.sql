-- One $2a$ hash at cost 12 that both smarthub and pgcrypto can read (pgcrypto reads only $2a$).
DROP TABLE IF EXISTS bench_pw;
CREATE TABLE bench_pw AS
SELECT 'correct horse battery staple'::text AS pw,
       public.crypt('correct horse battery staple', public.gen_salt('bf', 12)) AS hash;
-- Failed logins (bench/20_passwords.sh): an account at smarthub.bcrypt_cost and one imported from
-- pgcrypto at cost 4.
DELETE FROM smarthub.users WHERE username IN ('bench_current', 'bench_cheap');
INSERT INTO smarthub.users (email, username, password_hash) VALUES
    ('bench_current@example.com', 'bench_current', smarthub.hash_password('correct horse battery staple')),
    ('bench_cheap@example.com', 'bench_cheap', public.crypt('correct horse battery staple', public.gen_salt('bf', 4)));
