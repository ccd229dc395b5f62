-- pgcrypto pgp_sym_decrypt_bytea over 5,000 messages of 1 KB
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(pgp_sym_decrypt_bytea(p, 'bench-password'))) FROM bench_enc_small_pgp;
