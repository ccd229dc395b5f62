#!/usr/bin/env bash
# One backend calling verify_key 200,000 times, and one running the audit trigger over 200,000 row
# updates: after warm-up its memory contexts (pg_backend_memory_contexts, measured between
# statements) do not grow, nor does its private memory: for verify_key the peak (VmHWM, which a
# per-call leak inside the one 200,000-call statement would raise); for the trigger the anonymous
# resident memory (RssAnon: the peak would also count the shared buffers that 200,000 new audit rows
# touch). The 200 updates run as 200 transactions, as an application would run them.
. "$(dirname "$0")/lib.sh"
db=smarthub_memory
q postgres "DROP DATABASE IF EXISTS $db"; q postgres "CREATE DATABASE $db"
trap 'q postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT
run $db <<'SQL'
CREATE EXTENSION smarthub;
CREATE TABLE public.audited (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n int NOT NULL, note text);
INSERT INTO public.audited (n, note) SELECT i, 'row ' || i FROM generate_series(1, 1000) i;
SELECT smarthub.enable_audit('public.audited');
SQL
uid=$(q $db "SELECT smarthub.create_user('mem@example.com', 'mem', 'memory-password')")
key=$(q $db "SELECT key FROM smarthub.create_api_key('$uid')")

# One psql session; prints "contexts_bytes vmhwm_kb" after each labelled phase. The series is a
# target-list SRF, which streams: FROM generate_series() would materialise 200,000 rows and grow
# the peak by itself.
out=$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d $db <<SQL
CREATE TEMP VIEW mem AS
  SELECT (SELECT sum(total_bytes) FROM pg_backend_memory_contexts) AS contexts,
         (SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint) AS hwm,
         (SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::bigint) AS anon;
SELECT count(smarthub.verify_key('$key')) FROM (SELECT generate_series(1, 20000)) g;
SELECT 'key_warm', contexts, hwm, anon FROM mem;
SELECT count(smarthub.verify_key('$key')) FROM (SELECT generate_series(1, 200000)) g;
SELECT 'key_done', contexts, hwm, anon FROM mem;
UPDATE public.audited SET n = n + 1;
UPDATE public.audited SET n = n + 1;
SELECT 'audit_warm', contexts, hwm, anon FROM mem;
SELECT 'UPDATE public.audited SET n = n + 1' FROM generate_series(1, 200) \\gexec
SELECT 'audit_done', contexts, hwm, anon FROM mem;
SQL
)
echo "$out" | grep -E '^(key|audit)_' | sed 's/^/    /'
val() { echo "$out" | awk -F'|' -v k="$1" -v f="$2" '$1 == k {print $f}'; }
grow() { echo $(( $(val "$1" "$3") - $(val "$2" "$3") )); }
# Allowance: 256 kB of contexts (catalog caches may settle) and 2 MB of peak RSS.
check "verify_key: memory contexts do not grow" t "$([ "$(grow key_done key_warm 2)" -le 262144 ] && echo t || echo "f ($(grow key_done key_warm 2) bytes)")"
check "verify_key: peak RSS does not grow" t "$([ "$(grow key_done key_warm 3)" -le 2048 ] && echo t || echo "f ($(grow key_done key_warm 3) kB)")"
check "audit trigger: memory contexts do not grow" t "$([ "$(grow audit_done audit_warm 2)" -le 262144 ] && echo t || echo "f ($(grow audit_done audit_warm 2) bytes)")"
check "audit trigger: anonymous RSS does not grow" t "$([ "$(grow audit_done audit_warm 4)" -le 2048 ] && echo t || echo "f ($(grow audit_done audit_warm 4) kB)")"
check "200,000 audited updates wrote 202,000 audit rows" 202000 "$(q $db "SELECT count(*) FROM smarthub.audit_logs WHERE entity_type = 'audited' AND action = 'UPDATE'")"
