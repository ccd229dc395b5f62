#!/usr/bin/env bash
# TOTP against the outside world, on a cluster of its own (PGPORT + 360, room for 100 clients).
# - Interoperability with pyotp (Debian's python3-pyotp), an authenticator library: it parses the
#   otpauth URI totp_enroll returns into the same secret, issuer, account name, 6 digits, 30 s and
#   SHA-1; the URI it builds from those is smarthub's, but for the default parameters smarthub
#   spells out; the codes it generates now confirm the factor and verify, one step either side,
#   each step once.
# - Concurrency: two totp_verify calls with the same code, held at the factor's row lock until
#   both wait there, then let go: exactly one is true. 100 use_recovery_code calls with one code,
#   held the same way: exactly one is true.
# - RFC 6238 Appendix B (SHA-1) and RFC 4226 Appendix D under libfaketime (script/lib.sh installs
#   faketime): the server's clock is set to each vector's time through a FAKETIME_TIMESTAMP_FILE
#   that every backend re-reads, the RFC's secret "12345678901234567890" is put in as a factor
#   (encrypted by the DBA with the factor's context), and totp_verify accepts the published code
#   at that time, refuses it again (replay), and refuses it 90 s later.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3   # Debian's python with python3-pyotp; the python3 on PATH may lack it
dir=$(mktemp -d /tmp/smarthub-totp.XXXXXX)
port=$(free_port $((PGPORT + 360)))
db=smarthub_totp
cd "$dir"    # the server commands run as postgres, who cannot enter the checkout under /root
# on failure, the server log's end (the faked-clock cluster's, when it is the one that failed)
trap 'rc=$?; { jobs -p | xargs -r kill; } 2>/dev/null || true
      [ $rc -eq 0 ] || tail -n 25 "$dir/postgresql.log" | sed "s/^/  # /"
      stop_cluster "$dir"; rm -rf "$dir"' EXIT

umask 077
echo "1:$(openssl rand -hex 32)" > "$dir/keyring"
umask 022
start_cluster "$dir" "$port" "smarthub.keyring_file = '$dir/keyring'
max_connections = 150
autovacuum = off
timezone = 'UTC'"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/keyring"
export PGPORT=$port
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub" >/dev/null
q postgres "ALTER DATABASE $db SET smarthub.bcrypt_cost = 4"
psql_bg() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db "$@"; }
# Wait while fewer than $1 seconds are left of the current 30-second step.
settle() { $PY -c "import time; r = 30 - time.time() % 30; time.sleep(r + 0.2 if r < $1 else 0)"; }

