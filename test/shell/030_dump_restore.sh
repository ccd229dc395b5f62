#!/usr/bin/env bash
# pg_dump / pg_restore round trip into a fresh database keeps every row exactly once, the system
# roles included once, and the contents identical, the audit chain too: the restored database
# verifies, in this cluster (the chain goes on) and in another one (a new epoch that links to the
# old head and seals the rows the source had not). The restore runs with session_replication_role
# = replica (README, "Backup and restore"), so the audit triggers that CREATE EXTENSION installs do
# not add audit rows for the rows being restored; an audited user table keeps its configuration.
. "$(dirname "$0")/lib.sh"
src=smarthub_dump_src dst=smarthub_dump_dst
for d in $src $dst; do q postgres "DROP DATABASE IF EXISTS $d"; q postgres "CREATE DATABASE $d"; done
q $src "CREATE EXTENSION smarthub"
run $src <<'SQL'
INSERT INTO smarthub.users (id, email, username, password_hash) VALUES
  ('00000000-0000-0000-0000-000000000001', 'a@b.io', 'a', 'x'), ('00000000-0000-0000-0000-000000000002', 'c@d.io', 'c', 'y');
INSERT INTO smarthub.roles (name, description) VALUES ('editor', 'Edits');
INSERT INTO smarthub.user_roles (user_id, role_id, assigned_by)
  SELECT '00000000-0000-0000-0000-000000000001', id, '00000000-0000-0000-0000-000000000002' FROM smarthub.roles WHERE name IN ('admin', 'editor');
INSERT INTO smarthub.api_keys (user_id, key_hash, name) VALUES ('00000000-0000-0000-0000-000000000001', repeat('c', 64), 'ci');
INSERT INTO smarthub.sessions (user_id, token_hash, expires_at) VALUES ('00000000-0000-0000-0000-000000000002', repeat('d', 64), '2030-01-01');
INSERT INTO smarthub.one_time_tokens (user_id, purpose, token_hash, email, expires_at) VALUES ('00000000-0000-0000-0000-000000000002', 'email_verification', repeat('e', 64), 'c@d.io', '2030-01-01');
INSERT INTO smarthub.entities (entity_type, owner_id, data) VALUES ('doc', '00000000-0000-0000-0000-000000000001', '{"k": [1, 2]}');
INSERT INTO smarthub.audit_logs (entity_type, entity_id, action, changes) VALUES ('doc', gen_random_uuid(), 'TEST', '{"x": 1}');
CREATE TABLE public.notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text, pin text, seen_at timestamptz);
DO $$ BEGIN PERFORM smarthub.enable_audit('public.notes', '{pin}', '{seen_at}', 'note'); END $$;
INSERT INTO public.notes (body, pin) VALUES ('hello', '1234');
UPDATE smarthub.users SET first_name = 'A' WHERE username = 'a';
-- partitions made after CREATE EXTENSION, one of them with rows (an old month, as a year-old log has)
SELECT smarthub.create_audit_partitions(2);
CREATE TABLE smarthub.audit_logs_2025_01 PARTITION OF smarthub.audit_logs
    FOR VALUES FROM (smarthub.uuid_v7_bound('2025-01-01 00:00+00')) TO (smarthub.uuid_v7_bound('2025-02-01 00:00+00'));
INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, created_at)
    SELECT (left(smarthub.uuid_v7_bound('2025-01-15 00:00+00')::text, 24) || lpad(to_hex(i), 12, '0'))::uuid,
           'old', gen_random_uuid(), 'OLD', '2025-01-15 00:00+00' FROM generate_series(1, 5) i;
