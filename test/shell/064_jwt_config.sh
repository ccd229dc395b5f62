#!/usr/bin/env bash
# JWT configuration across backends, on the test cluster. The keyring's jwt- lines: a jwt-hmac
# secret under 32 bytes or not base64url, a jwt-sign key that is RSA or P-384 (not Ed25519 or
# P-256), not base64, or base64 of no key: each refuses the whole keyring (55000, the detail naming
# the file, the line and the problem), verify_jwt still raises nothing, and no secret appears in
# the error or the server log. A keyring of one jwt-sign line loads: issue_jwt signs, encrypt says
# it holds no encryption key; without a jwt-sign line (or a keyring) issue_jwt raises 55000.
# Rotation of smarthub's own key: the last jwt-sign line signs (kid and alg in the header), earlier
# ones still verify, a removed one's tokens fail. Invalidation, seen by a long-lived second backend:
# a committed jwks change that drops a token's kid fails it at that backend's next statement, a
# rolled-back one (which failed the token inside its own transaction) changes nothing, there or in
# the backend that rolled back; a reload that removes a jwt-hmac line fails its HS256 tokens at the
# next statement. smarthub.jwt_issuer: an application role cannot SET it (42501; a SET made before
# the library is loaded is discarded with a warning when it loads), '' fails its check (22023), a
# new name goes into new tokens' iss and aud, which verify under that name only. Tokens from other
# issuers are signed here with Node.js's crypto (HS256, and RS256 under an openssl-made key). Uses
# its own keyring files through ALTER SYSTEM (as 050_keyring.sh) and restores the setting at exit.
. "$(dirname "$0")/lib.sh"
db=smarthub_jwt_config
app=smarthub_jwt_config_app
kdir=$SMARTHUB_CLUSTER/jwt_config
tmp=$(mktemp -d /tmp/smarthub-jwt-config.XXXXXX)
serverlog=$SMARTHUB_CLUSTER/postgresql.log
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
bpid=

restore() {
    [ -z "$bpid" ] || kill "$bpid" 2>/dev/null || true
    q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    q postgres "DROP ROLE IF EXISTS $app" >/dev/null 2>&1 || true
    q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null 2>&1 || true
    q postgres "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    rm -rf "$kdir" "$tmp"
}
trap restore EXIT

