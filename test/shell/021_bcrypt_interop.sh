#!/usr/bin/env bash
# bcrypt interoperability: known-answer vectors (Openwall's crypt_blowfish and OpenBSD's test sets),
# hashes made now by Debian's python3-bcrypt and by pgcrypto all verify under smarthub (and a wrong
# password does not); our $2b$ hashes verify under python3-bcrypt, and relabelled $2a$ under
# pgcrypto's crypt(), which cannot read $2b$ itself. Also: the key checksum is CRC-32 as zlib
# computes it; and errors never log a statement holding a password. Low costs keep it fast.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3   # Debian's python with python3-bcrypt; the python3 on PATH may lack it
db=smarthub_interop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION pgcrypto"
q $db "CREATE EXTENSION smarthub"
q $db "CREATE TABLE v (src text, pw text, hash text)"

# Known answers and python3-bcrypt hashes, as SQL (passwords include non-ASCII UTF-8 and 72 bytes).
"$PY" - > "$work/vectors.sql" <<'PY'
import bcrypt
def lit(s): return "'" + s.replace("'", "''") + "'"
kat = [  # Openwall crypt_blowfish wrapper.c tests, then OpenBSD regress / pyca bcrypt vectors
    ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
    ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
    ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
    ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
     "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"),
    ("U*U", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("Kk4DQuMMfZL9o", "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"),
    ("9IeRXmnGxMYbs", "$2b$04$pQ7gRO7e6wx/936oXhNjrOUNOHL1D0h1N2IDbJZYs.1ppzSof6SPy"),
    ("xVQVbwa1S0M8r", "$2b$04$SQe9knOzepOVKoYXo9xTteNYr6MBwVz4tpriJVe3PNgYufGIsgKcW"),
    ("", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."),
    ("a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"),
    ("abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"),
    ("abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"),
    ("~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"),
]
for pw, h in kat:
    assert bcrypt.checkpw(pw.encode(), h.encode())  # the vector itself is right
    print(f"INSERT INTO v VALUES ('kat', {lit(pw)}, {lit(h)});")
for pw in ["correct horse battery staple", "pässwörd ünïcödé ☃", "x" * 72, "a", "O'Reilly \"quoted\" \\ back"]:
    for prefix, rounds in ((b"2b", 4), (b"2a", 5)):
        h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()
        print(f"INSERT INTO v VALUES ('python-{prefix.decode()}', {lit(pw)}, {lit(h)});")
PY
run $db < "$work/vectors.sql"
q $db "INSERT INTO v SELECT 'pgcrypto', pw, public.crypt(pw, public.gen_salt('bf', 4)) FROM (SELECT DISTINCT pw FROM v WHERE src LIKE 'python%') p"
q $db "SET smarthub.bcrypt_cost = 4; INSERT INTO v SELECT 'smarthub', pw, smarthub.hash_password(pw) FROM (SELECT DISTINCT pw FROM v WHERE src LIKE 'python%') p"

counts() { q $db "SELECT string_agg(src || '=' || n, ' ' ORDER BY src) FROM (SELECT src, count(*) AS n FROM v WHERE $1 GROUP BY src) c"; }
all="kat=15 pgcrypto=5 python-2a=5 python-2b=5 smarthub=5"
check "every hash verifies with its password" "$all" "$(counts "smarthub.verify_password(pw, hash)")"
check "no hash verifies with a wrong password" "" "$(counts "smarthub.verify_password(pw || '!', hash)")"
check "no hash verifies with its password's first byte changed" "" \
    "$(counts "pw <> '' AND smarthub.verify_password(chr(ascii(pw) # 1) || substr(pw, 2), hash)")"
check "hash formats: python 2a/2b, pgcrypto 2a, smarthub 2b" "pgcrypto=5 python-2a=5 python-2b=5 smarthub=5" \
    "$(counts "src <> 'kat' AND hash ~ ('^\\\$' || CASE WHEN src IN ('python-2b', 'smarthub') THEN '2b' ELSE '2a' END || '\\\$0[45]\\\$')")"

# our hashes under the other implementations
"$PGBIN/psql" -X -qAt -F $'\t' -d $db -c "SELECT pw, hash FROM v WHERE src = 'smarthub'" > "$work/ours.tsv"
check "our \$2b\$ hashes verify under python3-bcrypt" "5 ok" "$("$PY" - "$work/ours.tsv" <<'PY'
import bcrypt, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
# the wrong password has its first byte changed and the same length: python3-bcrypt 3.x truncates
# at 72 bytes, so a suffix added to the 72-byte password would still "match" there (the bypass
# smarthub refuses), and 4.1 and later (Debian 13+) refuse a password over 72 bytes
def wrong(pw): return chr(ord(pw[0]) ^ 1) + pw[1:]
good = sum(bcrypt.checkpw(pw.encode(), h.encode()) and not bcrypt.checkpw(wrong(pw).encode(), h.encode()) for pw, h in rows)
print(good, "ok")
PY
)"
check "our hashes relabelled \$2a\$ verify under pgcrypto crypt()" "5" \
    "$(q $db "SELECT count(*) FROM (SELECT pw, overlay(hash PLACING 'a' FROM 3) AS h FROM v WHERE src = 'smarthub') s WHERE public.crypt(pw, h) = h")"
check "... and not with a wrong password" "0" \
    "$(q $db "SELECT count(*) FROM (SELECT pw, overlay(hash PLACING 'a' FROM 3) AS h FROM v WHERE src = 'smarthub') s WHERE public.crypt('!' || pw, h) = h")"
check "pgcrypto accepts the 72-byte password plus a suffix (truncation); smarthub does not" "pgcrypto=1 smarthub=0" \
    "$(q $db "SELECT 'pgcrypto=' || count(*) FILTER (WHERE public.crypt(pw || '!', hash) = hash)
                  || ' smarthub=' || count(*) FILTER (WHERE smarthub.verify_password(pw || '!', hash))
                FROM v WHERE src = 'pgcrypto' AND length(pw) = 72")"
check "pgcrypto cannot read \$2b\$ as it is (it falls through to DES)" "0" \
    "$(q $db "SELECT count(*) FROM v WHERE src = 'smarthub' AND public.crypt(pw, hash) = hash")"

# key and token checksums: CRC-32 (zlib) of the first 36 characters, 6 base62 digits
q $db "INSERT INTO smarthub.users (id, email, username, password_hash) VALUES ('00000000-0000-4000-a000-00000000000a', 'k@example.com', 'k', 'x')"
{
    for i in 1 2 3; do q $db "SELECT key FROM smarthub.create_api_key('00000000-0000-4000-a000-00000000000a')"; done
    for i in 1 2 3; do q $db "SELECT smarthub.create_session('00000000-0000-4000-a000-00000000000a')"; done
} > "$work/keys.txt"
check "key and token checksums are zlib CRC-32 in base62" "6 of 6" "$("$PY" - "$work/keys.txt" <<'PY'
import sys, zlib
a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def b62(n):
    s = ""
    for _ in range(6):
        s = a[n % 62] + s; n //= 62
    return s
keys = [l.strip() for l in open(sys.argv[1]) if l.strip()]
good = sum(len(k) == 42 and k[:4] in ("shk_", "shs_") and b62(zlib.crc32(k[:36].encode())) == k[36:] for k in keys)
print(good, "of", len(keys))
PY
)"
q postgres "DROP DATABASE $db"

# Errors raised inside the functions that take a password never log the statement (which holds it),
# even when they come from deeper down (a unique violation, a read-only transaction).
log="$SMARTHUB_CLUSTER/postgresql.log"
marker="pw-$$-$RANDOM$RANDOM"
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q $db "INSERT INTO smarthub.users (email, username, password_hash) VALUES ('k@example.com', 'k', 'x')"
for sql in "SELECT smarthub.create_user('K@example.com', 'k2', '$marker')" \
           "SELECT smarthub.create_user('k3@example.com', 'k3', '$marker', roles => ARRAY['nope'])" \
           "SELECT smarthub.set_password('00000000-0000-4000-a000-0000000000ff', '$marker')" \
           "SELECT smarthub.hash_password('$marker', 40)" \
           "SELECT smarthub.verify_password('$marker', '\$2b\$20\$' || repeat('.', 53))" \
           "SET TRANSACTION READ ONLY; SELECT smarthub.login('k', '$marker')" \
           "SELECT length('control-$marker') / 0"; do
    "$PGBIN/psql" -X -q -d $db -c "SET log_min_error_statement = error" -c "BEGIN; $sql" >/dev/null 2>&1 || true
done
check "the control statement is logged (so the check below can fail)" 1 "$(grep -c "control-$marker" "$log")"
check "no statement holding a password is logged" 0 "$(grep -v "control-$marker" "$log" | grep -c "$marker")"
q postgres "DROP DATABASE $db"