SELECT smarthub.audit_seal();
-- and one change the dump takes before it is sealed
UPDATE smarthub.users SET last_name = 'B' WHERE username = 'a';
-- a second factor and recovery codes (without audit rows: the chain's counts below stay as they are)
SET session_replication_role = replica;
INSERT INTO smarthub.mfa_factors (user_id, secret, issuer, account_label, confirmed_at, last_step)
    VALUES ('00000000-0000-0000-0000-000000000001', '\x0100000001', 'Dump Co', 'a', now(), 12345);
INSERT INTO smarthub.recovery_codes (user_id, code_hash, used_at)
    VALUES ('00000000-0000-0000-0000-000000000001', repeat('e', 64), NULL), ('00000000-0000-0000-0000-000000000001', repeat('f', 64), now());
UPDATE smarthub.sessions SET aal = 'aal2';
RESET session_replication_role;
SQL
dump=$SMARTHUB_CLUSTER/dump_roundtrip.pgdump
"$PGBIN/pg_dump" -Fc -f "$dump" $src
PGOPTIONS='-c session_replication_role=replica' "$PGBIN/pg_restore" --exit-on-error -d $dst "$dump"
snapshot() {
    local db=$1 t
    for t in users roles user_roles api_keys sessions one_time_tokens audit_logs audit_blocks entities mfa_factors recovery_codes; do
        filter=""; [ $t = roles ] && filter="WHERE NOT is_system"
        echo "$t $(q $db "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM smarthub.$t x $filter")"
    done
    # system roles come from the install script: all but their install-time timestamps must match
    echo "notes $(q $db "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM public.notes x")"
    echo "audited $(q $db "SELECT string_agg(concat_ws(':', table_name, entity_type, id_column, excluded_columns, ignored_columns, enabled), ',' ORDER BY table_name::text) FROM smarthub.audited_tables")"
    echo "system roles $(q $db "SELECT string_agg(concat_ws(':', id, name, description), ',' ORDER BY name) FROM smarthub.roles WHERE is_system")"
    echo "partitions $(q $db "SELECT string_agg(c.relname || ':' || pg_get_expr(c.relpartbound, c.oid) || ':' || (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'audit_logs_%' AND t.tgenabled = 'A'), ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'smarthub.audit_logs'::regclass")"
    echo "old month $(q $db "SELECT count(*) FROM smarthub.audit_logs_2025_01")"
}
before=$(snapshot $src) after=$(snapshot $dst)
echo "$after" | sed 's/^/    /'
check "every table identical after restore" "$before" "$after"
check "system roles exactly once" 4 "$(q $dst "SELECT count(*) FROM smarthub.roles WHERE is_system")"
check "the old month partition and its 5 rows came back, guards included" "old month 5" "$(grep '^old month' <<<"$after")"
check "audit rows in the source: 2 users, role, 2 user_roles, api key, entity, note, 2 user updates, test row, 5 old" 16 \
    "$(q $src "SELECT count(*) FROM smarthub.audit_logs")"
# the restored database audits as the source did
q $dst "UPDATE public.notes SET pin = '9999', body = 'bye'"
check "restored audit trigger still redacts" '{"after": {"pin": "[redacted]", "body": "bye"}, "before": {"pin": "[redacted]", "body": "hello"}}' \
    "$(q $dst "SELECT changes FROM smarthub.audit_logs WHERE entity_type = 'note' AND action = 'UPDATE'")"

# the audit chain: the restored copy verifies as the source does, and sealing goes on there
vq() { q "$1" "SELECT ok || ' ' || blocks || ' ' || rows || ' ' || coalesce(first_bad_block::text, '-') || ' ' || coalesce(reason, '') FROM smarthub.audit_verify()"; }
check "the source's chain verifies, one row unsealed" "true 1 15 - 1 row is not sealed yet" "$(vq $src)"
check "the restored chain verifies the same (with the note's update unsealed too)" "true 1 15 - 2 rows are not sealed yet" "$(vq $dst)"
check "in this cluster the chain goes on: the unsealed row and the note's update, same epoch" "2 1 2" \
    "$(q $dst "SELECT smarthub.audit_seal()") $(q $dst "SELECT max(epoch) || ' ' || count(*) FROM smarthub.audit_blocks")"
check "... and verifies" "true 2 17 - " "$(vq $dst)"

# another cluster: its txids are not the source's, so its first seal starts epoch 2
other=$SMARTHUB_CLUSTER/dump_other
oport=$((PGPORT + 330))
start_cluster "$other" "$oport" ""
trap 'stop_cluster "$other"' EXIT
PGPORT=$oport q postgres "CREATE DATABASE $dst"
PGPORT=$oport PGOPTIONS='-c session_replication_role=replica' "$PGBIN/pg_restore" --exit-on-error -d $dst "$dump"
check "restored elsewhere: the chain verifies before any seal" "$(vq $src)" "$(PGPORT=$oport vq $dst)"
PGPORT=$oport q $dst "UPDATE public.notes SET body = 'elsewhere'"
check "the first seal there: the source's unsealed row in a block of epoch 2, then this cluster's" \
    "2|2 $(q $src "SELECT smarthub.audit_origin()") 1|2 $(PGPORT=$oport q $dst "SELECT smarthub.audit_origin()") 1" \
    "$(PGPORT=$oport q $dst "SELECT smarthub.audit_seal()")|$(PGPORT=$oport q $dst "SELECT string_agg(epoch || ' ' || origin || ' ' || row_count, '|' ORDER BY block_no) FROM smarthub.audit_blocks WHERE block_no > 1")"
check "... linked to the old head" t \
    "$(PGPORT=$oport q $dst "SELECT b.prev_hash = a.block_hash FROM smarthub.audit_blocks a JOIN smarthub.audit_blocks b ON b.block_no = 2 WHERE a.block_no = 1")"
check "... and it verifies" "true 3 17 - " "$(PGPORT=$oport vq $dst)"
stop_cluster "$other"; trap - EXIT

for d in $src $dst; do q postgres "DROP DATABASE $d"; done
