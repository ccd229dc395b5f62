-- 40_audit's single-row UPDATE (bench/audit/update_smarthub.sql, acting as the bench identity),
-- with a value that is new every time: 'F' || :i || '-' || :client_id repeats once a client has
-- updated row :i before, and an UPDATE that changes nothing but updated_at (an ignored column)
-- writes no audit row, so over repeated runs fewer and fewer transactions would have rows to seal.
\if :identity_set = 0
SELECT smarthub.set_current_user(id) FROM bench_audit.identity;
\set identity_set 1
\endif
\set i random(1, 100000)
\set r random(1, 1000000000)
UPDATE bench_audit.users_smarthub SET first_name = 'F' || :i || '-' || :r WHERE id = md5(:i::text)::uuid;
