-- Audit rows :lo to :hi (psql variables) into smarthub.audit_logs, in one transaction, as the
-- audit trigger leaves them for an UPDATE of smarthub.users-like rows: an identity as user_id and
-- actor_id, a client address and user agent, and a `changes` diff of four columns, about 290 bytes
-- as changes::text (250-260 bytes of jsonb). id, created_at, db_role, txid and origin take their
-- defaults (uuid_v7(), now(), SESSION_USER, txid_current(), audit_origin()). The rows are stored
-- in nearly but not exactly id order, as concurrent writers leave them (shuffled within runs of
-- 64): a log written by one backend alone would come back already sorted and make the sort by id,
-- which the block hash needs, look free. Replica role: the identity exists, so its foreign-key
-- check (the cost of writing, not of sealing) is skipped.
\set ON_ERROR_STOP on
SET session_replication_role = replica;
INSERT INTO smarthub.audit_logs (id, user_id, actor_id, entity_type, entity_id, action, changes, ip_address, user_agent)
SELECT id, u, u, 'bench_users', md5(i::text)::uuid, 'UPDATE',
       jsonb_build_object(
         'before', jsonb_build_object('email', 'user' || i || '@example.com', 'first_name', 'First' || i,
                                      'last_name', 'Last' || i, 'note', left(md5(i::text), 24)),
         'after',  jsonb_build_object('email', 'u' || md5(i::text) || '@example.com', 'first_name', 'F' || i || '-' || (i % 8),
                                      'last_name', 'L' || i, 'note', left(md5((-i)::text), 24))),
       ('10.' || (i % 200) || '.' || (i / 200 % 250) || '.' || (i % 250 + 1))::inet,
       'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
  FROM (SELECT smarthub.uuid_v7() AS id, i FROM generate_series(:lo, :hi) i OFFSET 0) r,
       (SELECT id AS u FROM smarthub.users WHERE username = 'bench-chain') u
 ORDER BY i / 64, random();
