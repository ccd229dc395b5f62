# The audit chain (smarthub.audit_blocks, docs/audit-chain.md). Each figure beside an anchor
# measured in the same run:
#  1. Audited single-row UPDATE TPS (40_audit's race on bench/audit/setup.sql's tables, acting as
#     an identity; bench/chain/update.sql writes a new value each time, so that every UPDATE has an
#     audit row to seal) with a sealer running, against the same without one, at 1, 2 and 8
#     clients. script/bench's cluster has no shared_preload_libraries, so no background worker:
#     one long-lived psql connection runs SELECT smarthub.audit_seal() every second instead, the
#     same work the worker does in-process. Each run starts from a sealed log; the two variants
#     alternate (ABBA) so that drift and the log's growth hit both alike.
#  2. Over BENCH_CHAIN_ROWS audit rows (default 1,000,000; bench/chain/fill.sql: ~290-byte
#     changes::text, client address, user agent, an identity), written and vacuumed once in a
#     template database: per repetition a fresh copy of it, where one audit_seal() seals every row
#     (into one block, unless the rows span a UTC midnight), then audit_verify(), the plain SQL
#     recomputation of the same chain (bench/chain/plain_verify.sql, pgcrypto digest(), string_agg
#     in id order) and the floor, SHA-256 alone over each row's changes::text
#     (bench/chain/sha256.sql). Rows: verify against plain SQL and against the floor, seal against
#     verify (ms, lower is better). The bench stops when a seal, verify or the recomputation
#     disagrees with the row count or the stored hashes.
#  3. What one seal of one row costs: with BENCH_CHAIN_TAIL rows (default a fifth of
#     BENCH_CHAIN_ROWS) written since the last VACUUM, against the same after a VACUUM; and with
#     BENCH_CHAIN_BLOCKS blocks in the chain (default 1,000,000: 11.6 days of a worker sealing
#     every second), against an empty chain.
rows=${BENCH_CHAIN_ROWS:-1000000}
long_blocks=${BENCH_CHAIN_BLOCKS:-1000000}
chain_tmpl=bench_chain_tmpl

chain_sql() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

row() {   # row MEASUREMENT CLIENTS SUBJECT ANCHOR VALUE ANCHOR_VALUE UNIT
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" \
        "$(awk -v a="$5" -v b="$6" 'BEGIN {print (b > 0 ? a / b : 0)}')" | tee -a "$BENCH_OUT"
}

# timed DB FILE: "MS RESULT": the milliseconds of the statements the file runs with \timing on,
# and what they printed (unaligned, one line, fields separated by |).
timed() {
    local out
    out=$("$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$1" -f "$2" 2>&1) || { echo "$out" >&2; die "$2 failed"; }
    echo "$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | awk '{s += $1} END {printf "%.1f", s}')" \
        "$(grep -v '^Time: ' <<<"$out" | paste -sd' ')"
}

# ---- 1. TPS with and without the sealer ----

sealer_dir=$(mktemp -d)
sealer_pid=

# start_sealer: the worker's stand-in, one connection sealing every second until stop_sealer.
start_sealer() {
    rm -f "$sealer_dir/stop"
    ( echo "SELECT 'pid ' || pg_backend_pid();"; echo '\timing on'
      while sleep 1 && [ ! -e "$sealer_dir/stop" ]; do echo 'SELECT smarthub.audit_seal();'; done ) \
        | PGOPTIONS= "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$BENCH_DB" > "$sealer_dir/out" 2>&1 &
    sealer_pid=$!
}

# stop_sealer: ends the loop, lets psql finish its last seal, checks that it sealed rows, and logs
# what the seals took: wall time (which includes waiting for a core when the clients keep both
# busy) and the CPU time of the sealer's backend (from /proc), per second of the run.
stop_sealer() {
    local pid cpu
    pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$sealer_dir/out")
    cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    touch "$sealer_dir/stop"
    wait "$sealer_pid" || { cat "$sealer_dir/out" >&2; die "the sealer failed"; }
    sealer_pid=
    grep -Eqv '^([0-9]+|Time: .*|pid [0-9]+)$' "$sealer_dir/out" && { cat "$sealer_dir/out" >&2; die "the sealer failed"; }
    awk -v cpu="$cpu" -v hz="$(getconf CLK_TCK)" -v secs="$BENCH_SECONDS" \
        '/^[0-9]+$/ {n++; s += $1} /^Time: / {t += $2}
         END {if (s == 0) exit 1
              printf "==> sealer: %d seals, %d rows, %.1f ms per seal, backend CPU %.0f ms per second\n",
                     n, s, t / n, cpu * 1000 / hz / secs}' \
        "$sealer_dir/out" >&2 || die "the sealer sealed no rows"
}

