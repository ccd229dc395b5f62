#!/usr/bin/env bash
# DROP EXTENSION removes everything it created; CREATE EXTENSION works again; a pre-existing
# schema named smarthub makes CREATE EXTENSION fail instead of adopting it.
. "$(dirname "$0")/lib.sh"
db=smarthub_dropcreate
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q $db "INSERT INTO smarthub.users (email, username, password_hash) VALUES ('a@b.io', 'a', 'x')"
q $db "DROP EXTENSION smarthub"
check "schema gone" 0 "$(q $db "SELECT count(*) FROM pg_namespace WHERE nspname = 'smarthub'")"
check "no functions left" 0 "$(q $db "SELECT count(*) FROM pg_proc WHERE proname LIKE 'smarthub%' OR prosrc LIKE 'smarthub_%'")"
q $db "CREATE EXTENSION smarthub"
check "recreated with four system roles" 4 "$(q $db "SELECT count(*) FROM smarthub.roles")"
q $db "DROP EXTENSION smarthub"
q $db "CREATE SCHEMA smarthub"
# terse: PostgreSQL 18 adds a CONTEXT line naming the script's line.
if out=$("$PGBIN/psql" -X -qAt -v VERBOSITY=terse -d $db -c "CREATE EXTENSION smarthub" 2>&1); then
    echo "  not ok - CREATE EXTENSION adopted an existing schema"; exit 1
fi
check "existing schema refused" 'ERROR:  schema "smarthub" already exists' "$out"
q postgres "DROP DATABASE $db"
