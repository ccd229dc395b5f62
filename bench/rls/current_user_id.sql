\timing off
SET smarthub.identity_scope = session;
SELECT smarthub.set_current_user('f0000000-0000-4000-8000-000000000002');
\timing on
SELECT count(smarthub.current_user_id()) FROM generate_series(1, 1000000);
