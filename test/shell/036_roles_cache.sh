#!/usr/bin/env bash
# has_role's cache lasts across statements and transactions (a request costs no roles query when
# the same user made the previous one on the connection), and a committed change to the roles made
# by another backend is seen at the next statement: in a new transaction, and inside a READ
# COMMITTED transaction already running. Revocation is what matters: a revoked admin must lose
# admin at once. The DBA's changes are made while the application's session sleeps between
# statements, with a second of margin either side.
. "$(dirname "$0")/lib.sh"
db=smarthub_roles_cache app=smarthub_roles_cache_app
uid=00000000-0000-4000-b000-00000000c0de
admin_role=00000000-0000-4000-8000-000000000001
cleanup() {
    q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
    q postgres "DROP ROLE IF EXISTS $app" >/dev/null
}
trap cleanup EXIT
cleanup
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q postgres "CREATE ROLE $app LOGIN"
q $db "SELECT smarthub.grant_access('$app')" >/dev/null
q $db "INSERT INTO smarthub.users (id, email, username, password_hash) VALUES ('$uid', 'cache@example.com', 'cache', 'h')" >/dev/null
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid')")

# The application: one has_role('admin') per step, steps 1.5 s apart.
"$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -U $app -d $db > "$SMARTHUB_CLUSTER/roles_cache.out" 2>&1 <<SQL &
SELECT 'before', smarthub.authenticate_key('$key') IS NOT NULL, smarthub.has_role('admin');
SELECT pg_sleep(1.5) \g /dev/null
SELECT 'granted, next request', smarthub.authenticate_key('$key') IS NOT NULL, smarthub.has_role('admin');
BEGIN;
SELECT 'in a transaction', smarthub.authenticate_key('$key') IS NOT NULL, smarthub.has_role('admin');
SELECT pg_sleep(1.5) \g /dev/null
SELECT 'revoked, next statement', smarthub.has_role('admin'), (SELECT count(*) FROM smarthub.users WHERE id <> '$uid');
COMMIT;
SELECT 'revoked, next request', smarthub.authenticate_key('$key') IS NOT NULL, smarthub.has_role('admin');
SQL
client=$!
sleep 0.75
q $db "INSERT INTO smarthub.user_roles (user_id, role_id) VALUES ('$uid', '$admin_role')" >/dev/null
sleep 1.5
q $db "DELETE FROM smarthub.user_roles WHERE user_id = '$uid'" >/dev/null
wait $client || { cat "$SMARTHUB_CLUSTER/roles_cache.out"; echo "  not ok - the application's session failed"; exit 1; }
check "a grant committed by another backend is seen by the next request, a revoke by the next statement" \
"before|t|f
granted, next request|t|t
in a transaction|t|t
revoked, next statement|f|0
revoked, next request|t|f" "$(cat "$SMARTHUB_CLUSTER/roles_cache.out")"
