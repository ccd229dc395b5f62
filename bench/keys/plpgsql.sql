\set n random(1, 100000)
SELECT public.bench_plpgsql_verify_key(b.key) FROM bench_keys b WHERE b.n = :n;
