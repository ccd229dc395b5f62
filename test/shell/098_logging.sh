#!/usr/bin/env bash
# What reaches the server log, pg_stat_statements and pg_stat_activity when an application calls
# smarthub through a real driver (node-postgres, every value a bind parameter) on a server that logs
# as PostgreSQL ships it (log_min_error_statement = error): no password, key, token or hash, whatever
# error ends the statement. And what README's "Logging and secrets" says does reach them: literals,
# values an error quotes, what each setting that logs more exposes (with pgaudit, pg_stat_statements
# and auto_explain); its per-role settings, under a server that logs everything; its table of
# settings against pg_settings. A cluster of its own: script/test's logs with
# log_min_error_statement = panic (099 searches that log).
. "$(dirname "$0")/lib.sh"
db=smarthub_logging app=smarthub_logging_app web=smarthub_logging_web
dir=$(mktemp -d /tmp/smarthub-logging.XXXXXX)
trap 'stop_cluster "$dir"; rm -rf "$dir"' EXIT

# node-postgres: Debian's node-pg (script/lib.sh installs it), or pg from the npm registry on a
# machine whose Node.js is not Debian's.
export NODE_PATH=/usr/share/nodejs
if ! node -e "require('pg')" 2>/dev/null; then
    npm install --prefix "$dir/npm" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
        --cache "$dir/npm/cache" pg@8.23.1 >/dev/null \
        || { echo "  not ok - node-postgres: neither Debian's node-pg nor 'npm install pg' works"; exit 1; }
    NODE_PATH=$dir/npm/node_modules
fi

port=$(free_port $((PGPORT + 270)))
start_cluster "$dir" "$port" "shared_preload_libraries = 'pg_stat_statements, pgaudit'"
export PGPORT=$port PGDATABASE=$db
log=$dir/postgresql.log
pgv=$(q postgres "SHOW server_version_num")

