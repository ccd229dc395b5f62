#!/usr/bin/env bash
# script/audit-verify recomputes the audit chain from its two tables alone (Python's hashlib and
# psycopg, none of smarthub's code: docs/audit-chain.md is the contract) and agrees with
# smarthub.audit_verify(): ok with the same block and row counts on an intact chain of several
# seals and a purge, whose rows hold NULLs, unicode, nested jsonb with numbers, IPv4 and IPv6
# addresses and times before 1970 and 2000; and not ok, at the same first bad block, after each
# tampering a superuser can do with the guard triggers disabled: a sealed row changed, deleted,
# forged into a sealed or pruned range, two rows' ids swapped, a block row changed or removed, a
# partition dropped, and the newest blocks removed or rewritten, which only an anchor (a checkpoint
# saved before) shows. A shell test: the verifier is a program outside the database. Each
# tampering runs in its own copy of the database (CREATE DATABASE ... TEMPLATE).
. "$(dirname "$0")/lib.sh"
db=smarthub_verify_out
copy=smarthub_verify_out_tampered
verifier=$REPO/script/audit-verify
cp=$SMARTHUB_CLUSTER/verify_out_checkpoint.json
for d in $db $copy; do q postgres "DROP DATABASE IF EXISTS $d"; done
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION pgcrypto" && q $db "CREATE EXTENSION smarthub"

# anchor [FILE]: audit_verify's argument, the checkpoint in FILE or NULL
anchor() { if [ -n "${1:-}" ]; then echo "'$(cat "$1")'::jsonb"; else echo NULL; fi; }
# inside DB [ANCHOR_FILE]: smarthub.audit_verify()'s verdict, 'ok BLOCKS ROWS' or 'FAILED BLOCK'
inside() {
    q "$1" "SELECT CASE WHEN ok THEN 'ok ' || blocks || ' ' || rows ELSE 'FAILED ' || first_bad_block END
              FROM smarthub.audit_verify($(anchor "${2:-}"))"
}
# outside DB [ANCHOR_FILE]: script/audit-verify's, in the same form; exit 0 with ok, 1 with FAILED
outside() {
    local out rc
    out=$("$verifier" -d "$1" ${2:+--anchor "$2"} 2>/dev/null) && rc=0 || rc=$?
    case "$rc $out" in
        "0 ok blocks="*) sed -E 's/^ok blocks=([0-9]+) rows=([0-9]+)$/ok \1 \2/' <<<"$out" ;;
        "1 FAILED block="*) sed -E 's/^FAILED block=(-?[0-9]+) reason=.*/FAILED \1/' <<<"$out" ;;
        *) echo "exit $rc: $out" ;;
    esac
}
# reasons DB [ANCHOR_FILE]: both verifiers' reasons for failing, for the log
reasons() {
    echo "    audit_verify:        $(q "$1" "SELECT coalesce(reason, '') FROM smarthub.audit_verify($(anchor "${2:-}")) WHERE NOT ok")"
    echo "    script/audit-verify: $("$verifier" -d "$1" ${2:+--anchor "$2"} 2>/dev/null | sed -n 's/^FAILED block=[0-9-]* reason=//p')"
}
# The ids of block N's rows, as SQL: every row of its origin whose txid is in its range.
block_rows() {
    echo "SELECT a.id FROM smarthub.audit_logs a JOIN smarthub.audit_blocks b ON b.block_no = $1
           AND a.origin = b.origin AND a.txid >= b.txid_lo AND a.txid < b.txid_hi"
}
seal() { q $db "SELECT smarthub.audit_seal()" >/dev/null; }
# A seal cuts its rows into a block per UTC day: start well clear of midnight, or the numbers shift.
to_midnight=$(( 86400 - $(date -u +%s) % 86400 ))
[ "$to_midnight" -gt 120 ] || sleep $((to_midnight + 1))

# -- an intact chain: 1 to 3 sealed and pruned, 4 the purge's split, 5 the purge, 6 to 8 sealed ------
for u in ann bob cay; do q $db "SELECT smarthub.create_user('$u@verify.test', '$u', 'correct horse $u')" >/dev/null; done
seal                                                                        # 1: three users
run $db >/dev/null <<'SQL'
CREATE TABLE public.t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), k int UNIQUE NOT NULL,
                       name text, note text, data jsonb, amount numeric, seen timestamptz);
