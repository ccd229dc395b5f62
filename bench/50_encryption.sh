# Field encryption (issue 6): one statement over many 1 KB values, smarthub.encrypt/decrypt
# (AES-256-GCM) against pgcrypto's pgp_sym_encrypt_bytea/pgp_sym_decrypt_bytea (5,000 values: a key
# derivation per call makes it slow) and its unauthenticated encrypt_iv/decrypt_iv with aes-cbc
# (50,000 values). Serial plans (no parallel workers) so MB/s is per core. Besides race_time's rows,
# adds MB/s rows whose ratio is smarthub's throughput over the anchor's (higher = better).
# Needs the keyring script/bench configures through script/demo-keyring.
small=5000 big=50000

bq <<SQL
DROP TABLE IF EXISTS bench_enc_small, bench_enc_small_gcm, bench_enc_small_pgp, bench_enc_plain, bench_enc_gcm, bench_enc_cbc;
-- one ciphertext column per table: two 1 KB values in a row would push one of them into TOAST
CREATE TABLE bench_enc_small AS SELECT i, gen_random_bytes(1024) AS v FROM generate_series(1, $small) i;
CREATE TABLE bench_enc_small_gcm AS SELECT i, smarthub.encrypt(v, 'bench.v') AS e FROM bench_enc_small;
CREATE TABLE bench_enc_small_pgp AS SELECT i, pgp_sym_encrypt_bytea(v, 'bench-password') AS p FROM bench_enc_small;
CREATE TABLE bench_enc_plain AS SELECT i, gen_random_bytes(1024) AS v FROM generate_series(1, $big) i;
CREATE TABLE bench_enc_gcm AS SELECT i, smarthub.encrypt(v, 'bench.v') AS e FROM bench_enc_plain;
CREATE TABLE bench_enc_cbc AS
    SELECT i, encrypt_iv(v, decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 16), 'hex'), 'aes-cbc') AS c
      FROM bench_enc_plain;
VACUUM ANALYZE bench_enc_small, bench_enc_small_gcm, bench_enc_small_pgp, bench_enc_plain, bench_enc_gcm, bench_enc_cbc;
SQL

# mbps LINES VALUES: MB/s rows (1 MB = 10^6 bytes of plaintext) from race_time's output rows.
mbps() {
    local n=$1
    awk -F'\t' -v n="$n" 'BEGIN {OFS = "\t"} {
        mb = n * 1024 / 1e6; s = mb / ($5 / 1000); a = mb / ($6 / 1000)
        printf "%s\t%s\t%s\t%s\t%.0f\t%.1f\tMB/s\t%.2f\n", $1, $2, $3, $4, s, a, s / a }' | tee -a "$BENCH_OUT"
}

for pair in "encrypt 1KB x$small:enc_gcm_5k:pgp_sym_encrypt:enc_pgp_5k" \
            "decrypt 1KB x$small:dec_gcm_5k:pgp_sym_decrypt:dec_pgp_5k"; do
    IFS=: read -r group subject anchor_label anchor <<<"$pair"
    race_time "$group" "smarthub.${group%% *}" "encryption/$subject.sql" "$anchor_label" "encryption/$anchor.sql" | mbps $small
done
for pair in "encrypt 1KB x$big:enc_gcm_50k:encrypt_iv aes-cbc:enc_cbc_50k" \
            "decrypt 1KB x$big:dec_gcm_50k:decrypt_iv aes-cbc:dec_cbc_50k"; do
    IFS=: read -r group subject anchor_label anchor <<<"$pair"
    race_time "$group" "smarthub.${group%% *}" "encryption/$subject.sql" "$anchor_label" "encryption/$anchor.sql" | mbps $big
done

bq -c "DROP TABLE bench_enc_small, bench_enc_small_gcm, bench_enc_small_pgp, bench_enc_plain, bench_enc_gcm, bench_enc_cbc"
