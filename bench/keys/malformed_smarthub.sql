\set n random(1, 100000)
SELECT smarthub.verify_key('shk_' || lpad(:n::text, 38, 'A'));