# stmt SQL [PARAM...]: one statement for the driver (a JSON array; no quote or backslash escaping
# is needed beyond what this does). drive ROLE: runs the statements on stdin as ROLE, one connection.
stmt() {
    local a out=
    for a in "$@"; do a=${a//\\/\\\\}; a=${a//\"/\\\"}; out+="${out:+,}\"$a\""; done
    echo "[$out]"
}
drive() { PGUSER=$1 node "$REPO/test/shell/logging/driver.js"; }
mark() { wc -c <"$log"; }                      # the log's size now
since() { tail -c +$(($1 + 1)) "$log"; }       # the log from a mark on
has() { grep -cF -- "$1" <<<"$2" || true; }    # how many lines of $2 hold the text $1
hasre() { grep -cE -- "$1" <<<"$2" || true; }
tokens='sh[ks]_[0-9A-Za-z]{38}'
bcrypt='\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}'
digest='[0-9a-f]{64}'
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
pw() { echo "Logging-$1-$RANDOM$RANDOM"; }
# leaks LABEL TEXT SECRET...: each secret, and anything shaped like a key, token, bcrypt hash or
# SHA-256, is absent from TEXT
leaks() {
    local label=$1 text=$2 s
    shift 2
    for s in "$@"; do
        [ -n "$s" ] || { echo "  not ok - $label: an empty secret"; exit 1; }
        check "$label: not ${s:0:4}… (${#s} characters)" 0 "$(has "$s" "$text")"
    done
    check "$label: no key or token" 0 "$(hasre "$tokens" "$text")"
    check "$label: no bcrypt hash" 0 "$(hasre "$bcrypt" "$text")"
    check "$label: no SHA-256" 0 "$(hasre "$digest" "$text")"
}

check "the cluster logs as PostgreSQL ships it (only log_line_prefix and log_timezone are set)" \
    "log_line_prefix log_timezone" \
    "$(q postgres "SELECT string_agg(name, ' ' ORDER BY name) FROM pg_settings
                   WHERE (name ~ '^(log_|debug_|pgaudit\.|pg_stat_statements\.|auto_explain\.)'
                          OR name IN ('track_activities', 'session_preload_libraries'))
                     AND source <> 'default'")"
check "log_min_error_statement, log_statement, log_min_duration_statement, log_parameter_max_length_on_error" \
    "error none -1 0" "$(q postgres "SELECT concat_ws(' ', current_setting('log_min_error_statement'),
        current_setting('log_statement'), current_setting('log_min_duration_statement'),
        current_setting('log_parameter_max_length_on_error'))")"

q postgres "CREATE DATABASE $db"
run $db >/dev/null <<SQL
CREATE EXTENSION smarthub;
CREATE EXTENSION pg_stat_statements;
ALTER DATABASE $db SET smarthub.bcrypt_cost = 4;
CREATE ROLE $app LOGIN;
CREATE ROLE $web LOGIN;
SELECT smarthub.grant_access('$app', trusted => true);
SELECT smarthub.grant_access('$web');
-- one of the application's own tables
CREATE TABLE public.seen (id integer PRIMARY KEY CHECK (id > 0), note text);
INSERT INTO public.seen VALUES (1, 'one');
GRANT SELECT, INSERT ON public.seen TO $app;
SQL

# --- The application's credentials: a user, a key, a session.
pw1=$(pw one)
uid=$(stmt 'SELECT smarthub.create_user($1, $2, $3)' carol@example.com carol "$pw1" | drive $app)
uid=${uid#ok }
out=$({ stmt 'SELECT key FROM smarthub.create_api_key($1, $2)' "$uid" deploy
        stmt 'SELECT smarthub.login($1, $2)' carol "$pw1"; } | drive $app)
key=$(sed -n '1s/^ok //p' <<<"$out") token=$(sed -n '2s/^ok //p' <<<"$out")
hash1=$(q $db "SELECT password_hash FROM smarthub.users WHERE id = '$uid'")
made=$([[ $uid =~ ^[0-9a-f-]{36}$ && $key =~ ^shk_ && $token =~ ^shs_ ]] && echo t)
check "node-postgres $(node -p "require('pg/package.json').version") made a user, a key and a session; bcrypt cost 4" \
    "t \$2b\$04\$" "$made ${hash1:0:7}"

# --- Bind parameters, default settings: an error anywhere in the statement.
pw2=$(pw two) pw3=$(pw three) pw4=$(pw four) long=$(pw long)$(printf 'x%.0s' {1..60})
jwt="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.$(sha "$RANDOM$RANDOM" | head -c 43)"   # shaped like a JWT
divide='1 / (random() < 0)::int'    # division by zero when the row is computed, after the call
expected=() input=()
add() { expected+=("$1"); shift; input+=("$(stmt "$@")"); }
add 'error 23505' 'SELECT smarthub.create_user($1, $2, $3)' carol@example.com carol2 "$pw2"
add 'error 23514' 'SELECT smarthub.create_user($1, $2, $3)' not-an-email carol3 "$pw2"
add 'error 22012' 'SELECT smarthub.create_user($1, $2, $3), 1/0' dave@example.com dave "$pw2"
add 'error 22012' "SELECT smarthub.create_user(\$1, \$2, \$3), $divide" erin@example.com erin "$pw2"
add 'error 22023' 'SELECT smarthub.create_user($1, $2, $3, roles => $4)' frank@example.com frank "$pw2" '{owner}'
add 'error 22012' "SELECT smarthub.set_password(\$1, \$2), $divide" "$uid" "$pw3"
add 'error 22P02' 'SELECT smarthub.set_password($1, $2)' not-a-uuid "$pw3"
add 'error 22023' 'SELECT smarthub.set_password($1, $2)' "$uid" "$long"
add 'error 22P02' 'SELECT smarthub.login($1, $2, $3)' carol "$pw1" not-an-inet
add 'error 22007' 'SELECT smarthub.login($1, $2, ttl => $3)' carol "$pw1" not-an-interval
add 'error 22023' 'SELECT smarthub.login($1, $2, ttl => $3)' carol "$pw1" '-1 hour'
add 'error 22012' "SELECT smarthub.login(\$1, \$2), $divide" carol "$pw1"
add 'ok ' 'BEGIN READ ONLY'
add 'error 25006' 'SELECT smarthub.login($1, $2)' carol "$pw1"
add 'ok ' 'ROLLBACK'
add 'error 42601' 'SELECT smarthub.login($1, $2) FROM' carol "$pw1"
add 'error 42P01' 'SELECT smarthub.login($1, $2) FROM public.no_such_table' carol "$pw1"
add 'error 23505' 'INSERT INTO public.seen (id, note) SELECT 1, smarthub.login($1, $2)' carol "$pw1"
add 'error 23514' 'INSERT INTO public.seen (id, note) SELECT -1, length(smarthub.login($1, $2))' carol "$pw1"
add 'error 22007' 'SELECT smarthub.create_api_key($1, $2, $3)' "$uid" k not-a-time
add 'error 22023' 'SELECT smarthub.create_api_key($1, $2, $3)' "$uid" k '2000-01-01 00:00:00+00'
add 'error 22012' "SELECT key, $divide FROM smarthub.create_api_key(\$1, \$2)" "$uid" k
add 'error 22023' 'SELECT smarthub.create_session($1, $2)' "$uid" '-1 hour'
add 'error 22P02' 'SELECT smarthub.create_session($1, ip_address => $2)' "$uid" not-an-inet
add 'error 22012' "SELECT smarthub.create_session(\$1), $divide" "$uid"
add 'error 22012' "SELECT smarthub.verify_key(\$1), $divide" "$key"
add 'error 22012' "SELECT smarthub.verify_session(\$1), smarthub.authenticate_session(\$1), $divide" "$token"
add 'error 22012' "SELECT smarthub.hash_password(\$1), $divide" "$pw4"
add 'error 22023' 'SELECT smarthub.hash_password($1, $2)' "$pw4" 3
add 'error 22023' 'SELECT smarthub.verify_password($1, $2)' "$pw1" not-a-hash
add 'error 55000' 'SELECT smarthub.issue_jwt($1)' "$token"     # this cluster's keyring has no jwt-sign key
add 'error 22023' 'SELECT smarthub.issue_jwt($1, $2)' "$token" '5 days'
add 'error 22012' "SELECT smarthub.verify_jwt(\$1), smarthub.authenticate_jwt(\$1), $divide" "$jwt"
m=$(mark)
got=$(printf '%s\n' "${input[@]}" | drive $app)
# an untrusted role without an identity may not act for carol
got+=$'\n'$({ stmt 'SELECT smarthub.revoke_session($1)' "$token"
              stmt 'SELECT smarthub.set_password($1, $2)' "$uid" "$pw3"; } | drive $web)
seg=$(since "$m")
check "bind parameters: each statement ends with its error" "$(printf '%s\n' "${expected[@]}" 'error 42501' 'error 42501')" "$got"
check "bind parameters: the log shows the 33 errors" 33 "$(hasre ' ERROR:  ' "$seg")"
# smarthub's password functions leave the statement out: create_user (3), set_password (2), login
# (2), hash_password, verify_password; create_session's ttl check, issue_jwt's errors and
# revoke_session's refusal too
check "bind parameters: and 20 of their statements, with placeholders only" "20 0" \
    "$(hasre ' STATEMENT:  ' "$seg") $(grep ' STATEMENT:  ' <<<"$seg" | grep -vc '\$1' || true)"
leaks "bind parameters, default settings" "$seg" "$pw1" "$pw2" "$pw3" "$pw4" "$long" "$key" "$token" "$jwt" \
    "$(sha "$key")" "$(sha "$token")" "$hash1"
check "carol's password is still the first" "$hash1" "$(q $db "SELECT password_hash FROM smarthub.users WHERE id = '$uid'")"

# --- What does reach the log with the default settings.
# literals: the statement of any error but the password functions' own
lit1=$(pw literal) lit2=$(pw literal) lit3=$(pw literal) plain=$(pw plaintext)
m=$(mark)
got=$({ stmt "SELECT smarthub.login('carol', '$lit1'), 1/0"
        stmt "SELECT smarthub.login('carol', '$lit2', 'not-an-inet')"
        stmt "SET statement_timeout = '50ms'"
        stmt "SELECT smarthub.verify_key('$key'), pg_sleep(1)"
        stmt "RESET statement_timeout"
        stmt "SELECT smarthub.encrypt_text('$plain')"; } | drive $app)
seg=$(since "$m")
check "literals: the statements fail" "error 22012 error 22P02 ok error 57014 ok error 55000" "$(echo $got)"
check "literals: a password beside 1/0, beside a bad inet, a key in a statement that timed out: logged; a plaintext encrypt_text refused: not" \
    "1 1 1 0" "$(has "$lit1" "$seg") $(has "$lit2" "$seg") $(has "$key" "$seg") $(has "$plain" "$seg")"
m=$(mark)
got=$({ stmt "SELECT smarthub.create_user('not-an-email', 'carol4', '$lit3')"
        stmt "SELECT smarthub.login('carol', '$lit3', ttl => '-1 hour')"; } | drive $app)
got+=$'\n'$(stmt "SELECT smarthub.revoke_session('$token')" | drive $web)
seg=$(since "$m")
check "literals: the password functions' own errors leave the statement out, and revoke_session's" \
    "error 23514 error 22023 error 42501|3 0 0" \
    "$(echo $got)|$(hasre ' ERROR:  ' "$seg") $(has "$lit3" "$seg") $(has "$token" "$seg")"
# values that an error quotes, bind parameters or not
pwq=$(pw quoted) pwc=$(pw context)
m=$(mark)
got=$({ stmt 'SELECT smarthub.login($1, $2, $3)' carol 192.0.2.7 "$pwq"      # arguments swapped
        stmt 'SELECT smarthub.login($1, $2)::uuid' carol "$pw1"
        stmt 'INSERT INTO public.seen (id, note) VALUES (-1, smarthub.login($1, $2))' carol "$pw1"
        stmt 'SET log_parameter_max_length_on_error = -1'
        stmt 'SELECT smarthub.create_user($1, $2, $3)' not-an-email carol5 "$pwc"; } | drive $app)
seg=$(since "$m")
check "quoted values: the statements fail" "error 22P02 error 22P02 error 23514 ok error 23514" "$(echo $got)"
check "quoted values: a password bound to ip_address, in the error message" 1 \
    "$(has "invalid input syntax for type inet: \"$pwq\"" "$seg")"
check "quoted values: a token cast to uuid, in the message; a token in a row of one's own table, in the detail" "1 1" \
    "$(hasre "type uuid: \"$tokens\"" "$seg") $(hasre "DETAIL:  Failing row contains \(-1, $tokens\)" "$seg")"
