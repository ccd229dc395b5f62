-- The audit trail as users see it: the exact JSONB of every action and type family, redaction,
-- ignored columns, no-op updates, TRUNCATE, rollbacks, ALTER TABLE on an audited table.
\set VERBOSITY terse
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- audit rows written since the last call to this, oldest first (ids are fixed, times are not shown)
CREATE TABLE public.audit_seen (id uuid PRIMARY KEY);
CREATE FUNCTION public.new_audit_rows()
RETURNS TABLE (action varchar, entity_type varchar, entity_id uuid, changes jsonb)
LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT a.* FROM smarthub.audit_logs a
         WHERE NOT EXISTS (SELECT 1 FROM public.audit_seen s WHERE s.id = a.id)
    ), mark AS (
        INSERT INTO public.audit_seen SELECT id FROM fresh
    )
    SELECT action, entity_type, entity_id, changes FROM fresh
     ORDER BY created_at, txid, entity_type, action, entity_id, changes::text
$$;
INSERT INTO public.audit_seen SELECT id FROM smarthub.audit_logs;   -- earlier tests' rows

-- the defaults
SELECT table_name, entity_type, id_column, excluded_columns, ignored_columns, enabled
  FROM smarthub.audited_tables ORDER BY table_name::text;

-- CREATE on users: every column, password_hash redacted
INSERT INTO smarthub.users (id, email, username, password_hash, first_name, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-0000000000a1', 'ann@example.com', 'ann', '$2b$10$secret-hash', 'Ann',
        '2026-01-01 10:00+00', '2026-01-01 10:00+00');
SELECT * FROM public.new_audit_rows();
-- UPDATE: only the changed columns; updated_at (moved by set_updated_at) is ignored
UPDATE smarthub.users SET first_name = 'Anne', last_name = 'Smith' WHERE username = 'ann';
SELECT * FROM public.new_audit_rows();
-- a changed secret shows its key, never its value
UPDATE smarthub.users SET password_hash = '$2b$10$other-hash' WHERE username = 'ann';
SELECT * FROM public.new_audit_rows();
SELECT count(*) AS rows_showing_a_hash FROM smarthub.audit_logs WHERE changes::text LIKE '%$2b$%';
-- ignored-only and no-op updates write nothing
UPDATE smarthub.users SET last_login_at = '2026-02-01 00:00+00' WHERE username = 'ann';
UPDATE smarthub.users SET first_name = 'Anne' WHERE username = 'ann';
UPDATE smarthub.users SET email = email, username = username WHERE username = 'ann';
SELECT * FROM public.new_audit_rows();
-- NULL ↔ value both ways
UPDATE smarthub.users SET last_name = NULL, avatar_url = 'https://example.com/a.png' WHERE username = 'ann';
SELECT * FROM public.new_audit_rows();

-- every type family, rendered as to_jsonb renders it
CREATE TYPE public.pair AS (a integer, b text);
CREATE DOMAIN public.positive AS integer CHECK (VALUE > 0);
CREATE TABLE public.kinds (
    id uuid PRIMARY KEY,
    t text, vc varchar(10), ch char(4),
    n numeric, n_nan numeric, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, f_inf double precision,
    b boolean,
    ts timestamptz, tsz timestamp, d date, tm time, iv interval,
    u uuid, ip inet, cidr_ cidr, mac macaddr,
    j jsonb, j_scalar jsonb, js json,
    ai integer[], at text[], a2 integer[], a_empty integer[], ats timestamptz[], ab boolean[],
    p public.pair, dom public.positive, by bytea, x xml,
    nothing text
);
SELECT smarthub.enable_audit('public.kinds');
INSERT INTO public.kinds VALUES (
    '00000000-0000-0000-0000-0000000000b1',
    'café "quoted" \ back', 'short', 'ab',
    1.50, 'NaN', 32767, -2147483648, 9007199254740993, 1.5, 0.1, 'Infinity',
    true,
    '2026-03-04 05:06:07.123456+02', '2026-03-04 05:06:07', '2026-03-04', '05:06:07', '1 day 02:03:04',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
    '{"k": [1, 2.50, {"z": null}], "a": true}', '"just a string"', '{"b": 1, "a": [1.0, 2]}',
    '{1,NULL,3}', '{a,"b c",NULL}', '{{1,2},{3,4}}', '{}', '{"2026-01-01 00:00+00"}', '{t,f}',
    ROW(1, 'x'), 7, '\xdeadbeef', '<a>1</a>',
    NULL);
