#!/usr/bin/env bash
# On a hot standby, verify_key and verify_session still verify (and never try to write
# last_used_at, which would raise there); malformed input still returns NULL.
. "$(dirname "$0")/lib.sh"
db=smarthub_standby
sdir=$(mktemp -d /tmp/smarthub-standby.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$sdir"
trap 'stop_cluster "$sdir" || true; rm -rf "$sdir"' EXIT
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q $db "INSERT INTO smarthub.users (id, email, username, password_hash)
       VALUES ('00000000-0000-4000-a000-0000000000aa', 'sb@example.com', 'sb', 'x')"
key=$(q $db "SELECT key FROM smarthub.create_api_key('00000000-0000-4000-a000-0000000000aa')")
tok=$(q $db "SELECT smarthub.create_session('00000000-0000-4000-a000-0000000000aa')")

sport=$(free_port $((PGPORT + 1)))
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U postgres -D "$sdir/data" -R -X stream
printf "port = %s\nunix_socket_directories = '%s'\n" "$sport" "$sdir" >> "$sdir/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$sdir/data" -l "$sdir/postgresql.log" -w -t 60 start >/dev/null
target=$(q $db "SELECT pg_current_wal_lsn()")
for _ in $(seq 100); do
    [ "$(PGPORT=$sport q $db "SELECT pg_last_wal_replay_lsn() >= '$target'")" = t ] && break
    sleep 0.1
done
sq() { PGPORT=$sport q $db "$1"; }
check "the standby is in recovery" t "$(sq "SELECT pg_is_in_recovery()")"
check "verify_key on the standby gives the owner" 00000000-0000-4000-a000-0000000000aa "$(sq "SELECT smarthub.verify_key('$key')")"
check "... twice (the key was never touched: no write attempted)" 00000000-0000-4000-a000-0000000000aa "$(sq "SELECT smarthub.verify_key('$key')")"
check "last_used_at stays NULL on the standby" t "$(sq "SELECT last_used_at IS NULL FROM smarthub.api_keys")"
check "verify_session on the standby gives the owner" 00000000-0000-4000-a000-0000000000aa "$(sq "SELECT smarthub.verify_session('$tok')")"
check "malformed key on the standby" "" "$(sq "SELECT smarthub.verify_key('shk_nope')")"
q $db "SELECT smarthub.verify_key('$key')" >/dev/null
check "the primary still touches last_used_at" t "$(q $db "SELECT last_used_at IS NOT NULL FROM smarthub.api_keys")"
q postgres "DROP DATABASE $db"