# ---- pyotp reads smarthub's URI, and its codes verify ----
uid=$(q $db "SELECT smarthub.create_user('alice@example.com', 'alice', 'alice-password-1')")
IFS='|' read -r factor secret uri < <(q $db "SELECT factor_id || '|' || secret || '|' || otpauth_uri
                                              FROM smarthub.totp_enroll('$uid', 'Example Co. é', 'alice@example.com')")
check "pyotp $($PY -c 'import pyotp, importlib.metadata as m; print(m.version("pyotp"))' 2>/dev/null) parses the URI: TOTP, the secret, issuer, name, 6 digits, 30 s, SHA-1" \
    "TOTP|True|Example Co. é|alice@example.com|6|30|sha1" \
    "$(URI="$uri" SECRET="$secret" $PY -c '
import os, pyotp
t = pyotp.parse_uri(os.environ["URI"])
print("|".join(map(str, [type(t).__name__, t.secret == os.environ["SECRET"], t.issuer, t.name, t.digits, t.interval, t.digest().name])))' 2>&1)"
check "the URI pyotp builds from the same secret, name and issuer is smarthub's, less the defaults smarthub spells out" \
    "$uri" \
    "$(SECRET="$secret" $PY -c '
import os, pyotp
print(pyotp.TOTP(os.environ["SECRET"]).provisioning_uri(name="alice@example.com", issuer_name="Example Co. é")
      + "&algorithm=SHA1&digits=6&period=30")' 2>&1)"
# The step, then the codes pyotp makes from the URI it parsed for the previous, current and next
# step, all at one instant.
codes() { URI="$uri" $PY -c '
import os, time, pyotp
t, now = pyotp.parse_uri(os.environ["URI"]), time.time()
print(int(now // 30), " ".join(t.at(now, d) for d in (-1, 0, 1)))'; }
settle 8
read -r step prev now next < <(codes)
check "pyotp's current code confirms the factor" t "$(q $db "SELECT smarthub.totp_confirm('$factor', '$now')")"
check "the same code again: refused (its step is used)" f "$(q $db "SELECT smarthub.totp_verify('$uid', '$now')")"
check "the previous step's code: refused (before the last accepted step)" f "$(q $db "SELECT smarthub.totp_verify('$uid', '$prev')")"
check "the next step's code: accepted (one step ahead)" t "$(q $db "SELECT smarthub.totp_verify('$uid', '$next')")"
check "and only once" f "$(q $db "SELECT smarthub.totp_verify('$uid', '$next')")"

# ---- two concurrent totp_verify of one code: exactly one is true ----
# hold LOCK: lock the rows $1 selects, wait until $2 other backends wait for locks, commit. Prints
# how many waited.
hold() {
    psql_bg <<SQL &
BEGIN;
SELECT count(*) FROM ($1 FOR UPDATE) l \\g /dev/null
\\! touch "$dir/locked"
DO \$\$
BEGIN
    FOR i IN 1 .. 1200 LOOP
        EXIT WHEN (SELECT count(*) FROM pg_catalog.pg_locks WHERE NOT granted) >= $2;
        PERFORM pg_catalog.pg_sleep(0.05);
    END LOOP;
END
\$\$;
SELECT count(*) FROM pg_catalog.pg_locks WHERE NOT granted;
COMMIT;
SQL
    holder=$!
    for _ in $(seq 1 200); do [ -e "$dir/locked" ] && break; sleep 0.05; done
    rm -f "$dir/locked"
}
uid2=$(q $db "SELECT smarthub.create_user('bob@example.com', 'bob', 'bob-password-22')")
IFS='|' read -r factor2 secret2 uri < <(q $db "SELECT factor_id || '|' || secret || '|' || otpauth_uri
                                                FROM smarthub.totp_enroll('$uid2', 'Example', 'bob')")
settle 12
read -r step prev now next < <(codes)
check "bob's factor confirmed with the previous step's code" t "$(q $db "SELECT smarthub.totp_confirm('$factor2', '$prev')")"
hold "SELECT 1 FROM smarthub.mfa_factors WHERE id = '$factor2'" 2 > "$dir/held.2"
for i in 1 2; do psql_bg -c "SELECT smarthub.totp_verify('$uid2', '$now')" > "$dir/verify.$i" & done
wait
check "both calls waited at the row lock" 2 "$(cat "$dir/held.2")"
check "two concurrent totp_verify of one code: exactly one true" "f t" "$(sort "$dir"/verify.* | xargs)"
check "the code's step is the last one used, and the loser counted a failure" "$step|1" \
    "$(q $db "SELECT last_step || '|' || failures FROM smarthub.mfa_factors WHERE id = '$factor2'")"

# ---- 100 concurrent use_recovery_code of one code: exactly one is true ----
code=$(q $db "SELECT smarthub.generate_recovery_codes('$uid2', 1)")
hold "SELECT 1 FROM smarthub.recovery_codes WHERE user_id = '$uid2'" 100 > "$dir/held.100"
for i in $(seq 1 100); do psql_bg -c "SELECT smarthub.use_recovery_code('$uid2', '$code')" > "$dir/use.$i" & done
wait
check "all 100 calls waited at the row lock" 100 "$(cat "$dir/held.100")"
check "100 concurrent use_recovery_code of one code: exactly one true" "1 true, 99 false" \
    "$(echo "$(cat "$dir"/use.* | grep -cx t || true) true, $(cat "$dir"/use.* | grep -cx f || true) false")"
check "the code is used" t "$(q $db "SELECT used_at IS NOT NULL FROM smarthub.recovery_codes WHERE user_id = '$uid2'")"

# ---- RFC 6238 Appendix B and RFC 4226 Appendix D under a faked clock ----
faketime_lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n1 || true)
[ -n "$faketime_lib" ] && [ -e "$faketime_lib" ] \
    || { echo "  not ok - libfaketime.so.1: not found (dpkg -L libfaketime; script/lib.sh installs faketime)"; exit 1; }
# The vectors' secret is the 20 ASCII bytes "12345678901234567890". RFC 6238's are 8-digit codes,
# totp_verify takes 6: both are the same dynamic truncation, taken mod 10^8 or mod 10^6, so the
# 6-digit code is the 8-digit one's last 6 digits. pyotp confirms both readings of every vector.
rfc6238="59 94287082
1111111109 07081804
1111111111 14050471
1234567890 89005924
2000000000 69279037
20000000000 65353130"
# RFC 4226 Appendix D: HOTP of counters 0 to 9, which are the TOTP steps of seconds 0 to 299.
rfc4226="755224 287082 359152 969429 338314 254676 287922 162583 399871 520489"
check "the vectors in this script are the RFCs' (pyotp: 8 and 6 digits at each time, HOTP of each counter)" "ok" \
    "$(V6238="$rfc6238" V4226="$rfc4226" $PY -c '
import os, base64, pyotp
s = base64.b32encode(b"12345678901234567890").decode()
bad = [l for l in os.environ["V6238"].splitlines() if pyotp.TOTP(s, digits=8).at(int(l.split()[0])) != l.split()[1]
       or pyotp.TOTP(s).at(int(l.split()[0])) != l.split()[1][2:]]
bad += [c for i, c in enumerate(os.environ["V4226"].split()) if pyotp.HOTP(s).at(i) != c]
print("ok" if not bad else bad)' 2>&1)"

# Every backend reads the offset in this file at each look at the clock (FAKETIME_NO_CACHE).
clock="$dir/faketime"
echo "+0" > "$clock"
stop_cluster "$dir"
as_pg env LD_PRELOAD="$faketime_lib" FAKETIME_TIMESTAMP_FILE="$clock" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC \
    "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$dir/postgresql.log"; echo "  not ok - the cluster did not start under libfaketime"; exit 1; }
# set_clock T: the server's clock reads Unix time T from now on (and runs).
# (renamed into place: a backend that read the file while it was being written would see it empty,
# and libfaketime ends a process whose offset it cannot parse)
set_clock() { echo "$(printf '%+d' $(( $1 - $(date +%s) )))" > "$clock.new" && mv -f "$clock.new" "$clock"; }
server_time() { q postgres "SELECT extract(epoch FROM clock_timestamp())::bigint"; }
set_clock 1234567890
t=$(server_time)
check "the server's clock follows the file (2009-02-13 23:31:30 UTC)" t "$([ "$t" -ge 1234567890 ] && [ "$t" -le 1234567895 ] && echo t)"

# vector LABEL TIME CODE: a fresh confirmed factor with the RFC secret, judged at TIME + 90 s
# (3 steps on), then at TIME, then at TIME again.
vector() {
    local label=$1 at=$2 code=$3 user factor
    set_clock $((at + 200))    # away from the vector's steps while the factor is made
    user=$(q $db "SELECT smarthub.create_user('rfc$RANDOM$RANDOM@example.com', 'rfc-$RANDOM$RANDOM', 'rfc-password-1')")
    factor=$(q $db "INSERT INTO smarthub.mfa_factors (id, user_id, secret, issuer, account_label, confirmed_at)
                    SELECT f, '$user', smarthub.encrypt(convert_to('12345678901234567890', 'UTF8'), 'smarthub.mfa_factors.secret:' || f),
                           'RFC', '$label', now()
                      FROM (SELECT gen_random_uuid() AS f) x RETURNING id")
    set_clock $((at + 90))
    local later; later=$(q $db "SELECT smarthub.totp_verify('$user', '$code')")
    set_clock "$at"
    local first; first=$(q $db "SELECT smarthub.totp_verify('$user', '$code')")
    local again; again=$(q $db "SELECT smarthub.totp_verify('$user', '$code')")
    check "$label: $code refused 90 s on, accepted at $(date -u -d "@$at" '+%F %T' 2>/dev/null || echo "$at"), then refused (replay)" \
        "f t f" "$later $first $again"
}
while read -r at code8; do
    vector "RFC 6238 B, T = $at ($code8)" "$at" "${code8:2}"
done <<< "$rfc6238"
c=0
for code in $rfc4226; do
    vector "RFC 4226 D, counter $c" $((30 * c + 15)) "$code"
    c=$((c + 1))
done

if grep -qE 'terminated by signal|PANIC' "$dir/postgresql.log"; then
    echo "  not ok - the server's log shows a crash:"; grep -E 'terminated by signal|PANIC' "$dir/postgresql.log"; exit 1
fi
