# verify_key on 100,000 keys, a random valid key per transaction (every variant draws it from the same
# table), against: the plain-SQL check with SQL sha256() (issue target: ratio >= 0.85), the same with
# pgcrypto's digest(), and a PL/pgSQL verifier that writes last_used_at on every call (target >= 2.5
# at 2 clients); malformed keys against SELECT 1 (target >= 0.9). The main rows run in the steady
# state of a busy service (keys used within key_touch_interval, set to 1h here, so verify_key does not
# write); the "writes every call" rows set key_touch_interval = 0, like the PL/pgSQL verifier.
bq -f keys/setup.sql
bq -f keys/plpgsql_verifier.sql
bq -c "ALTER DATABASE $BENCH_DB SET smarthub.key_touch_interval = '1h'"
race_tps "verify_key, valid key" 1 smarthub keys/verify_smarthub.sql \
    "plain SQL sha256()" keys/plain_sql.sql "SQL pgcrypto digest()" keys/pgcrypto_digest.sql \
    "PL/pgSQL verifier" keys/plpgsql.sql
race_tps "verify_key, valid key" 2 smarthub keys/verify_smarthub.sql \
    "plain SQL sha256()" keys/plain_sql.sql "PL/pgSQL verifier" keys/plpgsql.sql
PGOPTIONS="-c smarthub.key_touch_interval=0" race_tps "verify_key, writes every call" 2 \
    smarthub keys/verify_smarthub.sql "PL/pgSQL verifier" keys/plpgsql.sql
for c in 1 2; do
    race_tps "verify_key, malformed key" "$c" smarthub keys/malformed_smarthub.sql "SELECT 1" keys/select1.sql
done
bq -c "ALTER DATABASE $BENCH_DB RESET smarthub.key_touch_interval"
