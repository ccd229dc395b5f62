#!/usr/bin/env bash
# The messages encryption users see, printed as pg_regress prints them and compared with
# encryption/messages.out. A shell test rather than pg_regress, because it needs the keyring that
# script/test configures and `make installcheck` must pass on a stock server.
. "$(dirname "$0")/lib.sh"
db=smarthub_encryption_messages
here=$REPO/test/shell/encryption
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
q postgres "DROP DATABASE IF EXISTS $db"
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
out=$SMARTHUB_CLUSTER/encryption_messages.out
# As pg_regress runs a test: the script on standard input, echoed.
PGTZ=PST8PDT PGDATESTYLE='Postgres, MDY' "$PGBIN/psql" -X -a -q -d $db < "$here/messages.sql" > "$out" 2>&1
if ! diff -u "$here/messages.out" "$out"; then
    echo "  not ok - encryption messages differ from encryption/messages.out (- expected, + actual)"; exit 1
fi
echo "  ok - encryption messages as expected ($(grep -c '^ERROR:' "$out") errors)"
q postgres "DROP DATABASE $db"
