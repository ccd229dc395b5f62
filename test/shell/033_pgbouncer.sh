#!/usr/bin/env bash
# smarthub.identity_scope through a real PgBouncer in transaction mode (pool_mode = transaction,
# default_pool_size = 2), the set-up in which an application role that could set it to session
# handed its identity to unrelated clients. One client of the application role tries every way
# PostgreSQL offers to make its identity outlive its transaction: SET, SET LOCAL and set_config,
# outside and inside the transaction that authenticates; ALTER ROLE ... SET on itself; -c in the
# startup options. Each is refused. It authenticates with an API key in a transaction and in
# autocommit statements; then, while it is still connected, 20 other clients at once must see no
# identity and none of its entities.
# The scenario is checked to be real: the 20 run on the pool's 2 server connections, among them
# every one the first client used, and they still see an ordinary setting it left there. PgBouncer
# runs no reset query in transaction mode (its docs: server_reset_query, DISCARD ALL by default, is
# not used there unless server_reset_query_always is set; this config spells out both defaults),
# so nothing but smarthub's own scope stands between the clients.
# Not what this test is about: identity_scope = session set by a superuser (ALTER ROLE ... SET), a
# DBA's choice. It serves as the control: for such a role the same 20 clients do see the identity
# in transaction mode, so the check above can fail; and in a session-mode pool, DISCARD ALL on
# release clears it, as README says. 032 covers the settings without a pooler.
. "$(dirname "$0")/lib.sh"
db=smarthub_pgbouncer app=smarthub_pgbouncer_app sess=smarthub_pgbouncer_session
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[ -x "$PGBOUNCER" ] || { echo "  not ok - no pgbouncer (script/lib.sh's TEST_PACKAGES installs it)"; exit 1; }
# PGPORT + 250: inside this cluster's block of ports (script/matrix gives each version 400).
bport=$(free_port $((PGPORT + 250)))
work=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"