SELECT smarthub.enable_audit('public.t');
INSERT INTO public.t (k, name, note, data, amount, seen) VALUES
    (1, 'plain', NULL, NULL, NULL, NULL),
    (2, 'héllo wörld ✓ 日本語 😀', E'naïve "quoted" \\ back\nslash', '{"a": [1, 2.50, -3e2, {"b": null, "c": true}],
      "d": {"e": "ünï", "f": 1.0000000000000000001}, "big": 12345678901234567890, "neg": -0.0}', 3.14159,
     '2026-01-02 03:04:05.123456+00'),
    (3, '', 'x', '[]', -1, '1969-12-31 23:59:59.999999+00');
SQL
seal                                                                        # 2: inserts
run $db >/dev/null <<'SQL'
BEGIN;
SELECT smarthub.set_request_context('10.0.0.1', 'agent');
UPDATE public.t SET note = 'changed', data = jsonb_set(data, '{d,e}', '"x"') WHERE k = 2;
DELETE FROM public.t WHERE k = 3;
COMMIT;
UPDATE public.t SET name = NULL, amount = 0.000001 WHERE k = 1;
SQL
seal                                                                        # 3: updates, deletes
early=$(q $db "SELECT count(*) FROM smarthub.audit_logs")
check "before the purge, blocks 1 to 3: audit_verify() and script/audit-verify agree" "ok 3 $early|ok 3 $early" \
    "$(inside $db)|$(outside $db)"
sleep 2.2
q $db "INSERT INTO public.t (k, name, data, amount) VALUES (4, 'after the cutoff', '{\"k\": {\"l\": [[], {}]}}', 1e-20)"
# retention seals first, the row newer than the cutoff in a block of its own (4), then prunes 1 to 3 (5)
q $db "SELECT smarthub.purge_audit_logs('2 seconds')" >/dev/null
run $db >/dev/null <<'SQL'
BEGIN;
SELECT smarthub.set_request_context('10.0.0.1', 'agent');
INSERT INTO public.t (k, name, note, data, amount, seen)
    VALUES (5, 'fünf ✓ 日本 😀', 'with context', '{"n": [1, 2, 3]}', 5, now());
UPDATE public.t SET data = '{"nested": {"deeper": {"deepest": [1, {"x": "ÿ"}]}}}' WHERE k = 2;
COMMIT;
BEGIN;
SELECT smarthub.set_request_context('2001:db8::1', 'agent/2 (ünï)');
DELETE FROM public.t WHERE k = 4;
COMMIT;
-- rows of another writer: no context, NULL changes, times before 1970 and before 2000 (PostgreSQL's epoch)
INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, changes, ip_address, created_at) VALUES
    ('00000000-0000-4000-8000-0000000000a1', 'moon', '00000000-0000-4000-8000-000000000001', 'LAND', NULL, NULL,
     '1969-07-20 20:17:40.000001+00'),
    ('00000000-0000-4000-8000-0000000000a2', 'y2k', '00000000-0000-4000-8000-000000000002', 'TICK', '{}', '192.168.0.0/16',
     '1999-12-31 23:59:59.999999+00');
SQL
seal                                                                        # 6: the PURGE row and more
run $db >/dev/null <<'SQL'
CREATE TABLE smarthub.audit_logs_2025_01 PARTITION OF smarthub.audit_logs
    FOR VALUES FROM (smarthub.uuid_v7_bound('2025-01-01 00:00+00')) TO (smarthub.uuid_v7_bound('2025-02-01 00:00+00'));
INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, changes, created_at)
    SELECT (left(smarthub.uuid_v7_bound('2025-01-15 00:00+00')::text, 24) || lpad(to_hex(i), 12, '0'))::uuid,
           'old', gen_random_uuid(), 'OLD', jsonb_build_object('i', i),
           '2025-01-15 00:00+00'::timestamptz + i * interval '1 microsecond'
      FROM generate_series(1, 5) i;
SQL
seal                                                                        # 7: an old month's partition
run $db >/dev/null <<'SQL'
UPDATE public.t SET seen = '2000-01-01 00:00+00' WHERE k = 5;
SELECT smarthub.login('ann', 'correct horse ann') IS NOT NULL;
SQL
seal                                                                        # 8: the head
check "the chain: four seals, a purge of 1 to 3, three seals" "1:seal 2:seal 3:seal 4:seal 5:purge:3 6:seal 7:seal 8:seal" \
    "$(q $db "SELECT string_agg(concat_ws(':', block_no, kind, pruned_through), ' ' ORDER BY block_no) FROM smarthub.audit_blocks")"
