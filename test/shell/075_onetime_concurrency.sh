#!/usr/bin/env bash
# One-time tokens under concurrency, and the equal work of unknown logins.
# - Single use: for each kind (verify_email, reset_password, login_with_magic_link), 20 pgbench
#   clients redeem one token 5 times each, 100 redemptions in all, the first 20 released at once
#   from an advisory-lock barrier; every redemption records its result in a side table in the same
#   transaction. Exactly one succeeds, no transaction fails, and exactly one change is made (one
#   verification, one PASSWORD_RESET audit row, one session and LOGIN row).
# - Same work: request_password_reset for 200 existing logins and 200 unknown ones, interleaved,
#   each call timed inside the server; the medians must be within 25% of each other (a run that
#   misses is repeated, at most three times in all, so that a noisy neighbour does not fail it; an
#   early return for unknown logins misses every time).
. "$(dirname "$0")/lib.sh"
db=smarthub_onetime_conc
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning -c smarthub.bcrypt_cost=4"
q postgres "DROP DATABASE IF EXISTS $db" && q postgres "CREATE DATABASE $db"
trap 'q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
q $db "CREATE EXTENSION smarthub"
q $db "CREATE TABLE public.redeemed (kind text NOT NULL, client int NOT NULL, ok boolean NOT NULL)"
uid=$(q $db "SELECT smarthub.create_user('race@example.com', 'race', 'race-password')")
clients=20 per_client=5

# race KIND CALL: 20 clients x 5 transactions, each INSERTing (KIND, client, CALL IS NOT NULL).
race() {
    local kind=$1 call=$2 script=$SMARTHUB_CLUSTER/onetime_$1.sql fifo=$SMARTHUB_CLUSTER/onetime_barrier.fifo
    local out waiting
    printf '%s\n' "SELECT pg_catalog.pg_advisory_xact_lock_shared(7500);" \
        "INSERT INTO public.redeemed SELECT '$kind', :client_id, ($call) IS NOT NULL;" > "$script"
    # the barrier: an exclusive advisory lock, held until every client waits for it
    rm -f "$fifo"; mkfifo "$fifo"
    "$PGBIN/psql" -X -qAt -d $db < "$fifo" > "$SMARTHUB_CLUSTER/onetime_barrier.out" 2>&1 &
    exec 7> "$fifo"
    echo "SELECT pg_catalog.pg_advisory_lock(7500); SELECT 'held';" >&7
    for _ in $(seq 100); do grep -q held "$SMARTHUB_CLUSTER/onetime_barrier.out" && break; sleep 0.1; done
    "$PGBIN/pgbench" -n -c $clients -j $clients -t $per_client -f "$script" $db > "$SMARTHUB_CLUSTER/onetime_pgbench.out" 2>&1 &
    local bench=$!
    for _ in $(seq 300); do
        waiting=$(q $db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7500 AND NOT granted")
        [ "$waiting" -eq $clients ] && break
        sleep 0.1
    done
    check "$kind: all $clients clients wait at the barrier" $clients "$waiting"
    echo "SELECT pg_catalog.pg_advisory_unlock(7500);" >&7
    exec 7>&-
    wait $bench || { cat "$SMARTHUB_CLUSTER/onetime_pgbench.out"; echo "  not ok - $kind: pgbench failed"; exit 1; }
    wait
    out=$(cat "$SMARTHUB_CLUSTER/onetime_pgbench.out")
    rm -f "$script" "$fifo"
    check "$kind: $((clients * per_client)) transactions, none failed" "$((clients * per_client)) 0" \
        "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out" | grep . || echo 0)"
    check "$kind: $((clients * per_client)) redemptions recorded, exactly one succeeded" "$((clients * per_client)) 1" \
        "$(q $db "SELECT count(*) || ' ' || count(*) FILTER (WHERE ok) FROM public.redeemed WHERE kind = '$kind'")"
}

token=$(q $db "SELECT smarthub.create_email_verification('$uid')")
race verify_email "smarthub.verify_email('$token')"
check "verify_email: the email is verified" t "$(q $db "SELECT email_verified FROM smarthub.users WHERE id = '$uid'")"
check "verify_email: one UPDATE audit row verified it" 1 \
    "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE entity_id = '$uid' AND action = 'UPDATE' AND changes -> 'after' ? 'email_verified'")"

token=$(q $db "SELECT smarthub.request_password_reset('race')")
race reset_password "smarthub.reset_password('$token', 'new-password-' || :client_id)"
winner=$(q $db "SELECT client FROM public.redeemed WHERE kind = 'reset_password' AND ok")
check "reset_password: the winner's password is the one set" t \
    "$(q $db "SELECT smarthub.verify_password('new-password-$winner', password_hash) FROM smarthub.users WHERE id = '$uid'")"
check "reset_password: one PASSWORD_RESET audit row" 1 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE action = 'PASSWORD_RESET'")"

token=$(q $db "SELECT smarthub.create_magic_link('race@example.com')")
race login_with_magic_link "smarthub.login_with_magic_link('$token')"
check "login_with_magic_link: one session" 1 "$(q $db "SELECT count(*) FROM smarthub.sessions WHERE user_id = '$uid'")"
check "login_with_magic_link: one LOGIN audit row" 1 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE action = 'LOGIN'")"
check "no token is left" 0 "$(q $db "SELECT count(*) FROM smarthub.one_time_tokens")"
check "no deadlock in the server log" 0 "$(grep -c 'deadlock detected' "$SMARTHUB_CLUSTER/postgresql.log" || true)"

# -- the same work for a login that names nobody --------------------------------------------------
run $db <<'SQL'
INSERT INTO smarthub.users (email, username, password_hash)
SELECT 'known' || i || '@example.com', 'known' || i, 'x' FROM generate_series(1, 210) i;
CREATE FUNCTION public.reset_us(login text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM smarthub.request_password_reset(login);
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END $$;
SQL
for attempt in 1 2 3; do
    medians=$(q $db "
        BEGIN;
        CREATE TEMP TABLE timing (known boolean, us float8);
        DO \$\$ BEGIN
            FOR i IN 1 .. 10 LOOP   -- warm-up: plans prepared, caches filled (not counted)
                PERFORM public.reset_us('known' || (200 + i)), public.reset_us('nobody' || (200 + i));
            END LOOP;
            FOR i IN 1 .. 200 LOOP
                INSERT INTO timing VALUES (true, public.reset_us('known' || i)), (false, public.reset_us('nobody' || i));
            END LOOP;
        END \$\$;
        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE known)) || ' '
            || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE NOT known)) FROM timing;
        ROLLBACK" | tail -1)
    read -r known unknown <<<"$medians"
    echo "    request_password_reset median: existing login ${known} us, unknown login ${unknown} us (run $attempt)"
    [ "${known:-0}" -gt 0 ] && [ "${unknown:-0}" -gt 0 ] || { echo "  not ok - no timing"; exit 1; }
    # within 25%: the slower at most 1.25 times the faster
    within=$(( (known > unknown ? known : unknown) * 100 <= (known > unknown ? unknown : known) * 125 ))
    [ "$within" -eq 1 ] && break
done
check "request_password_reset: the medians for existing and unknown logins are within 25%" 1 "$within"
