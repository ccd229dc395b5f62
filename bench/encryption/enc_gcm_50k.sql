-- smarthub.encrypt over 50,000 1 KB values (raced against encrypt_iv aes-cbc)
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(smarthub.encrypt(v, 'bench.v'))) FROM bench_enc_plain;
