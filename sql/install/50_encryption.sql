
-------------------------------------------------------------------------------------------------
-- Encryption at rest (src/encryption.c): AES-256-GCM envelopes under keys from
-- smarthub.keyring_file. VOLATILE: every call draws a fresh nonce, and the keyring can change on
-- reload. Granted by grant_access, never to PUBLIC.
-------------------------------------------------------------------------------------------------

CREATE FUNCTION smarthub.encrypt(plaintext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_encrypt';

CREATE FUNCTION smarthub.decrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_decrypt';

CREATE FUNCTION smarthub.encrypt_text(plaintext text, context text DEFAULT '') RETURNS text
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_encrypt_text';

CREATE FUNCTION smarthub.decrypt_text(ciphertext text, context text DEFAULT '') RETURNS text
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_decrypt_text';

CREATE FUNCTION smarthub.reencrypt(ciphertext bytea, context text DEFAULT '') RETURNS bytea
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_reencrypt';

CREATE FUNCTION smarthub.key_id(ciphertext bytea) RETURNS integer
    LANGUAGE c STRICT VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'smarthub_key_id';

REVOKE ALL ON FUNCTION smarthub.encrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.decrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.encrypt_text(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.decrypt_text(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.reencrypt(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.key_id(bytea) FROM PUBLIC;

COMMENT ON FUNCTION smarthub.encrypt(bytea, text) IS
    'AES-256-GCM under the keyring''s highest key id, context bound as associated data; returns a version 1 envelope (55000 without a usable keyring)';
COMMENT ON FUNCTION smarthub.decrypt(bytea, text) IS
    'Decrypts an envelope from encrypt() with the same context (22023 for a wrong context, altered or truncated value, unknown version or key; 55000 without a usable keyring)';
COMMENT ON FUNCTION smarthub.encrypt_text(text, text) IS
    'encrypt() for text: the envelope base64-encoded, for text and JSON columns';
COMMENT ON FUNCTION smarthub.decrypt_text(text, text) IS
    'decrypt() for text: takes the base64 envelope from encrypt_text() (22023 as decrypt, and for bad base64; 22021 if the plaintext is not text)';
COMMENT ON FUNCTION smarthub.reencrypt(bytea, text) IS
    'Decrypts with the envelope''s key and encrypts again with the current (highest) key, for key rotation';
COMMENT ON FUNCTION smarthub.key_id(bytea) IS
    'The key id an envelope was encrypted with, to find rows still under an old key (22023 for a malformed envelope; needs no keyring)';
