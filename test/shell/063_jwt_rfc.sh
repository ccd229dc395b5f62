#!/usr/bin/env bash
# The RFCs' own examples against the real server. RFC 7515 Appendix A.1 (HS256, the JWK "k" given
# there as a jwt-hmac secret of the keyring), A.2 (RS256) and A.3 (ES256, the RSA and P-256 public
# keys given there in a jwt_issuers row) verify, byte for byte as printed in the RFC, to exactly
# their claims {"iss":"joe","exp":1300819380,"http://example.com/is_root":true}; with one signature
# character changed each is NULL. Their exp is 2011-03-22 18:43 UTC, so this runs on a cluster of
# its own whose server clock is set to 18:00 that day by libfaketime (the Debian package faketime;
# script/lib.sh installs it). RFC 8037 Appendix A.1's Ed25519 private key as a jwt-sign line:
# jwks() publishes the public key of A.2 and, as kid, the RFC 7638 thumbprint of A.3; a token that
# issue_jwt signs with it verifies under that public key in Node.js; A.4's example JWS, whose
# payload is not a JSON claim set, is NULL and raises nothing.
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d /tmp/smarthub-jwt-rfc.XXXXXX)
port=$(free_port $((PGPORT + 340)))
db=smarthub_jwt_rfc
cd "$dir"    # the server commands run as postgres, who cannot enter the checkout under /root
trap 'stop_cluster "$dir"; rm -rf "$dir"' EXIT

# ---- the RFC texts, exactly as printed (each checked with Node.js's crypto below) ----
# RFC 7515 A.1: HS256 with the JWK {"kty":"oct","k":...}
a1='eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
a1_k='AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow'
# RFC 7515 A.2: RS256, and the public part (n, e) of the RSA key given there
a2='eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw'
a2_jwk='{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}'
# RFC 7515 A.3: ES256, and the public part (x, y) of the P-256 key given there
a3='eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q'
a3_jwk='{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}'
# RFC 8037 A.1 (the private key d and its public x), A.3 (the thumbprint), A.4 (the JWS)
ed_d='nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A'
ed_x='11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'
ed_thumbprint='kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
ed_a4='eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg'
claims='{"exp": 1300819380, "iss": "joe", "http://example.com/is_root": true}'    # jsonb's text form

