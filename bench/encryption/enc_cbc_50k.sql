-- pgcrypto encrypt_iv(aes-cbc, 256-bit key) over the same 50,000 values
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(encrypt_iv(v, decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 16), 'hex'), 'aes-cbc'))) FROM bench_enc_plain;
