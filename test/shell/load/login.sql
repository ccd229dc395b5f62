\set n random(1, 50)
SELECT smarthub.login('load' || :n, 'load-password-' || :n, '127.0.0.1', 'pgbench');
