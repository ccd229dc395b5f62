# Benchmark helpers, sourced by script/bench before each bench/NN_topic.sh.
# script/bench exports PGHOST, PGPORT, PGUSER, PGBIN, BENCH_DB, BENCH_OUT, BENCH_SECONDS, BENCH_REPS.
# Every figure is a median of BENCH_REPS runs, the variants interleaved within each repetition so
# that drift on the machine hits all of them alike.

bq() { "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# pgbench_tps CLIENTS FILE [extra pgbench options]: transactions per second of one run.
pgbench_tps() {
    local c=$1 f=$2; shift 2
    "$PGBIN/pgbench" -n -M prepared -T "$BENCH_SECONDS" -c "$c" -j "$c" -f "$f" "$@" "$BENCH_DB" 2>&1 \
        | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# race_tps GROUP CLIENTS SUBJECT_LABEL SUBJECT_FILE ANCHOR_LABEL ANCHOR_FILE [ANCHOR_LABEL ANCHOR_FILE ...]
# One row per anchor: median TPS of subject and anchor and the ratio subject/anchor (higher = better).
race_tps() {
    local group=$1 c=$2 rep i; shift 2
    local -a labels=() files=() results=()
    while [ $# -ge 2 ]; do labels+=("$1"); files+=("$2"); shift 2; done
    local tmp; tmp=$(mktemp -d)
    for rep in $(seq "$BENCH_REPS"); do
        for i in "${!files[@]}"; do pgbench_tps "$c" "${files[$i]}" ${BENCH_PGBENCH_OPTS:-} >> "$tmp/$i"; done
    done
    for i in "${!files[@]}"; do results[$i]=$(median < "$tmp/$i"); done
    rm -rf "$tmp"
    for i in "${!files[@]}"; do
        [ "$i" -eq 0 ] && continue
        printf '%s\t%s\t%s\t%s\t%.0f\t%.0f\tTPS\t%.2f\n' "$group" "$c" "${labels[0]}" "${labels[$i]}" \
            "${results[0]}" "${results[$i]}" "$(awk -v a="${results[0]}" -v b="${results[$i]}" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
            | tee -a "$BENCH_OUT"
    done
}

# time_ms SQL_FILE: wall time of one psql run of the file, in milliseconds (setup lines in the file
# may be guarded by \timing off/on; only statements run with \timing on are added up).
time_ms() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" -f "$1" 2>&1 \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk '{s += $1} END {print s + 0}'
}

# race_time GROUP SUBJECT_LABEL SUBJECT_FILE ANCHOR_LABEL ANCHOR_FILE [...]
# Files are psql scripts that turn \timing on around what is measured. One row per anchor: median
# milliseconds of subject and anchor and the ratio subject/anchor (lower = better).
race_time() {
    local group=$1 rep i; shift
    local -a labels=() files=() results=()
    while [ $# -ge 2 ]; do labels+=("$1"); files+=("$2"); shift 2; done
    local tmp; tmp=$(mktemp -d)
    for rep in $(seq "$BENCH_REPS"); do
        for i in "${!files[@]}"; do time_ms "${files[$i]}" >> "$tmp/$i"; done
    done
    for i in "${!files[@]}"; do results[$i]=$(median < "$tmp/$i"); done
    rm -rf "$tmp"
    for i in "${!files[@]}"; do
        [ "$i" -eq 0 ] && continue
        printf '%s\t%s\t%s\t%s\t%.1f\t%.1f\tms\t%.2f\n' "$group" 1 "${labels[0]}" "${labels[$i]}" \
            "${results[0]}" "${results[$i]}" "$(awk -v a="${results[0]}" -v b="${results[$i]}" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
            | tee -a "$BENCH_OUT"
    done
}