check "quoted values: even after SET log_parameter_max_length_on_error = -1, no parameters of smarthub's own error" 0 \
    "$(has "\$3 = '$pwc'" "$seg")"

# --- Settings that log more, each in a superuser's session (the application's statements).
# on LABEL EXPECTED SETTING...: the statements on stdin after those SETs; EXPECTED is how many log
# lines hold the password $secret; the log they wrote in $seg (unless on runs in a pipeline)
on() {
    local label=$1 want=$2 m s
    shift 2
    m=$(mark)
    { for s in "$@"; do stmt "SET $s"; done; cat; } | drive postgres >/dev/null
    seg=$(since "$m")
    check "$label" "$want" "$(has "$secret" "$seg")"
}
login() { stmt 'SELECT smarthub.login($1, $2)' carol "$secret"; }
secret=$(pw setting)
login | on "log_statement = all: the parameters" 1 "log_statement = 'all'"
login | on "log_statement = mod: not a SELECT" 0 "log_statement = 'mod'"
stmt 'INSERT INTO public.seen (id, note) SELECT 2, smarthub.login($1, $2)' carol "$secret" \
    | on "log_statement = mod: an INSERT … SELECT, with its parameters" 1 "log_statement = 'mod'"
stmt 'CREATE TEMPORARY TABLE t AS SELECT smarthub.login($1, $2)' carol "$secret" \
    | on "log_statement = ddl: a CREATE TABLE … AS, with its parameters" 1 "log_statement = 'ddl'"
