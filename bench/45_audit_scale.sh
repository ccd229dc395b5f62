# The audit log at scale (issue 12). A single-row audited UPDATE with an empty log and with
# BENCH_AUDIT_ROWS rows already in it (default 1,000,000; the issue's target is stated at
# 10,000,000, spread over the past 12 months): TPS, and WAL bytes per UPDATE from a CHECKPOINT on
# (the first write of each page after a checkpoint is a full-page image, so scattered index keys
# cost most there). Then entity_history for one entity, and retention of one month of rows (time,
# WAL). Each figure beside the 1.0 layout in the same run: the same database with audit_logs.id
# defaulting to random version-4 uuids and every row in one table, as 1.0 had. Rows: smarthub (version-7 ids) against 1.0;
# then the full log against the empty one, for each layout.
rows=${BENCH_AUDIT_ROWS:-1000000}

scale_sql() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# scale_db DB ID_DEFAULT: a database with smarthub and an audited 10,000-row table.
scale_db() {
    scale_sql postgres "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
    scale_sql postgres "CREATE DATABASE $1"
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION smarthub;
ALTER TABLE smarthub.audit_logs ALTER COLUMN id SET DEFAULT $2;
SQL
    [ "$2" = "smarthub.uuid_v7()" ] && month_partitions "$1"
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE public.items (id uuid PRIMARY KEY, v int NOT NULL DEFAULT 0);
INSERT INTO public.items SELECT md5(i::text)::uuid FROM generate_series(1, 10000) i;
SELECT smarthub.enable_audit('public.items');
VACUUM ANALYZE public.items;
SQL
}

# update_run DB: "TPS WAL-bytes-per-update", medians of BENCH_REPS runs of one_update_run.
update_run() {
    local rep tps=() wal=() t w
    for rep in $(seq "$BENCH_REPS"); do
        read -r t w <<<"$(one_update_run "$1")"
        tps+=("$t"); wal+=("$w")
    done
    echo "$(printf '%s\n' "${tps[@]}" | median) $(printf '%s\n' "${wal[@]}" | median)"
}

# one_update_run DB: "TPS WAL-bytes-per-update" of BENCH_SECONDS of single-row audited UPDATEs.
one_update_run() {
    local f lsn0 lsn1 out tps n
    f=$(mktemp)
    printf '%s\n' '\set i random(1, 10000)' \
        "UPDATE public.items SET v = v + 1 WHERE id = md5(:i::text)::uuid;" > "$f"
    scale_sql "$1" "CHECKPOINT"
    lsn0=$(scale_sql "$1" "SELECT pg_current_wal_lsn()")
    out=$("$PGBIN/pgbench" -n -M prepared -T "$BENCH_SECONDS" -c 1 -f "$f" "$1" 2>&1)
    lsn1=$(scale_sql "$1" "SELECT pg_current_wal_lsn()")
    rm -f "$f"
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    echo "$tps $(scale_sql "$1" "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / greatest($n, 1))")"
}

# month_partitions DB: partitions for the past 13 months and the next, as a log kept partitioned
# for a year has them (before any row is written, so none sits in the default partition).
month_partitions() {
        scale_sql "$1" "DO \$\$
            DECLARE m timestamptz;
            BEGIN
                FOR i IN -13 .. 1 LOOP
                    m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
                    CONTINUE WHEN to_regclass('smarthub.audit_logs_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM')) IS NOT NULL;
                    EXECUTE format('CREATE TABLE smarthub.%I PARTITION OF smarthub.audit_logs FOR VALUES FROM (%L) TO (%L)',
                                   'audit_logs_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'),
                                   smarthub.uuid_v7_bound(m), smarthub.uuid_v7_bound(m + interval '1 month'));
                END LOOP;
            END \$\$"
}

