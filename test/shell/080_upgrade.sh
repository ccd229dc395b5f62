#!/usr/bin/env bash
# From every released version, ALTER EXTENSION smarthub UPDATE gives exactly what a fresh install
# of the current version gives (upgrade/catalog.sql describes the catalog: functions with their
# attributes and ACLs, columns in order, defaults, constraints, indexes, policies, triggers and
# their enabled state, event triggers, grants, comments, extension membership, dump
# registrations), keeps every row, and keeps working: keys and sessions verify, logins work, audit
# audits, encrypted values decrypt, one-time tokens work (and set_password works on the old
# version with the new library, before the update). A self-check proves the comparison sees each
# kind of object that an upgrade script could miss.
. "$(dirname "$0")/lib.sh"
here=$REPO/test/shell/upgrade
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/smarthub.control")
# Released versions: the frozen install scripts, oldest first.
mapfile -t released < <(ls "$REPO"/sql/smarthub--*.sql | sed -n 's/.*smarthub--\([0-9.]*\)\.sql$/\1/p' \
    | grep -vx "$current" | sort -V)
[ ${#released[@]} -gt 0 ] || { echo "  not ok - no released version to upgrade from"; exit 1; }
app=smarthub_upgrade_app
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

describe() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$1" -f "$here/catalog.sql"; }
fresh_db() { q postgres "DROP DATABASE IF EXISTS $1"; q postgres "CREATE DATABASE $1"; }
# Every row of every extension table, restricted to the columns listed (those of the old version).
rows() {
    local db=$1 t cols
    while IFS='|' read -r t cols; do
        echo "$t $(q "$db" "SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), ''))
                           FROM (SELECT $cols FROM $t) r")"
    done < "$work/columns"
}

fresh=smarthub_upgrade_fresh
for db in $fresh "${released[@]/#/smarthub_upgrade_from_}"; do q postgres "DROP DATABASE IF EXISTS ${db//./_}"; done
q postgres "DROP ROLE IF EXISTS $app"
q postgres "CREATE ROLE $app LOGIN NOINHERIT"
fresh_db $fresh
q $fresh "CREATE EXTENSION smarthub"
q $fresh "SELECT smarthub.grant_access('$app')" >/dev/null
describe $fresh > "$work/fresh"