# sql: the script on stdin, in the test database, one value a line.
sql() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db "$@"; }
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
b64u_decode() { local s=${1//-/+}; s=${s//_//}; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf %s "$s" | base64 -d; }
header() { b64u_decode "${1%%.*}"; }    # a token's header, as signed
# PKCS#8 DER, base64. Through 'openssl pkcs8 -topk8': OpenSSL 3.0's 'genpkey -outform DER' writes
# an EC key as SEC1 (RFC 5915), not PKCS#8.
p8() { openssl genpkey "$@" 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -outform DER | base64 -w0; }

# sign: Node.js's crypto makes the tokens of other issuers.
#   sign hs256 SECRET_B64URL KID PAYLOAD | sign rs256 PEM_FILE KID PAYLOAD | sign jwk PEM_FILE KID
cat > "$tmp/sign.js" <<'JS'
const c = require("crypto"), fs = require("fs");
const [mode, key, kid, payload] = process.argv.slice(2);
const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
if (mode === "jwk") {
    const jwk = c.createPublicKey(fs.readFileSync(key)).export({ format: "jwk" });
    console.log(JSON.stringify({ ...jwk, kid }));
} else {
    const header = { alg: mode.toUpperCase(), typ: "JWT" };
    if (kid !== "-") header.kid = kid;
    const input = enc(header) + "." + enc(JSON.parse(payload));
    const sig = mode === "hs256"
        ? c.createHmac("sha256", Buffer.from(key, "base64url")).update(input).digest()
        : c.sign("sha256", Buffer.from(input), fs.readFileSync(key));
    console.log(input + "." + sig.toString("base64url"));
}
JS
sign() { node "$tmp/sign.js" "$@"; }

mkdir -p "$kdir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$kdir"
q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
q postgres "DROP ROLE IF EXISTS $app"
q postgres "CREATE DATABASE $db"
sql >/dev/null <<SQL
CREATE EXTENSION smarthub;
ALTER DATABASE $db SET smarthub.bcrypt_cost = 4;
CREATE ROLE $app LOGIN;
SELECT smarthub.grant_access('$app');
SQL
sql <<'SQL'
CREATE FUNCTION public.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || ' | ' || det;
END $$;
-- verify_jwt's answer: t (valid), f (NULL), or the error it must never raise.
CREATE FUNCTION public.valid(token text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN smarthub.verify_jwt(token) IS NOT NULL THEN 't' ELSE 'f' END;
EXCEPTION WHEN OTHERS THEN
    RETURN 'raised ' || SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION public.valid(text) TO PUBLIC;
SQL
uid=$(q $db "SELECT smarthub.create_user('cfg@example.com', 'cfg', 'cfg-password-1')")
sess=$(q $db "SELECT smarthub.create_session('$uid')")

# The keys and secrets of this test.
aes=$(openssl rand -hex 32)
ed=$(p8 -algorithm ed25519)
p256=$(p8 -algorithm EC -pkeyopt ec_paramgen_curve:P-256)
hmac=$(openssl rand 40 | b64u)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/r1.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/r2.pem" 2>/dev/null
now=$(date +%s)
rs_tok=$(sign rs256 "$tmp/r1.pem" r1 "{\"iss\":\"https://rs.test\",\"sub\":\"ext-1\",\"exp\":$((now + 900))}")
hs_tok=$(sign hs256 "$hmac" - "{\"iss\":\"https://hmac.test\",\"sub\":\"ext-1\",\"exp\":$((now + 900))}")
sql -v r1="$(sign jwk "$tmp/r1.pem" r1)" <<'SQL'
INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, jwks) VALUES
    ('https://rs.test', NULL, '{RS256}', jsonb_build_object('keys', jsonb_build_array(:'r1'::jsonb))),
    ('https://hmac.test', NULL, '{HS256}', '{"keys": []}');
SQL

# ---- no jwt-sign line, no keyring: issue_jwt raises 55000 ----
printf '1:%s\njwt-hmac https://hmac.test - %s\n' "$aes" "$hmac" | keyring nosign
use_keyring nosign
check "a keyring without a jwt-sign line: issue_jwt raises 55000" "55000: no JWT signing key is configured | " \
    "$(q $db "SELECT public.err('SELECT smarthub.issue_jwt(''$sess'')')")"
check "... while its jwt-hmac line verifies HS256 tokens, and the RS256 key of the table works" "t|t" \
    "$(q $db "SELECT public.valid('$hs_tok') || '|' || public.valid('$rs_tok')")"
q postgres "ALTER SYSTEM SET smarthub.keyring_file = ''" >/dev/null
reload
check "no keyring at all: issue_jwt raises 55000 too" "55000: no JWT signing key is configured | " \
    "$(q $db "SELECT public.err('SELECT smarthub.issue_jwt(''$sess'')')")"

# ---- refused keyrings: the bad line is line 3; the error names it, and never quotes a secret ----
short_plain=Hmac-Short-Secret-Marker-31byte
[ ${#short_plain} -eq 31 ] || { echo "  not ok - the short secret is ${#short_plain} bytes, not 31"; exit 1; }
short=$(printf %s "$short_plain" | b64u)
notb64u='Not*Base64url*Hmac*Secret*Marker*0123456789abcdefghijklmnop'
rsa=$(p8 -algorithm RSA -pkeyopt rsa_keygen_bits:2048)
p384=$(p8 -algorithm EC -pkeyopt ec_paramgen_curve:P-384)
notb64='Not*Base64*Signing*Key*Marker*0123456789abcdefghijklmnop'
junk=$(openssl rand -base64 48 | tr -d '\n')
secrets=("$short" "$short_plain" "$notb64u" "$rsa" "$p384" "$notb64" "$junk" "$ed" "$p256" "$hmac" "$aes")
# refused LABEL PROBLEM LINE: the keyring (an AES key, then LINE as line 3) is refused as a whole.
refused() {
    local out leaked=0 s
    printf '# smarthub 064: a bad line 3\n1:%s\n%s\n' "$aes" "$3" | keyring bad
    reload
    check "$1: refused, 55000, the detail names the file, line 3 and the problem" \
        "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: $2." \
        "$(q $db "SELECT public.err('SELECT smarthub.encrypt(''x'')')")"
    out=$("$PGBIN/psql" -X -qAt -v VERBOSITY=verbose -d $db -c "SELECT smarthub.encrypt('x')" 2>&1 || true)
    for s in "${secrets[@]}"; do grep -qF -- "$s" <<<"$out" && leaked=$((leaked + 1)); done
    check "$1: the whole error (message, detail, hint) quotes no secret" "1 0" "$(grep -cF -- "line 3: $2." <<<"$out") $leaked"
}
use_keyring bad
refused "a jwt-hmac secret of 31 bytes" "an HMAC secret must be at least 32 bytes" "jwt-hmac https://hmac.test - $short"
check "... verify_jwt on a refused keyring: NULL for HS256, no error; RS256 from the table still verifies" "f|t" \
    "$(q $db "SELECT public.valid('$hs_tok') || '|' || public.valid('$rs_tok')")"
check "... issue_jwt on a refused keyring raises 55000 and says why" \
    "55000: the encryption keyring was refused | Keyring file \"$kdir/bad\": line 3: an HMAC secret must be at least 32 bytes." \
    "$(q $db "SELECT public.err('SELECT smarthub.issue_jwt(''$sess'')')")"
refused "a jwt-hmac secret that is not base64url" "the secret is not base64url" "jwt-hmac https://hmac.test hs-1 $notb64u"
refused "a jwt-sign RSA key" "the private key is not an Ed25519 or P-256 key in DER (PKCS#8 or SEC1)" "jwt-sign rsa-1 $rsa"
refused "a jwt-sign P-384 key" "the private key is not an Ed25519 or P-256 key in DER (PKCS#8 or SEC1)" "jwt-sign p384-1 $p384"
refused "a jwt-sign key that is not base64" "the private key is not base64" "jwt-sign junk-1 $notb64"
refused "a jwt-sign line of base64 garbage" "the private key is not an Ed25519 or P-256 key in DER (PKCS#8 or SEC1)" "jwt-sign junk-2 $junk"

# ---- a keyring of one jwt-sign line ----
printf 'jwt-sign only-1 %s\n' "$ed" | keyring signonly
use_keyring signonly
tok=$(q $db "SELECT smarthub.issue_jwt('$sess')")
check "a keyring of one jwt-sign line loads: issue_jwt signs, and its token verifies" "$uid" \
    "$(q $db "SELECT smarthub.verify_jwt('$tok') ->> 'sub'")"
check "... and encrypt says it holds no encryption key" "55000: the encryption keyring holds no encryption key | " \
    "$(q $db "SELECT public.err('SELECT smarthub.encrypt(''x'')')")"

# ---- rotation of smarthub's own key ----
printf '1:%s\njwt-sign k1 %s\n' "$aes" "$ed" | keyring rot
use_keyring rot
t1=$(q $db "SELECT smarthub.issue_jwt('$sess')")
check "k1 (Ed25519) signs" '{"alg":"EdDSA","kid":"k1","typ":"JWT"}' "$(header "$t1")"
printf '1:%s\njwt-sign k1 %s\njwt-sign k2 %s\n' "$aes" "$ed" "$p256" | keyring rot
reload
t2=$(q $db "SELECT smarthub.issue_jwt('$sess')")
check "k2 (P-256) added as the last line: new tokens are k2's, ES256" '{"alg":"ES256","kid":"k2","typ":"JWT"}' "$(header "$t2")"
check "... both verify, and jwks() lists k1 then k2" "t|t|[\"k1\", \"k2\"]" \
    "$(q $db "SELECT public.valid('$t1') || '|' || public.valid('$t2') || '|' || jsonb_path_query_array(smarthub.jwks(), '\$.keys[*].kid')")"
check "... authenticate_jwt accepts the k1 token" "$uid" "$(q $db "SELECT smarthub.authenticate_jwt('$t1')")"
printf '1:%s\njwt-sign k2 %s\n' "$aes" "$p256" | keyring rot
reload
check "k1 removed: its token is NULL, k2's still verifies, jwks() lists k2" "f|t|[\"k2\"]" \
    "$(q $db "SELECT public.valid('$t1') || '|' || public.valid('$t2') || '|' || jsonb_path_query_array(smarthub.jwks(), '\$.keys[*].kid')")"

# ---- invalidation seen by a second, long-lived backend B ----
printf '1:%s\njwt-hmac https://hmac.test - %s\n' "$aes" "$hmac" | keyring inval
use_keyring inval
r2=$(sign jwk "$tmp/r2.pem" r2)
# in_b TOKEN: B, in the background, verifies TOKEN, sleeps 5 s and verifies it again (output: $tmp/b).
in_b() {
    PGAPPNAME=smarthub_jwt_b "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db \
        -c "SELECT public.valid('$1')" -c "SELECT pg_sleep(5)" -c "SELECT public.valid('$1')" > "$tmp/b" 2>&1 &
    bpid=$!
    local i
    for i in $(seq 100); do
        [ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'smarthub_jwt_b'
                           AND state = 'active' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && return 0
        sleep 0.1
    done
    echo "  not ok - B did not reach its pg_sleep: $(cat "$tmp/b")"; exit 1
}
# b_result: B's output, once it has finished (waited for here, not in a $(...) subshell).
b_result() { tr '\n' '|' < "$tmp/b"; }
b_wait() { wait "$bpid" || true; bpid=; }

in_b "$rs_tok"
out=$(sql -v r2="$r2" -v rs_tok="$rs_tok" <<'SQL'
SELECT public.valid(:'rs_tok');
BEGIN;
UPDATE smarthub.jwt_issuers SET jwks = jsonb_build_object('keys', jsonb_build_array(:'r2'::jsonb)) WHERE issuer = 'https://rs.test';
SELECT public.valid(:'rs_tok');
ROLLBACK;
SELECT public.valid(:'rs_tok');
SQL
)
check "a jwks UPDATE without the token's kid fails it within its own transaction; after ROLLBACK it verifies there again" \
    "t|f|t" "$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
b_wait
check "... and B, which verified it before, still verifies it after the rollback" "t||t|" "$(b_result)"
in_b "$rs_tok"
sql -v r2="$r2" <<'SQL'
UPDATE smarthub.jwt_issuers SET jwks = jsonb_build_object('keys', jsonb_build_array(:'r2'::jsonb)) WHERE issuer = 'https://rs.test';
SQL
b_wait
check "the same UPDATE committed by another backend: B's next statement finds the token NULL" "t||f|" "$(b_result)"
in_b "$hs_tok"
printf '1:%s\n' "$aes" | keyring inval
reload
b_wait
check "the jwt-hmac line removed and the configuration reloaded: B's next statement finds the HS256 token NULL" "t||f|" "$(b_result)"

# ---- smarthub.jwt_issuer ----
psql_app() { "$PGBIN/psql" -X -qAt -U $app -d $db "$@"; }
printf '1:%s\njwt-sign k1 %s\n' "$aes" "$ed" | keyring guc
use_keyring guc
check "an application role (grant_access) cannot SET smarthub.jwt_issuer: 42501" "ERROR:  42501" \
    "$(psql_app -v VERBOSITY=sqlstate -c "SELECT public.valid(NULL)" -c "SET smarthub.jwt_issuer = 'https://evil.example'" 2>&1 | grep ERROR || true)"
# Before smarthub is loaded the name is a placeholder that anyone may set; loading the library
# re-applies the value with the privileges of the role that set it, which PostgreSQL refuses.
out=$(psql_app -c "SET smarthub.jwt_issuer = 'https://evil.example'" -c "SELECT public.valid(NULL)" -c "SHOW smarthub.jwt_issuer" \
    -c "SELECT smarthub.verify_jwt(smarthub.issue_jwt('$sess')) ->> 'iss'" 2>"$tmp/app.err")
check "... nor by a SET made before the library is loaded: discarded when it loads, tokens keep iss smarthub" \
    "f|smarthub|smarthub" "$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
check "... with PostgreSQL's warning" "1" \
    "$(grep -c 'WARNING:  permission denied to set parameter "smarthub.jwt_issuer"' "$tmp/app.err" || true)"
check "the superuser: SET smarthub.jwt_issuer = '' fails the check hook (22023)" \
    "22023: invalid value for parameter \"smarthub.jwt_issuer\": \"\" | smarthub.jwt_issuer must not be empty." \
    "$(sql -c "SELECT public.valid(NULL)" -c "SELECT public.err(\$\$SET smarthub.jwt_issuer = ''\$\$)" | tail -n1)"
t_default=$(q $db "SELECT smarthub.issue_jwt('$sess')")
mapfile -t out < <(sql -v sess="$sess" -v t_default="$t_default" <<'SQL'
SET smarthub.jwt_issuer = 'https://db.example';
SELECT smarthub.issue_jwt(:'sess') AS t \gset
SELECT (smarthub.verify_jwt(:'t') ->> 'iss') || '|' || (smarthub.verify_jwt(:'t') ->> 'aud') || '|' || smarthub.authenticate_jwt(:'t');
SELECT public.valid(:'t_default');
SELECT :'t';
SQL
)
check "SET smarthub.jwt_issuer = 'https://db.example': new tokens carry it as iss and aud, and verify (authenticate_jwt too)" \
    "https://db.example|https://db.example|$uid" "${out[0]:-}"
check "... where a token issued as smarthub no longer verifies" "f" "${out[1]:-}"
check "... and its token is NULL in a session with the default name" "f" "$(q $db "SELECT public.valid('${out[2]:-}')")"

# ---- nothing secret in the server log ----
leaked=0
for s in "${secrets[@]}"; do grep -qF -- "$s" "$serverlog" && leaked=$((leaked + 1)); done
check "the server log holds the refusals but none of the ${#secrets[@]} secrets and keys of this test" "yes 0" \
    "$(grep -qF 'line 3: an HMAC secret must be at least 32 bytes' "$serverlog" && echo yes || echo no) $leaked"

q postgres "DROP DATABASE $db WITH (FORCE)"
q postgres "DROP ROLE $app"
q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null
reload
check "the original keyring setting is back" "$SMARTHUB_CLUSTER/keyring" "$(q postgres "LOAD 'smarthub'; SHOW smarthub.keyring_file" | tail -1)"
