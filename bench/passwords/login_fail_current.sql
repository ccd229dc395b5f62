\timing on
SELECT smarthub.login('bench_current', 'guess');
