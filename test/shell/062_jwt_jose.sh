#!/usr/bin/env bash
# JSON Web Tokens against an independent implementation, panva's jose on Node.js (Debian's
# node-jose, else jose from npm; jwt/jose.js makes the keys and tokens and checks smarthub's):
# verify_jwt accepts jose's tokens for all twelve algorithms (HMAC secrets from the keyring's
# jwt-hmac lines; RSA, EC and Ed25519 keys from a jwt_issuers row) with exactly the claims jose
# signed, and authenticate_jwt maps one to its user through user_identities; it refuses, as NULL,
# tampered tokens (a payload character, a signature bit, a swapped alg, alg none), the HS256 key
# confusion with the issuer's RSA public key as the HMAC key, correctly signed tokens whose claims
# or keys are wrong, and never raises, even for correctly signed oddities (deep nesting, huge
# numbers, \u0000, invalid UTF-8); a jwt_issuers row with an unusable key is refused with 22023.
# Tokens from issue_jwt, signed by an Ed25519 and then (rotated) a P-256 jwt-sign key, pass jose's
# jwtVerify against jwks() with the right claims, tampered copies fail under jose and verify_jwt,
# and authenticate_jwt takes them only while their session lives. jose itself, given the same
# keys and rules, must agree with every expected verdict. A shell test: it needs the keyring, a
# reload and Node.js. Uses its own keyring files through ALTER SYSTEM (as 050_keyring.sh) and
# restores the setting at exit.
. "$(dirname "$0")/lib.sh"
db=smarthub_jwt_test
kdir=$SMARTHUB_CLUSTER/jwt_test
tmp=$(mktemp -d /tmp/smarthub-jwt.XXXXXX)
js=$REPO/test/shell/jwt/jose.js
iss=https://idp.test iss2=https://rsa-only.test aud=api://smarthub
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

restore() {
    q postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null 2>&1 || true
    q postgres "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    rm -rf "$kdir" "$tmp"
}
trap restore EXIT

# Every check runs, and the test fails at the end if any did: one run shows every wrong answer.
failed=0
tally() {   # tally LABEL EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "  ok - $1"; else echo "  not ok - $1: expected '$2', got '$3'"; failed=$((failed + 1)); fi
}
# sql [psql options]: the script on stdin, in the test database, one value a line, tab-separated.
sql() { "$PGBIN/psql" -X -qAt -F $'\t' -v ON_ERROR_STOP=1 -d $db "$@"; }

# jose: Debian's node-jose (script/lib.sh installs it), or jose from the npm registry on a machine
# whose Node.js is not Debian's.
export NODE_PATH=/usr/share/nodejs
if ! node -e "require('jose')" 2>/dev/null; then
    npm install --prefix "$tmp/npm" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
        --cache "$tmp/npm/cache" jose@5.10.0 >/dev/null \
        || { echo "  not ok - jose: neither Debian's node-jose nor 'npm install jose' works"; exit 1; }
    NODE_PATH=$tmp/npm/node_modules
fi
jose() { node "$js" "$@"; }

hex() { openssl rand -hex 32; }

