# Audit trigger race (issue 5): smarthub's C trigger against the "floor" trigger (an audit row of
# constant contents: the cost of the insert alone), the PL/pgSQL diff trigger
# (bench/audit/plpgsql.sql) and no trigger at all, on identical 100,000-row copies of
# smarthub.users (bench/audit/setup.sql). Single-row UPDATE of a random row and single-row INSERT
# at 1 and 2 clients (TPS, higher is better), and one UPDATE of all 100,000 rows (ms, lower is
# better; rolled back after each run). To stay near two minutes with the defaults, the 100k race
# takes one repetition per variant (each run is seconds long) and races only the untriggered table;
# BENCH_AUDIT_BULK_ALL=1 adds the floor and PL/pgSQL triggers to it (about a minute more), and
# BENCH_AUDIT_BULK_REPS sets its repetitions.
bq -f audit/setup.sql >/dev/null
for c in 1 2; do
    race_tps "audit: update 1 row" $c smarthub audit/update_smarthub.sql \
        plpgsql audit/update_plpgsql.sql floor audit/update_floor.sql
done
for c in 1 2; do
    race_tps "audit: insert 1 row" $c smarthub audit/insert_smarthub.sql \
        plpgsql audit/insert_plpgsql.sql floor audit/insert_floor.sql
done
bq -f audit/reset_bulk.sql >/dev/null
bulk_anchors=(none audit/update_all_none.sql)
[ -n "${BENCH_AUDIT_BULK_ALL:-}" ] && bulk_anchors+=(floor audit/update_all_floor.sql plpgsql audit/update_all_plpgsql.sql)
BENCH_REPS=${BENCH_AUDIT_BULK_REPS:-1} race_time "audit: update 100k rows" \
    smarthub audit/update_all_smarthub.sql "${bulk_anchors[@]}"
bq -c 'SET client_min_messages = warning' -c 'DROP SCHEMA bench_audit CASCADE' >/dev/null
