-- smarthub.decrypt over 50,000 envelopes of 1 KB
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT sum(length(smarthub.decrypt(e, 'bench.v'))) FROM bench_enc_gcm;