# The d of RFC 8037 A.1 as PKCS#8 DER: the fixed 16-byte prefix for an Ed25519 key (RFC 8410),
# then its 32 bytes.
b64u_decode() { local s=${1//-/+}; s=${s//_//}; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf %s "$s" | base64 -d; }
ed_pkcs8=$({ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; b64u_decode "$ed_d"; } | base64 -w0)

# An independent check of the texts above: Node.js's crypto verifies the three signatures with the
# three keys, derives x from d, the thumbprint from x, and RFC 8037 A.4's (deterministic) signature.
check "the RFC texts in this script are right (Node.js $(node --version) verifies them)" "A.1 A.2 A.3 8037-A.2 8037-A.3 8037-A.4" "$(
    A1="$a1" A1_K="$a1_k" A2="$a2" A2_JWK="$a2_jwk" A3="$a3" A3_JWK="$a3_jwk" ED_PKCS8="$ed_pkcs8" ED_X="$ed_x" \
    ED_TP="$ed_thumbprint" ED_A4="$ed_a4" node -e '
const c = require("crypto"), e = process.env, b = (s) => Buffer.from(s, "base64url"), ok = [];
const parts = (t) => { const p = t.split("."); return [Buffer.from(p[0] + "." + p[1]), b(p[2])]; };
let [input, sig] = parts(e.A1);
if (c.createHmac("sha256", b(e.A1_K)).update(input).digest().equals(sig)) ok.push("A.1");
[input, sig] = parts(e.A2);
if (c.verify("sha256", input, c.createPublicKey({ key: JSON.parse(e.A2_JWK), format: "jwk" }), sig)) ok.push("A.2");
[input, sig] = parts(e.A3);
if (c.verify("sha256", input, { key: c.createPublicKey({ key: JSON.parse(e.A3_JWK), format: "jwk" }), dsaEncoding: "ieee-p1363" }, sig)) ok.push("A.3");
const ed = c.createPrivateKey({ key: Buffer.from(e.ED_PKCS8, "base64"), format: "der", type: "pkcs8" });
if (c.createPublicKey(ed).export({ format: "jwk" }).x === e.ED_X) ok.push("8037-A.2");
if (c.createHash("sha256").update(`{"crv":"Ed25519","kty":"OKP","x":"${e.ED_X}"}`).digest("base64url") === e.ED_TP) ok.push("8037-A.3");
[input, sig] = parts(e.ED_A4);
if (c.sign(null, input, ed).equals(sig)) ok.push("8037-A.4");
console.log(ok.join(" "));' 2>&1)"

# ---- a cluster whose clock reads 2011-03-22 18:00 UTC ----
faketime_lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -n1 || true)
[ -n "$faketime_lib" ] && [ -e "$faketime_lib" ] \
    || { echo "  not ok - libfaketime.so.1: not found (dpkg -L libfaketime; script/lib.sh installs faketime)"; exit 1; }
umask 077
printf '# smarthub 063: an AES key, RFC 7515 A.1 as an HMAC secret of "joe", RFC 8037 A.1 as our signing key\n1:%s\njwt-hmac joe - %s\njwt-sign - %s\n' \
    "$(openssl rand -hex 32)" "$a1_k" "$ed_pkcs8" > "$dir/keyring"
umask 022
start_cluster "$dir" "$port" "smarthub.keyring_file = '$dir/keyring'
timezone = 'UTC'"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/keyring"
# initdb and a first start with the real clock (start_cluster), then a start under libfaketime:
# LD_PRELOAD and FAKETIME reach the postmaster through pg_ctl's environment, and every backend
# is its fork. pg_ctl runs under it too: it takes a postmaster.pid whose start time lies before
# its own for a stale one. "@": the clock starts at that moment and runs on.
stop_cluster "$dir"
as_pg env LD_PRELOAD="$faketime_lib" FAKETIME="@2011-03-22 18:00:00" TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 \
    "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$dir/postgresql.log"; echo "  not ok - the cluster did not start under libfaketime"; exit 1; }
export PGPORT=$port
check "the server's clock reads 2011-03-22 (libfaketime), before the RFC tokens' exp (18:43:00 UTC)" "2011-03-22|true" \
    "$(q postgres "SELECT now()::date || '|' || (now() < to_timestamp(1300819380))")"

