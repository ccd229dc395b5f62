-- Encryption at rest: the messages users see (test/shell/051_encryption_messages.sh). Needs the
-- demo keyring script/test configures (keys 1 and 2). Envelopes are random: only their
-- lengths, key ids and plaintexts are printed.
SET client_min_messages = warning;
CREATE TEMP TABLE enc (id int, e bytea, t text);
INSERT INTO enc VALUES (1, smarthub.encrypt('\x00ff'::bytea, 'enc.e:1'), smarthub.encrypt_text('Grüße', 'enc.t:1'));
SELECT id, length(e) AS envelope_bytes, smarthub.key_id(e), length(t) AS base64_chars,
       smarthub.decrypt(e, 'enc.e:' || id), smarthub.decrypt_text(t, 'enc.t:' || id)
  FROM enc ORDER BY id;
SELECT smarthub.decrypt(smarthub.reencrypt(e, 'enc.e:1'), 'enc.e:1') FROM enc;
SELECT smarthub.encrypt(NULL), smarthub.decrypt_text(NULL, 'x') IS NULL AS strict;

-- failures, with their details
\set VERBOSITY default
SELECT smarthub.decrypt(e, 'enc.e:2') FROM enc;
SELECT smarthub.decrypt(set_byte(e, 20, get_byte(e, 20) # 1), 'enc.e:1') FROM enc;
SELECT smarthub.decrypt(substring(e FROM 1 FOR 20), 'enc.e:1') FROM enc;
SELECT smarthub.decrypt(set_byte(e, 0, 7), 'enc.e:1') FROM enc;
SELECT smarthub.decrypt(overlay(e PLACING '\x0000002a'::bytea FROM 2 FOR 4), 'enc.e:1') FROM enc;
SELECT smarthub.key_id('\x01');
SELECT smarthub.decrypt_text('%%%');
SELECT smarthub.decrypt_text(encode(smarthub.encrypt('\xc3'::bytea), 'base64'));

-- no usable keyring
SET smarthub.keyring_file = '';
SELECT smarthub.encrypt('\x00'::bytea);
SELECT smarthub.key_id(e) FROM enc;
SET smarthub.keyring_file = '/etc/passwd';
SELECT smarthub.decrypt(e, 'enc.e:1') FROM enc;
RESET smarthub.keyring_file;
SELECT smarthub.decrypt(e, 'enc.e:1') FROM enc;
DROP TABLE enc;
