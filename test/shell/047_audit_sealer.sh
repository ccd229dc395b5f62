#!/usr/bin/env bash
# The audit sealer worker under load, on a cluster of its own (it needs shared_preload_libraries and
# the postmaster setting smarthub.audit_seal_database). The worker runs, and waits, in a database
# that does not have smarthub yet, and starts sealing once CREATE EXTENSION is done, without a
# restart. Then 8 pgbench clients change an audited table for SMARTHUB_SEALER_SECONDS (60) seconds:
# single-row UPDATEs and INSERTs, multi-statement transactions, transactions that ROLLBACK, others
# that roll back to a SAVEPOINT or through a PL/pgSQL exception block (the rolled-back statements
# write a marker), while one long transaction holds an audited change open across several seals.
# Afterwards: audit_verify() is ok; every audit row is in exactly one block and none is unsealed;
# the blocks are numbered from 1 without gap and their txid ranges follow each other from 0; no
# rolled-back change left an audit row and every committed one left exactly one; the long
# transaction's row was sealed after it committed; the worker sealed about every second by
# itself. A reload of smarthub.audit_seal_interval takes effect, and the worker comes back (10 s,
# bgw_restart_time) after pg_terminate_backend and seals again.
. "$(dirname "$0")/lib.sh"
secs=${SMARTHUB_SEALER_SECONDS:-60}
dir=$(mktemp -d /tmp/smarthub-sealer.XXXXXX)
port=$(free_port $((PGPORT + 320)))
db=smarthub_sealer
pgb=
cd "$dir"    # the server commands run as postgres, who cannot enter the checkout under /root
trap '[ -z "$pgb" ] || kill "$pgb" 2>/dev/null || true; stop_cluster "$dir"; rm -rf "$dir"' EXIT
fail() { echo "  not ok - $*"; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sealer_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'smarthub audit sealer'"; }
max_block() { q $db "SELECT coalesce(max(block_no), 0) FROM smarthub.audit_blocks"; }

# The database must exist when the worker starts (it connects to it): create it, then restart with
# the worker's settings.
start_cluster "$dir" "$port"
export PGPORT=$port
q postgres "CREATE DATABASE $db"
printf "shared_preload_libraries = 'smarthub'\nsmarthub.audit_seal_database = '%s'\n" "$db" >> "$dir/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 restart >/dev/null \
    || { tail -n 20 "$dir/postgresql.log"; fail "the cluster did not restart with shared_preload_libraries = 'smarthub'"; }

# ---- before and after CREATE EXTENSION ----
for i in $(seq 50); do pid=$(sealer_pid); [ -n "$pid" ] && break; sleep 0.2; done
[ -n "$pid" ] || fail "no 'smarthub audit sealer' in pg_stat_activity 10 s after the start"
check "the sealer is connected to $db" "$db" "$(q postgres "SELECT datname FROM pg_stat_activity WHERE pid = $pid")"
sleep 2.5    # two seal intervals in a database without smarthub
check "the sealer waits in a database without smarthub (same pid after 2.5 s)" "$pid" "$(sealer_pid)"
run $db <<'SQL'
CREATE EXTENSION pgcrypto;
CREATE EXTENSION smarthub;
CREATE TABLE public.items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n integer NOT NULL, v text);
-- every audited change the test commits is counted here, in the same transaction
CREATE TABLE public.made (action text NOT NULL, n integer NOT NULL);
INSERT INTO public.items SELECT md5(i::text)::uuid, i, 'v' || i FROM generate_series(0, 1000) i;
DO $$ BEGIN PERFORM smarthub.enable_audit('public.items', '{}', '{}', 'items'); END $$;
-- keeps its first change, rolls the second back through an exception block (an implicit savepoint)
CREATE FUNCTION public.exc_update(a integer, b integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH c AS (UPDATE public.items SET n = n + 1, v = 'kept in function' WHERE id = md5(a::text)::uuid RETURNING 1)
    INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
    BEGIN
        WITH c AS (UPDATE public.items SET n = n + 1, v = 'ROLLBACK-MARKER' WHERE id = md5(b::text)::uuid RETURNING 1)
        INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
END $$;
WITH c AS (UPDATE public.items SET n = n + 1 WHERE n BETWEEN 1 AND 5 RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
SQL
for i in $(seq 50); do [ "$(max_block)" -gt 0 ] && break; sleep 0.1; done
check "the worker seals after CREATE EXTENSION, without a restart (a block within 5 s)" t \
    "$(q $db "SELECT count(*) > 0 FROM smarthub.audit_blocks")"
check "the same worker process did it" "$pid" "$(sealer_pid)"

# ---- load: 8 clients, while the worker seals ----
s=$dir/pgbench
mkdir -p "$s"
cat > "$s/update.sql" <<'PGB'
\set i random(1, 1000)
WITH c AS (UPDATE public.items SET n = n + 1, v = 'u' WHERE id = md5(:i::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
PGB
cat > "$s/insert.sql" <<'PGB'
WITH c AS (INSERT INTO public.items (n, v) VALUES (-1, 'inserted') RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
PGB
# Two rows of one transaction are always locked in ascending n: no deadlocks.
cat > "$s/multi.sql" <<'PGB'
\set a random(1, 999)
\set b :a + random(1, 1000 - :a)
BEGIN;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'multi' WHERE id = md5(:a::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
WITH c AS (INSERT INTO public.items (n, v) VALUES (-2, 'multi') RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'multi' WHERE id = md5(:b::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
COMMIT;
PGB
cat > "$s/rollback.sql" <<'PGB'
\set a random(1, 999)
\set b :a + random(1, 1000 - :a)
BEGIN;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'ROLLBACK-MARKER' WHERE id = md5(:a::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
WITH c AS (INSERT INTO public.items (n, v) VALUES (-3, 'ROLLBACK-MARKER') RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'ROLLBACK-MARKER' WHERE id = md5(:b::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
ROLLBACK;
PGB
cat > "$s/savepoint.sql" <<'PGB'
\set a random(1, 999)
\set b :a + random(1, 1000 - :a)
BEGIN;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'kept before savepoint' WHERE id = md5(:a::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
SAVEPOINT s;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'ROLLBACK-MARKER' WHERE id = md5(:b::text)::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
WITH c AS (INSERT INTO public.items (n, v) VALUES (-4, 'ROLLBACK-MARKER') RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
ROLLBACK TO SAVEPOINT s;
WITH c AS (INSERT INTO public.items (n, v) VALUES (-5, 'after savepoint') RETURNING 1)
INSERT INTO public.made SELECT 'CREATE', count(*) FROM c;
COMMIT;
PGB
cat > "$s/exception.sql" <<'PGB'
\set a random(1, 999)
\set b :a + random(1, 1000 - :a)
SELECT public.exc_update(:a, :b);
PGB
scripts="update insert multi rollback savepoint exception"
run_start=$(q postgres "SELECT clock_timestamp()")
"$PGBIN/pgbench" -n -c 8 -j 8 -T "$secs" -f "$s/update.sql@35" -f "$s/insert.sql@15" -f "$s/multi.sql@15" \
    -f "$s/rollback.sql@15" -f "$s/savepoint.sql@15" -f "$s/exception.sql@5" $db > "$s/out" 2>&1 &
pgb=$!
# The long transaction: an audited change (on row 0, which pgbench never touches), held open for
# 5 s; t1 is read 100 ms before COMMIT, t2 after it.
sleep $(( secs > 20 ? 10 : secs / 3 ))
long=$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db <<'SQL'
BEGIN;
WITH c AS (UPDATE public.items SET n = n + 1, v = 'long transaction' WHERE id = md5('0')::uuid RETURNING 1)
INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c;
SELECT txid_current() AS long_xid \gset
SELECT pg_sleep(4.9) \gset
SELECT clock_timestamp() AS t1 \gset
SELECT pg_sleep(0.1) \gset
COMMIT;
SELECT clock_timestamp() AS t2 \gset
\echo :long_xid|:t1|:t2
SQL
) || fail "the long transaction failed: $long"
IFS='|' read -r long_xid long_t1 long_t2 <<<"$long"
wait "$pgb" || { cat "$s/out"; pgb=; fail "pgbench failed"; }
pgb=
run_end=$(q postgres "SELECT clock_timestamp()")
out=$(cat "$s/out")
echo "$out" | grep -E '^(number of (transactions actually processed|failed transactions)|tps)' | sed 's/^/    /'
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
check "no failed transactions" 0 "${failed:-0}"
per_script=$(awk '/^SQL script [0-9]+:/ { n = $4; sub(/.*\//, "", n); sub(/\.sql$/, "", n) }
                  /^ - [0-9]+ transactions/ { print n "=" $2 }' <<<"$out" | tr '\n' ' ')
echo "    per script: $per_script"
for k in $scripts; do
    n=$(tr ' ' '\n' <<<"$per_script" | sed -n "s/^$k=//p")
    [ "${n:-0}" -gt 0 ] || fail "pgbench ran no '$k' transaction (per script: $per_script)"
done

# ---- the interval is a reload setting ----
q postgres "ALTER SYSTEM SET smarthub.audit_seal_interval = '200ms'" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "smarthub.audit_seal_interval after the reload" 200ms "$(q $db "SHOW smarthub.audit_seal_interval")"
fast_start=$(q postgres "SELECT clock_timestamp()")
"$PGBIN/pgbench" -n -c 2 -j 2 -T 4 -f "$s/update.sql" $db > "$s/out.fast" 2>&1 || { cat "$s/out.fast"; fail "pgbench (200ms) failed"; }
fast=$(q $db "SELECT count(*) FROM smarthub.audit_blocks WHERE sealed_at > '$fast_start'")
echo "    blocks sealed in 4 s of writes at 200ms: $fast"
check "at 200ms the worker seals at least 10 blocks in 4 s (got $fast; at 1 s it would be 4 or 5)" 1 "$(( fast >= 10 ))"

# ---- pg_terminate_backend: the worker comes back, whatever the database's settings; the run's
# assertions meanwhile (in sessions that undo those settings) ----
old=$(sealer_pid)
[ -n "$old" ] || fail "no sealer before pg_terminate_backend"
# the worker that comes back connects with what the database now sets for its sessions: none of
# these may stop it sealing
q postgres "ALTER DATABASE $db SET default_transaction_isolation = 'serializable'"
q postgres "ALTER DATABASE $db SET default_transaction_read_only = on"
q postgres "ALTER DATABASE $db SET statement_timeout = '1ms'"
export PGOPTIONS='-c default_transaction_isolation=read\ committed -c default_transaction_read_only=off -c statement_timeout=0'
killed_at=$(now_ms)
check "pg_terminate_backend(sealer)" t "$(q postgres "SELECT pg_terminate_backend($old)")"

sealed=$(q $db "SELECT smarthub.audit_seal()")
echo "    final seal: $sealed rows"
total=$(q $db "SELECT count(*) FROM smarthub.audit_logs")
q $db "SELECT 'blocks: ' || count(*) || ', rows: ' || sum(row_count) || ' (per block min ' || min(row_count)
              || ', avg ' || round(avg(row_count)) || ', max ' || max(row_count) || ')'
         FROM smarthub.audit_blocks WHERE kind = 'seal'" | sed 's/^/    /'
check "audit_verify(): ok, every block and row, nothing bad" "true|$(q $db "SELECT count(*) FROM smarthub.audit_blocks")|$total||" \
    "$(q $db "SELECT ok || '|' || blocks || '|' || rows || '|' || coalesce(first_bad_block::text, '') || '|' || coalesce(reason, '') FROM smarthub.audit_verify()")"
# Per (origin, txid): every row of a transaction falls in the same block.
check "every audit row in exactly one block (in one/in none/in several/all)" "$total/0/0/$total" "$(q $db "
    SELECT coalesce(sum(rows) FILTER (WHERE m = 1), 0) || '/' || coalesce(sum(rows) FILTER (WHERE m = 0), 0) || '/'
           || coalesce(sum(rows) FILTER (WHERE m > 1), 0) || '/' || coalesce(sum(rows), 0)
      FROM (SELECT t.rows, count(b.block_no) AS m
              FROM (SELECT origin, txid, count(*) AS rows FROM smarthub.audit_logs GROUP BY 1, 2) t
              LEFT JOIN smarthub.audit_blocks b ON b.kind = 'seal' AND b.origin = t.origin
                                                AND t.txid >= b.txid_lo AND t.txid < b.txid_hi
             GROUP BY t.origin, t.txid, t.rows) s")"
check "the blocks' row_count adds up to the rows" "$total" \
    "$(q $db "SELECT coalesce(sum(row_count), 0) FROM smarthub.audit_blocks WHERE kind = 'seal'")"
check "no unsealed row (txid at or above its origin's last txid_hi)" 0 "$(q $db "
    SELECT count(*) FROM smarthub.audit_logs a
     WHERE a.txid >= coalesce((SELECT max(txid_hi) FROM smarthub.audit_blocks b
                                WHERE b.kind = 'seal' AND b.origin = a.origin), 0)")"
check "blocks numbered 1..N without gap (min/max/count)" "1/$(max_block)/$(max_block)" \
    "$(q $db "SELECT min(block_no) || '/' || max(block_no) || '/' || count(*) FROM smarthub.audit_blocks")"
check "each origin's txid ranges follow each other from 0 (blocks whose txid_lo is not the previous txid_hi)" 0 "$(q $db "
    SELECT count(*) FROM (SELECT txid_lo, lag(txid_hi, 1, 0::bigint) OVER (PARTITION BY origin ORDER BY block_no) AS prev_hi
                            FROM smarthub.audit_blocks WHERE kind = 'seal') s
     WHERE txid_lo <> prev_hi")"
check "no audit row of a rolled-back change (marker)" 0 \
    "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE changes::text LIKE '%ROLLBACK-MARKER%'")"
check "the committed parts of the savepoint and exception transactions are audited (rows with their values > 0)" t \
    "$(q $db "SELECT count(*) FILTER (WHERE changes::text LIKE '%kept before savepoint%') > 0
                 AND count(*) FILTER (WHERE changes::text LIKE '%after savepoint%') > 0
                 AND count(*) FILTER (WHERE changes::text LIKE '%kept in function%') > 0
            FROM smarthub.audit_logs WHERE entity_type = 'items'")"
check "one audit row per committed change" "$(q $db "SELECT sum(n) FROM public.made")" \
    "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'items'")"
# The long transaction's row: sealed once, in a block sealed after it committed. sealed_at is the
# sealing transaction's start, taken just before the snapshot that decides the block's range: t1,
# 100 ms before COMMIT, is the bound that cannot race with it.
check "the long transaction's audit row (its txid)" "$long_xid" \
    "$(q $db "SELECT string_agg(txid::text, ',') FROM smarthub.audit_logs WHERE changes::text LIKE '%long transaction%'")"
long_block=$(q $db "SELECT string_agg(block_no || '|' || (sealed_at > '$long_t1') || '|'
                                      || round(extract(epoch FROM sealed_at - '$long_t2'::timestamptz) * 1000), ',')
                      FROM smarthub.audit_blocks
                     WHERE kind = 'seal' AND origin = smarthub.audit_origin() AND $long_xid >= txid_lo AND $long_xid < txid_hi")
IFS='|' read -r long_no long_late long_after_ms <<<"$long_block"
echo "    long transaction: txid $long_xid, block $long_no, sealed ${long_after_ms} ms after its COMMIT returned"
check "the long transaction's row is in one block, sealed after the transaction committed" true "$long_late"
during=$(q $db "SELECT count(*) FROM smarthub.audit_blocks WHERE sealed_at BETWEEN '$run_start' AND '$run_end'")
echo "    blocks sealed by the worker during the ${secs} s run: $during"
check "the worker sealed more than one block per 2 s during the run (got $during in $secs s)" 1 "$(( during > secs / 2 ))"

# Back within 15 s (bgw_restart_time 10 s), and sealing again.
for i in $(seq 100); do new=$(sealer_pid); [ -n "$new" ] && [ "$new" != "$old" ] && break; new=; sleep 0.2; done
back_ms=$(( $(now_ms) - killed_at ))
[ -n "$new" ] || fail "the sealer did not come back within 20 s of pg_terminate_backend"
echo "    the sealer came back after $back_ms ms"
check "the sealer came back within 15 s (took $back_ms ms)" 1 "$(( back_ms <= 15000 ))"
before=$(max_block)
q $db "WITH c AS (UPDATE public.items SET n = n + 1 WHERE n BETWEEN 1 AND 3 RETURNING 1)
       INSERT INTO public.made SELECT 'UPDATE', count(*) FROM c" >/dev/null
for i in $(seq 50); do [ "$(max_block)" -gt "$before" ] && break; sleep 0.1; done
check "the restarted worker seals new rows (a block within 5 s)" 1 "$(( $(max_block) > before ))"
q $db "SELECT smarthub.audit_seal()" >/dev/null
check "audit_verify() still ok at the end, nothing unsealed (ok|reason)" "true|" \
    "$(q $db "SELECT ok || '|' || coalesce(reason, '') FROM smarthub.audit_verify()")"

log=$dir/postgresql.log
check "the worker exited once, when it was terminated" 1 \
    "$(grep -c 'background worker "smarthub audit sealer" (PID [0-9]*) exited' "$log" || true)"
grep -E 'ERROR:|PANIC|terminated by signal' "$log" | head -n 20 | sed 's/^/    /' || true
check "no ERROR and no crash in the server log" 0 "$(grep -cE 'ERROR:|PANIC|terminated by signal' "$log" || true)"
