# Audit trigger race (issue 5): smarthub's C trigger against the "floor" trigger (an audit row of
# constant contents: the cost of the insert alone), the PL/pgSQL diff trigger
# (bench/audit/plpgsql.sql) and no trigger at all, on identical 100,000-row copies of
# smarthub.users (bench/audit/setup.sql). Single-row UPDATE of a random row and single-row INSERT
# at 1 and 2 clients (TPS, higher is better), acting as an identity so that the user_id foreign
# key is checked, and one UPDATE of all 100,000 rows without one (ms, lower is better; rolled back
# after each run; BENCH_AUDIT_BULK_REPS repetitions, default 3).
bq -f audit/setup.sql >/dev/null
# The single-row races act as an identity, set once per client (session scope).
export BENCH_PGBENCH_OPTS="-D identity_set=0"
export PGOPTIONS="-c smarthub.identity_scope=session"
for c in 1 2; do
    race_tps "audit: update 1 row" $c smarthub audit/update_smarthub.sql \
        plpgsql audit/update_plpgsql.sql floor audit/update_floor.sql
done
for c in 1 2; do
    race_tps "audit: insert 1 row" $c smarthub audit/insert_smarthub.sql \
        plpgsql audit/insert_plpgsql.sql floor audit/insert_floor.sql
done
unset BENCH_PGBENCH_OPTS PGOPTIONS
bq -f audit/reset_bulk.sql >/dev/null
BENCH_REPS=${BENCH_AUDIT_BULK_REPS:-3} race_time "audit: update 100k rows" smarthub audit/update_all_smarthub.sql \
    none audit/update_all_none.sql plpgsql audit/update_all_plpgsql.sql floor audit/update_all_floor.sql
bq -c 'SET client_min_messages = warning' -c 'DROP SCHEMA bench_audit CASCADE' >/dev/null
