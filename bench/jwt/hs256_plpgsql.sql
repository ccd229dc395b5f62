-- The same 20,000 tokens through plpgsql_verifier.sql; one warm-up call first (the function is
-- compiled once per backend), untimed.
\timing off
SELECT public.bench_jwt_verify_hs256(t.token, s.secret, s.issuer, 'bench-api') IS NOT NULL
  FROM bench_jwt_hs t, bench_jwt_hs_secret s WHERE t.n = 1;
\timing on
SELECT count(public.bench_jwt_verify_hs256(t.token, s.secret, s.issuer, 'bench-api'))
  FROM bench_jwt_hs t CROSS JOIN bench_jwt_hs_secret s;
