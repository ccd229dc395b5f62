#!/usr/bin/env bash
# The audit chain (src/audit_chain.c, docs/audit-chain.md) across transactions, which a pgTAP file,
# one transaction, cannot show: what a seal takes and leaves (a transaction still open, rolled-back
# subtransactions), retention by whole blocks, the append-only chain and who may read, seal and
# verify it, checkpoints signed with the keyring's ed25519 key and checked by openssl, and anchors.
. "$(dirname "$0")/lib.sh"
db=smarthub_chain
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION pgcrypto" && q $db "CREATE EXTENSION smarthub"
q $db "DROP ROLE IF EXISTS chain_app" >/dev/null
run $db <<'SQL'
CREATE ROLE chain_app LOGIN;
SELECT smarthub.grant_access('chain_app');
CREATE TABLE public.items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v int NOT NULL);
GRANT SELECT, INSERT, UPDATE ON public.items TO chain_app;
SELECT smarthub.enable_audit('public.items');
SQL
admin=$(q $db "SELECT smarthub.create_user('admin@chain.test', 'chainadmin', 'correct horse 1')")
plain=$(q $db "SELECT smarthub.create_user('plain@chain.test', 'chainplain', 'correct horse 2')")
q $db "INSERT INTO smarthub.user_roles (user_id, role_id) SELECT '$admin', id FROM smarthub.roles WHERE name = 'admin'"
admin_tok=$(q $db "SELECT smarthub.login('chainadmin', 'correct horse 1')")
plain_tok=$(q $db "SELECT smarthub.login('chainplain', 'correct horse 2')")
as_admin="SELECT smarthub.authenticate_session('$admin_tok') IS NOT NULL AND smarthub.has_role('admin');"
as_plain="SELECT smarthub.authenticate_session('$plain_tok') IS NOT NULL AND NOT smarthub.has_role('admin');"
sqlstate() {   # sqlstate DB SQL [ROLE]: the SQLSTATE the statement fails with, or 'ok'
    local out
    out=$(PGOPTIONS="${3:+-c role=$3}" "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$1" -c "$2" 2>&1) \
        && { echo ok; return; }
    sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -1
}
verify() { q $db "SELECT ok || ' ' || blocks || ' ' || rows || ' ' || coalesce(first_bad_block::text, '-') FROM smarthub.audit_verify(${1:-})"; }

# -- what a seal takes: finished transactions only --------------------------------------------------
q $db "SELECT smarthub.audit_seal()" >/dev/null
base=$(q $db "SELECT count(*) FROM smarthub.audit_logs")
check "everything written so far is sealed" "$base" "$(q $db "SELECT coalesce(sum(row_count), 0) FROM smarthub.audit_blocks WHERE kind = 'seal'")"
q $db "INSERT INTO public.items (v) VALUES (1)"
fifo=$SMARTHUB_CLUSTER/chain_open.fifo
rm -f "$fifo"; mkfifo "$fifo"
"$PGBIN/psql" -X -qAt -d $db < "$fifo" > "$SMARTHUB_CLUSTER/chain_open.out" 2>&1 &
exec 7> "$fifo"
echo "BEGIN; INSERT INTO public.items (v) VALUES (-1); SELECT 'inserted';" >&7
for _ in $(seq 50); do grep -q inserted "$SMARTHUB_CLUSTER/chain_open.out" && break; sleep 0.1; done
run $db <<'SQL'
BEGIN;
INSERT INTO public.items (v) VALUES (2);
SAVEPOINT s;
INSERT INTO public.items (v) VALUES (-2);
ROLLBACK TO SAVEPOINT s;
INSERT INTO public.items (v) VALUES (3);
COMMIT;
SQL
# the horizon is the oldest transaction still running: what began after it waits with it
check "a seal takes what finished before the open transaction began, not the open one" 1 "$(q $db "SELECT smarthub.audit_seal()")"
check "a rolled-back subtransaction left no row" 0 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE changes -> 'after' ->> 'v' = '-2'")"
echo "COMMIT;" >&7
exec 7>&-
wait
check "once it commits, its row and those after it go into the next block" 3 "$(q $db "SELECT smarthub.audit_seal()")"
last=$(q $db "SELECT max(block_no) FROM smarthub.audit_blocks")
check "... whose range holds its txid" 1 "$(q $db "SELECT count(*) FROM smarthub.audit_logs a JOIN smarthub.audit_blocks b
    ON b.block_no = $last AND a.origin = b.origin AND a.txid >= b.txid_lo AND a.txid < b.txid_hi
    WHERE a.changes -> 'after' ->> 'v' = '-1'")"
