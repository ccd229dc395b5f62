#!/usr/bin/env bash
# A streaming hot standby (pg_basebackup -R) serves verification, identity and RLS-filtered reads,
# never tries to write (last_used_at untouched, no error), and sees what the primary writes later
# (audit rows, revocations).
. "$(dirname "$0")/lib.sh"
db=smarthub_replica
standby=$SMARTHUB_CLUSTER/standby
sport=$(free_port $((PGPORT + 100)))
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$standby" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$standby"
    q postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    q postgres "DROP ROLE IF EXISTS smarthub_replica_app" >/dev/null 2>&1 || true
}
trap cleanup EXIT

q postgres "DROP DATABASE IF EXISTS $db"; q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q postgres "DROP ROLE IF EXISTS smarthub_replica_app"
q postgres "CREATE ROLE smarthub_replica_app LOGIN"
q $db "SELECT smarthub.grant_access('smarthub_replica_app')"
uid=$(q $db "SELECT smarthub.create_user('replica@example.com', 'replica', 'replica-password-1', roles => ARRAY['user'])")
other=$(q $db "SELECT smarthub.create_user('other@example.com', 'other', 'other-password-1')")
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid', 'replica test')")
token=$(q $db "SELECT smarthub.create_session('$uid')")
q $db "INSERT INTO smarthub.entities (entity_type, owner_id, name) VALUES ('doc', '$uid', 'mine'), ('doc', '$other', 'theirs')"

as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres -D "$standby" -R -X stream -c fast
printf "port = %s\nunix_socket_directories = '%s'\nhot_standby = on\n" "$sport" "$SMARTHUB_CLUSTER" >> "$standby/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$standby" -l "$SMARTHUB_CLUSTER/standby.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$SMARTHUB_CLUSTER/standby.log"; echo "  not ok - the standby did not start (port $sport)"; exit 1; }
sq() { PGPORT=$sport q "$@"; }

wait_replay() {
    local lsn i
    lsn=$(q postgres "SELECT pg_current_wal_lsn()")
    for i in $(seq 100); do
        [ "$(sq postgres "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
        sleep 0.1
    done
    echo "  not ok - standby did not catch up"; exit 1
}
wait_replay

check "standby is in recovery" t "$(sq $db "SELECT pg_is_in_recovery()")"
check "verify_key on the standby" "$uid" "$(sq $db "SELECT smarthub.verify_key('$key')")"
check "verify_session on the standby" "$uid" "$(sq $db "SELECT smarthub.verify_session('$token')")"
check "last_used_at untouched on the standby" "" "$(sq $db "SELECT last_used_at FROM smarthub.api_keys WHERE user_id = '$uid'")"
check "authenticate_key, has_role and an RLS-filtered read as the application role" "$uid|true|false|mine" \
    "$(PGPORT=$sport "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db <<SQL
BEGIN;
SET LOCAL ROLE smarthub_replica_app;
SELECT smarthub.authenticate_key('$key') || '|' || smarthub.has_role('user') || '|' || smarthub.has_role('admin')
       || '|' || (SELECT string_agg(name, ',') FROM smarthub.entities);
COMMIT;
SQL
)"
check "authenticate_session on the standby" "$uid" \
    "$(PGPORT=$sport "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db -c "BEGIN" -c "SET LOCAL ROLE smarthub_replica_app" \
        -c "SELECT smarthub.authenticate_session('$token')" -c "SELECT smarthub.current_user_id()" -c "COMMIT" | tail -1)"

# Writes on the primary reach the standby.
audits=$(q $db "SELECT count(*) FROM smarthub.audit_logs")
q $db "SELECT smarthub.revoke_api_key(id) FROM smarthub.api_keys WHERE user_id = '$uid'" >/dev/null
q $db "SELECT smarthub.revoke_session('$token')" >/dev/null
q $db "UPDATE smarthub.entities SET name = 'renamed' WHERE owner_id = '$uid'"
wait_replay
check "revoked key refused on the standby" "" "$(sq $db "SELECT smarthub.verify_key('$key')")"
check "revoked session refused on the standby" "" "$(sq $db "SELECT smarthub.verify_session('$token')")"
check "audit rows replicated" "$(q $db "SELECT count(*) FROM smarthub.audit_logs")" "$(sq $db "SELECT count(*) FROM smarthub.audit_logs")"
check "the primary wrote new audit rows" t "$(q $db "SELECT count(*) > $audits FROM smarthub.audit_logs")"
check "no errors in the standby's log" 0 "$(grep -c 'ERROR' "$SMARTHUB_CLUSTER/standby.log" || true)"
