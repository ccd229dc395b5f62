BEGIN;
SET LOCAL ROLE bench_rls_app;
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000002');
SELECT count(*) FROM smarthub.entities;
COMMIT;
