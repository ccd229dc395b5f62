#!/usr/bin/env bash
# smarthub.audit_logs streamed to a second cluster by logical replication, set up as README's
# "Streaming the audit log" says: the initial copy brings every row, new rows stream, a deleted
# user's SET NULL and purge_audit_logs' DELETE are applied and the subscription keeps going, an
# insert-only publication keeps every row as it was written, and on the subscriber the guard still
# refuses every local UPDATE, DELETE and TRUNCATE (superuser and replica mode included) and every
# replicated change that a smarthub primary could not have made (sent by a forged publisher). Also
# why the documented role is what it is: each privilege it lacks makes the subscription fail, and
# a grant_access role copies 0 rows. Two clusters of its own (wal_level = logical on the primary).
. "$(dirname "$0")/lib.sh"
db=smarthub_logical
pdir=$(mktemp -d /tmp/smarthub-primary.XXXXXX)
sdir=$(mktemp -d /tmp/smarthub-subscriber.XXXXXX)
cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        for f in "$sdir/postgresql.log" "$pdir/postgresql.log"; do
            [ -f "$f" ] && { echo "  $f:"; tail -n 15 "$f" | sed 's/^/  | /'; }
        done
    fi
    stop_cluster "$sdir"    # first, so that no walsender holds the primary's shutdown
    stop_cluster "$pdir"
    rm -rf "$pdir" "$sdir"
}
trap cleanup EXIT
pport=$(free_port $((PGPORT + 300)))
start_cluster "$pdir" "$pport" "wal_level = logical
max_wal_senders = 20
max_replication_slots = 20"
sport=$(free_port $((PGPORT + 301)))
start_cluster "$sdir" "$sport" "max_replication_slots = 20
max_logical_replication_workers = 8
max_worker_processes = 16
wal_retrieve_retry_interval = 1s"
slog=$sdir/postgresql.log
pq() { PGPORT=$pport q "$@"; }
sq() { PGPORT=$sport q "$@"; }
run_p() { PGPORT=$pport run "$@"; }
run_s() { PGPORT=$sport run "$@"; }
# The connection string of a subscription to the primary's database $db.
conn() { echo "host=127.0.0.1 port=$pport dbname=${3:-$db} user=$1 ${2:-}"; }
# The SQLSTATE of the error that SQL raises on PORT's DB, or 'no error'.
sqlstate() {
    local out
    if out=$(PGPORT=$1 "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$2" -c "$3" 2>&1 >/dev/null); then
        echo "no error"
    else
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$out" | head -n 1
    fi
}
# Count and md5 of every row of the audit log, every column, in id order.
digest() {
    PGPORT=$1 q "$2" "SET timezone = 'UTC'; SELECT count(*) || ' ' || md5(coalesce(string_agg(a::text, E'\n' ORDER BY a.id), '')) FROM smarthub.audit_logs a"
}
# Wait up to a minute for SQL on the subscriber's DB to return true.
wait_for() {   # LABEL DB SQL
    local i
    for i in $(seq 300); do
        [ "$(sq "$2" "$3")" = t ] && return 0
        sleep 0.2
    done
    echo "  not ok - $1: still not the case after a minute"; exit 1
}
# Every table of DB's subscriptions copied, and subscription SUB has applied all the primary wrote.
synced() {   # DB SUB
    wait_for "$2 copied its tables" "$1" "SELECT count(*) > 0 AND bool_and(srsubstate IN ('r', 's')) FROM pg_subscription_rel"
    caught_up "$2"
}
caught_up() {   # SUB
    local lsn i
    lsn=$(pq postgres "SELECT pg_current_wal_lsn()")
    for i in $(seq 300); do
        [ "$(pq postgres "SELECT coalesce(bool_and(replay_lsn >= '$lsn'), false) FROM pg_stat_replication WHERE application_name = '$1'")" = t ] \
            && return 0
        sleep 0.2
    done
    echo "  not ok - subscription $1 did not catch up with the primary"; exit 1
}
# pg_subscription is shared by the cluster's databases: look subscriptions up by name.
stopped() { wait_for "subscription $2 disabled itself" "$1" "SELECT NOT subenabled FROM pg_subscription WHERE subname = '$2'"; }
logged() { grep -cF -- "$1" "$slog" || true; }