mkdir -p "$kdir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$kdir"
q postgres "DROP DATABASE IF EXISTS $db"
q postgres "CREATE DATABASE $db"
run $db <<SQL
CREATE EXTENSION smarthub;
ALTER DATABASE $db SET smarthub.bcrypt_cost = 4;
SQL
run $db <<'SQL'
-- verify_jwt's answer as text: the claims, NULL, or the error it should never raise.
CREATE FUNCTION public.try_verify(token text, audience text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(smarthub.verify_jwt(token, audience)::text, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'raised ' || SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION public.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SQL
alice=$(q $db "SELECT smarthub.create_user('alice@example.com', 'alice', 'alice-password-1', roles => ARRAY['user', 'viewer'])")

# --- jose's keys and tokens ---
now=$(date +%s)
jq -n --argjson now "$now" --arg iss "$iss" --arg iss2 "$iss2" --arg aud "$aud" \
    '{now: $now, iss: $iss, iss2: $iss2, aud: $aud, sub: "alice-ext", unmapped: "nobody-ext"}' \
    | jose mint > "$tmp/mint.json"
tally "jose $(echo '{}' | jose version | jq -r .version), as a model verifier with the same keys and rules, agrees with every expected verdict ($(jq .model.cases "$tmp/mint.json") tokens)" \
    "[]" "$(jq -c .model.disagree "$tmp/mint.json")"

# smarthub's own signing keys: PKCS#8 DER, base64. Through 'openssl pkcs8 -topk8': OpenSSL 3.0's
# 'genpkey -outform DER' writes an EC key as SEC1 (RFC 5915), not PKCS#8.
p8() { openssl genpkey "$@" | openssl pkcs8 -topk8 -nocrypt -outform DER | base64 -w0; }
ed=$(p8 -algorithm ed25519)
ec=$(p8 -algorithm EC -pkeyopt ec_paramgen_curve:P-256)
jq -n --arg ed "$ed" --arg ec "$ec" '{der: [$ed, $ec]}' | jose pubjwk > "$tmp/pub.json"

aes=$(hex)
hmac_lines=$(jq -r '.hmac[] | "jwt-hmac \(.issuer) \(.kid) \(.secret)"' "$tmp/mint.json")
printf '# smarthub 062: an AES key, jose'"'"'s HMAC secrets, one signing key\n1:%s\n%s\njwt-sign ed-1 %s\n' \
    "$aes" "$hmac_lines" "$ed" | keyring ring1
use_keyring ring1

sql -v iss="$iss" -v iss2="$iss2" -v aud="$aud" -v alice="$alice" \
    -v jwks="$(jq -c .jwks "$tmp/mint.json")" -v jwks2="$(jq -c .jwks2 "$tmp/mint.json")" <<'SQL'
INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, jwks) VALUES
    (:'iss', ARRAY[:'aud'], ARRAY['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
                                  'ES256', 'ES384', 'EdDSA'], :'jwks'),
    (:'iss2', NULL, ARRAY['RS256', 'HS256'], :'jwks2');
INSERT INTO smarthub.user_identities (issuer, subject, user_id) VALUES (:'iss', 'alice-ext', :'alice');
SQL

# --- bad keys: 22023 on INSERT and on UPDATE, the row unchanged ---
out=$(sql -v bad="$(jq -c .badKeys "$tmp/mint.json")" -v iss2="$iss2" <<'SQL'
SELECT key, public.err(format('INSERT INTO smarthub.jwt_issuers (issuer, jwks) VALUES (%L, %L)',
                              'https://bad.test', jsonb_build_object('keys', jsonb_build_array(value))))
FROM jsonb_each(:'bad'::jsonb) ORDER BY key;
SELECT 'UPDATE adding an oct key', public.err(format('UPDATE smarthub.jwt_issuers SET jwks = %L WHERE issuer = %L',
    jsonb_build_object('keys', (SELECT jwks -> 'keys' FROM smarthub.jwt_issuers WHERE issuer = :'iss2')
                               || jsonb_build_array(:'bad'::jsonb -> 'an oct (symmetric) key')), :'iss2'));
SELECT 'the row kept its one key and no issuer was added', (SELECT jsonb_array_length(jwks -> 'keys') FROM smarthub.jwt_issuers WHERE issuer = :'iss2')::text
    || ' ' || (SELECT count(*) FROM smarthub.jwt_issuers);
SQL
)
while IFS=$'\t' read -r label got; do
    case $label in
        'the row kept'*) tally "bad keys: $label" "1 2" "$got" ;;
        *) tally "bad keys: $label is refused with 22023" 22023 "$got" ;;
    esac
done <<<"$out"
tally "bad keys: every one was tried" "$(($(jq '.badKeys | length' "$tmp/mint.json") + 2))" "$(wc -l <<<"$out")"