rows=$(q $db "SELECT count(*) FROM smarthub.audit_logs")
check "every row left is sealed, in blocks 4, 6, 7, 8" "$rows" \
    "$(q $db "SELECT sum(row_count) FROM smarthub.audit_blocks WHERE block_no IN (4, 6, 7, 8)")"
check "the rows left hold IPv6, a network, unicode, NULL changes, a time before 1970" "t|t|t|t|t" \
    "$(q $db "SELECT bool_or(family(ip_address) = 6), bool_or(masklen(ip_address) = 16), bool_or(user_agent = 'agent/2 (ünï)'),
                     bool_or(changes IS NULL), bool_or(created_at < 'epoch') FROM smarthub.audit_logs")"
check "audit_verify(): ok, 8 blocks, every row" "ok 8 $rows" "$(inside $db)"
check "script/audit-verify: the same" "ok 8 $rows" "$(outside $db)"
check "script/audit-verify says so in one line and exits 0" "ok blocks=8 rows=$rows" "$("$verifier" -d $db 2>/dev/null)"
check "... with the connection from libpq's environment" "ok blocks=8 rows=$rows" "$(PGDATABASE=$db "$verifier" 2>/dev/null)"
q $db "SELECT smarthub.audit_checkpoint()" > "$cp"
check "with the checkpoint as anchor: both ok" "ok 8 $rows|ok 8 $rows" "$(inside $db "$cp")|$(outside $db "$cp")"

# -- tamperings, each in a copy of the database, as a superuser past the guards --------------------
# tamper LABEL EXPECTED SQL [ANCHOR_FILE]: both verifiers of the tampered copy say EXPECTED
tamper() {
    local label=$1 expected=$2 sql=$3 anchor=${4:-}
    q postgres "CREATE DATABASE $copy TEMPLATE $db"
    run $copy >/dev/null <<SQL
ALTER TABLE smarthub.audit_logs DISABLE TRIGGER audit_logs_append_only;
ALTER TABLE smarthub.audit_blocks DISABLE TRIGGER audit_blocks_append_only;
$sql
SQL
    [ "${expected%% *}" = FAILED ] && reasons $copy "$anchor"
    check "$label: audit_verify()" "$expected" "$(inside $copy "$anchor")"
    check "$label: script/audit-verify" "$expected" "$(outside $copy "$anchor")"
    q postgres "DROP DATABASE $copy"
}

tamper "a sealed row's changes" "FAILED 6" \
    "UPDATE smarthub.audit_logs SET changes = jsonb_set(changes, '{after,amount}', '6')
      WHERE id IN ($(block_rows 6)) AND changes -> 'after' ->> 'amount' = '5'"
tamper "a sealed row's address" "FAILED 6" \
    "UPDATE smarthub.audit_logs SET ip_address = '10.0.0.2' WHERE id IN ($(block_rows 6)) AND ip_address = '10.0.0.1'"
tamper "a sealed row's time, by a microsecond before 1970" "FAILED 6" \
    "UPDATE smarthub.audit_logs SET created_at = created_at + interval '1 microsecond'
      WHERE id = '00000000-0000-4000-8000-0000000000a1'"
tamper "a sealed row's db_role" "FAILED 8" \
    "UPDATE smarthub.audit_logs SET db_role = 'nobody' WHERE id IN ($(block_rows 8)) AND action = 'LOGIN'"
tamper "a sealed row's user agent set NULL" "FAILED 6" \
    "UPDATE smarthub.audit_logs SET user_agent = NULL WHERE user_agent = 'agent/2 (ünï)'"
tamper "a sealed row deleted" "FAILED 7" \
    "DELETE FROM smarthub.audit_logs WHERE id = ($(block_rows 7) ORDER BY a.id DESC LIMIT 1)"
tamper "a row forged into a sealed block's range" "FAILED 6" \
    "INSERT INTO smarthub.audit_logs (entity_type, entity_id, action, txid)
         SELECT 'forged', gen_random_uuid(), 'CREATE', txid_lo FROM smarthub.audit_blocks WHERE block_no = 6"