SELECT * FROM public.new_audit_rows();
-- the same rendering as to_jsonb, column for column
SELECT a.changes -> 'after' = to_jsonb(k) AS same_as_to_jsonb
  FROM smarthub.audit_logs a JOIN public.kinds k ON k.id = a.entity_id WHERE a.action = 'CREATE';
-- numeric images: 1.50 → 1.500 is a change (it prints differently); 1.5 → 1.5 in a float is not
UPDATE public.kinds SET n = 1.500, f4 = 1.5;
SELECT * FROM public.new_audit_rows();
UPDATE public.kinds SET j = '{"a": true, "k": [1, 2.50, {"z": null}]}', ai = '{1,NULL,3}', ts = '2026-03-04 03:06:07.123456+00';
SELECT * FROM public.new_audit_rows();
UPDATE public.kinds SET j = j || '{"new": 1}', ai = ai || 4, ip = '192.168.0.2/24', b = NULL, nothing = '';
SELECT * FROM public.new_audit_rows();
DELETE FROM public.kinds;
SELECT action, changes -> 'after' AS after, changes -> 'before' ->> 'n' AS n_before FROM public.new_audit_rows();

-- TRUNCATE: one row, the all-zero id, no changes
INSERT INTO public.kinds (id, t) VALUES ('00000000-0000-0000-0000-0000000000b2', 'x'), ('00000000-0000-0000-0000-0000000000b3', 'y');
TRUNCATE public.kinds;
SELECT action, entity_id, changes IS NULL AS no_changes FROM public.new_audit_rows() WHERE action = 'TRUNCATE';

