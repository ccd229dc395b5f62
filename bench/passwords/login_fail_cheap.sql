\timing on
SELECT smarthub.login('bench_cheap', 'guess');
