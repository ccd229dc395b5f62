#!/usr/bin/env bash
# Concurrency: pgbench, 4 clients, 20 s of random audited single-row UPDATE / INSERT / DELETE on one
# table. Every statement records how many rows it changed in an unaudited side table, in the same
# transaction; afterwards the audit rows must number exactly the changes made, with no failed
# transactions and no deadlocks.
. "$(dirname "$0")/lib.sh"
db=smarthub_audit_conc
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
run $db <<'SQL'
CREATE TABLE public.conc (id uuid PRIMARY KEY, n integer NOT NULL, v text, secret text);
CREATE TABLE public.made (action text NOT NULL, n integer NOT NULL);
INSERT INTO public.conc SELECT md5(i::text)::uuid, i, 'v' || i, 's' || i FROM generate_series(1, 500) i;
DO $$ BEGIN PERFORM smarthub.enable_audit('public.conc', '{secret}', '{}', 'conc'); END $$;
SQL
script=$SMARTHUB_CLUSTER/audit_conc.sql
cat > "$script" <<'PGB'
\set r random(1, 3)
\set i random(1, 1000)
\if :r = 1
WITH c AS (UPDATE public.conc SET n = n + 1, v = md5(random()::text) WHERE id = md5(:i::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
\elif :r = 2
WITH c AS (INSERT INTO public.conc VALUES (md5(:i::text)::uuid, :i, 'new', 'pw') ON CONFLICT (id) DO NOTHING RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
\else
WITH c AS (DELETE FROM public.conc WHERE id = md5(:i::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'DELETE', count(*) FROM c;
\endif
PGB
out=$("$PGBIN/pgbench" -n -c 4 -j 4 -T "${SMARTHUB_CONC_SECONDS:-20}" -f "$script" $db 2>&1) || { echo "$out"; echo "  not ok - pgbench failed"; exit 1; }
echo "$out" | grep -E '^(number of (transactions actually processed|failed transactions)|tps)' | sed 's/^/    /'
xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
check "no failed transactions" 0 "${failed:-0}"
check "every transaction recorded" "$xacts" "$(q $db "SELECT count(*) FROM public.made")"
[ "$(q $db "SELECT sum(n) FROM public.made")" -gt 100 ] || { echo "  not ok - too few changes"; exit 1; }
for a in CREATE UPDATE DELETE; do
    check "$a: audit rows == changes made" "$(q $db "SELECT coalesce(sum(n), 0) FROM public.made WHERE action = '$a'")" \
        "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'conc' AND action = '$a'")"
done
check "no secret in the audit log" 0 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE changes::text ~ '\"(pw|s[0-9]+)\"'")"
check "no deadlock in the server log" 0 "$(grep -c 'deadlock detected' "$SMARTHUB_CLUSTER/postgresql.log" || true)"
q postgres "DROP DATABASE $db"
