#!/usr/bin/env bash
# Login throttling under concurrency, and the equal-work promise. 100 wrong guesses for one
# account from 20 clients at once are all counted; with a threshold of 10, 100 concurrent attempts
# get exactly 10 verdicts (LOGIN_FAILED) and 90 refusals (LOGIN_LOCKED) (a right password among them
# would have reset the count: 023 shows one refused beyond the threshold); an unknown login and a known one with a wrong password give the same
# results and audit actions and take the same time (medians of 60 interleaved attempts each, timed
# inside the server, within 25%: each is one bcrypt at one cost and the same counting).
. "$(dirname "$0")/lib.sh"
db=smarthub_throttle
work=$(mktemp -d)
cleanup() { q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; rm -rf "$work"; }
trap cleanup EXIT
q postgres "DROP DATABASE IF EXISTS $db" >/dev/null
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q $db "ALTER DATABASE $db SET smarthub.bcrypt_cost = 4"
user() { q $db "SET smarthub.bcrypt_cost = ${2:-4}; SELECT smarthub.create_user('$1@example.com', '$1', 'right-password')" | tail -1; }
# timed's hash has the cost the timing runs at, the cost the check of an unknown login does
many=$(user many) race=$(user race) timed=$(user timed 6)
pgb() { "$PGBIN/pgbench" -n "$@" $db 2>&1; }

q $db "ALTER DATABASE $db SET smarthub.login_max_failures = 1000"
echo "SELECT smarthub.login('many', 'wrong-' || :client_id);" > "$work/guess.sql"
pgb -c 20 -j 4 -t 5 -f "$work/guess.sql" >/dev/null || { echo "  not ok - pgbench failed"; exit 1; }
check "100 concurrent wrong guesses: all 100 counted" 100 \
    "$(q $db "SELECT attempts FROM smarthub.login_throttle WHERE scope = 'account' AND subject = '$many'")"

q $db "ALTER DATABASE $db SET smarthub.login_max_failures = 10"
echo "SELECT smarthub.login('race', 'wrong-' || :client_id);" > "$work/race.sql"
pgb -c 20 -j 4 -t 5 -f "$work/race.sql" >/dev/null || { echo "  not ok - pgbench failed"; exit 1; }
check "100 concurrent attempts, threshold 10: exactly 10 verdicts and 90 refusals" "10|90" \
    "$(q $db "SELECT count(*) FILTER (WHERE action IN ('LOGIN', 'LOGIN_FAILED')) || '|' || count(*) FILTER (WHERE action = 'LOGIN_LOCKED')
               FROM smarthub.audit_logs WHERE entity_id = '$race'")"
check "... and the account is locked" t \
    "$(q $db "SELECT locked_until > now() FROM smarthub.login_throttle WHERE scope = 'account' AND subject = '$race'")"

# Known and unknown, side by side: same results, same audit actions, same time.
q $db "ALTER DATABASE $db SET smarthub.login_max_failures = 1000"
q $db "ALTER DATABASE $db SET smarthub.bcrypt_cost = 6"
check "known and unknown: both NULL" "null|null" \
    "$(q $db "SELECT coalesce(smarthub.login('timed', 'x'), 'null') || '|' || coalesce(smarthub.login('nobody-at-all', 'x'), 'null')")"
# Timed inside the server, known and unknown interleaved in one backend (so that drift and other
# jobs hit both alike), 60 of each after a warm-up; a run that misses is repeated, at most three
# times (an early return for either path would miss every time).
q $db "CREATE FUNCTION public.login_us(login text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM smarthub.login(login, 'wrong');
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6;
END \$\$" >/dev/null
for attempt in 1 2 3; do
    read -r km um <<<"$(q $db "
        CREATE TEMP TABLE timing (known boolean, us float8);
        SELECT public.login_us('timed'), public.login_us('nobody-at-all') FROM generate_series(1, 5);
        INSERT INTO timing SELECT k, public.login_us(CASE WHEN k THEN 'timed' ELSE 'nobody-at-all' END)
          FROM generate_series(1, 60) i, (VALUES (true), (false)) v(k);
        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE known)) || ' '
            || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FILTER (WHERE NOT known)) FROM timing" | tail -1)"
    echo "  # login, median of 60 interleaved: known login ${km} µs, unknown login ${um} µs (run $attempt)"
    within=$(awk -v a="$km" -v b="$um" 'BEGIN { r = a / b; print (r > 0.8 && r < 1.25) ? "t" : "f" }')
    [ "$within" = t ] && break
done
check "the same time within 25%" t "$within"
n=$((1 + 65 * attempt))   # attempts per login: the check above, then 5 + 60 per run
check "the same audit actions" "LOGIN_FAILED $n|LOGIN_FAILED $n" \
    "$(q $db "SELECT (SELECT string_agg(action || ' ' || n, ',') FROM (SELECT action::text, count(*) n FROM smarthub.audit_logs WHERE changes ->> 'login' = 'timed' GROUP BY 1) a)
               || '|' || (SELECT string_agg(action || ' ' || n, ',') FROM (SELECT action::text, count(*) n FROM smarthub.audit_logs WHERE changes ->> 'login' = 'nobody-at-all' GROUP BY 1) b)")"
check "the same counting: $n attempts each" "$n|$n" \
    "$(q $db "SELECT (SELECT attempts FROM smarthub.login_throttle WHERE subject = '$timed') || '|' || (SELECT attempts FROM smarthub.login_throttle WHERE subject = 'login:nobody-at-all')")"
