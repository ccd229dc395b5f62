\set n random(1, 100000)
SELECT 1;
