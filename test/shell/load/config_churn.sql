-- The DBA's changes that drop every backend's cached keys and roles while the others read.
\set s random(0, 60)
UPDATE smarthub.jwt_issuers SET leeway = make_interval(secs => :s) WHERE issuer = 'https://churn.test';
BEGIN;
INSERT INTO smarthub.user_roles (user_id, role_id) SELECT id, '00000000-0000-4000-8000-000000000004' FROM public.churn_user;
DELETE FROM smarthub.user_roles WHERE user_id = (SELECT id FROM public.churn_user) AND role_id = '00000000-0000-4000-8000-000000000004';
COMMIT;