login | on "log_min_duration_statement = 0: bind and execute, with the parameters" 2 "log_min_duration_statement = 0"
login | on "log_min_duration_sample = 0, log_statement_sample_rate = 1: the same" 2 \
    "log_min_duration_sample = 0" "log_statement_sample_rate = 1"
login | on "log_transaction_sample_rate = 1: the same" 2 "log_transaction_sample_rate = 1"
on "log_parameter_max_length = 0: none of that" 0 "log_statement = 'all'" "log_min_duration_statement = 0" \
    "log_transaction_sample_rate = 1" "log_parameter_max_length = 0" < <(login)
check "log_parameter_max_length = 0: the statement is still logged" 1 \
    "$(has 'execute <unnamed>: SELECT smarthub.login($1, $2)' "$seg")"
stmt "SELECT smarthub.login('carol', '$secret'), 1/0" | on "log_min_error_statement = panic: a failing literal is not logged" 0 \
    "log_min_error_statement = panic"
bytes=$(printf %s "$secret" | od -An -tu1 | tr -s ' \n' ' ')
m=$(mark)
# debug_pretty_print = off: the dump is then broken into lines at spaces only
{ stmt 'SET debug_print_plan = on'; stmt 'SET debug_pretty_print = off'; login; } | drive $app >/dev/null
check "debug_print_plan = on (any user): the password, as bytes, in the plan" 1 "$(has "$bytes" "$(since "$m" | tr -s ' \t\n' ' ')")"