check "nothing left to seal" 0 "$(q $db "SELECT smarthub.audit_seal()")"
check "every row in exactly one block" "$(q $db "SELECT count(*) FROM smarthub.audit_logs")" \
    "$(q $db "SELECT count(*) FROM smarthub.audit_logs a JOIN smarthub.audit_blocks b
        ON b.kind = 'seal' AND a.origin = b.origin AND a.txid >= b.txid_lo AND a.txid < b.txid_hi")"
check "verify: ok, all blocks and rows" "true $last $(q $db "SELECT count(*) FROM smarthub.audit_logs") -" "$(verify)"
check "a seal inside REPEATABLE READ: 25000" 25000 \
    "$(sqlstate $db "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT smarthub.audit_seal(); COMMIT")"

# -- deleting a user sets user_id NULL in its sealed rows: not tampering; any other change of it is
q $db "SELECT smarthub.audit_seal()" >/dev/null
gone=$(q $db "SELECT smarthub.create_user('gone@chain.test', 'chaingone', 'correct horse 3')")
q $db "SELECT smarthub.login('chaingone', 'correct horse 3')" >/dev/null
q $db "SELECT smarthub.audit_seal()" >/dev/null
q $db "DELETE FROM smarthub.users WHERE id = '$gone'"
q $db "SELECT smarthub.audit_seal()" >/dev/null
check "a deleted user's sealed rows lose user_id, keep actor_id" "0 1" \
    "$(q $db "SELECT count(*) FILTER (WHERE user_id IS NOT NULL) || ' ' || count(*) FROM smarthub.audit_logs WHERE actor_id = '$gone' AND action = 'LOGIN'")"
check "... and the chain still verifies" t "$(q $db "SELECT ok FROM smarthub.audit_verify()")"
row=$(q $db "SELECT id FROM smarthub.audit_logs WHERE actor_id = '$admin' AND user_id IS NOT NULL LIMIT 1")
block=$(q $db "SELECT b.block_no FROM smarthub.audit_logs a JOIN smarthub.audit_blocks b ON a.origin = b.origin
    AND a.txid >= b.txid_lo AND a.txid < b.txid_hi WHERE a.id = '$row'")
check "a sealed row's user_id moved to another user: its block" "false $block" "$(run $db <<SQL | tail -1
BEGIN;
ALTER TABLE smarthub.audit_logs DISABLE TRIGGER audit_logs_append_only;
UPDATE smarthub.audit_logs SET user_id = '$plain' WHERE id = '$row';
\pset format unaligned
\pset tuples_only on
SELECT ok || ' ' || first_bad_block FROM smarthub.audit_verify();
ROLLBACK;
SQL
)"

# -- the chain is append-only, for superusers too -------------------------------------------------
for stmt in "UPDATE smarthub.audit_blocks SET row_count = 0" "DELETE FROM smarthub.audit_blocks" \
            "TRUNCATE smarthub.audit_blocks"; do
    check "$stmt: 42501" 42501 "$(sqlstate $db "$stmt")"
    check "$stmt with session_replication_role = replica: 42501" 42501 \
        "$(sqlstate $db "SET session_replication_role = replica; $stmt")"
done

# -- who may read, seal and verify ------------------------------------------------------------------
for fn in "smarthub.audit_seal()" "smarthub.audit_checkpoint()" "smarthub.audit_signing_key()"; do
    check "chain_app: $fn is the DBA's (42501)" 42501 "$(sqlstate $db "SELECT $fn" chain_app)"
done
check "chain_app without identity: no block visible" 0 "$(PGOPTIONS='-c role=chain_app' q $db "SELECT count(*) FROM smarthub.audit_blocks")"
check "chain_app without identity: audit_verify refused (42501)" 42501 "$(sqlstate $db "SELECT * FROM smarthub.audit_verify()" chain_app)"
check "a non-admin identity: no block visible" "t 0 " \
    "$(PGOPTIONS='-c role=chain_app' q $db "$as_plain SELECT count(*) FROM smarthub.audit_blocks" | tr '\n' ' ')"
