-- The anchor: plain SQL recomputing the whole chain from the two tables, with pgcrypto's digest(),
-- per docs/audit-chain.md: each row's digest (SHA-256 of 'smarthub-audit-row-v1' and its fields
-- but user_id, NULL as 00, values as 01 and their bytes: int8send, uuid_send, a 4-byte length and
-- the UTF-8 text, created_at as Unix microseconds), joined to its block by origin and txid range,
-- the digests concatenated in id order (string_agg ... ORDER BY id), then each block's hash over
-- its own fields, prev_hash and those digests, and each block's link to the one before; a block
-- also counts as bad when a row's user_id is neither NULL nor its actor_id. It prints the blocks
-- and how many are bad by hash and by link (0 and 0, else the bench stops).
-- Purge blocks and pruned rows are not handled: the bench's chains have none.
-- ip_address is encoded as inet prints it, abbrev(ip_address) (what audit_verify() and
-- script/audit-verify hash), not ip_address::text, which adds /32 to a host address.
-- Serial plan, as audit_verify() runs on one core; work_mem enough to sort the digests in memory,
-- as audit_verify() does.
\timing off
SET max_parallel_workers_per_gather = 0;
SET work_mem = '512MB';
\timing on
WITH row_digests AS (
    SELECT b.block_no, a.id,
           digest('smarthub-audit-row-v1'::bytea
                  || '\x01'::bytea || uuid_send(a.id)
                  || '\x01'::bytea || int4send(octet_length(a.entity_type)) || convert_to(a.entity_type, 'UTF8')
                  || '\x01'::bytea || uuid_send(a.entity_id)
                  || '\x01'::bytea || int4send(octet_length(a.action)) || convert_to(a.action, 'UTF8')
                  || coalesce('\x01'::bytea || int4send(octet_length(a.changes::text)) || convert_to(a.changes::text, 'UTF8'), '\x00'::bytea)
                  || coalesce('\x01'::bytea || int4send(octet_length(abbrev(a.ip_address))) || convert_to(abbrev(a.ip_address), 'UTF8'), '\x00'::bytea)
                  || coalesce('\x01'::bytea || int4send(octet_length(a.user_agent)) || convert_to(a.user_agent, 'UTF8'), '\x00'::bytea)
                  || '\x01'::bytea || int8send((extract(epoch FROM a.created_at) * 1000000)::bigint)
                  || '\x01'::bytea || int4send(octet_length(a.db_role)) || convert_to(a.db_role, 'UTF8')
                  || '\x01'::bytea || int8send(a.txid)
                  || coalesce('\x01'::bytea || uuid_send(a.actor_id), '\x00'::bytea)
                  || '\x01'::bytea || int8send(a.origin), 'sha256') AS d,
           a.user_id IS NOT NULL AND a.user_id IS DISTINCT FROM a.actor_id AS bad_user
      FROM smarthub.audit_blocks b
      JOIN smarthub.audit_logs a ON a.origin = b.origin AND a.txid >= b.txid_lo AND a.txid < b.txid_hi
     WHERE b.kind = 'seal'
), block_digests AS (
    SELECT block_no, string_agg(d, ''::bytea ORDER BY id) AS ds, count(*) FILTER (WHERE bad_user) AS bad_users
      FROM row_digests GROUP BY block_no
)
SELECT count(*) AS blocks,
       count(*) FILTER (WHERE h.hash IS DISTINCT FROM b.block_hash OR d.bad_users > 0) AS bad_hash,
       count(*) FILTER (WHERE b.prev_hash IS DISTINCT FROM
                        coalesce(b.prev_block_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)) AS bad_link
  FROM (SELECT *, lag(block_hash) OVER (ORDER BY block_no) AS prev_block_hash FROM smarthub.audit_blocks) b
  LEFT JOIN block_digests d USING (block_no)
  CROSS JOIN LATERAL (SELECT
       digest('smarthub-audit-block-v1'::bytea
              || '\x01'::bytea || int8send(b.block_no)
              || '\x01'::bytea || int8send(b.epoch)
              || '\x01'::bytea || int4send(octet_length(b.kind)) || convert_to(b.kind, 'UTF8')
              || coalesce('\x01'::bytea || int8send(b.origin), '\x00'::bytea)
              || coalesce('\x01'::bytea || int8send(b.txid_lo), '\x00'::bytea)
              || coalesce('\x01'::bytea || int8send(b.txid_hi), '\x00'::bytea)
              || coalesce('\x01'::bytea || uuid_send(b.first_id), '\x00'::bytea)
              || coalesce('\x01'::bytea || uuid_send(b.last_id), '\x00'::bytea)
              || '\x01'::bytea || int8send(b.row_count)
              || coalesce('\x01'::bytea || int8send((extract(epoch FROM b.newest_at) * 1000000)::bigint), '\x00'::bytea)
              || coalesce('\x01'::bytea || int8send(b.pruned_through), '\x00'::bytea)
              || '\x01'::bytea || int8send(b.sealed_by)
              || '\x01'::bytea || int8send((extract(epoch FROM b.sealed_at) * 1000000)::bigint)
              || '\x01'::bytea || int4send(length(b.prev_hash)) || b.prev_hash
              || coalesce(d.ds, ''::bytea), 'sha256') AS hash) h;
