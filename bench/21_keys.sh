# verify_key on 100,000 keys, a random valid key per transaction (every variant draws it from the same
# table), against: the plain-SQL check hashing with SQL sha256() (issue target: ratio >= 0.85), the
# same with the hash computed by the application (SQL only compares), and a PL/pgSQL verifier that
# writes last_used_at on every call (target >= 2.5 at 2 clients); a malformed key (wrong checksum)
# against SELECT 1 (target >= 0.9). The main rows run in the steady state of a busy service (keys
# used within key_touch_interval, set to 1h here, so verify_key does not write); the "writes every
# call" rows set key_touch_interval = 0, like the PL/pgSQL verifier.
bq -f keys/setup.sql
bq -f keys/plpgsql_verifier.sql
bq -c "ALTER DATABASE $BENCH_DB SET smarthub.key_touch_interval = '1h'"
for c in 1 2; do
    race_tps "verify_key, valid key" "$c" smarthub keys/verify_smarthub.sql \
        "plain SQL sha256()" keys/plain_sql.sql "plain SQL, app-side hash" keys/app_hash_sql.sql \
        "PL/pgSQL verifier" keys/plpgsql.sql
done
PGOPTIONS="-c smarthub.key_touch_interval=0" race_tps "verify_key, writes every call" 2 \
    smarthub keys/verify_smarthub.sql "PL/pgSQL verifier" keys/plpgsql.sql
for c in 1 2; do
    race_tps "verify_key, malformed key" "$c" smarthub keys/malformed_smarthub.sql "SELECT 1" keys/select1.sql
done
bq -c "ALTER DATABASE $BENCH_DB RESET smarthub.key_touch_interval"