for from in "${released[@]}"; do
    db=smarthub_upgrade_from_${from//./_}
    fresh_db $db
    q $db "CREATE EXTENSION smarthub VERSION '$from'"
    run $db < "$here/fill.sql"
    q $db "SELECT smarthub.grant_access('$app')" >/dev/null
    # the current library on a database not yet updated: set_password works, with no one-time
    # tokens to void
    check "$from: set_password works before the update" "" \
        "$(q $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.set_password(user_id, 'bob-password') FROM public.upgrade_secrets WHERE what = 'bob'")"
    q $db "SELECT c.oid::regclass, string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum)
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relnamespace = 'smarthub'::regnamespace AND c.relkind IN ('r', 'p')
            GROUP BY c.oid ORDER BY 1" > "$work/columns"
    rows $db > "$work/rows_before"
    audit_rows=$(q $db "SELECT count(*) FROM smarthub.audit_logs")

    q $db "ALTER EXTENSION smarthub UPDATE"
    check "$from: updated to $current" "$current" "$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'smarthub'")"
    q $db "SELECT smarthub.grant_access('$app')" >/dev/null   # README, "Upgrading": re-run for each application role
    describe $db > "$work/upgraded"
    if ! diff -u "$work/fresh" "$work/upgraded" > "$work/diff"; then
        echo "  not ok - $from: the upgraded catalog differs from a fresh $current (- fresh, + upgraded):"
        cat "$work/diff"; exit 1
    fi
    echo "  ok - $from: the upgraded catalog equals a fresh $current ($(wc -l < "$work/fresh") lines)"
    rows $db > "$work/rows_after"
    check "$from: every row of $(wc -l < "$work/columns") tables kept" "$(cat "$work/rows_before")" "$(cat "$work/rows_after")"
    check "$from: the audit rows it had are sealed in a first block" "1 1 $audit_rows" \
        "$(q $db "SELECT count(*) || ' ' || min(block_no) || ' ' || sum(row_count) FROM smarthub.audit_blocks")"
    check "$from: and verify" "true 1 $audit_rows -" \
        "$(q $db "SELECT ok || ' ' || blocks || ' ' || rows || ' ' || coalesce(first_bad_block::text, '-') FROM smarthub.audit_verify()")"

    secret() { q $db "SELECT value FROM public.upgrade_secrets WHERE what = '$1'"; }
    user_of() { q $db "SELECT user_id FROM public.upgrade_secrets WHERE what = '$1'"; }
    check "$from: the API key still verifies" "$(user_of key)" "$(q $db "SELECT smarthub.verify_key('$(secret key)')")"
    check "$from: the session still verifies" "$(user_of session)" "$(q $db "SELECT smarthub.verify_session('$(secret session)')")"
    token=$(q $db "SELECT smarthub.login('bob', 'bob-password')")
    check "$from: login works" "$(user_of bob)" "$(q $db "SELECT smarthub.verify_session('$token')")"
    check "$from: the old session is aal1" aal1 \
        "$(q $db "SELECT aal FROM smarthub.sessions WHERE token_hash = encode(sha256(convert_to('$(secret session)', 'UTF8')), 'hex')")"
    check "$from: a second factor can be enrolled" "1 1" \
        "$(q $db "SELECT count(*) FROM smarthub.totp_enroll('$(user_of bob)', 'Upgrade Co', 'bob')") $(q $db "SELECT count(*) FROM smarthub.mfa_factors WHERE confirmed_at IS NULL")"
    check "$from: the encrypted value decrypts" "plain words" "$(q $db "SELECT smarthub.decrypt_text(value, 'secrets') FROM public.upgrade_secrets WHERE what = 'ciphertext'")"
    check "$from: the encrypted column decrypts" "a sealed note" "$(q $db "SELECT convert_from(smarthub.decrypt(note, 'orders.note'), 'UTF8') FROM public.orders")"
    q $db "UPDATE public.orders SET item = 'more books', card = '5500'"
    check "$from: audit still audits, redacting" \
        '{"after": {"card": "[redacted]", "item": "more books"}, "before": {"card": "[redacted]", "item": "books"}}' \
        "$(q $db "SELECT changes FROM smarthub.audit_logs WHERE entity_type = 'order' AND action = 'UPDATE'
                   ORDER BY created_at DESC, txid DESC LIMIT 1")"
    # The application role, after the re-run grant_access: it authenticates with the old key and
    # sees through RLS what an admin sees.
    check "$from: the application role authenticates with the old key" "$(user_of key)|1" \
        "$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -U $app -d $db <<SQL
BEGIN;
SELECT smarthub.authenticate_key('$(secret key)') || '|' || (SELECT count(*) FROM smarthub.entities WHERE name = 'Vostok');
COMMIT;
SQL
)"
    # one-time tokens, new in 1.1: a magic link logs in; an email change voids a reset link
    link=$(q $db "SELECT smarthub.create_magic_link('bob')")
    session=$(q $db "SELECT smarthub.login_with_magic_link('$link')")
    check "$from: a magic link logs in" "$(user_of bob)" "$(q $db "SELECT smarthub.verify_session('$session')")"
    reset=$(q $db "SELECT smarthub.request_password_reset('bob@example.com')")
    q $db "UPDATE smarthub.users SET email = 'bob.new@example.com' WHERE username = 'bob'"
    check "$from: an email change voids a reset token" "" "$(q $db "SELECT smarthub.reset_password('$reset', 'another-password')")"
done