check "a non-admin identity: audit_verify refused (42501)" 42501 \
    "$(sqlstate $db "$as_plain SELECT * FROM smarthub.audit_verify()" chain_app)"
blocks=$(q $db "SELECT count(*) FROM smarthub.audit_blocks")
check "an admin identity reads every block" "t $blocks " \
    "$(PGOPTIONS='-c role=chain_app' q $db "$as_admin SELECT count(*) FROM smarthub.audit_blocks" | tr '\n' ' ')"
check "an admin identity verifies every row, whatever its own row-level security shows" "t $(verify)" \
    "$(PGOPTIONS='-c role=chain_app' q $db "$as_admin
        SELECT ok || ' ' || blocks || ' ' || rows || ' ' || coalesce(first_bad_block::text, '-') FROM smarthub.audit_verify()" | tr '\n' ' ' | sed 's/ $//')"
check "an admin identity still cannot change the chain (42501)" 42501 \
    "$(sqlstate $db "$as_admin DELETE FROM smarthub.audit_blocks" chain_app)"

# -- checkpoints: signed with the keyring's ed25519 key, verified by openssl -----------------------
last=$(q $db "SELECT max(block_no) FROM smarthub.audit_blocks")
cp=$SMARTHUB_CLUSTER/chain_checkpoint.json
q $db "SELECT smarthub.audit_checkpoint()" > "$cp"
check "without a signing key: no signature" "" "$(jq -r '.signature // empty' "$cp")"
check "the checkpoint is the head" "$last $(q $db "SELECT encode(block_hash, 'hex') FROM smarthub.audit_blocks WHERE block_no = $last")" \
    "$(jq -r '"\(.block) \(.hash)"' "$cp")"
keyring=$(q postgres "SHOW smarthub.keyring_file")
signed_keyring=$SMARTHUB_CLUSTER/chain_keyring
{ cat "$keyring"; echo "ed25519:$(openssl rand -hex 32)"; } > "$signed_keyring"
chmod 600 "$signed_keyring"; [ "$(id -u)" -eq 0 ] && chown postgres: "$signed_keyring"
q $db "ALTER DATABASE $db SET smarthub.keyring_file = '$signed_keyring'"
q $db "SELECT smarthub.audit_checkpoint()" > "$cp"
q $db "SELECT smarthub.audit_signing_key()" > "$SMARTHUB_CLUSTER/chain_key.pem"
jq -j '"smarthub-audit-checkpoint-v1\ndatabase \(.database)\nepoch \(.epoch)\nblock \(.block)\nhash \(.hash)\nrows \(.rows)\ntime \(.time)\n"' \
    "$cp" > "$SMARTHUB_CLUSTER/chain_checkpoint.txt"
jq -r .signature "$cp" | base64 -d > "$SMARTHUB_CLUSTER/chain_checkpoint.sig"
# openssl's exit status (its messages differ between versions)
pkeyutl_verify() {
    openssl pkeyutl -verify -pubin -inkey "$SMARTHUB_CLUSTER/chain_key.pem" -rawin \
        -in "$1" -sigfile "$SMARTHUB_CLUSTER/chain_checkpoint.sig" >/dev/null 2>&1 && echo verified || echo refused
}
check "openssl pkeyutl verifies the checkpoint's signature" verified "$(pkeyutl_verify "$SMARTHUB_CLUSTER/chain_checkpoint.txt")"
check "the public key in the checkpoint is the PEM one" \
    "$(openssl pkey -pubin -in "$SMARTHUB_CLUSTER/chain_key.pem" -outform DER | tail -c 32 | base64)" "$(jq -r .public_key "$cp")"
sed 's/"rows": \([0-9]*\)/"rows": 1\1/' "$cp" > "$SMARTHUB_CLUSTER/chain_forged.json"
jq -j '"smarthub-audit-checkpoint-v1\ndatabase \(.database)\nepoch \(.epoch)\nblock \(.block)\nhash \(.hash)\nrows \(.rows)\ntime \(.time)\n"' \
    "$SMARTHUB_CLUSTER/chain_forged.json" > "$SMARTHUB_CLUSTER/chain_forged.txt"