-- rollback removes the change and its audit row; so does a savepoint rollback
BEGIN;
INSERT INTO public.kinds (id, t) VALUES ('00000000-0000-0000-0000-0000000000c1', 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO public.kinds (id, t) VALUES ('00000000-0000-0000-0000-0000000000c2', 'kept');
SAVEPOINT s;
UPDATE public.kinds SET t = 'undone' WHERE id = '00000000-0000-0000-0000-0000000000c2';
INSERT INTO public.kinds (id, t) VALUES ('00000000-0000-0000-0000-0000000000c3', 'undone');
ROLLBACK TO SAVEPOINT s;
UPDATE public.kinds SET t = 'kept twice' WHERE id = '00000000-0000-0000-0000-0000000000c2';
COMMIT;
SELECT action, entity_id, changes -> 'after' -> 't' AS t FROM public.new_audit_rows();

-- configuration: entity type, id column, exclusions; enable_audit replaces it
CREATE TABLE public.docs (doc_id uuid PRIMARY KEY, title text, secret text, token text, touched_at timestamptz);
SELECT smarthub.enable_audit('public.docs', '{secret,token}', '{touched_at}', 'document', 'doc_id');
INSERT INTO public.docs VALUES ('00000000-0000-0000-0000-0000000000d1', 'Plan', 's3cr3t', 'tok', '2026-01-01');
UPDATE public.docs SET touched_at = '2026-01-02';
UPDATE public.docs SET secret = 'other', touched_at = '2026-01-03';
SELECT * FROM public.new_audit_rows();
SELECT smarthub.enable_audit('public.docs', '{token}', '{}', 'doc', 'doc_id');
UPDATE public.docs SET touched_at = '2026-01-04';
SELECT * FROM public.new_audit_rows();

-- ALTER TABLE on an audited table: ADD, RENAME (an excluded column too) and DROP COLUMN
ALTER TABLE public.docs ADD COLUMN pages integer DEFAULT 3;
UPDATE public.docs SET pages = 4;
ALTER TABLE public.docs RENAME COLUMN token TO api_token;
ALTER TABLE public.docs RENAME COLUMN title TO heading;
SELECT table_name, entity_type, id_column, excluded_columns, ignored_columns FROM smarthub.audited_tables WHERE table_name = 'public.docs'::regclass;
UPDATE public.docs SET api_token = 'tok2', heading = 'Plan B';
ALTER TABLE public.docs DROP COLUMN api_token;
ALTER TABLE public.docs DROP COLUMN secret;
-- an excluded column is never forgotten by DDL: writes fail until enable_audit says what to exclude
SELECT table_name, excluded_columns FROM smarthub.audited_tables WHERE table_name = 'public.docs'::regclass;
UPDATE public.docs SET heading = 'Plan C', pages = 5;
SELECT smarthub.enable_audit('public.docs', '{}', '{}', 'doc', 'doc_id');
UPDATE public.docs SET heading = 'Plan C', pages = 5;
ALTER TABLE public.docs RENAME COLUMN doc_id TO key;
SELECT id_column FROM smarthub.audited_tables WHERE table_name = 'public.docs'::regclass;
DELETE FROM public.docs;
SELECT * FROM public.new_audit_rows();

-- redaction fails closed. A typed table's secret renamed through its type is followed ...
CREATE TYPE public.card AS (id uuid, holder text, number text);
CREATE TABLE public.cards OF public.card (PRIMARY KEY (id));
SELECT smarthub.enable_audit('public.cards', '{number}');
ALTER TYPE public.card RENAME ATTRIBUTE number TO pan CASCADE;
SELECT excluded_columns FROM smarthub.audited_tables WHERE table_name = 'public.cards'::regclass;
INSERT INTO public.cards VALUES ('00000000-0000-0000-0000-0000000000c1', 'Ann', '4111111111111111');
SELECT action, changes FROM public.new_audit_rows();
-- ... and one renamed while event triggers do not fire makes writes fail, even after DDL on the
-- table or on any other (1.0 then forgot the exclusion and logged card numbers)
SET session_replication_role = replica;
ALTER TYPE public.card RENAME ATTRIBUTE pan TO secret_pan CASCADE;
RESET session_replication_role;
UPDATE public.cards SET secret_pan = '4000056655665556';
ALTER TABLE public.docs ADD COLUMN z integer;
ALTER TABLE public.cards ALTER COLUMN holder SET STATISTICS 200;
ALTER TYPE public.card ADD ATTRIBUTE note text CASCADE;
SELECT excluded_columns FROM smarthub.audited_tables WHERE table_name = 'public.cards'::regclass;
UPDATE public.cards SET secret_pan = '4000056655665556';
SELECT smarthub.enable_audit('public.cards', '{secret_pan}');
UPDATE public.cards SET secret_pan = '4000056655665556';
SELECT action, changes FROM public.new_audit_rows();

-- DDL resynchronises only the tables it changed: a table whose configuration broke unseen (an
-- ignored column renamed in replica mode) is left alone by DDL on another table
CREATE TABLE public.notes (id uuid PRIMARY KEY, seen_at timestamptz);
SELECT smarthub.enable_audit('public.notes', '{}', '{seen_at}');
SET session_replication_role = replica;
ALTER TABLE public.notes RENAME COLUMN seen_at TO read_at;
RESET session_replication_role;
ALTER TABLE public.docs ADD COLUMN z2 integer;
SELECT ignored_columns FROM smarthub.audited_tables WHERE table_name = 'public.notes'::regclass;
INSERT INTO public.notes VALUES ('00000000-0000-0000-0000-0000000000c2', now());
-- DDL on the table itself forgets an ignored column that is gone (it hides nothing)
ALTER TABLE public.notes ADD COLUMN body text;
SELECT ignored_columns FROM smarthub.audited_tables WHERE table_name = 'public.notes'::regclass;
INSERT INTO public.notes VALUES ('00000000-0000-0000-0000-0000000000c2', NULL, 'x');
SELECT action, entity_type FROM public.new_audit_rows();

-- out-of-line (TOAST) values: an unchanged one is not a change, a changed one is
CREATE TABLE public.big (id uuid PRIMARY KEY, body text, n integer);
ALTER TABLE public.big ALTER COLUMN body SET STORAGE EXTERNAL;
SELECT smarthub.enable_audit('public.big');
INSERT INTO public.big VALUES ('00000000-0000-0000-0000-0000000000e2', repeat('x', 10000), 1);
UPDATE public.big SET n = 2;
UPDATE public.big SET body = repeat('x', 10000);
UPDATE public.big SET body = repeat('x', 9999) || 'y';
SELECT action, changes -> 'after' ->> 'n' AS n, length(changes -> 'before' ->> 'body') AS before_len,
       right(changes -> 'after' ->> 'body', 2) AS body_tail
  FROM public.new_audit_rows();

-- a column renamed on an inheritance parent is renamed in an audited child's configuration too
CREATE TABLE public.parent (id uuid PRIMARY KEY, pin text);
CREATE TABLE public.child () INHERITS (public.parent);
SELECT smarthub.enable_audit('public.child', '{pin}');
ALTER TABLE public.parent RENAME COLUMN pin TO pin_code;
SELECT table_name, excluded_columns FROM smarthub.audited_tables WHERE table_name = 'public.child'::regclass;
INSERT INTO public.child VALUES ('00000000-0000-0000-0000-0000000000e3', '1234');
SELECT action, changes FROM public.new_audit_rows();

-- an audited table has no inheritance children (their rows would escape its trigger): refused
-- when auditing a parent, when creating a child, and when attaching one
CREATE TABLE public.tree (id uuid PRIMARY KEY, v text);
CREATE TABLE public.branch () INHERITS (public.tree);
SELECT smarthub.enable_audit('public.tree');
DROP TABLE public.branch;
SELECT smarthub.enable_audit('public.tree');
CREATE TABLE public.branch () INHERITS (public.tree);
CREATE TABLE public.branch (id uuid PRIMARY KEY, v text);
ALTER TABLE public.branch INHERIT public.tree;
SELECT smarthub.enable_audit('public.branch');
DROP TABLE public.branch;

-- a cast to json that writes to the audited table again, after a type-cache invalidation (a new
-- temporary table's row type): the inner call rebuilds the table's cache entry while the outer one
-- still renders the row with the old entry's columns (1.0 freed them under it; on a stock build
-- the memory is handed straight back to the rebuilt entry, so only a memory checker saw it)
CREATE TYPE public.mood AS ENUM ('calm', 'loud');
CREATE TABLE public.moods (id uuid PRIMARY KEY, m public.mood, after_m text, last text);
CREATE FUNCTION public.mood_json(m public.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    IF m = 'loud' THEN
        CREATE TEMP TABLE IF NOT EXISTS mood_scratch (x int);
        INSERT INTO public.moods VALUES ('00000000-0000-0000-0000-0000000000f2', NULL, 'inner', 'i');
    END IF;
    RETURN to_json(m::text || '!');
END $$;
CREATE CAST (public.mood AS json) WITH FUNCTION public.mood_json(public.mood);
SELECT smarthub.enable_audit('public.moods');
INSERT INTO public.moods VALUES ('00000000-0000-0000-0000-0000000000f1', 'loud', 'outer', 'o');
SELECT action, changes FROM public.new_audit_rows() ORDER BY changes::text;
DROP TABLE public.moods;
DROP CAST (public.mood AS json);
DROP FUNCTION public.mood_json(public.mood);
DROP TYPE public.mood;

-- a 50-column table
SELECT format('CREATE TABLE public.wide (id uuid PRIMARY KEY, %s)',
              string_agg(format('c%s integer', n), ', ' ORDER BY n)) FROM generate_series(1, 49) n \gexec
SELECT smarthub.enable_audit('public.wide');
INSERT INTO public.wide (id) VALUES ('00000000-0000-0000-0000-0000000000e1');
UPDATE public.wide SET c1 = 1, c25 = 25, c49 = 49;
SELECT action, (SELECT count(*) FROM jsonb_object_keys(changes -> 'after')) AS after_keys,
       changes -> 'before' AS before, changes -> 'after' ->> 'c49' AS c49
  FROM public.new_audit_rows();

-- deleting a user sets user_id NULL in its audit rows and changes nothing else
INSERT INTO smarthub.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-0000000000f1', 'gone@example.com', 'gone', 'x');
INSERT INTO smarthub.audit_logs (user_id, entity_type, entity_id, action, changes)
VALUES ('00000000-0000-0000-0000-0000000000f1', 'note', '00000000-0000-0000-0000-0000000000f2', 'TEST', '{"k": 1}');
CREATE TEMP TABLE before_delete AS
    SELECT id, entity_type, entity_id, action, changes, created_at, db_role, txid FROM smarthub.audit_logs;
DELETE FROM smarthub.users WHERE username = 'gone';
SELECT count(*) AS rows_of_deleted_user FROM smarthub.audit_logs WHERE user_id = '00000000-0000-0000-0000-0000000000f1';
SELECT count(*) AS nulled FROM smarthub.audit_logs WHERE entity_type = 'note' AND user_id IS NULL;
SELECT count(*) AS otherwise_changed FROM before_delete b JOIN smarthub.audit_logs a USING (id)
 WHERE (a.entity_type, a.entity_id, a.action, a.changes, a.created_at, a.db_role, a.txid)
       IS DISTINCT FROM (b.entity_type, b.entity_id, b.action, b.changes, b.created_at, b.db_role, b.txid);
SELECT action, entity_type, changes -> 'before' ->> 'username' AS username FROM public.new_audit_rows() WHERE entity_type IN ('users', 'note');

-- forensic columns
SELECT db_role, txid > 0 AS has_txid FROM smarthub.audit_logs WHERE entity_type = 'note';

-- entity_history: newest first, limited
SELECT action, changes -> 'after' ->> 'first_name' AS first_name
  FROM smarthub.entity_history('users', '00000000-0000-0000-0000-0000000000a1', 3);
SELECT count(*) FROM smarthub.entity_history('users', '00000000-0000-0000-0000-0000000000a1');
SELECT count(*) FROM smarthub.entity_history('users', '00000000-0000-0000-0000-0000000000a1', -1);

-- errors users see
SELECT smarthub.enable_audit('smarthub.table_sizes');
SELECT smarthub.enable_audit('smarthub.audit_logs');
CREATE SEQUENCE public.seq;
SELECT smarthub.enable_audit('public.seq');
CREATE TABLE public.parted (id uuid, k int) PARTITION BY RANGE (k);
SELECT smarthub.enable_audit('public.parted');
CREATE TABLE public.intkey (id integer PRIMARY KEY, v text);
SELECT smarthub.enable_audit('public.intkey');
SELECT smarthub.enable_audit('public.intkey', id_column => 'nope');
SELECT smarthub.enable_audit('public.wide', '{nope}');
SELECT smarthub.enable_audit('public.wide', '{}', '{updated_at}');
SELECT smarthub.enable_audit('public.wide', '{}', '{c1,nope}');
SELECT smarthub.enable_audit('public.wide', NULL);
SELECT smarthub.enable_audit('public.wide', '{}', '{}', '');
SELECT smarthub.enable_audit('public.wide', '{}', '{}', repeat('x', 101));
SELECT smarthub.disable_audit('public.intkey');
SELECT smarthub.disable_audit('public.wide');
SELECT count(*) FROM smarthub.audited_tables WHERE table_name = 'public.wide'::regclass;
UPDATE smarthub.audit_logs SET action = 'X';
DELETE FROM smarthub.audit_logs;
TRUNCATE smarthub.audit_logs;
SELECT smarthub.purge_audit_logs('-1 day');

DROP TABLE public.child, public.parent, public.big, public.kinds, public.docs, public.wide, public.intkey, public.parted, public.audit_seen;
DROP SEQUENCE public.seq;
DROP TYPE public.pair;
DROP DOMAIN public.positive;
DROP FUNCTION public.new_audit_rows();
