#!/usr/bin/env bash
# The settings that weaken other users' security (smarthub.identity_scope, which would keep an
# identity for the next client of a pooled connection, and smarthub.bcrypt_cost, which decides the
# hashes stored for other users) cannot be changed by an application role in any way PostgreSQL
# offers: SET before the library is loaded (a placeholder), startup options, ALTER ROLE ... SET.
# SET, SET LOCAL and set_config after loading are in pgTAP 020 and 030.
. "$(dirname "$0")/lib.sh"
db=smarthub_settings app=smarthub_settings_app
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
q postgres "DROP DATABASE IF EXISTS $db"
q postgres "DROP ROLE IF EXISTS $app"
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q postgres "CREATE ROLE $app LOGIN NOINHERIT"
q $db "SELECT smarthub.grant_access('$app')" >/dev/null
as_app() { "$PGBIN/psql" -X -qAt -U $app -d $db "$@" 2>&1; }
settings=(-c "SHOW smarthub.identity_scope" -c "SHOW smarthub.bcrypt_cost")
expected="transaction
12"
warnings='WARNING:  permission denied to set parameter "smarthub.identity_scope"
WARNING:  permission denied to set parameter "smarthub.bcrypt_cost"'

check "SET before the library is loaded: the placeholders are refused when it loads" "$warnings
$expected" "$(as_app -c "SET smarthub.identity_scope = session" -c "SET smarthub.bcrypt_cost = 4" \
    -c "SELECT smarthub.current_user_id() IS NULL AS loaded" "${settings[@]}" | grep -v '^t$')"
check "startup options are refused" "$warnings
$expected" "$(PGOPTIONS="$PGOPTIONS -c smarthub.identity_scope=session -c smarthub.bcrypt_cost=4" \
    as_app -c "SELECT smarthub.current_user_id() IS NULL AS loaded" "${settings[@]}" | grep -v '^t$')"
check "ALTER ROLE ... SET by the role itself is refused" \
    'ERROR:  permission denied to set parameter "smarthub.identity_scope"
ERROR:  permission denied to set parameter "smarthub.bcrypt_cost"' \
    "$(as_app -c "ALTER ROLE $app SET smarthub.identity_scope = session"; as_app -c "ALTER ROLE $app SET smarthub.bcrypt_cost = 4")"
check "nothing was stored for the role" 0 "$(q postgres "SELECT count(*) FROM pg_db_role_setting WHERE setrole = '$app'::regrole")"
check "a superuser can still set them for a role" "session
10" "$(q postgres "ALTER ROLE $app SET smarthub.identity_scope = session" && q postgres "ALTER ROLE $app SET smarthub.bcrypt_cost = 10" \
    && as_app -c "SELECT smarthub.current_user_id() IS NULL" "${settings[@]}" | grep -v '^t$')"

q postgres "DROP DATABASE $db"
q postgres "DROP ROLE $app"
