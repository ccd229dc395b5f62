\set n random(1, 100000)
SELECT smarthub.verify_key(b.key) FROM bench_keys b WHERE b.n = :n;
