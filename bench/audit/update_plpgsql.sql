-- Once per client (smarthub.identity_scope = session, set by 40_audit.sh): act as the bench
-- identity, so that every audit row carries its user_id and pays the foreign-key check.
\if :identity_set = 0
SELECT smarthub.set_current_user(id) FROM bench_audit.identity;
\set identity_set 1
\endif
\set i random(1, 100000)
\set n random(1, 2000000000)
UPDATE bench_audit.users_plpgsql SET first_name = 'F' || :n WHERE id = md5(:i::text)::uuid;
