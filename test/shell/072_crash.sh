#!/usr/bin/env bash
# kill -9 a backend in the middle of an audited transaction: after crash recovery there is no audit
# row without its change and no change without its audit row; after a restart every committed row
# is still there. Runs on its own cluster, whose log is expected to show the crash.
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d /tmp/smarthub-crash.XXXXXX)
port=$(free_port $((PGPORT + 200)))
trap 'stop_cluster "$dir"; rm -rf "$dir"' EXIT
start_cluster "$dir" "$port" "fsync = on"
export PGPORT=$port
db=postgres
run $db <<'SQL'
CREATE EXTENSION smarthub;
CREATE TABLE public.ledger (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), amount int NOT NULL);
SELECT smarthub.enable_audit('public.ledger');
INSERT INTO public.ledger (amount) SELECT i FROM generate_series(1, 100) i;
SQL
# A transaction that changes rows and is killed before it commits.
"$PGBIN/psql" -X -q -d $db >/dev/null 2>&1 <<'SQL' &
BEGIN;
UPDATE public.ledger SET amount = amount + 1000;
INSERT INTO public.ledger (amount) SELECT -i FROM generate_series(1, 50) i;
SELECT pg_sleep(60);
COMMIT;
SQL
for i in $(seq 100); do
    pid=$(q $db "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND pid <> pg_backend_pid()")
    [ -n "$pid" ] && break; sleep 0.1
done
[ -n "$pid" ] || { echo "  not ok - the victim transaction did not start"; exit 1; }
kill -9 "$pid"
wait || true
# Crash recovery with fsync = on: up to a minute on a machine busy with other tests' I/O.
for i in $(seq 300); do q $db "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
recovered=$(grep -q 'terminated by signal 9' "$dir/postgresql.log" && q $db "SELECT true") || tail -n 20 "$dir/postgresql.log"
check "the server recovered from the crash" t "$recovered"
consistent() {
    q $db "SELECT (SELECT count(*) FROM public.ledger) || '/' || (SELECT count(*) FROM public.ledger WHERE amount > 1000 OR amount < 0)
               || '/' || (SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'ledger' AND action = 'CREATE')
               || '/' || (SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'ledger' AND action <> 'CREATE')
               || '/' || (SELECT count(*) FROM public.ledger l WHERE NOT EXISTS (SELECT 1 FROM smarthub.audit_logs a WHERE a.entity_id = l.id))"
}
check "after recovery: 100 rows, none changed, 100 CREATE audit rows, no others, none unaudited" "100/0/100/0/0" "$(consistent)"
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 start >/dev/null
check "after an immediate restart: the same" "100/0/100/0/0" "$(consistent)"
