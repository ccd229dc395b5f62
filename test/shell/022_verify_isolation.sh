#!/usr/bin/env bash
# verify_key never raises, at any isolation level. Under REPEATABLE READ, another backend's
# committed touch of the same key's last_used_at used to make verify_key fail with 40001; now that
# conflict is swallowed (the key was just touched). Without a conflict REPEATABLE READ still
# touches; SERIALIZABLE never does, so that its conflict checks cannot fail the caller's commit.
# The other backend is a dblink connection, so both sides run in one script.
. "$(dirname "$0")/lib.sh"
db=smarthub_verify_isolation
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
q postgres "DROP DATABASE IF EXISTS $db"
q postgres "CREATE DATABASE $db"
q postgres "ALTER DATABASE $db SET smarthub.key_touch_interval = 0"    # every verification touches
q $db "CREATE EXTENSION smarthub"
q $db "CREATE EXTENSION dblink"
uid=$(q $db "SELECT smarthub.create_user('iso@example.com', 'iso', 'iso-password', roles => '{}')")
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid', 'iso')")
other="host=$PGHOST port=$PGPORT dbname=$db user=$PGUSER"
touched() { q $db "SELECT last_used_at FROM smarthub.api_keys WHERE name = 'iso'"; }

for level in 'REPEATABLE READ' SERIALIZABLE; do
    out=$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db 2>&1 <<SQL
SELECT dblink_connect('other', '$other') \g /dev/null
BEGIN ISOLATION LEVEL $level;
SELECT count(*) FROM smarthub.roles \g /dev/null
SELECT * FROM dblink('other', 'SELECT smarthub.verify_key(''$key'')') AS t (u uuid) \g /dev/null
SELECT smarthub.verify_key('$key');
COMMIT;
SQL
) || true
    check "$level: verify_key after a concurrent touch returns the owner" "$uid" "$out"
done

before=$(touched)
q $db "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT smarthub.verify_key('$key'); COMMIT" >/dev/null
check "REPEATABLE READ without a conflict still touches last_used_at" moved \
    "$([ "$(touched)" != "$before" ] && echo moved)"
before=$(touched)
q $db "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT smarthub.verify_key('$key'); COMMIT" >/dev/null
check "SERIALIZABLE does not touch it" "$before" "$(touched)"
q postgres "DROP DATABASE $db"