tamper "a row forged into a pruned block's range: reported at the last pruned block" "FAILED 3" \
    "INSERT INTO smarthub.audit_logs (entity_type, entity_id, action, txid, created_at)
         SELECT 'forged', gen_random_uuid(), 'CREATE', txid_lo, '2020-01-01' FROM smarthub.audit_blocks WHERE block_no = 2"
tamper "two sealed rows' ids swapped" "FAILED 6" "
DO \$\$
DECLARE a uuid; b uuid;
BEGIN
    SELECT a.id INTO a FROM ($(block_rows 6)) r JOIN smarthub.audit_logs a USING (id)
     WHERE a.entity_type = 't' ORDER BY id LIMIT 1;
    SELECT a.id INTO b FROM ($(block_rows 6)) r JOIN smarthub.audit_logs a USING (id)
     WHERE a.entity_type = 't' ORDER BY id DESC LIMIT 1;
    UPDATE smarthub.audit_logs SET id = (left(a::text, 24) || 'ffffffffffff')::uuid WHERE id = a;
    UPDATE smarthub.audit_logs SET id = a WHERE id = b;
    UPDATE smarthub.audit_logs SET id = b WHERE id = (left(a::text, 24) || 'ffffffffffff')::uuid;
END
\$\$;"
tamper "a block's row_count" "FAILED 6" "UPDATE smarthub.audit_blocks SET row_count = row_count - 1 WHERE block_no = 6"
tamper "the head's newest_at" "FAILED 8" \
    "UPDATE smarthub.audit_blocks SET newest_at = newest_at - interval '1 microsecond' WHERE block_no = 8"
tamper "a pruned block's block_hash: the next block's link breaks" "FAILED 3" \
    "UPDATE smarthub.audit_blocks SET block_hash = sha256(block_hash) WHERE block_no = 2"
tamper "the purge block prunes less: block 3's rows are missing" "FAILED 3" \
    "UPDATE smarthub.audit_blocks SET pruned_through = 2 WHERE block_no = 5"
tamper "a block removed from the middle, with its rows" "FAILED 6" \
    "DELETE FROM smarthub.audit_logs WHERE id IN ($(block_rows 6)); DELETE FROM smarthub.audit_blocks WHERE block_no = 6"
tamper "a partition dropped" "FAILED 7" "DROP TABLE smarthub.audit_logs_2025_01"

# the newest block removed with its rows: an intact, shorter chain, which only the anchor shows
head_rows=$(q $db "SELECT row_count FROM smarthub.audit_blocks WHERE block_no = 8")
remove_head="DELETE FROM smarthub.audit_logs WHERE id IN ($(block_rows 8));
DELETE FROM smarthub.audit_blocks WHERE block_no = 8"
tamper "the newest block removed, no anchor: ok" "ok 7 $((rows - head_rows))" "$remove_head"
tamper "the newest block removed, with the anchor" "FAILED 8" "$remove_head" "$cp"
# rewritten: the head removed, a row of it changed, sealed again; only the anchor's hash differs
rewrite="DELETE FROM smarthub.audit_blocks WHERE block_no = 8;
UPDATE smarthub.audit_logs SET user_agent = 'someone else' WHERE action = 'LOGIN';
SELECT smarthub.audit_seal();"
tamper "the newest block rewritten, no anchor: ok" "ok 8 $rows" "$rewrite"
tamper "the newest block rewritten, with the anchor" "FAILED 8" "$rewrite" "$cp"
sed -E 's/"hash": "[0-9a-f]{64}"/"hash": "'"$(printf '0%.0s' $(seq 64))"'"/' "$cp" > "$cp.other"
check "an anchor with another hash: both fail at its block" "FAILED 8|FAILED 8" \
    "$(inside $db "$cp.other")|$(outside $db "$cp.other")"

# -- the verifier's own errors: exit 2 ---------------------------------------------------------------
echo '{"format": "other", "block": 1, "hash": "ab"}' > "$cp.bad"
rc=0; "$verifier" -d $db --anchor "$cp.bad" >/dev/null 2>&1 || rc=$?
check "an anchor that is no checkpoint: exit 2" 2 "$rc"
rc=0; "$verifier" -d smarthub_verify_out_missing >/dev/null 2>&1 || rc=$?
check "a database that does not exist: exit 2" 2 "$rc"
rc=0; "$verifier" --no-such-option >/dev/null 2>&1 || rc=$?
check "a usage error: exit 2" 2 "$rc"
rm -f "$cp" "$cp.other" "$cp.bad"
q postgres "DROP DATABASE $db"
