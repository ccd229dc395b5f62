# JSON Web Tokens (sql/install/60_jwt.sql), each figure beside an anchor measured in the same run:
#  1. verify_jwt over 20,000 distinct HS256 tokens in one statement, every claim checked (signature,
#     exp, nbf, iss, aud), against the PL/pgSQL verifier over pgcrypto's hmac() of
#     jwt/plpgsql_verifier.sql on the same tokens (ms, lower is better; goal <= 0.1).
#  2. verify_jwt over BENCH_JWT_TOKENS (default 5,000) distinct RS256, ES256 and EdDSA tokens, one
#     key each (RSA 2048, P-256, Ed25519; jwt/sign.js, node's built-in crypto), in one statement,
#     per token, against OpenSSL's own verify time for that key type (`openssl speed -seconds 2`
#     rsa2048 / ecdsap256 / ed25519, measured once in the run: the same operation with no token
#     around it) and against an application-side verifier, node's crypto.verify with the same key
#     and tokens, parsing and claim checks included (jwt/verify.js). Microseconds of CPU time per
#     token on every side (openssl speed divides by its CPU time; the backend's is read from
#     /proc), so that other jobs on the machine do not skew the ratio; lower is better; goal
#     within 1.5x of openssl.
#  3. authenticate_jwt on a valid HS256 token (subject mapped through user_identities) against
#     authenticate_session, each followed by current_user_id() in one transaction, 1 and 2 clients
#     (TPS, higher is better; goal >= 0.8).
#  4. A request's identity path, BENCH_JWT_CLIENTS clients (default 2: on a 2-core machine one
#     client mostly measures how fast the machine wakes up between round trips, 5-10 times slower
#     than two, which hides the server's work): authenticate with an API key, a session token or an
#     HS256 JWT, then the seed's typical queries (a user with its roles, its live API keys, its
#     sessions, an entity's audit trail, its own entities) under RLS as an untrusted application
#     role, against the same queries by a BYPASSRLS role filtering by the user id of a plain SQL
#     look-up of the credential with the checks smarthub makes (expiry, an active key, a live user;
#     for the JWT, of the iss and sub of a token the application has verified itself);
#     one row per credential with all five queries, one row per query with the session token
#     (TPS, higher is better; goal >= 0.95).
# Every token set is checked first: the valid ones must all verify, in both verifiers where there
# are two, and a set of bad tokens must fail in both. The HS256 secret is a line of the keyring
# script/bench configures (jwt-hmac ISSUER KID SECRET), appended for the run and removed after it.
# Sourced by script/bench (cwd bench/, bench/lib.sh loaded).
hs_issuer=https://idp.bench.example
hs_kid=bench-hs256
asym_issuer=https://asym.bench.example
audience=bench-api
asym_n=${BENCH_JWT_TOKENS:-5000}
request_clients=${BENCH_JWT_CLIENTS:-2}

