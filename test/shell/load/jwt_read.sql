\set n random(1, 50)
BEGIN;
SET LOCAL ROLE smarthub_load_app;
-- a wrong or missing identity fails the transaction (a division by zero the planner cannot fold),
-- and the test with it
SELECT CASE WHEN smarthub.authenticate_jwt(jwt) IS DISTINCT FROM id THEN 1 / (n - n) END FROM public.load_users WHERE n = :n;
SELECT CASE WHEN smarthub.has_role('user') THEN count(*) ELSE 1 / (count(*) - count(*)) END FROM smarthub.entities;
COMMIT;
