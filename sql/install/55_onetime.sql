
-------------------------------------------------------------------------------------------------
-- One-time tokens: email verification, password reset, magic links (src/onetime.c)
--
-- Made and redeemed only by the functions below, which run their own queries as the extension
-- owner: application roles read the rows of their identity (never token_hash) and may delete
-- them, nothing else.
-------------------------------------------------------------------------------------------------

CREATE TABLE smarthub.one_time_tokens (
    id         uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES smarthub.users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    token_hash varchar(64) NOT NULL,
    email      text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT one_time_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT token_length CHECK (token_hash OPERATOR(pg_catalog.~) '^[0-9a-f]{64}$'),
    CONSTRAINT one_time_tokens_purpose CHECK (purpose OPERATOR(pg_catalog.=) ANY
        (ARRAY['email_verification', 'password_reset', 'magic_link'])),
    -- a verification token names the address it verifies; the others name none
    CONSTRAINT one_time_tokens_email CHECK ((purpose OPERATOR(pg_catalog.=) 'email_verification') OPERATOR(pg_catalog.=) (email IS NOT NULL))
);
-- A user's tokens: voided on a password or email change, expired ones purged with the next one.
CREATE INDEX idx_one_time_tokens_user_id ON smarthub.one_time_tokens (user_id);

SELECT pg_catalog.pg_extension_config_dump('smarthub.one_time_tokens', '');

CREATE FUNCTION smarthub.create_email_verification(user_id uuid) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_email_verification';

CREATE FUNCTION smarthub.verify_email(token text) RETURNS uuid
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_verify_email';

CREATE FUNCTION smarthub.request_password_reset(login text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_request_password_reset';

-- COST: a live token costs a bcrypt computation.
CREATE FUNCTION smarthub.reset_password(token text, new_password text) RETURNS uuid
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 10000
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_reset_password';

CREATE FUNCTION smarthub.create_magic_link(login text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_create_magic_link';

CREATE FUNCTION smarthub.login_with_magic_link(token text, ip_address inet DEFAULT NULL,
                                               user_agent text DEFAULT NULL) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'smarthub_login_with_magic_link';

-- Every token was mailed to the address the user had: a new address voids them all. Not SECURITY
-- DEFINER: the C code runs its one (qualified) DELETE as the extension owner, so that whoever may
-- change the address voids its tokens without any right on the table.
CREATE FUNCTION smarthub.void_one_time_tokens() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'smarthub_void_one_time_tokens';
CREATE TRIGGER void_one_time_tokens AFTER UPDATE OF email ON smarthub.users
    FOR EACH ROW EXECUTE FUNCTION smarthub.void_one_time_tokens();

-- Read and delete own (cancel a link); admin reads and deletes all. No INSERT or UPDATE policy:
-- tokens are made and redeemed only by the functions above.
ALTER TABLE smarthub.one_time_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY one_time_tokens_select ON smarthub.one_time_tokens FOR SELECT
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));
CREATE POLICY one_time_tokens_delete ON smarthub.one_time_tokens FOR DELETE
    USING ((SELECT smarthub.has_role('admin'))
           OR user_id OPERATOR(pg_catalog.=) (SELECT smarthub.current_user_id()));

REVOKE ALL ON smarthub.one_time_tokens FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.create_email_verification(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.verify_email(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.request_password_reset(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.reset_password(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.create_magic_link(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.login_with_magic_link(text, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION smarthub.void_one_time_tokens() FROM PUBLIC;

COMMENT ON TABLE smarthub.one_time_tokens IS 'Email verification, password reset and magic link tokens; only the SHA-256 of each is stored';
COMMENT ON COLUMN smarthub.one_time_tokens.id IS 'Primary key (random uuid)';
COMMENT ON COLUMN smarthub.one_time_tokens.user_id IS 'The user the token is for (deleted with the user)';
COMMENT ON COLUMN smarthub.one_time_tokens.purpose IS 'email_verification (shv_), password_reset (shr_) or magic_link (shm_)';
COMMENT ON COLUMN smarthub.one_time_tokens.token_hash IS 'Lowercase hex SHA-256 of the whole token; never readable by application roles';
COMMENT ON COLUMN smarthub.one_time_tokens.email IS 'email_verification: the address it verifies (void once the user''s email is another); NULL otherwise';
COMMENT ON COLUMN smarthub.one_time_tokens.expires_at IS 'Expiry time (creation + smarthub.email_verification_ttl, password_reset_ttl or magic_link_ttl)';
COMMENT ON COLUMN smarthub.one_time_tokens.created_at IS 'Creation time';
COMMENT ON FUNCTION smarthub.create_email_verification(uuid) IS
    'A token (shv_...) that verifies the user''s current email, valid for smarthub.email_verification_ttl; returned once';
COMMENT ON FUNCTION smarthub.verify_email(text) IS
    'Redeems a verification token once: sets email_verified and email_verified_at, returns the user; NULL for any bad token';
COMMENT ON FUNCTION smarthub.request_password_reset(text) IS
    'A reset token (shr_...) for the active user an email or username names, or NULL after the same work';
COMMENT ON FUNCTION smarthub.reset_password(text, text) IS
    'Redeems a reset token once: new password, all sessions and reset links revoked, audited; NULL for any bad token, 22023 for a bad password';
COMMENT ON FUNCTION smarthub.create_magic_link(text) IS
    'A magic link token (shm_...) for the active user an email or username names, or NULL after the same work';
COMMENT ON FUNCTION smarthub.login_with_magic_link(text, inet, text) IS
    'Redeems a magic link token once: a new session token, as login gives; NULL for any bad token; audited';
COMMENT ON FUNCTION smarthub.void_one_time_tokens() IS
    'AFTER UPDATE OF email trigger of users: a changed email deletes the user''s one-time tokens';
COMMENT ON TRIGGER void_one_time_tokens ON smarthub.users IS 'A changed email deletes the user''s one-time tokens';
