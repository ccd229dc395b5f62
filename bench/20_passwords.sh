# bcrypt at cost 12: smarthub's hash_password / verify_password against pgcrypto's crypt() on the
# same core (Openwall's crypt_blowfish), median of at least 9 interleaved runs of one call each (a
# single call is easily disturbed on a shared machine, and 9 runs cost only ~10 s); then
# libxcrypt alone and python3-bcrypt outside the server. The target: within 10% (ratio 0.90..1.10).
# Then failed logins by kind, each against an unknown login (the dummy check): a ratio near 1.00
# means the kind is not told apart by its time, which is the point.
bq -f passwords/setup.sql
reps=$(( BENCH_REPS > 9 ? BENCH_REPS : 9 ))
BENCH_REPS=$reps race_time "hash_password cost 12" \
    smarthub passwords/hash_smarthub.sql "pgcrypto crypt()" passwords/hash_pgcrypto.sql
hash_ms=$(tail -1 "$BENCH_OUT" | cut -f5)
BENCH_REPS=$reps race_time "verify_password cost 12" \
    smarthub passwords/verify_smarthub.sql "pgcrypto crypt()" passwords/verify_pgcrypto.sql
if out=$(/usr/bin/python3 passwords/libxcrypt.py "$reps" 2>/dev/null); then
    read -r lib_ms py_ms <<<"$out"
    for row in "libxcrypt crypt() alone:$lib_ms" "python3-bcrypt:$py_ms"; do
        printf '%s\t%s\t%s\t%s\t%.1f\t%.1f\tms\t%.2f\n' "hash cost 12 (outside the server)" 1 smarthub "${row%%:*}" \
            "$hash_ms" "${row#*:}" "$(awk -v a="$hash_ms" -v b="${row#*:}" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
            | tee -a "$BENCH_OUT"
    done
fi
BENCH_REPS=$reps race_time "failed login, cost 12" \
    "unknown login" passwords/login_fail_unknown.sql \
    "wrong password, cost-12 hash" passwords/login_fail_current.sql \
    "wrong password, cost-4 hash" passwords/login_fail_cheap.sql \
    "over-long password" passwords/login_fail_long.sql
