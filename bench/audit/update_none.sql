\set i random(1, 100000)
UPDATE bench_audit.users_none SET first_name = 'F' || :i || '-' || :client_id WHERE id = md5(:i::text)::uuid;