# 1.1 refuses empty usernames, blanks around them and control characters, which 1.0 accepted:
# an upgrade over such an account stops, changes nothing, and says what to do.
db=smarthub_upgrade_bad_username
fresh_db $db
q $db "CREATE EXTENSION smarthub VERSION '1.0'"
q $db "INSERT INTO smarthub.users (email, username, password_hash) VALUES ('blank@example.com', '  ', 'x'), ('tab@example.com', E'a\\tb', 'x')"
out=$("$PGBIN/psql" -X -qAt -v VERBOSITY=verbose -d $db -c "ALTER EXTENSION smarthub UPDATE" 2>&1 | head -n 1) || true
check "an upgrade over bad usernames stops with 23514 and a count" \
    "ERROR:  23514: 2 smarthub user(s) have an empty username, blanks around it, or control characters in it" "$out"
check "and leaves the database at 1.0" 1.0 "$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'smarthub'")"
q $db "UPDATE smarthub.users SET username = 'blank' WHERE email = 'blank@example.com'"
q $db "UPDATE smarthub.users SET username = 'tab' WHERE email = 'tab@example.com'"
q $db "ALTER EXTENSION smarthub UPDATE"
check "once they are renamed it upgrades" "$current" "$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'smarthub'")"
q postgres "DROP DATABASE $db"

# Self-check: each change below is what an upgrade script that missed an object would leave, and
# the comparison must report it. Each runs in a transaction that is rolled back.
mutations=(
    "ALTER EXTENSION smarthub DROP FUNCTION smarthub.key_id(bytea); DROP FUNCTION smarthub.key_id(bytea)"
    "ALTER FUNCTION smarthub.verify_key(text) IMMUTABLE"
    "ALTER FUNCTION smarthub.verify_key(text) CALLED ON NULL INPUT"
    "ALTER FUNCTION smarthub.verify_key(text) PARALLEL RESTRICTED"
    "ALTER FUNCTION smarthub.login(text, text, inet, text, interval) SECURITY DEFINER"
    "ALTER FUNCTION smarthub.login(text, text, inet, text, interval) RESET search_path"
    "GRANT EXECUTE ON FUNCTION smarthub.key_id(bytea) TO PUBLIC"
    "COMMENT ON FUNCTION smarthub.key_id(bytea) IS NULL"
    "ALTER TABLE smarthub.entities ADD COLUMN extra integer"
    "ALTER TABLE smarthub.entities ALTER COLUMN name SET DEFAULT 'x'"
    "ALTER TABLE smarthub.api_keys DROP CONSTRAINT key_length"
    "DROP INDEX smarthub.idx_entities_data"
    "DROP POLICY users_update ON smarthub.users"
    "ALTER TABLE smarthub.users DISABLE TRIGGER set_updated_at"
    "ALTER EVENT TRIGGER smarthub_audit_ddl DISABLE"
    "GRANT SELECT ON smarthub.users TO $app"
    "COMMENT ON COLUMN smarthub.users.email IS NULL"
    "ALTER EXTENSION smarthub DROP VIEW smarthub.table_sizes"
    "UPDATE pg_extension SET extcondition[1] = 'WHERE false' WHERE extname = 'smarthub'"
    "ALTER TABLE smarthub.entities NO FORCE ROW LEVEL SECURITY; ALTER TABLE smarthub.entities DISABLE ROW LEVEL SECURITY"
)
for m in "${mutations[@]}"; do
    { echo "BEGIN; $m;"; cat "$here/catalog.sql"; echo "ROLLBACK;"; } \
        | "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $fresh > "$work/mutated"
    if cmp -s "$work/fresh" "$work/mutated"; then
        echo "  not ok - the comparison misses: $m"; exit 1
    fi
done
echo "  ok - the comparison sees each of ${#mutations[@]} kinds of missed upgrade step"

for from in "${released[@]}"; do q postgres "DROP DATABASE smarthub_upgrade_from_${from//./_}"; done
q postgres "DROP DATABASE $fresh"
q postgres "DROP ROLE $app"