check "openssl refuses a checkpoint whose rows were changed" refused "$(pkeyutl_verify "$SMARTHUB_CLUSTER/chain_forged.txt")"

# -- anchors -------------------------------------------------------------------------------------------
check "verify against the checkpoint: ok" "true $last $(q $db "SELECT count(*) FROM smarthub.audit_logs") -" "$(verify "'$(cat "$cp")'")"
check "a checkpoint whose signature does not verify: audit_verify says false" "f" \
    "$(q $db "SELECT ok FROM smarthub.audit_verify('$(cat "$SMARTHUB_CLUSTER/chain_forged.json")')")"
check "... and the reason says so" "the anchor's signature does not verify with the keyring's signing key" \
    "$(q $db "SELECT reason FROM smarthub.audit_verify('$(cat "$SMARTHUB_CLUSTER/chain_forged.json")')")"
future=$(jq -c ".block = $((last + 5))" "$cp" | jq -c 'del(.signature)')
check "an anchor beyond the head: the newest blocks were removed" "false $((last + 1))" \
    "$(q $db "SELECT ok || ' ' || first_bad_block FROM smarthub.audit_verify('$future')")"
other=$(jq -c --arg h "$(printf '0%.0s' $(seq 64))" '.hash = $h | del(.signature)' "$cp")
check "an anchor whose hash differs: the chain was rewritten" "false $last" \
    "$(q $db "SELECT ok || ' ' || first_bad_block FROM smarthub.audit_verify('$other')")"
for bad in "'[]'" "'{}'" "'{\"format\": \"smarthub-audit-checkpoint-v1\", \"block\": \"x\", \"hash\": \"ab\"}'" \
           "'{\"format\": \"other\", \"block\": 1, \"hash\": \"ab\"}'"; do
    check "audit_verify($bad): 22023" 22023 "$(sqlstate $db "SELECT * FROM smarthub.audit_verify($bad)")"
done
check "audit_verify(NULL) is audit_verify()" "$(verify)" "$(verify NULL)"

# -- retention removes whole blocks, and says so in the chain ---------------------------------------
q $db "INSERT INTO public.items (v) SELECT g FROM generate_series(100, 104) g" >/dev/null
q $db "SELECT smarthub.audit_seal()" >/dev/null
before=$(q $db "SELECT max(block_no) FROM smarthub.audit_blocks")
sleep 1.1
q $db "INSERT INTO public.items (v) VALUES (200)"
purged=$(q $db "SELECT smarthub.purge_audit_logs('1 second')")
check "purge removes the rows of the blocks older than the cutoff" \
    "$(q $db "SELECT sum(row_count) FROM smarthub.audit_blocks WHERE kind = 'seal' AND block_no <= $before")" "$purged"
check "... and appends a purge block saying which" "purge $before $purged" \
    "$(q $db "SELECT kind || ' ' || pruned_through || ' ' || row_count FROM smarthub.audit_blocks ORDER BY block_no DESC LIMIT 1")"
check "the newer row stays" 1 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE changes -> 'after' ->> 'v' = '200'")"
check "verify after a purge: ok" t "$(q $db "SELECT ok FROM smarthub.audit_verify()")"
check "... and reports the pruning (and the PURGE row, written after the purge sealed)" \
    "the rows of blocks 1 to $before were removed by purge_audit_logs; 1 row is not sealed yet" \
    "$(q $db "SELECT reason FROM smarthub.audit_verify()")"
check "the old checkpoint still verifies: its block was pruned, not changed" t \
    "$(q $db "SELECT ok FROM smarthub.audit_verify('$(cat "$cp")')")"
check "a purge with nothing newly prunable appends no purge block" "0 1" \
    "$(q $db "SELECT smarthub.purge_audit_logs('1 hour')") $(q $db "SELECT count(*) FROM smarthub.audit_blocks WHERE kind = 'purge'")"

q $db "ALTER DATABASE $db RESET smarthub.keyring_file"
q postgres "DROP DATABASE $db"
q postgres "DROP ROLE chain_app"