# fill DB LAYOUT: rows audit rows over the past 12 months, 10 per entity. v7: ids that carry their
# row's time, in month partitions made for the past 13 months and the next (as a log kept
# partitioned over a year would be); v4: random ids, all in one table, as 1.0 kept them.
fill() {
    local id="gen_random_uuid()"
    [ "$2" = v7 ] && \
        id="(left(smarthub.uuid_v7_bound(t)::text, 24) || lpad(to_hex(i), 12, '0'))::uuid"
    scale_sql "$1" "INSERT INTO smarthub.audit_logs (id, entity_type, entity_id, action, changes, created_at)
        SELECT $id, 'fill', md5((i / 10)::text)::uuid, 'UPDATE', '{\"after\": {\"v\": 1}, \"before\": {\"v\": 0}}', t
          FROM generate_series(1, $rows) i,
               LATERAL (SELECT now() - interval '1 hour' - ($rows - i)::float8 / $rows * interval '365 days' AS t) t
         ORDER BY i"
    scale_sql "$1" "VACUUM ANALYZE smarthub.audit_logs"
}

history_ms() {
    "$PGBIN/psql" -X -q -d "$1" -c '\timing on' \
        -c "SELECT count(*) FROM smarthub.entity_history('fill', md5('4242')::uuid)" \
        -c "SELECT count(*) FROM smarthub.entity_history('fill', md5('4243')::uuid)" \
        -c "SELECT count(*) FROM smarthub.entity_history('fill', md5('4244')::uuid)" 2>&1 \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -2 | median
}

# purge_run DB: "ms WAL-MB" of purging the oldest month of rows.
purge_run() {
    local lsn0 t0 t1
    scale_sql "$1" "CHECKPOINT"
    lsn0=$(scale_sql "$1" "SELECT pg_current_wal_lsn()")
    t0=$(date +%s%N)
    scale_sql "$1" "SELECT smarthub.purge_audit_logs('334 days')" >/dev/null
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 )) $(scale_sql "$1" "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / 1048576.0, 1)")"
}

row() {   # row MEASUREMENT SUBJECT ANCHOR VALUE ANCHOR_VALUE UNIT
    printf '%s\t1\t%s\t%s\t%s\t%s\t%s\t%.2f\n' "$1" "$2" "$3" "$4" "$5" "$6" \
        "$(awk -v a="$4" -v b="$5" 'BEGIN {print (b > 0 ? a / b : 0)}')" | tee -a "$BENCH_OUT"
}

declare -A empty full hist purge
for layout in v7 v4; do
    db=bench_scale_$layout
    [ $layout = v7 ] && scale_db $db "smarthub.uuid_v7()" || scale_db $db "gen_random_uuid()"
    empty[$layout]=$(update_run $db)
    fill $db $layout
    full[$layout]=$(update_run $db)
    hist[$layout]=$(history_ms $db)
    purge[$layout]=$(purge_run $db)
    scale_sql postgres "DROP DATABASE $db"
done
read -r e7 w7 <<<"${empty[v7]}"; read -r e4 w4 <<<"${empty[v4]}"
read -r f7 fw7 <<<"${full[v7]}"; read -r f4 fw4 <<<"${full[v4]}"
read -r p7 pw7 <<<"${purge[v7]}"; read -r p4 pw4 <<<"${purge[v4]}"
row "audit scale: update TPS, empty log" smarthub "1.0 layout (v4 ids)" "$e7" "$e4" TPS
row "audit scale: update TPS, $rows rows" smarthub "1.0 layout (v4 ids)" "$f7" "$f4" TPS
row "audit scale: update TPS, $rows rows" "smarthub, $rows rows" "smarthub, empty" "$f7" "$e7" TPS
row "audit scale: update TPS, $rows rows" "1.0, $rows rows" "1.0, empty" "$f4" "$e4" TPS
row "audit scale: WAL per update, empty log" smarthub "1.0 layout (v4 ids)" "$w7" "$w4" bytes
row "audit scale: WAL per update, $rows rows" smarthub "1.0 layout (v4 ids)" "$fw7" "$fw4" bytes
row "audit scale: WAL per update, $rows rows" "smarthub, $rows rows" "smarthub, empty" "$fw7" "$w7" bytes
row "audit scale: WAL per update, $rows rows" "1.0, $rows rows" "1.0, empty" "$fw4" "$w4" bytes
row "audit scale: entity_history, $rows rows" smarthub "1.0 layout (v4 ids)" "${hist[v7]}" "${hist[v4]}" ms
row "audit scale: purge one month, $rows rows" smarthub "1.0 layout (v4 ids)" "$p7" "$p4" ms
row "audit scale: purge one month, $rows rows" smarthub "1.0 layout (v4 ids)" "$pw7" "$pw4" "MB WAL"