command -v node >/dev/null || die "60_jwt signs its RS256, ES256 and EdDSA tokens with node (Debian's nodejs)"
keyring=$(bq -c 'SHOW smarthub.keyring_file')
[ -n "$keyring" ] && [ -f "$keyring" ] || die "60_jwt needs the keyring script/bench configures (smarthub.keyring_file)"
jwt_tmp=$(mktemp -d)
hs_secret=$(openssl rand 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf 'jwt-hmac %s %s %s\n' "$hs_issuer" "$hs_kid" "$hs_secret" >> "$keyring"
bq -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1

node jwt/sign.js "$asym_n" "$asym_issuer" "$audience" "$jwt_tmp"
bq -v hs_issuer="$hs_issuer" -v hs_kid="$hs_kid" -v hs_secret="$hs_secret" -v asym_issuer="$asym_issuer" \
    -v audience="$audience" -v jwks="$(cat "$jwt_tmp/jwks.json")" -f jwt/setup.sql >/dev/null
bq -c "\\copy bench_jwt_asym (alg, token) FROM '$jwt_tmp/asym.tsv'"
bq -f jwt/plpgsql_verifier.sql
bq -c 'VACUUM ANALYZE bench_jwt_creds, bench_jwt_hs, bench_jwt_asym, smarthub.users, smarthub.user_roles,
                      smarthub.api_keys, smarthub.sessions, smarthub.user_identities, smarthub.entities,
                      smarthub.audit_logs' >/dev/null

# ---- checks: what is raced is what it claims to be ----

got=$(bq -c "SELECT count(smarthub.verify_jwt(t.token, '$audience')) || ' '
                    || count(public.bench_jwt_verify_hs256(t.token, s.secret, s.issuer, '$audience'))
               FROM bench_jwt_hs t, bench_jwt_hs_secret s")
[ "$got" = "20000 20000" ] || die "HS256 tokens verified (smarthub, PL/pgSQL): $got, expected 20000 20000"
got=$(bq -c "SELECT coalesce(string_agg(b.what, ', ' ORDER BY b.what), 'none')
               FROM bench_jwt_bad b, bench_jwt_hs_secret s
              WHERE smarthub.verify_jwt(b.token, '$audience') IS NOT NULL
                 OR public.bench_jwt_verify_hs256(b.token, s.secret, s.issuer, '$audience') IS NOT NULL")
[ "$got" = none ] || die "bad HS256 tokens that verified: $got"
got=$(bq -c "SELECT string_agg(alg || ' ' || count, ', ' ORDER BY alg COLLATE \"C\") FROM (
               SELECT alg, count(smarthub.verify_jwt(token, '$audience')) FROM bench_jwt_asym GROUP BY alg) s")
[ "$got" = "ES256 $asym_n, EdDSA $asym_n, RS256 $asym_n" ] || die "asymmetric tokens verified: $got"
# Under RLS each credential must set its user, who then sees exactly its own rows: 1 profile with
# role "user", 2 keys, 2 sessions, 3 audit rows of the entity, 10 entities.
for auth in "smarthub.authenticate_key(c.api_key)" "smarthub.authenticate_session(c.session)" \
            "smarthub.authenticate_jwt(c.jwt)"; do
    got=$(bq <<SQL | paste -sd' '
BEGIN;
SET LOCAL ROLE bench_jwt_app;
SELECT $auth = c.user_id FROM bench_jwt_creds c WHERE c.n = 7;
SELECT concat_ws(',', (SELECT count(*) FROM smarthub.user_profiles),
                 (SELECT array_to_string(roles, ' ') FROM smarthub.user_profiles),
                 (SELECT count(*) FROM smarthub.active_api_keys), (SELECT count(*) FROM smarthub.active_sessions),
                 (SELECT count(*) FROM smarthub.audit_logs a JOIN bench_jwt_creds c ON a.entity_id = c.entity_id WHERE c.n = 7),
                 (SELECT count(*) FROM smarthub.entities));
COMMIT;
SQL
    )
    [ "$got" = "t 1,user,2,2,3,10" ] || die "$auth under RLS: $got, expected t 1,user,2,2,3,10"
done
# Every pgbench script runs without error (a plain look-up that finds nothing fails its \gset).
# A request's script: its credential's head (jwt/request_*_rls.sql, _plain.sql) and the shared queries.
for f in jwt/request_*_rls.sql jwt/request_*_plain.sql; do
    q=jwt/queries_${f##*_}
    cat "$f" "$q" > "$jwt_tmp/${f#jwt/}"
done
for f in jwt/auth_*.sql "$jwt_tmp"/request_*.sql; do
    out=$("$PGBIN/pgbench" -n -M prepared -t 20 -D kind=0 -f "$f" "$BENCH_DB" 2>&1) || { echo "$out" >&2; die "$f failed"; }
done

# ---- 1. HS256: verify_jwt against PL/pgSQL over pgcrypto ----

race_time "verify_jwt HS256, 20000 tokens" "smarthub verify_jwt" jwt/hs256_smarthub.sql \
    "PL/pgSQL + pgcrypto hmac()" jwt/hs256_plpgsql.sql

# ---- 2. RS256, ES256, EdDSA: per token, against OpenSSL and an application-side verifier ----

# openssl_us NAME: microseconds per verify of `openssl speed NAME`.
openssl_us() {
    openssl speed -seconds 2 -mr "$1" 2>/dev/null \
        | awk -F: '/^\+F[0-9]+:/ {v = $NF} END {if (v > 0) printf "%.2f\n", 1e6 / v; else exit 1}'
}
declare -A speed_name=([RS256]=rsa2048 [ES256]=ecdsap256 [EdDSA]=ed25519) ossl_us=()
for rep in $(seq "$BENCH_REPS"); do
    for alg in RS256 ES256 EdDSA; do
        JWT_CPU_OUT="$jwt_tmp/cpu_$alg" bq -f "jwt/verify_${alg,,}.sql" >/dev/null
    done
    node jwt/verify.js "$jwt_tmp/jwks.json" "$jwt_tmp/asym.tsv" "$asym_issuer" "$audience" > "$jwt_tmp/node.out"
    while read -r alg us valid; do
        [ "$valid" = "$asym_n" ] || die "jwt/verify.js: $valid of $asym_n $alg tokens valid"
        echo "$us" >> "$jwt_tmp/node_$alg"
    done < "$jwt_tmp/node.out"
    if [ "$rep" -eq 1 ]; then
        for alg in RS256 ES256 EdDSA; do ossl_us[$alg]=$(openssl_us "${speed_name[$alg]}"); done
    fi
done
us_row() {   # us_row MEASUREMENT SUBJECT ANCHOR SUBJECT_US ANCHOR_US
    printf '%s\t1\t%s\t%s\t%.1f\t%.1f\tµs/token\t%.2f\n' "$1" "$2" "$3" "$4" "$5" \
        "$(awk -v a="$4" -v b="$5" 'BEGIN {print (b > 0 ? a / b : 0)}')" | tee -a "$BENCH_OUT"
}
for alg in RS256 ES256 EdDSA; do
    [ "$(awk 'NF == 2 && $2 > $1' "$jwt_tmp/cpu_$alg" | wc -l)" -eq "$BENCH_REPS" ] \
        || die "no CPU time read for the $alg runs (/proc/PID/schedstat of the backend)"
    sh_us=$(awk -v n="$asym_n" '{print ($2 - $1) / 1000 / n}' "$jwt_tmp/cpu_$alg" | median)
    us_row "verify_jwt $alg, $asym_n tokens" "smarthub verify_jwt" "openssl speed ${speed_name[$alg]}" \
        "$sh_us" "${ossl_us[$alg]}"
    us_row "verify_jwt $alg, $asym_n tokens" "smarthub verify_jwt" "node crypto.verify, same key" \
        "$sh_us" "$(median < "$jwt_tmp/node_$alg")"
done

# ---- 3. authenticate_jwt against authenticate_session ----

for c in 1 2; do
    race_tps "authenticate + current_user_id()" "$c" "authenticate_jwt HS256" jwt/auth_jwt.sql \
        "authenticate_session" jwt/auth_session.sql
done

# ---- 4. The request's identity path under RLS against plain look-ups without it ----

bq -c "ALTER DATABASE $BENCH_DB SET smarthub.key_touch_interval = '1h'"
for cred in "key:API key:authenticate_key" "session:session token:authenticate_session" \
            "jwt:HS256 JWT:authenticate_jwt"; do
    IFS=: read -r file label fn <<<"$cred"
    BENCH_PGBENCH_OPTS="-D kind=0" race_tps "request, $label + 5 queries" "$request_clients" \
        "RLS, $fn" "$jwt_tmp/request_${file}_rls.sql" "BYPASSRLS, plain look-up" "$jwt_tmp/request_${file}_plain.sql"
done
kinds=("" "user_profiles" "active_api_keys" "active_sessions" "audit trail" "own entities")
for k in 1 2 3 4 5; do
    BENCH_PGBENCH_OPTS="-D kind=$k" race_tps "request, session token + ${kinds[$k]}" "$request_clients" \
        "RLS, authenticate_session" "$jwt_tmp/request_session_rls.sql" "BYPASSRLS, plain look-up" "$jwt_tmp/request_session_plain.sql"
done
bq -c "ALTER DATABASE $BENCH_DB RESET smarthub.key_touch_interval"

# ---- clean up ----

bq -v hs_issuer="$hs_issuer" -v asym_issuer="$asym_issuer" -f jwt/cleanup.sql >/dev/null
kept=$(grep -v "^jwt-hmac $hs_issuer " "$keyring" || true)
printf '%s\n' "$kept" > "$keyring"
bq -c 'SELECT pg_reload_conf()' >/dev/null
rm -rf "$jwt_tmp"