# ---- the primary: users, audit rows with and without a user, rows older than a year ----
pq postgres "CREATE DATABASE $db"
pq $db "CREATE EXTENSION smarthub"
alice=$(pq $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.create_user('alice@example.com', 'alice', 'alice-password-1')" | tail -n 1)
bob=$(pq $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.create_user('bob@example.com', 'bob', 'bob-password-1')" | tail -n 1)
pq $db "SELECT smarthub.login('alice', 'alice-password-1')" >/dev/null
# As alice: an entity whose CREATE row carries about 100 kB of changes (stored out of line, so its
# SET NULL arrives with the value as unchanged TOAST), and an UPDATE of it.
run_p $db >/dev/null <<SQL
BEGIN;
SELECT smarthub.set_current_user('$alice');
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
    SELECT 'report', '$alice', 'big', jsonb_build_object('text', string_agg(md5(i::text), '')) FROM generate_series(1, 3000) i;
UPDATE smarthub.entities SET name = 'bigger' WHERE owner_id = '$alice';
COMMIT;
-- Rows from before the retention period, for purge_audit_logs: written directly (the guard refuses
-- UPDATE, DELETE and TRUNCATE only; INSERT needs the privilege a superuser has), as by a
-- transaction of that time (txid 3): purge removes sealed blocks, which follow the txids.
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action, created_at, txid)
    SELECT CASE WHEN i <= 2 THEN '$alice'::uuid END, 'legacy', gen_random_uuid(), 'UPDATE', now() - interval '400 days', 3
      FROM generate_series(1, 5) i;
SQL
alice_rows=$(pq $db "SELECT count(*) FROM smarthub.audit_logs WHERE user_id = '$alice'")
alice_ids=$(pq $db "SELECT string_agg(quote_literal(id), ', ') FROM smarthub.audit_logs WHERE user_id = '$alice'")
check "the primary has 5 audit rows of alice's (LOGIN, CREATE, UPDATE, 2 old ones)" 5 "$alice_rows"

# README, "Streaming the audit log": the publications and the subscription's role, then roles that
# each lack one of its privileges, and a replication role given grant_access.
run_p $db >/dev/null <<'SQL'
CREATE PUBLICATION smarthub_audit FOR TABLE smarthub.audit_logs WITH (publish = 'insert, update, delete', publish_via_partition_root = true);
CREATE PUBLICATION smarthub_audit_inserts FOR TABLE smarthub.audit_logs WITH (publish = 'insert', publish_via_partition_root = true);
CREATE ROLE smarthub_siem LOGIN REPLICATION BYPASSRLS;
GRANT USAGE ON SCHEMA smarthub TO smarthub_siem;
GRANT SELECT ON smarthub.audit_logs TO smarthub_siem;

CREATE ROLE repl_plain LOGIN REPLICATION;
GRANT USAGE ON SCHEMA smarthub TO repl_plain;
GRANT SELECT ON smarthub.audit_logs TO repl_plain;
CREATE ROLE repl_no_usage LOGIN REPLICATION BYPASSRLS;
GRANT SELECT ON smarthub.audit_logs TO repl_no_usage;
CREATE ROLE repl_no_select LOGIN REPLICATION BYPASSRLS;
GRANT USAGE ON SCHEMA smarthub TO repl_no_select;
CREATE ROLE repl_no_replication LOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA smarthub TO repl_no_replication;
GRANT SELECT ON smarthub.audit_logs TO repl_no_replication;
CREATE ROLE repl_app LOGIN REPLICATION;
SELECT smarthub.grant_access('repl_app');
SQL
total=$(pq $db "SELECT count(*) FROM smarthub.audit_logs")

# ---- why the role is what it is: one subscriber database per attempt ----
try_db() { sq postgres "CREATE DATABASE $1"; sq "$1" "CREATE EXTENSION smarthub"; }
# A role's subscription whose initial copy fails: it disables itself, copies nothing, and the
# subscriber's log says why.
copy_fails() {   # LABEL NAME ROLE MESSAGE [CONNINFO OPTIONS]
    local tdb=smarthub_try_$2
    try_db $tdb
    sq $tdb "CREATE SUBSCRIPTION try_$2 CONNECTION '$(conn "$3" "${5:-}")' PUBLICATION smarthub_audit WITH (disable_on_error = true)" 2>/dev/null
    stopped $tdb "try_$2"
    check "$1: the initial copy fails with '$4'" "t|0" \
        "$([ "$(logged "$4")" -gt 0 ] && echo t)|$(sq $tdb "SELECT count(*) FROM smarthub.audit_logs")"
    sq $tdb "DROP SUBSCRIPTION try_$2" 2>/dev/null
}
copy_fails "REPLICATION without BYPASSRLS" plain repl_plain "permission denied for function has_role"
copy_fails "without USAGE on schema smarthub" no_usage repl_no_usage "permission denied for schema smarthub"
copy_fails "without SELECT on audit_logs" no_select repl_no_select "permission denied for table audit_logs"
try_db smarthub_try_repl_no_replication
out=$(PGPORT=$sport "$PGBIN/psql" -X -qAt -d smarthub_try_repl_no_replication \
    -c "CREATE SUBSCRIPTION try_repl_no_replication CONNECTION '$(conn repl_no_replication)' PUBLICATION smarthub_audit" 2>&1 || true)
check "without REPLICATION the publisher refuses the connection" t "$(grep -qiE 'wal ?sender' <<<"$out" && echo t)"
# grant_access gives EXECUTE on has_role, and without an identity the policy shows no row: the
# copy "succeeds" with 0 rows, and then new rows stream (no row security there): a log with a hole.
try_db smarthub_try_repl_app
sq smarthub_try_repl_app "CREATE SUBSCRIPTION try_repl_app CONNECTION '$(conn repl_app)' PUBLICATION smarthub_audit" 2>/dev/null
synced smarthub_try_repl_app try_repl_app
check "a grant_access role copies 0 of the primary's $total rows" 0 "$(sq smarthub_try_repl_app "SELECT count(*) FROM smarthub.audit_logs")"
pq $db "SELECT smarthub.login('bob', 'bob-password-1')" >/dev/null
caught_up try_repl_app
new=$(( $(pq $db "SELECT count(*) FROM smarthub.audit_logs") - total )); total=$((total + new))
check "and then streams the login's $new new rows: $new of $total, without an error" "$new|0" \
    "$(sq smarthub_try_repl_app "SELECT (SELECT count(*) FROM smarthub.audit_logs) || '|' ||
                                        (SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats WHERE subname = 'try_repl_app')")"
sq smarthub_try_repl_app "DROP SUBSCRIPTION try_repl_app" 2>/dev/null
# row_security=off in the connection string turns that silent hole into an error.
copy_fails "a grant_access role with row_security=off" app_rls_off repl_app "query would be affected by row-level security policy" \
    "options=-crow_security=off"

# ---- the documented subscription, and the SIEM's insert-only one ----
sq postgres "CREATE DATABASE $db"
sq $db "CREATE EXTENSION smarthub"
sq postgres "CREATE DATABASE smarthub_siem"
sq smarthub_siem "CREATE EXTENSION smarthub"
check "the subscriber's audit log starts empty" 0 "$(sq $db "SELECT count(*) FROM smarthub.audit_logs")"
sq $db "CREATE SUBSCRIPTION smarthub_audit CONNECTION '$(conn smarthub_siem options=-crow_security=off)' PUBLICATION smarthub_audit" 2>/dev/null
sq smarthub_siem "CREATE SUBSCRIPTION smarthub_audit_inserts CONNECTION '$(conn smarthub_siem options=-crow_security=off)' PUBLICATION smarthub_audit_inserts" 2>/dev/null
synced $db smarthub_audit
synced smarthub_siem smarthub_audit_inserts
check "the initial copy brings all $total rows, every column" "$(digest $pport $db)" "$(digest $sport $db)"
check "the insert-only subscription copies them too" "$(digest $pport $db)" "$(digest $sport smarthub_siem)"

# New audit rows stream.
pq $db "SELECT smarthub.login('bob', 'bob-password-1')" >/dev/null
pq $db "UPDATE smarthub.entities SET name = 'renamed'"
caught_up smarthub_audit
check "new audit rows stream ($(pq $db "SELECT count(*) - $total FROM smarthub.audit_logs") more)" "$(digest $pport $db)" "$(digest $sport $db)"

# Deleting a user: the foreign key sets user_id to NULL in alice's rows, on the primary as an RI
# update, on the subscriber as a replicated UPDATE that the guard lets through.
pq $db "DELETE FROM smarthub.users WHERE id = '$alice'"
check "the primary set user_id to NULL in alice's $alice_rows rows" "$alice_rows" \
    "$(pq $db "SELECT count(*) FROM smarthub.audit_logs WHERE id IN ($alice_ids) AND user_id IS NULL")"
caught_up smarthub_audit
check "the SET NULL is applied on the subscriber" "$alice_rows" \
    "$(sq $db "SELECT count(*) FROM smarthub.audit_logs WHERE id IN ($alice_ids) AND user_id IS NULL")"
check "both sides equal after the user's deletion" "$(digest $pport $db)" "$(digest $sport $db)"
pq $db "SELECT smarthub.login('bob', 'bob-password-1')" >/dev/null
caught_up smarthub_audit
check "and the subscription keeps streaming" "$(digest $pport $db)" "$(digest $sport $db)"

# purge_audit_logs: its DELETE replicates, with its PURGE row.
check "purge_audit_logs deletes the 5 old rows on the primary" 5 "$(pq $db "SELECT smarthub.purge_audit_logs('365 days')")"
caught_up smarthub_audit
check "the purge is applied on the subscriber" "0|1" \
    "$(sq $db "SELECT (SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'legacy') || '|' ||
                      (SELECT count(*) FROM smarthub.audit_logs WHERE action = 'PURGE' AND changes ->> 'purged' = '5')")"
check "both sides equal after the purge" "$(digest $pport $db)" "$(digest $sport $db)"

# publish = 'insert': every row as it was written, attribution and purged rows kept.
caught_up smarthub_audit_inserts
check "the insert-only copy keeps alice's user_id and the purged rows" \
    "$(( $(pq $db "SELECT count(*) FROM smarthub.audit_logs") + 5 ))|$alice_rows|5" \
    "$(sq smarthub_siem "SELECT count(*) || '|' || count(*) FILTER (WHERE user_id = '$alice') || '|' ||
                               count(*) FILTER (WHERE entity_type = 'legacy') FROM smarthub.audit_logs")"

# Not stuck: the apply workers run, no error was counted or logged.
check "both subscriptions' apply workers run, with no error" "smarthub_audit 0 0|smarthub_audit_inserts 0 0" \
    "$(sq $db "SELECT string_agg(s.subname || ' ' || s.apply_error_count || ' ' || s.sync_error_count, '|' ORDER BY s.subname)
                 FROM pg_stat_subscription_stats s
                 JOIN pg_stat_subscription w ON w.subid = s.subid AND w.relid IS NULL AND w.pid IS NOT NULL
                WHERE s.subname IN ('smarthub_audit', 'smarthub_audit_inserts')")"
check "the subscriber's log has no append-only error" 0 "$(logged 'append-only')"

# ---- a local session on the subscriber is refused everything, as on the primary ----
for sql in "UPDATE smarthub.audit_logs SET user_id = NULL" \
           "UPDATE smarthub.audit_logs SET action = 'FORGED'" \
           "DELETE FROM smarthub.audit_logs" \
           "TRUNCATE smarthub.audit_logs" \
           "SET session_replication_role = replica; UPDATE smarthub.audit_logs SET user_id = NULL" \
           "SET session_replication_role = replica; DELETE FROM smarthub.audit_logs" \
           "SET session_replication_role = replica; TRUNCATE smarthub.audit_logs"; do
    check "a superuser on the subscriber: $sql" 42501 "$(sqlstate $sport $db "$sql")"
done
check "and the subscriber still equals the primary" "$(digest $pport $db)" "$(digest $sport $db)"

# ---- changes no smarthub primary makes ----
# A smarthub primary cannot send them (its guard refuses them before they reach the WAL), so a
# forged publisher does: a database on the primary's cluster with a plain, unguarded table of the
# same name and columns, subscribed to by a subscriber database with smarthub installed. The bait
# table's trigger on the subscriber (ENABLE ALWAYS, so it fires in the apply worker) deletes from
# the audit log: a statement the worker runs, not a replicated change.
forger=smarthub_forger
pq postgres "CREATE DATABASE $forger"
run_p $forger <<'SQL'
CREATE SCHEMA smarthub;
CREATE TABLE smarthub.audit_logs (
    id uuid PRIMARY KEY, user_id uuid, entity_type varchar(100) NOT NULL, entity_id uuid NOT NULL,
    action varchar(50) NOT NULL, changes jsonb, ip_address inet, user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(), db_role text NOT NULL DEFAULT session_user,
    txid bigint NOT NULL DEFAULT txid_current());
INSERT INTO smarthub.audit_logs (id, user_id, entity_type, entity_id, action)
    SELECT ('00000000-0000-4000-8000-00000000000' || i)::uuid, '00000000-0000-4000-8000-0000000000aa',
           'forged', gen_random_uuid(), 'CREATE'
      FROM generate_series(1, 6) i;
CREATE TABLE public.bait (id int PRIMARY KEY);
CREATE PUBLICATION forged FOR TABLE smarthub.audit_logs, public.bait;
SQL
fdb=smarthub_forged
sq postgres "CREATE DATABASE $fdb"
run_s $fdb <<'SQL'
CREATE EXTENSION smarthub;
CREATE TABLE public.bait (id int PRIMARY KEY);
CREATE FUNCTION public.bait() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM smarthub.audit_logs;
    RETURN NEW;
END
$$;
CREATE TRIGGER bait BEFORE INSERT ON public.bait FOR EACH ROW EXECUTE FUNCTION public.bait();
ALTER TABLE public.bait ENABLE ALWAYS TRIGGER bait;
SQL
forged_sub() { sq $fdb "CREATE SUBSCRIPTION forged CONNECTION '$(conn postgres "" $forger)' PUBLICATION forged WITH (disable_on_error = true$1)" 2>/dev/null; }
f() { echo "'00000000-0000-4000-8000-00000000000$1'"; }
forged_sub ""
synced $fdb forged
check "the forged publisher's 6 rows are copied" 6 "$(sq $fdb "SELECT count(*) FROM smarthub.audit_logs")"
# What a smarthub primary does send is applied from any publisher: a SET NULL and a DELETE.
pq $forger "UPDATE smarthub.audit_logs SET user_id = NULL WHERE id = $(f 1)"
pq $forger "DELETE FROM smarthub.audit_logs WHERE id = $(f 2)"
caught_up forged
check "an UPDATE that only sets user_id to NULL, and a DELETE, are applied" "true|0|true" \
    "$(sq $fdb "SELECT (SELECT user_id IS NULL FROM smarthub.audit_logs WHERE id = $(f 1)) || '|' ||
                       (SELECT count(*) FROM smarthub.audit_logs WHERE id = $(f 2)) || '|' ||
                       (SELECT subenabled FROM pg_subscription WHERE subname = 'forged')")"
# Each refused change stops the subscription (disable_on_error), leaves the subscriber's rows as
# they were and is logged; a new subscription (no copy) then carries on after it.
refused() {   # LABEL FORGER-SQL SUBSCRIBER-SQL EXPECTED
    local before
    before=$(logged 'smarthub.audit_logs is append-only')
    pq $forger "$2"
    stopped $fdb forged
    check "$1 is refused: the subscription stops, nothing changed" "$4" "$(sq $fdb "$3")"
    check "$1: the refusal is logged" t "$([ "$(logged 'smarthub.audit_logs is append-only')" -gt "$before" ] && echo t)"
    sq $fdb "DROP SUBSCRIPTION forged" 2>/dev/null
    forged_sub ", copy_data = false"
}
refused "an UPDATE of another column" "UPDATE smarthub.audit_logs SET action = 'FORGED' WHERE id = $(f 3)" \
    "SELECT action FROM smarthub.audit_logs WHERE id = $(f 3)" CREATE
refused "an UPDATE that sets user_id to NULL and changes another column" \
    "UPDATE smarthub.audit_logs SET user_id = NULL, action = 'FORGED' WHERE id = $(f 4)" \
    "SELECT user_id || ' ' || action FROM smarthub.audit_logs WHERE id = $(f 4)" "00000000-0000-4000-8000-0000000000aa CREATE"
refused "an UPDATE that sets user_id to another user" \
    "UPDATE smarthub.audit_logs SET user_id = '00000000-0000-4000-8000-0000000000bb' WHERE id = $(f 5)" \
    "SELECT user_id FROM smarthub.audit_logs WHERE id = $(f 5)" "00000000-0000-4000-8000-0000000000aa"
refused "a TRUNCATE" "TRUNCATE smarthub.audit_logs" "SELECT count(*) FROM smarthub.audit_logs" 5
refused "a DELETE that a trigger runs in the apply worker" "INSERT INTO public.bait VALUES (1)" \
    "SELECT (SELECT count(*) FROM smarthub.audit_logs) || '|' || (SELECT count(*) FROM public.bait)" "5|0"
# The last new subscription applies what comes after: the forged publisher is still followed.
pq $forger "INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action) VALUES ($(f 7), 'forged', gen_random_uuid(), 'CREATE')"
caught_up forged
check "after the refusals, later rows still arrive" 1 "$(sq $fdb "SELECT count(*) FROM smarthub.audit_logs WHERE id = $(f 7)")"

# The documented subscription was not disturbed by any of it.
pq $db "SELECT smarthub.login('bob', 'bob-password-1')" >/dev/null
caught_up smarthub_audit
check "the documented subscription still streams, with no error" "$(digest $pport $db)|0" \
    "$(digest $sport $db)|$(sq $db "SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats WHERE subname = 'smarthub_audit'")"
