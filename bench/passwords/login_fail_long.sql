\timing on
SELECT smarthub.login('bench_current', repeat('x', 100));