# On any exit: stop the pgbouncer this test started (by its pid file), then drop what it made.
cleanup() {
    local pid i
    if [ -s "$work/pgbouncer.pid" ]; then
        pid=$(cat "$work/pgbouncer.pid")
        kill -INT "$pid" 2>/dev/null || true    # safe shutdown
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    fi
    q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    q postgres "DROP ROLE IF EXISTS $app" >/dev/null 2>&1 || true
    q postgres "DROP ROLE IF EXISTS $sess" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
q postgres "DROP ROLE IF EXISTS $app"
q postgres "DROP ROLE IF EXISTS $sess"
q postgres "CREATE DATABASE $db"
q $db "CREATE EXTENSION smarthub"
q postgres "CREATE ROLE $app LOGIN NOINHERIT"
q postgres "CREATE ROLE $sess LOGIN NOINHERIT"
q $db "SELECT smarthub.grant_access('$app'), smarthub.grant_access('$sess')" >/dev/null
q postgres "ALTER ROLE $sess IN DATABASE $db SET smarthub.identity_scope = session"    # the control
uid=$(q $db "SELECT smarthub.create_user('pgbouncer@example.com', 'pgbouncer', 'pgbouncer-password-1')")
q $db "INSERT INTO smarthub.entities (entity_type, owner_id, name)
       SELECT 'doc', '$uid', 'doc ' || i FROM generate_series(1, 25) AS i"
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid', 'pgbouncer')")
session=$(q $db "SELECT smarthub.create_session('$uid')")
jwt=$(q $db "SELECT smarthub.issue_jwt('$session')")

# The pooler: the same database twice, in transaction mode and (for the control) in session mode.
printf '"%s" ""\n' "$app" "$sess" > "$work/userlist.txt"
cat > "$work/pgbouncer.ini" <<INI
[databases]
$db = host=127.0.0.1 port=$PGPORT dbname=$db
${db}_session = host=127.0.0.1 port=$PGPORT dbname=$db pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 2
min_pool_size = 0
reserve_pool_size = 0
server_reset_query = DISCARD ALL
server_reset_query_always = 0
ignore_startup_parameters = extra_float_digits
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work"
as_pg "$PGBOUNCER" -d "$work/pgbouncer.ini" \
    || { cat "$work/pgbouncer.log" 2>/dev/null; echo "  not ok - pgbouncer did not start"; exit 1; }
echo "  # $("$PGBOUNCER" --version | head -n1) on 127.0.0.1:$bport"

# pb DB USER ARGS...: psql through the pooler (which refuses an options startup parameter).
pb() { local d=$1 u=$2; shift 2; env -u PGOPTIONS "$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$bport" -U "$u" -d "$d" "$@"; }
for i in $(seq 100); do pb $db $app -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
pb $db $app -c 'SELECT 1' >/dev/null \
    || { tail -n 20 "$work/pgbouncer.log"; echo "  not ok - pgbouncer does not accept clients"; exit 1; }

# clients.sh DB USER NAME: 20 clients at once, each one query through the pooler; each answer
# (identity|entities it sees|backend pid|the mark an earlier client left there) in NAME.N. The
# sleep keeps them overlapping, so that both server connections serve them.
cat > "$work/clients.sh" <<SH
for i in \$(seq 20); do
    env -u PGOPTIONS "$PGBIN/psql" -X -qAt -h 127.0.0.1 -p $bport -U "\$2" -d "\$1" -c "SELECT
        smarthub.current_user_id(), (SELECT count(*) FROM smarthub.entities), pg_backend_pid(),
        current_setting('test033.left_by', true) FROM pg_sleep(0.2)" > "\$3.\$i" 2>&1 &
done
wait
SH
# answers NAME: the 20 answers in one file, checked for shape.
answers() {
    local f=$work/$1 bad
    cat "$f".[0-9]* > "$f"
    bad=$(grep -vE '^([0-9a-f-]{36})?\|[0-9]+\|[0-9]+\|[0-9]*$' "$f" || true)
    check "$1: all 20 clients answered" "20 answers" "$(wc -l < "$f") answers${bad:+: $bad}"
}
backends() { cut -d'|' -f3 "$work/$1" | sort -u; }            # the backends that served them
pids() { grep -o 'pid=[0-9]*' "$@" | cut -d= -f2 | sort -u; }   # those a client's rows name
# on PIDS NAME: the answers given by those backends
on() { awk -F'|' -v p="$1" 'BEGIN { n = split(p, a, /[ \n]+/); for (i = 1; i <= n; i++) s[a[i]] = 1 } $3 in s' "$work/$2"; }
# seen NAME: each identity|entities answer with its number of clients, such as '20 × |0'
seen() { cut -d'|' -f1,2 "$work/$1" | sort | uniq -c | awk '{ print $1 " × " $2 }'; }

# Two clients at once: the pool's two server connections, each then with smarthub loaded (so that a
# SET below meets the real setting, never a placeholder).
for i in 1 2; do
    pb $db $app -c "SELECT smarthub.current_user_id() IS NULL, pg_backend_pid() FROM pg_sleep(0.5)" > "$work/warm.$i" &
done
wait
check "two clients at once run on two server connections" 2 "$(cut -d'|' -f2 "$work"/warm.* | sort -u | wc -l)"

out=$(PGOPTIONS="-c smarthub.identity_scope=session" "$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$bport" \
    -U $app -d $db -c "SHOW smarthub.identity_scope" 2>&1) && out="connected: $out"
check "startup options are refused by the pooler" "unsupported startup parameter" \
    "$(grep -o 'unsupported startup parameter' <<<"$out" || echo "$out")"

# The client that tries to keep its identity. Each attempt is its own block; after a statement
# that must fail, its SQLSTATE and message. Every row it reads names its backend (pid=N). Last,
# an ordinary setting it leaves behind (test033.left_by = its backend's pid), and, still
# connected, the 20 other clients.
refused='42501 permission denied to set parameter "smarthub.identity_scope"'
pb $db $app > "$work/attacker" 2> "$work/attacker.err" <<SQL
SELECT smarthub.current_user_id() IS NULL \g /dev/null
\echo == SET
SET smarthub.identity_scope = session;
\echo :SQLSTATE :LAST_ERROR_MESSAGE
\echo == set_config
SELECT set_config('smarthub.identity_scope', 'session', false);
\echo :SQLSTATE :LAST_ERROR_MESSAGE
\echo == ALTER ROLE
ALTER ROLE $app SET smarthub.identity_scope = session;
\echo :SQLSTATE :LAST_ERROR_MESSAGE
\echo == SET LOCAL in the transaction that authenticates
BEGIN;
SELECT smarthub.authenticate_key('$key') = '$uid', 'pid=' || pg_backend_pid();
SET LOCAL smarthub.identity_scope = session;
\echo :SQLSTATE :LAST_ERROR_MESSAGE
COMMIT;
\echo == SET in the transaction that authenticates
BEGIN;
SELECT smarthub.authenticate_key('$key') = '$uid', 'pid=' || pg_backend_pid();
SET smarthub.identity_scope = session;
\echo :SQLSTATE :LAST_ERROR_MESSAGE
COMMIT;
\echo == set_config in the transaction that authenticates
BEGIN;
SELECT smarthub.authenticate_key('$key') = '$uid', 'pid=' || pg_backend_pid();
SELECT set_config('smarthub.identity_scope', 'session', true);
\echo :SQLSTATE :LAST_ERROR_MESSAGE
COMMIT;
\echo == a transaction
BEGIN;
SELECT smarthub.authenticate_key('$key') = '$uid', 'pid=' || pg_backend_pid();
SELECT smarthub.current_user_id() = '$uid', (SELECT count(*) FROM smarthub.entities),
       current_setting('smarthub.identity_scope'), 'pid=' || pg_backend_pid();
COMMIT;
SELECT smarthub.current_user_id() IS NULL, (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
\echo == autocommit
SELECT smarthub.authenticate_key('$key') = '$uid', 'pid=' || pg_backend_pid();
SELECT smarthub.current_user_id() IS NULL, (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
\echo == a JWT transaction
BEGIN;
SELECT smarthub.authenticate_jwt('$jwt') = '$uid', (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
COMMIT;
SELECT smarthub.current_user_id() IS NULL, (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
\echo == JWT autocommit
SELECT smarthub.authenticate_jwt('$jwt') = '$uid', 'pid=' || pg_backend_pid();
SELECT smarthub.current_user_id() IS NULL, (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
\echo == mark
SELECT set_config('test033.left_by', pg_backend_pid()::text, false) IS NOT NULL,
       current_setting('smarthub.identity_scope'), 'pid=' || pg_backend_pid();
\echo == end
\! bash "$work/clients.sh" $db $app "$work/app"
SQL
# raw NAME: the attacker's lines of that block; block NAME: the same without their pid=N column
raw() { awk -v b="== $1" '$0 == b { f = 1; next } /^== / { f = 0 } f' "$work/attacker"; }
block() { raw "$1" | sed -E 's/\|?pid=[0-9]+$//'; }
check "SET is refused" "$refused" "$(block SET)"
check "set_config is refused" "$refused" "$(block set_config)"
check "ALTER ROLE ... SET on itself is refused" "$refused" "$(block 'ALTER ROLE')"
check "nothing was stored for the role" 0 "$(q postgres "SELECT count(*) FROM pg_db_role_setting WHERE setrole = '$app'::regrole")"
for how in 'SET LOCAL' SET set_config; do
    check "$how in the transaction that authenticates is refused" "t
$refused" "$(block "$how in the transaction that authenticates")"
done
check "a transaction that authenticates sees the identity and its 25 entities, then nothing" "t
t|25|transaction
t|0" "$(block 'a transaction')"
check "an autocommit statement's identity ends with it" "t
t|0" "$(block autocommit)"
check "authenticate_jwt: the identity lasts for its transaction, then nothing" "t|25
t|0" "$(block 'a JWT transaction')"
check "authenticate_jwt in an autocommit statement: its identity ends with it" "t
t|0" "$(block 'JWT autocommit')"
check "the attacker leaves an ordinary setting behind" "t|transaction" "$(block mark)"

answers app
check "the pooler shares server connections: 20 clients on 2 backends" 2 "$(backends app | wc -l)"
check "every backend the attacker used served later clients" "" "$(comm -23 <(pids "$work/attacker") <(backends app))"
check "while it is still connected, those after it on its backend see what it left (no reset)" "" \
    "$(on "$(raw mark | pids)" app | awk -F'|' '$4 != $3')"
echo "  # $(on "$(pids "$work/attacker")" app | wc -l) of the 20 ran on the attacker's backends"
check "none of the 20 clients sees an identity or an entity" "20 × |0" "$(seen app)"

# The control: a role a superuser gave identity_scope = session. Through the same transaction-mode
# pool its identity does reach the next clients of the connection; a session-mode pool's
# DISCARD ALL on release clears it.
pb $db $sess > "$work/sess_attacker" 2>&1 <<SQL
BEGIN;
SELECT smarthub.authenticate_key('$key') = '$uid', current_setting('smarthub.identity_scope'), 'pid=' || pg_backend_pid();
COMMIT;
\! bash "$work/clients.sh" $db $sess "$work/sess"
SQL
check "control: a role given session scope by a superuser authenticates" "t|session" \
    "$(sed -E 's/\|pid=[0-9]+$//' "$work/sess_attacker")"
answers sess
check "control: every backend it used served later clients" "" "$(comm -23 <(pids "$work/sess_attacker") <(backends sess))"
echo "  # $(on "$(pids "$work/sess_attacker")" sess | wc -l) of the 20 ran on its backend"
check "control: in transaction mode those clients see its identity (the check above can fail)" \
    "$uid|25" "$(on "$(pids "$work/sess_attacker")" sess | cut -d'|' -f1,2 | sort -u)"

# (This one authenticates with a JWT: the same identity, the same scope, cleared the same way.)
pb ${db}_session $sess > "$work/sess_pool_attacker" 2>&1 <<SQL
BEGIN;
SELECT smarthub.authenticate_jwt('$jwt') = '$uid', 'pid=' || pg_backend_pid();
COMMIT;
SELECT smarthub.current_user_id() = '$uid', (SELECT count(*) FROM smarthub.entities), 'pid=' || pg_backend_pid();
SQL
check "control: in a session-mode pool the identity lasts for the client's session" "t
t|25" "$(sed -E 's/\|pid=[0-9]+$//' "$work/sess_pool_attacker")"
bash "$work/clients.sh" ${db}_session $sess "$work/sess_pool"
answers sess_pool
check "control: its backend served the clients after it" "" "$(comm -23 <(pids "$work/sess_pool_attacker") <(backends sess_pool))"
check "control: DISCARD ALL on release cleared the identity for all 20" "20 × |0" "$(seen sess_pool)"