# tps_run CLIENTS sealer|none: TPS of one pgbench run, from a log with nothing left to seal.
tps_run() {
    chain_sql "$BENCH_DB" "SELECT smarthub.audit_seal()" >/dev/null
    [ "$2" = sealer ] && start_sealer
    pgbench_tps "$1" chain/update.sql $BENCH_PGBENCH_OPTS
    [ "$2" = sealer ] && stop_sealer
    return 0
}

bq -f audit/setup.sql >/dev/null
export BENCH_PGBENCH_OPTS="-D identity_set=0"
export PGOPTIONS="-c smarthub.identity_scope=session"
for c in 1 2 8; do
    tmp=$(mktemp -d)
    for rep in $(seq "$BENCH_REPS"); do
        if [ $((rep % 2)) -eq 1 ]; then order="none sealer"; else order="sealer none"; fi
        for v in $order; do tps_run "$c" "$v" >> "$tmp/$v"; done
    done
    row "audit chain: update 1 row" "$c" "sealer every 1 s" "no sealer" \
        "$(median < "$tmp/sealer" | xargs printf '%.0f')" "$(median < "$tmp/none" | xargs printf '%.0f')" TPS
    rm -rf "$tmp"
done
unset BENCH_PGBENCH_OPTS PGOPTIONS
bq -c 'SET client_min_messages = warning' -c 'DROP SCHEMA bench_audit CASCADE' >/dev/null
rm -rf "$sealer_dir"

# ---- 2. Sealing and verifying BENCH_CHAIN_ROWS rows ----

chain_sql postgres "DROP DATABASE IF EXISTS $chain_tmpl" >/dev/null 2>&1
chain_sql postgres "CREATE DATABASE $chain_tmpl"
chain_sql "$chain_tmpl" "SET client_min_messages = warning; CREATE EXTENSION pgcrypto; CREATE EXTENSION smarthub"
chain_sql "$chain_tmpl" "SELECT smarthub.create_user('bench-chain@example.com', 'bench-chain', 'bench-password-1')" >/dev/null
# fill DB FROM TO: audit rows FROM to TO (bench/chain/fill.sql), 100,000 per transaction.
fill() {
    local lo
    for ((lo = $2; lo <= $3; lo += 100000)); do
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" -v lo=$lo -v hi=$((lo + 99999 < $3 ? lo + 99999 : $3)) \
            -f chain/fill.sql >/dev/null
    done
}

fill_start=$(date +%s)
fill "$chain_tmpl" 1 "$rows"
chain_sql "$chain_tmpl" "VACUUM ANALYZE smarthub.audit_logs"
log "filled $rows audit rows in $(($(date +%s) - fill_start)) s; $(chain_sql "$chain_tmpl" \
    "SELECT count(*) || ' rows, ' || round(avg(length(changes::text))) || ' bytes of changes::text, '
            || pg_size_pretty(pg_total_relation_size('smarthub.audit_logs_default')) FROM smarthub.audit_logs")"
chain_sql "$chain_tmpl" "SELECT count(*) FROM smarthub.audit_blocks" | grep -qx 0 || die "the template has blocks"
# the fill's rows and create_user's own audit rows
total=$(chain_sql "$chain_tmpl" "SELECT count(*) FROM smarthub.audit_logs")

tmp=$(mktemp -d)
for rep in $(seq "$BENCH_REPS"); do
    db=bench_chain_$rep
    chain_sql postgres "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    chain_sql postgres "CREATE DATABASE $db TEMPLATE $chain_tmpl STRATEGY FILE_COPY"
    read -r ms out <<<"$(timed $db chain/seal.sql)"
    [ "$out" = "$total" ] || die "audit_seal() sealed '$out' rows, not $total"
    echo "$ms" >> "$tmp/seal"
    read -r ms out <<<"$(timed $db chain/verify.sql)"
    [[ "$out" =~ ^t\|[0-9]+\|$total$ ]] || die "audit_verify() returned '$out' (ok|blocks|rows), not t|N|$total"
    echo "$ms" >> "$tmp/verify"
    read -r ms out <<<"$(timed $db chain/plain_verify.sql)"
    [[ "$out" =~ ^[1-9][0-9]*\|0\|0$ ]] || die "the plain SQL recomputation found '$out' (blocks|bad hashes|bad links), not N|0|0"
    echo "$ms" >> "$tmp/plain"
    read -r ms out <<<"$(timed $db chain/sha256.sql)"
    [ "$out" = "$total|$((total * 32))" ] || die "the SHA-256 floor returned '$out'"
    echo "$ms" >> "$tmp/sha256"
    chain_sql postgres "DROP DATABASE $db"
