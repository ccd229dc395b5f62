#!/usr/bin/env bash
# The keyring file on reload: refused as a whole for wrong permissions, a FIFO or a device (at
# once), a malformed line, a duplicate id or a second or malformed ed25519 signing key (55000 with a detail naming the file and line); re-read on every reload even when
# the path is unchanged (rotation: add key 3, old rows still decrypt, reencrypt moves them, removing
# key 1 makes key-1 rows fail with 22023); hidden from application roles; absent from pg_dump and
# the server log. Uses its own keyring files through ALTER SYSTEM and restores the setting at exit.
. "$(dirname "$0")/lib.sh"
db=smarthub_keyring_test
app=smarthub_enc_app_shell
kdir=$SMARTHUB_CLUSTER/keyring_test
psql_app() { "$PGBIN/psql" -X -qAt -U $app -d $db "$@"; }

restore() {
    q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null 2>&1 || true
    q postgres "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
trap restore EXIT

hex() { openssl rand -hex 32 2>/dev/null || { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; echo; }; }
k1=$(hex) k2=$(hex) k3=$(hex)


mkdir -p "$kdir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$kdir"
q postgres "DROP DATABASE IF EXISTS $db"
q postgres "DROP ROLE IF EXISTS $app"
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
run $db <<'SQL'
CREATE FUNCTION public.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || ' | ' || det;
END $$;
CREATE TABLE public.secrets (id int PRIMARY KEY, v bytea NOT NULL, t text NOT NULL);
SQL

# --- key 1 only: rows 1-3 under key 1 ---
printf '1:%s\n' "$k1" | keyring main 600
use_keyring main
q $db "INSERT INTO public.secrets SELECT i, smarthub.encrypt(convert_to('Plaintext-Surname-' || i, 'UTF8'), 'secrets.v:' || i),
         smarthub.encrypt_text('Plaintext-Note-' || i, 'secrets.t:' || i) FROM generate_series(1, 3) i"
check "rows 1-3 under key 1" "1,1,1" "$(q $db "SELECT string_agg(smarthub.key_id(v)::text, ',' ORDER BY id) FROM public.secrets")"

# --- refused keyrings: all or nothing, 55000 with a detail naming the file and the problem ---
printf '1:%s\n' "$k1" | keyring world 644
use_keyring world
check "world-readable file refused" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/world\": permissions 0644 give access to group or others; it must be readable only by the server's OS user (chmod 600)." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
chmod 640 "$kdir/world"
reload
check "group-readable file refused" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/world\": permissions 0640 give access to group or others; it must be readable only by the server's OS user (chmod 600)." \
    "$(q $db "SELECT err('SELECT smarthub.decrypt(v, ''secrets.v:1'') FROM public.secrets WHERE id = 1')")"
chmod 600 "$kdir/world"
reload
check "the same file once chmod 600: accepted" "Plaintext-Surname-1" \
    "$(q $db "SELECT convert_from(smarthub.decrypt(v, 'secrets.v:1'), 'UTF8') FROM public.secrets WHERE id = 1")"

printf '# ring\n1:%s\n2:%s0\n' "$k1" "$k2" | keyring bad 600
use_keyring bad
check "a malformed line refuses the whole keyring, with its line number" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: the key must be exactly 64 hexadecimal digits." \
    "$(q $db "SELECT err('SELECT smarthub.decrypt(v, ''secrets.v:1'') FROM public.secrets WHERE id = 1')")"
printf '1:%s\n\nx2:%s\n' "$k1" "$k2" | keyring bad 600
reload
check "a line without a numeric id: line 3" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: expected \"<key id>:<64 hexadecimal digits>\"." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt_text(''x'')')")"
printf '0:%s\n' "$k1" | keyring bad 600
reload
check "key id 0: line 1" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 1: the key id must be an integer between 1 and 2147483647." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
printf '1:%s\n2:%s\n1:%s\n' "$k1" "$k2" "$k3" | keyring bad 600
reload
check "a duplicate id refuses the whole keyring" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: duplicate key id 1." \
    "$(q $db "SELECT err('SELECT smarthub.reencrypt(v, ''secrets.v:1'') FROM public.secrets WHERE id = 1')")"
printf '1:%s\ned25519:%s\ned25519:%s\n' "$k1" "$k2" "$k3" | keyring bad 600
reload
check "a second ed25519 signing key refuses the whole keyring" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: a second ed25519 signing key." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
printf '1:%s\ned25519:%s\n' "$k1" "${k2:0:62}" | keyring bad 600
reload
check "a short ed25519 key refuses it, and the signing functions say so" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 2: the ed25519 key must be exactly 64 hexadecimal digits." \
    "$(q $db "SELECT err('SELECT smarthub.audit_signing_key()')")"
printf 'ed25519:%s\n' "$k2" | keyring bad 600
reload
check "a signing key alone loads, and encrypts nothing" \
    "55000: the encryption keyring holds no encryption key | " \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
printf '# nothing here\n\n' | keyring bad 600
reload
check "a keyring without keys is refused" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": contains no keys." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
check "key_id still works without a keyring" "1" "$(q $db "SELECT smarthub.key_id(v) FROM public.secrets WHERE id = 1")"
head -c 1048577 /dev/zero | tr '\0' '#' | keyring bad 600
reload
check "a file over 1 MB is refused" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": larger than 1048576 bytes." \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"
# A FIFO would make open() wait for a writer, in a backend that cannot be cancelled: it is
# refused at once (timeout: a hang fails the test instead of stalling it), and so is a device.
rm -f "$kdir/fifo"; mkfifo -m 600 "$kdir/fifo"; [ "$(id -u)" -eq 0 ] && chown postgres: "$kdir/fifo"
use_keyring fifo
check "a FIFO is refused at once" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/fifo\": not a regular file." \
    "$(timeout 20 "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db -c "SELECT err('SELECT smarthub.encrypt(''x'')')" 2>&1)"