# auto_explain: the text on every version; the parameters, and those of smarthub's own statements,
# on 17 and 18
secret=$(pw explain)
m=$(mark)
{ stmt "LOAD 'auto_explain'"; stmt 'SET auto_explain.log_min_duration = 0'; stmt 'SET auto_explain.log_nested_statements = on'
  stmt 'SELECT smarthub.set_password($1, $2)' "$uid" "$secret"; } | drive postgres >/dev/null
seg=$(since "$m") hash2=$(q $db "SELECT password_hash FROM smarthub.users WHERE id = '$uid'")
if [ "$pgv" -ge 160000 ]; then want="1 1 1"; else want="1 0 0"; fi
check "auto_explain: the statement's text; its password and the new hash: $want" "$want" \
    "$(has 'Query Text: SELECT smarthub.set_password($1, $2)' "$seg") $(has "$secret" "$seg") $(has "$hash2" "$seg")"
# a plan holds the bind parameters as constants: the call's arguments with log_verbose, the SHA-256
# of the key in smarthub's look-up with log_nested_statements; on 17 and 18 even with
# log_parameter_max_length = 0 (15 has no such setting, and refuses the SET)
m=$(mark)
{ stmt "LOAD 'auto_explain'"; stmt 'SET auto_explain.log_min_duration = 0'; stmt 'SET auto_explain.log_verbose = on'
  stmt 'SET auto_explain.log_nested_statements = on'; stmt 'SET auto_explain.log_parameter_max_length = 0'
  stmt 'SELECT smarthub.verify_key($1)' "$key"; } | drive postgres >/dev/null
seg=$(since "$m")
check "auto_explain.log_verbose: the key in the plan; log_nested_statements: its SHA-256" "1 1" \
    "$(has "Output: smarthub.verify_key('$key'::text)" "$seg") $(has "key_hash)::text = '$(sha "$key")'::text" "$seg")"

# pgaudit: the texts of the statement and of smarthub's; with log_parameter, their values
secret=$(pw audit)
m=$(mark)
{ stmt "SET pgaudit.log = 'all'"; stmt 'SET pgaudit.log_parameter = on'
  stmt 'SELECT smarthub.set_password($1, $2)' "$uid" "$secret"
  stmt 'SELECT smarthub.login($1, $2)' carol "$secret"
  stmt 'SELECT key FROM smarthub.create_api_key($1)' "$uid"
  stmt 'SELECT smarthub.create_user($1, $2, $3)' grace@example.com grace "$secret"; } | drive postgres >"$dir/out"
