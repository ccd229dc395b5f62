-- 20,000 distinct HS256 tokens, every claim checked; one warm-up call first (keyring and issuers
-- are read once per backend), untimed.
\timing off
SELECT smarthub.verify_jwt(token, 'bench-api') IS NOT NULL FROM bench_jwt_hs WHERE n = 1;
\timing on
SELECT count(smarthub.verify_jwt(token, 'bench-api')) FROM bench_jwt_hs;
