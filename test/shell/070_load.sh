#!/usr/bin/env bash
# A pgbench mix for SMARTHUB_LOAD_SECONDS (default 60) with 8 clients: logins, key verifications,
# audited entity updates and inserts, RLS reads, session revocations, JWT authentications (each
# must yield its own user and role), and the DBA's changes to jwt_issuers and user_roles, which drop
# every backend's cached keys and roles while the rest runs. It must end with zero
# failed transactions, no deadlock, and exactly one audit row per change made: every change also
# writes a row into an unaudited ledger in the same transaction, and the two are compared.
. "$(dirname "$0")/lib.sh"
db=smarthub_load
seconds=${SMARTHUB_LOAD_SECONDS:-60}
q postgres "DROP DATABASE IF EXISTS $db"; q postgres "CREATE DATABASE $db"
q postgres "DROP ROLE IF EXISTS smarthub_load_app"; q postgres "CREATE ROLE smarthub_load_app"
trap 'q postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; q postgres "DROP ROLE IF EXISTS smarthub_load_app" >/dev/null 2>&1' EXIT
run $db <<'SQL'
CREATE EXTENSION smarthub;
-- Logins run at the lowest bcrypt cost: the load is about concurrency, not about bcrypt.
ALTER DATABASE smarthub_load SET smarthub.bcrypt_cost = 4;
SET smarthub.bcrypt_cost = 4;
SELECT smarthub.grant_access('smarthub_load_app');
CREATE TABLE public.load_users (n int PRIMARY KEY, id uuid NOT NULL, key text NOT NULL);
INSERT INTO public.load_users
SELECT n, u.id, (SELECT key FROM smarthub.create_api_key(u.id, 'load'))
  FROM generate_series(1, 50) n,
       LATERAL (SELECT smarthub.create_user('load' || n || '@example.com', 'load' || n, 'load-password-' || n) AS id) u;
INSERT INTO smarthub.entities (entity_type, owner_id, name, data)
SELECT 'doc', id, 'doc ' || n || '/' || i, jsonb_build_object('v', 0) FROM public.load_users, generate_series(1, 20) i;
CREATE TABLE public.load_ledger (kind text NOT NULL, entity_id uuid NOT NULL);
-- each user's JWT (issue_jwt in a statement after the one creating its session: it reads with
-- the statement's snapshot), an issuer and a user whose configuration churns under the load
ALTER TABLE public.load_users ADD COLUMN session text, ADD COLUMN jwt text;
UPDATE public.load_users SET session = smarthub.create_session(id, '1 day');
UPDATE public.load_users SET jwt = smarthub.issue_jwt(session, '1 day');
INSERT INTO smarthub.jwt_issuers (issuer) VALUES ('https://churn.test');
CREATE TABLE public.churn_user AS SELECT smarthub.create_user('churn@example.com', 'churn', 'churn-password') AS id;
GRANT SELECT ON public.load_users TO smarthub_load_app;
SQL
L=$(dirname "$0")/load
q $db "CREATE TABLE public.load_baseline AS SELECT id FROM smarthub.audit_logs"
out=$("$PGBIN/pgbench" -n -c 8 -j 2 -T "$seconds" -d $db \
    -f "$L/login.sql@2" -f "$L/verify_key.sql@4" -f "$L/entity_update.sql@3" -f "$L/entity_insert.sql@2" \
    -f "$L/rls_read.sql@3" -f "$L/session_revoke.sql@1" -f "$L/jwt_read.sql@3" -f "$L/config_churn.sql@1" 2>&1) || { echo "$out"; echo "  not ok - pgbench failed"; exit 1; }
echo "$out" | grep -E '^(number of (transactions|failed)|tps|SQL script)' | sed 's/^/    /'
check "transactions ran" t "$(echo "$out" | awk '/^number of transactions actually processed/ {print ($NF + 0 > 100) ? "t" : "f"}')"
failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
check "no failed transactions" 0 "${failed:-0}"
check "no deadlock in the server log" 0 "$(grep -c 'deadlock detected' "$SMARTHUB_CLUSTER/postgresql.log" || true)"
check "one audit row per entity change" \
    "$(q $db "SELECT count(*) FROM public.load_ledger")" \
    "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'entities' AND id NOT IN (SELECT id FROM public.load_baseline)")"
new_audit="SELECT action::text, entity_id FROM smarthub.audit_logs
            WHERE entity_type = 'entities' AND id NOT IN (SELECT id FROM public.load_baseline)"
check "audit rows match the ledger, entity by entity and action by action" 0 "$(q $db "
    SELECT count(*) FROM ((SELECT kind, entity_id FROM public.load_ledger EXCEPT ALL $new_audit)
                          UNION ALL
                          ($new_audit EXCEPT ALL SELECT kind, entity_id FROM public.load_ledger)) d")"
check "every successful login wrote a LOGIN row" t "$(q $db "SELECT count(*) > 0 FROM smarthub.audit_logs WHERE action = 'LOGIN'")"