seg=$(since "$m")
audit_token=$(sed -n '4s/^ok //p' "$dir/out") audit_key=$(sed -n '5s/^ok //p' "$dir/out")
hash_of() { q $db "SELECT password_hash FROM smarthub.users WHERE username = '$1'"; }
check "pgaudit.log_parameter = on: the password (3 statements); in smarthub's, the new hashes of set_password, create_user" \
    "3 1 1" "$(has "$secret" "$seg") $(has "$(hash_of carol)" "$seg") $(has "$(hash_of grace)" "$seg")"
check "pgaudit.log_parameter = on: the SHA-256 of the new session and of the new key" "1 1" \
    "$(has "$(sha "$audit_token")" "$seg") $(has "$(sha "$audit_key")" "$seg")"
secret=$(pw audit)
m=$(mark)
{ stmt "SET pgaudit.log = 'all'"; stmt 'SELECT smarthub.set_password($1, $2)' "$uid" "$secret"; login
  stmt 'SELECT smarthub.create_user($1, $2, $3)' heidi@example.com heidi "$secret"; } | drive postgres >/dev/null
seg=$(since "$m")
check "pgaudit.log = all alone: the statements' texts, smarthub's INSERT among them" "t 1" \
    "$([ "$(has 'AUDIT: SESSION' "$seg")" -ge 10 ] && echo t) $(has 'WRITE,INSERT,,,"INSERT INTO smarthub.users' "$seg")"
leaks "pgaudit.log = all alone" "$seg" "$secret"
m=$(mark)
stmt "SELECT smarthub.login('carol', '$secret')" \
    | on "pgaudit.log = function: a literal, in the statement's text" 1 "pgaudit.log = function"

# --- pg_stat_statements: constants replaced, but not in a DO block (nor, on 15, EXPLAIN, CREATE TABLE AS)
secret=$(pw statements)
q $db "SELECT pg_stat_statements_reset()" >/dev/null
{ login
  stmt "SELECT smarthub.login('carol', '$secret')"
  stmt "SELECT smarthub.login('carol', '$secret'), 1/0"
  stmt "DO \$\$BEGIN PERFORM smarthub.login('carol', '$secret'); END\$\$"
  stmt "EXPLAIN ANALYZE SELECT smarthub.login('carol', '$secret')"
  stmt "CREATE TEMPORARY TABLE t AS SELECT smarthub.login('carol', '$secret')"; } | drive $app >/dev/null
if [ "$pgv" -ge 160000 ]; then want="DO"; else want="CREATE DO EXPLAIN"; fi
check "pg_stat_statements: the literal is kept by: $want" "$want" \
    "$(q $db "SELECT string_agg(split_part(query, ' ', 1), ' ' ORDER BY query) FROM pg_stat_statements
              WHERE strpos(query, '$secret') > 0")"
check "pg_stat_statements: the bound and the literal SELECT, kept as SELECT smarthub.login(\$1, \$2)" 2 \
    "$(q $db "SELECT count(*) FROM pg_stat_statements WHERE query = 'SELECT smarthub.login(\$1, \$2)'")"

# --- pg_stat_activity: the running statement's text, to the role itself and superusers
secret=$(pw activity)
{ login | sed 's/)"/), pg_sleep(3)"/'; } | drive $app >/dev/null &
bound=$!
stmt "SELECT smarthub.login('carol', '$secret'), pg_sleep(3)" | drive $app >/dev/null &
literal=$!
running="usename = '$app' AND state = 'active' AND query LIKE '%pg_sleep(3)'"
for i in $(seq 100); do [ "$(q $db "SELECT count(*) FROM pg_stat_activity WHERE $running")" = 2 ] && break; sleep 0.1; done
seen_by() {   # as ROLE: how many of the application's statements show the password, how many nothing
    PGUSER=$1 q $db "SELECT count(*) FILTER (WHERE strpos(query, '$secret') > 0) || ' '
        || count(*) FILTER (WHERE query = '<insufficient privilege>')
        FROM pg_stat_activity WHERE usename = '$app' AND pid <> pg_backend_pid()"
}
check "pg_stat_activity: the literal, not the bound one, to a superuser and to the role itself; neither to another role" \
    "1 0|1 0|0 2" "$(seen_by postgres)|$(seen_by $app)|$(seen_by $web)"
