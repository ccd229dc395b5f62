-- What a user sees when the schema refuses bad data.
\set VERBOSITY terse
INSERT INTO smarthub.users (id, email, username, password_hash)
VALUES ('00000000-0000-0000-0000-00000000000a', 'Alice@Example.com', 'alice', 'x');
INSERT INTO smarthub.users (email, username, password_hash) VALUES ('alice@example.COM', 'alice2', 'x');
INSERT INTO smarthub.users (email, username, password_hash) VALUES ('carol@example.com', 'ALICE', 'x');
INSERT INTO smarthub.users (email, username, password_hash) VALUES ('a|b@example.com', 'pipe', 'x');
INSERT INTO smarthub.api_keys (user_id, key_hash) VALUES ('00000000-0000-0000-0000-00000000000a', 'abc');
DELETE FROM smarthub.roles WHERE name = 'admin';
UPDATE smarthub.roles SET name = 'superadmin' WHERE name = 'admin';
-- lookups by lower(email) use the case-insensitive unique index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM smarthub.users WHERE lower(email) = lower('ALICE@example.com');
RESET enable_seqscan;
SELECT username FROM smarthub.users WHERE lower(email) = lower('ALICE@example.com');
DELETE FROM smarthub.users WHERE id = '00000000-0000-0000-0000-00000000000a';
SELECT table_name FROM smarthub.table_sizes ORDER BY table_name;