# --- 1 and 2: jose's tokens, valid and not, through verify_jwt ---
jq -c '[(.valid[] | . + {expect: "claims"}), (.invalid[] | . + {expect: "NULL"}), .robust[]]' "$tmp/mint.json" > "$tmp/cases.json"
out=$(sql <<SQL
\\set cases \`cat $tmp/cases.json\`
SELECT c ->> 'expect', c ->> 'label',
       CASE WHEN r LIKE 'raised %' THEN r
            WHEN c ->> 'expect' = 'NULL' THEN CASE WHEN r = 'NULL' THEN 'ok' ELSE r END
            WHEN c ->> 'expect' = 'any' THEN CASE WHEN r = 'NULL' THEN 'ok NULL' ELSE 'ok claims' END
            WHEN r = 'NULL' THEN r
            WHEN r::jsonb = c -> 'payload' THEN 'ok'
            ELSE r END
FROM jsonb_array_elements(:'cases'::jsonb) WITH ORDINALITY AS t(c, i),
     LATERAL (SELECT public.try_verify(c ->> 'token', c ->> 'audience')) AS v(r)
ORDER BY i;
SQL
)
while IFS=$'\t' read -r expect label got; do
    if [ "$expect" = claims ]; then
        tally "verify_jwt: jose's $label: exactly its claims" ok "$got"
    elif [ "$expect" = any ]; then
        tally "verify_jwt: $label, correctly signed: no error (${got#ok })" ok "${got%% *}"
    else
        tally "verify_jwt: $label: NULL" ok "$got"
    fi
done <<<"$out"
tally "verify_jwt: every jose token was tried" "$(jq length "$tmp/cases.json")" "$(wc -l <<<"$out")"
out=$(sql -v m="$(jq -r .mapped "$tmp/mint.json")" -v t="$(jq -r .tampered "$tmp/mint.json")" \
          -v u="$(jq -r .unmapped "$tmp/mint.json")" -v alice="$alice" <<'SQL'
BEGIN;
SELECT smarthub.authenticate_jwt(:'m') = :'alice';
SELECT smarthub.current_user_id() = :'alice';
SELECT smarthub.authenticate_jwt(:'t') IS NULL;
SELECT smarthub.current_user_id() IS NULL;
SELECT smarthub.authenticate_jwt(:'m') = :'alice';
SELECT smarthub.verify_jwt(:'u') ->> 'sub';
SELECT smarthub.authenticate_jwt(:'u') IS NULL;
SELECT smarthub.current_user_id() IS NULL;
SELECT smarthub.authenticate_jwt(:'m') = :'alice';
COMMIT;
SELECT smarthub.current_user_id() IS NULL;
SQL
)
tally "authenticate_jwt: jose's RS256 token for alice-ext gives alice (user_identities) and sets current_user_id()" \
    "t t" "$(sed -n 1,2p <<<"$out" | xargs)"
tally "authenticate_jwt: a tampered token gives NULL and clears the identity" "t t" "$(sed -n 3,4p <<<"$out" | xargs)"
tally "authenticate_jwt: a valid token whose subject no user_identities row maps gives NULL and clears the identity" \
    "nobody-ext t t" "$(sed -n 6,8p <<<"$out" | xargs)"
tally "authenticate_jwt: the identity ends with the transaction" "t t" "$(sed -n '9p;10p' <<<"$out" | xargs)"

# --- 3: smarthub's tokens under jose ---
sess=$(q $db "SELECT smarthub.create_session('$alice', '1 hour')")
sid=$(q $db "SELECT id FROM smarthub.sessions WHERE token_hash = encode(sha256(convert_to('$sess', 'UTF8')), 'hex')")
roles=$(q $db "SELECT jsonb_agg(r.name ORDER BY r.name) FROM smarthub.user_roles ur JOIN smarthub.roles r ON r.id = ur.role_id
               WHERE ur.user_id = '$alice'" | jq -c .)
issue() { q $db "SELECT smarthub.issue_jwt('$sess', '5 minutes'${1:+, '$1'})"; }
t_ed=$(issue) t_ed_aud=$(issue api://billing)
jwks1=$(q $db "SELECT smarthub.jwks()")
# the public JWK of each jwt-sign key as smarthub should publish it
want() { jq -c --argjson i "$1" --arg kid "$2" --arg alg "$3" \
    '.keys[$i] | {kid: $kid, alg: $alg, use: "sig", kty, crv, x, y} | with_entries(select(.value != null))' "$tmp/pub.json"; }
pub() { jq -c '[.keys[] | {kid, alg, use, kty, crv, x, y} | with_entries(select(.value != null))]'; }
private() { jq -c '[.keys[] | keys[] | select(. == "d" or . == "p" or . == "q" or . == "k")]'; }
tally "jwks() with one jwt-sign key: the Ed25519 public key, kid ed-1, alg EdDSA, use sig" \
    "[$(want 0 ed-1 EdDSA)]" "$(pub <<<"$jwks1")"

# rotation: the P-256 key's line last makes it the current key; both are published
printf '1:%s\n%s\njwt-sign ed-1 %s\njwt-sign ec-2 %s\n' "$aes" "$hmac_lines" "$ed" "$ec" | keyring ring2
use_keyring ring2
t_ec=$(issue) t_ec_aud=$(issue api://billing)
jwks2=$(q $db "SELECT smarthub.jwks()")
tally "jwks() after the P-256 line is added last: both public keys (ES256 as ec-2)" \
    "$(jq -sc 'sort_by(.kid)' <<<"$(want 0 ed-1 EdDSA) $(want 1 ec-2 ES256)")" "$(pub <<<"$jwks2" | jq -c 'sort_by(.kid)')"
tally "jwks(): no private key material" "[]" "$(private <<<"$jwks2")"

jq -n --argjson jwks "$jwks2" --argjson now "$(date +%s)" --arg a "$t_ed" --arg b "$t_ed_aud" --arg c "$t_ec" --arg d "$t_ec_aud" \
    '{jwks: $jwks, issuer: "smarthub", now: $now, tokens: [
        {label: "Ed25519, default audience", token: $a, audience: "smarthub", sql_audience: null, alg: "EdDSA", kid: "ed-1"},
        {label: "Ed25519, audience api://billing", token: $b, audience: "api://billing", sql_audience: "api://billing", alg: "EdDSA", kid: "ed-1"},
        {label: "P-256, default audience", token: $c, audience: "smarthub", sql_audience: null, alg: "ES256", kid: "ec-2"},
        {label: "P-256, audience api://billing", token: $d, audience: "api://billing", sql_audience: "api://billing", alg: "ES256", kid: "ec-2"}]}' \
    > "$tmp/check-in.json"
jose check < "$tmp/check-in.json" > "$tmp/check.json"
for i in 0 1 2 3; do
    label=$(jq -r ".tokens[$i].label" "$tmp/check-in.json")
    expected="true $(jq -r ".tokens[$i] | \"\(.alg) JWT \(.kid) smarthub \(.audience)\"" "$tmp/check-in.json") $alice $sid $roles 300 integers now"
    got=$(jq -r --argjson i $i '.results[$i] | if .ok then
        [(.ok | tostring), .header.alg, .header.typ, .header.kid, .payload.iss,
         (.payload.aud | if type == "array" and length == 1 then .[0] else . end),
         .payload.sub, .payload.sid, (.payload.roles | if type == "array" then sort else . end | tojson),
         (if (.payload.exp | type) == "number" and (.payload.iat | type) == "number" then .payload.exp - .payload.iat else "no exp or iat" end),
         (if (.payload.iat | type) == "number" and (.payload.iat | floor) == .payload.iat
             and (.payload.exp | type) == "number" and (.payload.exp | floor) == .payload.exp then "integers" else "not integers" end),
         (if (.payload.iat | type) == "number" and (.payload.iat - .now | fabs) <= 60 then "now" else "iat \(.payload.iat) is not now (\(.now))" end)
        ] | map(tostring) | join(" ") else "false: \(.error)" end' "$tmp/check.json")
    tally "issue_jwt, $label: jose's jwtVerify with createLocalJWKSet(jwks()) accepts it; alg, typ, kid, iss, aud, sub, sid, roles, exp - iat = ttl" \
        "$expected" "$got"
    tally "issue_jwt, $label: jose refuses each tampered copy ($(jq -r --argjson i $i '[.results[$i].tampered[].label] | join(", ")' "$tmp/check.json"))" \
        "[]" "$(jq -c --argjson i $i '[.results[$i].tampered[] | select(.ok) | .label]' "$tmp/check.json")"
done

# the same tokens, and their tampered copies, through verify_jwt: jose's claims exactly, and NULL
out=$(sql <<SQL
\\set r \`cat $tmp/check.json\`
SELECT 'claims', x ->> 'label' || coalesce(' (verify_jwt given ' || (x ->> 'sql_audience') || ')', ''),
       CASE WHEN v LIKE '{%' THEN CASE WHEN v::jsonb = x -> 'payload' THEN 'ok' ELSE v END ELSE v END
FROM jsonb_array_elements(:'r'::jsonb -> 'results') AS t(x),
     LATERAL (SELECT public.try_verify(x ->> 'token', x ->> 'sql_audience')) AS f(v)
UNION ALL
SELECT 'NULL', (x ->> 'label') || ', ' || (y ->> 'label'), CASE WHEN v = 'NULL' THEN 'ok' ELSE v END
FROM jsonb_array_elements(:'r'::jsonb -> 'results') AS t(x),
     jsonb_array_elements(x -> 'tampered') AS u(y),
     LATERAL (SELECT public.try_verify(y ->> 'token', y ->> 'sql_audience')) AS f(v);
SQL
)
while IFS=$'\t' read -r expect label got; do
    if [ "$expect" = claims ]; then
        tally "verify_jwt: issue_jwt's $label: the claims jose decoded" ok "$got"
    else
        tally "verify_jwt: issue_jwt's $label: NULL" ok "$got"
    fi
done <<<"$out"
tally "verify_jwt: every smarthub token and tampered copy was tried" \
    "$(jq '.results | length + (map(.tampered | length) | add)' "$tmp/check.json")" "$(wc -l <<<"$out")"

# smarthub's own tokens name a user id (sub) and need a live session (sid)
out=$(sql -v t="$t_ec" -v alice="$alice" <<'SQL'
BEGIN;
SELECT smarthub.authenticate_jwt(:'t') = :'alice';
SELECT smarthub.current_user_id() = :'alice';
COMMIT;
SQL
)
tally "authenticate_jwt: issue_jwt's P-256 token gives alice and sets current_user_id()" "t t" "$(xargs <<<"$out")"

# the Ed25519 key retired: its tokens stop verifying, the P-256 key's still do
printf '1:%s\njwt-sign ec-2 %s\n' "$aes" "$ec" | keyring ring3
use_keyring ring3
tally "the Ed25519 line removed: jwks() has ec-2 only; its tokens are NULL, the P-256 key's still verify" "ec-2 t t f" \
    "$(q $db "SELECT smarthub.jwks() -> 'keys' -> 0 ->> 'kid'") $(q $db "SELECT jsonb_array_length(smarthub.jwks() -> 'keys') = 1,
        smarthub.verify_jwt('$t_ed') IS NULL, smarthub.verify_jwt('$t_ec') IS NULL" | tr '|' ' ')"
tally "issue_jwt for a revoked session, and for a string that is no session token: NULL" "t t t" \
    "$(q $db "SELECT smarthub.revoke_session('$sess')") $(q $db "SELECT smarthub.issue_jwt('$sess') IS NULL,
        smarthub.issue_jwt('shs_not-a-session') IS NULL" | tr '|' ' ')"
tally "the session revoked: its token still verifies (verify_jwt), but authenticate_jwt gives NULL (sid no longer live)" "t t" \
    "$(q $db "SELECT smarthub.verify_jwt('$t_ec') ->> 'sid' = '$sid', smarthub.authenticate_jwt('$t_ec') IS NULL" | tr '|' ' ')"

q postgres "DROP DATABASE $db"
q postgres "ALTER SYSTEM RESET smarthub.keyring_file" >/dev/null
reload
tally "the original keyring setting is back" "$SMARTHUB_CLUSTER/keyring" "$(q postgres "LOAD 'smarthub'; SHOW smarthub.keyring_file" | tail -1)"
if [ "$failed" -gt 0 ]; then echo "  not ok - $failed checks failed"; exit 1; fi