wait $bound $literal
q postgres "ALTER ROLE $app SET track_activities = off"
stmt "SELECT smarthub.login('carol', '$secret'), pg_sleep(2)" | drive $app >/dev/null &
literal=$!
for i in $(seq 100); do [ "$(q $db "SELECT count(*) FROM pg_stat_activity WHERE usename = '$app'")" = 1 ] && break; sleep 0.1; done
check "pg_stat_activity: with track_activities = off for the role, no text" "disabled||0" \
    "$(q $db "SELECT state || '|' || query || '|' FROM pg_stat_activity WHERE usename = '$app'")$(seen_by postgres | cut -d' ' -f1)"
wait $literal
q postgres "ALTER ROLE $app RESET track_activities"

# --- README's settings for the application's role, on a server that logs everything.
readme_block() {   # the ALTER ROLE lines of the Nth ```sql block of README's "Logging and secrets", for our role
    awk -v n="$1" '/^## / && !fence { inside = ($0 == "## Logging and secrets") }
        inside && /^```/ { if (fence) fence = 0; else if ($0 == "```sql") { fence = 1; b++ } else fence = 2; next }
        fence == 1 && b == n && /^ALTER ROLE app SET /' "$REPO/README.md" | sed "s/^ALTER ROLE app /ALTER ROLE $app /"
}
mask() {   # the driver's lines, with keys, tokens, uuids and plans masked, on one line
    sed -E 's/^ok (sh[ks]_)[0-9A-Za-z]{38}$/ok \1…/; s/^ok [0-9a-f-]{36}$/ok uuid/; s/^ok Result .*/ok Result/' | paste -sd'|'
}
bind_recipe=$(readme_block 1) literal_recipe=$(readme_block 2)
check "README gives 5 settings for a role that binds its secrets, 6 more for one that sends literals" "5 6" \
    "$(grep -c . <<<"$bind_recipe") $(grep -c . <<<"$literal_recipe")"
run postgres >/dev/null <<'SQL'
ALTER SYSTEM SET log_statement = 'all';
ALTER SYSTEM SET log_min_duration_statement = 0;
ALTER SYSTEM SET log_min_duration_sample = 0;
ALTER SYSTEM SET log_transaction_sample_rate = 1;
ALTER SYSTEM SET log_parameter_max_length_on_error = -1;
ALTER SYSTEM SET pgaudit.log = 'all';
ALTER SYSTEM SET pgaudit.log_parameter = on;
ALTER SYSTEM SET pg_stat_statements.track = 'all';
ALTER SYSTEM SET session_preload_libraries = 'auto_explain';
LOAD 'auto_explain';
ALTER SYSTEM SET auto_explain.log_min_duration = 0;
ALTER SYSTEM SET auto_explain.log_nested_statements = on;
SELECT pg_reload_conf();
SQL
run postgres >/dev/null <<<"$bind_recipe"
sleep 0.3
secret=$(pw recipe) secret2=$(pw recipe)
q $db "SELECT pg_stat_statements_reset()" >/dev/null
m=$(mark)
got=$({ stmt 'SELECT smarthub.set_password($1, $2)' "$uid" "$secret2"
        stmt 'SELECT smarthub.login($1, $2)' carol "$secret2"
        stmt 'SELECT smarthub.create_user($1, $2, $3)' ivan@example.com ivan "$secret"
        stmt 'SELECT key FROM smarthub.create_api_key($1)' "$uid"
        stmt 'SELECT smarthub.create_session($1)' "$uid"
        stmt 'SELECT smarthub.verify_key($1)' "$key"
        stmt "SELECT smarthub.login(\$1, \$2), $divide" carol "$secret2"
        stmt 'SELECT smarthub.login($1, $2, $3)' carol "$secret2" not-an-inet
        stmt 'SELECT smarthub.create_user($1, $2, $3)' not-an-email judy "$secret"
        stmt 'SET log_parameter_max_length = -1'
        stmt 'SET pgaudit.log_parameter = on'
        stmt 'SET pg_stat_statements.track_utility = on'; } | drive $app)
