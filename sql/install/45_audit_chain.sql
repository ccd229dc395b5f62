
-------------------------------------------------------------------------------------------------
-- The verifiable audit log (src/audit_chain.c; the encoding: docs/audit-chain.md)
--
-- Audit rows are sealed into blocks, each covering a set of finished transactions: the rows of
-- one origin (the system identifier of the cluster that wrote them) whose txid is in
-- [txid_lo, txid_hi). Each block's hash covers its own columns, the previous block's hash and
-- every row of the block, so any change to sealed history shows in smarthub.audit_verify() and
-- in script/audit-verify, which recomputes the chain without smarthub's code.
-------------------------------------------------------------------------------------------------

-- STABLE, not IMMUTABLE: a restored copy of the database runs on another cluster.
CREATE FUNCTION smarthub.audit_origin() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_origin';

-- txids restart in another cluster (a restore elsewhere): with origin, a row's txid says which
-- block it belongs to. A constant default for the rows already there (1.0's included): no rewrite.
ALTER TABLE smarthub.audit_logs
    ADD COLUMN origin bigint NOT NULL DEFAULT smarthub.audit_origin();

CREATE TABLE smarthub.audit_blocks (
    block_no       bigint      NOT NULL,
    epoch          bigint      NOT NULL,
    kind           text        NOT NULL,
    origin         bigint,
    txid_lo        bigint,
    txid_hi        bigint,
    first_id       uuid,
    last_id        uuid,
    row_count      bigint      NOT NULL,
    newest_at      timestamptz,
    pruned_through bigint,
    sealed_by      bigint      NOT NULL,
    sealed_at      timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    block_hash     bytea       NOT NULL,
    CONSTRAINT audit_blocks_pkey PRIMARY KEY (block_no),
    CONSTRAINT audit_blocks_kind CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['seal', 'purge']))
);

CREATE FUNCTION smarthub.audit_blocks_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_audit_blocks_guard';

CREATE TRIGGER audit_blocks_append_only BEFORE UPDATE OR DELETE ON smarthub.audit_blocks
    FOR EACH ROW EXECUTE FUNCTION smarthub.audit_blocks_guard();
CREATE TRIGGER audit_blocks_no_truncate BEFORE TRUNCATE ON smarthub.audit_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION smarthub.audit_blocks_guard();
ALTER TABLE smarthub.audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_append_only;
ALTER TABLE smarthub.audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_no_truncate;

-- Readable by admin identities (and the DBA); written only by sealing, as the owner.
ALTER TABLE smarthub.audit_blocks ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_blocks_select ON smarthub.audit_blocks FOR SELECT
    USING ((SELECT smarthub.has_role('admin')));

SELECT pg_catalog.pg_extension_config_dump('smarthub.audit_blocks', '');

CREATE FUNCTION smarthub.audit_seal() RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_seal';

CREATE FUNCTION smarthub.audit_checkpoint() RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_checkpoint';

CREATE FUNCTION smarthub.audit_signing_key() RETURNS text
    LANGUAGE c STABLE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'smarthub_audit_signing_key';

-- One row; a set-returning function because the interface is RETURNS TABLE.
CREATE FUNCTION smarthub.audit_verify(anchor jsonb DEFAULT NULL)
    RETURNS TABLE(ok boolean, blocks bigint, rows bigint, first_bad_block bigint, reason text)
    LANGUAGE c STABLE PARALLEL UNSAFE ROWS 1
    AS 'MODULE_PATHNAME', 'smarthub_audit_verify';

REVOKE ALL ON FUNCTION smarthub.audit_origin() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_blocks_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_seal() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_checkpoint() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_signing_key() FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.audit_verify(jsonb) FROM PUBLIC;
REVOKE ALL ON smarthub.audit_blocks FROM PUBLIC;

COMMENT ON FUNCTION smarthub.audit_origin() IS 'This cluster''s system identifier: the origin of the audit rows it writes';
COMMENT ON COLUMN smarthub.audit_logs.origin IS 'System identifier of the cluster that wrote the row: with txid, places it in a sealed block';
COMMENT ON TABLE smarthub.audit_blocks IS 'Append-only hash chain of sealed audit blocks (docs/audit-chain.md)';
COMMENT ON COLUMN smarthub.audit_blocks.block_no IS 'Position in the chain, from 1';
COMMENT ON COLUMN smarthub.audit_blocks.epoch IS 'Run of blocks sealed on one cluster; a restore elsewhere starts the next';
COMMENT ON COLUMN smarthub.audit_blocks.kind IS 'seal (rows) or purge (records that purge_audit_logs removed the rows of blocks up to pruned_through)';
COMMENT ON COLUMN smarthub.audit_blocks.origin IS 'seal: the origin of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.txid_lo IS 'seal: its rows are those of the origin with txid_lo <= txid < txid_hi';
COMMENT ON COLUMN smarthub.audit_blocks.txid_hi IS 'seal: end of its transactions (exclusive)';
COMMENT ON COLUMN smarthub.audit_blocks.first_id IS 'seal: least id of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.last_id IS 'seal: greatest id of its rows';
COMMENT ON COLUMN smarthub.audit_blocks.row_count IS 'seal: its rows; purge: the rows removed';
COMMENT ON COLUMN smarthub.audit_blocks.newest_at IS 'seal: greatest created_at of its rows (retention removes a block when it is older than the cutoff)';
COMMENT ON COLUMN smarthub.audit_blocks.pruned_through IS 'purge: the rows of blocks 1 to this one were removed';
COMMENT ON COLUMN smarthub.audit_blocks.sealed_by IS 'System identifier of the cluster that sealed it';
COMMENT ON COLUMN smarthub.audit_blocks.sealed_at IS 'When it was sealed';
COMMENT ON COLUMN smarthub.audit_blocks.prev_hash IS 'The previous block''s block_hash (32 zero bytes for block 1)';
COMMENT ON COLUMN smarthub.audit_blocks.block_hash IS 'SHA-256 of its other columns and its rows'' digests (docs/audit-chain.md)';
COMMENT ON TRIGGER audit_blocks_append_only ON smarthub.audit_blocks IS 'Refuses UPDATE and DELETE on the audit chain (42501)';
COMMENT ON TRIGGER audit_blocks_no_truncate ON smarthub.audit_blocks IS 'Refuses TRUNCATE on the audit chain (42501)';
COMMENT ON FUNCTION smarthub.audit_blocks_guard() IS 'Keeps smarthub.audit_blocks append-only (42501) for every role';
COMMENT ON FUNCTION smarthub.audit_seal() IS 'Seals the audit rows of every finished transaction into the next block; returns how many rows';
COMMENT ON FUNCTION smarthub.audit_checkpoint() IS 'The chain''s head (block, hash, rows, time), signed with the keyring''s ed25519 key when there is one';
COMMENT ON FUNCTION smarthub.audit_signing_key() IS 'The public key (PEM) that verifies audit checkpoints; NULL without a signing key';
COMMENT ON FUNCTION smarthub.audit_verify(jsonb) IS 'Recomputes every block of the audit chain and checks it still holds the anchor (a checkpoint)';