done
for v in seal verify plain sha256; do declare "chain_$v=$(median < "$tmp/$v")"; done
rm -rf "$tmp"
row "audit chain: verify $rows rows" 1 "audit_verify()" "plain SQL, pgcrypto" "$chain_verify" "$chain_plain" ms
row "audit chain: verify $rows rows" 1 "audit_verify()" "SHA-256 of changes alone" "$chain_verify" "$chain_sha256" ms
row "audit chain: seal $rows rows" 1 "audit_seal()" "audit_verify()" "$chain_seal" "$chain_verify" ms
# for part 3: the same log, sealed
chain_sql postgres "DROP DATABASE IF EXISTS bench_chain_tail" >/dev/null 2>&1
chain_sql postgres "CREATE DATABASE bench_chain_tail TEMPLATE $chain_tmpl STRATEGY FILE_COPY"
chain_sql postgres "DROP DATABASE $chain_tmpl"

# ---- 3. What a seal of one row costs besides its row ----

# seal_one_ms DB: milliseconds of a seal of one fresh row (median of BENCH_REPS x 5 seals).
seal_one_ms() {
    local i f ms out
    f=$(mktemp)
    printf '%s\n' '\timing on' 'SELECT smarthub.audit_seal();' > "$f.sql"
    for i in $(seq $((BENCH_REPS * 5))); do
        chain_sql "$1" "INSERT INTO smarthub.audit_logs (entity_type, entity_id, action) VALUES ('bench', gen_random_uuid(), 'UPDATE')"
        read -r ms out <<<"$(timed "$1" "$f.sql")"
        [ "$out" = 1 ] || die "audit_seal() sealed '$out' rows, not 1"
        echo "$ms" >> "$f"
    done
    median < "$f"
    rm -f "$f" "$f.sql"
}

# The rows written since the log was last vacuumed: the seal finds its rows through the BRIN
# index on txid, and page ranges that no VACUUM has summarized yet are read whole, every seal.
# Autovacuum's default insert threshold (20 % of the table) leaves up to a fifth of the log so;
# BENCH_CHAIN_TAIL rows (default a fifth of BENCH_CHAIN_ROWS) written and sealed after the
# template's VACUUM, then one seal of one row, before and after a VACUUM.
tail_rows=${BENCH_CHAIN_TAIL:-$((rows / 5))}
chain_sql bench_chain_tail "SELECT smarthub.audit_seal()" >/dev/null
fill bench_chain_tail $((rows + 1)) $((rows + tail_rows))
chain_sql bench_chain_tail "SELECT smarthub.audit_seal()" | grep -qx "$tail_rows" || die "the tail was not sealed"
tail_ms=$(seal_one_ms bench_chain_tail)
chain_sql bench_chain_tail "VACUUM smarthub.audit_logs"
vacuumed_ms=$(seal_one_ms bench_chain_tail)
row "audit chain: seal 1 row, $tail_rows rows since VACUUM" 1 "audit_seal()" "same, after VACUUM" "$tail_ms" "$vacuumed_ms" ms
chain_sql postgres "DROP DATABASE bench_chain_tail"

# A long chain.

# long_chain_db DB BLOCKS: a database whose chain has BLOCKS blocks and whose log is empty. The
# blocks are written directly (superuser; the chain is append-only, not insert-only): seal blocks
# of another origin (a cluster this database was restored from) sealed here, so the next seal
# links to them and still takes this origin's rows from txid 0. Their hashes are not real ones
# (audit_verify() would fail), which sealing does not look at.
long_chain_db() {
    chain_sql postgres "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
    chain_sql postgres "CREATE DATABASE $1"
    chain_sql "$1" "SET client_min_messages = warning; CREATE EXTENSION smarthub"
    [ "$2" -gt 0 ] && chain_sql "$1" "INSERT INTO smarthub.audit_blocks
        SELECT n, 1, 'seal', 42, 1000 * n, 1000 * (n + 1), md5((2 * n)::text)::uuid, md5((2 * n + 1)::text)::uuid, 1000,
               now() - ($2 - n) * interval '1 second', NULL, smarthub.audit_origin(), now() - ($2 - n) * interval '1 second',
               sha256(int8send(n - 1)), sha256(int8send(n))
          FROM generate_series(1, $2) n"
    chain_sql "$1" "VACUUM ANALYZE smarthub.audit_blocks"
}

long_chain_db bench_chain_long "$long_blocks"
long_chain_db bench_chain_short 0
long_ms=$(seal_one_ms bench_chain_long)
short_ms=$(seal_one_ms bench_chain_short)
row "audit chain: seal 1 row, $long_blocks blocks" 1 "audit_seal()" "same, empty chain" "$long_ms" "$short_ms" ms
chain_sql postgres "DROP DATABASE bench_chain_long"
chain_sql postgres "DROP DATABASE bench_chain_short"
