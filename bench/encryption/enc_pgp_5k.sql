-- pgcrypto pgp_sym_encrypt_bytea over the same 5,000 values
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(pgp_sym_encrypt_bytea(v, 'bench-password'))) FROM bench_enc_small;
