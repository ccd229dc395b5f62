\set n random(1, 1000)
BEGIN;
SELECT smarthub.authenticate_jwt(c.jwt) FROM bench_jwt_creds c WHERE c.n = :n;
SELECT smarthub.current_user_id();
COMMIT;