seg=$(since "$m")
check "a loud server, README's settings for the role: the calls work, the role cannot undo them" \
    "ok |ok shs_…|ok uuid|ok shk_…|ok shs_…|ok uuid|error 22012|error 22P02|error 23514|error 42501|error 42501|error 42501" \
    "$(mask <<<"$got")"
check "a loud server, README's settings: statements, durations and audit entries are logged" "t t t" \
    "$(for p in 'LOG:  execute <unnamed>: SELECT smarthub.login' 'LOG:  duration: ' 'AUDIT: SESSION'; do
        [ "$(has "$p" "$seg")" -ge 1 ] && printf 't '; done | sed 's/ $//')"
new_token=$(sed -n '2s/^ok //p' <<<"$got") new_key=$(sed -n '4s/^ok //p' <<<"$got") new_session=$(sed -n '5s/^ok //p' <<<"$got")
leaks "a loud server, README's settings, in the log" "$seg" "$secret" "$secret2" "$key" "$new_key" "$new_token" \
    "$new_session" "$(sha "$new_key")" "$(sha "$new_token")" "$(sha "$new_session")" "$(hash_of carol)"
leaks "a loud server, README's settings, in pg_stat_statements" \
    "$(q $db "SELECT string_agg(query, E'\n') FROM pg_stat_statements")" "$secret" "$secret2"
m=$(mark)
login | drive postgres >/dev/null
check "a loud server, a role without README's settings: its password is logged" t \
    "$([ "$(has "$secret" "$(since "$m")")" -ge 3 ] && echo t)"
# and literals, with the second block too
run postgres >/dev/null <<<"$literal_recipe"
secret=$(pw recipe-literal)
q $db "SELECT pg_stat_statements_reset()" >/dev/null
m=$(mark)
got=$({ stmt "SELECT smarthub.login('carol', '$secret')"
        stmt "SELECT smarthub.login('carol', '$secret'), 1/0"
        stmt "SELECT smarthub.create_user('kim@example.com', 'kim', '$secret')"
        stmt "DO \$\$BEGIN PERFORM smarthub.login('carol', '$secret'); END\$\$"
        stmt "EXPLAIN ANALYZE SELECT smarthub.login('carol', '$secret')"; } | drive $app | mask)
seg=$(since "$m")
check "a loud server, README's settings for literals: the statements run" "ok NULL|error 22012|ok uuid|ok |ok Result" "$got"
leaks "a loud server, README's settings for literals, in the log" "$seg" "$secret"
leaks "a loud server, README's settings for literals, in pg_stat_statements" \
    "$(q $db "SELECT string_agg(query, E'\n') FROM pg_stat_statements")" "$secret"
q postgres "ALTER SYSTEM RESET ALL"; q postgres "SELECT pg_reload_conf()" >/dev/null; q postgres "ALTER ROLE $app RESET ALL"

# --- README's table: each setting's default and who may set it, against pg_settings.
table=$(awk '/^## /{ inside = ($0 == "## Logging and secrets") } inside && /^\| `/' "$REPO/README.md")
catalog=$("$PGBIN/psql" -X -qAt -F' ' -d $db -c "LOAD 'auto_explain'" \
    -c "SELECT name, boot_val, CASE context WHEN 'user' THEN 'any user' ELSE context END FROM pg_settings")
bad=0 n=0
while IFS='|' read -r _ names defaults who _; do
    names=$(tr -d '` ' <<<"$names" | tr ',' ' ') defaults=$(tr -d '` ' <<<"$defaults" | tr ',' ' ') who=$(xargs <<<"$who")
    read -ra d <<<"$defaults"; i=0
    for name in $names; do
        n=$((n + 1))
        actual=$(awk -v n="$name" '$1 == n { $1 = ""; print substr($0, 2) }' <<<"$catalog")
        if [ "$actual" != "${d[$i]} $who" ]; then echo "  not ok - README: $name is '${d[$i]} $who', pg_settings: '$actual'"; bad=1; fi
        i=$((i + 1))
    done
done <<<"$table"
check "README's table of $n settings agrees with pg_settings (default, who may set it)" "0 t" "$bad $([ "$n" -ge 14 ] && echo t)"
