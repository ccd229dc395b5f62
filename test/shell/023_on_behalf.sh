#!/usr/bin/env bash
# An application role's index expression runs as that role whenever PostgreSQL maintains its
# table for someone else: autovacuum's ANALYZE and VACUUM, and VACUUM FULL by the DBA (which cannot
# run in pgTAP's transaction; the other operations are in test/pgtap/034_on_behalf.sql). In 1.0
# plain autovacuum made such a function mint working admin keys. Here every attempt must fail
# with 42501 and nothing may be minted or changed.
. "$(dirname "$0")/lib.sh"
db=smarthub_on_behalf app=smarthub_on_behalf_app
boss=00000000-0000-4000-b000-0000000000ad
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
cleanup() {
    q postgres "ALTER SYSTEM RESET autovacuum_naptime" >/dev/null
    q postgres "SELECT pg_reload_conf()" >/dev/null
    q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
    q postgres "DROP ROLE IF EXISTS $app" >/dev/null
}
trap cleanup EXIT
cleanup
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q postgres "CREATE ROLE $app LOGIN NOINHERIT"
q $db "SELECT smarthub.grant_access('$app')" >/dev/null
q $db "GRANT CREATE ON SCHEMA public TO $app"
run $db <<SQL
SET smarthub.bcrypt_cost = 4;
INSERT INTO smarthub.users (id, email, username, password_hash)
    VALUES ('$boss', 'boss@example.com', 'boss', smarthub.hash_password('boss-pw'));
INSERT INTO smarthub.user_roles (user_id, role_id) SELECT '$boss', id FROM smarthub.roles WHERE name = 'admin';
SQL
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U $app -d $db <<SQL
-- backend: the application_name, which an autovacuum worker does not have
CREATE TABLE public.loot (backend text, attempt text, outcome text);
CREATE FUNCTION public.try(attempt text, sql text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    got text;
BEGIN
    EXECUTE sql INTO got;
    INSERT INTO public.loot VALUES (pg_catalog.current_setting('application_name'), attempt, coalesce(got, 'ran'));
EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.loot VALUES (pg_catalog.current_setting('application_name'), attempt, SQLSTATE);
END \$\$;
CREATE FUNCTION public.plunder(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$\$
BEGIN
    -- not in the role's own statements: only when PostgreSQL runs this for someone else
    IF x = 1 AND session_user <> '$app' THEN
        PERFORM public.try('create_api_key', 'SELECT key FROM smarthub.create_api_key(''$boss'')');
        PERFORM public.try('create_session', 'SELECT smarthub.create_session(''$boss'')');
        PERFORM public.try('set_password', 'SELECT smarthub.set_password(''$boss'', ''owned'')::text');
        PERFORM public.try('create_user', 'SELECT smarthub.create_user(''mole@example.com'', ''mole'', ''pw'', roles => ''{admin}'')');
    END IF;
    RETURN x;
END \$\$;
CREATE TABLE public.bait (x int) WITH (autovacuum_analyze_threshold = 1, autovacuum_analyze_scale_factor = 0,
                                      autovacuum_vacuum_threshold = 1, autovacuum_vacuum_scale_factor = 0);
CREATE INDEX bait_idx ON public.bait (public.plunder(x));
INSERT INTO public.bait SELECT 1 FROM generate_series(1, 50);
DELETE FROM public.bait WHERE ctid IN (SELECT ctid FROM public.bait LIMIT 25);
SQL
check "the role's own statements plundered nothing" 0 "$(q $db "SELECT count(*) FROM public.loot")"

q postgres "ALTER SYSTEM SET autovacuum_naptime = 1" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 120); do
    [ "$(q $db "SELECT count(*) FROM public.loot WHERE backend = ''")" -ge 4 ] && break
    sleep 0.5
done
check "autovacuum ran the role's index expression" 4 \
    "$(q $db "SELECT count(DISTINCT attempt) FROM public.loot WHERE backend = ''")"
check "... and every attempt in it failed with 42501" "42501" \
    "$(q $db "SELECT string_agg(DISTINCT outcome, ',') FROM public.loot WHERE backend = ''")"

q $db "DELETE FROM public.loot"
q $db "VACUUM FULL public.bait"
check "VACUUM FULL by the DBA: every attempt failed with 42501" "create_api_key:42501,create_session:42501,create_user:42501,set_password:42501" \
    "$(q $db "SELECT string_agg(DISTINCT attempt || ':' || outcome, ',' ORDER BY attempt || ':' || outcome) FROM public.loot")"

check "no API key and no session for the admin" "0 0" \
    "$(q $db "SELECT (SELECT count(*) FROM smarthub.api_keys WHERE user_id = '$boss') || ' ' || (SELECT count(*) FROM smarthub.sessions WHERE user_id = '$boss')")"
check "the admin's password is unchanged" t \
    "$(q $db "SELECT smarthub.verify_password('boss-pw', password_hash) FROM smarthub.users WHERE id = '$boss'")"
check "no account was created" 0 "$(q $db "SELECT count(*) FROM smarthub.users WHERE username = 'mole'")"