q postgres "CREATE DATABASE $db"
run $db <<SQL
CREATE EXTENSION smarthub;
ALTER DATABASE $db SET smarthub.bcrypt_cost = 4;
SQL
run $db <<'SQL'
-- verify_jwt's answer as text: the claims, NULL, or the error it must never raise.
CREATE FUNCTION public.try_verify(token text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(smarthub.verify_jwt(token)::text, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'raised ' || SQLSTATE || ': ' || SQLERRM;
END $$;
-- The token with the first character of its signature changed (A <-> B): every bit of it counts,
-- unlike the last character's low bits.
CREATE FUNCTION public.resign(token text) RETURNS text LANGUAGE sql AS $$
    SELECT split_part(token, '.', 1) || '.' || split_part(token, '.', 2) || '.'
        || CASE WHEN left(split_part(token, '.', 3), 1) = 'A' THEN 'B' ELSE 'A' END
        || substr(split_part(token, '.', 3), 2)
$$;
SQL
# One issuer, "joe", with the RSA and the EC key and no kid: the RFC tokens have no kid header, so
# each is tried against every key of its alg's type (the HMAC secret comes from the keyring).
q $db "INSERT INTO smarthub.jwt_issuers (issuer, audiences, algorithms, jwks) VALUES
    ('joe', NULL, '{HS256,RS256,ES256}', jsonb_build_object('keys', jsonb_build_array('$a2_jwk'::jsonb, '$a3_jwk'::jsonb)))"

for t in "A.1 HS256:$a1" "A.2 RS256:$a2" "A.3 ES256:$a3"; do
    label=${t%%:*} token=${t#*:}
    check "RFC 7515 $label: verifies to exactly its claims" "$claims" "$(q $db "SELECT public.try_verify('$token')")"
    check "RFC 7515 $label, one signature character changed: NULL" "NULL" "$(q $db "SELECT public.try_verify(public.resign('$token'))")"
done
check "the three again in one backend, after the HMAC and both public keys were used: all verify" "true|true|true" \
    "$(q $db "SELECT string_agg((smarthub.verify_jwt(t) IS NOT NULL)::text, '|' ORDER BY n)
              FROM unnest(ARRAY['$a1', '$a2', '$a3']) WITH ORDINALITY u(t, n)")"

# ---- RFC 8037: the Ed25519 key of A.1 as smarthub's own signing key ----
check "RFC 8037 A.2: jwks() publishes the public key x derived from A.1's d" "$ed_x" \
    "$(q $db "SELECT smarthub.jwks() -> 'keys' -> 0 ->> 'x'")"
check "RFC 8037 A.3: its kid ('-' in the keyring) is the RFC 7638 thumbprint" "$ed_thumbprint" \
    "$(q $db "SELECT smarthub.jwks() -> 'keys' -> 0 ->> 'kid'")"
check "jwks(): that one key, public members only" \
    "{\"keys\": [{\"x\": \"$ed_x\", \"alg\": \"EdDSA\", \"crv\": \"Ed25519\", \"kid\": \"$ed_thumbprint\", \"kty\": \"OKP\", \"use\": \"sig\"}]}" \
    "$(q $db "SELECT smarthub.jwks()")"
# A token signed with it, checked outside the server with nothing but the RFC's public x.
uid=$(q $db "SELECT smarthub.create_user('joe@example.com', 'joe', 'joe-password-2011')")
sess=$(q $db "SELECT smarthub.create_session('$uid')")
jwt=$(q $db "SELECT smarthub.issue_jwt('$sess', '10 minutes')")
check "issue_jwt with it: header EdDSA with the thumbprint as kid" "{\"alg\":\"EdDSA\",\"kid\":\"$ed_thumbprint\",\"typ\":\"JWT\"}" \
    "$(b64u_decode "${jwt%%.*}")"
check "... its iat is the server's 2011 clock and it verifies there" "2011-03-22|$uid" \
    "$(q $db "SELECT to_timestamp((smarthub.verify_jwt('$jwt') ->> 'iat')::bigint)::date || '|' || (smarthub.verify_jwt('$jwt') ->> 'sub')")"
check "... and Node.js verifies its signature with RFC 8037 A.2's public key" "true" "$(JWT="$jwt" ED_X="$ed_x" node -e '
const c = require("crypto"), [h, p, s] = process.env.JWT.split(".");
const key = c.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: process.env.ED_X }, format: "jwk" });
console.log(c.verify(null, Buffer.from(h + "." + p), key, Buffer.from(s, "base64url")));' 2>&1)"
# RFC 8037 A.4 signs the text "Example of Ed25519 signing", not a JWT claim set: verify_jwt returns
# the claims of valid JWTs only, so by contract it is NULL (not an error), whatever its signature.
check "RFC 8037 A.4 (its payload is no JSON claim set): NULL, no error" "NULL" "$(q $db "SELECT public.try_verify('$ed_a4')")"

if grep -qE 'terminated by signal|PANIC' "$dir/postgresql.log"; then
    echo "  not ok - the faked-clock server's log shows a crash:"; grep -E 'terminated by signal|PANIC' "$dir/postgresql.log"; exit 1
fi