q postgres "ALTER SYSTEM SET smarthub.keyring_file = '/dev/zero'" >/dev/null
reload
check "a device is refused" \
    "55000: the encryption keyring was refused | Keyring file \"/dev/zero\": not a regular file." \
    "$(timeout 20 "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db -c "SELECT err('SELECT smarthub.encrypt(''x'')')" 2>&1)"
printf '# comment\r\n\r\n  1:%s  \r\n\t# another\n' "$k1" | keyring crlf 600
use_keyring crlf
check "comments, blank lines, blanks around a line and CRLF line ends are accepted" "Plaintext-Surname-2" \
    "$(q $db "SELECT convert_from(smarthub.decrypt(v, 'secrets.v:2'), 'UTF8') FROM public.secrets WHERE id = 2")"
q postgres "ALTER SYSTEM SET smarthub.keyring_file = ''" >/dev/null
reload
check "an empty setting: 55000, not configured" "55000: no encryption keyring is configured | " \
    "$(q $db "SELECT err('SELECT smarthub.encrypt(''x'')')")"

# --- rotation on the same path: a reload re-reads the file even though the setting is unchanged ---
use_keyring main
printf '1:%s\n2:%s\n' "$k1" "$k2" | keyring main 600
reload
q $db "INSERT INTO public.secrets SELECT i, smarthub.encrypt(convert_to('Plaintext-Surname-' || i, 'UTF8'), 'secrets.v:' || i),
         smarthub.encrypt_text('Plaintext-Note-' || i, 'secrets.t:' || i) FROM generate_series(4, 5) i"
check "key 2 added on the same path encrypts" "1,1,1,2,2" \
    "$(q $db "SELECT string_agg(smarthub.key_id(v)::text, ',' ORDER BY id) FROM public.secrets")"
# one backend across a reload: the keyring it holds is replaced, not kept
out=$(run $db <<SQL 2>&1
\\pset format unaligned
\\pset tuples_only on
SELECT smarthub.key_id(smarthub.encrypt('x'));
\\! printf '3:%s\n1:%s\n2:%s\n' "$k3" "$k1" "$k2" > "$kdir/main"
SELECT pg_reload_conf();
SELECT pg_sleep(1);
SELECT smarthub.key_id(smarthub.encrypt('x'));
SQL
)
check "an open session picks up key 3 after pg_reload_conf (ids in any order)" "$(printf '2\nt\n\n3')" "$out"
check "old rows still decrypt under key 3's keyring" \
    "Plaintext-Surname-1,Plaintext-Surname-2,Plaintext-Surname-3,Plaintext-Surname-4,Plaintext-Surname-5" \
    "$(q $db "SELECT string_agg(convert_from(smarthub.decrypt(v, 'secrets.v:' || id), 'UTF8'), ',' ORDER BY id) FROM public.secrets")"
