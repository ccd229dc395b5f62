-- smarthub.encrypt over the 5,000 1 KB values (raced against pgp_sym_encrypt_bytea)
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(smarthub.encrypt(v, 'bench.v'))) FROM bench_enc_small;
