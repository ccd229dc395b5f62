\timing on
SELECT smarthub.login('bench_nobody', 'guess');
