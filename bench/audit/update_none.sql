\set i random(1, 100000)
\set n random(1, 2000000000)
UPDATE bench_audit.users_none SET first_name = 'F' || :n WHERE id = md5(:i::text)::uuid;
