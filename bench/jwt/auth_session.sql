\set n random(1, 1000)
BEGIN;
SELECT smarthub.authenticate_session(c.session) FROM bench_jwt_creds c WHERE c.n = :n;
SELECT smarthub.current_user_id();
COMMIT;
