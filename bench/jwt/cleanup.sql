-- Removes what setup.sql and plpgsql_verifier.sql made (psql variables hs_issuer, asym_issuer). The
-- audit rows the bench's writes left stay, as the log is append-only (their user_id becomes NULL).
SET client_min_messages = warning;
DELETE FROM smarthub.entities WHERE entity_type = 'bench_jwt';
-- cascades to user_roles, api_keys, sessions and user_identities
DELETE FROM smarthub.users WHERE username LIKE 'bench\_jwt\_%';
DELETE FROM smarthub.jwt_issuers WHERE issuer IN (:'hs_issuer', :'asym_issuer');
DROP TABLE bench_jwt_creds, bench_jwt_hs, bench_jwt_hs_secret, bench_jwt_bad, bench_jwt_asym;
DROP FUNCTION public.bench_jwt_verify_hs256(text, bytea, text, text, numeric);
DROP FUNCTION public.bench_jwt_b64url_decode(text);
SELECT smarthub.revoke_access('bench_jwt_app');
SELECT smarthub.revoke_access('bench_jwt_bypass');
DROP ROLE bench_jwt_app;
DROP ROLE bench_jwt_bypass;
