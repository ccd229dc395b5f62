-- pgcrypto decrypt_iv(aes-cbc) over 50,000 ciphertexts of 1 KB
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(decrypt_iv(c, decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 16), 'hex'), 'aes-cbc'))) FROM bench_enc_cbc;
