#!/usr/bin/env bash
# No password, key, token (session, email verification, password reset, magic link), JWT, TOTP
# secret, recovery code or hash of one ever reaches the server log (run at log_min_messages =
# debug1, log_statement = none) or the audit log. Runs last, so the log it searches holds what
# every earlier suite did; it adds a scenario of its own whose secrets it knows, including failures.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3   # Debian's python with python3-pyotp; the python3 on PATH may lack it
db=smarthub_secrets
log=$SMARTHUB_CLUSTER/postgresql.log
check "the server logs at debug1 without statements" "debug1|none" "$(q postgres "SELECT current_setting('log_min_messages') || '|' || current_setting('log_statement')")"
q postgres "DROP DATABASE IF EXISTS $db"; q postgres "CREATE DATABASE $db"
trap 'q postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
q $db "CREATE EXTENSION smarthub"
q $db "SELECT smarthub.enable_audit('smarthub.sessions', excluded_columns => '{token_hash}')" >/dev/null
pw1=Secret-Password-One-$RANDOM pw2=Secret-Password-Two-$RANDOM
uid=$(q $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.create_user('leak@example.com', 'leak', '$pw1')" | tail -1)
q $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.set_password('$uid', '$pw2')" >/dev/null
token=$(q $db "SELECT smarthub.login('leak', '$pw2', '10.1.2.3', 'ua')")
q $db "SELECT smarthub.login('leak', '$pw1')" >/dev/null                      # wrong password
q $db "SELECT smarthub.login('nobody', '$pw2')" >/dev/null                    # unknown login
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid', 'k')")
q $db "SELECT smarthub.verify_key('$key'), smarthub.verify_session('$token')" >/dev/null
q $db "SELECT smarthub.verify_key('${key}x'), smarthub.verify_key(substr('$key', 1, 20))" >/dev/null
"$PGBIN/psql" -X -qAt -d $db -c "SELECT smarthub.hash_password('$pw1', 99)" >/dev/null 2>&1 || true
"$PGBIN/psql" -X -qAt -d $db -c "SELECT smarthub.verify_password('$pw1', '\$2b\$04\$broken')" >/dev/null 2>&1 || true
# a refused create_user: the constraint's "Failing row" detail would show the new hash
refused=$("$PGBIN/psql" -X -qAt -d $db -c "SET smarthub.bcrypt_cost = 4" -c "SELECT smarthub.create_user('not-an-email', 'leak2', '$pw1')" 2>&1 || true)
check "a refused create_user says why" t "$(grep -q 'email_format' <<<"$refused" && echo t)"
check "a refused create_user shows no hash" 0 "$(grep -cE '\$2[aby]\$' <<<"$refused" || true)"
jwt=$(q $db "SELECT smarthub.issue_jwt('$token')")
q $db "SELECT smarthub.verify_jwt('$jwt'), smarthub.authenticate_jwt('$jwt'), smarthub.verify_jwt('${jwt}x')" >/dev/null
"$PGBIN/psql" -X -qAt -d $db -c "SELECT smarthub.issue_jwt('$token', '5 days')" >/dev/null 2>&1 || true   # 22023
# a second factor: enrolment, a code from pyotp, wrong and malformed codes, recovery codes
IFS='|' read -r factor totp_secret totp_uri < <(q $db "SELECT factor_id || '|' || secret || '|' || otpauth_uri
                                                      FROM smarthub.totp_enroll('$uid', 'Leak Co', 'leak')")
totp_now=$(SECRET="$totp_secret" $PY -c 'import os, pyotp; print(pyotp.TOTP(os.environ["SECRET"]).now())')
q $db "SELECT smarthub.totp_confirm('$factor', '$totp_now')" >/dev/null
q $db "SELECT smarthub.totp_verify('$uid', '$totp_now'), smarthub.totp_verify('$uid', 'not a code')" >/dev/null
mapfile -t rcodes < <(q $db "SELECT smarthub.generate_recovery_codes('$uid', 3)")
q $db "SELECT smarthub.use_recovery_code('$uid', '${rcodes[0]}'), smarthub.use_recovery_code('$uid', '${rcodes[0]}')" >/dev/null
q $db "SELECT smarthub.verify_session_mfa('$token', '${rcodes[1]}')" >/dev/null
"$PGBIN/psql" -X -qAt -d $db -c "SELECT smarthub.totp_enroll('$uid', 'Leak:Co', 'leak')" >/dev/null 2>&1 || true   # 22023
# one-time tokens: made, redeemed, refused (a bad password, a spent or mistyped token)
pw3=Secret-Password-Three-$RANDOM
vtoken=$(q $db "SELECT smarthub.create_email_verification('$uid')")
rtoken=$(q $db "SELECT smarthub.request_password_reset('leak@example.com')")
q $db "SELECT smarthub.request_password_reset('nobody@example.com')" >/dev/null
"$PGBIN/psql" -X -qAt -d $db -c "SELECT smarthub.reset_password('$rtoken', repeat('x', 73))" >/dev/null 2>&1 || true   # 22023
q $db "SET smarthub.bcrypt_cost = 4; SELECT smarthub.reset_password('$rtoken', '$pw3')" >/dev/null
q $db "SELECT smarthub.reset_password('$rtoken', '$pw3'), smarthub.verify_email('${vtoken}x')" >/dev/null
q $db "SELECT smarthub.verify_email('$vtoken')" >/dev/null
mtoken=$(q $db "SELECT smarthub.create_magic_link('leak')")
mtoken_session=$(q $db "SELECT smarthub.login_with_magic_link('$mtoken', '10.1.2.4', 'ua')")
q $db "SELECT smarthub.login_with_magic_link('$mtoken')" >/dev/null
q $db "SELECT smarthub.revoke_api_key(id) FROM smarthub.api_keys" >/dev/null
q $db "SELECT smarthub.revoke_session('$token')" >/dev/null
q postgres "SELECT pg_sleep(0.2)" >/dev/null   # let the log catch up

[ -n "$key" ] && [ -n "$token" ] && [ -n "$jwt" ] || { echo "  not ok - scenario did not produce a key, a token and a JWT"; exit 1; }
[ -n "$totp_secret" ] && [ ${#rcodes[@]} -eq 3 ] || { echo "  not ok - scenario did not produce a TOTP secret and 3 recovery codes"; exit 1; }
check "the scenario's second factor worked" "true|true" \
    "$(q $db "SELECT (confirmed_at IS NOT NULL) || '|' || (SELECT bool_and(used_at IS NOT NULL) FROM smarthub.recovery_codes r
                WHERE r.user_id = f.user_id AND r.code_hash IN (encode(sha256('$(tr -d - <<<"${rcodes[0]}")'), 'hex'), encode(sha256('$(tr -d - <<<"${rcodes[1]}")'), 'hex')))
                FROM smarthub.mfa_factors f WHERE id = '$factor'")"
[ -n "$vtoken" ] && [ -n "$rtoken" ] && [ -n "$mtoken" ] && [ -n "$mtoken_session" ] \
    || { echo "  not ok - scenario did not produce the one-time tokens and the magic link's session"; exit 1; }
secrets=("$pw1" "$pw2" "$pw3" "$key" "$token" "$jwt" "$vtoken" "$rtoken" "$mtoken" "$mtoken_session"
         "$(printf %s "$key" | sha256sum | cut -d' ' -f1)" "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
         "$(printf %s "$vtoken" | sha256sum | cut -d' ' -f1)" "$(printf %s "$rtoken" | sha256sum | cut -d' ' -f1)"
         "$(printf %s "$mtoken" | sha256sum | cut -d' ' -f1)"
         "$(q $db "SELECT password_hash FROM smarthub.users WHERE id = '$uid'")"
         "$totp_secret" "$(SECRET="$totp_secret" $PY -c 'import base64, os; print(base64.b32decode(os.environ["SECRET"]).hex())')")
for c in "${rcodes[@]}"; do
    secrets+=("$c" "$(tr -d - <<<"$c")" "$(printf %s "$(tr -d - <<<"$c")" | sha256sum | cut -d' ' -f1)")
done
audit=$(q $db "SELECT string_agg(changes::text, E'\n') FROM smarthub.audit_logs")
check "the scenario wrote audit rows" t "$([ "$(q $db "SELECT count(*) FROM smarthub.audit_logs")" -ge 5 ] && echo t)"
for s in "${secrets[@]}"; do
    [ -n "$s" ] || { echo "  not ok - empty secret"; exit 1; }
    check "secret ${s:0:4}… not in the server log" 0 "$(grep -cF -- "$s" "$log" || true)"
    check "secret ${s:0:4}… not in the audit log" 0 "$(grep -cF -- "$s" <<<"$audit" || true)"
done
# Whatever the other suites used: nothing shaped like a key, a token or a bcrypt hash in the log.
check "no key or token anywhere in the server log" 0 "$(grep -cE 'sh[ksvrm]_[0-9A-Za-z]{38}' "$log" || true)"
check "no otpauth URI anywhere in the server log" 0 "$(grep -c 'otpauth://' "$log" || true)"
check "no JWT anywhere in the server log" 0 "$(grep -cE 'eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}' "$log" || true)"
check "no bcrypt hash anywhere in the server log" 0 "$(grep -cE '\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}' "$log" || true)"
