\timing off
SET bench.user_id = 'f0000000-0000-4000-8000-000000000002';
\timing on
SELECT count(current_setting('bench.user_id')) FROM generate_series(1, 1000000);