q $db "UPDATE public.secrets SET v = smarthub.reencrypt(v, 'secrets.v:' || id),
         t = encode(smarthub.reencrypt(decode(t, 'base64'), 'secrets.t:' || id), 'base64') WHERE id <> 3"
check "reencrypt moves rows to key 3 (row 3 left behind)" "1:3,2:3,3:1,4:3,5:3" \
    "$(q $db "SELECT string_agg(id || ':' || smarthub.key_id(v), ',' ORDER BY id) FROM public.secrets")"
check "rows still under key 1 are easy to find" "3" "$(q $db "SELECT string_agg(id::text, ',') FROM public.secrets WHERE smarthub.key_id(v) = 1")"
printf '2:%s\n3:%s\n' "$k2" "$k3" | keyring main 600
reload
check "key 1 removed: its row fails with 22023" \
    "22023: encrypted value uses key 1, which is not in the keyring | " \
    "$(q $db "SELECT err('SELECT smarthub.decrypt(v, ''secrets.v:3'') FROM public.secrets WHERE id = 3')")"
check "the re-encrypted rows still decrypt" \
    "Plaintext-Note-1,Plaintext-Note-2,Plaintext-Note-4,Plaintext-Note-5" \
    "$(q $db "SELECT string_agg(smarthub.decrypt_text(t, 'secrets.t:' || id), ',' ORDER BY id) FROM public.secrets WHERE id <> 3")"
check "a ciphertext moved to another row fails" "22023: encrypted value failed authentication | Either the context differs from the one it was encrypted with, or the value was altered." \
    "$(q $db "SELECT err('SELECT smarthub.decrypt(v, ''secrets.v:2'') FROM public.secrets WHERE id = 1')")"

# --- application role: the setting is hidden ---
# Until a session loads smarthub the setting is an untyped placeholder that anyone may SHOW; so
# README has the library preloaded (here for this database only, as README shows).
q postgres "CREATE ROLE $app LOGIN"
q postgres "ALTER DATABASE $db SET session_preload_libraries = 'smarthub'"
# The SQLSTATE, not the text: PostgreSQL 16 reworded the message.
out=$(psql_app -v VERBOSITY=sqlstate -c "SHOW smarthub.keyring_file" 2>&1 || true)
check "an application role is refused SHOW smarthub.keyring_file" "ERROR:  42501" "$out"
out=$(psql_app -c "SELECT count(*) FROM pg_settings WHERE name = 'smarthub.keyring_file'" 2>&1)
check "nor sees it in pg_settings" "0" "$out"

# --- nothing secret in a dump or the server log ---
dump=$kdir/secrets.sql
"$PGBIN/pg_dump" -t public.secrets -f "$dump" $db
check "the dump holds the five rows" "5" "$(sed -n '/^COPY public.secrets/,/^\\\./p' "$dump" | grep -c '^[0-9]')"
check "no plaintext in the dump" "0" "$(grep -c -i -e 'plaintext' -e "$(printf Plaintext | od -An -tx1 | tr -d ' \n')" "$dump" || true)"
check "no key in the dump" "0" "$(grep -c -i -e "$k1" -e "$k2" -e "$k3" "$dump" || true)"
check "no key in the server log" "0" "$(grep -c -i -e "$k1" -e "$k2" -e "$k3" "$SMARTHUB_CLUSTER/postgresql.log" || true)"

q postgres "DROP DATABASE $db"
q postgres "DROP ROLE $app"
q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null
reload
check "the original keyring setting is back" "$SMARTHUB_CLUSTER/keyring" "$(q postgres "LOAD 'smarthub'; SHOW smarthub.keyring_file" | tail -1)"
rm -rf "$kdir"
